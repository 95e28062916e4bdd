"""``helpdesk run``, and each of its parts alone: ``fetch-mail``, ``process-mail`` (a worker), ``send-mail``,
``web`` and ``bot``. Each keeps running until Ctrl-C (the mail commands only with ``--watch``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, friendly, open_helpdesk, console, errors) -> None:
    """Add the long-running commands to ``app``, with the CLI's error handling and way of opening the helpdesk."""

    @app.command("process-mail")
    @friendly
    def process_mail(watch: bool = typer.Option(False, help="Keep running: process stored mail every few seconds")
                     ) -> None:
        """Process stored email (a worker: run several on PostgreSQL to share the work)."""
        import time

        from ingest.imap import process_stored

        with open_helpdesk() as helpdesk:
            helpdesk.settle()
            try:
                while True:
                    report = process_stored(helpdesk.service, helpdesk.mail_limits())
                    if report.handled or not watch:
                        console.print(f"stored mail: {report.handled} message(s) processed {dict(report.outcomes)}")
                    if not watch:
                        break
                    time.sleep(2)
            except KeyboardInterrupt:
                pass

    @app.command("fetch-mail")
    @friendly
    def fetch_mail(watch: bool = typer.Option(False, help="Keep running: wait for new mail (IDLE or polling)")) -> None:
        """Read the helpdesk mailbox: new queries, follow-ups, focal point inputs."""
        import threading

        from rich.progress import Progress

        from ingest.imap import NETWORK_ERRORS

        with open_helpdesk() as helpdesk:
            with Progress(console=errors.real, transient=True) as bar:
                task = bar.add_task("reading the mailbox", total=None)
                ingestor = helpdesk.imap_ingestor(progress=lambda done, total: bar.update(task, completed=done,
                                                                                          total=total))
                try:
                    report = ingestor.run_once()
                except NETWORK_ERRORS as exc:
                    if not watch:
                        raise
                    # Watching: the first pass is retried with backoff like every later one, not an exit.
                    errors.print(f"mailbox: connection problem on the first pass ({exc}); retrying")
                    ingestor.close()
                    report = None
            if report is not None:
                console.print(f"mailbox: {report.stored} new message(s) stored, {report.handled} processed "
                              f"{dict(report.outcomes)}" + (f", {report.errors} processing error(s) (retried, then "
                                                            "quarantined)" if report.errors else ""))
            if watch:
                stop = threading.Event()
                try:
                    ingestor.run_forever(stop)
                except KeyboardInterrupt:
                    stop.set()
            ingestor.close()


    @app.command("send-mail")
    @friendly
    def send_mail(watch: bool = typer.Option(False, help="Keep running: send due mail as it comes")) -> None:
        """Deliver the outbox over SMTP (routing emails, acknowledgements, replies): everything due, in one go."""
        import time

        with open_helpdesk() as helpdesk:
            sender = helpdesk.outbox_sender()
            try:
                while True:
                    report = sender.send_due()  # drains what is due, over one connection
                    if report.sent or report.failed or not watch:
                        console.print(f"outbox: {report.sent} sent, {report.failed} failed"
                                      + (f" ({report.given_up} given up)" if report.given_up else ""))
                    if not watch:
                        break
                    time.sleep(0 if report.sent else 5)  # after sending, more may be due: look again at once
            except KeyboardInterrupt:
                pass

    @app.command()
    @friendly
    def run(tick_seconds: float = typer.Option(60.0, help="How often the scheduler looks for overdue work")) -> None:
        """Run the helpdesk: mail in and out, the Telegram bot (if configured) and the scheduler, until Ctrl-C.

        A part that fails (Telegram or a mail server unreachable) is retried on its own; only a configuration
        error stops the helpdesk, with exit status 2."""
        from config.runner import Runner

        with open_helpdesk() as helpdesk:
            helpdesk.settle()  # this process's choice (tests run a Runner in theirs): load, then freeze what is loaded
            status = Runner(helpdesk, tick_every=tick_seconds).run_until_signalled()
        if status:
            raise typer.Exit(status)


    @app.command()
    @friendly
    def web() -> None:
        """Serve the specialist's web console until Ctrl-C (HELPDESK_WEB_HOST:HELPDESK_WEB_PORT, 127.0.0.1:8080).

        The cookie secret is HELPDESK_WEB_SECRET, else one generated once in the data folder (web-secret). Cookies
        are Secure (HTTPS only) unless the host is 127.0.0.1/localhost or HELPDESK_WEB_INSECURE_COOKIES=1."""
        import os

        from web.server import WebSettingsError, serve, web_options

        with open_helpdesk() as helpdesk:
            try:  # the environment is read here, in the composition root; web/ never reads it
                options = web_options(os.environ, helpdesk.settings.data_dir)
            except WebSettingsError as exc:
                from config.settings import ConfigError

                raise ConfigError(str(exc)) from None
            if not helpdesk.service.accounts():
                console.print("No console account yet: add one with `helpdesk user add NAME --role specialist`.")
            console.print(f"Web console on {options.url} ({'Secure' if options.secure_cookies else 'plain-HTTP'} "
                          "cookies); Ctrl-C stops it.", highlight=False)
            serve(helpdesk.service, options)


    @app.command()
    @friendly
    def bot() -> None:
        """Run the Telegram bot (long polling) and deliver its outbox, until Ctrl-C."""
        with open_helpdesk() as helpdesk:
            application = helpdesk.telegram_application()
            s = helpdesk.settings
            if s.telegram_webhook_url:
                console.print(f"Telegram bot on webhook {s.telegram_webhook_url}; Ctrl-C stops it.")
                application.run_webhook(listen="0.0.0.0", port=s.telegram_webhook_port,
                                        webhook_url=s.telegram_webhook_url, allowed_updates=["message", "callback_query"])
            else:
                console.print("Telegram bot running (long polling); Ctrl-C stops it.")
                application.run_polling(allowed_updates=["message", "callback_query"])
