"""Chasing overdue work: which reminders, warnings and digests are due at an instant.

``due_actions`` is pure: plain snapshots of the open queries and one instant in,
the list of actions due out, so every rule is tested at fixed instants without
sleeping. ``chase_overdue_work`` takes a snapshot from the store, queues each
action in the outbox under a stable key, and records it; the outbox sends it.
A scheduler only has to call it regularly: since each action's key is unique,
calling it twice, or after a restart, never sends anything twice, and since
the rules look at what was *sent*, a restart after a long stop still sends what
fell due meanwhile (once, and the next reminder follows the cadence from then).

A tick reads only open work with something due (``due_work``: indexed selects on due dates, last chases
and target dates, never the closed queries nor the open ones with nothing due), and once a day what the
digest lists (``kb.digest``: the queries of its lines shown, and each section's total); ``snapshot`` reads
just those queries' columns, set-based.

Rules:
- a consultation without input is chased from the day after its due date:
  reminder 1, then one every ``reminder_every_days`` after the previous one, up
  to ``max_reminders``; one cadence step after the last, it is escalated to the
  specialist. An input that arrives stops the chase at once, and so does a
  clearance request to that department (from then on the clearance is chased);
- the specialist is warned ``warn_days_before_target`` days before a query's
  target reply date, and again the day after it is missed; an extended target
  gets its own warnings;
- optionally (off by default) the requester gets one polite holding message
  when the target is missed;
- each working morning from ``digest_hour`` (UTC) the specialist gets a digest, with the poor ratings
  (1 or 2) received since the day before;
- optionally (``feedback_reminder_days``, off by default) a requester who has not rated a reply is
  reminded once, on the reply's channel, that many days after it (and never for a reply older than
  that plus two weeks, so turning the option on does not write to last year's requesters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    CompoundSelect,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.orm import Session, aliased

from kb.calendar import DueDateCalendar, day_start
from kb.chase_messages import compose, feedback_reminder
from kb.bulk import insert_rows, update_rows
from kb.digest import digest_listing
from kb.models import (
    OPEN_STATUSES,
    Channel,
    Clearance,
    Consultation,
    Feedback,
    OutboxKind,
    OutboxMessage,
    Query,
    QueryEvent,
    QueryStatus,
    Reply,
    Requester,
)
from kb.outbox import outbox_values
from kb.policy import HelpdeskPolicy
from kb.privacy.retention import erased_since_last_digest

OPEN = list(OPEN_STATUSES)
_OPEN_VALUES = frozenset(s.value for s in OPEN_STATUSES)
#: Ids or keys per IN list: well under the 65,535 parameters a PostgreSQL statement may carry.
CHUNK = 5000


@dataclass(frozen=True)
class ConsultationSnapshot:
    id: int
    department: str
    due_date: date
    input_received: bool
    reminders_sent: int
    last_reminder_on: date | None
    escalated: bool
    #: The department was asked to clear the draft: its input is no longer chased, the clearance is.
    clearance_asked: bool = False


@dataclass(frozen=True)
class ClearanceSnapshot:
    id: int
    department: str
    consultation_id: int
    due_date: date
    reminders_sent: int
    last_reminder_on: date | None


@dataclass(frozen=True)
class QuerySnapshot:
    reference: str
    status: str
    subject: str
    text: str
    language: str
    received_on: date
    target_reply_date: date
    needs_manual_triage: bool
    requester_email: str | None
    consultations: tuple[ConsultationSnapshot, ...] = ()
    #: Messages of this query that could not be delivered: "reply to telegram:42: Forbidden: bot was blocked".
    undelivered: tuple[str, ...] = ()
    #: Departments asked to clear the draft that have not answered.
    clearances: tuple[ClearanceSnapshot, ...] = ()


@dataclass(frozen=True)
class DueAction:
    kind: str  # reminder, escalation, clearance reminder, warning, overdue, holding, digest
    key: str  # unique: the outbox dedupe key
    reference: str | None = None
    consultation_id: int | None = None
    department: str | None = None
    number: int = 0  # the reminder's number; for an escalation, how many reminders went unanswered
    detail: str = ""
    clearance_id: int | None = None


@dataclass(frozen=True)
class ChasePolicy:
    """The parts of the helpdesk policy that chasing needs, with the new options."""

    reminder_every_days: int = 3
    max_reminders: int = 2
    warn_days_before_target: int = 3
    holding_messages: bool = False
    digest_hour: int = 8
    calendar: DueDateCalendar = field(default_factory=DueDateCalendar)
    feedback_reminder_days: int = 0


#: A feedback reminder is not sent for a reply older than its due day plus this.
FEEDBACK_REMINDER_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class AwaitingFeedback:
    """An answered query whose requester has not rated the reply."""

    reference: str
    language: str
    channel: str  # email or telegram: where the reply went
    recipient: str
    replied_on: date


def feedback_reminders(waiting: list[AwaitingFeedback], days: int, today: date) -> list[DueAction]:
    """The feedback reminders due ``today`` (pure); none when ``days`` is 0."""
    if days <= 0:
        return []
    due = []
    for w in waiting:
        on = w.replied_on + timedelta(days=days)
        if on <= today <= on + FEEDBACK_REMINDER_WINDOW:
            due.append(DueAction("feedback reminder", f"feedback-reminder:{w.reference}", w.reference,
                                 detail=f"reply of {w.replied_on} not rated"))
    return due


def due_actions(queries: list[QuerySnapshot], policy: ChasePolicy, now: datetime) -> list[DueAction]:
    """Every action due at ``now``; already-done actions are filtered by their keys downstream."""
    today = now.date()
    actions: list[DueAction] = []
    every = timedelta(days=policy.reminder_every_days)
    for q in queries:
        if q.status not in _OPEN_VALUES:
            continue
        for c in q.consultations:
            if c.input_received or c.escalated or c.clearance_asked:
                continue
            if c.reminders_sent == 0:
                next_on = c.due_date + timedelta(days=1)
            else:
                next_on = (c.last_reminder_on or c.due_date) + every
            if today < next_on:
                continue
            if c.reminders_sent < policy.max_reminders:
                n = c.reminders_sent + 1
                actions.append(DueAction("reminder", f"reminder:{q.reference}:{c.department}:{n}", q.reference,
                                         c.id, c.department, n, f"input was due {c.due_date}"))
            else:
                actions.append(DueAction("escalation", f"escalation:{q.reference}:{c.department}", q.reference,
                                         c.id, c.department, c.reminders_sent,
                                         f"no input after {c.reminders_sent} reminder(s)"))
        for c in q.clearances:  # silence on a clearance is chased like a missing input (no escalation:
            # the specialist sees who is silent and may send anyway)
            next_on = c.due_date + timedelta(days=1) if c.reminders_sent == 0 else \
                (c.last_reminder_on or c.due_date) + every
            if today >= next_on and c.reminders_sent < policy.max_reminders:
                n = c.reminders_sent + 1
                actions.append(DueAction("clearance reminder", f"clearance-reminder:{q.reference}:{c.id}:{n}",
                                         q.reference, c.consultation_id, c.department, n,
                                         f"clearance was due {c.due_date}", clearance_id=c.id))
        target = q.target_reply_date
        if today >= target - timedelta(days=policy.warn_days_before_target) and today <= target:
            actions.append(DueAction("warning", f"warning:{q.reference}:{target}", q.reference,
                                     detail=f"reply due by {target}"))
        if today > target:
            actions.append(DueAction("overdue", f"overdue:{q.reference}:{target}", q.reference,
                                     detail=f"target {target} missed"))
            if policy.holding_messages and q.requester_email:
                actions.append(DueAction("holding", f"holding:{q.reference}:{target}", q.reference))
    if policy.calendar.is_working_day(today) and now.time() >= time(policy.digest_hour):
        actions.append(DueAction("digest", f"digest:{today.isoformat()}"))
    return actions


def _groups(session: Session, values: Iterable[Any]) -> list[list[Any]]:
    """``values`` in as few groups as one statement takes: all of them on PostgreSQL (one array parameter,
    so a digest's tens of thousands of ids are one read), ``CHUNK`` at a time elsewhere."""
    values = sorted(set(values))
    size = len(values) if session.get_bind().dialect.name == "postgresql" else CHUNK
    return [values[start:start + size] for start in range(0, len(values), size or 1)]


def _among(session: Session, column: Any, group: list[Any]) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, group, type_=ARRAY(column.type)))
    return column.in_(group)


