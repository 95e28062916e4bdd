"""Who never reads an answer: the one place that recognises mail no person will read a reply to.

Why one place: answering a machine starts a loop (its answer to our answer becomes a query, which is
acknowledged, which is answered...), and a bounce taken for a question hides from the specialist
that a focal point's address failed. Every sign below is something real mail software writes; each
decision names the sign that made it (``Automatic.reason``), and that reason is recorded on the
stored message, so the specialist can see why a message was not answered.

The kinds, in the order they are tried (the first that matches decides):

* ``abuse-report``: an ARF feedback report (RFC 5965): someone's provider reporting mail as spam.
* ``challenge``: challenge-response systems (Boxbe, Bluebottle, Spam Arrest, TMDA...) asking the
  sender to prove they are a person. They look like bounces, and their question is for a person
  we never were: never answered.
* ``bounce``: a delivery failure or delay, whatever the MTA: an RFC 3464 report, the null sender,
  the MTA's own addresses, ``X-Failed-Recipients``, the subjects MTAs write, or any format GNU
  Mailman's detectors (``flufl.bounce``) read. Its quoted Message-IDs and failed recipients link it
  to what we sent (``bounce_facts``).
* ``spam``: the receiving server's spam filter said yes (``X-Spam-Flag``, ``X-Spam-Status``,
  ``X-Spam``: the topmost one, which our own server wrote). Held for the specialist, never answered.
* ``auto-reply``: RFC 3834 ``Auto-Submitted``, the Microsoft/vendor headers
  (``X-Auto-Response-Suppress``, ``X-Autoreply``, ``X-Autorespond``...) and the subjects out-of-office
  replies of Exchange/Outlook, Gmail, Lotus Notes, Zimbra, AOL and others write in many languages.
* ``no-reply``: a sender address that says nobody reads it (``noreply@``, ``no-reply@``,
  ``*-noreply@``, ``donotreply@``...).
* ``bulk``: lists and newsletters: ``List-*``, ``Precedence``, ``X-Mailing-List``, ``Mailing-List``,
  ``X-Loop``, Mailman, ezmlm and LISTSERV markers, bulk senders' bounce addresses and headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from functools import cache

from ingest.plain_headers import first_value, read_as_text

BOUNCE, ABUSE_REPORT, CHALLENGE, SPAM, AUTO_REPLY, NO_REPLY, BULK = (
    "bounce", "abuse-report", "challenge", "spam", "auto-reply", "no-reply", "bulk")

#: Messages larger than this are searched for a bounce format only when another sign says bounce:
#: the detectors read every line, and a large message with no sign is a person's, with attachments.
SCAN_LIMIT = 512 * 1024

#: The local parts MTAs send their reports from.
MTA_SENDER = re.compile(r"^(mailer[-_.]?daemon|mail[-_.]?daemon|mdaemon|postmaster|mail[-_.]?delivery[-_.]?"
                        r"(system|subsystem|service)|nondelivery|ndr)$", re.IGNORECASE)
#: Subjects MTAs write on delivery reports (English, French, Spanish, German, and the common MTAs).
BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable|undelivered mail|undeliverable mail|delivery (status )?notification|"
    r"delivery (failure|failed|has failed|problem|report|warning|delayed|error)|returned mail|failure notice|"
    r"mail delivery (failed|failure|problem|warning|system|subsystem|error)|non[- ]?delivery|nondeliverable|"
    r"(mail|message|e-?mail) (could not be|not|was not|couldn'?t be) delivered|permanent delivery failure|"
    r"warning: could not send|mail system error|returned to sender|delayed mail|mail error|"
    r"delivery status notification|non remis|message non (remis|distribu[ée])|"
    r"unzustellbar|nicht zustellbar|no se (ha )?pudo entregar|mensaje no entregado|"
    r"error (during|de) (delivery|entrega)|notification d'[ée]tat de (la )?distribution)",
    re.IGNORECASE)
#: "Automatic reply" in the languages helpdesks meet, as out-of-office replies write it before a colon
#: ("Automatische Antwort: ...", "Arpus biroja automatiska atbilde: ...") or in brackets.
_AUTO_LABELS = (
    r"automatic (reply|response)|r[ée]ponse automatique|respuesta autom[áa]tica|automatische antwort|"
    r"risposta automatica|resposta autom[áa]tica|automatisch antwoord|autosvar|automatyczna odpowied[źz]|"
    r"automatick[áa] odpov[ěe][ďd]|autom[āa]tisk[āa] atbilde|自动回复|自動応答|自動返信|자동 ?응답|автоответ|"
    r"автоматический ответ")
#: The same and the other words out-of-office replies start their subject with (after any "Re:" or tag).
_AUTO_WORDS = (
    _AUTO_LABELS + r"|auto[- ]?(reply|response|responder)|autoreply|auto[- ]generated|message d['’]absence|"
    r"absence du bureau|absente? du bureau|fuera de (la )?oficina|abwesenheitsnotiz|fuori (sede|ufficio)")
AUTO_SUBJECT = re.compile(
    rf"^\s*(((re|aw|sv|tr|rv|fw|fwd)\s*:\s*)*(\[[^\]]*\]\s*)*(out of (the )?office\b(?! hours)|{_AUTO_WORDS})"
    rf"|auto:.*\b(out of (the )?office|away|absent|on (leave|vacation|holiday))"
    rf"|.*[\[(]\s*({_AUTO_WORDS})\s*[\])]|[^:]{{0,40}}\b({_AUTO_LABELS})\s*:)",
    re.IGNORECASE)
#: Headers that vendors put on automatic replies (Microsoft, cPanel, Zimbra, qmail, vacation programs).
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "X-Autogenerated", "X-AutoReply-From",
                "X-Mail-Autoreply", "X-Vacation", "X-FC-MachineGenerated")
#: Headers and sender domains of challenge-response systems.
CHALLENGE_HEADERS = ("X-Bluebottle-Request", "X-Boxbe-Challenge", "X-Spamarrest-Noauth", "X-SpamArrest-Noauth",
                     "X-Challenge", "X-TMDA-Confirm-Done", "X-Qconfirm")
CHALLENGE_DOMAINS = re.compile(r"@(.+\.)?(boxbe\.com|spamarrest\.com|mailblocks\.com|bluebottle\.com)$",
                               re.IGNORECASE)
CHALLENGE_SUBJECT = re.compile(
    r"(please confirm your (e-?mail|message)|(sender|e-?mail|message) verification( required)?\b|"
    r"verify your (e-?mail|message|address)|awaiting (your )?(verification|confirmation)|has been waitlisted|"
    r"confirm(ation)? (that )?you are (a )?(human|person|real)|guest list)", re.IGNORECASE)
#: Addresses nobody reads: noreply@, no-reply@, no_reply@, donotreply@, *-noreply@, noreply-*@...
NO_REPLY_ADDRESS = re.compile(r"^([^@]*[-_.+])?(no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply)"
                              r"([-_.+][^@]*)?@", re.IGNORECASE)
#: Headers only lists and bulk senders write (RFC 2369/2919 ``List-*`` are checked apart).
BULK_HEADERS = ("X-Mailing-List", "Mailing-List", "X-Loop", "X-BeenThere", "X-Mailman-Version",
                "X-Listprocessor-Version", "X-Ecartis-Version", "X-ML-Name", "X-Listserver", "X-List",
                "X-LISTSERV-Version", "X-Campaign", "X-CampaignID", "X-MC-User", "X-CSA-Complaints", "Feedback-ID")
#: Bounce addresses of lists and bulk senders (VERP): listname-bounces+..., bounces-main+..., owner-list@.
BULK_RETURN_PATH = re.compile(r"^<?([^@<>]*-bounces?|bounces?(-[^@<>]*)?|owner-[^@<>]*)([+=][^@<>]*)?@",
                              re.IGNORECASE)
LISTSERV = re.compile(r"listserv", re.IGNORECASE)
#: Spam filters' verdicts (SpamAssassin, rspamd, Amavis...): the topmost one is the receiving server's.
SPAM_HEADERS = ("x-spam-flag", "x-spam-status", "x-spam")


@dataclass(frozen=True)
class Automatic:
    """Mail that no person will read an answer to: its kind, and the sign that told (for the record)."""

    kind: str
    reason: str


@dataclass(frozen=True)
class BounceFacts:
    """What a bounce tells about the message it returns: its Message-IDs and the addresses that failed."""

    failed: tuple[str, ...] = ()
    #: Only temporary failures: the MTA is still trying (a delay warning, not a failure).
    delayed: bool = False


def _first(msg: EmailMessage, name: str) -> str | None:
    """A header's topmost raw value, unfolded and stripped; never parsed (a malformed header must not stop this)."""
    value = first_value(msg, name)
    return None if value is None else value.strip()


