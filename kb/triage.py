"""The triage decision: classify, route, match, draft, with the reasons why.

``triage`` is a pure function of the query's text and the helpdesk's rules:
it reads no database and sends nothing, so it can be called in one line from a
test and its result stored as the specialist's explanation. The service layer
(``kb.service``) records what it decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

from classifier.model import TopicModel, TopicScore, select_topics
from kb.calendar import DueDateCalendar
from kb.drafting import DraftProposal, compose_draft
from kb.matching import QAMatch, QAMatcher
from kb.policy import HelpdeskPolicy

#: How many topic candidates are shown to the specialist, chosen or not.
CANDIDATES_SHOWN = 5


@dataclass(frozen=True)
class TopicFinding:
    code: str
    name: str
    confidence: float
    evidence: tuple[str, ...]
    selected: bool


@dataclass(frozen=True)
class Route:
    department: str
    department_name: str
    focal_points: tuple[str, ...]  # email addresses
    reason: str
    due_date: date


@dataclass(frozen=True)
class TriageDecision:
    language: str
    topics: tuple[TopicFinding, ...]
    manual_triage: bool
    routes: tuple[Route, ...]
    matches: tuple[QAMatch, ...]
    draft: DraftProposal
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def selected_topics(self) -> tuple[TopicFinding, ...]:
        return tuple(t for t in self.topics if t.selected)

    def explanation(self) -> dict:
        """A JSON record of the decision, stored with the query: plain values only, lists and not tuples, as
        after a reload (built so, not by a round trip through ``json``)."""
        return {
            "language": self.language,
            "manual_triage": self.manual_triage,
            # Flat values: their fields as they stand (``asdict``'s deep copies cost more than the rest).
            "topics": [{**vars(t), "evidence": list(t.evidence)} for t in self.topics],
            "routes": [{**vars(r), "focal_points": list(r.focal_points), "due_date": r.due_date.isoformat()}
                       for r in self.routes],
            "matches": [
                {"qa_id": m.entry.id, "qa_key": m.entry.key, "question": m.entry.question, "score": m.score,
                 "lexical": m.lexical, "fuzzy": m.fuzzy, "shared_terms": list(m.shared_terms), "good": m.good,
                 "confidence": m.confidence, "strength": m.strength or ("strong" if m.good else "weak")}
                for m in self.matches
            ],
            "reasons": list(self.reasons),
        }


def choose_topics(scores: list[TopicScore], policy: HelpdeskPolicy, language: str) -> tuple[TopicFinding, ...]:
    """The candidates shown to the specialist, those the selection rule keeps marked ``selected``."""
    chosen = {s.code for s in select_topics(scores, threshold=policy.confidence_threshold,
                                            max_topics=policy.max_topics)}
    findings = []
    for s in scores[:CANDIDATES_SHOWN]:
        topic = policy.topics[s.code]
        selected = s.code in chosen
        findings.append(TopicFinding(s.code, topic.name(language), round(s.confidence, 3), s.evidence, selected))
    return tuple(findings)


def route(
    topic_codes: Sequence[str], policy: HelpdeskPolicy, since: date, calendar: DueDateCalendar,
    why: str = "topic {code}",
) -> tuple[Route, ...]:
    """Departments of the query's topics, then the always-consulted ones; one route per department.

    The one routing rule: used at triage and when the specialist corrects the topics.
    Inputs are due ``input_due_days`` after ``since`` in the helpdesk's day count.
    """
    due = calendar.add_days(since, policy.deadlines.input_due_days)
    reasons: dict[str, list[str]] = {}
    for topic in topic_codes:
        for code in policy.topics[topic].departments:
            reasons.setdefault(code, []).append(why.format(code=topic))
    if reasons:  # the bureaux are consulted on routed queries, not on ones awaiting manual triage
        for code in policy.always_consult:
            reasons.setdefault(code, []).append("always consulted")
    routes = []
    for code, because in reasons.items():
        department = policy.departments[code]
        routes.append(Route(code, department.name, tuple(fp.email for fp in department.focal_points),
                            ", ".join(because), due))
    return tuple(routes)


def triage(
    text: str,
    *,
    language: str,
    policy: HelpdeskPolicy,
    model: TopicModel,
    matcher: QAMatcher,
    calendar: DueDateCalendar,
    reference: str,
    received: date,
    target_reply_date: date,
    requester_name: str | None = None,
) -> TriageDecision:
    """Decide topics, departments, matching Q&As and a draft for one query."""
    findings = choose_topics(model.predict(text), policy, language)
    chosen = [f for f in findings if f.selected]
    reasons: list[str] = []
    for f in chosen:
        reasons.append(f"topic {f.code} at {f.confidence:.0%} (words: {', '.join(f.evidence) or '-'})")
    manual = not chosen
    if manual:
        best = findings[0]
        reasons.append(
            f"no topic reaches the {policy.confidence_threshold:.0%} threshold (best: {best.code} at "
            f"{best.confidence:.0%}): marked for manual triage, not routed"
        )
    routes = route([f.code for f in chosen], policy, received, calendar)
    matches = tuple(
        matcher.match(text, language, [f.code for f in chosen], k=policy.top_k, good_score=policy.good_match_score)
    )
    for m in matches:
        verdict = f"{m.strength} match ({m.confidence:.0%} sure it answers)" if m.strength else \
            ("good match" if m.good else "weak match")
        reasons.append(f"{verdict}: Q&A {m.entry.key} scored {m.score:.0f} (shared: {', '.join(m.shared_terms) or '-'})")
    draft = compose_draft(
        language=language,
        helpdesk=policy.name,
        reference=reference,
        target_reply_date=target_reply_date,
        topic_names=[f.name for f in chosen],
        matches=matches,
        requester_name=requester_name,
    )
    return TriageDecision(language, findings, manual, routes, matches, draft, tuple(reasons))
