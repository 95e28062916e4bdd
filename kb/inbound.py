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
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from kb import lifecycle
from kb.bulk import add_to
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
from kb.notices import quarantined_notice, rejection
from kb.outbox import last_sent_to, may_notify, queue

log = logging.getLogger(__name__)

#: A stored message no worker has decided on yet.
PENDING = "pending"

REFERENCE_TAG = re.compile(r"\[([A-Z]{2,6}-\d{4}-\d{4,})\]")
#: How far back a bounce naming only its failed address is matched to what we sent that address.
BOUNCE_LOOKBACK = timedelta(days=30)


class Outcome(str, enum.Enum):
    QUERY = "query"
    FOLLOW_UP = "follow_up"
    FEEDBACK = "feedback"
    UNVERIFIED = "unverified"
    CLEARANCE = "clearance"
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
    #: Mail no person will read an answer to (the adapter decides; ``ingest.automatic``): "bounce",
    #: "abuse-report", "challenge", "spam", "auto-reply", "no-reply" or "bulk", and the sign that told.
    automatic: str | None = None
    automatic_reason: str | None = None
    bounced_message_ids: tuple[str, ...] = ()
    #: The addresses a bounce says failed, and whether it only reports a delay (the MTA keeps trying).
    failed_recipients: tuple[str, ...] = ()
    delivery_delayed: bool = False
    quarantine_reason: str | None = None
    #: True when the sender is a person who can fix the reason (a zip, a file over the limit, a broken
    #: message) and deserves a notice; False for forged, automatic or unreadable senders.
    quarantine_fixable: bool = False
    #: Every address the message was sent to (To, Cc, Delivered-To), lower case.
    recipients: tuple[str, ...] = ()
    #: The receiving server's verdict (Authentication-Results): True when DMARC (or DKIM and SPF) failed.
    authentication_failed: bool = False
    #: A message forwarded by a colleague: the original sender (address, name), the forwarder being ``sender``.
    forwarded_from: tuple[str, str | None] | None = None


@dataclass(frozen=True)
class InboundResult:
    outcome: Outcome
    reference: str | None = None
    detail: str = ""


def receive(service, session: Session, email: InboundEmail) -> InboundResult:
    """Store the raw message and decide what it means, in the caller's unit of work; safe to repeat.

    The drop folder's path, where the file itself is the durable copy; IMAP
    stores first (``store_fetched``) and decides later (``decide``).
    """
    if email.uid is not None:
        done = session.scalar(select(RawEmail).where(RawEmail.mailbox == email.mailbox,
                                                     RawEmail.uidvalidity == email.uidvalidity,
                                                     RawEmail.uid == email.uid))
        if done is not None and done.outcome != PENDING:
            return InboundResult(Outcome.ALREADY_DONE, detail=f"uid {email.uid} was handled as {done.outcome}")
        if done is not None:
            return decide(service, session, email, done)
    raw = RawEmail(mailbox=email.mailbox, uidvalidity=email.uidvalidity, uid=email.uid, received_at=service.clock(),
                   raw=email.raw, outcome=PENDING)
    session.add(raw)
    return decide(service, session, email, raw)


