"""The ``helpdesk`` command line.

Every command builds the helpdesk through ``config.bootstrap`` and makes one
call on the service. Mistakes in the configuration or the input end the
command with a clear message and a non-zero exit status, before anything is
changed.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from config.bootstrap import Helpdesk

#: The statuses `helpdesk queries --status` accepts (kb.models.QueryStatus's values; a test keeps them equal).
STATUSES = ("new", "manual_triage", "held", "routed", "awaiting_inputs", "draft_ready", "answered", "reopened",
            "closed")


class _Screen:
    """rich's ``Console``, made (and rich imported) when a command first prints: ``--help`` never pays for it."""

    def __init__(self, **options) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def real(self) -> "Console":
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.real, name)


# Help and usage errors are click's plain text: rich's help panels import about 60 ms of modules (markdown,
# tracebacks) on every `--help`, a third of its time on a small machine.
app = typer.Typer(help="Triage for a business helpdesk on international labour standards.", no_args_is_help=True,
                  add_completion=False, rich_markup_mode=None, context_settings={"max_content_width": 100})
console = _Screen()
errors = _Screen(stderr=True)
SAMPLES = Path(__file__).with_name("samples") / "queries.toml"


def _friendly(command):
    """Turn expected failures into one clear line and exit status (2: configuration or database, 1: input).

    Messages never show a secret: every configured password and token is replaced by ``***``."""
    def say(label: str, message: str) -> None:
        from rich.markup import escape

        from config.checks import redactor_from_environment

        errors.print(f"[bold red]{label}[/]: {escape(redactor_from_environment()(message))}", highlight=False,
                     soft_wrap=True)

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted below; anything unexpected is raised again
            # Imported only now: a command that succeeds never pays for these modules.
            from sqlalchemy.exc import DBAPIError

            from config.checks import driver_message
            from config.settings import ConfigError
            from kb.intake import QueryRejectedError

            if isinstance(exc, ConfigError):
                say("Configuration error", str(exc))
                raise typer.Exit(2)
            if isinstance(exc, DBAPIError):  # the database cannot be reached, refuses the login, or does not exist
                say("Database error", f"{driver_message(exc)} (check DATABASE_URL)")
                raise typer.Exit(2)
            if isinstance(exc, (QueryRejectedError, LookupError, ValueError)):
                say("Error", str(exc))
                raise typer.Exit(1)
            raise

    return wrapper


def _open() -> "Helpdesk":
    from config.bootstrap import bootstrap
    from config.settings import Settings

    return bootstrap(Settings())


def _register_groups() -> None:
    from config import cli_accounts, cli_privacy, cli_qa, cli_quality, cli_report

    cli_qa.register(app, _friendly, _open, console)
    cli_accounts.register(app, _friendly, _open, console)
    cli_report.register(app, _friendly, _open, console)
    cli_quality.register(app, _friendly, _open, console)
    cli_privacy.register(app, _friendly, _open, console)


_register_groups()


@app.command()
@_friendly
def demo(samples: Path = typer.Option(SAMPLES, help="TOML file of sample queries")) -> None:
    """Triage the shipped sample queries (EN/FR/ES) and print each decision."""
    import tomllib

    from config.render import triage_panel
    from kb.intake import QuerySubmission
    from kb.models import Channel

    with _open() as helpdesk:
        items = tomllib.loads(samples.read_text(encoding="utf-8"))["query"]
        for item in items:
            report = helpdesk.service.submit_query(QuerySubmission(
                text=item["text"], channel=Channel.EMAIL, subject=item.get("subject"), email=item.get("email"),
                name=item.get("name"), organisation=item.get("organisation"), country=item.get("country"),
                requester_type=item.get("type"), sector=item.get("sector"),
                confidential=item.get("confidential", False), source_key=f"sample:{item['id']}",
            ))
            console.print(triage_panel(report))
        console.print(f"{len(items)} sample queries triaged. Try: helpdesk queries · helpdesk show <reference>")


@app.command()
@_friendly
def ask(
    text: str = typer.Argument(..., help="The question"),
    email: Optional[str] = typer.Option(None, help="Requester's email address"),
    name: Optional[str] = typer.Option(None, help="Requester's name"),
    org: Optional[str] = typer.Option(None, "--org", help="Requester's organisation"),
    country: Optional[str] = typer.Option(None, help="ISO 3166 country code, e.g. GH"),
    type_: Optional[str] = typer.Option(None, "--type", help="management, workers, employers_organisation, "
                                                             "government or other"),
    sector: Optional[str] = typer.Option(None, help="Sector of operation"),
    subject: Optional[str] = typer.Option(None, help="Subject line"),
    confidential: bool = typer.Option(False, help="Share nothing identifying with focal points"),
    as_json: bool = typer.Option(False, "--json", help="Print the triage as one JSON object"),
) -> None:
    """Submit one query from the terminal and print its triage."""
    from config.render import triage_panel
    from kb.intake import QuerySubmission
    from kb.models import Channel

    with _open() as helpdesk:
        report = helpdesk.service.submit_query(QuerySubmission(
            text=text, channel=Channel.CLI, subject=subject, email=email, name=name, organisation=org,
            country=country, requester_type=type_, sector=sector, confidential=confidential))
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        console.print(triage_panel(report))


