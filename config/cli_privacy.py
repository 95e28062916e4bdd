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
    """The archive: data.json, README.txt and the original files; readable by its owner only."""
    import zipfile

    from kb.privacy.export import README

    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(helpdesk=helpdesk_name, at=export.data["exported_at"],
                                                     queries=", ".join(export.data["queries"]) or "none"))
        archive.writestr("data.json", json.dumps(export.data, ensure_ascii=False, indent=2, default=str))
        for name, data in export.files:
            archive.writestr(name, data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


#: The erasure log: one JSON line per erasure on request (requester ids and references, never a person's
#: name or address), kept in the data folder beside the store and outside it, so that after a backup is
#: restored `helpdesk privacy reapply` erases again whom the backup still holds.
ERASURE_LOG = "erasures.jsonl"


def log_erasure(data_dir: Path, erasure) -> None:
    line = {"at": erasure.at.isoformat() if erasure.at else None, "by": erasure.by, "requesters": erasure.people,
            "queries": erasure.references}
    path = Path(data_dir) / ERASURE_LOG
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
        log.flush()
        os.fsync(log.fileno())


def read_erasure_log(data_dir: Path) -> list[int]:
    path = Path(data_dir) / ERASURE_LOG
    if not path.exists():
        return []
    ids: list[int] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                ids += [int(i) for i in json.loads(line)["requesters"]]
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{path}: line {number} is not an erasure record") from None
    return sorted(set(ids))


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
            done = service.erase_person(who, actor=actor)
            log_erasure(helpdesk.settings.data_dir, done)
            if yes:
                _print_plan(console, done)
        console.print(f"erased: {len(done.references)} quer{'y' if len(done.references) == 1 else 'ies'}, "
                      f"{sum(done.counts.values())} row(s), {len(done.files)} file(s) removed", highlight=False)

    @privacy_app.command("reapply")
    @friendly
    def privacy_reapply(as_actor: str = typer.Option(None, "--as", help="Who erases again")) -> None:
        """After restoring a backup: erase again every person erased since (from the data folder's erasure log)."""
        with open_helpdesk() as helpdesk:
            logged = read_erasure_log(helpdesk.settings.data_dir)
            again = helpdesk.service.not_erased(logged)
            for requester_id in again:
                done = helpdesk.service.erase_person(f"requester:{requester_id}", actor=cli_actor(as_actor))
                log_erasure(helpdesk.settings.data_dir, done)
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
