"""The helpdesk's report over a period, from the store alone: what it did with the queries received from
one date to another, with the same dates a year earlier beside it when that period has queries.

``period_report`` (one unit of work, through ``HelpdeskService.period_report``) returns a ``PeriodReport``:
the period's ``PeriodFigures``, the year before's (or None), and the same figures laid out as named
``ReportTable``s (a title, column names, rows of plain values) that every adapter renders: the console's
Reports page, the HTML file and CSVs of ``helpdesk report``, its text and JSON. ``period_figures`` is one
period alone (``HelpdeskService.annual_report``). ``report_period`` and ``report_year`` check what a
person asked for. No table has an organisation, a name, an address or any text of a query. The value
types and the tables' layout are ``kb.report_figures``'s, re-exported here; this module computes the
figures from the store.

What is counted, and how:

- **The period's queries** are those received from the first day 00:00 UTC to the last day 24:00 UTC.
  Every figure below is about them (a query answered after the period still counts in the period it
  arrived in), except Q&As, counted by the day they were added.
- **Months**: queries received per calendar month; of those, how many are answered, answered within the
  original target, and answered within the target as extended (the same as the original when the target
  was never extended).
- **Country and ILO region are the query's** (``Query.country_concerned``, ``Query.region``: the country
  the query is about), not the requester's. A query stored before the store kept a country concerned
  (``country_source`` empty) takes its requester's, which is what that country means when the text
  names none.
- **Time to reply** runs from receipt to the *first* reply (a query answered again after the requester
  wrote back keeps its first answer time), in calendar days. It is **within the original target** when the
  first reply's date (UTC) is on or before the target set on receipt (``original_target_date``), and
  **within the extended target** when on or before the target as it stands (``target_reply_date``, moved
  by an extension). A target is **extended** when the two dates differ. Self-served queries (closed by the
  requester from a Q&A shown in Telegram) have no reply and are counted apart.
- **Medians and 90th percentiles**: the median is the middle value (the mean of the two middle ones); the
  90th percentile is the nearest rank: the smallest value with at least 90% of the values at or below it.
  Both are rounded to 0.1 day.
- **Departments**: every consultation of the period's queries; an input is the first input received for
  it, and the time to give input runs from the request to that input; reminders are those sent for them.
- **Feedback**: every feedback row on the period's queries (a requester may rate twice). A rating is a
  mark from 1 to 5 (the Telegram buttons record the same marks); **useful** is 4 or 5, **partly** 3,
  **not useful** 1 or 2, each a share of the ratings; a comment without a mark is counted as "no mark".
- **Q&As added**: promoted from an answered query or written by the helpdesk in the period (the shipped
  bank is not counted).
- **Topics**: a query counts once for each of its topics the specialist did not remove, so the topics
  can add up to more than the queries; a query with no topic counts as "(manual triage)".

**Confidential queries** are counted in every total, but never described. The tables that describe who
asked or where (country, ILO region, type of requester, sector) follow one rule, in each period apart:
a confidential query is counted in its row only when that row holds at least ``MIN_CELL`` (5) queries,
confidential or not; otherwise it is counted in the row ``CONFIDENTIAL_BUCKET``, "other (fewer than 5,
confidential)", so no row smaller than five can point at it. Months, channels, languages, topics,
departments, reply times, feedback and Q&As count it like any other query: they say nothing of who
asked. And no table anywhere has a column for an organisation, a name or a query's text.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kb.calendar import day_start
from kb.models import QA, Consultation, Feedback, QAOrigin, Query, Reply
from kb.report_figures import (
    CONFIDENTIAL_BUCKET,
    MANUAL_TRIAGE,
    MIN_CELL,
    NO_MARK,
    QA_ORIGINS,
    RATINGS,
    REPLY_BANDS,
    TABLE_NAMES,
    UNKNOWN,
    DepartmentFigures,
    PeriodFigures,
    PeriodReport,
    ReportTable,
    months_of,
    period_label,
    report_tables,
)

__all__ = ["CONFIDENTIAL_BUCKET", "FIRST_YEAR", "MANUAL_TRIAGE", "MAX_YEARS", "MIN_CELL", "MONTHS", "NO_MARK",
           "QA_ORIGINS", "RATINGS", "REPLY_BANDS", "TABLE_NAMES", "UNKNOWN", "DepartmentFigures", "PeriodFigures",
           "PeriodReport", "ReportTable", "months_of", "nearest_rank", "period_figures", "period_label",
           "period_report", "protect", "report_period", "report_tables", "report_year", "year_earlier",
           "year_period"]

#: The first year a report can be asked for (the helpdesk's records start after it), and the longest period.
FIRST_YEAR = 2000
MAX_YEARS = 10
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ------------------------------------------------------------------------ computing
def period_report(session: Session, start: date, end: date, *, topic_names: Mapping[str, str] | None = None,
                  department_names: Mapping[str, str] | None = None, countries=None) -> PeriodReport:
    """The period's figures, the same dates a year earlier (kept when it has queries), and the tables.

    ``topic_names`` and ``department_names`` (code -> name) and ``countries`` (a ``CountryDirectory``) add
    names beside the codes."""
    figures = period_figures(session, start, end)
    previous = period_figures(session, year_earlier(start), year_earlier(end))
    previous = previous if previous.queries else None
    tables = report_tables(figures, previous, topic_names=topic_names, department_names=department_names,
                           countries=countries)
    return PeriodReport(figures, previous, tables)


def period_figures(session: Session, start: date, end: date) -> PeriodFigures:
    """The figures of the queries received from ``start`` to ``end`` (both included), and the Q&As added then."""
    if start > end:
        raise ValueError(f"the period starts on {start}, after it ends on {end}")
    since, until = day_start(start), day_start(end + timedelta(days=1))
    in_period = (Query.received_at >= since, Query.received_at < until)
    figures = PeriodFigures(start, end)
    queries = list(session.scalars(select(Query).where(*in_period).order_by(Query.received_at, Query.id)
                                   .options(selectinload(Query.requester), selectinload(Query.topics),
                                            selectinload(Query.consultations))))
    first_reply = dict(session.execute(select(Reply.query_id, func.min(Reply.created_at))
                                       .join(Query, Query.id == Reply.query_id).where(*in_period)
                                       .group_by(Reply.query_id)).all())
    open_, secret = {k: Counter() for k in _DESCRIBED}, {k: Counter() for k in _DESCRIBED}
    reply_days: list[float] = []
    for q in queries:
        figures.queries += 1
        figures.confidential += q.confidential
        month = f"{q.received_at.year}-{q.received_at.month:02d}"
        figures.received_by_month[month] += 1
        figures.by_channel[q.channel.value] += 1
        figures.by_language[q.language] += 1
        topics = [t.topic_code for t in q.topics if t.confirmed is not False]
        figures.by_topic.update(topics or [MANUAL_TRIAGE])
        for name, key in _described(q).items():
            (secret if q.confidential else open_)[name][key] += 1
        figures.self_served += q.self_served
        original = q.original_target_date or q.target_reply_date
        extended = q.target_reply_date != original
        figures.extended += extended
        replied_at = first_reply.get(q.id)
        if replied_at is None:
            continue
        days = (replied_at - q.received_at).total_seconds() / 86400
        reply_days.append(days)
        figures.reply_bands[_band(days)] += 1
        within_original = replied_at.date() <= original
        within_target = replied_at.date() <= q.target_reply_date
        figures.answered += 1
        figures.answered_by_month[month] += 1
        figures.answered_within_original_target += within_original
        figures.original_target_by_month[month] += within_original
        figures.answered_on_target += within_target
        figures.extended_target_by_month[month] += within_target
        if extended:
            figures.extended_answered += 1
            figures.extended_answered_within_extension += within_target
    for name, attribute in _DESCRIBED.items():
        setattr(figures, attribute, protect(open_[name], secret[name]))
    figures.median_days_to_reply, figures.p90_days_to_reply = _middle_and_p90(reply_days)
    _departments(figures, [c for q in queries for c in q.consultations])
    _feedback(figures, session.scalars(select(Feedback.rating).join(Query, Query.id == Feedback.query_id)
                                       .where(*in_period)))
    origins = session.execute(select(QA.origin, func.count(QA.id)).where(
        QA.origin.in_([QAOrigin(o) for o in QA_ORIGINS]), QA.created_at >= since, QA.created_at < until)
        .group_by(QA.origin)).all()
    figures.qas_added = Counter({origin.value: n for origin, n in origins})
    return figures


#: The descriptive breakdowns the confidentiality rule protects: name -> the PeriodFigures attribute.
_DESCRIBED = {"country": "by_country", "region": "by_region", "requester_type": "by_requester_type",
              "sector": "by_sector"}


def _described(q: Query) -> dict[str, str]:
    r = q.requester
    if q.country_source is None and q.country_concerned is None:  # stored before the query kept its own
        country, region = r.country, r.region
    else:
        country, region = q.country_concerned, q.region
    sector = " ".join((r.sector or "").split())
    return {"country": country or UNKNOWN, "region": region or UNKNOWN,
            "requester_type": r.requester_type.value if r.requester_type else UNKNOWN,
            "sector": sector[:1].upper() + sector[1:] if sector else UNKNOWN}


def protect(open_: Counter, confidential: Counter) -> Counter:
    """The module's rule: a confidential query stays in its row only when the row holds ``MIN_CELL`` queries."""
    counted = Counter(open_)
    for key, n in confidential.items():
        counted[key if open_[key] + n >= MIN_CELL else CONFIDENTIAL_BUCKET] += n
    return +counted


