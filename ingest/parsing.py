"""Bytes in, an ``InboundEmail`` out: the one place where raw mail is parsed.

Policy: parse from bytes with the standard library's modern API, never decode
to ``str`` first. Every body part goes through one charset ladder (declared
charset, then UTF-8, then Windows-1252, then Latin-1, which cannot fail), so a
wrong or unknown charset label costs accents at worst, never the message. A
message we cannot trust (broken MIME, no Message-ID, no sender, a header
injection, too large, an archive or executable attached) is not dropped and
not retried: it is returned with a ``quarantine_reason`` so the store keeps the
raw bytes with that reason, and the loop moves on.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email import errors as email_errors
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from kb.inbound import InboundAttachment, InboundEmail

MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
BLOCKED_EXTENSIONS = (".zip", ".rar", ".7z", ".gz", ".tar", ".exe", ".bat", ".cmd", ".com", ".scr", ".js", ".jar",
                      ".vbs", ".msi", ".ps1", ".iso")
BLOCKED_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-rar-compressed",
                 "application/x-7z-compressed", "application/x-msdownload", "application/x-msdos-program",
                 "application/java-archive")
AUTO_SUBJECT = re.compile(
    r"^(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|absence|"
    r"r[ée]ponse automatique|absent|respuesta autom[áa]tica|fuera de la oficina)\b",
    re.IGNORECASE,
)
STRUCTURAL_DEFECTS = (email_errors.NoBoundaryInMultipartDefect, email_errors.StartBoundaryNotFoundDefect,
                      email_errors.MultipartInvariantViolationDefect, email_errors.CloseBoundaryNotFoundDefect)


@dataclass(frozen=True)
class Limits:
    """Sizes above which a message is quarantined rather than stored as a query."""

    max_message_bytes: int = 25 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024


class _Quarantine(Exception):
    pass


def decode_bytes(data: bytes, declared: str | None) -> str:
    """The charset ladder: declared (if Python knows it), UTF-8, Windows-1252, Latin-1."""
    ladder = []
    if declared:
        try:
            ladder.append(codecs.lookup(declared).name)
        except LookupError:
            pass
    ladder += ["utf-8", "cp1252"]
    for charset in ladder:
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def html_to_text(html: str) -> str:
    from inscriptis import get_text

    return get_text(html).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted history and signatures removed (for the classifier)."""
    from mailparser_reply import EmailReplyParser

    try:
        new = EmailReplyParser(languages=["en", "fr", "es"]).parse_reply(text)
    except Exception:  # the library is heuristic; a failure must not lose the text
        return text.strip()
    return (new or text).strip()


def _raw_headers(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[:end]


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError) as exc:
        raise _Quarantine(f"unreadable {name} header ({exc})") from None
    return None if value is None else str(value)


