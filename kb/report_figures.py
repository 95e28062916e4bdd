"""What the helpdesk's report over a period holds, and how it is laid out: the values ``kb.reports`` computes.

``PeriodFigures`` are one period's counts, medians and shares (with a ``DepartmentFigures`` per department
consulted); ``report_tables`` lays them out, the year before beside them, as the named ``ReportTable``s
(``TABLE_NAMES`` in order) that every adapter renders; a ``PeriodReport`` holds both. The keys the counters
use are defined here (``CONFIDENTIAL_BUCKET``, ``UNKNOWN``, the reply bands, the ratings, the Q&A origins);
what is counted, and the confidentiality rule, are ``kb.reports``'s, which computes the figures from the
store and re-exports everything here. Plain values only: no store, no session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kb.models import QAOrigin

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
    ones (country, region, requester type, sector) are already protected (see ``kb.reports``'s rule)."""

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
