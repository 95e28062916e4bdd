"""The console's Reports page: a year's figures as tables and charts, and each table as a CSV download.

A mixin of ``web.views.Console`` (its ``render``, ``_who`` and ``_to_login``), with the same rules:
one call on the service per view (``period_report`` for the year), every rule in ``kb`` (``kb.reports``:
which years can be asked for, what is counted, the confidentiality rule, the tables). Viewers read
reports too: they are aggregate figures, no table names a requester or an organisation, and a
confidential query is never described.

The page shows what ``helpdesk report`` writes to its HTML file (``web.report_file``: the same sections,
charts and tables, with the year before beside them when it has queries). The charts are PNG images
drawn on the server (``web.charts``) and put in the page as ``data:`` URIs (the CSP allows
``img-src data:``), each with alt text giving its numbers and followed by the same figures as a table,
so the page needs no JavaScript and reads without the pictures.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from kb.reports import FIRST_YEAR, TABLE_NAMES, PeriodReport, report_year, year_period
from web.report_file import sections, summary_table, summary_tiles, to_csv

log = logging.getLogger("helpdesk.web")


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
                               report=None, sections=[], summary=None, tiles=[])
        report, shown = await run_in_threadpool(self._report_sections, year)
        return self.render(request, session, "reports.html", account=account, year=year, asked=str(year),
                           this_year=this_year, first_year=FIRST_YEAR, report=report, sections=shown,
                           summary=summary_table(report), tiles=summary_tiles(report))

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
        report = await run_in_threadpool(self.service.period_report, *year_period(year))
        log.info("console: report %s %s.csv downloaded by %s", year, name, account.name)
        return Response(to_csv(report.tables[name]), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="helpdesk-report-{year}-{name}.csv"',
            "cache-control": "no-store"})

    def _report_sections(self, year: int) -> tuple[PeriodReport, list[dict]]:
        """The year's report (ONE call on the service) and what the page shows of each table (in a worker
        thread: drawing the charts takes a few tens of milliseconds each)."""
        report = self.service.period_report(*year_period(year))
        return report, sections(report)
