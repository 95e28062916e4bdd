"""The report as people read it: sections of charts and tables, one self-contained HTML file, and CSVs.

``sections`` turns a ``kb.reports.PeriodReport`` (one service call) into what a page shows of each table:
its chart(s) as PNG ``data:`` URIs drawn by ``web.charts`` (each with alt text giving its numbers), and
the same figures as a table, with the year before beside them when there is one. The console's Reports
page (``web.reports``) and the offline file share them.

``render_html`` is the file ``helpdesk report --out`` writes: one HTML document with its styles and
charts inside, readable with no network and printable to PDF from a browser (each section is kept on one
page where it fits). ``write_report`` writes it with one CSV per table (``to_csv``) into a folder,
after everything was rendered, so a failure writes nothing. No figure is computed here: every number
comes from ``kb.reports``, which also applies the confidentiality rule.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime
from pathlib import Path

from kb.reports import (
    CONFIDENTIAL_BUCKET,
    MIN_CELL,
    MONTHS,
    TABLE_NAMES,
    UNKNOWN,
    PeriodReport,
    ReportTable,
)
from web import charts

TEMPLATES = Path(__file__).with_name("templates")
HTML_NAME = "report.html"
LANGUAGES = {"en": "English", "fr": "French", "es": "Spanish"}
CHANNELS = {"email": "Email", "telegram": "Telegram", "cli": "Command line"}
#: The breakdowns drawn as horizontal bars: table name -> (what its first column is called, bars drawn at most).
BREAKDOWNS = {"channels": ("Channel", 20), "topics": ("Topic", 30), "countries": ("Country", 15),
              "regions": ("ILO region", 20), "requester_types": ("Type of requester", 20),
              "sectors": ("Sector", 15), "languages": ("Language", 20)}
NOTES = {
    "topics": "A query can have several topics: the counts can add up to more than the queries.",
    "countries": "The country the query is about (not the requester's own).",
    "regions": "The ILO region of the country the query is about (not the requester's).",
    "months": "Within the original target: first reply on or before the target set on receipt. Within the extended "
              "target: on or before the target as it stands after any extension.",
    "departments": "Days to give input: from the request to the department's first input. The 90th percentile is "
                   "the nearest rank.",
    "reply_times": "Calendar days from receipt to the first reply (a query answered again keeps its first time).",
    "feedback": "Useful: rated 4 or 5; partly: 3; not useful: 1 or 2.",
    "qas": "Promoted from answered queries, or written by the helpdesk (the shipped bank is not counted).",
}
PROTECTED_NOTE = (f"Confidential queries are counted, never described: one shows in a row only when the row holds "
                  f"at least {MIN_CELL} queries, otherwise in \u201c{CONFIDENTIAL_BUCKET}\u201d.")


# ------------------------------------------------------------------------ sections
def sections(report: PeriodReport) -> list[dict]:
    """What a page shows of each table but the summary, in ``TABLE_NAMES`` order: name, title, charts,
    note, display columns and rows, the column the numbers start at, and a total row."""
    f, tables = report.figures, report.tables
    built = [_months(tables["months"], report)]
    for name in TABLE_NAMES[2:]:
        if name in BREAKDOWNS:
            built.append(_breakdown(tables[name], report))
        elif name == "departments":
            built.append(_departments(tables[name], report))
        else:
            built.append(_columns(tables[name], report))
    for section in built:
        if section["name"] in ("countries", "regions", "requester_types", "sectors") and f.confidential:
            section["note"] = " ".join(filter(None, (section["note"], PROTECTED_NOTE)))
    return built


def summary_table(report: PeriodReport) -> dict:
    """The summary as a section: each figure, its value and the year before's."""
    table = report.tables["summary"]
    before = report.previous is not None
    rows = [(_sentence(figure), *(_value(figure, v) for v in values)) for figure, *values in table.rows]
    return {"name": "summary", "title": table.title, "charts": [], "note": None, "rows": rows, "numeric_from": 1,
            "columns": ["Figure", report.figures.label, *([report.previous.label] if before else [])], "total": None}


