"""IMAP in: the helpdesk mailbox, read with imapclient.

Protocol, and why each step is there:

1. Connect with TLS (default), STARTTLS, or plain (only when configured, e.g.
   a loopback test server); log in with a password or with OAuth2 (XOAUTH2).
2. SELECT the mailbox and read UIDVALIDITY. A message is identified by
   (mailbox, UIDVALIDITY, UID); if UIDVALIDITY changes, UIDs are reused by the
   server, so the stored progress is reset and Message-IDs prevent doubles.
3. SEARCH for messages not yet marked done (``UNKEYWORD $HelpdeskDone``), and
   FETCH them in batches with ``BODY.PEEK[]``, which does not set \\Seen.
4. Store first: each batch's raw bytes are committed to the store
   (``raw_email``, keyed by mailbox, UIDVALIDITY and UID), untouched.
5. Only then are they marked done on the server: flagged (\\Seen and the done
   keyword) or moved to the configured folder. A crash between 4 and 5 leaves
   them unmarked; on restart the store recognises their UIDs and keeps one copy.
6. Decide second: workers (this process, or ``helpdesk process-mail`` in
   others) claim stored messages, parse them and hand them to the service,
   a claimed batch in one transaction with a savepoint per message (killed
   mid-batch, the process leaves the whole batch pending, to be decided once
   by the next worker). A message whose processing fails is retried alone,
   then quarantined with its reason after ``mail.max_attempts`` tries, and the
   specialist is told.
7. Wait with IDLE where the server offers it, else poll; after any network
   error, reconnect with exponential backoff. When no fetch has succeeded for
   ``mail.alert_after_minutes``, the specialist is told once, and again when
   it works.

Failure policy: a message that cannot be trusted is quarantined by the service
(never retried, never blocking the ones behind it); an error of ours while
processing one message is retried a few times, then that message alone is
quarantined.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ingest.parsing import Limits, parse_email

log = logging.getLogger(__name__)

DONE_KEYWORD = b"$HelpdeskDone"
NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.abort, imaplib.IMAP4.error, IMAPClientError)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    username: str
    password: str | None = None
    #: Returns a fresh OAuth2 access token (XOAUTH2) instead of a password.
    oauth2_token: Callable[[], str] | None = None
    port: int | None = None
    security: str = "tls"  # "tls", "starttls" or "plain"
    mailbox: str = "INBOX"
    #: Move handled messages here; when None they are flagged \\Seen + $HelpdeskDone instead.
    done_folder: str | None = None
    poll_seconds: float = 60.0
    idle_seconds: float = 300.0
    batch: int = 200
    #: A fetch batch holds at most this many bytes (sizes are asked first; a larger message comes alone), so
    #: memory is bounded by bytes whatever the mailbox holds.
    batch_bytes: int = 16 * 1024 * 1024
    timeout: float = 30.0
    verify_tls: bool = True


@dataclass
class IngestReport:
    outcomes: Counter = field(default_factory=Counter)
    errors: int = 0
    stored: int = 0  # raw messages newly stored by the fetch

    @property
    def handled(self) -> int:
        return sum(self.outcomes.values())


class MailboxIngestor:
    """Reads the helpdesk mailbox and hands every new message to the service."""

    def __init__(self, settings: ImapSettings, service, *, limits: Limits = Limits(),
                 progress: Callable[[int, int], None] | None = None) -> None:
        if settings.security not in ("tls", "starttls", "plain"):
            raise ValueError(f"IMAP security must be tls, starttls or plain, not {settings.security!r}")
        if not settings.password and not settings.oauth2_token:
            raise ValueError("IMAP needs a password or an OAuth2 token (set them in the environment)")
        self.settings = settings
        self.service = service
        self.limits = limits
        self.progress = progress
        self._client: IMAPClient | None = None
        #: When fetching started to fail (None while it works): the specialist is told past a threshold.
        self.failing_since = None

    # ----------------------------------------------------------------- connection
    def _connect(self) -> IMAPClient:
        s = self.settings
        context = ssl.create_default_context()
        if not s.verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        port = s.port or (993 if s.security == "tls" else 143)
        client = IMAPClient(s.host, port=port, ssl=s.security == "tls", ssl_context=context, timeout=s.timeout)
        if s.security == "starttls":
            client.starttls(context)
        if s.oauth2_token is not None:
            client.oauth2_login(s.username, s.oauth2_token())
        else:
            client.login(s.username, s.password)
        return client

    def client(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except Exception:  # the connection may already be gone; closing must not fail
                try:
                    client.shutdown()
                except Exception:
                    pass

    # --------------------------------------------------------------------- a pass
    def run_once(self) -> IngestReport:
        """Fetch and store every new message, then process what is stored; returns what became of them."""
        report = IngestReport()
        self.fetch(report)
        self.process_stored(report)
        return report

    def fetch(self, report: IngestReport | None = None) -> IngestReport:
        """Store the raw bytes of every message not yet done, then mark them done on the server."""
        report = report or IngestReport()
        client = self.client()
        status = client.select_folder(self.settings.mailbox)
        uidvalidity = int(status[b"UIDVALIDITY"])
        criteria = ["ALL"] if self.settings.done_folder else ["UNKEYWORD", DONE_KEYWORD.decode()]
        uids = sorted(client.search(criteria))
        total, done = len(uids), 0
        for batch in self._batches(client, uids):
            done += len(batch)
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            messages = [(uid, fetched[uid][b"BODY[]"]) for uid in batch
                        if fetched.get(uid, {}).get(b"BODY[]") is not None]  # else expunged meanwhile
            if not messages:
                continue
            report.stored += self.service.store_fetched(self.settings.mailbox, uidvalidity, messages)
            # Only now, with the bytes committed to the store, is the message done on the server.
            self._mark_done(client, [uid for uid, _ in messages])
            self.service.record_mailbox_progress(self.settings.mailbox, uidvalidity, max(uid for uid, _ in messages))
            if self.progress:
                self.progress(done, total)
        return report

    def _batches(self, client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
        """``uids`` in fetch batches of at most ``batch`` messages and ``batch_bytes`` bytes (by RFC822.SIZE)."""
        limit, budget = self.settings.batch, self.settings.batch_bytes
        for start in range(0, len(uids), 1000):
            chunk = uids[start:start + 1000]
            sizes = client.fetch(chunk, ["RFC822.SIZE"])
            batch: list[int] = []
            weight = 0
            for uid in chunk:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if batch and (len(batch) >= limit or weight + size > budget):
                    yield batch
                    batch, weight = [], 0
                batch.append(uid)
                weight += size
            if batch:
                yield batch

    def process_stored(self, report: IngestReport | None = None) -> IngestReport:
        return process_stored(self.service, self.limits, report)

    def _mark_done(self, client: IMAPClient, uids: list[int]) -> None:
        """Called only after each of ``uids`` was committed to the store."""
        if not uids:
            return
        if self.settings.done_folder:
            client.move(uids, self.settings.done_folder)
        else:
            client.add_flags(uids, [b"\\Seen", DONE_KEYWORD], silent=True)

    # ------------------------------------------------------------------ the loop
    def run_forever(self, stop: threading.Event, *, max_backoff: float = 60.0) -> None:
        """Ingest, then wait for new mail (IDLE or polling), until ``stop`` is set."""
        backoff = 1.0
        while not stop.is_set():
            try:
                report = self.run_once()
            except NETWORK_ERRORS as exc:
                since = self.failing_since = self.failing_since or self.service.clock()
                error = str(exc)
                log.warning("IMAP connection problem (%s); reconnecting in %.0f s", error, backoff)
                self._tell_specialist(lambda: self.service.mailbox_unreachable(since, error))
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            if self.failing_since is not None:
                since, self.failing_since = self.failing_since, None
                self._tell_specialist(lambda: self.service.mailbox_recovered(since))
            if report.handled:
                log.info("mailbox %s: %s", self.settings.mailbox, dict(report.outcomes))
            backoff = 1.0
            try:
                self._wait_for_mail(stop)
            except NETWORK_ERRORS as exc:
                log.warning("IMAP connection lost while waiting (%s); reconnecting", exc)
                self.close()
        self.close()

    @staticmethod
    def _tell_specialist(call) -> None:
        """Health notices must never stop the reader (the store may be the thing that is down)."""
        try:
            call()
        except Exception as exc:
            log.warning("could not record the mailbox's health: %s", exc)

    def _wait_for_mail(self, stop: threading.Event) -> None:
        client = self.client()
        if b"IDLE" not in client.capabilities():
            stop.wait(self.settings.poll_seconds)
            return
        client.idle()
        try:
            waited = 0.0
            while not stop.is_set() and waited < self.settings.idle_seconds:
                if client.idle_check(timeout=1):
                    break
                waited += 1
        finally:
            client.idle_done()


def _parsed(stored, limits: Limits):
    """The stored message parsed, or the exception the parser raised (a defect of ours: it never should)."""
    try:
        return parse_email(stored.raw, mailbox=stored.mailbox, uidvalidity=stored.uidvalidity, uid=stored.uid,
                           limits=limits)
    except Exception as exc:  # noqa: BLE001 - reported with the message it concerns, in process_stored
        return exc


def process_stored(service, limits: Limits, report: IngestReport | None = None, batch: int = 50) -> IngestReport:
    """Parse and decide every stored message no worker holds; one failing message never stops the rest.

    Any number of processes may run this at once (``helpdesk process-mail``): each claims its own messages,
    and decides each claimed batch in one transaction (a savepoint per message, ``inbound_batch``). The
    report counts a batch only once it is committed.
    """
    report = report or IngestReport()
    while True:
        claimed = service.claim_inbound(batch)
        if not claimed:
            return report
        outcomes, errors = Counter(), 0
        parsed = [_parsed(stored, limits) for stored in claimed]  # first: the batch looks their senders up at once
        with service.inbound_batch([stored.id for stored in claimed],
                                   [email for email in parsed if not isinstance(email, Exception)]):
            for stored, email in zip(claimed, parsed):
                try:
                    if isinstance(email, Exception):
                        raise email
                    result = service.process_inbound(stored.id, email)
                except Exception as exc:  # our fault, not the sender's: retried, then quarantined
                    error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    log.warning("could not process stored message #%d (attempt %d): %s", stored.id,
                                stored.attempts, error)
                    errors += 1
                    if service.inbound_failed(stored.id, error):
                        outcomes["quarantined"] += 1
                    continue
                outcomes[result.outcome.value] += 1
        report.outcomes.update(outcomes)
        report.errors += errors