def decide(service, session: Session, email: InboundEmail, raw: RawEmail) -> InboundResult:
    """What one stored message means for the helpdesk; everything it decides is recorded on ``raw``."""
    now = service.clock()

    def finish(outcome: Outcome, reference: str | None = None, detail: str = "", *,
               message: Message | None = None) -> InboundResult:
        """Record the outcome on ``raw`` (in a mail batch, written with the batch's others; a later email of the
        batch asking whether this one's Message-ID was seen is told), and the message it was stored as when
        that is new here."""
        service.record_outcome(session, raw, message_id_header=email.message_id, claimed_until=None,
                               outcome=outcome.value, reason=detail or None,
                               **({"message": message} if message is not None else {}))
        log.info("email %s uid=%s: %s %s", email.mailbox, email.uid if email.uid is not None else "-",
                 outcome.value, reference or "")
        return InboundResult(outcome, reference, detail)

    if email.quarantine_reason:
        if email.quarantine_fixable and not email.automatic:
            readable = f"{email.subject or ''}\n{email.text}"
            guess = service.detector.detect(readable)
            _notify_sender(service, session, email, quarantined_notice(
                email.quarantine_reason, helpdesk=service.policy.name, subject=email.subject,
                language=guess.code if guess.supported and len(readable.split()) >= 5 else None), now)
        return finish(Outcome.QUARANTINED, detail=email.quarantine_reason)
    if email.message_id and _seen_message_id(service, session, email.message_id, raw):
        return finish(Outcome.DUPLICATE, detail=f"{email.message_id} was already received")
    why = f"{email.automatic} ({email.automatic_reason})" if email.automatic_reason else email.automatic
    if email.automatic == "spam" and not _released(raw):
        # Held where the specialist looks at set-aside mail; releasing it processes it as a person's mail.
        return finish(Outcome.QUARANTINED, detail=f"{email.automatic_reason or 'marked as spam'}: held for the "
                                                  "specialist, never answered")
    if email.automatic == "bounce":
        return finish(Outcome.BOUNCE, *_bounce(service, session, email, now))
    if email.automatic == "abuse-report":
        return finish(Outcome.AUTOMATIC, *_abuse_report(service, session, email, now, why))
    if email.automatic and email.automatic != "spam":
        query = _thread(session, email)[0]
        if query is not None:
            _store_message(session, email, query, now)
        return finish(Outcome.AUTOMATIC, query.reference if query else None, f"{why}: recorded, not answered")

    query, replied_to = _thread(session, email)
    if query is not None:
        message = _store_message(session, email, query, now)
        raw.message = message
        if email.authentication_failed:
            service.record_event(session, query, "unverified message held",
                                 f"from {email.sender}: the receiving server says the sender is not verified "
                                 "(DMARC/DKIM/SPF failed); not counted until the specialist checks it",
                                 at=now, actor="mail system")
            return finish(Outcome.UNVERIFIED, query.reference, f"from {email.sender}: authentication failed")
        consultation = _consultation_for(service, query, replied_to, email.sender)
        if consultation is not None and replied_to.kind is OutboxKind.CLEARANCE:
            from kb.clearance import record_answer

            verdict = record_answer(service, session, query, consultation, email.new_text or email.text,
                                    email.sender, now)
            if verdict is not None:
                return finish(Outcome.CLEARANCE, query.reference, f"{consultation.department_code} {verdict}")
        if consultation is not None:
            _record_input(service, session, query, consultation, email, message, now)
            return finish(Outcome.INPUT, query.reference, f"input from {consultation.department_code}")
        result = _record_follow_up(service, session, query, email, replied_to, now)
        if result.outcome.value == "rating":
            return finish(Outcome.FEEDBACK, query.reference, f"rating {result.rating}")
        return finish(Outcome.FOLLOW_UP, query.reference, result.outcome.value)
    return _new_query(service, session, email, raw, now, finish)