def summary_tiles(report: PeriodReport) -> list[tuple[str, str, str, str | None]]:
    """The headline figures: (id, label, value, note), the note giving the share or the year before."""
    f, p = report.figures, report.previous

    def was(attribute: str, suffix: str = "") -> str | None:
        return f"{p.label}: {_number(getattr(p, attribute))}{suffix}" if p is not None else None

    def joined(*parts: str | None) -> str | None:
        return "; ".join(x for x in parts if x) or None

    return [
        ("queries", "Queries received", _number(f.queries),
         joined(f"{f.confidential} confidential" if f.confidential else None, was("queries"))),
        ("answered", "Answered", _number(f.answered),
         joined(f"{_percent(f.share(f.answered, f.queries))} of received" if f.queries else None, was("answered"))),
        ("on-target", "Within the original target", _number(f.answered_within_original_target),
         joined(f"{_percent(f.share(f.answered_within_original_target, f.answered))} of answered"
                if f.answered else None, was("answered_within_original_target"))),
        ("extended", "Within an extended target", _number(f.extended_answered_within_extension),
         f"of {f.extended} target(s) extended, {f.extended_answered} answered"),
        ("median-days", "Median days to reply", _number(f.median_days_to_reply),
         joined(f"90th percentile {_number(f.p90_days_to_reply)}" if f.answered else None,
                was("median_days_to_reply"))),
        ("self-served", "Self-served", _number(f.self_served), "closed from a Q&A shown in Telegram"),
        ("inputs", "Inputs from departments", _number(f.inputs),
         f"of {f.consultations} consultations; median {_number(f.median_days_to_input)} days, "
         f"{f.reminders_sent} reminder(s)"),
        ("ratings", "Ratings", _number(f.ratings),
         joined(f"mean {_number(f.mean_rating)} out of 5, {_percent(f.share(f.useful, f.ratings))} useful"
                if f.ratings else None, was("ratings"))),
        ("qas", "Q&As added", _number(sum(f.qas_added.values())),
         f"{f.qas_promoted} promoted from queries, {f.qas_written} written"),
    ]


def _months(table: ReportTable, report: PeriodReport) -> dict:
    f = report.figures
    one_year = f.start.year == f.end.year
    labels = [MONTHS[int(m[-2:]) - 1] + ("" if one_year else f" {m[:4]}") for m in table.column("month")]
    series = {"received": table.column("received"), "answered": table.column("answered"),
              "within original target": table.column("within_original_target"),
              "within extended target": table.column("within_extended_target")}
    if report.previous is not None:
        series[f"received, {report.previous.label}"] = table.column("received_year_before")
    charts_ = []
    if f.queries:
        title = f"Queries per month, {f.label}"
        png = charts.grouped_columns(title, labels, series, ylabel="Queries", xlabel="Month received")
        alt = (f"Grouped column chart: {title}: " + ", ".join(series) + ". " +
               "; ".join(f"{label}: " + ", ".join(f"{v} {name}" for name, v in zip(series, values))
                         for label, *values in zip(labels, *series.values()) if any(values)))
        charts_.append(image(png, alt))
    rows = [(label, *values) for label, *values in zip(labels, *series.values())]
    total = ("Total", f.queries, f.answered, f.answered_within_original_target, f.answered_on_target,
             *([report.previous.queries] if report.previous is not None else []))
    return {"name": table.name, "title": table.title, "charts": charts_, "note": NOTES["months"], "rows": rows,
            "columns": ["Month", *(name[:1].upper() + name[1:] for name in series)], "numeric_from": 1,
            "total": total}


