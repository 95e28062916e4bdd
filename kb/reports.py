"""The helpdesk's report over a period, from the store alone: what it did with the queries received from
one date to another, with the same dates a year earlier beside it when that period has queries.

``period_report`` (one unit of work, through ``HelpdeskService.period_report``) returns a ``PeriodReport``:
the period's ``PeriodFigures``, the year before's (or None), and the same figures laid out as named
``ReportTable``s (a title, column names, rows of plain values) that every adapter renders: the console's
Reports page, the HTML file and CSVs of ``helpdesk report``, its text and JSON. ``period_figures`` is one
period alone (``HelpdeskService.annual_report``). ``report_period`` and ``report_year`` check what a
person asked for. No table has an organisation, a name, an address or any text of a query.

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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kb.calendar import day_start
from kb.models import QA, Consultation, Feedback, QAOrigin, Query, Reply

#: A descriptive row with fewer queries than this never shows a confidential one.
MIN_CELL = 5
CONFIDENTIAL_BUCKET = "other (fewer than 5, confidential)"
UNKNOWN = "unknown"
MANUAL_TRIAGE = "(manual triage)"
NO_MARK = "no mark"
#: Time to reply, in calendar days: (label, upper bound included); the last band has no bound.
REPLY_BANDS = (("up to 7 days", 7.0), ("7 to 14 days", 14.0), ("14 to 30 days", 30.0), ("over 30 days", None))
RATINGS = (5, 4, 3, 2, 1, NO_MARK)
QA_ORIGINS = (QAOrigin.PROMOTED.value, QAOrigin.WRITTEN.value)

#: The first year a report can be asked for (the helpdesk's records start after it), and the longest period.
FIRST_YEAR = 2000
MAX_YEARS = 10
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ------------------------------------------------------------------------ figures
@dataclass
class DepartmentFigures:
    code: str
    consulted: int = 0
    inputs: int = 0
    median_days_to_input: float | None = None
    p90_days_to_input: float | None = None
    reminders_sent: int = 0


@dataclass
class PeriodFigures:
    """One period's figures. Counters are keyed by plain strings (months as ``YYYY-MM``); the descriptive
    ones (country, region, requester type, sector) are already protected (see the module's rule)."""

    start: date
    end: date
    queries: int = 0
    confidential: int = 0
    received_by_month: Counter = field(default_factory=Counter)
    answered_by_month: Counter = field(default_factory=Counter)
    original_target_by_month: Counter = field(default_factory=Counter)
    extended_target_by_month: Counter = field(default_factory=Counter)
    by_channel: Counter = field(default_factory=Counter)
    by_topic: Counter = field(default_factory=Counter)
    by_language: Counter = field(default_factory=Counter)
    by_country: Counter = field(default_factory=Counter)
    by_region: Counter = field(default_factory=Counter)
    by_requester_type: Counter = field(default_factory=Counter)
    by_sector: Counter = field(default_factory=Counter)
    #: Queries replied to at least once.
    answered: int = 0
    answered_within_original_target: int = 0
    #: Within the target as it stands (extensions counted).
    answered_on_target: int = 0
    extended: int = 0
    extended_answered: int = 0
    extended_answered_within_extension: int = 0
    median_days_to_reply: float | None = None
    p90_days_to_reply: float | None = None
    reply_bands: Counter = field(default_factory=Counter)
    self_served: int = 0
    departments: list[DepartmentFigures] = field(default_factory=list)
    consultations: int = 0
    inputs: int = 0
    median_days_to_input: float | None = None
    p90_days_to_input: float | None = None
    reminders_sent: int = 0
    feedback: int = 0
    by_rating: Counter = field(default_factory=Counter)
    ratings: int = 0
    mean_rating: float | None = None
    useful: int = 0
    partly_useful: int = 0
    not_useful: int = 0
    qas_added: Counter = field(default_factory=Counter)

    @property
    def qas_promoted(self) -> int:
        return self.qas_added[QAOrigin.PROMOTED.value]

    @property
    def qas_written(self) -> int:
        return self.qas_added[QAOrigin.WRITTEN.value]

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def label(self) -> str:
        return period_label(self.start, self.end)

    def share(self, part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}
        for name, value in vars(self).items():
            if name in ("start", "end"):
                continue
            if isinstance(value, Counter):
                value = {str(k): v for k, v in sorted(value.items(), key=lambda kv: (-kv[1], str(kv[0])))}
            elif name == "departments":
                value = [vars(d) for d in value]
            data[name] = value
        data["qas_promoted"], data["qas_written"] = self.qas_promoted, self.qas_written
        return data


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

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns), "rows": [list(r) for r in self.rows]}


