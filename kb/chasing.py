"""Chasing overdue work: which reminders, warnings and digests are due at an instant.

``due_actions`` is pure: plain snapshots of the open queries and one instant in,
the list of actions due out, so every rule is tested at fixed instants without
sleeping. ``chase_overdue_work`` takes a snapshot from the store, queues each
action in the outbox under a stable key, and records it; the outbox sends it.
A scheduler only has to call it regularly: since each action's key is unique,
calling it twice, or after a restart, never sends anything twice, and since
the rules look at what was *sent*, a restart after a long stop still sends what
fell due meanwhile (once, and the next reminder follows the cadence from then).

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
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from kb.calendar import DueDateCalendar
from kb.chase_messages import compose, feedback_reminder
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
)
from kb.outbox import queue
from kb.policy import HelpdeskPolicy



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
        if q.status not in {s.value for s in OPEN_STATUSES}:
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


def snapshot(session: Session) -> list[QuerySnapshot]:
    rows = list(session.scalars(select(Query).where(Query.status.in_(OPEN_STATUSES)).order_by(Query.id)))
    failed: dict[int, list[str]] = {}
    if rows:
        for o in session.scalars(select(OutboxMessage).where(OutboxMessage.failed_at.is_not(None),
                                                             OutboxMessage.query_id.in_([q.id for q in rows]))
                                 .order_by(OutboxMessage.id)):
            failed.setdefault(o.query_id, []).append(
                f"{o.kind.value} to {o.channel.value}:{', '.join(o.recipients)}: {(o.last_error or '')[:120]}")
    return [
        QuerySnapshot(
            q.reference, q.status.value, q.subject or q.text[:60], q.text[:1500], q.language, q.received_at.date(),
            q.target_reply_date, q.needs_manual_triage, q.requester.email,
            tuple(ConsultationSnapshot(c.id, c.department_code, c.due_date, c.input_received_at is not None,
                                       c.reminders_sent, c.last_reminder_at.date() if c.last_reminder_at else None,
                                       c.escalated_at is not None,
                                       any(x.consultation_id == c.id for x in q.clearances))
                  for c in q.consultations),
            tuple(failed.get(q.id, ())),
            tuple(ClearanceSnapshot(c.id, c.consultation.department_code, c.consultation_id, c.due_date,
                                    c.reminders_sent, c.last_reminder_at.date() if c.last_reminder_at else None)
                  for c in q.clearances if c.answered_at is None),
        )
        for q in rows
    ]


def chase_policy(policy: HelpdeskPolicy) -> ChasePolicy:
    d = policy.deadlines
    return ChasePolicy(d.reminder_every_days, d.max_reminders, d.warn_days_before_target, d.holding_messages,
                       d.digest_hour, DueDateCalendar("working", d.holiday_country), d.feedback_reminder_days)


def awaiting_feedback(session: Session, days: int, today: date) -> list[AwaitingFeedback]:
    """Answered queries replied to in the reminder's window, with no feedback yet."""
    if days <= 0:
        return []
    since = datetime.combine(today - timedelta(days=days) - FEEDBACK_REMINDER_WINDOW, time(), tzinfo=timezone.utc)
    first_reply = (select(Reply.query_id, func.min(Reply.created_at).label("at")).group_by(Reply.query_id)
                   .subquery())
    rows = session.execute(
        select(Query, first_reply.c.at).join(first_reply, first_reply.c.query_id == Query.id)
        .where(Query.status.in_([QueryStatus.ANSWERED, QueryStatus.CLOSED]), first_reply.c.at >= since,
               ~exists().where(Feedback.query_id == Query.id))
        .order_by(Query.id)).all()
    waiting = []
    for q, replied in rows:
        requester = q.requester
        if q.channel is Channel.TELEGRAM and requester.telegram_chat_id is not None:
            waiting.append(AwaitingFeedback(q.reference, q.language, "telegram", str(requester.telegram_chat_id),
                                            replied.date()))
        elif requester.email:
            waiting.append(AwaitingFeedback(q.reference, q.language, "email", requester.email, replied.date()))
    return waiting


