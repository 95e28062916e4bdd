"""IMAP in: the helpdesk mailbox, read with imapclient.

Protocol, and why each step is there:

1. Connect with TLS (default), STARTTLS, or plain (only when configured, e.g.
   a loopback test server); log in with a password or with OAuth2 (XOAUTH2).
2. SELECT the mailbox and read UIDVALIDITY. A message is identified by
   (mailbox, UIDVALIDITY, UID); if UIDVALIDITY changes, UIDs are reused by the
   server, so the stored progress is reset and Message-IDs prevent doubles.
3. SEARCH for messages not yet marked done (``UNKEYWORD $HelpdeskDone``), and
   FETCH them in batches with ``BODY.PEEK[]``, which does not set \\Seen.
4. Each message is parsed and handed to the service, which stores it (and the
   raw bytes) in one committed transaction.
5. Only then is it marked done on the server: flagged (\\Seen and the done
   keyword) or moved to the configured folder. A crash between 4 and 5 leaves
   it unmarked; on restart the service recognises its UID and it is only marked.
6. Wait with IDLE where the server offers it, else poll; after any network
   error, reconnect with exponential backoff.

Failure policy: a message that cannot be parsed is quarantined by the service
(never retried forever, never blocking the ones behind it); an error of ours
while storing one message is logged, the message is left unmarked for the next
pass, and the loop moves on to the next.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

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
    timeout: float = 30.0
    verify_tls: bool = True


@dataclass
class IngestReport:
    outcomes: Counter = field(default_factory=Counter)
    errors: int = 0

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
        """Handle every message not yet done; returns what became of them."""
        report = IngestReport()
        client = self.client()
        status = client.select_folder(self.settings.mailbox)
        uidvalidity = int(status[b"UIDVALIDITY"])
        criteria = ["ALL"] if self.settings.done_folder else ["UNKEYWORD", DONE_KEYWORD.decode()]
        uids = sorted(client.search(criteria))
        total = len(uids)
        for start in range(0, total, self.settings.batch):
            batch = uids[start:start + self.settings.batch]
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            done = []
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is None:  # expunged meanwhile
                    continue
                email = parse_email(raw, mailbox=self.settings.mailbox, uidvalidity=uidvalidity, uid=uid,
                                    limits=self.limits)
                try:
                    result = self.service.receive_email(email)
                except NETWORK_ERRORS:
                    raise
                except Exception:
                    # Our fault, not the sender's: keep the message for the next pass, go on with the others.
                    log.exception("could not store message uid %s; it stays unmarked for the next pass", uid)
                    report.errors += 1
                    continue
                report.outcomes[result.outcome.value] += 1
                done.append(uid)
            self._mark_done(client, done)
            if done:
                self.service.record_mailbox_progress(self.settings.mailbox, uidvalidity, max(done))
            if self.progress:
                self.progress(min(start + len(batch), total), total)
        return report

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
                if report.handled:
                    log.info("mailbox %s: %s", self.settings.mailbox, dict(report.outcomes))
                backoff = 1.0
                self._wait_for_mail(stop)
            except NETWORK_ERRORS as exc:
                log.warning("IMAP connection problem (%s); reconnecting in %.0f s", exc, backoff)
                self.close()
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
        self.close()

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
