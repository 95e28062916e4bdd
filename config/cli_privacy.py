"""The ``helpdesk privacy``, ``helpdesk audit`` and ``helpdesk backup`` commands.

    helpdesk privacy map                               where personal data lives, and what erasure does
    helpdesk privacy export EMAIL|TELEGRAM_ID --out FILE.zip
    helpdesk privacy erase EMAIL|TELEGRAM_ID [--dry-run] [--yes] [--as NAME]
    helpdesk privacy reapply                           after restoring a backup: erase again whom it still holds
    helpdesk audit QUERY|ACCOUNT                       who read, exported, erased or changed what
    helpdesk backup --out FILE                         an online copy of the SQLite store

Who acts is recorded as ``--as`` or, by default, ``cli:<system user>``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer


def cli_actor(name: str | None = None) -> str:
    """Who is at the command line: ``--as`` when given, else the system user."""
    if name:
        return name
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def write_export(path: Path, export, helpdesk_name: str) -> None:
    """The archive (``kb.privacy.export.archive``), written whole or not at all, readable by its owner only."""
    from kb.privacy.export import archive

    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(archive(export, helpdesk_name))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def register(app: typer.Typer, friendly, open_helpdesk, console) -> None:
    privacy_app = typer.Typer(help="Personal data: where it lives, export it for a person, erase it.",
                              no_args_is_help=True)
    app.add_typer(privacy_app, name="privacy")

    @privacy_app.command("map")
    def privacy_map() -> None:
        """Every column and data file that can hold personal data, and what erasure does to it."""
        from kb.privacy.data_map import COLUMNS, FILES, ON_ERASURE, Holds

        for table, columns in COLUMNS.items():
            held = [(c, h) for c, h in columns.items() if h not in (Holds.NOTHING,)]
            if held:
                console.print(f"[bold]{table}[/]", highlight=False)
                for column, holds in held:
                    console.print(f"  {column:<24} {holds.value:<12} {ON_ERASURE[holds]}", highlight=False)
        console.print("[bold]files of the data folder[/]", highlight=False)
        for f in FILES:
            console.print(f"  {f.pattern}\n    {f.what}\n    on erasure: {f.on_erasure}", highlight=False)

    @privacy_app.command("export")
    @friendly
    def privacy_export(who: str = typer.Argument(..., help="Email address or Telegram id"),
                       out: Path = typer.Option(..., "--out", help="The .zip file to write"),
                       as_actor: str = typer.Option(None, "--as", help="Who asks (recorded in the audit trail)")) -> None:
        """Everything held about a person (queries, messages, attachments, feedback) as JSON and the original emails."""
        if out.exists():
            raise ValueError(f"{out} exists; choose another file")
        if not out.parent.is_dir():
            raise ValueError(f"no folder {out.parent}")
        with open_helpdesk() as helpdesk:
            export = helpdesk.service.export_personal_data(who, actor=cli_actor(as_actor))
            write_export(out, export, helpdesk.policy.name)
        console.print(f"wrote {out}: {len(export.data['queries'])} quer{'y' if len(export.data['queries']) == 1 else 'ies'}, "
                      f"{len(export.files)} file(s)", highlight=False)

    @privacy_app.command("erase")
    @friendly
    def privacy_erase(who: str = typer.Argument(..., help="Email address or Telegram id"),
                      dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would change"),
                      yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
                      as_actor: str = typer.Option(None, "--as", help="Who erases (shown on the queries)")) -> None:
        """Erase a person's data everywhere (raw emails and attachments included), keeping the report's figures."""
        actor = cli_actor(as_actor)
        with open_helpdesk() as helpdesk:
            service = helpdesk.service
            if dry_run or not yes:  # the plan first, to look at or to confirm
                _print_plan(console, service.erase_person(who, actor=actor, dry_run=True))
                if dry_run:
                    console.print("dry run: nothing changed")
                    return
                if not sys.stdin.isatty():
                    raise ValueError("erasing cannot be undone: add --yes to confirm (or --dry-run to look first)")
                if not typer.confirm("Erase this person's data? This cannot be undone"):
                    console.print("nothing changed")
                    return
            done = service.erase_person(who, actor=actor)  # written to the erasure log by the service
            if yes:
                _print_plan(console, done)
        console.print(f"erased: {len(done.references)} quer{'y' if len(done.references) == 1 else 'ies'}, "
                      f"{sum(done.counts.values())} row(s), {len(done.files)} file(s) removed", highlight=False)

    @privacy_app.command("reapply")
    @friendly
    def privacy_reapply(as_actor: str = typer.Option(None, "--as", help="Who erases again")) -> None:
        """After restoring a backup: erase again every person erased since (from the data folder's erasure log)."""
        from config.erasure_log import ErasureLogFile

        with open_helpdesk() as helpdesk:
            logged = ErasureLogFile(helpdesk.settings.data_dir).requester_ids()
            again = helpdesk.service.not_erased(logged)
            for requester_id in again:  # each logged again by the service
                helpdesk.service.erase_person(f"requester:{requester_id}", actor=cli_actor(as_actor))
        console.print(f"{len(logged)} erased requester(s) in the log; {len(again)} erased again", highlight=False)

    @app.command()
    @friendly
    def audit(target: str = typer.Argument(..., help="A query reference, or an account (cli:USER for the command "
                                                     "line, retention for the scheduler)"),
              as_json: bool = typer.Option(False, "--json", help="Print as JSON")) -> None:
        """Who read, exported, erased or changed what: for a query, or by an account."""
        with open_helpdesk() as helpdesk:
            lines = helpdesk.service.audit_trail(target)
        if as_json:
            sys.stdout.write(json.dumps([line.__dict__ for line in lines], default=str, indent=2) + "\n")
            return
        if not lines:
            console.print(f"nothing recorded for {target}", highlight=False)
        for line in lines:
            where = f" {line.reference}" if line.reference else ""
            console.print(f"{line.at:%Y-%m-%d %H:%M:%S} {line.actor:<20} {line.action:<24}{where} "
                          f"{line.channel + ': ' if line.channel else ''}{line.detail}", highlight=False, soft_wrap=True)

    @app.command()
    @friendly
    def backup(out: Path = typer.Option(..., "--out", help="The file to write (SQLite)")) -> None:
        """Copy the SQLite store while the helpdesk runs (PostgreSQL: use pg_dump, see the README)."""
        from kb.db import backup_sqlite

        if out.exists():
            raise ValueError(f"{out} exists; choose another file")
        with open_helpdesk() as helpdesk:
            backup_sqlite(helpdesk.engine, out)
        console.print(f"wrote {out}", highlight=False)


def _print_plan(console, plan) -> None:
    people = ", ".join(f"#{i}" for i in plan.people) or "none (no requester row)"
    console.print(f"requester(s) {people}; queries: {', '.join(plan.references) or 'none'}", highlight=False)
    for line in plan.lines():
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    for path in plan.files:
        console.print(f"  file {path}", highlight=False, soft_wrap=True)
