"""Receiving queries: check, store, triage, route, draft and acknowledge; follow-ups and ratings.

Every channel ends here: the CLI and Telegram through ``submit_query``, email
through ``receive_email`` (``kb.inbound`` decides what an email means), a
requester's later message through ``receive_follow_up``.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kb import history, lifecycle
from kb.bulk import hold_new, insert_new
from kb.feedback import read_rating
from kb.intake import CheckedSubmission, QuerySubmission, check_submission
from kb.models import (
    Channel,
    Consultation,
    Direction,
    Feedback,
    Message,
    OutboxKind,
    Query,
    QueryStatus,
    Requester,
    TopicSource,
)
from kb.notices import acknowledgement, routing_notice
from kb.outbox import outbox_values, queue
from kb.references import bump, format_reference
from kb.review import ReviewError
from kb.service.core import ServiceBase
from kb.service.fresh import FreshRows
from kb.triage import Route, TriageDecision, triage
from kb.views import TriageReport, triage_report

log = logging.getLogger("kb.service")


class FollowUpOutcome(str, enum.Enum):
    RATING = "rating"
    FOLLOW_UP = "follow_up"
    REOPENED = "reopened"


@dataclass(frozen=True)
class FollowUpResult:
    outcome: FollowUpOutcome
    reference: str
    rating: int | None = None


class IntakeUseCases(ServiceBase):
    # -------------------------------------------------------------------- queries
    def submit_query(self, submission: QuerySubmission) -> TriageReport:
        """Receive, triage, route and draft one query; resubmitting the same source is a no-op."""
        checked = check_submission(submission, self.detector, self.countries)
        try:
            with self.unit_of_work() as session:
                if submission.source_key:
                    existing = session.scalar(select(Query).where(Query.source_key == submission.source_key))
                    if existing is not None:
                        return triage_report(existing, self.policy, self.countries, created=False)
                query = self.receive_checked(session, checked)
                return triage_report(query, self.policy, self.countries, created=True)
        except IntegrityError:
            # Another process stored the same source at the same moment: report that one.
            if not submission.source_key:
                raise
            with self.unit_of_work() as session:
                existing = session.scalar(select(Query).where(Query.source_key == submission.source_key))
                if existing is None:
                    raise
                return triage_report(existing, self.policy, self.countries, created=False)

    def receive_email(self, email):
        """Decide and store what one inbound email means (``kb.inbound``); safe to repeat."""
        from kb.inbound import receive

        with self.unit_of_work() as session:
            return receive(self, session, email)

    def record_mailbox_progress(self, mailbox: str, uidvalidity: int, uid: int) -> None:
        """Where the ingestion of one IMAP mailbox stands (for progress and audits)."""
        from kb.mailbox import record_progress

        with self.unit_of_work() as session:
            record_progress(session, mailbox, uidvalidity, uid, self.clock())

    def receive_checked(self, session: Session, checked: CheckedSubmission, *,
                        in_reply_to: str | None = None, acknowledge: bool = True,
                        message: dict | None = None, referred_by: str | None = None) -> Query:
        """Store and triage a validated submission inside the caller's unit of work.

        ``message`` overrides columns of the stored inbound message (an email's Message-ID and full text).
        """
        sub = checked.submission
        now = self.clock()
        received = sub.received_at or now
        requester = self._requester(session, checked, now)
        reference = self._next_reference(session, received.year)
        target = self.due_in(received.date(), self.policy.deadlines.target_reply_days)
        decision = triage(
            checked.text,
            language=checked.language,
            policy=self.policy,
            model=self.model,
            matcher=self._batch_matcher(session),
            calendar=self.calendar,
            reference=reference,
            received=received.date(),
            target_reply_date=target,
            requester_name=requester.name,
        )
        query = Query(
            reference=reference, channel=sub.channel, source_key=sub.source_key,
            subject=sub.subject, text=checked.text, language=checked.language, received_at=received,
            target_reply_date=target, original_target_date=target, confidential=sub.confidential,
            needs_manual_triage=False, triage=decision.explanation(), referred_by=referred_by,
        )
        # Not through the backref: nothing of the requester's (stored, perhaps) refers to the new query, which
        # a mail batch writes later (``kb.bulk.hold_new``).
        set_committed_value(query, "requester", requester)
        fresh = FreshRows()
        history.hold(session, query, fresh.events)  # its history goes in with its other rows
        self.record_event(session, query, "received", f"by {sub.channel.value}, language {checked.language}", at=received)
        for kind, detail in self._locate(query, requester, checked.text, sub.email):
            self.record_event(session, query, kind, detail, at=received)
        lifecycle.begin(query)
        inbound = Message(**{
            **dict(direction=Direction.IN, channel=sub.channel, at=received, sender=sub.email, subject=sub.subject,
                   body=checked.text, telegram_chat_id=sub.telegram_chat_id), **(message or {})})
        # Both sides set as loaded values: the backref's events and cascade cost more than the message's making.
        set_committed_value(inbound, "query", query)
        set_committed_value(query, "messages", [inbound])
        self._record_decision(session, query, decision, now, hold=sub.hold_for_release, fresh=fresh)
        if sub.channel is Channel.EMAIL and requester.email and acknowledge:
            notice = acknowledgement(query.language, helpdesk=self.policy.name, reference=reference, target=target)
            headers = {"In-Reply-To": in_reply_to} if in_reply_to else {}
            fresh.outbox.append((outbox_values(
                dedupe_key=f"ack:{reference}", kind=OutboxKind.ACKNOWLEDGEMENT, channel=Channel.EMAIL,
                recipients=[requester.email], subject=notice.subject, body=notice.body, now=now,
                domain=self.policy.domain, headers=headers), None))
        for chat_id in self.policy.specialist_chats:
            # The Telegram adapter renders the review card (text and buttons) when it delivers this row.
            fresh.outbox.append((outbox_values(
                dedupe_key=f"review:{reference}:{chat_id}", kind=OutboxKind.REVIEW, channel=Channel.TELEGRAM,
                recipients=[str(chat_id)], subject=reference, body="", now=now, domain=self.policy.domain), None))
        self._write_new(session, requester, query, inbound, fresh)
        log.info("query %s received by %s, %d topic(s), %d department(s)", reference, sub.channel.value,
                 len(decision.selected_topics), len(decision.routes))
        return query

    def _write_new(self, session: Session, requester: Requester, query: Query, message: Message,
                   fresh: FreshRows) -> None:
        """The new query, its requester (if new) and its message, its history and other rows: now; inside a mail
        batch, with the batch's other queries' at its end (or sooner, but never inside a message's savepoint:
        ``InboundBatch.write_unwritten``)."""
        from kb.service.mail import current_batch

        batch = current_batch(self)
        if batch is None:
            session.add_all([requester, query, message])
            insert_new(session, [requester, query, message])  # the query has its id
            FreshRows.write_histories(session, [(query, fresh)])
            FreshRows.write(session, [(query, fresh)])
        else:
            hold_new(session, [requester, query, message])
            batch.history.append((query, fresh))
            batch.add_fresh(query, fresh)

    def _batch_matcher(self, session: Session):
        """The Q&A matcher; inside a mail batch the bank's revision is checked once for the whole batch."""
        from kb.service.mail import current_batch

        batch = current_batch(self)
        if batch is None:
            return self.matcher(session)
        if batch.matcher is None:
            batch.matcher = self.matcher(session)
        return batch.matcher

    def _record_decision(self, session: Session, query: Query, decision: TriageDecision, now: datetime, *,
                         hold: bool = False, fresh: FreshRows) -> None:
        for finding in decision.selected_topics:
            fresh.topics.append(dict(topic_code=finding.code, confidence=finding.confidence,
                                     source=TopicSource.CLASSIFIER))
        summary = ", ".join(f"{t.code} {t.confidence:.0%}" for t in decision.selected_topics) or "none"
        self.record_event(session, query, "triaged", f"topics: {summary}" + (
            "; manual triage needed" if decision.manual_triage else ""), at=now)
        if hold:
            lifecycle.transition(session, query, QueryStatus.HELD, at=now,
                                 reason="confidential at the requester's request: routed when the specialist "
                                        "releases it")
        else:
            self.consult_routes(session, query, decision.routes, [t.name for t in decision.selected_topics], now,
                                fresh=fresh)
        if decision.manual_triage and not hold:
            lifecycle.transition(session, query, QueryStatus.MANUAL_TRIAGE, at=now,
                                 reason="no topic reaches the confidence threshold")
        draft = decision.draft
        fresh.drafts.append(dict(created_at=now, language=draft.language, text=draft.text, notes=list(draft.notes),
                                 sources=list(draft.sources)))
        self.record_event(session, query, "drafted",
                          "from " + ", ".join(s["qa_key"] for s in draft.sources) if draft.sources
                          else "holding reply (no good Q&A match)", at=now)

    def consult_routes(self, session: Session, query: Query, routes: tuple[Route, ...], topic_names: list[str],
                       now: datetime, actor: str = "system", *, fresh: FreshRows | None = None) -> list[str]:
        """Consult each routed department not consulted yet; the query becomes ``routed``. Returns the new ones.

        ``fresh``: the query is new in this unit of work, and its consultations go in with its other rows.
        """
        consulted = set() if fresh is not None else {c.department_code for c in query.consultations}
        added = [r for r in routes if r.department not in consulted]
        for r in added:
            self.consult(session, query, r.department, r.reason, r.due_date, topic_names, now, fresh=fresh)
        if added:
            self.record_event(session, query, "routed", ", ".join(
                f"{r.department} (due {r.due_date.isoformat()})" for r in added), at=now, actor=actor)
            if query.status not in (QueryStatus.ROUTED, QueryStatus.AWAITING_INPUTS):
                lifecycle.transition(session, query, QueryStatus.ROUTED, at=now, actor=actor,
                                     reason=f"{len(added)} department(s) consulted")
        return [r.department for r in added]

    def consult(self, session: Session, query: Query, department_code: str, reason: str, due: date,
                topic_names: list[str], now: datetime, *, fresh: FreshRows | None = None) -> Consultation | None:
        """Ask a department for its input: the consultation, and its routing email in the outbox.

        With ``fresh`` both are added to the new query's rows (and None is returned).
        """
        department = self.policy.departments[department_code]
        requester = query.requester
        country = self.countries.by_code(requester.country) if requester.country else None
        values = dict(department_code=department_code, reason=reason, requested_at=now, due_date=due,
                      reminders_sent=0)
        subject, text = self.shared_with_focal_points(query)
        notice = routing_notice(
            reference=query.reference, department_name=department.name, reason=reason, due_date=due,
            topic_names=topic_names, subject=subject, text=text, confidential=query.confidential,
            organisation=requester.organisation, country_name=country.name if country else None,
            region=requester.region,
            requester_type=requester.requester_type.value if requester.requester_type else None,
        )
        email = dict(dedupe_key=f"routing:{query.reference}:{department_code}", kind=OutboxKind.ROUTING,
                     channel=Channel.EMAIL, recipients=[fp.email for fp in department.focal_points],
                     subject=notice.subject, body=notice.body, now=now, domain=self.policy.domain,
                     headers={"Reply-To": self.policy.email})
        if fresh is not None:
            fresh.consultations.append(values)
            fresh.outbox.append((outbox_values(**email), len(fresh.consultations) - 1))
            return None
        consultation = Consultation(query=query, **values)
        session.add(consultation)
        queue(session, **email, query=query, consultation=consultation, fresh=True)
        return consultation

    def shared_with_focal_points(self, query: Query) -> tuple[str | None, str]:
        """The subject and text focal points receive: a confidential query's without the requester's identity."""
        if not query.confidential:
            return query.subject, query.text
        from kb.anonymise import anonymise

        requester = query.requester
        known = dict(names=[n for n in (requester.name,) if n], references=[],
                     organisations=[o for o in (requester.organisation,) if o])
        subject = anonymise(query.subject, **known).text if query.subject else None
        return subject, anonymise(query.text, **known).text

    def _requester(self, session: Session, checked: CheckedSubmission, now: datetime) -> Requester:
        """The known requester for this address or chat, updated with anything new; else a new one."""
        sub = checked.submission
        requester = None
        if sub.email:
            requester = self._requester_by_email(session, sub.email.lower())
        if requester is None and sub.telegram_chat_id is not None:
            requester = session.scalar(select(Requester).where(Requester.telegram_chat_id == sub.telegram_chat_id))
        if requester is None:
            requester = Requester(email=sub.email.lower() if sub.email else None,
                                  telegram_chat_id=sub.telegram_chat_id, created_at=now)  # written with the query
        # What the requester tells us now wins; what they leave out keeps its earlier value.
        for column, value in (("name", sub.name), ("organisation", sub.organisation), ("sector", sub.sector),
                              ("requester_type", checked.requester_type)):
            if value:
                setattr(requester, column, value)
        if checked.country is not None:
            requester.country, requester.region = checked.country.code, checked.country.region
        return requester

    def _requester_by_email(self, session: Session, address: str) -> Requester | None:
        """The requester with ``address`` (lower case): as the current mail batch looked it up, else from the store."""
        from kb.mail_batch import UNKNOWN

        lookups = self.batch_lookups()
        found = lookups.requester(address) if lookups is not None else UNKNOWN
        if found is UNKNOWN:
            found = self.held_requester(address) or session.scalar(_requester_by_email(), {"email": address})
        return found

    def _locate(self, query: Query, requester: Requester, text: str, sender: str | None) -> list[tuple[str, str]]:
        """Set the country the query is about (named in the text, else the requester's) and the organisation to
        suggest (from the signature or the sender's domain, when the requester has none); returns the events
        saying what was found and why, for the specialist to confirm."""
        from kb.organisations import suggest_organisation
        from kb.places import countries_concerned

        said = []
        mentions = countries_concerned(text, self.countries, requester_country=requester.country)
        best = next((m for m in mentions if m.strong), mentions[0] if mentions else None)
        if best is not None:
            query.country_concerned, query.region, query.country_source = best.code, best.region, "text"
            said.append(("country concerned", f"{best.name} ({', '.join(best.evidence)}; {', '.join(best.reasons)})"
                         + (f"; also named: {', '.join(m.name for m in mentions if m is not best)}"
                            if len(mentions) > 1 else "")))
        elif requester.country:
            query.country_concerned, query.region, query.country_source = requester.country, requester.region, \
                "requester"
        if not requester.organisation:
            suggestion = suggest_organisation(text, sender)
            if suggestion is not None:
                query.suggested_organisation = suggestion.name[:200]
                said.append(("organisation suggested", f"{suggestion.name} (from the {suggestion.source}: "
                                                       f"{suggestion.evidence})"))
        return said

    def _next_reference(self, session: Session, year: int) -> str:
        """HD-2026-0007 (``kb.references``): in the unit of work's transaction, or, in a mail batch on
        PostgreSQL, from the numbers the batch reserved."""
        from kb.service.mail import current_batch

        batch = current_batch(self)
        if batch is not None and batch.reserves_numbers:
            number = batch.take_reference(year) or batch.first_of_year(year)
        else:
            number = bump(session.connection(), year, session)
        return format_reference(self.policy.reference_prefix, year, number)

    # ----------------------------------------------------------------- follow-ups
    def follow_up(self, session: Session, query: Query, *, text: str, sender: str, from_requester: bool,
                  now: datetime) -> FollowUpResult:
        """A new message on a known query, from any channel.

        The requester's short answer to a reply that carries a mark is feedback;
        anything else the requester writes after the reply reopens the query.
        """
        replied = query.status in (QueryStatus.ANSWERED, QueryStatus.CLOSED)
        rating = read_rating(text) if from_requester and replied else None
        if rating is not None:
            self._add_feedback(session, query, rating.mark, rating.comment, now, actor=sender)
            return FollowUpResult(FollowUpOutcome.RATING, query.reference, rating.mark)
        self.record_event(session, query, "follow-up", f"message from {'requester' if from_requester else sender}",
                          at=now, actor=sender)
        if from_requester and replied:
            lifecycle.transition(session, query, QueryStatus.REOPENED, at=now, actor=sender,
                                 reason="the requester wrote again after the reply")
            return FollowUpResult(FollowUpOutcome.REOPENED, query.reference)
        return FollowUpResult(FollowUpOutcome.FOLLOW_UP, query.reference)

    def _add_feedback(self, session: Session, query: Query, rating: int | None, comment: str | None, now: datetime,
                      actor: str = "requester") -> None:
        if rating is not None and not 1 <= rating <= 5:
            raise ReviewError("a rating goes from 1 to 5")
        session.add(Feedback(query_id=query.id, rating=rating, comment=(comment or "").strip() or None,
                             received_at=now))
        self.record_event(session, query, "feedback", f"rating {rating if rating is not None else '-'}", at=now,
                          actor=actor)


# Statements of the intake's hot path, built once on first use: every email runs them, and building one costs
# SQLAlchemy more than running it does.

@cache
def _requester_by_email():
    return select(Requester).where(Requester.email == bindparam("email"))