def _new_query(service, session: Session, email: InboundEmail, raw: RawEmail, now: datetime, finish):
    """A message that continues no thread it can prove it belongs to becomes a query of its own."""
    requester, requester_name, referred_by = email.sender, email.sender_name, None
    if email.forwarded_from is not None and _is_colleague(service.policy, email.sender):
        (requester, requester_name), referred_by = email.forwarded_from, email.sender
    wants_confidentiality = _asks_confidentiality(service.policy, email.subject)
    submission = QuerySubmission(
        text=email.new_text or email.text, channel=Channel.EMAIL, subject=email.subject, email=requester,
        name=requester_name, received_at=now, confidential=wants_confidentiality,
        hold_for_release=wants_confidentiality,
        source_key=email.message_id or "sha256:" + hashlib.sha256(email.raw).hexdigest(),
    )
    try:
        checked = check_submission(submission, service.detector, service.countries)
    except QueryRejectedError as exc:
        _notify_sender(service, session, email, rejection(str(exc), helpdesk=service.policy.name,
                                                          subject=email.subject), now)
        return finish(Outcome.REJECTED, detail=str(exc))
    acknowledge = not email.authentication_failed and _may_notify(service, session, requester, now)
    query = service.receive_checked(session, checked, in_reply_to=email.message_id, acknowledge=acknowledge,
                                    referred_by=referred_by, message=dict(
                                        email_message_id=email.message_id, sender=email.sender,
                                        body=email.text or checked.text))
    message = query.messages[0]
    _store_attachments(session, email, message)
    notes = []
    if referred_by:
        notes.append(f"forwarded by {referred_by} on behalf of {requester}")
    if email.authentication_failed:
        notes.append(f"the sender {email.sender} is not verified (DMARC/DKIM/SPF failed): not acknowledged")
    elif not acknowledge:
        notes.append(f"not acknowledged: {requester} already had its automatic notices for today (mail-loop guard)")
    tag = REFERENCE_TAG.search(email.subject or "")
    if tag and tag.group(1) != query.reference:
        notes.append(f"names {tag.group(1)} but does not reply to a helpdesk email: not attached to that query")
    if wants_confidentiality:
        notes.append("the requester asked for confidentiality: held until the specialist releases it")
    for note in notes:
        service.record_event(session, query, "note", note, at=now, actor="mail system")
    return finish(Outcome.QUERY, query.reference, "; ".join(notes), message=message)


def _is_colleague(policy, address: str | None) -> bool:
    """Staff of the helpdesk's organisation (its mail domain) or a focal point may pass a request on."""
    if not address:
        return False
    address = address.lower()
    focal_points = {fp.email.lower() for d in policy.departments.values() for fp in d.focal_points}
    return address in focal_points or address.rpartition("@")[2] == policy.domain.lower()


def _asks_confidentiality(policy, subject: str | None) -> bool:
    words = set(re.findall(r"\w+", (subject or "").lower()))
    return any(word in words for word in policy.mail.confidential_words)


def _notify_sender(service, session: Session, email: InboundEmail, notice, now: datetime) -> None:
    """An automatic notice to a real person, never to automatic senders, at most N a day per address."""
    if not email.sender or email.automatic or email.authentication_failed:
        return
    if not _may_notify(service, session, email.sender, now):
        log.info("notice to a sender withheld: automatic notices for today already sent (mail-loop guard)")
        return
    key = email.message_id or "sha256:" + hashlib.sha256(email.raw).hexdigest()
    queue(session, dedupe_key=f"notice:{key}"[:200], kind=OutboxKind.NOTICE, channel=Channel.EMAIL,
          recipients=[email.sender], subject=notice.subject, body=notice.body, now=now,
          domain=service.policy.domain,
          headers={"In-Reply-To": email.message_id} if email.message_id else None)


def _may_notify(service, session: Session, address: str | None, now: datetime) -> bool:
    """The mail-loop guard (``kb.outbox.may_notify``), counting the acknowledgements of the current mail batch
    that are not in the outbox yet, and with what the batch looked up when it knows the count."""
    if not address:
        return False
    lookups = service.batch_lookups()
    sent = lookups.notices_sent(address.lower(), now - timedelta(days=1)) if lookups is not None else None
    return may_notify(session, address, now, service.policy.mail.automatic_notices_per_day,
                      queued=service.acknowledgements_queued(address), sent=sent)


