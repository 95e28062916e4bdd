"""Where one person is in the store: the rows that hold their data, table by table.

Found from an email address or a Telegram chat id: their requester rows, their queries and everything
hanging from them (messages, raw emails, attachments, feedback, history, consultations and inputs,
clearances, drafts, replies, emails queued or sent, Q&As promoted from them), then what reaches them
outside their queries (messages they sent that became no query, emails sent to them, the raw emails that
name them, their Telegram conversation). Export shows these rows; erasure rewrites them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from kb.models import (
    QA,
    Attachment,
    ChatSession,
    Clearance,
    Consultation,
    Draft,
    Feedback,
    FocalPointInput,
    Message,
    OutboxMessage,
    ProcessedUpdate,
    Query,
    QueryEvent,
    QueryTopic,
    RawEmail,
    Reply,
    Requester,
)
from kb.privacy.marks import Marks

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_SCAN_BATCH = 200


class PersonNotFoundError(LookupError):
    """No data is held about this email address or Telegram id."""


@dataclass(frozen=True)
class Who:
    """A person as a data-protection request names them: an email address or a Telegram chat id."""

    email: str | None = None
    chat_id: int | None = None
    #: ``requester:ID``: a requester named by the store's id (how the erasure log names them).
    requester_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Who":
        value = (text or "").strip()
        if found := re.fullmatch(r"requester:(\d{1,18})", value):
            return cls(requester_id=int(found.group(1)))
        if re.fullmatch(r"-?\d{1,20}", value):
            return cls(chat_id=int(value))
        if _EMAIL.match(value):
            return cls(email=value.lower())
        raise ValueError(f"{text!r} is neither an email address nor a Telegram id (digits)")


@dataclass
class Footprint:
    """The rows holding one person's data, by table name, and what identifies them."""

    marks: Marks
    rows: dict[str, dict[int, object]] = field(default_factory=dict)

    def add(self, table: str, items: Iterable[object]) -> None:
        bucket = self.rows.setdefault(table, {})
        for item in items:
            bucket[id(item)] = item

    def of(self, table: str) -> list[object]:
        return list(self.rows.get(table, {}).values())

    @property
    def requesters(self) -> list[Requester]:
        return self.of("requester")  # type: ignore[return-value]

    @property
    def queries(self) -> list[Query]:
        return sorted(self.of("query"), key=lambda q: q.id)  # type: ignore[attr-defined]

    def message_ids(self) -> set[str]:
        """The Message-IDs of their emails and of ours to them (how files of the data folder are found)."""
        ids = {r.message_id_header for r in self.of("raw_email")}
        ids |= {m.email_message_id for m in self.of("message")}
        ids |= {o.email_message_id for o in self.of("outbox")}
        return {i for i in ids if i}

    def outbox_ids(self) -> set[int]:
        return {o.id for o in self.of("outbox")}


def marks_of(requesters: Iterable[Requester]) -> Marks:
    marks = Marks()
    for r in requesters:
        if r.email:
            marks.emails.add(r.email.lower())
        if r.name:
            marks.names.add(r.name.strip())
        if r.telegram_chat_id is not None:
            marks.chat_ids.add(r.telegram_chat_id)
    return marks


def find_person(session: Session, who: Who) -> Footprint:
    """Everything held about ``who``; ``PersonNotFoundError`` when nothing is."""
    condition = (func.lower(Requester.email) == who.email if who.email else
                 Requester.telegram_chat_id == who.chat_id if who.chat_id is not None else
                 Requester.id == who.requester_id)
    requesters = list(session.scalars(select(Requester).where(condition)))
    marks = marks_of(requesters)
    if who.email:
        marks.emails.add(who.email)
    if who.chat_id is not None:
        marks.chat_ids.add(who.chat_id)
    queries = list(session.scalars(select(Query).where(Query.requester_id.in_([r.id for r in requesters]))))
    footprint = Footprint(marks)
    footprint.add("requester", requesters)
    add_queries(session, footprint, queries)
    add_beyond_queries(session, footprint)
    if not any(footprint.rows.values()):
        raise PersonNotFoundError("no data is held about this person")
    return footprint


def query_footprint(session: Session, queries: list[Query]) -> Footprint:
    """The rows of some queries and their requesters' marks (the retention rule's unit)."""
    footprint = Footprint(marks_of({q.requester for q in queries}))
    add_queries(session, footprint, queries)
    return footprint