def _iso_day(session: Session, column: ColumnElement[date]) -> ColumnElement[str]:
    """A date as the outbox keys spell it (2026-03-16), on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return cast(column, String)  # SQLite stores dates as ISO text


def _queued(session: Session, kind: str) -> ColumnElement[bool]:
    """Whether the query's ``kind:REF:TARGET`` action (warning, overdue, holding) is already in the outbox."""
    key = literal(f"{kind}:") + Query.reference + literal(":") + _iso_day(session, Query.target_reply_date)
    return exists().where(OutboxMessage.dedupe_key == key)


def _chase_due(reminders_sent: Any, due_date: Any, last_reminder_at: Any, today: date,
               every: timedelta) -> ColumnElement[bool]:
    """``due_actions``' next-chase rule in SQL: the day after the due date, then every ``every`` after the last.

    Always past the due date (reminders go out only after it, and due dates never move): the index range.
    """
    return and_(due_date < today,
                or_(reminders_sent == 0,
                    and_(last_reminder_at.is_(None), due_date <= today - every),
                    last_reminder_at < day_start(today - every + timedelta(days=1))))


def due_work(session: Session, chase: ChasePolicy, today: date) -> CompoundSelect:
    """The ids of the open queries with something due ``today`` that is not done yet.

    A superset of the queries ``due_actions`` would act on (it still decides): awaited inputs and clearances
    whose next chase has come, and targets in the warning window or missed whose notice is not queued. Each
    part starts from an index on what falls due, so the many open queries with nothing due are never read.
    """
    every = timedelta(days=chase.reminder_every_days)
    is_open = Query.status.in_(OPEN)
    inputs = (select(Consultation.query_id).join(Query, Query.id == Consultation.query_id)
              .where(Consultation.input_received_at.is_(None), Consultation.escalated_at.is_(None),
                     Consultation.query_open, is_open,
                     _chase_due(Consultation.reminders_sent, Consultation.due_date, Consultation.last_reminder_at,
                                today, every),
                     ~exists().where(Clearance.consultation_id == Consultation.id)))
    clearances = (select(Clearance.query_id).join(Query, Query.id == Clearance.query_id)
                  .where(Clearance.answered_at.is_(None), Clearance.reminders_sent < chase.max_reminders, is_open,
                         _chase_due(Clearance.reminders_sent, Clearance.due_date, Clearance.last_reminder_at,
                                    today, every)))
    warned_until = today + timedelta(days=chase.warn_days_before_target)  # the latest target warned about
    # One branch per notice, each with one NOT EXISTS: the database answers it with an anti-join probing
    # the outbox's key index for each query near or past its target (an OR of them would hash the outbox).
    notices = [
        select(Query.id).where(is_open, Query.target_reply_date >= today, Query.target_reply_date <= warned_until,
                               ~_queued(session, "warning")),
        select(Query.id).where(is_open, Query.target_reply_date < today, ~_queued(session, "overdue"))]
    if chase.holding_messages:
        # The requester's address is looked up for each query past its target (a subplan on the requester's
        # key): joined, the database misjudged how few queries lack the message and scanned every requester.
        has_email = select(Requester.email).where(Requester.id == Query.requester_id).scalar_subquery().is_not(None)
        notices.append(select(Query.id).where(is_open, Query.target_reply_date < today, has_email,
                                              ~_queued(session, "holding")))
    return union(inputs, clearances, *notices)


