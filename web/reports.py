"""The console's Reports page: a year's figures as tables and charts, and each table as a CSV download.

A mixin of ``web.views.Console`` (its ``render``, ``_who`` and ``_to_login``), with the same rules:
one call on the service per view (``annual_report``), every rule in ``kb`` (``kb.reports``: which
years can be asked for, how the figures are laid out as tables). Viewers read reports too: they
are aggregate figures, and no table names a requester or an organisation.

The charts are PNG images drawn on the server (``web.charts``) and put in the page as ``data:``
URIs (the CSP allows ``img-src data:``), each with alt text giving its numbers and followed by the
same figures as a table, so the page needs no JavaScript and reads without the pictures.
"""

from __future__ import annotations

import base64
import csv
import io
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from kb.reports import FIRST_YEAR, MONTHS, TABLE_NAMES, AnnualReport, ReportTable, report_tables, report_year
from web import charts

log = logging.getLogger("helpdesk.web")

LANGUAGES = {"en": "English", "fr": "French", "es": "Spanish"}
#: Tables drawn as horizontal bars: table name -> what one bar counts (the x axis).
BAR_CHARTS = ("topics", "regions", "requester_types", "channels", "languages")
MONTH_SERIES = {"received": "received", "answered": "answered", "answered_on_target": "answered on target"}


class ReportPages:
    async def reports(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        this_year = self.service.clock().year
        asked = request.query_params.get("year", "").strip()
        try:
            year = report_year(asked, this_year) if asked else this_year
        except ValueError as exc:
            return self.render(request, session, "reports.html", status=400, account=account, error=str(exc),
                               year=None, asked=asked[:20], this_year=this_year, first_year=FIRST_YEAR,
                               report=None, sections=[], summary=None)
        report, sections = await run_in_threadpool(self._report_sections, year)
        return self.render(request, session, "reports.html", account=account, year=year, asked=str(year),
                           this_year=this_year, first_year=FIRST_YEAR, report=report, sections=sections,
                           summary=_summary(report))

    async def report_csv(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        name = request.path_params["table"]
        if name not in TABLE_NAMES:
            return self.render(request, session, "error.html", status=404, account=account,
                               message=f"no report table {name[:40]!r}: the tables are {', '.join(TABLE_NAMES)}")
        try:
            year = report_year(request.path_params["year"], self.service.clock().year)
        except ValueError as exc:
            return self.render(request, session, "error.html", status=400, account=account, message=str(exc))
        report = await run_in_threadpool(self.service.annual_report, year)
        table = report_tables(report, self._topic_names())[name]
        log.info("console: report %s %s.csv downloaded by %s", year, name, account.name)
        return Response(to_csv(table), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="helpdesk-report-{year}-{name}.csv"',
            "cache-control": "no-store"})

    # ---------------------------------------------------------------- helpers
    def _topic_names(self) -> dict[str, str]:
        return {code: topic.name() for code, topic in self.service.policy.topics.items()}

    def _report_sections(self, year: int) -> tuple[AnnualReport, list[dict]]:
        """The year's report (ONE call on the service) and, per table, what the page shows of it (in a worker
        thread: drawing the charts takes a few tens of milliseconds each)."""
        report = self.service.annual_report(year)
        tables = report_tables(report, self._topic_names())
        sections = [_months_section(tables["months"], report)]
        sections += [_bars_section(tables[name], report) for name in BAR_CHARTS]
        return report, sections


# -------------------------------------------------------------------- sections
def _months_section(table: ReportTable, report: AnnualReport) -> dict:
    labels = [MONTHS[int(month[-2:]) - 1] for month in table.column("month")]
    series = {title: table.column(column) for column, title in MONTH_SERIES.items()}
    chart = None
    if report.queries:
        title = f"Queries per month, {report.year}"
        png = charts.monthly_bars(title, labels, series, ylabel="Queries")
        alt = (f"Grouped bar chart: {title}, received, answered and answered on target. " +
               "; ".join(f"{label}: {r} received, {a} answered, {t} on target"
                         for label, r, a, t in zip(labels, *series.values()) if r))
        chart = _image(png, alt)
    rows = [(label, *values) for label, *values in zip(labels, *series.values())]
    return {"name": table.name, "title": table.title, "chart": chart, "note": None,
            "columns": ["Month", *(title.capitalize() for title in series)], "rows": rows, "numeric_from": 1,
            "total": ("Total", report.queries, report.answered, report.answered_on_target)}


def _bars_section(table: ReportTable, report: AnnualReport) -> dict:
    key = table.columns[0]
    labels = [_display(key, row) for row in table.rows]
    values = table.column("queries")
    chart = None
    if table.rows:
        title = f"{table.title}, {report.year}"
        png = charts.horizontal_bars(title, labels, values, xlabel="Queries")
        alt = f"Bar chart: {title}. " + "; ".join(f"{label}: {n}" for label, n in zip(labels, values))
        chart = _image(png, alt)
    note = "A query can have several topics: the counts can add up to more than the queries." \
        if table.name == "topics" else None
    return {"name": table.name, "title": table.title, "chart": chart, "note": note,
            "columns": [key.replace("_", " ").capitalize(), "Queries", "Share of queries"], "numeric_from": 1,
            "rows": [(label, n, _share(n, report.queries)) for label, n in zip(labels, values)], "total": None}


def _display(key: str, row: tuple) -> str:
    if key == "topic":
        return row[1] if len(row) > 2 else row[0]
    if key == "language":
        return LANGUAGES.get(row[0], row[0])
    return str(row[0]).replace("_", " ").capitalize() if key in ("requester_type", "channel") else str(row[0])


def _share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "-"


def _image(png: bytes, alt: str) -> dict:
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # the PNG's IHDR
    return {"src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"), "alt": alt,
            "width": width, "height": height}


def _summary(report: AnnualReport) -> list[tuple[str, str, str, str | None]]:
    """The headline figures: (id, label, value, note)."""
    def number(value) -> str:
        return "-" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))

    return [
        ("queries", "Queries received", number(report.queries), None),
        ("answered", "Answered", number(report.answered), f"{_share(report.answered, report.queries)} of received"
         if report.queries else None),
        ("on-target", "Answered on target", number(report.answered_on_target),
         f"{_share(report.answered_on_target, report.answered)} of answered" if report.answered else None),
        ("median-days", "Median days to reply", number(report.median_days_to_reply), None),
        ("self-served", "Self-served", number(report.self_served), "closed from a Q&A shown in Telegram"),
        ("extended", "Targets extended", number(report.extended), None),
        ("ratings", "Ratings", number(report.ratings),
         f"mean {number(report.mean_rating)} out of 5" if report.ratings else None),
        ("qas", "Q&As added", number(report.qas_promoted), "promoted from answered queries"),
    ]


# ------------------------------------------------------------------------- CSV
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
