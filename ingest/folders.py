"""Mail without a mail server: a drop folder in, a folder of .eml files out.

Like a web framework's console email backend, this lets the helpdesk run on a
fresh machine with no credentials: drop an ``.eml`` file (or a Maildir's
``new/`` message) into the inbox folder and watch it triaged, routed and
chased; outbound mail is written to the outbox folder instead of being sent.

Protocol: a file is first *claimed* by renaming it into ``processing/`` under
a name carrying the claiming process's id (a rename is atomic, so when several
runners share one folder exactly one of them gets each file, and the others
skip it). It is then parsed and handed to the service (one committed
transaction), and only then moved to ``done/`` (or ``quarantine/``). A file
left in ``processing/`` by a process that died is put back at the next pass;
the service recognises a Message-ID it already stored, so nothing is doubled.
A file that fails three times goes to ``quarantine/`` with a ``.reason.txt``.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import NamedTuple

from ingest.imap import IngestReport
from ingest.parsing import Limits, parse_email
from ingest.smtp import SendReport, compose
from kb.inbound import Outcome
from kb.models import Channel

log = logging.getLogger(__name__)


class DropFolderIngestor:
    """Reads ``*.eml`` files (and Maildir ``new/`` files) from a folder that several processes may share.

    A process claims a file by renaming it (atomic on one filesystem) into ``processing/`` under a
    name that says who holds it, how often storing it failed, and where it came from::

        processing/<pid>-<instance>.<token>.<failures>.<origin>.<original name>   held by a running process
        processing/retry.<token>.<failures>.<origin>.<original name>               failed; any process retries it

    A rename that finds the file gone means another process claimed it first. At the start of
    each pass, files held by a process that no longer runs go back to the inbox (the service
    recognises a Message-ID it already stored). After ``max_attempts`` failures a file goes to
    ``quarantine/`` with a ``.reason.txt`` beside it. Moves into ``done/``, ``quarantine/`` and
    back to the inbox never overwrite a file: a name already taken gets a ``-2``, ``-3``… suffix.
    """

    max_attempts = 3
    #: Tells this process from an earlier one that had the same pid (a restarted container).
    _instance = uuid.uuid4().hex[:8]
    #: Where a claimed file came from: the folder itself, or its Maildir ``new/``.
    _origins = {"in": "", "new": "new"}

    class _Claim(NamedTuple):
        path: Path  # in processing/
        failures: int
        origin: str  # a key of _origins
        name: str  # the original file name

    def __init__(self, folder: Path, service, *, limits: Limits = Limits(), poll_seconds: float = 2.0) -> None:
        self.folder, self.service, self.limits, self.poll_seconds = Path(folder), service, limits, poll_seconds
        for sub in ("", "processing", "done", "quarantine"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.processing = self.folder / "processing"

    # ------------------------------------------------------------------ passes
    def run_once(self, stop: threading.Event | None = None) -> IngestReport:
        report = IngestReport()
        try:
            self._recover()
        except OSError:
            log.exception("drop folder: could not recover files left in %s", self.processing)
            report.errors += 1
        for path in self._pending():
            if stop is not None and stop.is_set():
                break
            try:
                claim = self._claim(path)
            except OSError:
                log.exception("drop folder: could not claim %s", path.name)
                report.errors += 1
                continue
            if claim is None:  # another process took it
                continue
            try:
                email = parse_email(claim.path.read_bytes(), mailbox=f"drop:{self.folder}", limits=self.limits)
                result = self.service.receive_email(email)
            except Exception as exc:
                report.errors += 1
                self._failed(claim, exc)
                continue
            report.outcomes[result.outcome.value] += 1
            self._finish(claim, result)
        return report

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                report = self.run_once(stop)
                if report.handled:
                    log.info("drop folder: %s", dict(report.outcomes))
            except Exception:  # a full disk or a vanished folder must not end the loop
                log.exception("drop folder pass failed")
            stop.wait(self.poll_seconds)

    # ---------------------------------------------------------------- claiming
    def _pending(self) -> list[Path]:
        """Inbox files and failed files awaiting a retry, oldest first."""
        candidates = self._files(self.folder, "*.eml") + self._files(self.folder / "new", "*")
        candidates += self._files(self.processing, "retry.*")
        stamped = []
        for path in candidates:
            try:
                stamped.append((path.stat().st_mtime, path.name, path))
            except FileNotFoundError:  # claimed by another process meanwhile
                continue
        return [path for _, _, path in sorted(stamped)]

    @staticmethod
    def _files(folder: Path, pattern: str) -> list[Path]:
        return [p for p in folder.glob(pattern) if p.is_file()] if folder.is_dir() else []

    def _claim(self, path: Path) -> _Claim | None:
        """Rename ``path`` into processing/ under this process's name; None if another process won it."""
        if path.parent == self.processing:
            parsed = self._parse(path.name)
            if parsed is None:
                return None
            _, failures, origin, name = parsed
        else:
            failures, origin, name = 0, "new" if path.parent == self.folder / "new" else "in", path.name
        target = self.processing / self._processing_name(self._owner(), failures, origin, name)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return self._Claim(target, failures, origin, name)

    def _owner(self) -> str:
        return f"{os.getpid()}-{self._instance}"

    @staticmethod
    def _processing_name(owner: str, failures: int, origin: str, name: str) -> str:
        return f"{owner}.{uuid.uuid4().hex[:12]}.{failures}.{origin}.{name}"

    def _parse(self, processing_name: str) -> tuple[str, int, str, str] | None:
        """(owner, failures, origin, original name), or None for a file this class did not name."""
        parts = processing_name.split(".", 4)
        if len(parts) != 5 or not parts[2].isdigit() or parts[3] not in self._origins or not parts[4]:
            return None
        owner, _token, failures, origin, name = parts
        return owner, int(failures), origin, name

    def _alive(self, owner: str) -> bool:
        """Whether the process that claimed a file still runs (unknown owners count as alive)."""
        pid_text, _, instance = owner.partition("-")
        if not pid_text.isdigit() or int(pid_text) <= 0:
            return True
        pid = int(pid_text)
        if pid == os.getpid():
            return instance == self._instance
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:  # PermissionError: it runs, as another user
            return True
        return True

    def _recover(self) -> None:
        """Put files held by processes that no longer run back where they came from."""
        for path in self._files(self.processing, "*"):
            parsed = self._parse(path.name)
            if parsed is None or parsed[0] == "retry" or self._alive(parsed[0]):
                continue
            claim = self._claim(path)  # several processes may recover at once: one wins
            if claim is None:
                continue
            if claim.failures:  # keep counting towards quarantine
                self._release(claim, claim.failures)
            else:
                self._place(claim.path, self.folder / self._origins[claim.origin], claim.name)
            log.warning("drop folder: %s was left in processing/ by process %s, which no longer runs; "
                        "it will be handled again", claim.name, parsed[0].partition("-")[0])

    # --------------------------------------------------------------- finishing
    def _finish(self, claim: _Claim, result) -> None:
        quarantined = result.outcome is Outcome.QUARANTINED
        try:
            placed = self._place(claim.path, self.folder / ("quarantine" if quarantined else "done"), claim.name)
            if quarantined:
                self._write_reason(placed, f"quarantined: {result.detail}\n")
        except OSError:  # stored, but not moved: a retry only moves it (the Message-ID is known)
            log.exception("drop folder: %s was stored but could not be moved", claim.name)
            self._try_release(claim, claim.failures)

    def _failed(self, claim: _Claim, exc: Exception) -> None:
        failures = claim.failures + 1
        error = f"{type(exc).__name__}: {exc}"
        summary = error.splitlines()[0][:300] if error.strip() else type(exc).__name__  # no SQL parameters
        if failures < self.max_attempts:
            log.warning("drop folder: could not store %s (attempt %d of %d: %s); it will be tried again",
                        claim.name, failures, self.max_attempts, summary)
            self._try_release(claim, failures)
            return
        try:
            placed = self._place(claim.path, self.folder / "quarantine", claim.name)
            self._write_reason(placed, f"could not be stored after {failures} attempts; the last error was:\n"
                                       f"{error}\n")
        except OSError:
            log.exception("drop folder: could not quarantine %s", claim.name)
            self._try_release(claim, failures)
            return
        log.error("drop folder: could not store %s after %d attempts (%s); moved to quarantine/%s",
                  claim.name, failures, summary, placed.name)

    def _release(self, claim: _Claim, failures: int) -> None:
        """Let any process claim the file again, remembering how often it failed."""
        os.rename(claim.path, self.processing / self._processing_name("retry", failures, claim.origin, claim.name))

    def _try_release(self, claim: _Claim, failures: int) -> None:
        try:
            self._release(claim, failures)
        except OSError:  # it stays held; the next start of this runner puts it back
            log.exception("drop folder: could not release %s for a retry", claim.name)

    @staticmethod
    def _place(source: Path, folder: Path, name: str) -> Path:
        """Move ``source`` into ``folder`` as ``name``, or ``name-2``… if taken; never overwrites a file."""
        folder.mkdir(parents=True, exist_ok=True)
        stem, ext = (name[:-4], name[-4:]) if name.lower().endswith(".eml") else (name, "")
        for n in itertools.count(1):
            target = folder / (name if n == 1 else f"{stem}-{n}{ext}")
            try:
                os.link(source, target)  # fails if the name is taken, unlike rename
            except FileExistsError:
                continue
            except OSError:  # a filesystem without hard links
                if target.exists():
                    continue
                os.rename(source, target)
                return target
            os.unlink(source)
            return target
        raise AssertionError("unreachable")

    @staticmethod
    def _write_reason(placed: Path, text: str) -> None:
        reason = placed.with_name(placed.name + ".reason.txt")
        tmp = reason.with_name(f".{reason.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, reason)


class FolderSender:
    """Writes due outbox emails as ``.eml`` files instead of sending them."""

    def __init__(self, folder: Path, service) -> None:
        self.folder, self.service = Path(folder), service
        self.folder.mkdir(parents=True, exist_ok=True)

    def send_due(self, limit: int = 50) -> SendReport:
        report = SendReport()
        service = self.service
        for message in service.claim_outbox(Channel.EMAIL, limit):
            try:
                mail = compose(message, from_name=service.policy.name, from_address=service.policy.email,
                               now=service.clock())
            except (ValueError, TypeError) as exc:  # a header that cannot be written: this row fails alone
                report.given_up += service.delivery_failed(message.id, f"cannot compose: {exc}", permanent=True)
                report.failed += 1
                continue
            path = self.folder / f"{message.id:06d}-{message.kind}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(mail.as_bytes())
            tmp.replace(path)
            service.delivered(message.id)
            report.sent += 1
            log.info("wrote %s %s for %d recipient(s)", message.kind, path.name, len(message.recipients))
        return report
