"""What an inbound email means for the helpdesk: a new query, a follow-up, a
focal point's input, an automatic message, a duplicate, or something to quarantine.

The email adapter parses bytes into an ``InboundEmail`` (a plain value) and
calls ``receive_email`` once per message. Everything decided here, including
the raw bytes, is stored in one transaction; the adapter marks the message
done on the server only after that commit. Calling it again for the same
mailbox UID, or for another copy of the same Message-ID, changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import lifecycle
from kb.intake import QueryRejectedError, QuerySubmission, check_submission
from kb.models import (
    Attachment,
    Channel,
    Consultation,
    Direction,
    FocalPointInput,
    Message,
    OutboxKind,
    OutboxMessage,
    Query,
    QueryStatus,
    RawEmail,
)
from kb.notices import rejection
from kb.outbox import queue

log = logging.getLogger(__name__)

REFERENCE_TAG = re.compile(r"\[([A-Z]{2,6}-\d{4}-\d{4,})\]")
NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster)@", re.IGNORECASE)


class Outcome(str, enum.Enum):
    QUERY = "query"
    FOLLOW_UP = "follow_up"
    FEEDBACK = "feedback"
    INPUT = "input"
    AUTOMATIC = "automatic"
    BOUNCE = "bounce"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    ALREADY_DONE = "already_done"


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundEmail:
    """One email as the adapter parsed it. ``quarantine_reason`` is set when it cannot be trusted."""

    raw: bytes
    mailbox: str = "INBOX"
    uidvalidity: int | None = None
    uid: int | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    sender: str | None = None
    sender_name: str | None = None
    subject: str | None = None
    text: str = ""
    new_text: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    automatic: str | None = None  # "auto-reply", "bounce" or "bulk"
    bounced_message_ids: tuple[str, ...] = ()
    quarantine_reason: str | None = None


@dataclass(frozen=True)
class InboundResult:
    outcome: Outcome
    reference: str | None = None
    detail: str = ""


def receive(service, session: Session, email: InboundEmail) -> InboundResult:
    """Decide and store what one inbound email means, in the caller's unit of work; safe to repeat."""
    now = service.clock()
    if email.uid is not None:
        done = session.scalar(select(RawEmail).where(RawEmail.mailbox == email.mailbox,
                                                     RawEmail.uidvalidity == email.uidvalidity,
                                                     RawEmail.uid == email.uid))
        if done is not None:
            return InboundResult(Outcome.ALREADY_DONE, detail=f"uid {email.uid} was handled as {done.outcome}")
    raw = RawEmail(mailbox=email.mailbox, uidvalidity=email.uidvalidity, uid=email.uid,
                   message_id_header=email.message_id, received_at=now, raw=email.raw, outcome="pending")
    session.add(raw)

    def finish(outcome: Outcome, reference: str | None = None, detail: str = "") -> InboundResult:
        raw.outcome, raw.reason = outcome.value, detail or None
        log.info("email %s uid=%s: %s %s", email.mailbox, email.uid if email.uid is not None else "-",
                 outcome.value, reference or "")
        return InboundResult(outcome, reference, detail)

    if email.quarantine_reason:
        return finish(Outcome.QUARANTINED, detail=email.quarantine_reason)
    if email.message_id and _seen_message_id(session, email.message_id, raw):
        return finish(Outcome.DUPLICATE, detail=f"{email.message_id} was already received")
    if email.automatic == "bounce":
        return finish(Outcome.BOUNCE, *_bounce(service, session, email, now))
    if email.automatic:
        query = _thread(session, email)[0]
        if query is not None:
            _store_message(session, email, query, now)
        return finish(Outcome.AUTOMATIC, query.reference if query else None,
                      f"{email.automatic}: recorded, not answered")

    query, replied_to = _thread(session, email)
    if query is not None:
        message = _store_message(session, email, query, now)
        raw.message = message
        consultation = _consultation_for(service, session, query, replied_to, email.sender)
        if consultation is not None:
            _record_input(service, session, query, consultation, email, message, now)
            return finish(Outcome.INPUT, query.reference, f"input from {consultation.department_code}")
        result = _record_follow_up(service, session, query, email, now)
        if result.outcome.value == "rating":
            return finish(Outcome.FEEDBACK, query.reference, f"rating {result.rating}")
        return finish(Outcome.FOLLOW_UP, query.reference, result.outcome.value)

    submission = QuerySubmission(
        text=email.new_text or email.text, channel=Channel.EMAIL, subject=email.subject, email=email.sender,
        name=email.sender_name, received_at=now,
        source_key=email.message_id or "sha256:" + hashlib.sha256(email.raw).hexdigest(),
    )
    try:
        checked = check_submission(submission, service.detector, service.countries)
    except QueryRejectedError as exc:
        if email.sender and not NO_REPLY.match(email.sender):
            notice = rejection(str(exc), helpdesk=service.policy.name, subject=email.subject)
            queue(session, dedupe_key=f"rejection:{submission.source_key}", kind=OutboxKind.REPLY,
                  channel=Channel.EMAIL, recipients=[email.sender], subject=notice.subject, body=notice.body,
                  now=now, domain=service.policy.domain,
                  headers={"Auto-Submitted": "auto-replied", **({"In-Reply-To": email.message_id}
                                                                 if email.message_id else {})})
        return finish(Outcome.REJECTED, detail=str(exc))
    query = service.receive_checked(session, checked, in_reply_to=email.message_id)
    message = query.messages[0]
    message.email_message_id, message.body = email.message_id, email.text or message.body
    _store_attachments(session, email, message)
    raw.message = message
    return finish(Outcome.QUERY, query.reference)


