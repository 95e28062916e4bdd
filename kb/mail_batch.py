"""What a mail batch looks up once for all its emails, instead of once for each.

Deciding an email asks the store three things: whether its Message-ID was decided before, whether its
sender is a known requester, and how many automatic notices went to that address in the last day (the
mail-loop guard). A worker's batch of up to 50 emails asks each question once for all of them, at its
start: three statements instead of up to 150.

An answer is trusted for one use only. Deciding a message can change it: a Message-ID is decided, a
requester is created, a notice is queued. So once a message of the batch has used the answer about a
key, any later message asking about the same key asks the store, which sees the batch's own writes. Keys
that were not looked up (an address found in a forwarded message, say) are asked of the store too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.inbound import PENDING, InboundEmail, Outcome
from kb.models import Requester, RawEmail
from kb.outbox import recent_notices

#: ``requester()``'s answer when the batch does not know (ask the store).
UNKNOWN = object()


@dataclass
class BatchLookups:
    #: The Message-IDs looked up, and those of them already decided.
    message_ids: frozenset[str]
    decided: frozenset[str]
    #: By lower-case address: the requester, or None when there is none.
    requesters: dict[str, Requester | None]
    #: The automatic notices other than acknowledgements sent in the last day: (when, lower-case recipients).
    notices: list[tuple[datetime, frozenset[str]]]
    #: Keys a message of the batch has used: ("id", Message-ID), ("requester", address), ("guard", address).
    used: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, emails: Iterable[InboundEmail], now: datetime) -> BatchLookups:
        emails = list(emails)
        ids = {e.message_id for e in emails if e.message_id}
        addresses = {a.lower() for e in emails for a in (e.sender, e.forwarded_from and e.forwarded_from[0]) if a}
        decided = set(session.scalars(select(RawEmail.message_id_header).where(
            RawEmail.message_id_header.in_(ids), RawEmail.outcome != Outcome.QUARANTINED.value,
            RawEmail.outcome != PENDING))) if ids else set()
        requesters: dict[str, Requester | None] = dict.fromkeys(addresses)
        if addresses:
            requesters.update({r.email: r for r in session.scalars(
                select(Requester).where(Requester.email.in_(addresses)))})
        notices = recent_notices(session, since=now - timedelta(days=1)) if addresses else []
        return cls(frozenset(ids), frozenset(decided), requesters, notices)

    def _first_use(self, kind: str, key: str) -> bool:
        if (kind, key) in self.used:
            return False
        self.used.add((kind, key))
        return True

    def message_id_decided(self, message_id: str) -> bool | None:
        """Whether an email with ``message_id`` was decided before the batch; None: ask the store."""
        if message_id not in self.message_ids or not self._first_use("id", message_id):
            return None
        return message_id in self.decided

    def requester(self, address: str):
        """The requester with ``address`` (lower case) or None; ``UNKNOWN``: ask the store."""
        if address not in self.requesters or not self._first_use("requester", address):
            return UNKNOWN
        return self.requesters[address]

    def notices_sent(self, address: str, since: datetime) -> int | None:
        """Automatic notices sent to ``address`` (lower case) since ``since``, acknowledgements included; None: ask
        the store. Known only for an address that was no requester when the batch began: a requester's
        acknowledgements are counted through their queries, by the store."""
        if address not in self.requesters or self.requesters[address] is not None \
                or not self._first_use("guard", address):
            return None
        return sum(1 for at, recipients in self.notices if at > since and address in recipients)
