"""SMTP out: delivers the email rows of the outbox.

Protocol: claim due rows in batches (the attempt is recorded and committed
before sending) until nothing is due, over one SMTP connection per pass (TLS,
STARTTLS or plain; password or XOAUTH2 login; reopened once if the server drops
it), send each row with its fixed Message-ID (acknowledgements, notices and the
other automatic messages to requesters from the null envelope sender, ``MAIL
FROM:<>``), and mark it sent as soon as the server accepts it. Failure policy: if the server cannot be reached, every
claimed row is marked failed and retried later with exponential backoff (see
``kb.outbox``), the rows not yet claimed waiting for the next pass; a
recipient the server refuses fails only that row, for good when the reply is
a 5xx (the query then goes back to the specialist), and a row that cannot even
be composed fails alone without holding up the others. The window in which a row
may be sent twice (sent, then the process dies before the commit) is
documented in ``kb.outbox``.
"""

from __future__ import annotations

import logging
import queue
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as _default_policy
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Callable

from kb.models import Channel
from kb.outbox import OutgoingMessage

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int | None = None
    security: str = "starttls"  # "tls", "starttls" or "plain"
    username: str | None = None
    password: str | None = None
    oauth2_token: Callable[[], str] | None = None
    timeout: float = 30.0
    verify_tls: bool = True


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


# Header hygiene for compose(): every value a row carries into a header is hostile until cleaned.

#: The longest subject written; a longer one is cut and ends with an ellipsis.
SUBJECT_LIMIT = 250
#: C0 and C1 controls (NUL, CR, LF, \v, \f, NEL ...) and the Unicode line and paragraph separators.
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")
#: The start of an RFC 2047 encoded word ("=?utf-8?q?"): the email package decodes these even in text
#: it is asked to write as is, and writes what they hide (CR LF included) into the message.
_ENCODED_WORD = re.compile(r"=\?(?=[^?\s]*\?[bBqQ]\?)")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"
_MESSAGE_ID = re.compile(rf"<{_ATEXT}@(?:{_ATEXT}|\[[!-Z^-~]*\])>")
_BRACKETED = re.compile(r"<[^<>\s]*>")