def _has(msg: EmailMessage, name: str) -> bool:
    return _first_present(msg, (name,)) is not None


def _first_present(msg: EmailMessage, names) -> str | None:
    """The first of ``names``, in their order, that ``msg`` has a header of (names compared without case)."""
    present = {key.lower() for key in msg.keys()}
    return next((name for name in names if name.lower() in present), None)


def _local_part(address: str | None) -> str:
    return (address or "").rpartition("@")[0]


def _null_from(msg: EmailMessage) -> bool:
    """``From: <>`` or ``From: "Mail System" <>``: the null sender written in the From header."""
    value = _first(msg, "From")
    return value is not None and re.search(r"<\s*>\s*$", value) is not None


def _report_type(msg: EmailMessage) -> str | None:
    if msg.get_content_type() != "multipart/report":
        return None
    return (msg.get_param("report-type") or "").lower() or None


def _has_delivery_status(msg: EmailMessage) -> bool:
    return any(part.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
               for part in msg.walk())


def load_detectors() -> None:
    """Import the bounce detectors and build the patterns and pieces of text that stand before them."""
    _detectors()
    _line_scanners()
    _start_words()


@cache
def _detectors():
    """GNU Mailman's bounce detectors, in its order, without LLNL's: that one takes any line holding
    ", address," for a bounce, and so reads a person's reply that quotes a list of recipients as one."""
    try:
        from flufl.bounce import _scan

        return [d for d in _scan._DETECTORS if d.__name__ != "LLNL"]
    except (ImportError, AttributeError):  # a future layout: the public API, LLNL included
        return None


