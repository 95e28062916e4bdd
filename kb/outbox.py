"""The outbox: every message the helpdesk sends goes through a row here.

Why: a message must go out once, even if the process or the mail server
fails. Use cases *queue* rows inside their own transaction (so a query and its
routing emails are stored together or not at all). A sender adapter then
*claims* due rows, delivers them, and *marks* each sent or failed.

Delivery protocol and its one remaining window:

1. ``claim_due`` stamps the attempt (``attempts + 1``, ``last_attempt_at``) and
   leases the row (``due_at`` moves ``LEASE`` into the future) in its own
   committed transaction, *before* anything is sent. On PostgreSQL, rows are
   claimed with ``FOR UPDATE SKIP LOCKED`` so two senders never take the same
   row; on SQLite one sender process is assumed.
2. The adapter sends.
3. ``mark_sent`` stamps ``sent_at``; ``mark_failed`` records the error and
   schedules a retry with exponential backoff, giving up after ``MAX_ATTEMPTS``,
   or at once when the failure is permanent (a blocked bot, an unknown chat,
   an SMTP 5xx): retrying would not help. What a delivery means for the query
   (routing sent: awaiting inputs; reply undeliverable: back to the specialist)
   is decided by the service, not here.

If the process dies between 2 and 3, the row is sent again once its lease
expires: a duplicate is possible in that window only, and it carries the same
Message-ID (fixed at queue time), which mail clients use to fold duplicates.
The SMTP sender records each accepted email while it sends the next one
(``ingest.smtp``), so the window holds at most the two emails accepted and not
yet recorded, and the one in flight.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.orm import Session

from kb.models import (
    Channel,
    Consultation,
    Direction,
    Message,
    OutboxKind,
    OutboxMessage,
    Query,
    QueryEvent,
    Requester,
)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_START = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=2)


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed row, as the sender adapter needs it (a plain value, safe outside the session)."""

    id: int
    kind: str
    channel: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    headers: dict
    email_message_id: str | None
    attempts: int
    reference: str | None = None
    #: Sent from the null envelope sender (``MAIL FROM:<>``): see ``from_null_sender``.
    null_sender: bool = False


def new_message_id(domain: str) -> str:
    """A Message-ID nobody can guess: replying to it proves the reply's author received that email."""
    return f"<{secrets.token_urlsafe(18)}@{domain}>"


#: The kinds of mail the helpdesk sends on its own to whoever wrote (counted by the mail-loop guard).
AUTOMATIC_KINDS = (OutboxKind.ACKNOWLEDGEMENT, OutboxKind.NOTICE)
_OTHER_NOTICES = [k for k in AUTOMATIC_KINDS if k is not OutboxKind.ACKNOWLEDGEMENT]


#: The Auto-Submitted header (RFC 3834) of what the helpdesk sends without a person writing it, decided here
#: only, by kind, when an email is claimed for sending: answers to a message are "auto-replied", the rest
#: "auto-generated" (the clearance request and its reminders too: the specialist's text is the draft they
#: carry, not the email). Replies, which a person wrote, carry none.
AUTO_SUBMITTED = {OutboxKind.ACKNOWLEDGEMENT: "auto-replied", OutboxKind.NOTICE: "auto-replied",
                  OutboxKind.ROUTING: "auto-generated", OutboxKind.REMINDER: "auto-generated",
                  OutboxKind.WARNING: "auto-generated", OutboxKind.DIGEST: "auto-generated",
                  OutboxKind.FEEDBACK: "auto-generated", OutboxKind.CLEARANCE: "auto-generated"}


def from_null_sender(kind: OutboxKind, consultation_id: int | None) -> bool:
    """Whether an email goes out with the null envelope sender (``MAIL FROM:<>``, RFC 3834 3.3, RFC 5321 4.5.5).

    Everything the helpdesk sends on its own to whoever wrote to it (acknowledgements, notices and
    refusals, the holding message, the feedback reminder): a bounce or an autoresponder's answer to
    it then goes nowhere, instead of arriving in the helpdesk's mailbox as a new question that is
    acknowledged in turn. Routing emails, reminders to focal points and mail to the specialist keep
    the helpdesk's address, so that their bounces come back and show on the query.
    """
    if kind in (OutboxKind.ACKNOWLEDGEMENT, OutboxKind.NOTICE, OutboxKind.FEEDBACK):
        return True
    return kind is OutboxKind.REMINDER and consultation_id is None  # the requester's holding message


