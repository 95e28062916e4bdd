"""The annual report: what the helpdesk did in a year, from the store alone.

Counts queries by channel, ILO region, requester type, topic and language;
how many were answered, on target, self-served (closed by the requester from a
Q&A shown in Telegram), and the median days to reply; requesters' ratings; and
how many Q&As the year added; and month by month, how many queries arrived and
how many of those are answered (on target or not).

``report_tables`` lays the same figures out as named tables (a title, column
names and rows of plain values) for the console's page, its charts and its CSV
downloads; ``report_year`` is the rule for which years can be reported on. No
table names a requester or an organisation: the report is aggregate figures only.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
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
    #: Month (1-12) the query was received -> queries; and of those, how many are answered / answered on target.
    received_by_month: Counter = field(default_factory=Counter)
    answered_by_month: Counter = field(default_factory=Counter)
    on_target_by_month: Counter = field(default_factory=Counter)


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
        report.received_by_month[q.received_at.month] += 1
        for t in q.topics:
            if t.confirmed is not False:
                report.by_topic[t.topic_code] += 1
        if not q.topics:
            report.by_topic["(manual triage)"] += 1
        report.self_served += q.self_served
        report.extended += q.target_extension_reason is not None
        if q.answered_at is not None:
            on_target = q.answered_at.date() <= q.target_reply_date
            report.answered += 1
            report.answered_on_target += on_target
            report.answered_by_month[q.received_at.month] += 1
            report.on_target_by_month[q.received_at.month] += on_target
            days.append((q.answered_at - q.received_at).total_seconds() / 86400)
    report.median_days_to_reply = round(statistics.median(days), 1) if days else None
    ratings = [f.rating for f in session.scalars(select(Feedback).where(Feedback.query_id.in_(ids)))
               if f.rating is not None] if ids else []
    report.ratings = len(ratings)
    report.mean_rating = round(statistics.mean(ratings), 2) if ratings else None
    report.qas_promoted = len(list(session.scalars(select(QA.id).where(
        QA.origin == QAOrigin.PROMOTED, QA.created_at >= start, QA.created_at < end))))
    return report


# ------------------------------------------------------------------ the report as tables
#: The first year a report can be asked for (the helpdesk's records start after it).
FIRST_YEAR = 2000
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: ``rows`` are tuples of plain values (str, int, float or None), one per ``columns``."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple]

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


#: Table name -> (title, the AnnualReport counter, the first column's name), in the order a page shows them.
_COUNTED = {
    "topics": ("Queries by topic", "by_topic", "topic"),
    "regions": ("Queries by ILO region", "by_region", "region"),
    "requester_types": ("Queries by type of requester", "by_requester_type", "requester_type"),
    "channels": ("Queries by channel", "by_channel", "channel"),
    "languages": ("Queries by language", "by_language", "language"),
}
TABLE_NAMES = ("summary", "months", *_COUNTED)


def report_tables(report: AnnualReport, topic_names: Mapping[str, str] | None = None) -> dict[str, ReportTable]:
    """The report as named tables: ``summary`` (figure, value), ``months`` (month, received, answered,
    answered_on_target) and one table per breakdown (category, [name,] queries), most queries first.

    ``topic_names`` (code -> name, from the policy) adds a ``name`` column to the topics table.
    A query may have several topics, so the topics table can add up to more than the queries.
    """
    summary = ReportTable("summary", f"The helpdesk in {report.year}", ("figure", "value"), [
        ("queries received", report.queries),
        ("answered", report.answered),
        ("answered on target", report.answered_on_target),
        ("self-served", report.self_served),
        ("targets extended", report.extended),
        ("median days to reply", report.median_days_to_reply),
        ("ratings", report.ratings),
        ("mean rating", report.mean_rating),
        ("Q&As added", report.qas_promoted),
    ])
    months = ReportTable("months", f"Queries received per month in {report.year}, and how many are answered",
                         ("month", "received", "answered", "answered_on_target"),
                         [(f"{report.year}-{m:02d}", report.received_by_month[m], report.answered_by_month[m],
                           report.on_target_by_month[m]) for m in range(1, 13)])
    tables = {"summary": summary, "months": months}
    for name, (title, attribute, key) in _COUNTED.items():
        counted = sorted(getattr(report, attribute).items(), key=lambda kv: (-kv[1], str(kv[0])))
        if name == "topics" and topic_names is not None:
            tables[name] = ReportTable(name, title, (key, "name", "queries"),
                                       [(code, topic_names.get(code, code), n) for code, n in counted])
        else:
            tables[name] = ReportTable(name, title, (key, "queries"), [(str(k), n) for k, n in counted])
    return tables


def report_year(value, this_year: int) -> int:
    """The year a report is asked for (a number, or text from a form or URL), checked: from ``FIRST_YEAR``
    to ``this_year``. Raises ValueError with a message fit to show."""
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise ValueError(f"{text[:20]!r} is not a year: give a year such as {this_year}")
    year = int(text)
    if not FIRST_YEAR <= year <= this_year:
        raise ValueError(f"there is no report for {year}: choose a year from {FIRST_YEAR} to {this_year}")
    return year