@cache
def _line_scanners() -> tuple[frozenset, re.Pattern | None]:
    """The detectors that read every body line looking for their start line, and one pattern matching any
    line that any of their start patterns matches (``None`` if it cannot be built: then they all run).

    SimpleMatch alone reads the body once per format it knows (about 40), and a person's mail matches
    none: most of the time spent on a message went there. A detector of these finds an address only after
    its start line, so when no body line matches this pattern (their own patterns, searched anywhere and
    without case: never less than they match), running them would find nothing.
    """
    try:
        names, starts = _start_patterns()
        unnamed = (re.sub(r"\(\?P<\w+>", "(?:", start) for start in starts)  # one name may not be used twice
        return names, re.compile("|".join(f"(?:{start})" for start in unnamed), re.IGNORECASE)
    except (ImportError, AttributeError, TypeError, ValueError, re.error):  # a future layout: run them all
        return frozenset(), None


def _start_patterns() -> tuple[frozenset, list[str]]:
    from flufl.bounce._detectors import exchange, qmail, simplematch, simplewarning

    starts = [pattern.pattern for pattern, _, _ in (*simplematch.PATTERNS, *simplewarning.PATTERNS)]
    starts += [exchange.scre.pattern, *(re.escape(tag) for tag in qmail.introtags)]
    names = frozenset(d.__name__ for d in (exchange.Exchange, qmail.Qmail, simplematch.SimpleMatch,
                                            simplewarning.SimpleWarning))
    return names, starts


#: The characters outside ASCII that a pattern's ASCII letter matches when case is ignored (Python's
#: ``re``: dotted and dotless I, long S, the Kelvin sign), as that letter.
_ASCII_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _as_folded(text: str) -> str:
    """``text`` with case folded as ``re.IGNORECASE`` compares ASCII letters: what a pattern's literal text
    matches, ignoring case, is that text in lower case here."""
    return text.translate(_ASCII_TWINS).lower()


@cache
def _start_words() -> tuple[str, ...] | None:
    """For each start pattern, a piece of literal text any line it matches holds (lower case, ``_as_folded``);
    the shortest such pieces only. None when a pattern has no such piece, or cannot be read: then only the
    pattern itself can say.

    Looking for about forty short strings in a folded body is four times cheaper than trying 56 patterns at
    every character of every line, and a person's mail holds none of them nearly always.
    """
    try:
        from re import _constants, _parser  # the pattern's own parse: what it must match, literally

        pieces = []
        for start in _start_patterns()[1]:
            runs, run = [], []
            for op, argument in _parser.parse(start, re.IGNORECASE):
                if op is _constants.LITERAL:
                    run.append(chr(argument))
                else:
                    runs.append("".join(run))
                    run = []
            longest = max([*runs, "".join(run)], key=len)
            if len(longest) < 4 or not longest.isascii():
                return None
            pieces.append(longest.lower())
    except (ImportError, AttributeError, TypeError, ValueError, re.error):
        return None
    # A piece holding another is found only where that one is: keep the shorter.
    return tuple(sorted({p for p in pieces if not any(q != p and q in p for q in pieces)}))


