"""The outbox seen from the service: what senders claim, and what a delivery means for the query;
the scheduler's chasing; and the Q&A bank's seeding and learning."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Iterable

from kb import lifecycle
from kb.chasing import DueAction, chase_overdue_work, chase_policy
from kb.models import Channel, OutboxKind, Query, QueryStatus
from kb.outbox import OutgoingMessage, claim_due, mark_failed, mark_sent
from kb.qa_bank import SHIPPED_FILES, learned_examples, merged_qas, seed_qa_bank, shipped_qas
from kb.store_state import ensure_store_facts, record_seeded, seeded_fingerprint, shipped_bank_fingerprint
from kb.service.core import ServiceBase

log = logging.getLogger("kb.service")


class DeliveryUseCases(ServiceBase):
    def claim_outbox(self, channel: Channel, limit: int = 50) -> list[OutgoingMessage]:
        """Lease due rows of ``channel`` for a sender; the lease is committed before anything is sent."""
        with self.unit_of_work() as session:
            return claim_due(session, self.clock(), channel, limit)

    def delivered(self, outbox_id: int) -> None:
        """A sender delivered the row; a routing email sent means the query now awaits inputs."""
        now = self.clock()
        with self.unit_of_work() as session:
            row = mark_sent(session, outbox_id, now)
            if row is None or row.query_id is None:
                return
            query = session.get(Query, row.query_id)
            if row.kind is OutboxKind.ROUTING and query.status is QueryStatus.ROUTED:
                lifecycle.transition(session, query, QueryStatus.AWAITING_INPUTS, at=now,
                                     reason="routing email sent to the focal points")

    def delivery_failed(self, outbox_id: int, error: str, *, permanent: bool = False,
                        retry_at: datetime | None = None) -> bool:
        """A sender could not deliver the row. Returns True when the row is given up.

        A permanent failure (blocked bot, unknown chat, SMTP 5xx) is not
        retried. A reply given up returns the query to the specialist, with the
        reason in its history and in the digest.
        """
        now = self.clock()
        with self.unit_of_work() as session:
            row = mark_failed(session, outbox_id, now, error, permanent=permanent, retry_at=retry_at)
            if row is None:
                return False
            # The error names the recipient's address: it stays on the row and the query, not in the log.
            log.warning("outbox %d (%s) given up%s; see the query's history", outbox_id, row.kind.value,
                        " (refused for good)" if permanent else "")
            if row.kind is OutboxKind.REPLY and row.query_id is not None:
                query = session.get(Query, row.query_id)
                if query.status is QueryStatus.ANSWERED:
                    lifecycle.transition(session, query, QueryStatus.DRAFT_READY, at=now,
                                         reason=f"the reply could not be delivered ({error[:200]})")
            return True

    def chase_overdue_work(self) -> list[DueAction]:
        """Queue every reminder, escalation, warning and digest due now, once each."""
        with self.unit_of_work() as session:
            return chase_overdue_work(session, self.policy, chase_policy(self.policy), self.clock())

    def seed_qa_bank(self, entries: Iterable[dict], merged: dict[str, str] | None = None) -> tuple[int, int]:
        """Insert or refresh the shipped Q&As (withdrawing the ``merged`` ones); returns (added, updated)."""
        with self.unit_of_work() as session:
            return seed_qa_bank(session, entries, self.clock(), merged)

    def open_store(self) -> None:
        """Give a store opened for the first time its identity and bank counter (see ``kb.store_state``)."""
        with self.unit_of_work() as session:
            ensure_store_facts(session)

    def seed_shipped_bank(self) -> tuple[int, int] | None:
        """Seed the Q&As shipped with this version of the software, unless this store already holds exactly
        these files' entries; returns (added, updated), or None when there was nothing to read."""
        fingerprint = shipped_bank_fingerprint(SHIPPED_FILES)
        with self.unit_of_work() as session:
            if seeded_fingerprint(session) == fingerprint:
                return None
            counts = seed_qa_bank(session, shipped_qas(), self.clock(), merged_qas())
            record_seeded(session, fingerprint)
            return counts

    def learned_examples(self):
        """Published Q&As and specialist-confirmed queries, as training examples for the topic model."""
        with self.unit_of_work() as session:
            return learned_examples(session, self.policy.topic_codes)
