"""``helpdesk eval FILE``: triage quality on a labelled set (JSONL: text, topics, optional language and qa)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer, friendly, open_helpdesk, console) -> None:
    @app.command("eval")
    @friendly
    def evaluate(file: Path = typer.Argument(..., help="JSONL: text, topics, optional language and qa (a Q&A key)"),
                 as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON")) -> None:
        """Measure topics, language detection, Q&A matching and drafts on a labelled evaluation set."""
        from kb.evaluation import format_report, load_cases

        if not file.is_file():
            raise ValueError(f"{file}: no such file")
        cases = load_cases(file)
        with open_helpdesk() as helpdesk:
            report = helpdesk.service.evaluate(cases)
        if as_json:
            console.print_json(json.dumps(report.as_dict()))
        else:
            console.print(format_report(report, f"Evaluation on {file}"), highlight=False, markup=False,
                          soft_wrap=True)