def _may_have_start_line(msg: EmailMessage, starts: re.Pattern) -> bool:
    from email.iterators import body_line_iterator

    try:
        words = _start_words()
        if words is not None:
            payloads = (part.get_payload() for part in msg.walk())
            body = _as_folded("".join(payload for payload in payloads if isinstance(payload, str)))
            if not any(word in body for word in words):
                return False
        return any(starts.search(line) for line in body_line_iterator(msg))
    except Exception:  # noqa: BLE001 - a body they cannot read either: let them try
        return True


#: Detectors that read a message only when its From address is one mail system's (they parse the header
#: first, each on its own), and what that address must hold, in lower case. A parse of an address only leaves
#: characters out (quotes, comments, spaces, the display name), so the header, in lower case, holds those
#: characters in that order whenever the parsed address passes; when it does not, the detector would find
#: nothing, and is not asked.
_FROM_NEEDED = {"Yahoo": "mailer-daemon@yahoo", "Yale": "mailer-daemon@yale.edu", "AOL": "@aol.com"}


def _holds_in_order(text: str, letters: str) -> bool:
    """Whether ``letters`` occur in ``text`` in that order, anything between them."""
    at = 0
    for letter in letters:
        at = text.find(letter, at) + 1
        if not at:
            return False
    return True


def _detected(msg: EmailMessage) -> tuple[frozenset, frozenset]:
    """(temporary, permanent) failed addresses as flufl.bounce reads them; empty when no format matches."""
    detectors = _detectors()
    if detectors is None:
        from flufl.bounce import all_failures

        try:
            return all_failures(msg)
        except Exception:  # noqa: BLE001 - a detector's trouble with odd mail is no reason to lose the mail
            return frozenset(), frozenset()
    scanners, starts = _line_scanners()
    if starts is not None and not _may_have_start_line(msg, starts):
        detectors = [d for d in detectors if d.__name__ not in scanners]
    with read_as_text(msg):  # they compare header text: a plain From needs no parse tree
        try:
            sender = msg.get("from", "").lower()
        except Exception:  # noqa: BLE001 - then those that read it fail on their own, below
            sender = None
        for detector in detectors:
            needed = _FROM_NEEDED.get(detector.__name__)
            if needed is not None and sender is not None and not _holds_in_order(sender, needed):
                continue
            try:
                temporary, permanent = detector().process(msg)
            except Exception:  # noqa: BLE001 - as above: one detector failing leaves the others
                continue
            if temporary or permanent:
                return frozenset(temporary), frozenset(permanent)
    return frozenset(), frozenset()


def _addresses(found) -> tuple[str, ...]:
    out = []
    for address in found:
        text = address.decode("ascii", "replace") if isinstance(address, bytes) else str(address)
        text = text.strip().strip("<>").lower()
        if re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text):
            out.append(text)
    return tuple(dict.fromkeys(out))


def _bounce_sign(msg: EmailMessage, sender: str | None, subject: str, size: int) -> str | None:
    """The sign that ``msg`` is a delivery report, if it has one."""
    if _report_type(msg) == "delivery-status" or _has_delivery_status(msg):
        return "a delivery status report (RFC 3464)"
    if _has(msg, "X-Failed-Recipients"):
        return "X-Failed-Recipients header"
    if sender and MTA_SENDER.match(_local_part(sender)):
        return f"sent by the mail system ({sender})"
    if _null_from(msg):
        return "sent from the null address (From: <>)"
    return_path = _first(msg, "Return-Path")
    auto = (_first(msg, "Auto-Submitted") or "no").lower()
    if return_path is not None and re.fullmatch(r"<\s*>", return_path) and auto.startswith("no"):
        return "null return path (Return-Path: <>), not an auto-reply"  # RFC 5321 4.5.5
    if BOUNCE_SUBJECT.match(subject):
        return f"delivery report subject ({subject[:60]!r})"
    if size <= SCAN_LIMIT and any(_detected(msg)):
        return "a bounce format known to GNU Mailman's detectors"
    return None


