"""The specialist's use cases: review, correct, extend, reply, promote, publish; and what they read."""

from __future__ import annotations

from datetime import date


from kb import lifecycle, review
from kb.models import OPEN_STATUSES, QueryStatus
from kb.privacy import audit
from kb.service.core import ServiceBase
from kb.views import (QueryDetail, QuerySummary, TriageReport, count_queries, query_detail, query_summaries,
                      triage_report)


class SpecialistUseCases(ServiceBase):
    def extend_target(self, reference: str, reason: str, *, days: int | None = None, to: date | None = None,
                      actor: str = "specialist") -> TriageReport:
        """Move a query's target reply date later, by ``days`` in the helpdesk's day count or ``to`` a date."""
        if not reason or not reason.strip():
            raise ValueError("extending a target needs a reason (it goes in the annual report)")
        if (days is None) == (to is None):
            raise ValueError("give either a number of days or a new date")
        if days is not None and days < 1:
            raise ValueError("extend by at least one day")
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            if query.status not in OPEN_STATUSES:
                raise ValueError(f"{query.reference} is {lifecycle.label(query.status)}: its target no longer "
                                 "matters")
            old = query.target_reply_date
            new_date = to if to is not None else self.due_in(old, days)
            if new_date <= old:
                raise ValueError(f"the new target {new_date} is not after the current one {old}")
            query.target_reply_date, query.target_extension_reason = new_date, reason.strip()
            self.record_event(session, query, "target extended", f"{old} -> {new_date}: {reason.strip()}",
                              at=self.clock(), actor=actor)
            return triage_report(query, self.policy, self.countries, created=False)

    def correct_topics(self, reference: str, codes: list[str], actor: str = "specialist") -> list[str]:
        """Replace the query's topics; returns departments newly consulted."""
        with self.unit_of_work() as session:
            return review.correct_topics(self, session, self._get(session, reference), codes, actor, self.clock())

    def edit_draft(self, reference: str, text: str, actor: str = "specialist") -> None:
        with self.unit_of_work() as session:
            review.edit_draft(self, session, self._get(session, reference), text, actor, self.clock())

    def send_reply(self, reference: str, actor: str = "specialist", text: str | None = None, *,
                   without_clearance: str | None = None) -> str:
        """Approve and queue the reply (the draft unless ``text`` is given); returns the text sent.

        While departments asked for clearance have not answered, the reply waits, unless
        ``without_clearance`` gives the reason to send anyway (kept in the history).
        """
        with self.unit_of_work() as session:
            return review.send_reply(self, session, self._get(session, reference), actor, self.clock(), text,
                                     without_clearance=without_clearance).text

    def request_clearance(self, reference: str, departments: list[str] | None = None, *, due: date | None = None,
                          actor: str = "specialist") -> list[str]:
        """Send the current draft to consulted departments (all when none named) to agree it by ``due``."""
        from kb import clearance

        now = self.clock()
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            if query.status not in OPEN_STATUSES:
                raise ValueError(f"{query.reference} is {lifecycle.label(query.status)}: nothing to clear")
            draft = query.drafts[-1] if query.drafts else None
            text = (draft.edited_text or draft.text) if draft else ""
            if not text.strip():
                raise ValueError(f"{query.reference} has no draft to clear")
            due = due or self.due_in(now.date(), self.policy.deadlines.input_due_days)
            if due <= now.date():
                raise ValueError("the clearance deadline must be after today")
            return clearance.request(self, session, query, list(departments or []), due, text, actor, now)

    def set_confidential(self, reference: str, confidential: bool = True, actor: str = "specialist") -> None:
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            query.confidential = confidential
            self.record_event(session, query, "confidential" if confidential else "not confidential", "",
                              at=self.clock(), actor=actor)

    def release_preview(self, reference: str) -> tuple[str | None, str]:
        """What focal points will receive of a confidential query: subject and text without the requester."""
        with self.unit_of_work() as session:
            return self.shared_with_focal_points(self._get(session, reference))

    def release_query(self, reference: str, actor: str = "specialist") -> list[str]:
        """Route a query held for confidentiality; focal points get it without the requester's identity."""
        from kb.triage import route

        now = self.clock()
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            if query.status is not QueryStatus.HELD:
                raise ValueError(f"{query.reference} is {lifecycle.label(query.status)}, not held: nothing to release")
            codes = [t.topic_code for t in query.topics if t.confirmed is not False]
            if not codes:
                lifecycle.transition(session, query, QueryStatus.MANUAL_TRIAGE, at=now, actor=actor,
                                     reason="released, but no topic was found: set its topics to route it")
                return []
            routes = route(codes, self.policy, now.date(), self.calendar)
            return self.consult_routes(session, query, routes, [self.policy.topics[c].name() for c in codes], now,
                                       actor=actor)

    def close_query(self, reference: str, reason: str, actor: str = "specialist") -> None:
        """Close a query (answered, or needing no reply); the requester writing again reopens it."""
        with self.unit_of_work() as session:
            lifecycle.transition(session, self._get(session, reference), QueryStatus.CLOSED, at=self.clock(),
                                 actor=actor, reason=reason or "closed by the specialist")

    def record_feedback(self, reference: str, rating: int | None, comment: str | None = None, *,
                        actor: str = "requester") -> None:
        with self.unit_of_work() as session:
            self._add_feedback(session, self._get(session, reference), rating, comment, self.clock(), actor=actor)

    def promote_to_qa(self, reference: str, actor: str = "specialist", *,
                      override_confidential: str | None = None) -> str:
        """Make an anonymised draft Q&A of the answered query; returns its key (publish it with ``publish_qa``)."""
        with self.unit_of_work() as session:
            return review.promote_to_qa(self, session, self._get(session, reference), actor, self.clock(),
                                        override_confidential=override_confidential).key

    def publish_qa(self, key: str, actor: str = "specialist", *, question: str | None = None,
                   answer: str | None = None) -> str:
        with self.unit_of_work() as session:
            return review.publish_qa(self, session, key, actor, self.clock(), question=question, answer=answer).key

    # ------------------------------------------------------------------ reading
    def list_queries(self, status: QueryStatus | None = None, *, overdue_only: bool = False) -> list[QuerySummary]:
        """Every query asked for, oldest first."""
        with self.unit_of_work() as session:
            return query_summaries(session, self.clock().date(), status=status, overdue_only=overdue_only)

    def recent_queries(self, limit: int, status: QueryStatus | None = None, *,
                       overdue_only: bool = False) -> tuple[list[QuerySummary], int]:
        """The ``limit`` most recently received queries (oldest first) and how many there are in all."""
        with self.unit_of_work() as session:
            today = self.clock().date()
            rows = query_summaries(session, today, status=status, overdue_only=overdue_only, limit=limit)
            total = len(rows) if len(rows) < limit else count_queries(session, today, status=status,
                                                                      overdue_only=overdue_only)
            return rows, total

    def show_query(self, reference: str, *, reader: str | None = None, channel: str = "cli") -> QueryDetail:
        """One query in full; ``reader`` (who is looking) is recorded in the audit trail."""
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            if reader is not None:
                audit.record(session, at=self.clock(), actor=reader, action="read", channel=channel, query=query,
                             detail="personal details")
            return query_detail(query, self.policy, self.countries, self.clock().date())

    def report(self, reference: str) -> TriageReport:
        with self.unit_of_work() as session:
            return triage_report(self._get(session, reference), self.policy, self.countries, created=False)

    def annual_report(self, year: int):
        """One year's figures (``kb.reports.PeriodFigures``, 1 January to 31 December), without the year before."""
        from kb.reports import period_figures, year_period

        with self.unit_of_work() as session:
            return period_figures(session, *year_period(year))

    def period_report(self, start: date, end: date):
        """The report on the queries received from ``start`` to ``end`` (both included): a
        ``kb.reports.PeriodReport`` with its figures, the same dates a year earlier when they have queries,
        and the tables every adapter renders (with topic, department and country names)."""
        from kb.reports import period_report

        if start > end:
            raise ValueError(f"the period starts on {start}, after it ends on {end}")
        with self.unit_of_work() as session:
            return period_report(session, start, end, countries=self.countries,
                                 topic_names={code: t.name() for code, t in self.policy.topics.items()},
                                 department_names={code: d.name for code, d in self.policy.departments.items()})
