"""``helpdesk report``: the helpdesk's figures over a period, as an HTML file with CSVs, as text or as JSON.

    helpdesk report --from 2026-01-01 --to 2026-12-31 --out report/   # report/report.html + one CSV per table
    helpdesk report --year 2026 --format text                         # the same figures, printed
    helpdesk report --year 2025 --json                                # for scripts

``--year`` is the calendar year (this year when no period is given). ``--out FOLDER`` writes the
report into the folder (created if missing): ``report.html`` (charts inside, readable offline,
printable to PDF from a browser) with ``--format html`` (the default there), or ``report.txt`` with
``--format text``, and one CSV per table either way. Without ``--out`` the figures are printed as text.
Every option is checked before the store is opened, and the whole report is rendered before the first
file is written: a mistake (dates the wrong way round or not dates, an ``--out`` that is a file) says
what is wrong and writes nothing. One call on the service (``period_report``); the figures and the
confidentiality rule are ``kb.reports``'s, the rendering ``web.report_file``'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

FORMATS = ("html", "text")


def register(app: typer.Typer, friendly, open_helpdesk, console) -> None:
    """Add the ``report`` command to ``app``, with the CLI's error handling and way of opening the helpdesk."""

    @app.command("report")
    @friendly
    def report(year: Optional[int] = typer.Option(None, help="A calendar year (default: this year)"),
               start: Optional[str] = typer.Option(None, "--from", help="First day, YYYY-MM-DD (with --to)"),
               end: Optional[str] = typer.Option(None, "--to", help="Last day, YYYY-MM-DD (with --from)"),
               out: Optional[Path] = typer.Option(None, "--out", help="Folder to write the report and its CSVs into"),
               fmt: Optional[str] = typer.Option(None, "--format", help="html (a file, needs --out) or text"),
               as_json: bool = typer.Option(False, "--json", help="Print the figures and tables as JSON")) -> None:
        """The report over a period: queries per month, by channel, topic, country and ILO region, requester
        type and sector; departments' inputs; time to reply and targets; self-service; Q&As; feedback; with
        the year before beside it."""
        from kb.reports import report_period, report_year, year_period
        from web.report_file import check_folder, write_report

        fmt = _format(fmt, out, as_json)
        if year is not None and (start or end):
            raise ValueError("give --year or --from and --to, not both")
        if (start is None) != (end is None):
            raise ValueError("--from and --to go together: give both dates, or --year")
        if start is not None:
            report_period(start, end)  # the dates' form and order, before anything is opened
        if out is not None:
            check_folder(out)
        with open_helpdesk() as helpdesk:
            today = helpdesk.clock().date()
            if start is not None:
                first, last = report_period(start, end, today)
            else:
                first, last = year_period(report_year(year if year is not None else today.year, today.year))
            result = helpdesk.service.period_report(first, last)
            name, generated = helpdesk.policy.name, helpdesk.clock()
        text = to_text(result, name)
        if out is not None:
            written = write_report(result, out, generated_at=generated, helpdesk=name, html=fmt == "html",
                                   extra={"report.txt": text} if fmt == "text" else None)
        if as_json:
            sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2) + "\n")
        elif fmt == "text":
            sys.stdout.write(text)
        if out is not None:
            console.print(f"Report {result.figures.label}: {len(written)} file(s) written to {out}: "
                          + ", ".join(p.name for p in written), highlight=False, markup=False, soft_wrap=True)


def _format(fmt: str | None, out: Path | None, as_json: bool) -> str | None:
    if fmt is None:
        return "html" if out is not None else (None if as_json else "text")
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt[:20]!r}: choose html or text")
    if as_json:
        raise ValueError("give --json or --format, not both")
    if fmt == "html" and out is None:
        raise ValueError("--format html writes a file: give --out FOLDER (or --format text to print the figures)")
    return fmt


# ------------------------------------------------------------------------ text
def to_text(report, helpdesk: str = "Helpdesk") -> str:
    """Every table of the report as aligned text, the summary first."""
    from kb.reports import CONFIDENTIAL_BUCKET, MIN_CELL

    f, p = report.figures, report.previous
    heading = f"{helpdesk}: report {f.label} ({f.start} to {f.end})" + (f", beside {p.label}" if p else "")
    lines = [heading, "=" * len(heading), ""]
    for table in report.tables.values():
        lines += [table.title, "-" * len(table.title)]
        if not table.rows:
            lines += ["(nothing to count)", ""]
            continue
        percent = table.name == "summary"
        cells = [list(table.columns)] + [[_cell(v, percent and "%" in str(row[0])) for v in row] for row in table.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
        numeric = [i > 0 and all(_numeric(row[i]) for row in table.rows) for i in range(len(table.columns))]
        for row in cells:
            lines.append("  ".join(c.rjust(w) if numeric[i] else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        lines.append("")
    lines.append(f"Confidential queries are counted, never described: in the country, region, requester type and "
                 f"sector tables one shows in its row only when the row holds at least {MIN_CELL} queries, "
                 f"otherwise in \"{CONFIDENTIAL_BUCKET}\".")
    return "\n".join(lines) + "\n"


def _cell(value, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" + ("%" if percent else "")
    return str(value) + ("%" if percent and isinstance(value, int) and not isinstance(value, bool) else "")


def _numeric(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
