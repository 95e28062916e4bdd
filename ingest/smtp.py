"""SMTP out: delivers the email rows of the outbox.

Protocol: claim due rows (the attempt is recorded and committed before
sending), open one SMTP connection (TLS, STARTTLS or plain; password or
XOAUTH2 login), send each row with its fixed Message-ID, and mark it sent.
Failure policy: if the server cannot be reached, every claimed row is marked
failed and retried later with exponential backoff (see ``kb.outbox``); a
recipient the server refuses fails only that row, for good when the reply is
a 5xx (the query then goes back to the specialist), and a row that cannot even
be composed fails alone without holding up the others. The window in which a row
may be sent twice (sent, then the process dies before the commit) is
documented in ``kb.outbox``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Callable

from kb.models import Channel
from kb.outbox import OutgoingMessage

log = logging.getLogger(__name__)

#: Headers a queued row may carry into the message.
PASSED_HEADERS = ("Reply-To", "In-Reply-To", "References", "Auto-Submitted")


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


def compose(message: OutgoingMessage, *, from_name: str, from_address: str, now) -> EmailMessage:
    """The email for one outbox row: UTF-8 body, encoded non-ASCII headers, threading headers."""
    mail = EmailMessage()
    mail["From"] = Address(display_name=from_name, addr_spec=from_address)
    mail["To"] = ", ".join(message.recipients)
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message.email_message_id
    for name in PASSED_HEADERS:
        value = message.headers.get(name)
        if value:
            mail[name] = value
    if mail["In-Reply-To"] and not mail["References"]:
        mail["References"] = mail["In-Reply-To"]
    mail.set_content(message.body, charset="utf-8")
    return mail


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
            if s.oauth2_token is not None:
                initial = f"user={s.username}\x01auth=Bearer {s.oauth2_token()}\x01\x01"

                def xoauth2(challenge: bytes | None = None) -> str:
                    # A refused token is answered with a 334 challenge carrying a base64 JSON error; the client
                    # must reply with an empty line, after which the server sends the final 535.
                    return initial if challenge is None else ""

                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("auth"):
                    raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
                smtp.auth("XOAUTH2", xoauth2)  # raises SMTPAuthenticationError unless the server says 235
            elif s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send_due(self, limit: int = 50) -> SendReport:
        report = SendReport()
        service = self.service
        due = service.claim_outbox(Channel.EMAIL, limit)
        if not due:
            return report

        def failed(message: OutgoingMessage, error: str, permanent: bool = False) -> None:
            report.given_up += service.delivery_failed(message.id, error, permanent=permanent)
            report.failed += 1

        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("SMTP server unavailable (%s); %d message(s) will be retried", exc, len(due))
            for message in due:
                failed(message, f"connect: {exc}")
            return report
        try:
            for position, message in enumerate(due):
                try:
                    mail = compose(message, from_name=service.policy.name, from_address=service.policy.email,
                                   now=service.clock())
                except (ValueError, TypeError) as exc:  # a header that cannot be written: this row fails alone
                    failed(message, f"cannot compose: {exc}", permanent=True)
                    continue
                try:
                    smtp.send_message(mail)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                    failed(message, describe(exc), permanent=is_permanent(exc))
                    continue
                except (OSError, smtplib.SMTPException) as exc:  # the connection broke: retry the rest later
                    for rest in due[position:]:
                        failed(rest, str(exc))
                    return report
                service.delivered(message.id)
                report.sent += 1
                log.info("sent %s %s to %d recipient(s)", message.kind, message.email_message_id,
                         len(message.recipients))
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        return report


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