@dataclass
class PeriodReport:
    figures: PeriodFigures
    #: The same dates a year earlier, when that period has queries; else None.
    previous: PeriodFigures | None
    tables: dict[str, ReportTable]

    @property
    def start(self) -> date:
        return self.figures.start

    @property
    def end(self) -> date:
        return self.figures.end

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "label": self.figures.label,
                "figures": self.figures.as_dict(), "previous": self.previous.as_dict() if self.previous else None,
                "tables": {name: table.as_dict() for name, table in self.tables.items()}}


TABLE_NAMES = ("summary", "months", "channels", "topics", "countries", "regions", "requester_types", "sectors",
               "languages", "departments", "reply_times", "feedback", "qas")


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


def months_of(start: date, end: date) -> list[str]:
    """The calendar months the period touches, as ``YYYY-MM``."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def period_label(start: date, end: date) -> str:
    if start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return str(start.year)
    return f"{start.isoformat()} to {end.isoformat()}"


# ------------------------------------------------------------------------ tables
def report_tables(figures: PeriodFigures, previous: PeriodFigures | None = None, *,
                  topic_names: Mapping[str, str] | None = None, department_names: Mapping[str, str] | None = None,
                  countries=None) -> dict[str, ReportTable]:
    """The figures as named tables, in ``TABLE_NAMES`` order. With ``previous``, each table gains the year
    before beside its counts (``year_before``; in the months table ``received_year_before``, month by month)."""
    label = figures.label
    before = previous is not None

    def beside(rows: list[tuple], get) -> list[tuple]:
        return [(*row, get(row)) for row in rows] if before else rows

    tables = {"summary": ReportTable("summary", f"The helpdesk in {label}",
                                     ("figure", "value", *(["year_before"] if before else [])),
                                     _summary_rows(figures, previous))}

    month_rows = [(m, figures.received_by_month[m], figures.answered_by_month[m],
                   figures.original_target_by_month[m], figures.extended_target_by_month[m])
                  for m in months_of(figures.start, figures.end)]
    month_rows = beside(month_rows, lambda row: previous.received_by_month[_month_before(row[0])])
    tables["months"] = ReportTable(
        "months", f"Queries received per month, {label}, and how many are answered",
        ("month", "received", "answered", "within_original_target", "within_extended_target",
         *(["received_year_before"] if before else [])), month_rows)

    def counted(name: str, title: str, key: str, attribute: str, names: Mapping[str, str] | None = None,
                order: Iterable[str] | None = None) -> None:
        now, then = getattr(figures, attribute), getattr(previous, attribute) if before else Counter()
        keys = list(order) if order is not None else sorted(
            set(now) | set(then), key=lambda k: (k in (CONFIDENTIAL_BUCKET, UNKNOWN), -now[k], -then[k], str(k)))
        rows = [((k, names.get(k, k)) if names is not None else (k,)) + (now[k],) for k in keys]
        tables[name] = ReportTable(name, f"{title}, {label}", (key, *(["name"] if names is not None else []),
                                                                 "queries", *(["year_before"] if before else [])),
                                   beside(rows, lambda row: then[row[0]]))

    counted("channels", "Queries by channel", "channel", "by_channel")
    counted("topics", "Queries by topic", "topic", "by_topic", names={
        **(topic_names or {}), MANUAL_TRIAGE: "No topic (manual triage)"})
    # Countries: code, name and ILO region; the confidential bucket and the unknown have no code.
    now, then = figures.by_country, previous.by_country if before else Counter()
    keys = sorted(set(now) | set(then), key=lambda k: (k in (CONFIDENTIAL_BUCKET, UNKNOWN), -now[k], -then[k], k))
    rows = [(*_country(k, countries), now[k]) for k in keys]
    tables["countries"] = ReportTable("countries", f"Queries by country concerned, {label}",
                                      ("country", "name", "region", "queries", *(["year_before"] if before else [])),
                                      [(*row, then[k]) for row, k in zip(rows, keys)] if before else rows)
    counted("regions", "Queries by ILO region of the country concerned", "region", "by_region")
    counted("requester_types", "Queries by type of requester", "requester_type", "by_requester_type")
    counted("sectors", "Queries by sector of the requester", "sector", "by_sector")
    counted("languages", "Queries by language", "language", "by_language")

    then_departments = {d.code: d for d in previous.departments} if before else {}
    department_rows = [(d.code, (department_names or {}).get(d.code, d.code), d.consulted, d.inputs,
                        d.median_days_to_input, d.p90_days_to_input, d.reminders_sent) for d in figures.departments]
    tables["departments"] = ReportTable(
        "departments", f"Departments consulted, {label}: inputs and days to give them",
        ("department", "name", "consulted", "inputs", "median_days_to_input", "p90_days_to_input",
         "reminders_sent", *(["consulted_year_before"] if before else [])),
        beside(department_rows, lambda row: then_departments[row[0]].consulted if row[0] in then_departments else 0))
    counted("reply_times", "Answered queries by days to the first reply", "days_to_reply", "reply_bands",
            order=[label_ for label_, _ in REPLY_BANDS])
    tables["reply_times"] = _rename(tables["reply_times"], "queries", "answered")
    counted("feedback", "Feedback by rating (5 best)", "rating", "by_rating", order=[str(r) for r in RATINGS])
    tables["feedback"] = _rename(tables["feedback"], "queries", "feedback")
    counted("qas", "Q&As added to the bank", "origin", "qas_added", order=QA_ORIGINS)
    tables["qas"] = _rename(tables["qas"], "queries", "added")
    return {name: tables[name] for name in TABLE_NAMES}


def _rename(table: ReportTable, old: str, new: str) -> ReportTable:
    return ReportTable(table.name, table.title, tuple(new if c == old else c for c in table.columns), table.rows)


def _country(key: str, countries) -> tuple[str, str, str]:
    if key in (CONFIDENTIAL_BUCKET, UNKNOWN):
        return "", key, ""
    if countries is None:
        return key, key, ""
    try:
        country = countries.by_code(key)
    except ValueError:
        return key, key, ""
    return key, country.name, country.region or ""


def _month_before(month: str) -> str:
    year, number = month.split("-")
    return f"{int(year) - 1}-{number}"


def _summary_rows(f: PeriodFigures, p: PeriodFigures | None) -> list[tuple]:
    """(figure, value[, year before]): counts, days (0.1) and shares (percent, 0.1)."""
    def rows(x: PeriodFigures) -> list[tuple[str, Any]]:
        return [
            ("queries received", x.queries),
            ("confidential queries (counted, never described)", x.confidential),
            ("answered", x.answered),
            ("answered (% of received)", x.share(x.answered, x.queries)),
            ("answered within the original target", x.answered_within_original_target),
            ("answered within the original target (% of answered)",
             x.share(x.answered_within_original_target, x.answered)),
            ("answered within the target, extensions counted", x.answered_on_target),
            ("answered within the target, extensions counted (% of answered)",
             x.share(x.answered_on_target, x.answered)),
            ("targets extended", x.extended),
            ("extended targets answered", x.extended_answered),
            ("answered within the extended target", x.extended_answered_within_extension),
            ("answered within the extended target (% of extended answered)",
             x.share(x.extended_answered_within_extension, x.extended_answered)),
            ("median days to reply", x.median_days_to_reply),
            ("90th percentile days to reply", x.p90_days_to_reply),
            ("self-served", x.self_served),
            ("self-served (% of received)", x.share(x.self_served, x.queries)),
            ("departments consulted (consultations)", x.consultations),
            ("inputs received", x.inputs),
            ("median days to give input", x.median_days_to_input),
            ("90th percentile days to give input", x.p90_days_to_input),
            ("reminders sent", x.reminders_sent),
            ("feedback received", x.feedback),
            ("ratings", x.ratings),
            ("mean rating", x.mean_rating),
            ("useful, rated 4 or 5 (% of ratings)", x.share(x.useful, x.ratings)),
            ("partly useful, rated 3 (% of ratings)", x.share(x.partly_useful, x.ratings)),
            ("not useful, rated 1 or 2 (% of ratings)", x.share(x.not_useful, x.ratings)),
            ("Q&As added", sum(x.qas_added.values())),
            ("Q&As promoted from queries", x.qas_promoted),
            ("Q&As written", x.qas_written),
        ]

    now = rows(f)
    if p is None:
        return now
    return [(name, value, then) for (name, value), (_, then) in zip(now, rows(p))]


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
