"""Mail without a mail server: a drop folder in, a folder of .eml files out.

Like a web framework's console email backend, this lets the helpdesk run on a
fresh machine with no credentials: drop an ``.eml`` file (or a Maildir's
``new/`` message) into the inbox folder and watch it triaged, routed and
chased; outbound mail is written to the outbox folder instead of being sent.

Protocol: each file is parsed and handed to the service (one committed
transaction), and only then moved to ``done/`` (or ``quarantine/``). A crash
in between leaves the file in place; the next pass recognises its Message-ID
and only moves it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ingest.imap import IngestReport
from ingest.parsing import Limits, parse_email
from ingest.smtp import SendReport, compose
from kb.inbound import Outcome, receive_email
from kb.models import Channel
from kb.outbox import claim_due, mark_sent

log = logging.getLogger(__name__)


class DropFolderIngestor:
    """Reads ``*.eml`` files (and Maildir ``new/`` files) from a folder."""

    def __init__(self, folder: Path, service, *, limits: Limits = Limits(), poll_seconds: float = 2.0) -> None:
        self.folder, self.service, self.limits, self.poll_seconds = Path(folder), service, limits, poll_seconds
        for sub in ("", "done", "quarantine"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)

    def _pending(self) -> list[Path]:
        files = [p for p in self.folder.glob("*.eml") if p.is_file()]
        files += [p for p in (self.folder / "new").glob("*") if p.is_file()] if (self.folder / "new").is_dir() else []
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def run_once(self, stop: threading.Event | None = None) -> IngestReport:
        report = IngestReport()
        for path in self._pending():
            if stop is not None and stop.is_set():
                break
            email = parse_email(path.read_bytes(), mailbox=f"drop:{self.folder}", limits=self.limits)
            try:
                result = receive_email(self.service, email)
            except Exception:
                log.exception("could not store %s; it stays for the next pass", path.name)
                report.errors += 1
                continue
            target = "quarantine" if result.outcome is Outcome.QUARANTINED else "done"
            path.replace(self.folder / target / path.name)
            report.outcomes[result.outcome.value] += 1
        return report

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            report = self.run_once(stop)
            if report.handled:
                log.info("drop folder: %s", dict(report.outcomes))
            stop.wait(self.poll_seconds)


class FolderSender:
    """Writes due outbox emails as ``.eml`` files instead of sending them."""

    def __init__(self, folder: Path, service) -> None:
        self.folder, self.service = Path(folder), service
        self.folder.mkdir(parents=True, exist_ok=True)

    def send_due(self, limit: int = 50) -> SendReport:
        report = SendReport()
        service = self.service
        for message in claim_due(service.sessions, service.clock(), Channel.EMAIL, limit):
            mail = compose(message, from_name=service.policy.name, from_address=service.policy.email,
                           now=service.clock())
            path = self.folder / f"{message.id:06d}-{message.kind}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(mail.as_bytes())
            tmp.replace(path)
            mark_sent(service.sessions, message.id, service.clock())
            report.sent += 1
            log.info("wrote %s %s for %d recipient(s)", message.kind, path.name, len(message.recipients))
        return report
