"""Bytes in, an ``InboundEmail`` out: the one place where raw mail is parsed.

Policy: parse from bytes with the standard library's modern API, never decode
to ``str`` first. Raw 8-bit header bytes are read as UTF-8 (RFC 6532; at the
top level anything else is quarantined as forged, except in a bounce). Every body
part goes through one charset ladder (``ingest.mime_text.decode_bytes``: each
label read as the superset browsers read it as, Latin-1 and ASCII as Windows-1252,
gb2312 as GB18030..., then UTF-8, then a detected charset for a non-Latin script,
then Windows-1252, which cannot fail), and encoded words in headers get the same
supersets, so a wrong or unknown label costs accents at worst, never the message. Every text field produced is cleaned of NUL and other control
characters (PostgreSQL refuses NUL); the raw bytes are kept untouched.

Mail no person will read an answer to (bounces, auto-replies, lists, spam...) is recognised in
``ingest.automatic``, with the sign that told; it is never answered, so a missing From, a missing
Message-ID or a MIME structure cut short by the MTA are no reason to set it aside.

A message we cannot trust (broken MIME, no Message-ID, no sender, a header
injection, too large, an archive or executable attached) is not dropped and
not retried: it is returned with a ``quarantine_reason`` (and whatever its
headers told, so the store can notify a sender who can fix it:
``quarantine_fixable``), the store keeps the raw bytes with that reason, and
the loop moves on. A forwarded message (``message/rfc822``) is kept as an
``.eml`` attachment; a forward by a colleague names the original sender in
``forwarded_from``.
"""

from __future__ import annotations

import base64
import binascii
import io
import quopri
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email.generator import BytesGenerator
from email.header import decode_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses

from ingest.automatic import ABUSE_REPORT, BOUNCE, BounceFacts, bounce_facts, recognise
from ingest.large_parts import CUT_ABOVE, LargeParts
from ingest.mime_text import (
    attachment_name,
    clean_line,
    clean_text,
    decode_bytes,
    inline_forward,
    subject_kind,
    superset_words,
    unescape_surrogates,
)
from ingest.plain_headers import plain_sender, plain_text
from kb.inbound import InboundAttachment, InboundEmail

__all__ = ["Limits", "decode_bytes", "html_to_text", "parse_email", "strip_quoted"]

MESSAGE_ID = re.compile(r"<[^<>\s\x00-\x1f]+@[^<>\s\x00-\x1f]+>")
BLOCKED_EXTENSIONS = (".zip", ".rar", ".7z", ".gz", ".tar", ".exe", ".bat", ".cmd", ".com", ".scr", ".js", ".jar",
                      ".vbs", ".msi", ".ps1", ".iso")
BLOCKED_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-rar-compressed",
                 "application/x-7z-compressed", "application/x-msdownload", "application/x-msdos-program",
                 "application/java-archive")
FORWARDED_TYPES = ("message/rfc822", "message/global")
#: What fits the store: longer subjects and names are cut (the raw message keeps them), longer ids ignored.
MAX_SUBJECT, MAX_NAME, MAX_ADDRESS, MAX_ID = 255, 200, 320, 400
STRUCTURAL_DEFECTS = (email_errors.NoBoundaryInMultipartDefect, email_errors.StartBoundaryNotFoundDefect,
                      email_errors.MultipartInvariantViolationDefect, email_errors.CloseBoundaryNotFoundDefect)


class _Policy(policy.EmailPolicy):
    """``policy.default``, except that raw 8-bit header bytes are read as UTF-8 (RFC 6532), else
    Windows-1252, instead of becoming surrogate escapes in names, subjects and file names."""

    #: Parsed headers by (name, raw value): the stdlib parses a header again on every read, and a
    #: message's Content-Type alone is read a dozen times. Header objects are immutable values.
    _parsed: dict = {}

    def header_fetch_parse(self, name, value):
        if isinstance(value, str):
            value = superset_words(unescape_surrogates(value))
        key = (name.lower(), value)
        parsed = self._parsed.get(key)
        if parsed is None:
            if len(self._parsed) > 20_000:
                self._parsed.clear()
            parsed = self._parsed[key] = super().header_fetch_parse(name, value)
        return parsed


POLICY = _Policy()


@dataclass(frozen=True)
class Limits:
    """Sizes above which a message is quarantined rather than stored as a query."""

    max_message_bytes: int = 25 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024


class _Quarantine(Exception):
    """A message not to trust; ``fixable`` when its sender can fix the reason (a zip, a size, broken MIME)."""

    def __init__(self, reason: str, *, fixable: bool = False) -> None:
        super().__init__(reason)
        self.fixable = fixable


