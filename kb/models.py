"""The helpdesk's knowledge-management store.

Every query, who asked it, the topics found, the departments consulted and
their inputs, every message in and out, drafts, replies and feedback, and the
Q&A bank. Annual reports are queries over these tables, so facts are stored as
rows (not as text inside other rows) and nothing is ever deleted: statuses and
timestamps record what happened.

Times are stored in UTC; ``UTCDateTime`` makes SQLite and PostgreSQL return the
same timezone-aware values. It, ``Base`` and the value enums are in ``kb.model_types``;
the store's own bookkeeping (accounts, where the channels stand, store facts) is in
``kb.state_models``. Both are re-exported here: ``from kb.models import X`` reaches them all,
and importing this module registers every table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.model_types import (
    NAMING,
    OPEN_STATUSES,
    AccountRole,
    Base,
    Channel,
    Direction,
    OutboxKind,
    QAOrigin,
    QueryStatus,
    RequesterType,
    TopicSource,
    UTCDateTime,
    enum_column,
)
from kb.state_models import Account, ChatSession, LoginAttempt, MailboxState, ProcessedUpdate, StoreFact

__all__ = [
    # from kb.model_types
    "NAMING", "OPEN_STATUSES", "AccountRole", "Base", "Channel", "Direction", "OutboxKind", "QAOrigin", "QueryStatus",
    "RequesterType", "TopicSource", "UTCDateTime",
    # from kb.state_models
    "Account", "ChatSession", "LoginAttempt", "MailboxState", "ProcessedUpdate", "StoreFact",
    # the tables defined here
    "Attachment", "AuditEntry", "Clearance", "Consultation", "Draft", "Feedback", "FocalPointInput", "Message",
    "OutboxMessage", "QA", "QAVersion", "Query", "QueryEvent", "QueryTopic", "RawEmail", "ReferenceCounter", "Reply",
    "Requester",
]


class Requester(Base):
    __tablename__ = "requester"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[Optional[str]] = mapped_column(String(200))
    organisation: Mapped[Optional[str]] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(320), unique=True)
    telegram_chat_id: Mapped[Optional[int]] = mapped_column(BigInteger, unique=True)
    sector: Mapped[Optional[str]] = mapped_column(String(120))
    country: Mapped[Optional[str]] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    region: Mapped[Optional[str]] = mapped_column(String(40))
    requester_type: Mapped[Optional[RequesterType]] = mapped_column(enum_column(RequesterType))
    created_at: Mapped[datetime]
    #: When the person's identity was erased (on request or under the retention rule); the anonymous facts
    #: the reports count (sector, country, region, type) stay.
    erased_at: Mapped[Optional[datetime]]

    queries: Mapped[list["Query"]] = relationship(back_populates="requester")


class Query(Base):
    __tablename__ = "query"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("requester.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    #: What identifies the submission at its source (Message-ID, Telegram update, sample id):
    #: the same submission twice is recognised and not stored again.
    source_key: Mapped[Optional[str]] = mapped_column(String(400), unique=True)
    subject: Mapped[Optional[str]] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(index=True)
    target_reply_date: Mapped[date] = mapped_column(Date, index=True)
    #: The target set on receipt; ``target_reply_date`` moves when the target is extended, this never does.
    original_target_date: Mapped[Optional[date]] = mapped_column(Date)
    target_extension_reason: Mapped[Optional[str]] = mapped_column(Text)
    #: The country the query is about (found in the text, else the requester's), and its ILO region; the
    #: requester's own country stays on the requester. ``country_source``: text, requester or specialist.
    country_concerned: Mapped[Optional[str]] = mapped_column(String(2))
    region: Mapped[Optional[str]] = mapped_column(String(40))
    country_source: Mapped[Optional[str]] = mapped_column(String(20))
    #: The organisation read from the signature or the sender's domain, for the specialist to confirm.
    suggested_organisation: Mapped[Optional[str]] = mapped_column(String(200))
    status: Mapped[QueryStatus] = mapped_column(enum_column(QueryStatus))  # indexed below, with the target date
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_manual_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The triage decision as the specialist saw it: topics, evidence, matches, reasons.
    triage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answered_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]
    self_served: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who passed the query on (a colleague forwarding a company's email); the requester is the original sender.
    referred_by: Mapped[Optional[str]] = mapped_column(String(320))
    #: When and by whom the query's personal data was erased (``kb.privacy``): its texts are anonymised,
    #: its raw emails and attachments gone; its dates, topics, departments and ratings stay for the reports.
    erased_at: Mapped[Optional[datetime]]
    erased_by: Mapped[Optional[str]] = mapped_column(String(120))

    requester: Mapped[Requester] = relationship(back_populates="queries")
    topics: Mapped[list["QueryTopic"]] = relationship(back_populates="query", order_by="QueryTopic.id")
    consultations: Mapped[list["Consultation"]] = relationship(back_populates="query", order_by="Consultation.id")
    messages: Mapped[list["Message"]] = relationship(back_populates="query", order_by="Message.id")
    drafts: Mapped[list["Draft"]] = relationship(back_populates="query", order_by="Draft.id")
    clearances: Mapped[list["Clearance"]] = relationship(back_populates="query", order_by="Clearance.id")
    events: Mapped[list["QueryEvent"]] = relationship(back_populates="query", order_by="QueryEvent.id")


class ReferenceCounter(Base):
    """The last reference number handed out per year (HD-2026-0007 is year 2026, number 7)."""

    __tablename__ = "reference_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class QueryEvent(Base):
    """One line of a query's history, for ``helpdesk show`` and for audits."""

    __tablename__ = "query_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(120), default="system")

    query: Mapped[Query] = relationship(back_populates="events")