def snapshot(session: Session, ids: Iterable[int]) -> dict[int, QuerySnapshot]:
    """Snapshots of the queries ``ids``, by id in id order: a few set-based reads of the columns chasing uses."""
    rows, consultations, clearances, failed = [], {}, {}, {}
    for group in _groups(session, ids):
        rows += session.execute(
            select(Query.id, Query.reference, Query.status, Query.subject, func.substr(Query.text, 1, 1500),
                   Query.language, Query.received_at, Query.target_reply_date, Query.needs_manual_triage,
                   Requester.email)
            .join(Requester, Requester.id == Query.requester_id).where(_among(session, Query.id, group))).all()
        asked = exists().where(Clearance.consultation_id == Consultation.id)
        for c in session.execute(
                select(Consultation.query_id, Consultation.id, Consultation.department_code, Consultation.due_date,
                       Consultation.input_received_at.is_not(None), Consultation.reminders_sent,
                       Consultation.last_reminder_at, Consultation.escalated_at.is_not(None), asked)
                .where(_among(session, Consultation.query_id, group)).order_by(Consultation.id)):
            consultations.setdefault(c[0], []).append(ConsultationSnapshot(
                c[1], c[2], c[3], bool(c[4]), c[5], c[6].date() if c[6] else None, bool(c[7]), bool(c[8])))
        for c in session.execute(
                select(Clearance.query_id, Clearance.id, Consultation.department_code, Clearance.consultation_id,
                       Clearance.due_date, Clearance.reminders_sent, Clearance.last_reminder_at)
                .join(Consultation, Consultation.id == Clearance.consultation_id)
                .where(_among(session, Clearance.query_id, group), Clearance.answered_at.is_(None))
                .order_by(Clearance.id)):
            clearances.setdefault(c[0], []).append(ClearanceSnapshot(
                c[1], c[2], c[3], c[4], c[5], c[6].date() if c[6] else None))
        for o in session.execute(
                select(OutboxMessage.query_id, OutboxMessage.kind, OutboxMessage.channel, OutboxMessage.recipients,
                       OutboxMessage.last_error)
                .where(OutboxMessage.failed_at.is_not(None), _among(session, OutboxMessage.query_id, group))
                .order_by(OutboxMessage.id)):
            failed.setdefault(o.query_id, []).append(
                f"{o.kind.value} to {o.channel.value}:{', '.join(o.recipients)}: {(o.last_error or '')[:120]}")
    return {
        q.id: QuerySnapshot(q.reference, q.status.value, q.subject or q[4][:60], q[4], q.language,
                            q.received_at.date(), q.target_reply_date, q.needs_manual_triage, q.email,
                            tuple(consultations.get(q.id, ())), tuple(failed.get(q.id, ())),
                            tuple(clearances.get(q.id, ())))
        for q in sorted(rows, key=lambda r: r.id)
    }