def poor_ratings(session: Session, now: datetime) -> list[str]:
    """The ratings of 1 or 2 received in the last day, for the digest."""
    rows = session.execute(select(Query.reference, Feedback.rating, Feedback.comment)
                           .join(Feedback, Feedback.query_id == Query.id)
                           .where(Feedback.rating <= 2, Feedback.received_at >= now - timedelta(days=1))
                           .order_by(Feedback.id)).all()
    return [f"{reference} rated {rating}/5" + (f": {' '.join(comment.split())[:200]}" if comment else "")
            for reference, rating, comment in rows]


def chase_overdue_work(session: Session, policy: HelpdeskPolicy, chase: ChasePolicy,
                       now: datetime) -> list[DueAction]:
    """Queue every due action once; returns the actions newly queued."""
    done: list[DueAction] = []
    open_queries = snapshot(session)
    actions = due_actions(open_queries, chase, now)
    waiting = {w.reference: w for w in awaiting_feedback(session, chase.feedback_reminder_days, now.date())}
    actions += feedback_reminders(list(waiting.values()), chase.feedback_reminder_days, now.date())
    by_reference = {q.reference: q for q in open_queries}
    keys = [a.key for a in actions]
    existing = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))) \
        if keys else set()
    for action in actions:
        if action.key in existing:
            continue
        query = session.scalar(select(Query).where(Query.reference == action.reference)) \
            if action.reference else None
        if action.kind == "feedback reminder":
            _remind_feedback(session, policy, waiting[action.reference], query, action, now)
            done.append(action)
            continue
        message = compose(action, policy, by_reference, open_queries, now,
                          poor=poor_ratings(session, now) if action.kind == "digest" else ())
        if message is None:
            continue
        consultation = session.get(Consultation, action.consultation_id) if action.consultation_id else None
        queue(session, dedupe_key=action.key, kind=message.kind, channel=Channel.EMAIL,
              recipients=message.recipients, subject=message.subject, body=message.body, now=now,
              domain=policy.domain, query=query, consultation=consultation, fresh=True,
              headers={"Auto-Submitted": "auto-generated"})
        if policy.specialist_chats and action.kind in ("escalation", "overdue", "digest"):
            for chat in policy.specialist_chats:
                queue(session, dedupe_key=f"{action.key}:tg:{chat}", kind=message.kind, channel=Channel.TELEGRAM,
                      recipients=[str(chat)], subject=message.subject, body=f"{message.subject}\n\n{message.body}",
                      now=now, domain=policy.domain, query=query, fresh=True)
        if consultation is not None and action.kind == "reminder":
            consultation.reminders_sent, consultation.last_reminder_at = action.number, now
        if consultation is not None and action.kind == "escalation":
            consultation.escalated_at = now
        if action.clearance_id is not None:
            clearance = session.get(Clearance, action.clearance_id)
            clearance.reminders_sent, clearance.last_reminder_at = action.number, now
        if query is not None:
            session.add(QueryEvent(query=query, at=now, kind=action.kind,
                                   detail=f"{action.department or ''} {action.detail}".strip(), actor="scheduler"))
        done.append(action)
    return done


def _remind_feedback(session: Session, policy: HelpdeskPolicy, waiting: AwaitingFeedback, query: Query,
                     action: DueAction, now: datetime) -> None:
    """Ask once more, on the reply's channel (Telegram: the bot adds the rating buttons)."""
    subject, body = feedback_reminder(waiting.language, waiting.reference, policy.name,
                                      telegram=waiting.channel == "telegram")
    channel = Channel.TELEGRAM if waiting.channel == "telegram" else Channel.EMAIL
    queue(session, dedupe_key=action.key, kind=OutboxKind.FEEDBACK, channel=channel, recipients=[waiting.recipient],
          subject=subject if channel is Channel.EMAIL else waiting.reference, body=body, now=now,
          domain=policy.domain, query=query, fresh=True, headers={"Auto-Submitted": "auto-generated"})
    session.add(QueryEvent(query=query, at=now, kind=action.kind, detail=action.detail, actor="scheduler"))