class QueryTopic(Base):
    __tablename__ = "query_topic"
    __table_args__ = (UniqueConstraint("query_id", "topic_code"),)  # also the index of a query's topics

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"))
    topic_code: Mapped[str] = mapped_column(String(64), index=True)
    confidence: Mapped[Optional[float]] = mapped_column(Float)
    source: Mapped[TopicSource] = mapped_column(enum_column(TopicSource))
    #: None while unreviewed; True when the specialist kept it, False when removed.
    confirmed: Mapped[Optional[bool]] = mapped_column(Boolean)

    query: Mapped[Query] = relationship(back_populates="topics")


class Consultation(Base):
    """A department asked for its input on a query."""

    __tablename__ = "consultation"
    __table_args__ = (UniqueConstraint("query_id", "department_code"),)  # also the index of a query's consultations

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"))
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    due_date: Mapped[date] = mapped_column(Date, index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[Optional[datetime]]
    escalated_at: Mapped[Optional[datetime]]
    input_received_at: Mapped[Optional[datetime]]
    #: The last time an email to the department's focal points bounced, and what bounced ("routing email to
    #: x@example.org bounced"): the department may never have received the query.
    bounced_at: Mapped[Optional[datetime]]
    bounce: Mapped[Optional[str]] = mapped_column(String(300))
    #: Whether its query is open (new to reopened), set by ``kb.lifecycle.transition``, the one function that
    #: changes a query's status: the chasing tick's indexes of awaited inputs leave out the consultations of
    #: answered and closed queries, which may stay unanswered for ever.
    query_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    query: Mapped[Query] = relationship(back_populates="consultations")
    inputs: Mapped[list["FocalPointInput"]] = relationship(back_populates="consultation")


class Clearance(Base):
    """A consulted department asked to agree the draft reply before it goes out."""

    __tablename__ = "clearance"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"), index=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(120))
    due_date: Mapped[date] = mapped_column(Date)
    #: The reply text the department was asked to agree.
    draft_text: Mapped[str] = mapped_column(Text)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[Optional[datetime]]
    answered_at: Mapped[Optional[datetime]]
    #: "agreed" or "commented" once the focal point answered.
    verdict: Mapped[Optional[str]] = mapped_column(String(20))
    comment: Mapped[Optional[str]] = mapped_column(Text)
    answered_by: Mapped[Optional[str]] = mapped_column(String(320))

    query: Mapped["Query"] = relationship(back_populates="clearances")
    consultation: Mapped["Consultation"] = relationship()


class FocalPointInput(Base):
    __tablename__ = "focal_point_input"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id"), index=True)
    from_address: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("message.id"))

    consultation: Mapped[Consultation] = relationship(back_populates="inputs")
    message: Mapped[Optional["Message"]] = relationship()