def chase_policy(policy: HelpdeskPolicy) -> ChasePolicy:
    d = policy.deadlines
    return ChasePolicy(d.reminder_every_days, d.max_reminders, d.warn_days_before_target, d.holding_messages,
                       d.digest_hour, DueDateCalendar("working", d.holiday_country), d.feedback_reminder_days)


def awaiting_feedback(session: Session, days: int, today: date) -> list[AwaitingFeedback]:
    """Answered queries with no feedback whose reminder falls due ``today`` and is not queued yet.

    Those first replied to between ``days`` and ``days`` + two weeks ago: the reminder's window. Starts from
    the replies of that window (indexed by time), not from every query ever answered.
    """
    if days <= 0:
        return []
    since = day_start(today - timedelta(days=days) - FEEDBACK_REMINDER_WINDOW)
    until = day_start(today - timedelta(days=days - 1))
    earlier = aliased(Reply)
    first_reply = (select(Reply.query_id, func.min(Reply.created_at).label("at"))
                   .where(Reply.created_at >= since, Reply.created_at < until,
                          ~exists().where(earlier.query_id == Reply.query_id, earlier.created_at < since))
                   .group_by(Reply.query_id).subquery())
    reminded = exists().where(OutboxMessage.dedupe_key == literal("feedback-reminder:") + Query.reference)
    rows = session.execute(
        select(Query.reference, Query.language, Query.channel, Requester.telegram_chat_id, Requester.email,
               first_reply.c.at)
        .join(first_reply, first_reply.c.query_id == Query.id).join(Requester, Requester.id == Query.requester_id)
        .where(Query.status.in_([QueryStatus.ANSWERED, QueryStatus.CLOSED]),
               ~exists().where(Feedback.query_id == Query.id), ~reminded)
        .order_by(Query.id)).all()
    waiting = []
    for reference, language, channel, chat_id, email, replied in rows:
        if channel is Channel.TELEGRAM and chat_id is not None:
            waiting.append(AwaitingFeedback(reference, language, "telegram", str(chat_id), replied.date()))
        elif email:
            waiting.append(AwaitingFeedback(reference, language, "email", email, replied.date()))
    return waiting


def poor_ratings(session: Session, now: datetime) -> list[str]:
    """The ratings of 1 or 2 received in the last day, for the digest."""
    rows = session.execute(select(Query.reference, Feedback.rating, Feedback.comment)
                           .join(Feedback, Feedback.query_id == Query.id)
                           .where(Feedback.rating <= 2, Feedback.received_at >= now - timedelta(days=1))
                           .order_by(Feedback.id)).all()
    return [f"{reference} rated {rating}/5" + (f": {' '.join(comment.split())[:200]}" if comment else "")
            for reference, rating, comment in rows]


def _already_queued(session: Session, keys: Iterable[str]) -> set[str]:
    return {key for group in _groups(session, keys) for key in session.scalars(
        select(OutboxMessage.dedupe_key).where(_among(session, OutboxMessage.dedupe_key, group)))}


