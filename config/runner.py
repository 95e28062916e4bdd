"""``helpdesk run``: the whole helpdesk in one process.

Five parts, each in its own thread, sharing one stop signal:
- mail in: the IMAP mailbox (IDLE, or polling) or, with no mail server
  configured, the local drop folder;
- mail out: the outbox over SMTP or, with none configured, to a local folder;
- the Telegram bot, when a token is configured (its own asyncio loop);
- the scheduler, in the process that holds the scheduler lock;
- the specialist's web console (``HELPDESK_WEB_HOST``/``_PORT``; ``HELPDESK_WEB=off`` leaves it out).

Each part is supervised on its own: when it fails (Telegram unreachable or
refusing the token, the mail server down, the database gone for a moment) one
ERROR line names the part and what is wrong, and the part starts again after
an exponential backoff (tenacity), while the other parts keep running. A part
that ran for a while before failing starts again from the shortest wait.

Only a configuration error (``ConfigError``: a setting missing or wrong) stops
the whole helpdesk: retrying cannot mend it, so ``run_until_signalled``
returns 2 and ``helpdesk run`` exits with that status, for a service manager
to report. Ctrl-C or SIGTERM sets the stop signal; each part finishes the
message in hand and returns, and the process exits 0.

Secrets from the settings (the Telegram token, mail passwords) never reach the
log: they are masked in every line and traceback while the runner runs.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import signal
import threading
import time
from typing import Callable

from tenacity import RetryCallState, Retrying, retry_if_not_exception_type, wait_exponential

from config.bootstrap import Helpdesk
from config.checks import Redactor, explain_database, redactor
from config.scheduler import SchedulerLeadership, make_scheduler
from config.settings import ConfigError

log = logging.getLogger("helpdesk.run")

#: The exit status when the configuration stops the helpdesk (as ``helpdesk`` commands use for configuration).
CONFIG_ERROR_EXIT = 2
#: PTB's name for the task that long-polls getUpdates (watched so that a token revoked while running is noticed).
_POLLING_TASK = "Updater:start_polling:polling_task"


class _Part:
    """One supervised part: its thread name, how the log names it, and its loop."""

    def __init__(self, name: str, label: str, loop: Callable[[], None]) -> None:
        self.name, self.label, self.loop = name, label, loop
        self.started = 0.0  # when the current attempt began (time.monotonic)
        self.quick_failures = 0  # failures in a row, each soon after its start


class _PartEnded(RuntimeError):
    """A part's loop returned although nobody asked it to stop."""


class _RedactSecrets(logging.Filter):
    """Masks the configured secrets in a record's message and traceback (on a handler, it sees every record)."""

    def __init__(self, mask: Redactor) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def _seconds(value: float) -> str:
    return f"{round(value, 1):g} s"


