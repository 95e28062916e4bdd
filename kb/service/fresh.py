"""The rows a new query brings besides itself, written in bulk: its history, topics, consultations, draft and
outbox rows (``FreshRows``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from kb import history
from kb.bulk import insert_rows, insert_rows_taking_ids
from kb.models import Consultation, Draft, OutboxKind, OutboxMessage, Query, QueryEvent, QueryTopic


@dataclass
class FreshRows:
    """The rows a new query brings (history, topics, consultations, outbox, draft), written in bulk once it has
    its id: at once, or, inside a mail batch, with the batch's other new queries' at its end. The history
    goes in first, so that it keeps its order before any line recorded for the query afterwards (until it
    is written, every line recorded for the query goes to ``events``: ``kb.history.hold``).

    Nothing reads them back in the unit of work that creates them, so they need
    no ORM objects: one INSERT per table instead of a flush of a dozen objects.
    The one thing a later message of a batch asks of them, how many
    acknowledgements an address was sent, the mail-loop guard asks the batch.
    """

    topics: list[dict] = field(default_factory=list)
    consultations: list[dict] = field(default_factory=list)
    #: In the order queued; a routing email names its consultation by its index in ``consultations``.
    outbox: list[tuple[dict, int | None]] = field(default_factory=list)
    drafts: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    @staticmethod
    def write_histories(session: Session, fresh: list[tuple[Query, FreshRows]]) -> None:
        """Insert the history lines of the new queries in ``fresh`` (written: they have their ids), in order, in
        one statement; before any line recorded for them after these, which are rows of the unit of work again
        (``kb.history.release``)."""
        lines = [{**r, "query_id": query.id} for query, rows in fresh for r in rows.events]
        if lines:
            insert_rows(session, QueryEvent.__table__, lines)
        history.release(session, [query for query, _ in fresh])
        for query, _ in fresh:
            if query in session:
                session.expire(query, ["events"])

    @staticmethod
    def write(session: Session, fresh: list[tuple[Query, FreshRows]]) -> None:
        """Insert the other rows of the new queries in ``fresh``: one statement per table for all of them (a
        mail batch keeps its queries' rows for its end); the queries' collections are read afresh afterwards."""
        ids = insert_rows_taking_ids(session, Consultation.__table__, [
            {**c, "query_id": query.id} for query, rows in fresh for c in rows.consultations])
        for table, name in ((QueryTopic, "topics"), (Draft, "drafts")):
            insert_rows(session, table.__table__,
                        [{**r, "query_id": query.id} for query, rows in fresh for r in getattr(rows, name)])
        emails, first = [], 0  # a routing email names its consultation by its index among its query's
        for query, rows in fresh:
            emails += [{**row, "query_id": query.id, "consultation_id": None if index is None else ids[first + index]}
                       for row, index in rows.outbox]
            first += len(rows.consultations)
        insert_rows(session, OutboxMessage.__table__, emails)
        for query, _ in fresh:
            if query in session:
                session.expire(query, ["topics", "consultations", "drafts"])

    def acknowledged_addresses(self) -> Iterator[str]:
        """The addresses these rows acknowledge: each recipient of each acknowledgement, once per acknowledgement."""
        for row, _ in self.outbox:
            if row["kind"] is OutboxKind.ACKNOWLEDGEMENT:
                yield from set(row["recipients"])