class Message(Base):
    """Every message in or out, on any channel, with the ids needed for threading."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[Optional[int]] = mapped_column(ForeignKey("query.id"), index=True)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    at: Mapped[datetime]
    sender: Mapped[Optional[str]] = mapped_column(String(320))
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[Optional[str]] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    email_message_id: Mapped[Optional[str]] = mapped_column(String(400), index=True)
    in_reply_to: Mapped[Optional[str]] = mapped_column(String(400))
    telegram_chat_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    telegram_message_id: Mapped[Optional[int]] = mapped_column(BigInteger)

    query: Mapped[Optional[Query]] = relationship(back_populates="messages")


class OutboxMessage(Base):
    """A message waiting to go out, or gone. The sender claims rows, sends, and stamps ``sent_at``."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Makes queueing idempotent: queueing the same thing twice keeps one row.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OutboxKind] = mapped_column(enum_column(OutboxKind))  # indexed with the time: ix_outbox_kind_created
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    query_id: Mapped[Optional[int]] = mapped_column(ForeignKey("query.id"))  # indexed with the kind and time
    consultation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("consultation.id"))
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Fixed when queued, so a retried send carries the same Message-ID and replies thread to it.
    email_message_id: Mapped[Optional[str]] = mapped_column(String(400), index=True)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]  # the rows waiting to be sent are indexed by it: ix_outbox_waiting
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sent_at: Mapped[Optional[datetime]]
    failed_at: Mapped[Optional[datetime]]

    query: Mapped[Optional[Query]] = relationship()
    consultation: Mapped[Optional[Consultation]] = relationship()


class Draft(Base):
    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"), index=True)
    created_at: Mapped[datetime]
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    #: Notes for the specialist (not sent): why this draft, what to check.
    notes: Mapped[list[Any]] = mapped_column(default=list)
    #: [{"qa_id", "qa_key", "score"}] the answer was drafted from.
    sources: Mapped[list[Any]] = mapped_column(default=list)
    edited_text: Mapped[Optional[str]] = mapped_column(Text)
    approved_by: Mapped[Optional[str]] = mapped_column(String(120))
    approved_at: Mapped[Optional[datetime]]

    query: Mapped[Query] = relationship(back_populates="drafts")


class Reply(Base):
    __tablename__ = "reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"), index=True)
    draft_id: Mapped[Optional[int]] = mapped_column(ForeignKey("draft.id"))
    text: Mapped[str] = mapped_column(Text)
    sent_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("query.id"), index=True)
    rating: Mapped[Optional[int]] = mapped_column(Integer)
    comment: Mapped[Optional[str]] = mapped_column(Text)
    received_at: Mapped[datetime]


class QA(Base):
    """One entry of the Q&A bank: its topics and state; its wording lives in its language versions.

    Draft (not published, not withdrawn), published, or withdrawn (kept, with the reason, never deleted).
    ``language`` is the language it was first written in. ``edited_by`` names the account that last
    changed it by hand: the shipped bank's seeding never overwrites such a Q&A.
    """

    __tablename__ = "qa"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(8))
    origin: Mapped[QAOrigin] = mapped_column(enum_column(QAOrigin))
    source_query_id: Mapped[Optional[int]] = mapped_column(ForeignKey("query.id"))
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    withdrawn_at: Mapped[Optional[datetime]]
    withdrawn_reason: Mapped[Optional[str]] = mapped_column(Text)
    edited_by: Mapped[Optional[str]] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    versions: Mapped[list["QAVersion"]] = relationship(
        back_populates="qa", cascade="all, delete-orphan", order_by="QAVersion.language", lazy="selectin")

    def version(self, language: str) -> Optional["QAVersion"]:
        return next((v for v in self.versions if v.language == language), None)

    @property
    def original(self) -> "QAVersion":
        """The version in the language it was written in (else the first one)."""
        return self.version(self.language) or self.versions[0]


class QAVersion(Base):
    """A Q&A's question and answer in one language (English, French or Spanish)."""

    __tablename__ = "qa_version"
    __table_args__ = (UniqueConstraint("qa_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    qa_id: Mapped[int] = mapped_column(ForeignKey("qa.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    qa: Mapped[QA] = relationship(back_populates="versions")


class RawEmail(Base):
    """An inbound email exactly as received, kept before parsing (and when parsing fails)."""

    __tablename__ = "raw_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[Optional[int]] = mapped_column(BigInteger)
    uid: Mapped[Optional[int]] = mapped_column(BigInteger)
    message_id_header: Mapped[Optional[str]] = mapped_column(String(400), index=True)
    received_at: Mapped[datetime]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: "pending" from the fetch until a worker has decided what it is; then that decision.
    outcome: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("message.id"))
    #: Processing attempts so far; at the helpdesk's limit the message is quarantined with its last error.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A worker holds the message until then (another takes it over if that worker died).
    claimed_until: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)

    message: Mapped[Optional[Message]] = relationship()

    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),)


