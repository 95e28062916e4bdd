"""Read models: what the CLI, the bot and reports show of queries.

Plain frozen values built inside a session from the stored rows, so callers
never hold ORM objects past their unit of work. A triage report is always
rebuilt from what was stored, which makes a fresh triage and a repeated
submission print exactly the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from kb.models import OPEN_STATUSES, OutboxMessage, Query, QueryStatus, Requester
from kb.policy import HelpdeskPolicy
from kb.regions import CountryDirectory


@dataclass(frozen=True)
class RequesterView:
    name: str | None
    organisation: str | None
    email: str | None
    telegram_chat_id: int | None
    sector: str | None
    country: str | None
    country_name: str | None
    region: str | None
    requester_type: str | None


@dataclass(frozen=True)
class TriageReport:
    """Everything the specialist needs to review one query's triage."""

    reference: str
    created: bool
    status: str
    channel: str
    language: str
    received_at: datetime
    target_reply_date: date
    needs_manual_triage: bool
    confidential: bool
    requester: RequesterView
    subject: str | None
    text: str
    topics: list[dict[str, Any]]
    routes: list[dict[str, Any]]
    matches: list[dict[str, Any]]
    reasons: list[str]
    draft: str
    draft_notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        data["target_reply_date"] = self.target_reply_date.isoformat()
        return data


@dataclass(frozen=True)
class QuerySummary:
    reference: str
    status: str
    channel: str
    received_at: datetime
    target_reply_date: date
    overdue: bool
    needs_manual_triage: bool
    organisation: str | None
    topics: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class QueryDetail:
    report: TriageReport
    overdue: bool
    extension_reason: str | None
    consultations: list[dict[str, Any]] = field(default_factory=list)
    clearances: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    #: "erased on DATE by ACCOUNT" once the query's personal data was erased.
    erased: str | None = None


def requester_view(query: Query, countries: CountryDirectory) -> RequesterView:
    r = query.requester
    country_name = countries.by_code(r.country).name if r.country else None
    return RequesterView(r.name, r.organisation, r.email, r.telegram_chat_id, r.sector, r.country, country_name,
                         r.region, r.requester_type.value if r.requester_type else None)


def is_overdue(query: Query, today: date) -> bool:
    return query.status in OPEN_STATUSES and today > query.target_reply_date


def triage_report(query: Query, policy: HelpdeskPolicy, countries: CountryDirectory, *, created: bool) -> TriageReport:
    decision = query.triage or {}
    draft = query.drafts[-1] if query.drafts else None
    return TriageReport(
        reference=query.reference,
        created=created,
        status=query.status.value,
        channel=query.channel.value,
        language=query.language,
        received_at=query.received_at,
        target_reply_date=query.target_reply_date,
        needs_manual_triage=query.needs_manual_triage,
        confidential=query.confidential,
        requester=requester_view(query, countries),
        subject=query.subject,
        text=query.text,
        topics=decision.get("topics", []),
        routes=decision.get("routes", []),
        matches=decision.get("matches", []),
        reasons=decision.get("reasons", []),
        draft=(draft.edited_text or draft.text) if draft else "",
        draft_notes=list(draft.notes) if draft else [],
    )


def _title(query: Query) -> str:
    text = (query.subject or query.text).strip().splitlines()[0]
    return text if len(text) <= 60 else text[:59] + "…"


def query_summaries(
    session: Session, today: date, *, status: QueryStatus | None = None, overdue_only: bool = False,
    telegram_chat_id: int | None = None, limit: int | None = None,
) -> list[QuerySummary]:
    """The queries asked for, oldest first; with ``limit``, only the ``limit`` most recent of them."""
    stmt = _summaries_filter(select(Query), today, status, overdue_only, telegram_chat_id)
    stmt = stmt.options(joinedload(Query.requester), selectinload(Query.topics))
    if limit is not None:
        stmt = stmt.order_by(Query.received_at.desc(), Query.id.desc()).limit(limit)
    else:
        stmt = stmt.order_by(Query.received_at, Query.id)
    queries = list(session.scalars(stmt))
    if limit is not None:
        queries.reverse()
    return [QuerySummary(q.reference, q.status.value, q.channel.value, q.received_at, q.target_reply_date,
                         is_overdue(q, today), q.needs_manual_triage, q.requester.organisation,
                         tuple(t.topic_code for t in q.topics if t.confirmed is not False), _title(q))
            for q in queries]


def count_queries(session: Session, today: date, *, status: QueryStatus | None = None,
                  overdue_only: bool = False) -> int:
    """How many queries ``query_summaries`` would list without a limit."""
    return session.scalar(_summaries_filter(select(func.count(Query.id)), today, status, overdue_only, None)) or 0


def _summaries_filter(stmt, today: date, status: QueryStatus | None, overdue_only: bool,
                      telegram_chat_id: int | None):
    if status is not None:
        stmt = stmt.where(Query.status == status)
    if overdue_only:  # what ``is_overdue`` says, in SQL
        stmt = stmt.where(Query.status.in_(OPEN_STATUSES), Query.target_reply_date < today)
    if telegram_chat_id is not None:
        stmt = stmt.join(Requester, Requester.id == Query.requester_id).where(
            Requester.telegram_chat_id == telegram_chat_id)
    return stmt


def query_detail(query: Query, policy: HelpdeskPolicy, countries: CountryDirectory, today: date) -> QueryDetail:
    session = Session.object_session(query)
    outbox = session.scalars(select(OutboxMessage).where(OutboxMessage.query_id == query.id)
                             .order_by(OutboxMessage.id)) if session else []
    return QueryDetail(
        report=triage_report(query, policy, countries, created=False),
        overdue=is_overdue(query, today),
        extension_reason=query.target_extension_reason,
        erased=f"erased on {query.erased_at.date().isoformat()} by {query.erased_by}" if query.erased_at else None,
        consultations=[
            {"department": c.department_code, "reason": c.reason, "due_date": c.due_date.isoformat(),
             "reminders_sent": c.reminders_sent,
             "input_received_at": c.input_received_at.isoformat() if c.input_received_at else None,
             "bounced_at": c.bounced_at.isoformat() if c.bounced_at else None, "bounce": c.bounce,
             "inputs": [{"from": i.from_address, "at": i.received_at.isoformat(), "text": i.text} for i in c.inputs]}
            for c in query.consultations
        ],
        clearances=[
            {"department": c.consultation.department_code, "requested_at": c.requested_at.isoformat(),
             "requested_by": c.requested_by, "due_date": c.due_date.isoformat(), "verdict": c.verdict,
             "comment": c.comment, "answered_at": c.answered_at.isoformat() if c.answered_at else None,
             "answered_by": c.answered_by, "reminders_sent": c.reminders_sent}
            for c in query.clearances
        ],
        messages=[
            {"direction": m.direction.value, "channel": m.channel.value, "at": m.at.isoformat(), "sender": m.sender,
             "subject": m.subject}
            for m in query.messages
        ],
        outbox=[
            {"kind": o.kind.value, "channel": o.channel.value, "to": list(o.recipients), "subject": o.subject,
             "sent_at": o.sent_at.isoformat() if o.sent_at else None, "attempts": o.attempts,
             "failed_at": o.failed_at.isoformat() if o.failed_at else None, "error": o.last_error}
            for o in outbox
        ],
        drafts=[
            {"at": d.created_at.isoformat(), "language": d.language, "sources": list(d.sources),
             "approved_by": d.approved_by}
            for d in query.drafts
        ],
        history=[{"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail, "actor": e.actor} for e in query.events],
    )