def _one_line(value) -> str:
    """``value`` as one line: controls and line/paragraph separators become spaces, whitespace runs collapse."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    text = _SURROGATES.sub("\ufffd", _LINE_BREAKERS.sub(" ", text))
    return " ".join(text.split())


def _header_text(value) -> str:
    """One line of text the email package writes as it is: encoded words are decoded (and cleaned) here first."""
    text = _one_line(value)
    for _ in range(10):  # each decoding shortens the text; an encoded word may hide another one
        if "=?" not in text:
            return text
        try:
            decoded = _one_line(str(_default_policy.header_factory("subject", text)))
        except Exception:  # noqa: BLE001 - the parser's trouble with hostile text: keep the text, defused below
            break
        if decoded == text:
            break
        text = decoded
    return _ENCODED_WORD.sub("= ?", text)


def _subject(value) -> str:
    text = _header_text(value)
    return text if len(text) <= SUBJECT_LIMIT else text[:SUBJECT_LIMIT - 1].rstrip() + "\u2026"


def _mailbox(name, spec, what: str, original) -> Address:
    """The address ``name <spec>``; a ValueError naming ``original`` when ``spec`` is not one valid address."""
    try:
        local, at, domain = spec.rpartition("@")
        if not (local and at and domain) or "=?" in spec:
            raise ValueError("not a single address")
        if not domain.isascii():
            domain = domain.encode("idna").decode("ascii")  # SMTP without SMTPUTF8 only takes ASCII domains
        return Address(display_name=_header_text(name), addr_spec=f"{local}@{domain}")
    except Exception as exc:  # noqa: BLE001 - the parser raises IndexError and HeaderParseError on some junk too
        raise ValueError(f"invalid {what} {original!r}") from exc


def _single_address(value, what: str) -> Address:
    """Exactly one valid address ("jane@acme.example" or "Jane Osei <jane@acme.example>"); else a ValueError."""
    text = _one_line(value) if isinstance(value, str) else ""
    pairs = getaddresses([text])
    if len(pairs) != 1 or pairs[0] != parseaddr(text):  # a list, or junk the two parsers read differently
        raise ValueError(f"invalid {what} {value!r}")
    return _mailbox(*pairs[0], what, value)


def _reply_to(value) -> list[Address]:
    """The Reply-To address, or nothing when the value is not exactly one valid address."""
    if not value:
        return []
    try:
        return [_single_address(value, "Reply-To")]
    except ValueError:
        return []


def _message_ids(value) -> list[str]:
    """The well-formed ``<left@right>`` ids in a threading header value; anything else is dropped."""
    return [c for c in _BRACKETED.findall(_one_line(value)) if _MESSAGE_ID.fullmatch(c) and "=?" not in c]


def _envelope(mail: EmailMessage, *fields: str) -> list[str]:
    """The addresses ``smtplib.send_message`` will take from these header fields for the SMTP envelope."""
    return [spec for _, spec in getaddresses([mail[f] for f in fields if mail[f] is not None])]


def _set_addresses(mail: EmailMessage, name: str, addresses: list[Address]) -> None:
    """Write an address header whose envelope reading is exactly ``addresses`` (display names dropped if need be)."""
    wanted = [a.addr_spec for a in addresses]
    for attempt in (addresses, [Address(addr_spec=a.addr_spec) for a in addresses]):
        del mail[name]
        mail[name] = attempt
        if _envelope(mail, name) == wanted:
            return
    raise ValueError(f"{name} {', '.join(wanted)} cannot be written safely")


def _check_header_lines(mail: EmailMessage) -> None:
    """Each header, as written on the wire, is one header: no line break but folding (a last safety net)."""
    wire = mail.policy.clone(linesep="\r\n")
    for name, value in mail.items():
        lines = wire.fold_binary(name, value).split(b"\r\n")
        if (lines[-1] or not lines[0].lower().startswith(name.lower().encode() + b":")
                or any(b"\r" in line or b"\n" in line or b"\0" in line for line in lines)
                or any(line[:1] not in (b" ", b"\t") for line in lines[1:-1])):
            raise ValueError(f"the {name} header would not stay one header")


def compose(message: OutgoingMessage, *, from_name: str, from_address: str, now) -> EmailMessage:
    """The email for one outbox row: UTF-8 body, encoded non-ASCII headers, threading headers.

    Every header value is cleaned (controls and line/paragraph separators become spaces, encoded words are
    decoded and cleaned, the subject is capped at ``SUBJECT_LIMIT``), so no value can add a header. A
    recipient that is not exactly one valid address raises ``ValueError`` naming it (the sender fails that
    row alone, for good); invalid Reply-To addresses and message ids are dropped.
    """
    recipients = [_single_address(r, "recipient") for r in message.recipients]
    if not recipients:
        raise ValueError("no recipient")
    headers = message.headers if isinstance(message.headers, dict) else {}
    mail = EmailMessage()
    _set_addresses(mail, "From", [_mailbox(from_name, from_address, "sender address", from_address)])
    _set_addresses(mail, "To", recipients)
    mail["Subject"] = _subject(message.subject)
    mail["Date"] = format_datetime(now)
    message_id = _one_line(message.email_message_id)
    if _MESSAGE_ID.fullmatch(message_id) and "=?" not in message_id:
        mail["Message-ID"] = message_id
    reply_to = _reply_to(headers.get("Reply-To"))
    if reply_to:
        mail["Reply-To"] = reply_to
    in_reply_to = _message_ids(headers.get("In-Reply-To"))
    references = _message_ids(headers.get("References")) or in_reply_to
    if in_reply_to:
        mail["In-Reply-To"] = " ".join(in_reply_to)
    if references:
        mail["References"] = " ".join(references)
    auto_submitted = _header_text(headers.get("Auto-Submitted"))
    if auto_submitted:
        mail["Auto-Submitted"] = auto_submitted
    body = message.body if isinstance(message.body, str) else "" if message.body is None else str(message.body)
    mail.set_content(_SURROGATES.sub("\ufffd", body), charset="utf-8")
    _check_header_lines(mail)
    return mail

#: Rows claimed per transaction. A pass claims batch after batch until nothing is due; a claimed row is
#: leased (``kb.outbox.LEASE``), so a batch must be sent well within the lease even by a slow server.
CLAIM_BATCH = 100


class _Link:
    """The one SMTP connection of a pass: opened on first use, reopened after the server dropped it."""

    def __init__(self, connect: Callable[[], smtplib.SMTP]) -> None:
        self._connect, self.smtp = connect, None
        #: Rows in a row that the server dropped the connection on twice.
        self.strikes = 0

    def open(self) -> smtplib.SMTP:
        if self.smtp is None:
            self.smtp = self._connect()
        return self.smtp

    def dropped(self) -> bool:
        """Whether the server closed the connection (smtplib closes it on a 421 reply, too)."""
        return self.smtp is None or self.smtp.sock is None

    def forget(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


class _Recorder:
    """Records accepted emails as sent in a thread of its own, while the next email is on the wire.

    Why: recording a delivery is a transaction (the row, the query's message and history), about as long
    as an SMTP exchange; one after the other, they halved the rate. At most one accepted email waits
    while another is recorded, so a crash repeats at most those two (and the one in flight).
    """

    def __init__(self, delivered: Callable[[int], None]) -> None:
        self._delivered = delivered
        self._waiting: queue.Queue[int | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def record(self, outbox_id: int) -> None:
        """Queue ``outbox_id`` for recording (waits while one is queued); re-raises a recording failure."""
        self._check()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox-recorder", daemon=True)
            self._thread.start()
        self._waiting.put(outbox_id)

    def _run(self) -> None:
        while (outbox_id := self._waiting.get()) is not None:
            if self._error is None:
                try:
                    self._delivered(outbox_id)
                except BaseException as exc:  # noqa: BLE001 - handed to the sending thread, raised there
                    self._error = exc

    def close(self) -> None:
        """Wait until every accepted email is recorded; re-raises a recording failure."""
        if self._thread is not None:
            self._waiting.put(None)
            self._thread.join()
            self._thread = None
        self._check()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error


class _ServerGone(Exception):
    """The server cannot be reached, or keeps dropping the connection: the rest of the pass waits."""


class OutboxSender:
    """Sends due outbox emails over SMTP."""

    def __init__(self, settings: SmtpSettings, service) -> None:
        if settings.security not in ("tls", "starttls", "plain"):
            raise ValueError(f"SMTP security must be tls, starttls or plain, not {settings.security!r}")
        self.settings = settings
        self.service = service

    def _connect(self) -> smtplib.SMTP:
        """An open, logged-in connection; a refused login raises ``smtplib.SMTPAuthenticationError``."""
        s = self.settings
        context = ssl.create_default_context()
        if not s.verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port or 465, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port or 587, timeout=s.timeout)
        try:
            if s.security == "starttls":
                smtp.starttls(context=context)
            smtp.ehlo_or_helo_if_needed()  # once per connection, not once per message
            if s.oauth2_token is not None:
                initial = f"user={s.username}\x01auth=Bearer {s.oauth2_token()}\x01\x01"

                def xoauth2(challenge: bytes | None = None) -> str:
                    # A refused token is answered with a 334 challenge carrying a base64 JSON error; the client
                    # must reply with an empty line, after which the server sends the final 535.
                    return initial if challenge is None else ""

                if not smtp.has_extn("auth"):
                    raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
                smtp.auth("XOAUTH2", xoauth2)  # raises SMTPAuthenticationError unless the server says 235
            elif s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send_due(self, batch: int = CLAIM_BATCH) -> SendReport:
        """Send every email due now over one connection, claiming ``batch`` rows at a time.

        The pass ends when nothing more is due, or early when the server cannot be reached or keeps
        dropping the connection: the rows claimed then are failed (retried later with backoff), the
        others stay due for the next pass. Each row is recorded as sent as soon as the server accepts it
        (while the next one is sent: ``_Recorder``), so a crash repeats at most the two emails accepted and
        not yet recorded, and the one in flight (see ``kb.outbox``).
        """
        report = SendReport()
        link, recorder = _Link(self._connect), _Recorder(self.service.delivered)
        try:
            while True:
                due = self.service.claim_outbox(Channel.EMAIL, batch)
                try:
                    for position, message in enumerate(due):
                        self._send_one(message, link, recorder, report)
                except _ServerGone as gone:
                    for rest in due[position:]:
                        self._failed(report, rest, str(gone))
                    break
                if len(due) < batch:  # the claim took all that was due
                    break
        finally:
            try:
                link.close()
            finally:
                recorder.close()
        return report

    def _failed(self, report: SendReport, message: OutgoingMessage, error: str, permanent: bool = False) -> None:
        report.given_up += self.service.delivery_failed(message.id, error, permanent=permanent)
        report.failed += 1

    def _send_one(self, message: OutgoingMessage, link: _Link, recorder: _Recorder, report: SendReport) -> None:
        """Send one row and record the outcome; raises ``_ServerGone`` when the pass should stop.

        A dropped connection is reopened once for the row, which is then sent again: the server had not
        accepted it (a drop between the end of the data and the server's 250 is the one case where it
        had, and the receiver gets the same Message-ID twice). A row dropped twice fails alone (retried
        later), so a message that upsets the server does not hold up the others; a second such row in a
        row stops the pass.
        """
        service = self.service
        try:
            mail = compose(message, from_name=service.policy.name, from_address=service.policy.email,
                           now=service.clock())
        except (ValueError, TypeError) as exc:  # a header that cannot be written: this row fails alone
            self._failed(report, message, f"cannot compose: {exc}", permanent=True)
            return
        for retry in (False, True):
            try:
                smtp = link.open()
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("SMTP server unavailable (%s); the rest of the outbox will be retried", exc)
                raise _ServerGone(f"connect: {exc}") from exc
            try:
                # The null envelope sender for what the helpdesk sends on its own to whoever wrote: nothing
                # can bounce back into the mailbox as a question (kb.outbox.from_null_sender).
                smtp.send_message(mail, from_addr="" if message.null_sender else None)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                if not link.dropped():  # the server refused this row and stays with us
                    self._failed(report, message, describe(exc), permanent=is_permanent(exc))
                    return
                error = describe(exc)
            except smtplib.SMTPNotSupportedError as exc:  # e.g. an address this server cannot carry
                self._failed(report, message, f"the SMTP server cannot send this message: {exc}", permanent=True)
                return
            except (OSError, smtplib.SMTPException) as exc:  # the connection broke
                error = str(exc) or type(exc).__name__
            else:
                recorder.record(message.id)
                link.strikes = 0
                report.sent += 1
                log.info("sent %s %s to %d recipient(s)", message.kind, message.email_message_id,
                         len(message.recipients))
                return
            link.forget()
            if not retry:
                log.info("the SMTP server dropped the connection (%s); reconnecting", error)
                continue
            link.strikes += 1
            if link.strikes >= 2:  # two rows in a row: the server, not the row, is the trouble
                raise _ServerGone(f"the SMTP server keeps dropping the connection: {error}")
            self._failed(report, message, f"the SMTP server dropped the connection twice: {error}")
            return


def describe(error: smtplib.SMTPException) -> str:
    """The server's words, readable: "jane@acme.example refused: 550 5.1.1 <...>: mailbox unavailable"."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address} refused: {code} {text.decode(errors='replace')}"
                         for address, (code, text) in error.recipients.items())
    code, text = getattr(error, "smtp_code", None), getattr(error, "smtp_error", b"")
    if code is not None:
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return str(error)


def is_permanent(error: smtplib.SMTPException) -> bool:
    """An SMTP 5xx reply is final (unknown mailbox, refused sender); a 4xx may pass on a later attempt."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and code >= 500
