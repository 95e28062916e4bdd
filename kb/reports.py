"""The annual report: what the helpdesk did in a year, from the store alone.

Counts queries by channel, ILO region, requester type, topic and language;
how many were answered, on target, self-served (closed by the requester from a
Q&A shown in Telegram), and the median days to reply; requesters' ratings; and
how many Q&As the year added.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import QA, Feedback, QAOrigin, Query


@dataclass
class AnnualReport:
    year: int
    queries: int = 0
    by_channel: Counter = field(default_factory=Counter)
    by_region: Counter = field(default_factory=Counter)
    by_requester_type: Counter = field(default_factory=Counter)
    by_topic: Counter = field(default_factory=Counter)
    by_language: Counter = field(default_factory=Counter)
    answered: int = 0
    answered_on_target: int = 0
    self_served: int = 0
    extended: int = 0
    median_days_to_reply: float | None = None
    ratings: int = 0
    mean_rating: float | None = None
    qas_promoted: int = 0


def annual_report(session: Session, year: int) -> AnnualReport:
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    report = AnnualReport(year)
    days: list[float] = []
    ids = []
    for q in session.scalars(select(Query).where(Query.received_at >= start, Query.received_at < end)):
        ids.append(q.id)
        report.queries += 1
        report.by_channel[q.channel.value] += 1
        report.by_region[q.requester.region or "unknown"] += 1
        report.by_requester_type[q.requester.requester_type.value if q.requester.requester_type else "unknown"] += 1
        report.by_language[q.language] += 1
        for t in q.topics:
            if t.confirmed is not False:
                report.by_topic[t.topic_code] += 1
        if not q.topics:
            report.by_topic["(manual triage)"] += 1
        report.self_served += q.self_served
        report.extended += q.target_extension_reason is not None
        if q.answered_at is not None:
            report.answered += 1
            report.answered_on_target += q.answered_at.date() <= q.target_reply_date
            days.append((q.answered_at - q.received_at).total_seconds() / 86400)
    report.median_days_to_reply = round(statistics.median(days), 1) if days else None
    ratings = [f.rating for f in session.scalars(select(Feedback).where(Feedback.query_id.in_(ids)))
               if f.rating is not None] if ids else []
    report.ratings = len(ratings)
    report.mean_rating = round(statistics.mean(ratings), 2) if ratings else None
    report.qas_promoted = len(list(session.scalars(select(QA.id).where(
        QA.origin == QAOrigin.PROMOTED, QA.created_at >= start, QA.created_at < end))))
    return report
