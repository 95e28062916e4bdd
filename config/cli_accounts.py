"""The ``helpdesk user`` and ``helpdesk quarantine`` commands: console accounts and emails set aside.

    helpdesk user add NAME --role specialist|viewer    helpdesk user passwd NAME / remove NAME / list
    helpdesk quarantine list                          helpdesk quarantine show ID [--raw] / release ID
"""

from __future__ import annotations

import sys

import typer

from config.cli_privacy import cli_actor


def register(app: typer.Typer, friendly, open_helpdesk, console) -> None:
    """Add the ``user`` and ``quarantine`` commands to ``app``, with the CLI's error handling and way of
    opening the helpdesk."""
    user_app = typer.Typer(help="Console accounts: specialists act, viewers read.", no_args_is_help=True)
    app.add_typer(user_app, name="user")
    quarantine_app = typer.Typer(help="Emails set aside: list them, read one, reprocess one after a fix.",
                                 no_args_is_help=True)
    app.add_typer(quarantine_app, name="quarantine")

    def read_password() -> str:
        """From the terminal (asked twice, not echoed), or the first line of standard input when piped."""
        import getpass

        if not sys.stdin.isatty():
            return sys.stdin.readline().rstrip("\r\n")
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords differ")
        return first


    @user_app.command("add")
    @friendly
    def user_add(name: str, role: str = typer.Option(..., help="specialist (acts) or viewer (reads)")) -> None:
        """Add an account; the password is read from the terminal (or standard input), never from the command line."""
        password = read_password()
        with open_helpdesk() as helpdesk:
            account = helpdesk.service.add_account(name, role, password, actor=cli_actor())
        console.print(f"account {account.name} added ({account.role})")


    @user_app.command("passwd")
    @friendly
    def user_passwd(name: str) -> None:
        """Change an account's password (read from the terminal or standard input)."""
        password = read_password()
        with open_helpdesk() as helpdesk:
            helpdesk.service.set_password(name, password, actor=cli_actor())
        console.print(f"password of {name} changed")


    @user_app.command("remove")
    @friendly
    def user_remove(name: str) -> None:
        """Remove an account: it can no longer sign in; the history that names it stays."""
        with open_helpdesk() as helpdesk:
            helpdesk.service.remove_account(name, actor=cli_actor())
        console.print(f"account {name} removed")


    @user_app.command("list")
    @friendly
    def user_list() -> None:
        """The console accounts and their roles."""
        with open_helpdesk() as helpdesk:
            for account in helpdesk.service.accounts():
                console.print(f"{account.name}  {account.role}")




    @quarantine_app.command("list")
    @friendly
    def quarantine_list() -> None:
        """Every quarantined email with why it was set aside (the read is audited)."""
        with open_helpdesk() as helpdesk:
            rows = helpdesk.service.quarantined(reader=cli_actor())
        for q in rows:
            console.print(f"#{q.id}  {q.received_at:%Y-%m-%d %H:%M}  {q.size:,} bytes  {q.reason}", highlight=False)
        console.print(f"{len(rows)} quarantined email(s)" + (". Read one: helpdesk quarantine show ID" if rows else ""))


    @quarantine_app.command("show")
    @friendly
    def quarantine_show(stored_id: int, raw: bool = typer.Option(False, help="Print the raw message as received")
                        ) -> None:
        """One quarantined email: its reason and headers (or the whole raw message with --raw); the read is audited."""
        from email import message_from_bytes, policy

        with open_helpdesk() as helpdesk:
            q = helpdesk.service.quarantined_email(stored_id, reader=cli_actor())
        if raw:
            sys.stdout.buffer.write(q.raw)
            return
        headers = message_from_bytes(q.raw, policy=policy.compat32)
        console.print(f"#{q.id} received {q.received_at:%Y-%m-%d %H:%M} UTC in {q.mailbox} (UID {q.uid}), "
                      f"{q.size:,} bytes\nReason: {q.reason}\n", highlight=False)
        for name in ("From", "To", "Subject", "Date", "Message-ID", "Content-Type"):
            console.print(f"{name}: {headers.get(name, '')}", highlight=False, markup=False)


    @quarantine_app.command("release")
    @friendly
    def quarantine_release(stored_id: int) -> None:
        """Put a quarantined email back in the queue; the next pass (or process-mail) handles it afresh."""
        with open_helpdesk() as helpdesk:
            helpdesk.service.release_quarantined(stored_id, actor=cli_actor())
        console.print(f"#{stored_id} released: it is processed at the next pass (helpdesk process-mail does it now)")
