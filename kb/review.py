"""The specialist's side of a query: correct topics, edit and send the reply,
record feedback, and turn a good answer into a new Q&A.

Each function is one unit of work called through ``HelpdeskService``; the CLI
and the bot only translate a command or a button into one of these calls.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import (
    OPEN_STATUSES,
    QA,
    Channel,
    Direction,
    Feedback,
    Message,
    OutboxKind,
    QAOrigin,
    Query,
    QueryStatus,
    QueryTopic,
    Reply,
    TopicSource,
)
from kb.outbox import queue

FEEDBACK_REQUEST = {
    "en": "Was this reply useful? Reply to this message with a mark from 1 (not at all) to 5 (very), and any comment.",
    "fr": "Cette réponse vous a-t-elle été utile ? Répondez à ce message avec une note de 1 (pas du tout) à 5 "
          "(tout à fait), et vos commentaires.",
    "es": "¿Le resultó útil esta respuesta? Responda a este mensaje con una nota de 1 (nada) a 5 (mucho) y sus "
          "comentarios.",
}


class ReviewError(ValueError):
    """The action does not fit the query's state (e.g. sending twice); the message says why."""


def correct_topics(service, session: Session, query: Query, codes: list[str], actor: str, now: datetime) -> list[str]:
    """Set the query's topics as the specialist decided; consult any newly concerned department.

    Returns the departments newly consulted. The decision is recorded per topic
    (kept, removed, added), which is what retraining learns from.
    """
    unknown = [c for c in codes if c not in service.policy.topics]
    if unknown:
        raise ReviewError(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(service.policy.topics)}")
    if not codes:
        raise ReviewError("a query needs at least one topic")
    existing = {t.topic_code: t for t in query.topics}
    for code, row in existing.items():
        row.confirmed = code in codes
    for code in codes:
        if code not in existing:
            session.add(QueryTopic(query=query, topic_code=code, confidence=None, source=TopicSource.SPECIALIST,
                                   confirmed=True))
    query.needs_manual_triage = False
    service.record_event(session, query, "topics set", ", ".join(codes), at=now, actor=actor)
    consulted = {c.department_code for c in query.consultations}
    wanted: list[str] = []
    for code in codes:
        for dep in service.policy.topics[code].departments:
            if dep not in wanted:
                wanted.append(dep)
    wanted += [d for d in service.policy.always_consult if d not in wanted]
    added = [d for d in wanted if d not in consulted]
    due = service.calendar.add_days(now.date(), service.policy.deadlines.input_due_days)
    names = [service.policy.topics[c].name() for c in codes]
    for dep in added:
        service.consult(session, query, dep, "topics set by the specialist", due, names, now)
    if added:
        service.record_event(session, query, "routed", ", ".join(f"{d} (due {due})" for d in added), at=now,
                             actor=actor)
        if query.status in (QueryStatus.NEW, QueryStatus.DRAFT_READY):
            query.status = QueryStatus.ROUTED
    return added


def edit_draft(service, session: Session, query: Query, text: str, actor: str, now: datetime) -> None:
    if not text.strip():
        raise ReviewError("the draft cannot be empty")
    if not query.drafts:
        raise ReviewError(f"{query.reference} has no draft to edit")
    query.drafts[-1].edited_text = text.strip()
    service.record_event(session, query, "draft edited", f"{len(text.strip())} characters", at=now, actor=actor)


def send_reply(service, session: Session, query: Query, actor: str, now: datetime, text: str | None = None) -> Reply:
    """Approve the draft (or the given text) and queue it to the requester on the query's channel."""
    if query.status not in OPEN_STATUSES:
        raise ReviewError(f"{query.reference} is {query.status.value}: its reply was already sent")
    draft = query.drafts[-1] if query.drafts else None
    body = (text or (draft.edited_text or draft.text if draft else "")).strip()
    if not body:
        raise ReviewError(f"{query.reference} has no reply text to send")
    reply = Reply(query_id=query.id, draft_id=draft.id if draft else None, text=body, sent_by=actor, created_at=now)
    session.add(reply)
    if draft is not None:
        draft.approved_by, draft.approved_at = actor, now
    full = f"{body}\n\n{FEEDBACK_REQUEST.get(query.language, FEEDBACK_REQUEST['en'])}"
    requester = query.requester
    subject = f"Re: [{query.reference}] {query.subject or ''}".strip()
    if query.channel is Channel.TELEGRAM and requester.telegram_chat_id is not None:
        queue(session, dedupe_key=f"reply:{query.reference}", kind=OutboxKind.REPLY, channel=Channel.TELEGRAM,
              recipients=[str(requester.telegram_chat_id)], subject=query.reference,
              body=full if query.reference in body else f"{query.reference}\n\n{full}", now=now,
              domain=service.policy.domain, query=query)
    elif requester.email:
        first_in = session.scalar(select(Message).where(Message.query_id == query.id, Message.direction == Direction.IN)
                                  .order_by(Message.id).limit(1))
        headers = {"In-Reply-To": first_in.email_message_id} if first_in and first_in.email_message_id else {}
        queue(session, dedupe_key=f"reply:{query.reference}", kind=OutboxKind.REPLY, channel=Channel.EMAIL,
              recipients=[requester.email], subject=subject, body=full, now=now, domain=service.policy.domain,
              query=query, headers=headers)
    else:
        raise ReviewError(f"{query.reference} has no email address or Telegram chat to reply to")
    query.status, query.answered_at = QueryStatus.ANSWERED, now
    service.record_event(session, query, "reply approved", f"{len(body)} characters", at=now, actor=actor)
    return reply


def record_feedback(service, session: Session, query: Query, rating: int | None, comment: str | None,
                    now: datetime) -> None:
    if rating is not None and not 1 <= rating <= 5:
        raise ReviewError("a rating goes from 1 to 5")
    session.add(Feedback(query_id=query.id, rating=rating, comment=(comment or "").strip() or None, received_at=now))
    service.record_event(session, query, "feedback", f"rating {rating if rating is not None else '-'}", at=now,
                         actor="requester")


def promote_to_qa(service, session: Session, query: Query, actor: str, now: datetime,
                  question: str | None = None, answer: str | None = None) -> QA:
    """Make the answered query a new Q&A: the matcher and the classifier use it from now on."""
    if query.status not in (QueryStatus.ANSWERED, QueryStatus.CLOSED):
        raise ReviewError(f"{query.reference} is not answered yet: promote it after the reply is sent")
    reply = session.scalar(select(Reply).where(Reply.query_id == query.id).order_by(Reply.id.desc()).limit(1))
    topics = [t.topic_code for t in query.topics if t.confirmed is not False]
    key = f"promoted-{query.reference.lower()}"
    existing = session.scalar(select(QA).where(QA.key == key))
    if existing is not None:
        return existing
    qa = QA(key=key, question=(question or query.text).strip(), answer=(answer or (reply.text if reply else "")).strip(),
            topics=topics, language=query.language, origin=QAOrigin.PROMOTED, source_query_id=query.id,
            published=True, created_at=now, updated_at=now)
    if not qa.answer:
        raise ReviewError(f"{query.reference} has no reply text to make an answer from")
    session.add(qa)
    for t in query.topics:  # a promoted answer confirms its topics
        if t.confirmed is None:
            t.confirmed = True
    service.record_event(session, query, "promoted to Q&A", key, at=now, actor=actor)
    return qa