def add_queries(session: Session, footprint: Footprint, queries: list[Query]) -> None:
    """``queries`` and every row hanging from them; the phone numbers their requesters wrote join the marks."""
    if not queries:
        return
    ids = [q.id for q in queries]
    footprint.add("query", queries)
    messages = list(session.scalars(select(Message).where(Message.query_id.in_(ids))))
    footprint.add("message", messages)
    for q in queries:
        footprint.marks.add_text(q.text)
    for m in messages:
        if m.direction.value == "in" and (m.sender or "").lower() in footprint.marks.emails | {""}:
            footprint.marks.add_text(m.body)
    message_ids = [m.id for m in messages]
    footprint.add("raw_email", session.scalars(select(RawEmail).where(RawEmail.message_id.in_(message_ids))))
    footprint.add("attachment", session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids))))
    for table, column in (("feedback", Feedback.query_id), ("query_event", QueryEvent.query_id),
                          ("query_topic", QueryTopic.query_id), ("consultation", Consultation.query_id),
                          ("clearance", Clearance.query_id), ("draft", Draft.query_id), ("reply", Reply.query_id),
                          ("outbox", OutboxMessage.query_id)):
        footprint.add(table, session.scalars(select(column.class_).where(column.in_(ids))))
    footprint.add("focal_point_input", session.scalars(select(FocalPointInput).where(
        FocalPointInput.consultation_id.in_([c.id for c in footprint.of("consultation")]))))
    qas = list(session.scalars(select(QA).where(QA.source_query_id.in_(ids))))
    footprint.add("qa", qas)
    footprint.add("qa_version", [v for qa in qas for v in qa.versions])


def add_beyond_queries(session: Session, footprint: Footprint) -> None:
    """What reaches the person outside their queries: their other messages, mail to them, raw emails
    naming them, their Telegram conversation."""
    marks = footprint.marks
    emails, chats = sorted(marks.emails), sorted(marks.chat_ids)
    conditions = []
    if emails:
        conditions.append(func.lower(Message.sender).in_(emails))
    if chats:
        conditions.append(Message.telegram_chat_id.in_(chats))
    if conditions:
        messages = list(session.scalars(select(Message).where(or_(*conditions))))
        footprint.add("message", messages)
        for m in messages:
            if m.direction.value == "in":
                marks.add_text(m.body)
        message_ids = [m.id for m in messages]
        footprint.add("attachment", session.scalars(select(Attachment).where(Attachment.message_id.in_(message_ids))))
        footprint.add("raw_email", session.scalars(select(RawEmail).where(RawEmail.message_id.in_(message_ids))))
    if emails:
        candidates = session.scalars(select(OutboxMessage).where(
            or_(*(cast(OutboxMessage.recipients, Text).icontains(e, autoescape=True) for e in emails))))
        footprint.add("outbox", [o for o in candidates if {str(a).lower() for a in o.recipients} & marks.emails])
    if chats:
        footprint.add("chat_session", session.scalars(select(ChatSession).where(ChatSession.chat_id.in_(chats))))
        footprint.add("processed_update", session.scalars(select(ProcessedUpdate).where(
            ProcessedUpdate.chat_id.in_(chats))))
    footprint.add("raw_email", raw_emails_naming(session, marks))


def raw_emails_naming(session: Session, marks: Marks) -> list[RawEmail]:
    """Raw emails whose bytes hold the person's address or name (a message quarantined before it became
    a query, a colleague's email copying them)."""
    return _naming(session, RawEmail, RawEmail.raw, marks)


def attachments_naming(session: Session, marks: Marks) -> list[Attachment]:
    """Attachments whose bytes hold the person's address or name."""
    return _naming(session, Attachment, Attachment.data, marks)


def _naming(session: Session, model, column, marks: Marks) -> list:
    """Rows of ``model`` whose bytes in ``column`` name the person, read ``_SCAN_BATCH`` at a time."""
    if not marks:
        return []
    found: list[int] = []
    last = 0
    while True:
        batch = session.execute(select(model.id, column).where(model.id > last)
                                .order_by(model.id).limit(_SCAN_BATCH)).all()
        if not batch:
            break
        found += [i for i, data in batch if data and marks.in_bytes(bytes(data))]
        last = batch[-1][0]
    return list(session.scalars(select(model).where(model.id.in_(found)))) if found else []
