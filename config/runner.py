"""``helpdesk run``: the whole helpdesk in one process.

Four loops, each in its own thread, sharing one stop signal:
- mail in: the IMAP mailbox (IDLE, or polling) or, with no mail server
  configured, the local drop folder;
- mail out: the outbox over SMTP or, with none configured, to a local folder;
- the Telegram bot, when a token is configured (its own asyncio loop);
- the scheduler, in the process that holds the scheduler lock.
Ctrl-C or SIGTERM sets the stop signal; each loop finishes the message in hand
and returns, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from config.bootstrap import Helpdesk
from config.scheduler import SchedulerLeadership, make_scheduler

log = logging.getLogger("helpdesk.run")


class Runner:
    def __init__(self, helpdesk: Helpdesk, *, send_every: float = 5.0, tick_every: float = 60.0,
                 leader_retry: float = 15.0) -> None:
        self.helpdesk = helpdesk
        self.send_every, self.tick_every, self.leader_retry = send_every, tick_every, leader_retry
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    # ------------------------------------------------------------------- loops
    def _mail_in(self) -> None:
        s = self.helpdesk.settings
        if s.imap_host:
            log.info("mail in: IMAP %s mailbox %s", s.imap_host, s.imap_mailbox)

            def progress(done: int, total: int) -> None:
                if total > 200:  # a long first synchronisation: say how far it got
                    log.info("mail in: %d of %d messages handled", done, total)

            self.helpdesk.imap_ingestor(progress=progress).run_forever(self.stop)
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
                                               list(self.helpdesk.policy.specialist_chats), self.tick_every)
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

    def _bot(self) -> None:
        application = self.helpdesk.telegram_application()

        async def serve() -> None:
            from bot.app import outbox_loop

            async with application:
                await application.start()
                await application.updater.start_polling(allowed_updates=["message", "callback_query"])
                outbox = asyncio.create_task(outbox_loop(application))
                while not self.stop.is_set():
                    await asyncio.sleep(0.5)
                outbox.cancel()
                await application.updater.stop()
                await application.stop()

        log.info("Telegram bot: long polling")
        asyncio.run(serve())

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        self.helpdesk.service  # load the model (and train it on a fresh checkout) before anything runs
        loops = [("mail-in", self._mail_in), ("mail-out", self._mail_out), ("scheduler", self._scheduler)]
        if self.helpdesk.settings.telegram_token is not None:
            loops.append(("telegram", self._bot))
        for name, target in loops:
            thread = threading.Thread(target=self._guarded, args=(name, target), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def _guarded(self, name: str, target) -> None:
        try:
            target()
        except Exception:
            log.exception("%s loop stopped on an error; stopping the helpdesk", name)
            self.stop.set()

    def run_until_signalled(self) -> None:
        """Block until Ctrl-C or SIGTERM, then stop every loop cleanly."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop.set())
        self.start()
        log.info("helpdesk running; Ctrl-C or SIGTERM stops it")
        while not self.stop.is_set():
            self.stop.wait(0.5)
        log.info("stopping: finishing the work in hand")
        for thread in self.threads:
            thread.join(timeout=30)
        log.info("stopped")