def recognise(msg: EmailMessage, sender: str | None, subject: str, size: int = 0) -> Automatic | None:
    """The kind of automatic mail ``msg`` is, with the sign that told; None for mail a person wrote."""
    report = _report_type(msg)
    if report == "feedback-report":
        return Automatic(ABUSE_REPORT, "an abuse report (ARF, RFC 5965)")
    challenge = _challenge(msg, sender, subject)
    if challenge:
        return Automatic(CHALLENGE, challenge)
    sign = _bounce_sign(msg, sender, subject, size)
    if sign:
        return Automatic(BOUNCE, sign)
    verdict = _spam_verdict(msg)
    if verdict:
        return Automatic(SPAM, f"marked as spam by the receiving server ({verdict})")
    auto = _auto_reply(msg, subject)
    if auto:
        return Automatic(AUTO_REPLY, auto)
    if sender and NO_REPLY_ADDRESS.match(sender):
        return Automatic(NO_REPLY, f"sent from an address nobody reads ({sender})")
    bulk = _bulk(msg)
    if bulk:
        return Automatic(BULK, bulk)
    return None


def _spam_verdict(msg: EmailMessage) -> str | None:
    """"X-Spam-Flag: YES" when the topmost spam filter header says yes: our server writes its verdict on top,
    and a verdict of a server on the way (the sender's own filter, a forwarder) below it does not count."""
    for key, value in msg.raw_items():
        if key.lower() in SPAM_HEADERS:
            value = re.sub(r"\s+", " ", str(value)).strip()
            return f"{key}: {value[:40]}" if re.match(r"yes\b", value, re.IGNORECASE) else None
    return None


def _challenge(msg: EmailMessage, sender: str | None, subject: str) -> str | None:
    name = _first_present(msg, CHALLENGE_HEADERS)
    if name is not None:
        return f"challenge-response ({name} header)"
    if (_first(msg, "X-Delivery-Agent") or "").upper().startswith("TMDA"):
        return "challenge-response (TMDA)"
    if sender and CHALLENGE_DOMAINS.search(sender):
        return f"challenge-response service ({sender})"
    if CHALLENGE_SUBJECT.search(subject) and (_report_type(msg) or _null_from(msg)
                                               or re.fullmatch(r"<\s*>", _first(msg, "Return-Path") or "-")):
        return f"challenge-response ({subject[:60]!r})"
    return None


def _auto_reply(msg: EmailMessage, subject: str) -> str | None:
    auto = _first(msg, "Auto-Submitted")
    if auto is not None and not auto.lower().startswith("no"):
        return f"Auto-Submitted: {auto[:40]}"
    name = _first_present(msg, AUTO_HEADERS)
    if name is not None:
        return f"{name} header"
    precedence = (_first(msg, "Precedence") or "").lower()
    if precedence.startswith("auto_reply"):
        return "Precedence: auto_reply"
    if AUTO_SUBJECT.match(subject):
        return f"out-of-office or auto-reply subject ({subject[:60]!r})"
    return None


def _bulk(msg: EmailMessage) -> str | None:
    lists = [key for key in msg.keys() if key.lower().startswith("list-")]
    if lists:
        return f"mailing list or newsletter ({lists[0]} header)"
    precedence = (_first(msg, "Precedence") or "").lower()
    if precedence.startswith(("bulk", "list", "junk")):
        return f"Precedence: {precedence[:20]}"
    name = _first_present(msg, BULK_HEADERS)
    if name is not None:
        return f"mailing list or newsletter ({name} header)"
    delivered = " ".join(v for k, v in msg.raw_items() if k.lower() == "delivered-to")
    if "mailing list" in delivered.lower():
        return "ezmlm mailing list (Delivered-To: mailing list)"
    for name in ("Sender", "Errors-To"):
        value = _first(msg, name) or ""
        if LISTSERV.search(value) or any(BULK_RETURN_PATH.match(a) for _, a in getaddresses([value]) if a):
            return f"mailing list ({name}: {value[:60]})"
    return_path = _first(msg, "Return-Path") or ""
    if BULK_RETURN_PATH.match(return_path.strip()):
        return f"a bulk sender's bounce address (Return-Path: {return_path[:60]})"
    return None


def bounce_facts(msg: EmailMessage) -> BounceFacts:
    """The failed recipients a bounce names (flufl.bounce's detectors, X-Failed-Recipients), and whether
    it only reports a delay."""
    temporary, permanent = _detected(msg)
    stated = [a.lower() for value in (v for k, v in msg.raw_items() if k.lower() == "x-failed-recipients")
              for _, a in getaddresses([str(value)]) if "@" in a]
    failed = [*stated, *_addresses(permanent), *_addresses(temporary)]
    delayed = bool(temporary) and not permanent and not stated
    return BounceFacts(tuple(dict.fromkeys(failed)), delayed)
