"""What the specialist's web console reads and does that no other channel needs.

- ``review_queue``: what needs the specialist now, in priority order (manual
  triage, held, drafts ready, inputs overdue, targets at risk, then the rest),
  filtered and searched in SQL: one query for the page of rows (with the total
  as a window count) and one for their topics, whatever the store holds.
- ``console_query``: everything about one query for its page, in one unit of work.
- ``update_requester``: the requester's organisation, sector, country (the
  region follows), type, and the query's confidentiality, recorded in its history.
- ``focal_points_overview``: each department, its focal points, its open
  consultations and its median days to give input (two SQL queries in all).
- ``quarantine_count``: how many inbound emails wait in quarantine (one COUNT).

Who may see what is decided here, not in the web adapter: a reader who may not
act (a viewer) never receives a confidential query's requester identity, and
gets its subject and text as focal points would (``shared_with_focal_points``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select, true
from sqlalchemy.orm import joinedload, selectinload

from kb.accounts import AccountView
from kb.clearance import not_cleared
from kb.inbound import Outcome
from kb.intake import parse_requester_type
from kb.models import (
    OPEN_STATUSES,
    QA,
    Channel,
    Clearance,
    Consultation,
    Feedback,
    OutboxMessage,
    Query,
    QueryStatus,
    QueryTopic,
    RawEmail,
    Requester,
)
from kb.privacy import audit
from kb.service.core import QueryNotFoundError, ServiceBase

HIDDEN = "(confidential)"
#: History events that name the country a query is about; readers who see only its region see none of them.
PLACE_EVENTS = frozenset({"country concerned", "country concerned set"})
#: Days before the target reply date from which a query counts as at risk.
AT_RISK_DAYS = 3
#: The queue's groups, most urgent first; a row's ``priority`` indexes this.
PRIORITIES = ("manual triage", "held for release", "draft ready", "inputs overdue", "target at risk", "open",
              "answered or closed")
CHANNELS = tuple(c.value for c in Channel)
STATUSES = tuple(s.value for s in QueryStatus)


@dataclass(frozen=True)
class QueueFilters:
    #: A status value, "open" (the default: every open query) or "all".
    status: str = "open"
    topic: str = ""
    department: str = ""
    #: A country code or name (resolved like a requester's).
    country: str = ""
    channel: str = ""
    #: Words searched in the text, subject, organisation and reference.
    q: str = ""


@dataclass(frozen=True)
class QueueRow:
    reference: str
    status: str
    priority: int
    channel: str
    received_at: datetime
    target_reply_date: date
    overdue: bool
    confidential: bool
    organisation: str | None
    country: str | None
    topics: tuple[str, ...]
    title: str

    @property
    def why(self) -> str:
        return PRIORITIES[self.priority]


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    offset: int
    limit: int
    filters: QueueFilters


@dataclass(frozen=True)
class ConsoleQuery:
    """One query as its console page shows it; identity fields hold ``HIDDEN`` when ``identity_hidden``."""

    reference: str
    status: str
    channel: str
    language: str
    received_at: datetime
    target_reply_date: date
    overdue: bool
    extension_reason: str | None
    confidential: bool
    identity_hidden: bool
    subject: str | None
    text: str
    requester: dict[str, Any]
    #: Where a reply goes: ("email", address) or ("telegram", chat); None when the query has nowhere to reply.
    reply_to: tuple[str, str] | None
    topics: list[dict[str, Any]]
    candidates: list[dict[str, Any]]
    consultations: list[dict[str, Any]]
    matches: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    draft: str
    draft_notes: list[str]
    history: list[dict[str, Any]]
    #: What focal points receive of a held query (subject, text), shown before releasing it.
    release_preview: tuple[str | None, str] | None = None
    promoted_qa: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    #: Every clearance asked (each round's), oldest first; ``verdict`` None while the department is silent.
    clearances: list[dict[str, Any]] = field(default_factory=list)

    #: Why the saved draft is not cleared ("ACTRAV has not answered", "ACTEMP agreed an earlier wording").
    not_cleared: list[str] = field(default_factory=list)
    #: The country the query is about: {"code", "name", "region", "source"} (text, requester or specialist).
    place: dict[str, Any] | None = None
    #: The organisation read from the signature or domain, while the requester has none (to confirm).
    suggested_organisation: str | None = None
    #: The requester's ratings of the reply: {"rating", "comment", "received_at"}, oldest first.
    feedback: list[dict[str, Any]] = field(default_factory=list)
    #: When and by whom the query's personal data was erased (on request, or "retention").
    erased: tuple[datetime, str] | None = None

    @property
    def is_open(self) -> bool:
        return QueryStatus(self.status) in OPEN_STATUSES

    @property
    def held(self) -> bool:
        return self.status == QueryStatus.HELD.value

    @property
    def answered(self) -> bool:
        return self.status in (QueryStatus.ANSWERED.value, QueryStatus.CLOSED.value)


def _like(column, words: str):
    return func.lower(column).contains(words.lower(), autoescape=True)


def _title(subject: str | None, text: str) -> str:
    lines = (subject or text).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= 70 else line[:69] + "…"


def _reply_to(query: Query) -> tuple[str, str] | None:
    """Where ``send_reply`` sends (the same rule as ``kb.review.send_reply``)."""
    requester = query.requester
    if query.channel is Channel.TELEGRAM and requester.telegram_chat_id is not None:
        return "telegram", str(requester.telegram_chat_id)
    return ("email", requester.email) if requester.email else None


class ConsoleUseCases(ServiceBase):
    # ------------------------------------------------------------------ the queue
    def review_queue(self, filters: QueueFilters = QueueFilters(), *, account: AccountView | None = None,
                     offset: int = 0, limit: int = 100) -> QueuePage:
        """The page of queries that need the specialist now, most urgent first.

        A reader who may not act never finds a confidential query by its requester's organisation, words or
        country (only by its reference), since the rows would tell what the page hides.
        """
        reveal = account is not None and account.may_act
        today = self.clock().date()
        open_ = list(OPEN_STATUSES)
        # A scalar subquery with LIMIT 1, not EXISTS: PostgreSQL would hash every consultation ever made for an
        # EXISTS, where this looks up only the candidate queries' own (by index).
        inputs_overdue = (select(literal(1)).where(Consultation.query_id == Query.id,
                                                   Consultation.input_received_at.is_(None),
                                                   Consultation.due_date < today)
                          .limit(1).scalar_subquery().is_not(None))
        priority = case(
            (Query.status == QueryStatus.MANUAL_TRIAGE, 0),
            (Query.status == QueryStatus.HELD, 1),
            (Query.status == QueryStatus.DRAFT_READY, 2),
            (and_(Query.status.in_(open_), inputs_overdue), 3),
            (and_(Query.status.in_(open_), Query.target_reply_date <= today + timedelta(days=AT_RISK_DAYS)), 4),
            (Query.status.in_(open_), 5),
            else_=6,
        ).label("priority")
        conditions, by_requester = self._queue_conditions(filters, reveal)
        offset, limit = max(offset, 0), max(1, min(limit, 500))
        # One statement: the page's ids sorted on narrow rows (with the count of every match, before the limit),
        # then the page's columns and its topics (aggregated) for those ids only.
        page = select(Query.id, priority, Query.target_reply_date, Query.received_at,
                      func.count().over().label("total"))
        if by_requester:
            page = page.join(Query.requester)
        page = (page.where(*conditions).order_by(priority, Query.target_reply_date, Query.received_at, Query.id)
                .offset(offset).limit(limit).subquery())
        topics = (select(func.aggregate_strings(QueryTopic.topic_code, ","))
                  .where(QueryTopic.query_id == Query.id,
                         or_(QueryTopic.confirmed.is_(None), QueryTopic.confirmed.is_(True)))
                  .scalar_subquery())
        stmt = (select(Query.reference, Query.status, page.c.priority, Query.channel, Query.received_at,
                       Query.target_reply_date, Query.confidential, Requester.organisation, Requester.country,
                       Requester.region, topics, Query.subject, func.substr(Query.text, 1, 200), page.c.total)
                .join(page, page.c.id == Query.id).join(Query.requester)
                .order_by(page.c.priority, page.c.target_reply_date, page.c.received_at, Query.id))
        with self.unit_of_work() as session:
            total = 0
            rows = []
            for (reference, status, rank, channel, received, target, confidential, organisation, country, region,
                 codes, subject, text, total) in session.execute(stmt):
                hide = confidential and not reveal
                rows.append(QueueRow(
                    reference, status.value, rank, channel.value, received, target,
                    status in OPEN_STATUSES and today > target, confidential,
                    HIDDEN if hide else organisation, region if hide else country,
                    tuple(sorted(codes.split(","))) if codes else (), HIDDEN if hide else _title(subject, text)))
        return QueuePage(rows, total, offset, limit, filters)

    def _queue_conditions(self, f: QueueFilters, reveal: bool) -> tuple[list, bool]:
        """The SQL conditions for ``f``, and whether they read the requester's row; raises ``ValueError`` naming a
        filter that cannot match anything."""
        conditions = []
        status = (f.status or "open").strip()
        if status == "open":
            conditions.append(Query.status.in_(list(OPEN_STATUSES)))
        elif status != "all":
            if status not in STATUSES:
                raise ValueError(f"unknown status {status!r}; known: open, all, {', '.join(STATUSES)}")
            conditions.append(Query.status == QueryStatus(status))
        if f.topic:
            if f.topic not in self.policy.topics:
                raise ValueError(f"unknown topic {f.topic!r}")
            conditions.append(exists().where(QueryTopic.query_id == Query.id, QueryTopic.topic_code == f.topic,
                                             or_(QueryTopic.confirmed.is_(None), QueryTopic.confirmed.is_(True))))
        if f.department:
            if f.department not in self.policy.departments:
                raise ValueError(f"unknown department {f.department!r}")
            conditions.append(exists().where(Consultation.query_id == Query.id,
                                             Consultation.department_code == f.department))
        if f.country:
            code = self.countries.resolve(f.country).code  # UnknownCountryError is a ValueError
            conditions.append(and_(Requester.country == code, true_if(reveal, Query.confidential.is_(False))))
        if f.channel:
            if f.channel not in CHANNELS:
                raise ValueError(f"unknown channel {f.channel!r}; known: {', '.join(CHANNELS)}")
            conditions.append(Query.channel == Channel(f.channel))
        words = " ".join((f.q or "").split())  # no line break left: it cannot match across the fields below
        if words:
            # One LIKE over the fields joined by line breaks: one pass over each row, whatever the backend.
            content = (func.coalesce(Query.subject, "") + "\n" + Query.text + "\n"
                       + func.coalesce(Requester.organisation, ""))
            if reveal:
                conditions.append(_like(Query.reference + "\n" + content, words))
            else:
                conditions.append(or_(_like(Query.reference, words),
                                      and_(Query.confidential.is_(False), _like(content, words))))
        return conditions, bool(f.country or words)

    # ------------------------------------------------------------------ one query
    def console_query(self, reference: str, *, account: AccountView | None = None) -> ConsoleQuery:
        """Everything the console shows of one query; identities hidden from readers who may not act."""
        reveal = account is not None and account.may_act
        today = self.clock().date()
        with self.unit_of_work() as session:
            query = session.scalar(
                select(Query).where(Query.reference == reference.strip().upper())
                .options(joinedload(Query.requester), selectinload(Query.topics), selectinload(Query.messages),
                         selectinload(Query.consultations).selectinload(Consultation.inputs),
                         selectinload(Query.drafts), selectinload(Query.events),
                         selectinload(Query.clearances).joinedload(Clearance.consultation)))
            if query is None:
                raise QueryNotFoundError(f"no query with reference {reference!r}")
            outbox = list(session.scalars(select(OutboxMessage).where(OutboxMessage.query_id == query.id)
                                          .order_by(OutboxMessage.id)))
            qa = session.scalar(select(QA).where(QA.source_query_id == query.id).order_by(QA.id.desc()).limit(1))
            ratings = list(session.scalars(select(Feedback).where(Feedback.query_id == query.id).order_by(Feedback.id)))
            hide = query.confidential and not reveal
            if account is not None:
                audit.record(session, at=self.clock(), actor=account.name, action="read", channel="web", query=query,
                             detail="query page" + (" (identity hidden)" if hide else ""))
            view = self._console_view(query, outbox, qa, hide=hide, today=today)
            return replace(view, feedback=[{"rating": f.rating, "received_at": f.received_at,
                                            "comment": HIDDEN if hide and f.comment else f.comment} for f in ratings])

    def _console_view(self, query: Query, outbox: list[OutboxMessage], qa: QA | None, *, hide: bool,
                      today: date) -> ConsoleQuery:
        r = query.requester
        policy = self.policy
        identity = [v for v in (r.name, r.email, r.organisation, query.suggested_organisation) if v]
        mask = (lambda text: _redact(text, identity)) if hide else (lambda text: text)
        if hide:
            from kb.anonymise import anonymise

            subject, text = self.shared_with_focal_points(query)
            known = dict(names=[n for n in (r.name,) if n], organisations=[o for o in (r.organisation,) if o])
            shown = lambda body: mask(anonymise(body, **known).text) if body else body  # noqa: E731
        else:
            subject, text, shown = query.subject, query.text, (lambda body: body)
        country = self.countries.by_code(r.country) if r.country else None
        requester = {
            "name": HIDDEN if hide else r.name, "email": HIDDEN if hide else r.email,
            "organisation": HIDDEN if hide else r.organisation, "sector": r.sector,
            "country": None if hide else r.country, "country_name": None if hide or not country else country.name,
            "region": r.region, "type": r.requester_type.value if r.requester_type else None,
            "telegram": r.telegram_chat_id is not None, "referred_by": query.referred_by,
        }
        decision = query.triage or {}
        names = {code: t.name() for code, t in policy.topics.items()}
        candidates = {c["code"]: c for c in decision.get("topics", [])}
        topics = [{"code": t.topic_code, "name": names.get(t.topic_code, t.topic_code), "confidence": t.confidence,
                   "source": t.source.value, "confirmed": t.confirmed,
                   "evidence": list(candidates.get(t.topic_code, {}).get("evidence", []))}
                  for t in query.topics if t.confirmed is not False]
        consultations = []
        for c in query.consultations:
            department = policy.departments.get(c.department_code)
            consultations.append({
                "department": c.department_code, "name": department.name if department else c.department_code,
                "focal_points": [(fp.name, fp.email) for fp in department.focal_points] if department else [],
                "reason": c.reason, "requested_at": c.requested_at, "due_date": c.due_date,
                "overdue": c.input_received_at is None and c.due_date < today, "reminders_sent": c.reminders_sent,
                "last_reminder_at": c.last_reminder_at, "input_received_at": c.input_received_at,
                "bounced_at": c.bounced_at, "bounce": c.bounce,
                "inputs": [{"from": i.from_address, "at": i.received_at, "text": mask(i.text)} for i in c.inputs]})
        draft = query.drafts[-1] if query.drafts else None
        shown_draft = (draft.edited_text or draft.text) if draft else ""
        return ConsoleQuery(
            reference=query.reference, status=query.status.value, channel=query.channel.value,
            language=query.language, received_at=query.received_at, target_reply_date=query.target_reply_date,
            overdue=query.status in OPEN_STATUSES and today > query.target_reply_date,
            extension_reason=query.target_extension_reason, confidential=query.confidential, identity_hidden=hide,
            subject=subject, text=text, requester=requester,
            place=None if query.country_concerned is None else {
                "code": HIDDEN if hide else query.country_concerned, "region": query.region,
                "source": query.country_source,
                "name": HIDDEN if hide else self.countries.by_code(query.country_concerned).name},
            suggested_organisation=None if hide or r.organisation else query.suggested_organisation,
            reply_to=None if hide else _reply_to(query),
            topics=topics, candidates=[{**c, "name": names.get(c["code"], c.get("name"))}
                                       for c in decision.get("topics", [])],
            consultations=consultations, matches=list(decision.get("matches", [])),
            messages=[{"direction": m.direction.value, "channel": m.channel.value, "at": m.at,
                       "sender": (HIDDEN if hide and m.direction.value == "in" and _is_requester(m.sender, r)
                                  else mask(m.sender or "")),
                       "subject": mask(m.subject or ""), "body": shown(m.body)} for m in query.messages],
            outbox=[{"kind": o.kind.value, "channel": o.channel.value,
                     "to": HIDDEN if hide and r.email in o.recipients else ", ".join(o.recipients),
                     "subject": mask(o.subject), "sent_at": o.sent_at, "failed_at": o.failed_at,
                     "error": o.last_error, "attempts": o.attempts} for o in outbox],
            draft=shown(shown_draft),
            draft_notes=list(draft.notes) if draft else [],
            history=[{"at": e.at, "kind": e.kind, "actor": e.actor,
                      "detail": HIDDEN if hide and e.kind in PLACE_EVENTS else mask(e.detail)} for e in query.events],
            release_preview=self.shared_with_focal_points(query) if query.status is QueryStatus.HELD else None,
            promoted_qa=None if qa is None else {"key": qa.key, "question": qa.original.question,
                                                 "answer": qa.original.answer, "published": qa.published},
            reasons=[mask(x) for x in decision.get("reasons", [])],
            erased=(query.erased_at, query.erased_by or "") if query.erased_at else None,
            not_cleared=not_cleared(query, shown_draft) if query.clearances else [],
            clearances=[{"department": c.consultation.department_code, "requested_at": c.requested_at,
                         "requested_by": c.requested_by, "due_date": c.due_date, "verdict": c.verdict,
                         "comment": mask(c.comment), "answered_at": c.answered_at, "answered_by": c.answered_by,
                         "reminders_sent": c.reminders_sent,
                         "overdue": c.answered_at is None and c.due_date < today} for c in query.clearances],
        )

    # ------------------------------------------------------------ focal points
    def focal_points_overview(self) -> list[dict[str, Any]]:
        """Each department (the policy's, then any other consulted): its focal points, its open consultations
        (on open queries, input awaited) and its median days from request to input, over the inputs received."""
        today = self.clock().date()
        awaited = (select(Consultation.department_code, Query.reference, Consultation.due_date,
                          Consultation.reminders_sent, Consultation.requested_at)
                   .join(Query, Query.id == Consultation.query_id)
                   .where(Consultation.input_received_at.is_(None), Query.status.in_(list(OPEN_STATUSES)))
                   .order_by(Consultation.due_date, Query.reference))
        answered = (select(Consultation.department_code, Consultation.requested_at, Consultation.input_received_at)
                    .where(Consultation.input_received_at.is_not(None)))
        with self.unit_of_work() as session:
            open_rows, done_rows = session.execute(awaited).all(), session.execute(answered).all()
        days: dict[str, list[float]] = {}
        for code, requested, received in done_rows:
            days.setdefault(code, []).append(max((received - requested).total_seconds(), 0) / 86400)
        pending: dict[str, list[dict[str, Any]]] = {}
        for code, reference, due, reminders, requested in open_rows:
            pending.setdefault(code, []).append({"reference": reference, "due_date": due, "requested_at": requested,
                                                 "reminders_sent": reminders, "overdue": due < today})
        departments = self.policy.departments
        codes = list(departments) + sorted((set(pending) | set(days)) - set(departments))
        return [{"code": code, "name": departments[code].name if code in departments else code,
                 "focal_points": [(fp.name, fp.email) for fp in departments[code].focal_points]
                 if code in departments else [],
                 "open": pending.get(code, []), "inputs": len(days.get(code, [])),
                 "median_days": _median(days.get(code, []))} for code in codes]

    def quarantine_count(self) -> int:
        """How many inbound emails are quarantined (the console's header shows it)."""
        with self.unit_of_work() as session:
            return session.scalar(select(func.count()).select_from(RawEmail)
                                  .where(RawEmail.outcome == Outcome.QUARANTINED.value)) or 0

    # -------------------------------------------------------------- the requester
    def update_requester(self, reference: str, *, organisation: str | None, sector: str | None,
                         country: str | None, requester_type: str | None, confidential: bool,
                         actor: str = "specialist") -> list[str]:
        """Correct who asked (the requester of ``reference``, for all their queries) and whether this query is
        confidential; returns the changes, each recorded in the query's history. The region follows the country."""
        resolved = self.countries.resolve(country) if (country or "").strip() else None
        kind = parse_requester_type(requester_type)
        now = self.clock()
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            r = query.requester
            wanted = {"organisation": (organisation or "").strip()[:200] or None,
                      "sector": (sector or "").strip()[:120] or None,
                      "country": resolved.code if resolved else None, "requester_type": kind}
            changes = []
            for name, value in wanted.items():
                old = getattr(r, name)
                if old != value:
                    shown = lambda v: getattr(v, "value", v) or "-"  # noqa: E731
                    changes.append(f"{name.replace('_', ' ')}: {shown(old)} -> {shown(value)}")
                    setattr(r, name, value)
            region = resolved.region if resolved else None
            if r.region != region:
                changes.append(f"region: {r.region or '-'} -> {region or '-'}")
                r.region = region
            if changes:
                self.record_event(session, query, "requester updated", "; ".join(changes), at=now, actor=actor)
            if bool(confidential) != query.confidential:
                query.confidential = bool(confidential)
                self.record_event(session, query, "confidential" if confidential else "not confidential", "",
                                  at=now, actor=actor)
                changes.append("confidential" if confidential else "not confidential")
            return changes


def true_if(reveal: bool, condition):
    """``condition`` for readers who may not see confidential identities; no condition for the others."""
    return true() if reveal else condition


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _is_requester(sender: str | None, requester: Requester) -> bool:
    return bool(sender) and (sender or "").lower() in {(requester.email or "").lower(), str(requester.telegram_chat_id)}


def _redact(text: str | None, identity: list[str]) -> str | None:
    if not text:
        return text
    for value in sorted(identity, key=len, reverse=True):
        if len(value) >= 2:
            text = _replace_casefold(text, value, HIDDEN)
    return text


def _replace_casefold(text: str, old: str, new: str) -> str:
    import re

    return re.sub(re.escape(old), new, text, flags=re.IGNORECASE)