def _seen_message_id(service, session: Session, message_id: str, current: RawEmail) -> bool:
    """Whether another email with ``message_id`` was decided (not quarantined) before this one."""
    lookups = service.batch_lookups()
    known = lookups.message_id_decided(message_id) if lookups is not None else None
    if known is not None:
        return known  # looked up for the batch before any of its emails was decided: never the current one
    return service.seen_in_batch(message_id) or any(
        row != current.id for row in session.scalars(_decided_with_id(), {"message_id": message_id})
        if row is not None)


@cache
def _decided_with_id():
    """Stored emails decided (not quarantined) with Message-ID ``:message_id`` (built once: every email asks; two
    comparisons rather than ``NOT IN``, whose list SQLAlchemy expands again at every execution)."""
    return select(RawEmail.id).where(RawEmail.message_id_header == bindparam("message_id"),
                                     RawEmail.outcome != "quarantined", RawEmail.outcome != PENDING)


def _thread(session: Session, email: InboundEmail) -> tuple[Query | None, OutboxMessage | None]:
    """The query this email continues, proved by the Message-IDs it replies to.

    Our Message-IDs are random and unguessable, so replying to one proves the
    sender received that email (it works as the consultation's token). A
    reference tag in the subject alone proves nothing (references are
    sequential): such a message becomes a new query with a note, never part of
    someone else's.
    """
    ids = [i for i in (email.in_reply_to, *email.references) if i]
    if ids:
        sent_statement, known_statement = _threads()
        sent = session.scalar(sent_statement, {"ids": ids})
        if sent is not None and sent.query_id is not None:
            return session.get(Query, sent.query_id), sent
        known = session.scalar(known_statement, {"ids": ids})
        if known is not None:
            return known.query, None
    return None, None


@cache
def _threads():
    """The newest email we sent, and the newest message of a query, with a Message-ID in ``:ids``."""
    ids = bindparam("ids", expanding=True)
    return (select(OutboxMessage).where(OutboxMessage.email_message_id.in_(ids)).order_by(OutboxMessage.id.desc())
            .limit(1),
            select(Message).where(Message.email_message_id.in_(ids), Message.query_id.is_not(None))
            .order_by(Message.id.desc()).limit(1))


def _consultation_for(service, query: Query, replied_to: OutboxMessage | None,
                      sender: str | None) -> Consultation | None:
    """The consultation answered: the email replied to was sent for it, *and* the sender is its focal point."""
    if not sender or replied_to is None or replied_to.consultation_id is None:
        return None
    consultation = next((c for c in query.consultations if c.id == replied_to.consultation_id), None)
    if consultation is None:
        return None
    department = service.policy.departments.get(consultation.department_code)
    if department and sender.lower() in {fp.email.lower() for fp in department.focal_points}:
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
        add_to(session, Attachment(message=message, filename=a.filename[:300], content_type=a.content_type[:120],
                                   size=len(a.data), data=a.data), message)


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


def _record_follow_up(service, session, query, email, replied_to, now):
    """The requester speaks for the query only from their own address, in a thread they were part of."""
    requester = query.requester
    own_address = bool(email.sender and requester.email and email.sender.lower() == requester.email)
    their_thread = replied_to is None or requester.email in [r.lower() for r in replied_to.recipients]
    from_requester = own_address and their_thread
    return service.follow_up(session, query, text=email.new_text or email.text,
                             sender=email.sender or "unknown sender", from_requester=from_requester, now=now)


def _released(raw: RawEmail) -> bool:
    """The specialist released this stored message from quarantine: their judgement overrides the spam filter's."""
    return bool(raw.reason and raw.reason.startswith("released by "))


def _sent_email(session: Session, email: InboundEmail, now: datetime) -> tuple[OutboxMessage | None, str]:
    """What a bounce or report returns: the email of ours it quotes by Message-ID, else the last one we sent
    to an address it says failed (a bounce often quotes nothing, or is cut short before the quote)."""
    ids = [i for i in (*email.bounced_message_ids, email.in_reply_to, *email.references) if i]
    if ids:
        sent = session.scalar(select(OutboxMessage).where(OutboxMessage.email_message_id.in_(ids))
                              .order_by(OutboxMessage.id.desc()).limit(1))
        if sent is not None:
            return sent, "by the Message-ID it returns"
    for address in email.failed_recipients:
        sent = last_sent_to(session, address, now - BOUNCE_LOOKBACK)
        if sent is not None:
            return sent, f"by the failed address {address}"
    return None, ""