class Runner:
    def __init__(self, helpdesk: Helpdesk, *, send_every: float = 5.0, tick_every: float = 60.0,
                 leader_retry: float = 15.0, retry_min: float = 1.0, retry_max: float = 300.0,
                 healthy_after: float = 60.0) -> None:
        """``retry_min``/``retry_max``: the first and the longest wait before a failed part starts again
        (doubling in between); a part that ran ``healthy_after`` seconds before failing waits ``retry_min``."""
        self.helpdesk = helpdesk
        self.send_every, self.tick_every, self.leader_retry = send_every, tick_every, leader_retry
        self.retry_min, self.retry_max, self.healthy_after = retry_min, retry_max, healthy_after
        self._mask = redactor(helpdesk.settings)  # every configured password and token -> ***
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        #: 0, or CONFIG_ERROR_EXIT once a part stopped the helpdesk on a configuration error.
        self.exit_status = 0
        self._redaction: _RedactSecrets | None = None
        self._polling_complaint: tuple[str, float] = ("", 0.0)

    # ------------------------------------------------------------------- parts
    def _mail_in(self) -> None:
        s = self.helpdesk.settings
        if s.imap_host:
            def progress(done: int, total: int) -> None:
                if total > 200:  # a long first synchronisation: say how far it got
                    log.info("mail in: %d of %d messages handled", done, total)

            ingestor = self.helpdesk.imap_ingestor(progress=progress)  # ConfigError: a setting is missing
            log.info("mail in: IMAP %s mailbox %s", s.imap_host, s.imap_mailbox)
            ingestor.run_forever(self.stop)
        else:
            from ingest.folders import DropFolderIngestor

            folder = s.data_dir / "inbox"
            log.info("mail in: no IMAP server configured; reading .eml files dropped in %s", folder)
            DropFolderIngestor(folder, self.helpdesk.service).run_forever(self.stop)

    def _mail_out(self) -> None:
        s = self.helpdesk.settings
        if s.smtp_host:
            sender = self.helpdesk.outbox_sender()
            log.info("mail out: SMTP %s", s.smtp_host)
        else:
            from ingest.folders import FolderSender

            sender = FolderSender(s.data_dir / "outbox", self.helpdesk.service)
            log.info("mail out: no SMTP server configured; writing .eml files to %s", s.data_dir / "outbox")
        while not self.stop.is_set():
            try:
                sender.send_due()
            except Exception:  # a database hiccup must not end the loop
                log.exception("outbox pass failed")
            self.stop.wait(self.send_every)

    def _scheduler(self) -> None:
        leadership = SchedulerLeadership(self.helpdesk.engine)
        scheduler = None
        s = self.helpdesk.settings
        try:
            while not self.stop.is_set():
                if scheduler is None and leadership.try_acquire():
                    scheduler = make_scheduler(s.resolved_database_url(), str(s.config),
                                               list(self.helpdesk.policy.specialist_chats), self.tick_every,
                                               data_dir=str(s.data_dir))
                    scheduler.start()
                    log.info("scheduler: chasing every %.0f s", self.tick_every)
                elif scheduler is not None and not leadership.still_held():
                    log.warning("scheduler: lost the scheduler lock; stopping until it can be taken again")
                    scheduler.shutdown(wait=True)
                    scheduler = None
                self.stop.wait(self.leader_retry)
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            leadership.release()

    def _telegram(self) -> None:
        # A fresh Application per attempt: one whose start failed cannot always be initialised again.
        application = self.helpdesk.telegram_application()  # ConfigError: no token
        asyncio.run(self._serve_telegram(application))

    async def _serve_telegram(self, application) -> None:
        from bot.app import outbox_loop

        try:
            await application.initialize()  # getMe: a refused token or no connection fails here
        except BaseException:
            await _quietly(application.bot.shutdown(), "closing the Bot API connections")
            raise
        outbox = None
        try:
            await application.start()
            await application.updater.start_polling(allowed_updates=["message", "callback_query"],
                                                    error_callback=self._polling_trouble)
            polling = next((t for t in asyncio.all_tasks() if t.get_name() == _POLLING_TASK), None)
            outbox = asyncio.create_task(outbox_loop(application), name="telegram-outbox")
            log.info("Telegram bot: @%s long polling", application.bot.username)
            while not self.stop.is_set():
                if polling is not None and polling.done():  # e.g. the token was revoked while running
                    error = None if polling.cancelled() else polling.exception()
                    raise error or _PartEnded("polling for updates stopped")
                await asyncio.sleep(0.2)
        finally:
            if outbox is not None:
                outbox.cancel()
                await asyncio.gather(outbox, return_exceptions=True)
            if application.updater.running:
                await _quietly(application.updater.stop(), "stopping the polling")
            if application.running:
                await _quietly(application.stop(), "stopping the bot")
            await _quietly(application.shutdown(), "shutting the bot down")

    def _polling_trouble(self, exc: Exception) -> None:
        """PTB retries getUpdates by itself (up to every 30 s); say so once, not at every attempt."""
        message, now = self._describe(exc), time.monotonic()
        last, when = self._polling_complaint
        if message != last or now - when > 300:
            self._polling_complaint = (message, now)
            log.warning("Telegram bot: %s; polling keeps retrying", message)

    def _web(self) -> None:
        """The specialist's web console (``web.server``), on HELPDESK_WEB_HOST:HELPDESK_WEB_PORT until the stop."""
        import os

        from web.server import WebSettingsError, serve, web_options

        try:  # the environment is read here, in the composition root (config.settings does not hold these)
            options = web_options(os.environ, self.helpdesk.settings.data_dir)
        except WebSettingsError as exc:
            raise ConfigError(str(exc)) from None
        serve(self.helpdesk.service, options, self.stop)  # an OSError (the port taken) is retried like the others

    # -------------------------------------------------------------- supervision
    def _parts(self) -> list[_Part]:
        import os

        parts = [_Part("mail-in", "mail in", self._mail_in), _Part("mail-out", "mail out", self._mail_out),
                 _Part("scheduler", "scheduler", self._scheduler)]
        if os.environ.get("HELPDESK_WEB", "on").strip().lower() not in ("off", "0", "no", "false"):
            parts.append(_Part("web", "web console", self._web))
        if self.helpdesk.settings.telegram_token is not None:
            parts.append(_Part("telegram", "Telegram bot", self._telegram))
        return parts

    def _retrying(self, part: _Part) -> Retrying:
        exponential = wait_exponential(multiplier=self.retry_min, min=self.retry_min, max=self.retry_max)

        def wait(state: RetryCallState) -> float:
            # Count only the failures since the part last ran for a while.
            ran_healthily = time.monotonic() - part.started >= self.healthy_after
            part.quick_failures = 1 if ran_healthily else part.quick_failures + 1
            counted = copy.copy(state)
            counted.attempt_number = part.quick_failures
            return exponential(counted)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception()
            known = _environmental(exc)
            log.error("%s: %s; retrying in %s", part.label, self._describe(exc), _seconds(state.upcoming_sleep),
                      exc_info=None if known else exc)  # an unexpected error: its traceback, once per line

        return Retrying(wait=wait, retry=retry_if_not_exception_type(ConfigError),
                        stop=lambda _state: self.stop.is_set(), before_sleep=before_sleep,
                        sleep=self.stop.wait, reraise=True)

    def _attempt(self, part: _Part) -> None:
        if self.stop.is_set():  # woken from the backoff by the stop signal
            return
        part.started = time.monotonic()
        part.loop()
        if not self.stop.is_set():
            raise _PartEnded(f"{part.label} ended on its own")

    def _supervise(self, part: _Part) -> None:
        try:
            self._retrying(part)(self._attempt, part)
        except ConfigError as exc:
            log.error("%s: configuration error: %s; stopping the helpdesk", part.label, self._mask(str(exc)))
            self.exit_status = CONFIG_ERROR_EXIT
            self.stop.set()
        except Exception as exc:  # failed as the helpdesk was stopping: nothing left to retry
            log.info("%s: stopped; its last attempt failed: %s", part.label, self._describe(exc))

    def _describe(self, exc: BaseException) -> str:
        """What is wrong, in one line, with no secret in it."""
        from sqlalchemy.exc import DBAPIError
        from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter

        if isinstance(exc, InvalidToken):
            return "Telegram refused the bot token (check HELPDESK_TELEGRAM_TOKEN)"
        if isinstance(exc, Conflict):
            return f"another process is polling Telegram with this bot token ({self._mask(exc.message)})"
        if isinstance(exc, RetryAfter):
            return f"Telegram asks to wait before the next request ({self._mask(exc.message)})"
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):  # TimedOut is a NetworkError
            return f"Telegram unreachable: {self._mask(exc.message)}"
        if isinstance(exc, DBAPIError):
            return self._mask(f"database: {explain_database(exc)}")
        if isinstance(exc, _PartEnded):
            return str(exc)
        text = str(exc).strip().splitlines()
        return self._mask(f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self._redaction = _RedactSecrets(self._mask)
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._redaction)
        self.helpdesk.service.model  # load the model (and train it on a fresh checkout) before anything runs
        for part in self._parts():
            thread = threading.Thread(target=self._supervise, args=(part,), name=part.name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> int:
        """Stop every part, let each finish the work in hand, and return the exit status."""
        self.stop.set()
        log.info("stopping: finishing the work in hand")
        for thread in self.threads:
            thread.join(timeout=30)
            if thread.is_alive():
                log.warning("%s did not stop within 30 s; leaving it", thread.name)
        log.info("stopped")
        if self._redaction is not None:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._redaction)
        return self.exit_status

    def run_until_signalled(self) -> int:
        """Block until Ctrl-C or SIGTERM (exit status 0) or a configuration error (2), then stop every part."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop.set())
        try:
            self.start()
            log.info("helpdesk running; Ctrl-C or SIGTERM stops it")
            while not self.stop.is_set():
                self.stop.wait(0.5)
        finally:
            status = self.finish()
        return status


def _environmental(exc: BaseException) -> bool:
    """Failures of the world around the helpdesk (network, servers, database), not of its code."""
    import imaplib

    from sqlalchemy.exc import DBAPIError
    from telegram.error import TelegramError

    return isinstance(exc, (TelegramError, OSError, DBAPIError, imaplib.IMAP4.error, _PartEnded))


async def _quietly(step, what: str) -> None:
    """One step of taking the bot down; a failure (already reported) must not skip the next steps."""
    try:
        await step
    except Exception as exc:
        log.debug("Telegram bot: %s: %s", what, exc)