def _departments(figures: PeriodFigures, consultations: Iterable[Consultation]) -> None:
    by_code: dict[str, DepartmentFigures] = {}
    days: dict[str, list[float]] = {}
    for c in consultations:
        d = by_code.setdefault(c.department_code, DepartmentFigures(c.department_code))
        d.consulted += 1
        d.reminders_sent += c.reminders_sent or 0
        if c.input_received_at is not None:
            d.inputs += 1
            days.setdefault(c.department_code, []).append(
                (c.input_received_at - c.requested_at).total_seconds() / 86400)
    for code, d in by_code.items():
        d.median_days_to_input, d.p90_days_to_input = _middle_and_p90(days.get(code, []))
    figures.departments = sorted(by_code.values(), key=lambda d: (-d.consulted, d.code))
    figures.consultations = sum(d.consulted for d in figures.departments)
    figures.inputs = sum(d.inputs for d in figures.departments)
    figures.reminders_sent = sum(d.reminders_sent for d in figures.departments)
    figures.median_days_to_input, figures.p90_days_to_input = _middle_and_p90(
        [x for values in days.values() for x in values])


def _feedback(figures: PeriodFigures, ratings: Iterable[int | None]) -> None:
    marks = []
    for rating in ratings:
        figures.feedback += 1
        figures.by_rating[str(rating) if rating is not None else NO_MARK] += 1
        if rating is not None:
            marks.append(rating)
    figures.ratings = len(marks)
    figures.mean_rating = round(statistics.mean(marks), 2) if marks else None
    figures.useful = sum(1 for m in marks if m >= 4)
    figures.partly_useful = sum(1 for m in marks if m == 3)
    figures.not_useful = sum(1 for m in marks if m <= 2)