def _breakdown(table: ReportTable, report: PeriodReport) -> dict:
    f, p = report.figures, report.previous
    heading, most = BREAKDOWNS[table.name]
    labels = [_label(table, row) for row in table.rows]
    values = table.column("queries")
    before = table.column("year_before") if p is not None else None
    charts_ = []
    shown = [i for i, (v, b) in enumerate(zip(values, before or values)) if v or b][:most]
    if shown:
        title = table.title
        series = {f.label: [values[i] for i in shown]}
        if before is not None:
            series[p.label] = [before[i] for i in shown]
        png = charts.horizontal_groups(title, [labels[i] for i in shown], series if p is not None
                                       else {"": series[f.label]}, xlabel="Queries")
        alt = f"Bar chart: {title}" + (f", beside {p.label}" if p is not None else "") + ". " + "; ".join(
            f"{labels[i]}: {values[i]}" + (f" ({before[i]} in {p.label})" if before is not None else "")
            for i in shown) + (f"; {len(labels) - len(shown)} more in the table." if len(labels) > len(shown)
                              else "")
        charts_.append(image(png, alt))
    extra = ["ILO region"] if table.name == "countries" else []
    rows = []
    for row, label, n, i in zip(table.rows, labels, values, range(len(values))):
        region = [row[2] or "-"] if table.name == "countries" else []
        rows.append((label, *region, n, _percent(f.share(n, f.queries)) if f.queries else "-",
                     *([before[i]] if before is not None else [])))
    return {"name": table.name, "title": table.title, "charts": charts_, "note": NOTES.get(table.name),
            "rows": rows, "numeric_from": 1 + len(extra), "total": None,
            "columns": [heading, *extra, "Queries", "Share of queries", *([p.label] if p is not None else [])]}


def _departments(table: ReportTable, report: PeriodReport) -> dict:
    f, p = report.figures, report.previous
    labels = [f"{name} ({code})" if name != code else code for code, name, *_ in table.rows]
    charts_ = []
    if table.rows:
        title = f"Departments consulted and their inputs, {f.label}"
        consulted, inputs = table.column("consulted"), table.column("inputs")
        png = charts.horizontal_groups(title, labels, {"consulted": consulted, "inputs received": inputs},
                                       xlabel="Consultations")
        alt = f"Bar chart: {title}. " + "; ".join(f"{label}: consulted {c}, {i} input(s)"
                                                 for label, c, i in zip(labels, consulted, inputs))
        charts_.append(image(png, alt))
        timed = [i for i, m in enumerate(table.column("median_days_to_input")) if m is not None]
        if timed:
            title = f"Days to give input, {f.label}"
            median, p90 = table.column("median_days_to_input"), table.column("p90_days_to_input")
            png = charts.horizontal_groups(title, [labels[i] for i in timed],
                                           {"median": [median[i] for i in timed],
                                            "90th percentile": [p90[i] for i in timed]}, xlabel="Days")
            alt = f"Bar chart: {title}. " + "; ".join(f"{labels[i]}: median {_number(median[i])}, 90th percentile "
                                                     f"{_number(p90[i])}" for i in timed)
            charts_.append(image(png, alt))
    rows = [(label, consulted, inputs, _number(median), _number(p90), reminders, *later)
            for label, (_, _, consulted, inputs, median, p90, reminders, *later) in zip(labels, table.rows)]
    total = ("Total", f.consultations, f.inputs, _number(f.median_days_to_input), _number(f.p90_days_to_input),
             f.reminders_sent, *([p.consultations] if p is not None else []))
    return {"name": table.name, "title": table.title, "charts": charts_, "note": NOTES["departments"],
            "rows": rows, "numeric_from": 1, "total": total if table.rows else None,
            "columns": ["Department", "Consulted", "Inputs", "Median days to input", "90th percentile days",
                        "Reminders sent", *([f"Consulted, {p.label}"] if p is not None else [])]}


#: The small tables drawn as columns: name -> (first column heading, what is counted, x axis, has a chart).
_COLUMNS = {"reply_times": ("Days to the first reply", "answered", "Days to the first reply", True),
            "feedback": ("Rating", "feedback", "Rating (5 best)", True),
            "qas": ("Added", "added", "Origin", False)}