@app.command()
@_friendly
def queries(
    status: Optional[str] = typer.Option(None, help="Only queries in this status: " + ", ".join(STATUSES)),
    overdue: bool = typer.Option(False, help="Only queries past their target reply date"),
    limit: int = typer.Option(50, min=0, help="Show the most recent this many (0: all)"),
) -> None:
    """List queries with their status, target date and an overdue mark (the 50 most recent unless --limit)."""
    from config.render import queries_table
    from kb.models import QueryStatus

    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}")
    chosen = QueryStatus(status) if status else None
    with _open() as helpdesk:
        if limit:
            rows, total = helpdesk.service.recent_queries(limit, chosen, overdue_only=overdue)
        else:
            rows = helpdesk.service.list_queries(chosen, overdue_only=overdue)
            total = len(rows)
    console.print(queries_table(rows) if rows else "No queries yet. Try: helpdesk demo")
    if total > len(rows):
        console.print(f"the {len(rows)} most recent of {total:,}; --limit 0 lists them all")


@app.command()
@_friendly
def show(reference: str, as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
         as_actor: Optional[str] = typer.Option(None, "--as", help="Who reads (recorded in the audit trail; "
                                                                    "default cli:<system user>)")) -> None:
    """Show one query with its triage, consultations, outbox and history (the read is audited)."""
    from config.cli_privacy import cli_actor
    from config.render import detail_view

    with _open() as helpdesk:
        detail = helpdesk.service.show_query(reference, reader=cli_actor(as_actor))
    if as_json:
        data = {"query": detail.report.as_dict(), "overdue": detail.overdue, "consultations": detail.consultations,
                "messages": detail.messages, "outbox": detail.outbox, "drafts": detail.drafts,
                "history": detail.history}
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        detail_view(detail, console)


@app.command()
@_friendly
def extend(
    reference: str,
    reason: str = typer.Option(..., help="Why (kept for the annual report)"),
    days: Optional[int] = typer.Option(None, help="Move the target this many days later"),
    to: Optional[str] = typer.Option(None, help="New target date, YYYY-MM-DD"),
) -> None:
    """Extend a query's target reply date (complex or controversial queries); days count as the helpdesk counts."""
    if (days is None) == (to is None):
        raise ValueError("give either --days or --to")
    with _open() as helpdesk:
        report = helpdesk.service.extend_target(reference, reason, days=days,
                                                to=date.fromisoformat(to) if to else None)
    console.print(f"{report.reference}: target reply date now {report.target_reply_date}")


@app.command()
@_friendly
def topics(reference: str, codes: list[str] = typer.Argument(..., help="Topic codes, e.g. osh wages")) -> None:
    """Set a query's topics (corrections are kept for retraining); new departments are consulted."""
    with _open() as helpdesk:
        added = helpdesk.service.correct_topics(reference, codes)
    console.print(f"{reference}: topics {', '.join(codes)}" + (f"; now also consulting {', '.join(added)}"
                                                               if added else ""))


@app.command()
@_friendly
def reply(
    reference: str,
    text_file: Optional[Path] = typer.Option(None, "--file", help="Send this text instead of the draft"),
    as_actor: str = typer.Option("specialist", "--as", help="Who approves the reply"),
    without_clearance: Optional[str] = typer.Option(
        None, help="Send although departments asked to clear it have not answered, for this reason"),
) -> None:
    """Approve the draft (or a text file) and queue it to the requester; `send-mail` delivers it."""
    with _open() as helpdesk:
        text = text_file.read_text(encoding="utf-8") if text_file else None
        sent = helpdesk.service.send_reply(reference, as_actor, text, without_clearance=without_clearance)
    console.print(f"{reference}: reply queued ({len(sent)} characters)")


@app.command()
@_friendly
def clearance(
    reference: str,
    departments: Optional[list[str]] = typer.Argument(None, help="Departments to ask (default: all consulted)"),
    due: Optional[str] = typer.Option(None, help="Answer by this date, YYYY-MM-DD (default: the input deadline)"),
    as_actor: str = typer.Option("specialist", "--as", help="Who asks"),
) -> None:
    """Send the draft to the consulted departments to agree it; the reply then waits for their agreement."""
    with _open() as helpdesk:
        asked = helpdesk.service.request_clearance(reference, departments or None,
                                                   due=date.fromisoformat(due) if due else None, actor=as_actor)
        detail = helpdesk.service.show_query(reference)
    console.print(f"{reference}: clearance asked of {', '.join(asked)}")
    for c in detail.clearances:
        console.print(f"  {c['department']}: {c['verdict'] or 'awaited'} (due {c['due_date']})"
                      + (f" — {c['comment']}" if c["comment"] else ""), highlight=False)