def last_sent_to(session: Session, address: str, since: datetime) -> OutboxMessage | None:
    """The last email queued for ``address`` since ``since``: what a bounce naming only that address returns."""
    return session.scalar(select(OutboxMessage).where(
        OutboxMessage.channel == Channel.EMAIL, OutboxMessage.created_at > since,
        func.lower(cast(OutboxMessage.recipients, String)).contains(_as_listed(address), autoescape=True))
        .order_by(OutboxMessage.id.desc()).limit(1))


def may_notify(session: Session, address: str | None, now: datetime, per_day: int, *, queued: int = 0,
               sent: int | None = None) -> bool:
    """Whether one more automatic notice may go to ``address`` today (at most ``per_day`` in 24 hours), counting
    ``queued`` notices not in the outbox yet (a mail batch writes its acknowledgements at its end). ``sent``:
    how many the outbox holds, when the caller knows it already (a mail batch's ``recent_notices``).

    An autoresponder that answers every mail without saying so (no
    Auto-Submitted header) would otherwise trade acknowledgements with the
    helpdesk forever; this bounds the loop whatever the other side does.
    """
    if not address:
        return False
    address = address.lower()
    if sent is None:
        sent = session.scalar(_notices_sent(), {"address": address, "since": now - timedelta(days=1),
                                                "pattern": "%" + like_escaped(_as_listed(address)) + "%"})
    return sent + queued < per_day


def recent_notices(session: Session, since: datetime) -> list[tuple[datetime, frozenset[str]]]:
    """The automatic notices other than acknowledgements queued since ``since``: when, and to whom (lower case).

    What ``may_notify`` counts for an address that is no requester (a requester's acknowledgements are counted
    through their queries), read once for a whole mail batch (``kb.mail_batch``). A day's notices are few:
    the guard itself allows a handful to each address.
    """
    rows = session.execute(select(OutboxMessage.created_at, OutboxMessage.recipients).where(
        OutboxMessage.kind.in_(_OTHER_NOTICES), OutboxMessage.created_at > since))
    return [(at, frozenset(r.lower() for r in recipients or ())) for at, recipients in rows]


def _as_listed(address: str) -> str:
    """``address`` in lower case as it stands in an outbox row's JSON list of recipients (quoted, escaped)."""
    return '"' + address.lower().replace("\\", "\\\\").replace('"', '\\"') + '"'


def like_escaped(value: str) -> str:
    """``value`` matched literally by ``LIKE ... ESCAPE '/'``."""
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


@cache
def _notices_sent():
    """How many automatic notices went to ``:address`` since ``:since``. Built once: this runs for every
    email, and building the statement cost four times what running it does."""
    # Acknowledgements go to the query's requester: found through the requester's address, then their queries,
    # then the outbox by (query, kind, time), indexes all the way. Not by reading the recipients of every recent
    # row, which grew with the outbox; and not as a join, for which SQLite read every acknowledgement ever sent
    # (by the kind's index) before looking at whose query it was.
    their_queries = select(Query.id).join(Requester, Query.requester_id == Requester.id) \
        .where(Requester.email == bindparam("address"))
    acknowledged = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.query_id.in_(their_queries), OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT,
        OutboxMessage.created_at > bindparam("since"))
    notified = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind.in_(_OTHER_NOTICES), OutboxMessage.created_at > bindparam("since"),
        func.lower(cast(OutboxMessage.recipients, String)).like(bindparam("pattern"), escape="/"))
    return select(acknowledged.scalar_subquery() + notified.scalar_subquery())