def _columns(table: ReportTable, report: PeriodReport) -> dict:
    f, p = report.figures, report.previous
    heading, counted, xlabel, drawn = _COLUMNS[table.name]
    labels = [_label(table, row) for row in table.rows]
    values = table.column(counted)
    before = table.column("year_before") if p is not None else None
    charts_ = []
    if drawn and any(values):
        series = {f.label: values, **({p.label: before} if before is not None else {})}
        png = charts.grouped_columns(table.title, labels, series if p is not None else {"": values},
                                     ylabel=counted.capitalize(), xlabel=xlabel)
        alt = f"Column chart: {table.title}. " + "; ".join(
            f"{label}: {v}" + (f" ({before[i]} in {p.label})" if before is not None else "")
            for i, (label, v) in enumerate(zip(labels, values)))
        charts_.append(image(png, alt))
    whole = sum(values)
    rows = [(label, v, _percent(f.share(v, whole)) if whole else "-", *([before[i]] if before is not None else []))
            for i, (label, v) in enumerate(zip(labels, values))]
    total = ("Total", whole, "", *([sum(before)] if before is not None else []))
    return {"name": table.name, "title": table.title, "charts": charts_, "note": NOTES.get(table.name),
            "rows": rows, "numeric_from": 1, "total": total,
            "columns": [heading, counted.capitalize(), "Share", *([p.label] if p is not None else [])]}


def _label(table: ReportTable, row: tuple) -> str:
    key = str(row[0])
    if key == UNKNOWN:
        return "Not known"
    if table.name in ("topics", "countries"):
        return str(row[1])
    if table.name == "channels":
        return CHANNELS.get(key, key)
    if table.name == "languages":
        return LANGUAGES.get(key, key)
    if table.name == "requester_types":
        return key if key.startswith("other (") else key.replace("_", " ").capitalize()
    if table.name == "feedback":
        return key if not key.isdigit() else f"{key} of 5"
    if table.name == "qas":
        return {"promoted": "Promoted from queries", "written": "Written"}.get(key, key)
    return key


def _sentence(figure: str) -> str:
    return figure[:1].upper() + figure[1:]


def _value(figure: str, value) -> str:
    return _percent(value) if "%" in figure else _number(value)


def _number(value) -> str:
    return "-" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g}%"


def image(png: bytes, alt: str) -> dict:
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # the PNG's IHDR
    return {"src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"), "alt": alt,
            "width": width, "height": height}


# ------------------------------------------------------------------------ files
def render_html(report: PeriodReport, *, generated_at: datetime, helpdesk: str = "Helpdesk") -> str:
    """The report as one HTML document: styles and charts inside, links to the CSVs beside it."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined)
    return env.get_template("report_file.html").render(
        report=report, figures=report.figures, previous=report.previous, helpdesk=helpdesk,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"), summary=summary_table(report),
        tiles=summary_tiles(report), sections=sections(report),
        protected_note=PROTECTED_NOTE)


def write_report(report: PeriodReport, folder: Path, *, generated_at: datetime, helpdesk: str = "Helpdesk",
                 html: bool = True, extra: dict[str, str] | None = None) -> list[Path]:
    """Write ``report.html`` (unless ``html`` is False), one CSV per table and any ``extra`` files (name ->
    text) into ``folder`` (created if missing); returns the paths written. Everything is rendered before
    the first file is written; a ``folder`` that is a file is refused."""
    folder = Path(folder)
    check_folder(folder)
    files = {f"{name}.csv": to_csv(table) for name, table in report.tables.items()}
    if html:
        files[HTML_NAME] = render_html(report, generated_at=generated_at, helpdesk=helpdesk)
    files.update(extra or {})
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = folder / name
            path.write_text(text, encoding="utf-8", newline="")
            written.append(path)
    except OSError as exc:
        raise ValueError(f"{folder}: the report cannot be written there ({exc.strerror or exc})") from None
    return written


def check_folder(folder: Path) -> None:
    """Refuse an output folder that cannot be one: a file, or under a file."""
    for path in (folder, *folder.parents):
        if path.exists() and not path.is_dir():
            raise ValueError(f"{folder}: {'it' if path == folder else path} is a file, not a folder: "
                             "give a folder to write the report into")
        if path.exists():
            return


def to_csv(table: ReportTable) -> str:
    """The table as CSV (a header row, then its rows); empty for None. A text cell that a spreadsheet would
    take for a formula is prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([_cell(value) for value in row] for row in table.rows)
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