@app.command()
@_friendly
def promote(
    reference: str,
    override_confidential: Optional[str] = typer.Option(
        None, help="Promote a confidential query anyway, for this reason (kept in the query's history)"),
) -> None:
    """Turn an answered query and its reply into an anonymised draft Q&A, to review and publish."""
    with _open() as helpdesk:
        key = helpdesk.service.promote_to_qa(reference, override_confidential=override_confidential)
        version = helpdesk.service.qa_show(key).versions
        version = next(iter(version.values()))
    console.print(f"{reference}: anonymised draft Q&A [bold]{key}[/] (not published yet)\n\nQ: {version.question}\n\n"
                  f"A: {version.answer}\n\nEdit and publish: helpdesk qa publish {key} [--question-file F] "
                  "[--answer-file F]", highlight=False)


@app.command()
@_friendly
def release(reference: str, preview: bool = typer.Option(False, help="Only show what focal points would receive")
            ) -> None:
    """Route a query held for confidentiality; focal points get it without the requester's identity."""
    with _open() as helpdesk:
        subject, text = helpdesk.service.release_preview(reference)
        console.print(f"[bold]What the focal points will receive[/]\nSubject: {subject or '(none)'}\n\n{text}\n",
                      highlight=False)
        if preview:
            return
        added = helpdesk.service.release_query(reference)
    console.print(f"{reference}: released" + (f"; consulting {', '.join(added)}" if added else
                                              "; no topic found: set its topics (helpdesk topics)"))


@app.command()
@_friendly
def close(reference: str, reason: str = typer.Option(..., help="Why (kept in the history)")) -> None:
    """Close a query (answered, or needing no reply); the requester writing again reopens it."""
    with _open() as helpdesk:
        helpdesk.service.close_query(reference, reason)
    console.print(f"{reference}: closed")


@app.command()
@_friendly
def train(evaluate: bool = typer.Option(False, help="Also cross-validate and print accuracy figures"),
          force: bool = typer.Option(False, help="Keep the new model even if it scores worse"),
          rollback: bool = typer.Option(False, help="Put back the model the last training replaced")) -> None:
    """Train the topic model from the labelled examples, the Q&A bank and the specialist's corrections; keep it
    only if it does not score worse on the evaluation set than the model in service (which is kept to roll back)."""
    from config import training
    from config.bootstrap import training_set

    with _open() as helpdesk:
        if rollback:
            path = training.rollback(helpdesk)
            console.print(f"Rolled back: {path} is the previous model again (roll back again to undo)")
            return
        outcome = training.retrain(helpdesk, force=force)
        new, old = outcome.candidate, outcome.previous
        console.print(f"Trained on {outcome.examples} examples. On the evaluation set: new model top-1 {new.top1:.2f}, "
                      f"macro-F1 {new.macro_f1:.2f}, manual triage {new.manual_triage:.0%}"
                      + (f"; model in service top-1 {old.top1:.2f}, macro-F1 {old.macro_f1:.2f}, manual triage "
                         f"{old.manual_triage:.0%}" if old else ""), highlight=False)
        console.print(outcome.reason + (f" ({helpdesk.settings.resolved_model_path()})" if outcome.kept else ""))
        if evaluate:
            from classifier.evaluation import cross_validate

            examples = training_set(helpdesk)
            report = cross_validate(examples, helpdesk.policy.topic_codes,
                                    threshold=helpdesk.policy.confidence_threshold,
                                    max_topics=helpdesk.policy.max_topics)
            console.print(f"5-fold cross-validation on {report.examples} examples at threshold {report.threshold}: "
                          f"precision {report.precision:.2f}, recall {report.recall:.2f}, F1 {report.f1:.2f}, "
                          f"top-1 accuracy {report.top1_accuracy:.2f}, manual triage {report.manual_triage_rate:.0%}")
            console.print("top-1 by language: " + ", ".join(f"{k} {v:.2f}" for k, v in report.top1_by_language.items()))
        if not outcome.kept:
            raise typer.Exit(1)


@app.command()
@_friendly
def check() -> None:
    """Validate the configuration and try every configured connection; say what is fine and what is wrong."""
    from config.checks import run_checks

    if run_checks(console):
        raise typer.Exit(1)


def _register_running() -> None:
    from config import cli_running

    cli_running.register(app, _friendly, _open, console, errors)


_register_running()


@app.callback()
def _log_to_stderr() -> None:
    """Set up logging once a command is chosen (`helpdesk --help` never imports it)."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("alembic", "apscheduler", "httpx", "telegram.ext"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    app()
