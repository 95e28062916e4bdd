"""The specialist's side of a query: correct topics, edit and send the reply,
record feedback, and turn a good answer into a draft Q&A, then publish it.

Each function works inside the unit of work that ``HelpdeskService`` opened;
the CLI, the bot and the console only translate a command or a button into one
service call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import lifecycle
from kb.models import (
    OPEN_STATUSES,
    QA,
    QAVersion,
    Channel,
    Direction,
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
from kb.triage import route

#: Asked at the end of every reply, in the query's language; the channel decides how to answer.
FEEDBACK_REQUEST = {
    Channel.EMAIL: {
        "en": "Was this reply useful? Reply to this message with a mark from 1 (not at all) to 5 (very), or "
              "simply \"useful\", \"partly\" or \"not useful\", and any comment.",
        "fr": "Cette réponse vous a-t-elle été utile ? Répondez à ce message avec une note de 1 (pas du tout) à 5 "
              "(tout à fait), et vos commentaires.",
        "es": "¿Le resultó útil esta respuesta? Responda a este mensaje con una nota de 1 (nada) a 5 (mucho) y sus "
              "comentarios.",
    },
    Channel.TELEGRAM: {
        "en": "Was this reply useful? Tap your answer below.",
        "fr": "Cette réponse vous a-t-elle été utile ? Touchez votre réponse ci-dessous.",
        "es": "¿Le resultó útil esta respuesta? Toque su respuesta abajo.",
    },
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
    if query.status not in OPEN_STATUSES:
        raise ReviewError(f"{query.reference} is {lifecycle.label(query.status)}: reopen it to change its topics")
    existing = {t.topic_code: t for t in query.topics}
    for code, row in existing.items():
        row.confirmed = code in codes
    for code in codes:
        if code not in existing:
            session.add(QueryTopic(query=query, topic_code=code, confidence=None, source=TopicSource.SPECIALIST,
                                   confirmed=True))
    service.record_event(session, query, "topics set", ", ".join(codes), at=now, actor=actor)
    if query.status is QueryStatus.HELD:
        return []  # consulted when the specialist releases it
    routes = route(codes, service.policy, now.date(), service.calendar, why="topic {code} set by the specialist")
    names = [service.policy.topics[c].name() for c in codes]
    added = service.consult_routes(session, query, routes, names, now, actor=actor)
    if not added and query.status is QueryStatus.MANUAL_TRIAGE:
        lifecycle.transition(session, query, QueryStatus.ROUTED, at=now, actor=actor,
                             reason="topics set; every department concerned was already consulted")
    return added


def edit_draft(service, session: Session, query: Query, text: str, actor: str, now: datetime) -> None:
    if not text.strip():
        raise ReviewError("the draft cannot be empty")
    if not query.drafts:
        raise ReviewError(f"{query.reference} has no draft to edit")
    query.drafts[-1].edited_text = text.strip()
    service.record_event(session, query, "draft edited", f"{len(text.strip())} characters", at=now, actor=actor)


def send_reply(service, session: Session, query: Query, actor: str, now: datetime, text: str | None = None, *,
               without_clearance: str | None = None) -> Reply:
    """Approve the draft (or the given text) and queue it to the requester on the query's channel.

    Every approved reply is its own outbox row: a second reply after the
    requester wrote again reaches them too, exactly once.
    """
    if query.status not in OPEN_STATUSES:
        raise ReviewError(f"{query.reference} is {lifecycle.label(query.status)}: its reply was already sent")
    from kb.clearance import not_cleared

    draft = query.drafts[-1] if query.drafts else None
    body = (text or (draft.edited_text or draft.text if draft else "")).strip()
    if not body:
        raise ReviewError(f"{query.reference} has no reply text to send")
    waiting = not_cleared(query, body)
    if waiting and not (without_clearance or "").strip():
        raise ReviewError(f"{query.reference} is not cleared ({'; '.join(waiting)}): send when they agree this "
                          "text, or send anyway with a reason")
    if waiting:
        service.record_event(session, query, "sent without full clearance",
                             f"{'; '.join(waiting)}: {without_clearance.strip()}", at=now, actor=actor)
    requester = query.requester
    channel = Channel.TELEGRAM if query.channel is Channel.TELEGRAM and requester.telegram_chat_id is not None \
        else Channel.EMAIL
    if channel is Channel.EMAIL and not requester.email:
        raise ReviewError(f"{query.reference} has no email address or Telegram chat to reply to")
    reply = Reply(query_id=query.id, draft_id=draft.id if draft else None, text=body, sent_by=actor, created_at=now)
    session.add(reply)
    session.flush()
    if draft is not None:
        draft.approved_by, draft.approved_at = actor, now
    ask = FEEDBACK_REQUEST[channel]
    full = f"{body}\n\n{ask.get(query.language, ask['en'])}"
    key = f"reply:{query.reference}:{reply.id}"
    if channel is Channel.TELEGRAM:
        queue(session, dedupe_key=key, kind=OutboxKind.REPLY, channel=Channel.TELEGRAM,
              recipients=[str(requester.telegram_chat_id)], subject=query.reference,
              body=full if query.reference in body else f"{query.reference}\n\n{full}", now=now,
              domain=service.policy.domain, query=query, fresh=True)
    else:
        first_in = session.scalar(select(Message).where(Message.query_id == query.id, Message.direction == Direction.IN)
                                  .order_by(Message.id).limit(1))
        headers = {"In-Reply-To": first_in.email_message_id} if first_in and first_in.email_message_id else {}
        queue(session, dedupe_key=key, kind=OutboxKind.REPLY, channel=Channel.EMAIL, recipients=[requester.email],
              subject=f"Re: [{query.reference}] {query.subject or ''}".strip(), body=full, now=now,
              domain=service.policy.domain, query=query, headers=headers, fresh=True)
    service.record_event(session, query, "reply approved", f"{len(body)} characters by {channel.value}", at=now,
                         actor=actor)
    lifecycle.transition(session, query, QueryStatus.ANSWERED, at=now, actor=actor, reason="reply approved")
    return reply


def promote_to_qa(service, session: Session, query: Query, actor: str, now: datetime, *,
                  override_confidential: str | None = None) -> QA:
    """Turn the answered query into an anonymised *draft* Q&A, for the specialist to edit and publish.

    Names, organisations, addresses, phone numbers, email addresses, references
    and the salutation are taken out of both the question and the answer. A
    confidential query is promoted only with an explicit override reason, which
    is kept in the history. Nothing is published here: see ``publish_qa``.
    """
    from kb.anonymise import anonymise

    if query.status not in (QueryStatus.ANSWERED, QueryStatus.CLOSED):
        raise ReviewError(f"{query.reference} is not answered yet: promote it after the reply is sent")
    if query.confidential and not (override_confidential or "").strip():
        raise ReviewError(f"{query.reference} is confidential: promoting it needs an explicit override and its "
                          "reason")
    key = f"promoted-{query.reference.lower()}"
    existing = session.scalar(select(QA).where(QA.key == key))
    if existing is not None:
        return existing
    reply = session.scalar(select(Reply).where(Reply.query_id == query.id).order_by(Reply.id.desc()).limit(1))
    if reply is None:
        raise ReviewError(f"{query.reference} has no reply text to make an answer from")
    requester = query.requester
    people = [n for n in (requester.name, *(fp.name for d in service.policy.departments.values()
                                            for fp in d.focal_points)) if n]
    known = dict(names=people, organisations=[o for o in (requester.organisation,) if o],
                 references=[query.reference])
    question, answer = anonymise(query.text, **known), anonymise(reply.text, **known)
    topics = [t.topic_code for t in query.topics if t.confirmed is not False]
    qa = QA(key=key, topics=topics, language=query.language, origin=QAOrigin.PROMOTED, source_query_id=query.id,
            published=False, edited_by=actor, created_at=now, updated_at=now)
    qa.versions = [QAVersion(language=query.language, question=question.text, answer=answer.text, updated_at=now)]
    session.add(qa)
    for t in query.topics:  # a promoted answer confirms its topics
        if t.confirmed is None:
            t.confirmed = True
    removed = sorted(set(question.removed) | set(answer.removed))
    if query.confidential:
        service.record_event(session, query, "confidential override", override_confidential.strip(), at=now,
                             actor=actor)
    service.record_event(session, query, "promoted to draft Q&A",
                         f"{key}; removed: {', '.join(removed) or 'nothing'}; publish it after review", at=now,
                         actor=actor)
    return qa


def publish_qa(service, session: Session, key: str, actor: str, now: datetime, *, question: str | None = None,
               answer: str | None = None) -> QA:
    """Publish a draft Q&A (or put a withdrawn one back), with the specialist's final wording of its original
    version; the matcher and /faq use it from now on."""
    from kb import qa_bank

    qa = qa_bank.find_qa(session, key)
    if qa.published:
        raise ReviewError(f"Q&A {key} is already published")
    original = qa.original
    if question is not None or answer is not None:
        qa_bank.edit_qa(qa, actor=actor, now=now, languages=service.policy.languages,
                        topic_codes=service.policy.topic_codes, language=original.language,
                        question=original.question if question is None else question,
                        answer=original.answer if answer is None else answer)
    try:
        qa_bank.publish(qa, actor=actor, now=now)
    except qa_bank.QAError as exc:
        raise ReviewError(str(exc)) from None
    if qa.source_query_id is not None:
        service.record_event(session, session.get(Query, qa.source_query_id), "Q&A published", key, at=now,
                             actor=actor)
    return qa