def _band(days: float) -> str:
    return next(label for label, bound in REPLY_BANDS if bound is None or days <= bound)


def nearest_rank(values: list[float], percent: float) -> float:
    """The smallest value with at least ``percent``% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(percent / 100 * len(ordered)) - 1, 0)]


def _middle_and_p90(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.median(values), 1), round(nearest_rank(values, 90), 1)


def year_earlier(day: date) -> date:
    """The same date a year before (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)



# ------------------------------------------------------------------------ what can be asked for
def report_period(start, end, today: date | None = None) -> tuple[date, date]:
    """The period a report is asked for (dates, or ``YYYY-MM-DD`` text), checked: the start on or before the
    end, from ``FIRST_YEAR`` to the end of this year (``today``'s; unchecked without it), at most ``MAX_YEARS``
    long. Raises ValueError with a message fit to show."""
    first, last = _date(start, "start"), _date(end, "end")
    if first > last:
        raise ValueError(f"the period starts on {first}, after it ends on {last}: the start must come first")
    if first.year < FIRST_YEAR:
        raise ValueError(f"there are no records before {FIRST_YEAR}: start on {FIRST_YEAR}-01-01 or later")
    if today is not None and last > date(today.year, 12, 31):
        raise ValueError(f"the period ends on {last}, after this year: end on {today.year}-12-31 at the latest")
    if (last - first).days >= 366 * MAX_YEARS:
        raise ValueError(f"the period is longer than {MAX_YEARS} years: report on a shorter one")
    return first, last


def _date(value, which: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value if value is not None else "").strip()
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the {which} date {text[:20]!r} is not a date: write it as YYYY-MM-DD, e.g. "
                         "2026-01-31") from None


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


def year_period(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)
