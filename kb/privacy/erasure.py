"""Erasing a person's data: every row of their footprint rewritten as the data map says.

Driven by ``kb.privacy.data_map``: an identity column is cleared (a recipient list loses the person's
addresses), words the person wrote and letters about their queries are anonymised (``Scrubber.text``),
other text has the person's marks replaced, original bytes are removed (a raw email keeps its row,
emptied, so that the same message is never fetched and stored again; attachments go). What the reports
count stays: dates, statuses, topics, departments, ratings, sector, country, region, type.

Beyond the footprint, ``sweep`` looks through every text column that may mention someone for the
person's address, full name, phone numbers (however their digits are separated) and chat ids, wherever
they remain (a digest that listed them, another query that quoted them), and replaces them there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, String, Text, cast, func, or_, select
from sqlalchemy.orm import Session

from kb.models import Base, OutboxMessage, Query, QueryEvent, Requester
from kb.privacy.data_map import COLUMNS, Holds
from kb.privacy.footprint import Footprint, attachments_naming
from kb.privacy.marks import PHONE_SEPARATOR_CHARACTERS, Scrubber

#: Letters and messages: anonymised as a whole (frame, signature, addresses, phones, names), not only marked.
LETTERS = {("query", "text"), ("message", "body"), ("reply", "text"), ("draft", "text"), ("draft", "edited_text"),
           ("outbox", "body"), ("focal_point_input", "text"), ("clearance", "draft_text"), ("clearance", "comment"),
           ("feedback", "comment")}
#: Identifiers of messages: replaced by a digest (so a message seen again is still recognised) when they
#: hold the person's address.
MESSAGE_KEYS = {("query", "source_key"), ("message", "email_message_id"), ("message", "in_reply_to"),
                ("raw_email", "message_id_header")}


def _digest(value: str) -> str:
    return "erased:" + hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def _tables() -> dict[str, type]:
    return {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}


@dataclass
class Erasure:
    """What an erasure changed (or, in a dry run, would change). Names the person by requester id only."""

    people: list[int]
    references: list[str]
    changes: dict[str, set[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    dry_run: bool = False
    at: datetime | None = None
    by: str = ""

    def note(self, table: str, key: object, what: str) -> None:
        self.changes.setdefault(table, set()).add(what)
        self._seen.setdefault(table, set()).add(key)

    def __post_init__(self) -> None:
        self._seen: dict[str, set[object]] = {}

    @property
    def counts(self) -> dict[str, int]:
        """How many rows of each table change."""
        return {table: len(keys) for table, keys in self._seen.items()}

    def lines(self) -> list[str]:
        """One line per table: how many rows and what happens to them."""
        return [f"{table}: {count} row{'s' if count != 1 else ''} ({', '.join(sorted(self.changes[table]))})"
                for table, count in sorted(self.counts.items())]


class Eraser:
    """Rewrites a footprint in a session; the caller commits (or, for a dry run, rolls back)."""

    def __init__(self, session: Session, footprint: Footprint, *, now: datetime, actor: str, why: str) -> None:
        self.session, self.footprint, self.now, self.actor, self.why = session, footprint, now, actor, why
        self.own = Scrubber(footprint.marks)
        self.elsewhere = Scrubber(footprint.marks, name_parts=False)
        self.result = Erasure(people=sorted({r.id for r in footprint.requesters}),
                              references=[q.reference for q in footprint.queries], at=now, by=actor)

    # ------------------------------------------------------------------ the footprint
    def footprint_rows(self, *, identities: bool) -> None:
        """Rewrite every row of the footprint; requesters' identities only when ``identities``."""
        for table, rows in self.footprint.rows.items():
            if table == "requester" and not identities:
                continue
            for row in list(rows.values()):
                self._row(table, row)
        for query in self.footprint.queries:
            query.suggested_organisation = None
            if query.erased_at is None:
                query.erased_at, query.erased_by = self.now, self.actor
                self.result.note("query", id(query), "marked erased")
                self.session.add(QueryEvent(query=query, at=self.now, kind="erased", actor=self.actor,
                                            detail=f"personal data erased ({self.why})"))
        if identities:
            for requester in self.footprint.requesters:
                requester.erased_at = requester.erased_at or self.now

    def _row(self, table: str, row: object) -> None:
        if table == "attachment":
            self.session.delete(row)
            self.result.note(table, row.id, "removed")  # type: ignore[attr-defined]
            return
        if table == "chat_session":
            self.session.delete(row)
            self.result.note(table, row.chat_id, "removed")  # type: ignore[attr-defined]
            return
        for column, holds in COLUMNS[table].items():
            if holds in (Holds.STAFF, Holds.NOTHING):
                continue
            before = getattr(row, column)
            after = self._erase_value(table, column, holds, before, self.own)
            if after != before:
                setattr(row, column, after)
                self.result.note(table, id(row), f"{column} {self._verb(table, column, holds)}")
        if isinstance(row, OutboxMessage) and row.sent_at is None and row.failed_at is None and \
                self.own.without(row.recipients) != row.recipients:
            row.failed_at, row.last_error = self.now, "not sent: the recipient's personal data was erased"
            self.result.note(table, id(row), "not sent")

    @staticmethod
    def _verb(table: str, column: str, holds: Holds) -> str:
        if (table, column) in MESSAGE_KEYS:
            return "replaced by a digest"
        return {Holds.IDENTITY: "cleared", Holds.ORIGINAL: "removed", Holds.PROFILE: "name replaced"}.get(holds,
                                                                                                 "anonymised")

    def _erase_value(self, table: str, column: str, holds: Holds, value, scrub: Scrubber):
        if value is None:
            return None
        if holds is Holds.PROFILE:  # kept, unless it names the person ("Jürgen Weber Consulting")
            return scrub.line(value) if isinstance(value, str) else value
        if holds is Holds.ORIGINAL:
            return b"" if isinstance(value, (bytes, bytearray, memoryview)) else value
        if (table, column) in MESSAGE_KEYS:
            return _digest(value) if scrub.holds_mark(value) else value
        if holds is Holds.IDENTITY:
            if isinstance(value, list):
                kept = scrub.without(value)
                return kept if len(kept) != len(value) else value
            if isinstance(value, int):
                return None if value in scrub.marks.chat_ids else value
            return None if scrub.holds_mark(value) else value
        if isinstance(value, (dict, list)):
            return scrub.json(value)
        if isinstance(value, str):
            if (table, column) in LETTERS and scrub is self.own:
                return scrub.text(value)
            return scrub.line(value)
        return value

    # ------------------------------------------------------------------ beyond the footprint
    def sweep(self) -> None:
        """Replace the person's marks in every row whose text columns hold their address, full name, phone
        number or chat id, and remove the attachments whose bytes name them (the raw emails that do are in
        the footprint already: ``footprint.add_beyond_queries``)."""
        marks, phones = self.elsewhere.marks.strings(), sorted(self.elsewhere.marks.sure_phones)
        if not marks and not phones:
            return
        tables = _tables()
        for table, cols in COLUMNS.items():
            model = tables[table]
            for column, holds in cols.items():
                if holds not in (Holds.THEIR_WORDS, Holds.MAY_MENTION) or (table, column) in MESSAGE_KEYS:
                    continue
                attribute = getattr(model, column)
                kind = attribute.property.columns[0].type
                if not isinstance(kind, (String, Text, JSON)):
                    continue
                text = cast(attribute, Text) if isinstance(kind, JSON) else attribute
                digits = _without_phone_separators(text)
                found = self.session.scalars(select(model).where(
                    or_(*(text.icontains(m, autoescape=True) for m in marks), *(digits.contains(d) for d in phones))))
                for row in found:
                    before = getattr(row, column)
                    after = self._erase_value(table, column, holds, before, self.elsewhere)
                    if after != before:
                        setattr(row, column, after)
                        self.result.note(table, id(row), f"{column} anonymised")
        for attachment in attachments_naming(self.session, self.footprint.marks):
            self._row("attachment", attachment)


def _without_phone_separators(text):
    """A text column with what may stand between a phone number's digits taken out (as ``Scrubber`` reads
    them), so that the digits a person's phone number has are found however it was written."""
    for character in PHONE_SEPARATOR_CHARACTERS:
        text = func.replace(text, character, "")
    return text


def requester_has_other_queries(session: Session, requester: Requester, erased: list[Query]) -> bool:
    """Whether the requester has a query not being erased now and not erased before."""
    done = [q.id for q in erased]
    return session.scalar(select(Query.id).where(Query.requester_id == requester.id, Query.erased_at.is_(None),
                                                 Query.id.not_in(done)).limit(1)) is not None