def _bounce(service, session: Session, email: InboundEmail, now: datetime) -> tuple[str | None, str]:
    """Flag the query whose email bounced; a bounced routing email needs the specialist's attention."""
    sent, how = _sent_email(session, email, now)
    failed = ", ".join(email.failed_recipients) or "an unknown address"
    if sent is None or sent.query_id is None:
        return None, f"bounce of a message we cannot identify ({failed}; {email.automatic_reason or 'bounce'})"
    query = session.get(Query, sent.query_id)
    to = [a for a in email.failed_recipients if a in {r.lower() for r in sent.recipients}] or list(sent.recipients)
    if email.delivery_delayed:
        what = f"{sent.kind.value} email to {', '.join(to)} delayed: the mail system is still trying"
    else:
        what = f"{sent.kind.value} email to {', '.join(to)} bounced"
    # Only our random Message-IDs prove a bounce answers our email; an address proves nothing, so say so.
    unproved = "" if how.startswith("by the Message-ID") else \
        " (the bounce names the address but quotes none of our emails)"
    detail = what + ("" if email.delivery_delayed else " — check the address") + unproved
    service.record_event(session, query, "bounce", detail, at=now, actor="mail system")
    if not email.delivery_delayed:
        _undelivered(service, session, query, sent, to, what + unproved, now)
    return query.reference, f"{what} (found {how})"


def _undelivered(service, session: Session, query: Query, sent: OutboxMessage, to: list[str], what: str,
                 now: datetime) -> None:
    """An email a person needed did not arrive: mark the consultation whose focal points it was for, and tell
    the specialist at once, once per query, department (or reply) and addresses. Acknowledgements and other
    automatic mail to requesters bounce for many reasons (a forged sender) and stay in the history only."""
    consultation = session.get(Consultation, sent.consultation_id) if sent.consultation_id is not None else None
    if consultation is not None:
        consultation.bounced_at, consultation.bounce = now, what[:300]
        about = (f"The {consultation.department_code} department may not have received the query. Check its "
                 "focal points' addresses in the helpdesk file, and send them the query another way.")
        addresses = hashlib.sha256(",".join(sorted({a.lower() for a in to})).encode()).hexdigest()[:16]
        key = f"bounce:{query.reference}:{consultation.department_code}:{addresses}"
    elif sent.kind is OutboxKind.REPLY:
        about = "The requester has not received the reply: check the address and reach them another way."
        key = f"bounce:{query.reference}:reply:{sent.id}"
    else:
        return
    queue(session, dedupe_key=key, kind=OutboxKind.WARNING, channel=Channel.EMAIL,
          recipients=[service.policy.specialist_address], subject=f"[{query.reference}] An email bounced",
          body=f"The {what} on {now:%Y-%m-%d %H:%M} UTC.\n\n{about}\n\nThe bounce is in the query's history.",
          now=now, domain=service.policy.domain, query=query)


def _abuse_report(service, session: Session, email: InboundEmail, now: datetime, why: str) -> tuple[str | None, str]:
    """A provider reporting one of our emails as spam: shown on its query, never answered."""
    sent, _ = _sent_email(session, email, now)
    if sent is None or sent.query_id is None:
        return None, f"{why}: recorded, not answered"
    query = session.get(Query, sent.query_id)
    what = f"{sent.kind.value} email to {', '.join(sent.recipients)} was reported as spam by the recipient's provider"
    service.record_event(session, query, "abuse report", what, at=now, actor="mail system")
    return query.reference, f"{why}: {what}; not answered"