def chase_overdue_work(session: Session, policy: HelpdeskPolicy, chase: ChasePolicy,
                       now: datetime) -> list[DueAction]:
    """Queue every due action once; returns the actions newly queued."""
    today = now.date()
    if session.get_bind().dialect.name == "postgresql":
        # The planner cannot know that few open queries are near their target (it sees the dates of all
        # queries), overestimates, and would compile the tick's small reads (JIT): slower than running them.
        session.execute(text("SET LOCAL jit = off"))
    digest_keys = [a.key for a in due_actions([], chase, now) if a.kind == "digest"]
    digest_due = bool(digest_keys) and not _already_queued(session, digest_keys)
    due_ids = set(session.scalars(due_work(session, chase, today)))
    listed_ids, totals = digest_listing(session, today) if digest_due else (set(), {})
    snapshots = snapshot(session, due_ids | listed_ids)
    actions = due_actions([s for i, s in snapshots.items() if i in due_ids], chase, now)
    waiting = {w.reference: w for w in awaiting_feedback(session, chase.feedback_reminder_days, today)}
    actions += feedback_reminders(list(waiting.values()), chase.feedback_reminder_days, today)
    existing = _already_queued(session, [a.key for a in actions])
    actions = [a for a in actions if a.key not in existing]
    listed = list(snapshots.values())
    by_reference = {q.reference: q for q in listed}
    query_ids = {reference: i for group in _groups(session, {a.reference for a in actions if a.reference})
                 for reference, i in session.execute(select(Query.reference, Query.id)
                                                     .where(_among(session, Query.reference, group)))}
    done: list[DueAction] = []
    # What the tick writes goes in by one bulk insert per table (a first tick of the day queues thousands).
    outbox, events, reminded, escalated, cleared = [], [], [], [], []  # rows; consultations and clearances by id

    def send(key: str, channel: Channel, recipients: list[str], subject: str, body: str, kind: OutboxKind,
             query_id: int | None, consultation_id: int | None = None) -> None:
        outbox.append(dict(query_id=query_id, consultation_id=consultation_id, **outbox_values(
            dedupe_key=key, kind=kind, channel=channel, recipients=recipients, subject=subject, body=body,
            now=now, domain=policy.domain)))

    for action in actions:
        query_id = query_ids.get(action.reference) if action.reference else None
        if action.kind == "feedback reminder":
            w = waiting[action.reference]
            subject, body = feedback_reminder(w.language, w.reference, policy.name, telegram=w.channel == "telegram")
            channel = Channel.TELEGRAM if w.channel == "telegram" else Channel.EMAIL  # the reply's channel
            send(action.key, channel, [w.recipient], subject if channel is Channel.EMAIL else w.reference, body,
                 OutboxKind.FEEDBACK, query_id)
            events.append(dict(query_id=query_id, at=now, kind=action.kind, detail=action.detail, actor="scheduler"))
            done.append(action)
            continue
        digest = action.kind == "digest"
        message = compose(action, policy, by_reference, listed, now, poor=poor_ratings(session, now) if digest else (),
                          erased=erased_since_last_digest(session, now) if digest else (), totals=totals)
        if message is None:
            continue
        send(action.key, Channel.EMAIL, message.recipients, message.subject, message.body, message.kind, query_id,
             action.consultation_id or None)
        if policy.specialist_chats and action.kind in ("escalation", "overdue", "digest"):
            for chat in policy.specialist_chats:
                send(f"{action.key}:tg:{chat}", Channel.TELEGRAM, [str(chat)], message.subject,
                     f"{message.subject}\n\n{message.body}", message.kind, query_id)
        if action.consultation_id and action.kind == "reminder":
            reminded.append((action.consultation_id, action.number))
        if action.consultation_id and action.kind == "escalation":
            escalated.append(action.consultation_id)
        if action.clearance_id is not None:
            cleared.append((action.clearance_id, action.number))
        if query_id is not None:
            events.append(dict(query_id=query_id, at=now, kind=action.kind, actor="scheduler",
                               detail=f"{action.department or ''} {action.detail}".strip()))
        done.append(action)
    insert_rows(session, OutboxMessage.__table__, outbox)
    insert_rows(session, QueryEvent.__table__, events)
    for table, counts in ((Consultation.__table__, reminded), (Clearance.__table__, cleared)):
        update_rows(session, table, [row for row, _ in counts], {"reminders_sent": [sent for _, sent in counts]},
                    last_reminder_at=now)
    update_rows(session, Consultation.__table__, escalated, escalated_at=now)
    return done