def queue(
    session: Session,
    *,
    dedupe_key: str,
    kind: OutboxKind,
    channel: Channel,
    recipients: list[str],
    subject: str,
    body: str,
    now: datetime,
    domain: str,
    query: Query | None = None,
    consultation: Consultation | None = None,
    headers: dict | None = None,
    due_at: datetime | None = None,
    fresh: bool = False,
) -> OutboxMessage:
    """Add a message to the outbox once: queueing the same ``dedupe_key`` again returns the first row.

    ``fresh`` says the key cannot exist yet (it names a query created in this
    transaction), which saves a lookup on the hot path of intake.
    """
    if not fresh:
        existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    row = OutboxMessage(query=query, consultation=consultation, **outbox_values(
        dedupe_key=dedupe_key, kind=kind, channel=channel, recipients=recipients, subject=subject, body=body,
        now=now, domain=domain, headers=headers, due_at=due_at))
    session.add(row)
    return row


def outbox_values(*, dedupe_key: str, kind: OutboxKind, channel: Channel, recipients: list[str], subject: str,
                  body: str, now: datetime, domain: str, headers: dict | None = None,
                  due_at: datetime | None = None) -> dict:
    """The columns of a new outbox row, for ``queue`` and for bulk inserts of a query's fresh rows."""
    return dict(dedupe_key=dedupe_key, kind=kind, channel=channel, recipients=list(recipients), subject=subject,
                body=body, headers=dict(headers or {}), created_at=now, due_at=due_at or now, attempts=0,
                email_message_id=new_message_id(domain) if channel is Channel.EMAIL else None)


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_START * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def claim_due(session: Session, now: datetime, channel: Channel, limit: int = 50) -> list[OutgoingMessage]:
    """Lease up to ``limit`` due rows of ``channel`` for sending, oldest first (commit before sending)."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.sent_at.is_(None),
               OutboxMessage.failed_at.is_(None), OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for row in session.scalars(stmt):
        row.attempts += 1
        row.last_attempt_at = now
        row.due_at = now + LEASE
        headers = dict(row.headers)
        if row.channel is Channel.EMAIL and row.kind in AUTO_SUBMITTED:
            headers.setdefault("Auto-Submitted", AUTO_SUBMITTED[row.kind])
        claimed.append(OutgoingMessage(row.id, row.kind.value, row.channel.value, tuple(row.recipients),
                                       row.subject, row.body, headers, row.email_message_id,
                                       row.attempts, row.query.reference if row.query is not None else None,
                                       null_sender=row.channel is Channel.EMAIL
                                       and from_null_sender(row.kind, row.consultation_id)))
    return claimed


def mark_sent(session: Session, outbox_id: int, now: datetime) -> OutboxMessage | None:
    """Record delivery as a message of the query; returns the row (None if unknown or already sent)."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.sent_at is not None:
        return None
    row.sent_at, row.last_error = now, None
    session.add(Message(query_id=row.query_id, direction=Direction.OUT, channel=row.channel, at=now,
                        recipients=list(row.recipients), subject=row.subject, body=row.body,
                        email_message_id=row.email_message_id, in_reply_to=row.headers.get("In-Reply-To")))
    if row.query_id is not None:
        session.add(QueryEvent(query_id=row.query_id, at=now, kind="sent",
                               detail=f"{row.kind.value} to {', '.join(row.recipients)}"))
    return row


def mark_failed(session: Session, outbox_id: int, now: datetime, error: str, *, permanent: bool = False,
                retry_at: datetime | None = None) -> OutboxMessage | None:
    """Record a failed attempt; returns the row when it is given up (permanent, or out of attempts).

    ``retry_at`` overrides the backoff when the peer said when to come back (Telegram's RetryAfter).
    """
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.sent_at is not None or row.failed_at is not None:
        return None
    row.last_error = error[:2000]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
        if row.query_id is not None:
            why = "refused for good" if permanent else f"gave up after {row.attempts} attempts"
            session.add(QueryEvent(query_id=row.query_id, at=now, kind="delivery failed",
                                   detail=f"{row.kind.value} to {', '.join(row.recipients)} {why}: {error[:300]}"))
        return row
    row.due_at = retry_at or now + _backoff(row.attempts)
    return None