def _seen_message_id(session: Session, message_id: str, current: RawEmail) -> bool:
    stmt = select(RawEmail.id).where(RawEmail.message_id_header == message_id, RawEmail.outcome != "quarantined")
    return any(row != current.id for row in session.scalars(stmt) if row is not None)


def _thread(session: Session, email: InboundEmail) -> tuple[Query | None, OutboxMessage | None]:
    """The query this email continues: by the ids it replies to, else by a reference tag in its subject."""
    ids = [i for i in (email.in_reply_to, *email.references) if i]
    if ids:
        sent = session.scalar(select(OutboxMessage).where(OutboxMessage.email_message_id.in_(ids))
                              .order_by(OutboxMessage.id.desc()).limit(1))
        if sent is not None and sent.query_id is not None:
            return session.get(Query, sent.query_id), sent
        known = session.scalar(select(Message).where(Message.email_message_id.in_(ids), Message.query_id.is_not(None))
                               .order_by(Message.id.desc()).limit(1))
        if known is not None:
            return known.query, None
    tag = REFERENCE_TAG.search(email.subject or "")
    if tag:
        return session.scalar(select(Query).where(Query.reference == tag.group(1))), None
    return None, None


def _consultation_for(service, session: Session, query: Query, replied_to: OutboxMessage | None,
                      sender: str | None) -> Consultation | None:
    """The consultation a focal point is answering, if the sender is one of its department's focal points."""
    if not sender:
        return None
    sender = sender.lower()
    candidates = list(query.consultations)
    if replied_to is not None and replied_to.consultation_id is not None:
        candidates.sort(key=lambda c: c.id != replied_to.consultation_id)
    for consultation in candidates:
        department = service.policy.departments.get(consultation.department_code)
        if department and sender in {fp.email.lower() for fp in department.focal_points}:
            return consultation
    return None


def _store_message(session: Session, email: InboundEmail, query: Query | None, now: datetime) -> Message:
    message = Message(query=query, direction=Direction.IN, channel=Channel.EMAIL, at=now, sender=email.sender,
                      subject=email.subject, body=email.text, email_message_id=email.message_id,
                      in_reply_to=email.in_reply_to)
    session.add(message)
    _store_attachments(session, email, message)
    return message


def _store_attachments(session: Session, email: InboundEmail, message: Message) -> None:
    for a in email.attachments:
        session.add(Attachment(message=message, filename=a.filename[:300], content_type=a.content_type[:120],
                               size=len(a.data), data=a.data))


def _record_input(service, session, query, consultation, email, message, now) -> None:
    session.add(FocalPointInput(consultation=consultation, from_address=email.sender.lower(),
                                text=email.new_text or email.text, received_at=now, message=message))
    first = consultation.input_received_at is None
    if first:
        consultation.input_received_at = now
    service.record_event(session, query, "input received", f"{consultation.department_code} from {email.sender}",
                         at=now, actor=email.sender)
    waiting = [c for c in query.consultations if c.input_received_at is None]
    if not waiting and query.status in (QueryStatus.ROUTED, QueryStatus.AWAITING_INPUTS):
        lifecycle.transition(session, query, QueryStatus.DRAFT_READY, at=now,
                             reason="all inputs in: ready for the specialist's review")


def _record_follow_up(service, session, query, email, now):
    requester = query.requester
    from_requester = bool(email.sender and requester.email and email.sender.lower() == requester.email)
    return service.follow_up(session, query, text=email.new_text or email.text,
                             sender=email.sender or "unknown sender", from_requester=from_requester, now=now)


def _bounce(service, session: Session, email: InboundEmail, now: datetime) -> tuple[str | None, str]:
    """Flag the query whose email bounced; a bounced routing email needs the specialist's attention."""
    ids = [i for i in (*email.bounced_message_ids, email.in_reply_to, *email.references) if i]
    sent = session.scalar(select(OutboxMessage).where(OutboxMessage.email_message_id.in_(ids))
                          .order_by(OutboxMessage.id.desc()).limit(1)) if ids else None
    if sent is None or sent.query_id is None:
        return None, "bounce of a message we cannot identify"
    query = session.get(Query, sent.query_id)
    what = f"{sent.kind.value} email to {', '.join(sent.recipients)} bounced"
    service.record_event(session, query, "bounce", what + " — check the address", at=now, actor="mail system")
    return query.reference, what