def _automatic(msg: EmailMessage, sender: str | None, subject: str) -> str | None:
    """RFC 3834 and the common vendor signs of mail that no person wrote."""
    if msg.get_content_type() == "multipart/report" and msg.get_param("report-type") == "delivery-status":
        return "bounce"
    if sender and re.match(r"^(mailer-daemon|postmaster)@", sender, re.IGNORECASE):
        return "bounce"
    auto = (_header(msg, "Auto-Submitted") or "no").strip().lower()
    if auto != "no" or msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress"):
        return "auto-reply"
    if (_header(msg, "Precedence") or "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "bulk"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "bulk"
    if AUTO_SUBJECT.match(subject):
        return "auto-reply"
    return None


def _bounced_ids(msg: EmailMessage) -> tuple[str, ...]:
    ids: list[str] = []
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers", "message/delivery-status"):
            payload = part.get_payload()
            text = payload[0].as_string() if isinstance(payload, list) and payload else str(payload)
            for line in text.splitlines():
                if line.lower().startswith(("message-id:", "original-message-id:")):
                    ids += MESSAGE_ID.findall(line)
    return tuple(dict.fromkeys(ids))


def _body_and_attachments(msg: EmailMessage, limits: Limits) -> tuple[str, list[InboundAttachment]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[InboundAttachment] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        content_type = part.get_content_type()
        data = part.get_payload(decode=True) or b""
        if filename or disposition == "attachment":
            name = filename or "attachment"
            if name.lower().endswith(BLOCKED_EXTENSIONS) or content_type in BLOCKED_TYPES:
                raise _Quarantine(f"attachment {name!r} ({content_type}) is an archive or program; not accepted")
            if len(data) > limits.max_attachment_bytes:
                raise _Quarantine(f"attachment {name!r} is {len(data) / 1048576:.1f} MB; "
                                  f"the limit is {limits.max_attachment_bytes / 1048576:.0f} MB")
            attachments.append(InboundAttachment(name, content_type, data))
        elif content_type == "text/plain":
            plain.append(decode_bytes(data, part.get_content_charset()))
        elif content_type == "text/html":
            html.append(html_to_text(decode_bytes(data, part.get_content_charset())))
    text = "\n\n".join(p.strip() for p in plain if p.strip()) or "\n\n".join(h for h in html if h)
    return text.replace("\r\n", "\n").strip(), attachments


def parse_email(raw: bytes, *, mailbox: str = "INBOX", uidvalidity: int | None = None, uid: int | None = None,
                limits: Limits = Limits()) -> InboundEmail:
    """Parse one message; never raises for bad mail (it comes back with a quarantine reason)."""
    base = dict(raw=raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
    if len(raw) > limits.max_message_bytes:
        return InboundEmail(**base, quarantine_reason=f"message is {len(raw) / 1048576:.1f} MB; "
                                                      f"the limit is {limits.max_message_bytes / 1048576:.0f} MB")
    try:
        try:
            _raw_headers(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _Quarantine("raw 8-bit header bytes that are not valid UTF-8") from None
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        defects = [d for part in msg.walk() for d in part.defects if isinstance(d, STRUCTURAL_DEFECTS)]
        if defects:
            raise _Quarantine(f"broken MIME structure ({type(defects[0]).__name__})")
        subject = _header(msg, "Subject") or ""
        if "\r" in subject or "\n" in subject:
            raise _Quarantine("header injection attempt: line break inside the Subject")
        from_header = msg.get("From")
        addresses = getattr(from_header, "addresses", ()) if from_header is not None else ()
        if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
            raise _Quarantine("no valid From address")
        sender, sender_name = addresses[0].addr_spec.lower(), addresses[0].display_name or None
        automatic = _automatic(msg, sender, subject)
        message_id = _header(msg, "Message-ID")
        message_id = (MESSAGE_ID.findall(message_id) or [message_id.strip()])[0] if message_id else None
        if not message_id and automatic != "bounce":
            raise _Quarantine("no Message-ID header")
        in_reply_to = (MESSAGE_ID.findall(_header(msg, "In-Reply-To") or "") or [None])[0]
        references = tuple(MESSAGE_ID.findall(_header(msg, "References") or ""))
        if automatic == "bounce":
            text, attachments = "", []
        else:
            text, attachments = _body_and_attachments(msg, limits)
    except _Quarantine as reason:
        return InboundEmail(**base, quarantine_reason=str(reason))
    except (email_errors.MessageError, ValueError, LookupError, TypeError, AttributeError, IndexError) as exc:
        return InboundEmail(**base, quarantine_reason=f"unparseable message ({type(exc).__name__}: {exc})")
    return InboundEmail(
        **base, message_id=message_id, in_reply_to=in_reply_to, references=references, sender=sender,
        sender_name=sender_name, subject=subject.strip() or None, text=text,
        new_text=strip_quoted(text) if text and (in_reply_to or references) else text,
        attachments=tuple(attachments), automatic=automatic,
        bounced_message_ids=_bounced_ids(msg) if automatic == "bounce" else (),
    )