def load_readers() -> None:
    """Load now what reading mail loads at its first message (HTML to text, the bounce detectors and the
    patterns built from them), for a process that runs until stopped."""
    from ingest import automatic

    html_to_text("<p>ready</p>")
    automatic.load_detectors()


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
    plain, text = plain_text(msg, name)
    if plain:
        return text
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError) as exc:
        raise _Quarantine(f"unreadable {name} header ({exc})") from None
    return None if value is None else str(value)


def _raw_values(msg: EmailMessage, name: str) -> list[str]:
    """A header's values as written, top first, unfolded (no header-class parsing to fail)."""
    name = name.lower()
    return [re.sub(r"\r?\n", "", unescape_surrogates(v)) for k, v in msg.raw_items() if k.lower() == name]


def _decoded_words(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded, as far as they decode."""
    try:
        parts = decode_header(value)
        return "".join(p.decode(c or "ascii", "replace") if isinstance(p, bytes) else p for p, c in parts)
    except (ValueError, LookupError):
        return value


def _sender(msg: EmailMessage) -> tuple[str | None, str | None]:
    plain, address, name = plain_sender(msg)
    if not plain:
        try:
            from_header = msg.get("From")
        except (ValueError, IndexError, TypeError) as exc:
            if any("\r" in v or "\n" in v for v in map(_decoded_words, _raw_values(msg, "From"))):
                raise _Quarantine("header injection attempt: line break inside the From header") from None
            raise _Quarantine(f"unreadable From header ({exc})") from None
        addresses = getattr(from_header, "addresses", ()) if from_header is not None else ()
        if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
            return None, None
        address, name = addresses[0].addr_spec, addresses[0].display_name or ""
    if "\r" in name or "\n" in name:
        raise _Quarantine("header injection attempt: line break inside the From name")
    address = clean_line(address).lower()
    if len(address) > MAX_ADDRESS:
        return None, None
    return address, clean_line(name).strip()[:MAX_NAME] or None


def _recipients(msg: EmailMessage) -> tuple[str, ...]:
    """To, Cc, Delivered-To and X-Original-To addresses, lower case, each once."""
    values = [v for name in ("To", "Cc", "Delivered-To", "X-Original-To") for v in _raw_values(msg, name)]
    found = [clean_line(address).strip().lower() for _, address in getaddresses(values)]
    return tuple(dict.fromkeys(a for a in found if "@" in a))


def _authentication_failed(msg: EmailMessage) -> bool:
    """The topmost Authentication-Results (our receiving server's): DMARC failed, or SPF failed without a DKIM pass."""
    values = _raw_values(msg, "Authentication-Results")
    if not values:
        return False
    verdict = re.sub(r"\([^()]*\)", " ", values[0]).lower()
    results: dict[str, set[str]] = {}
    for method, result in re.findall(r"(?:^|[;\s])(dmarc|dkim|spf)\s*=\s*([a-z]+)", verdict):
        results.setdefault(method, set()).add(result)
    if "fail" in results.get("dmarc", ()):
        return True
    if "pass" in results.get("dmarc", ()) or "pass" in results.get("dkim", ()):
        return False
    return bool(results.get("spf", set()) & {"fail", "softfail"})


def _bounced_ids(msg: EmailMessage, large: LargeParts | None = None) -> tuple[str, ...]:
    """The Message-IDs a bounce quotes: in its returned headers or message, or in its text (plain bounces)."""
    ids: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        try:
            if ctype in ("message/rfc822", "text/rfc822-headers", "message/delivery-status"):
                payload = part.get_payload()
                text = payload[0].as_string() if isinstance(payload, list) and payload else str(payload)
            elif ctype == "text/plain":
                text = decode_bytes(_payload(part, large), part.get_content_charset())
            else:
                continue
        except (email_errors.MessageError, ValueError, LookupError, TypeError, AttributeError, IndexError):
            continue
        for line in text.splitlines():
            if line.strip().lower().startswith(("message-id:", "original-message-id:")):
                ids += MESSAGE_ID.findall(clean_text(line))
    return tuple(dict.fromkeys(ids))


def _own_parts(msg: EmailMessage):
    """Every part of the message's own MIME tree; a forwarded message is one part, not entered."""
    yield msg
    if msg.get_content_maintype() == "multipart" and isinstance(msg.get_payload(), list):
        for part in msg.get_payload():
            yield from _own_parts(part)


def _payload(part: EmailMessage, large: LargeParts | None) -> bytes:
    """A leaf part's decoded bytes (from the original bytes when its base64 was cut out: ``ingest.large_parts``)."""
    return large.payload(part) if large is not None else part.get_payload(decode=True) or b""


def _forwarded(part: EmailMessage, linesep: str, large: LargeParts | None = None) -> tuple[EmailMessage, bytes]:
    """A ``message/rfc822`` part: the message inside and its bytes (as they came, unless mis-encoded)."""
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else EmailMessage(policy=POLICY)
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=POLICY.clone(max_line_length=None, linesep=linesep)).flatten(inner)
    data = out.getvalue()
    if large is not None:
        data = large.restore(data)
    cte = (_header(part, "Content-Transfer-Encoding") or "").strip().lower()
    if cte in ("base64", "quoted-printable"):  # forbidden for message/rfc822 (RFC 2046 5.2.1), yet seen
        try:
            data = base64.b64decode(data) if cte == "base64" else quopri.decodestring(data)
        except (binascii.Error, ValueError):
            pass
        inner = BytesParser(policy=POLICY).parsebytes(data)
    return inner, data


def _attachment(name: str, content_type: str, data: bytes, limits: Limits) -> InboundAttachment:
    if name.lower().endswith(BLOCKED_EXTENSIONS) or content_type in BLOCKED_TYPES:
        raise _Quarantine(f"attachment {name!r} ({content_type}) is an archive or program; not accepted", fixable=True)
    if len(data) > limits.max_attachment_bytes:
        raise _Quarantine(f"attachment {name!r} is {len(data) / 1048576:.1f} MB; "
                          f"the limit is {limits.max_attachment_bytes / 1048576:.0f} MB", fixable=True)
    return InboundAttachment(name, content_type, data)


@dataclass
class _Body:
    text: str = ""
    attachments: list[InboundAttachment] = field(default_factory=list)
    #: Each forwarded message: (its sender as (address, name) or None, its text).
    forwards: list[tuple[tuple[str, str | None] | None, str]] = field(default_factory=list)


def _body(msg: EmailMessage, limits: Limits, linesep: str, depth: int = 0, large: LargeParts | None = None) -> _Body:
    """The text (plain parts, else HTML as text), attachments, and forwarded messages (checked alike)."""
    plain: list[str] = []
    html: list[str] = []
    #: Named inline text parts (a ".txt" the mail client shows in the body): the body when there is no other.
    named: list[str] = []
    body = _Body()
    for part in _own_parts(msg):
        content_type = part.get_content_type()
        if part.get_content_maintype() == "multipart":
            continue
        if content_type in FORWARDED_TYPES:
            inner, data = _forwarded(part, linesep, large)
            try:
                subject, sender = clean_line(_header(inner, "Subject")).strip(), _sender(inner)
            except _Quarantine:  # its own headers are its author's business, not the forwarder's
                subject, sender = "", (None, None)
            default = f"{attachment_name(subject, 'forwarded message')}.eml"
            body.attachments.append(_attachment(attachment_name(part.get_filename(), default), content_type, data,
                                                limits))
            forwarded = _body(inner, limits, linesep, depth + 1, large) if depth < 5 else _Body()
            body.forwards.append((sender if sender[0] else None, forwarded.text))
            continue
        if part.get_content_maintype() == "message":
            continue
        filename = part.get_filename()
        data = _payload(part, large)
        if filename or part.get_content_disposition() == "attachment":
            body.attachments.append(_attachment(attachment_name(filename, "attachment"), content_type, data, limits))
            if content_type == "text/plain" and part.get_content_disposition() != "attachment":
                named.append(clean_text(decode_bytes(data, part.get_content_charset())))
        elif content_type == "text/plain":
            plain.append(clean_text(decode_bytes(data, part.get_content_charset())))
        elif content_type == "text/html":
            html.append(clean_text(html_to_text(clean_text(decode_bytes(data, part.get_content_charset())))))
    text = ("\n\n".join(p.strip() for p in plain if p.strip()) or "\n\n".join(h for h in html if h)
            or "\n\n".join(n.strip() for n in named if n.strip()))
    body.text = text.replace("\r\n", "\n").strip()
    return body


def _ids(msg: EmailMessage, name: str) -> list[str]:
    return [i for i in MESSAGE_ID.findall(clean_text(_header(msg, name))) if len(i) <= MAX_ID]


def _headers(msg: EmailMessage, size: int) -> dict:
    """What the headers say, in ``InboundEmail`` fields; a quarantined message keeps it too."""
    subject = _header(msg, "Subject") or ""
    if "\r" in subject or "\n" in subject:
        raise _Quarantine("header injection attempt: line break inside the Subject")
    subject = clean_line(subject)
    sender, sender_name = _sender(msg)
    message_id = clean_text(_header(msg, "Message-ID")).strip()
    message_id = (MESSAGE_ID.findall(message_id) or [message_id])[0][:MAX_ID] or None
    automatic = recognise(msg, sender, subject, size)
    return dict(
        sender=sender, sender_name=sender_name, subject=subject.strip()[:MAX_SUBJECT] or None, message_id=message_id,
        in_reply_to=(_ids(msg, "In-Reply-To") or [None])[0], references=tuple(_ids(msg, "References")),
        recipients=_recipients(msg), authentication_failed=_authentication_failed(msg),
        automatic=automatic.kind if automatic else None, automatic_reason=automatic.reason if automatic else None,
    )


def _parse(raw: bytes, limits: Limits, known: dict) -> dict:
    try:
        _raw_headers(raw).decode("utf-8")
        forged = None
    except UnicodeDecodeError:
        forged = _Quarantine("raw 8-bit header bytes that are not valid UTF-8")
    too_large = len(raw) > limits.max_message_bytes
    large = LargeParts(raw) if CUT_ABOVE < len(raw) and not too_large else None
    if large is not None and not large.cut:
        large = None
    msg = (BytesHeaderParser if too_large else BytesParser)(policy=POLICY).parsebytes(
        large.skeleton if large is not None else raw)
    try:
        known.update(_headers(msg, len(raw)))
    except _Quarantine:
        if forged:
            raise forged from None
        raise
    if forged and known["automatic"] != BOUNCE:
        # Raw non-UTF-8 header bytes are forged or broken mail, except from an MTA writing its report's subject
        # in its local charset: a bounce is never answered and proves nothing but our own Message-IDs.
        raise forged
    if too_large:
        raise _Quarantine(f"message is {len(raw) / 1048576:.1f} MB; "
                          f"the limit is {limits.max_message_bytes / 1048576:.0f} MB", fixable=True)
    automatic = known["automatic"]
    if automatic in (BOUNCE, ABUSE_REPORT):
        # Often cut short by the MTA, often from the null sender: its structure and From do not matter; what
        # it returns (Message-IDs) and who failed do.
        facts = bounce_facts(msg) if automatic == BOUNCE else BounceFacts()
        return dict(known, bounced_message_ids=_bounced_ids(msg, large), failed_recipients=facts.failed,
                    delivery_delayed=facts.delayed)
    if not automatic:  # automatic mail is never answered: a missing From or a cut boundary changes nothing
        defects = [d for part in _own_parts(msg) for d in part.defects if isinstance(d, STRUCTURAL_DEFECTS)]
        if not known["sender"]:
            raise _Quarantine("no valid From address")
        if defects:
            raise _Quarantine(f"broken MIME structure ({type(defects[0]).__name__})", fixable=True)
        if not known["message_id"]:
            raise _Quarantine("no Message-ID header")
    linesep = "\r\n" if b"\r\n" in _raw_headers(raw) else "\n"
    body = _body(msg, limits, linesep, large=large)
    kind = subject_kind(known["subject"])
    forwarded_from = None
    if kind != "reply":
        forwarded_from = next((sender for sender, _ in body.forwards if sender), None) or \
            inline_forward(body.text, forward_subject=kind == "forward")
    text = body.text or next((t for _, t in body.forwards if t), "")
    if body.forwards:  # the forwarded question is what to triage; it is stored as its .eml, not in the body
        new_text = "\n\n".join(t for t in (body.text, *(t for _, t in body.forwards)) if t)
    elif text and (known["in_reply_to"] or known["references"]) and not forwarded_from:
        new_text = strip_quoted(text)
    else:
        new_text = text
    return dict(known, text=text, new_text=new_text, attachments=tuple(body.attachments),
                forwarded_from=forwarded_from)


def parse_email(raw: bytes, *, mailbox: str = "INBOX", uidvalidity: int | None = None, uid: int | None = None,
                limits: Limits = Limits()) -> InboundEmail:
    """Parse one message; never raises for bad mail (it comes back with a quarantine reason)."""
    base = dict(raw=raw, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid)
    known: dict = {}
    try:
        return InboundEmail(**base, **_parse(raw, limits, known))
    except _Quarantine as quarantine:
        reason, fixable = str(quarantine), quarantine.fixable
    except (email_errors.MessageError, ValueError, LookupError, TypeError, AttributeError, IndexError,
            RecursionError) as exc:
        reason, fixable = f"unparseable message ({type(exc).__name__}: {exc})", True
    # a notice is deserved only by a real person who can fix the reason (not by forged or automatic mail)
    fixable = fixable and bool(known.get("sender")) and not known.get("automatic")
    return InboundEmail(**base, **known, quarantine_reason=clean_text(reason), quarantine_fixable=fixable)
