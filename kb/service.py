"""The service layer: every channel's use cases, each one unit of work.

Channels (email, Telegram, the CLI) turn what they receive into one call here
and turn the result back into a message; no business rule lives in them.
Each public method opens one session and one transaction: either everything it
decided is stored, or (on any error) nothing is.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from classifier.language import LanguageDetector
from classifier.model import TopicModel
from kb.calendar import DueDateCalendar
from kb import review
from kb.db import unit_of_work
from kb.intake import CheckedSubmission, QuerySubmission, check_submission
from kb.matching import QAMatcher
from kb.models import (
    Channel,
    Consultation,
    Direction,
    Draft,
    Message,
    OutboxKind,
    Query,
    QueryEvent,
    QueryStatus,
    QueryTopic,
    ReferenceCounter,
    Requester,
    TopicSource,
)
from kb.notices import acknowledgement, routing_notice
from kb.outbox import queue
from kb.policy import HelpdeskPolicy
from kb.qa_bank import bank_revision, published_entries
from kb.regions import CountryDirectory
from kb.triage import TriageDecision, triage
from kb.views import QueryDetail, QuerySummary, TriageReport, query_detail, query_summaries, triage_report

log = logging.getLogger(__name__)


class QueryNotFoundError(LookupError):
    """No query has this reference."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class HelpdeskService:
    """The helpdesk's use cases over one store, one policy and one topic model."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: HelpdeskPolicy,
        model: TopicModel,
        *,
        clock: Callable[[], datetime] = utc_now,
        detector: LanguageDetector | None = None,
        countries: CountryDirectory | None = None,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.model = model
        self.clock = clock
        self.detector = detector or LanguageDetector(policy.languages)
        self.countries = countries or CountryDirectory()
        deadlines = policy.deadlines
        # The same count (calendar or working days) for the reply target and the focal points' inputs.
        self.calendar = DueDateCalendar(deadlines.day_count, deadlines.holiday_country)
        self._matcher: QAMatcher | None = None
        self._matcher_revision: tuple | None = None

    # ------------------------------------------------------------------ Q&A bank
    def matcher(self, session: Session) -> QAMatcher:
        """The index over the published Q&As, rebuilt only when the bank has changed."""
        revision = bank_revision(session)
        if self._matcher is None or revision != self._matcher_revision:
            self._matcher = QAMatcher(published_entries(session))
            self._matcher_revision = revision
        return self._matcher

    # -------------------------------------------------------------------- intake
    def submit_query(self, submission: QuerySubmission) -> TriageReport:
        """Receive, triage, route and draft one query; resubmitting the same source is a no-op."""
        checked = check_submission(submission, self.detector, self.countries)
        try:
            with unit_of_work(self.sessions) as session:
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
            with unit_of_work(self.sessions) as session:
                existing = session.scalar(select(Query).where(Query.source_key == submission.source_key))
                if existing is None:
                    raise
                return triage_report(existing, self.policy, self.countries, created=False)

    def receive_checked(self, session: Session, checked: CheckedSubmission, *,
                        in_reply_to: str | None = None) -> Query:
        """Store and triage a validated submission inside the caller's unit of work."""
        sub = checked.submission
        now = self.clock()
        received = sub.received_at or now
        requester = self._requester(session, checked, now)
        reference = self._next_reference(session, received.year)
        target = self.calendar.add_days(received.date(), self.policy.deadlines.target_reply_days)
        decision = triage(
            checked.text,
            language=checked.language,
            policy=self.policy,
            model=self.model,
            matcher=self.matcher(session),
            calendar=self.calendar,
            reference=reference,
            received=received.date(),
            target_reply_date=target,
            requester_name=requester.name,
        )
        query = Query(
            reference=reference, requester=requester, channel=sub.channel, source_key=sub.source_key,
            subject=sub.subject, text=checked.text, language=checked.language, received_at=received,
            target_reply_date=target, status=QueryStatus.ROUTED if decision.routes else QueryStatus.NEW,
            confidential=sub.confidential, needs_manual_triage=decision.manual_triage,
            triage=decision.explanation(),
        )
        session.add(query)
        self.record_event(session, query, "received", f"by {sub.channel.value}, language {checked.language}", at=received)
        session.add(Message(query=query, direction=Direction.IN, channel=sub.channel, at=received,
                            sender=sub.email, subject=sub.subject, body=checked.text,
                            telegram_chat_id=sub.telegram_chat_id))
        self._record_decision(session, query, decision, now)
        if sub.channel is Channel.EMAIL and requester.email:
            notice = acknowledgement(query.language, helpdesk=self.policy.name, reference=reference, target=target)
            headers = {"Auto-Submitted": "auto-replied", "In-Reply-To": in_reply_to} if in_reply_to else \
                {"Auto-Submitted": "auto-replied"}
            queue(session, dedupe_key=f"ack:{reference}", kind=OutboxKind.ACKNOWLEDGEMENT, channel=Channel.EMAIL,
                  recipients=[requester.email], subject=notice.subject, body=notice.body, now=now,
                  domain=self.policy.domain, query=query, headers=headers, fresh=True)
        if self.policy.specialist_chats:
            self._queue_review_cards(session, query, now)
        log.info("query %s received by %s, %d topic(s), %d department(s)", reference, sub.channel.value,
                 len(decision.selected_topics), len(decision.routes))
        return query

    def _queue_review_cards(self, session: Session, query: Query, now: datetime) -> None:
        """Every specialist's Telegram chat gets the new query with its review buttons."""
        from kb.chat import review_card

        session.flush()
        card = review_card(triage_report(query, self.policy, self.countries, created=True))
        buttons = [[[b.label, b.data] for b in row] for row in card.buttons]
        for chat_id in self.policy.specialist_chats:
            queue(session, dedupe_key=f"review:{query.reference}:{chat_id}", kind=OutboxKind.REVIEW,
                  channel=Channel.TELEGRAM, recipients=[str(chat_id)], subject=query.reference, body=card.text,
                  now=now, domain=self.policy.domain, query=query, headers={"buttons": buttons}, fresh=True)

    def _record_decision(self, session: Session, query: Query, decision: TriageDecision, now: datetime) -> None:
        for finding in decision.selected_topics:
            session.add(QueryTopic(query=query, topic_code=finding.code, confidence=finding.confidence,
                                   source=TopicSource.CLASSIFIER))
        summary = ", ".join(f"{t.code} {t.confidence:.0%}" for t in decision.selected_topics) or "none"
        self.record_event(session, query, "triaged", f"topics: {summary}" + (
            "; manual triage needed" if decision.manual_triage else ""), at=now)
        topic_names = [t.name for t in decision.selected_topics]
        for route in decision.routes:
            self.consult(session, query, route.department, route.reason, route.due_date, topic_names, now)
        if decision.routes:
            self.record_event(session, query, "routed", ", ".join(
                f"{r.department} (due {r.due_date.isoformat()})" for r in decision.routes), at=now)
        draft = decision.draft
        session.add(Draft(query=query, created_at=now, language=draft.language, text=draft.text,
                          notes=list(draft.notes), sources=list(draft.sources)))
        self.record_event(session, query, "drafted",
                          "from " + ", ".join(s["qa_key"] for s in draft.sources) if draft.sources
                          else "holding reply (no good Q&A match)", at=now)

    def consult(self, session: Session, query: Query, department_code: str, reason: str, due: date,
                topic_names: list[str], now: datetime) -> Consultation:
        """Ask a department for its input: the consultation, and its routing email in the outbox."""
        department = self.policy.departments[department_code]
        requester = query.requester
        country = self.countries.by_code(requester.country) if requester.country else None
        consultation = Consultation(query=query, department_code=department_code, reason=reason, requested_at=now,
                                    due_date=due)
        session.add(consultation)
        notice = routing_notice(
            reference=query.reference, department_name=department.name, reason=reason, due_date=due,
            topic_names=topic_names, subject=query.subject, text=query.text, confidential=query.confidential,
            organisation=requester.organisation, country_name=country.name if country else None,
            region=requester.region,
            requester_type=requester.requester_type.value if requester.requester_type else None,
        )
        queue(session, dedupe_key=f"routing:{query.reference}:{department_code}", kind=OutboxKind.ROUTING,
              channel=Channel.EMAIL, recipients=[fp.email for fp in department.focal_points],
              subject=notice.subject, body=notice.body, now=now, domain=self.policy.domain, query=query,
              consultation=consultation, headers={"Reply-To": self.policy.email}, fresh=True)
        return consultation

    def _requester(self, session: Session, checked: CheckedSubmission, now: datetime) -> Requester:
        """The known requester for this address or chat, updated with anything new; else a new one."""
        sub = checked.submission
        requester = None
        if sub.email:
            requester = session.scalar(select(Requester).where(Requester.email == sub.email.lower()))
        if requester is None and sub.telegram_chat_id is not None:
            requester = session.scalar(select(Requester).where(Requester.telegram_chat_id == sub.telegram_chat_id))
        if requester is None:
            requester = Requester(email=sub.email.lower() if sub.email else None,
                                  telegram_chat_id=sub.telegram_chat_id, created_at=now)
            session.add(requester)
        # What the requester tells us now wins; what they leave out keeps its earlier value.
        for field, value in (("name", sub.name), ("organisation", sub.organisation), ("sector", sub.sector),
                             ("requester_type", checked.requester_type)):
            if value:
                setattr(requester, field, value)
        if checked.country is not None:
            requester.country, requester.region = checked.country.code, checked.country.region
        return requester

    def _next_reference(self, session: Session, year: int) -> str:
        """HD-2026-0007: numbers restart each year and are never handed out twice."""
        bumped = session.execute(
            update(ReferenceCounter).where(ReferenceCounter.year == year)
            .values(last_number=ReferenceCounter.last_number + 1).returning(ReferenceCounter.last_number)
        ).scalar()
        if bumped is None:
            try:
                with session.begin_nested():
                    session.add(ReferenceCounter(year=year, last_number=1))
                bumped = 1
            except IntegrityError:  # created concurrently: bump the row that now exists
                return self._next_reference(session, year)
        return f"{self.policy.reference_prefix}-{year}-{bumped:04d}"

    def record_event(self, session: Session, query: Query, kind: str, detail: str, *, at: datetime,
                     actor: str = "system") -> None:
        session.add(QueryEvent(query=query, at=at, kind=kind, detail=detail, actor=actor))

    def record_follow_up(self, session: Session, query: Query, *, sender: str, from_requester: bool,
                         now: datetime) -> None:
        """A new message on a known query, from any channel; the requester writing after the reply reopens it."""
        self.record_event(session, query, "follow-up", f"message from {'requester' if from_requester else sender}",
                          at=now, actor=sender)
        if from_requester and query.status in (QueryStatus.ANSWERED, QueryStatus.CLOSED):
            query.status, query.closed_at = QueryStatus.NEW, None
            self.record_event(session, query, "reopened", "the requester wrote again after the reply", at=now)

    # ------------------------------------------------------------- specialist
    def extend_target(self, reference: str, new_date: date, reason: str, actor: str = "specialist") -> TriageReport:
        """Move a query's target reply date later, for a reason that is kept."""
        if not reason or not reason.strip():
            raise ValueError("extending a target needs a reason (it goes in the annual report)")
        with unit_of_work(self.sessions) as session:
            query = self._get(session, reference)
            if new_date <= query.target_reply_date:
                raise ValueError(f"the new target {new_date} is not after the current one {query.target_reply_date}")
            old = query.target_reply_date
            query.target_reply_date, query.target_extension_reason = new_date, reason.strip()
            self.record_event(session, query, "target extended", f"{old} -> {new_date}: {reason.strip()}",
                              at=self.clock(), actor=actor)
            return triage_report(query, self.policy, self.countries, created=False)

    def correct_topics(self, reference: str, codes: list[str], actor: str = "specialist") -> list[str]:
        """Replace the query's topics; returns departments newly consulted."""
        with unit_of_work(self.sessions) as session:
            return review.correct_topics(self, session, self._get(session, reference), codes, actor, self.clock())

    def edit_draft(self, reference: str, text: str, actor: str = "specialist") -> None:
        with unit_of_work(self.sessions) as session:
            review.edit_draft(self, session, self._get(session, reference), text, actor, self.clock())

    def send_reply(self, reference: str, actor: str = "specialist", text: str | None = None) -> str:
        """Approve and queue the reply (the draft unless ``text`` is given); returns the text sent."""
        with unit_of_work(self.sessions) as session:
            return review.send_reply(self, session, self._get(session, reference), actor, self.clock(), text).text

    def set_confidential(self, reference: str, confidential: bool = True, actor: str = "specialist") -> None:
        with unit_of_work(self.sessions) as session:
            query = self._get(session, reference)
            query.confidential = confidential
            self.record_event(session, query, "confidential" if confidential else "not confidential", "",
                              at=self.clock(), actor=actor)

    def record_feedback(self, reference: str, rating: int | None, comment: str | None = None) -> None:
        with unit_of_work(self.sessions) as session:
            review.record_feedback(self, session, self._get(session, reference), rating, comment, self.clock())

    def promote_to_qa(self, reference: str, actor: str = "specialist", question: str | None = None,
                      answer: str | None = None) -> str:
        """Add the answered query to the Q&A bank; returns the new Q&A's key."""
        with unit_of_work(self.sessions) as session:
            return review.promote_to_qa(self, session, self._get(session, reference), actor, self.clock(),
                                        question, answer).key

    # ------------------------------------------------------------------ reading
    def list_queries(self, status: QueryStatus | None = None, *, overdue_only: bool = False) -> list[QuerySummary]:
        with unit_of_work(self.sessions) as session:
            return query_summaries(session, self.clock().date(), status=status, overdue_only=overdue_only)

    def show_query(self, reference: str) -> QueryDetail:
        with unit_of_work(self.sessions) as session:
            return query_detail(self._get(session, reference), self.policy, self.countries, self.clock().date())

    def report(self, reference: str) -> TriageReport:
        with unit_of_work(self.sessions) as session:
            return triage_report(self._get(session, reference), self.policy, self.countries, created=False)

    def annual_report(self, year: int):
        from kb.reports import annual_report

        with unit_of_work(self.sessions) as session:
            return annual_report(session, year)

    def _get(self, session: Session, reference: str) -> Query:
        query = session.scalar(select(Query).where(Query.reference == reference.strip().upper()))
        if query is None:
            raise QueryNotFoundError(f"no query with reference {reference!r}")
        return query