class Attachment(Base):
    """A file that came with an inbound message, kept in the store (within the size limit)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[Message] = relationship()


# Indexes on what is due: a chasing tick (kb.chasing) reaches the open work that has something due through
# these, without reading the closed queries or the open ones with nothing due. They carry the columns the
# tick filters and joins on, so that it reads them alone (index-only), not the tables.
_AWAITED_INPUT = (Consultation.input_received_at.is_(None) & Consultation.escalated_at.is_(None)
                  & Consultation.query_open)
_AWAITED_CLEARANCE = Clearance.answered_at.is_(None)
Index("ix_query_status_target", Query.status, Query.target_reply_date, Query.id)
Index("ix_consultation_awaited", Consultation.due_date, Consultation.query_id, Consultation.id,
      Consultation.reminders_sent, Consultation.last_reminder_at,
      postgresql_where=_AWAITED_INPUT, sqlite_where=_AWAITED_INPUT)
# The digest's overdue inputs: every consultation without input of an open query (escalated ones too).
_UNANSWERED_INPUT = Consultation.input_received_at.is_(None) & Consultation.query_open
Index("ix_consultation_unanswered", Consultation.query_id, Consultation.due_date, Consultation.id,
      postgresql_where=_UNANSWERED_INPUT, sqlite_where=_UNANSWERED_INPUT)
Index("ix_clearance_awaited", Clearance.due_date, postgresql_where=_AWAITED_CLEARANCE, sqlite_where=_AWAITED_CLEARANCE)
# The outbox rows waiting to be sent, in the order the sender claims them (kb.outbox.claim_due), and the rows
# that failed, by query (chasing and the digest): partial, so a row gone is in neither, and a new row in one.
_WAITING = OutboxMessage.sent_at.is_(None) & OutboxMessage.failed_at.is_(None)
_FAILED = OutboxMessage.failed_at.is_not(None)
Index("ix_outbox_waiting", OutboxMessage.channel, OutboxMessage.due_at, OutboxMessage.id,
      postgresql_where=_WAITING, sqlite_where=_WAITING)
Index("ix_outbox_failed", OutboxMessage.query_id, OutboxMessage.id, postgresql_where=_FAILED, sqlite_where=_FAILED)
# The mail-loop guard: a requester's acknowledgements of the last day, found through their queries; the other
# automatic notices of the last day, by kind and time (not every one ever sent). The kind alone is its prefix.
Index("ix_outbox_query_kind", OutboxMessage.query_id, OutboxMessage.kind, OutboxMessage.created_at)
Index("ix_outbox_kind_created", OutboxMessage.kind, OutboxMessage.created_at)
Index("ix_reply_created_at", Reply.created_at)
Index("ix_feedback_received_at", Feedback.received_at)
# The retention rule's daily look for closed queries past their period that still hold personal data.
_NOT_ERASED = Query.erased_at.is_(None)
Index("ix_query_closed_not_erased", Query.closed_at, postgresql_where=_NOT_ERASED, sqlite_where=_NOT_ERASED)


class AuditEntry(Base):
    """Who read or handled personal data, when, and what (``helpdesk audit``). Changes to a query are in its
    history (``QueryEvent``); this records the reads, exports and erasures, and changes to accounts. It names
    queries and requesters by id and reference only, never by a person's name or address, so that erasing a
    person leaves the audit trail whole and free of them."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: The console account, ``cli:<system user>``, or ``retention`` for the scheduler.
    actor: Mapped[str] = mapped_column(String(120), index=True)
    #: read, export, erase, account.
    action: Mapped[str] = mapped_column(String(40))
    query_id: Mapped[Optional[int]] = mapped_column(ForeignKey("query.id"), index=True)
    requester_id: Mapped[Optional[int]] = mapped_column(ForeignKey("requester.id"), index=True)
    #: web, cli, scheduler.
    channel: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
