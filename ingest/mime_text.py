"""Text out of mail, the way readers expect it: charsets, control characters, forwarded blocks.

Helpers of ``ingest.parsing`` that work on bytes and strings, not on MIME structure:

* ``decode_bytes``: the charset ladder. A label is read with the superset that mail software
  really writes under it, as the WHATWG Encoding Standard (and every browser and mail reader) does:
  ``iso-8859-1``, ``latin1``, ``us-ascii``... as Windows-1252 (Outlook's curly quotes, dashes and
  euro sign survive), ``gb2312`` and ``gbk`` as GB18030, ``ks_c_5601-1987`` and ``euc-kr`` as
  Windows-949, ``shift_jis`` as Windows-31J. Only when the label is missing, unknown or plainly
  wrong (the bytes are not in that charset) is the charset detected (``charset-normalizer``).
* ``clean_text`` / ``clean_line``: what we store is text a database accepts and a person can read:
  no NUL (PostgreSQL refuses it) or other C0 control characters except tab and line breaks, no
  lone surrogates left over from undecodable bytes.
* ``inline_forward``: the original sender of a message forwarded inline ("---------- Forwarded
  message ---------", "-----Original Message-----", "Début du message réexpédié"...).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from email.utils import parseaddr

#: Labels the WHATWG Encoding Standard maps to windows-1252 (plus Python's spellings of them).
WINDOWS_1252_LABELS = frozenset({
    "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100",
    "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "latin-1", "us-ascii",
    "windows-1252", "x-cp1252",
})
#: Windows-1252 as WHATWG defines it: the five bytes cp1252 leaves undefined map to U+0081... like Latin-1.
_C1_AS_1252 = {b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_C1 = re.compile("[\x80-\x9f]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def windows_1252(data: bytes) -> str:
    """Decode as WHATWG's windows-1252 (never fails)."""
    return data.decode("latin-1").translate(_C1_AS_1252)


#: Codecs read as the superset their label stands for in real mail (WHATWG Encoding Standard): a
#: "gb2312" body from a Chinese mail client holds GBK characters, a "ks_c_5601-1987" one Windows-949's.
SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "euc_kr": "cp949", "shift_jis": "cp932", "big5": "big5hkscs",
             "iso8859-9": "cp1254", "tis-620": "cp874", "iso8859-11": "cp874"}
#: Labels Python does not know, and the codec mail software means by them.
LABELS = {"x-gbk": "gb18030", "csgb2312": "gb18030", "x-sjis": "cp932", "windows-31j": "cp932",
          "ms_kanji": "cp932", "csshiftjis": "cp932", "x-euc-kr": "cp949", "windows-949": "cp949",
          "iso-8859-8-i": "iso8859-8", "x-mac-roman": "mac-roman", "x-x-big5": "big5hkscs", "windows-874": "cp874"}


def _codec(label: str) -> str | None:
    """The codec to read a declared charset with: its superset, else itself; None when unknown."""
    label = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(LABELS.get(label, label)).name
    except LookupError:
        return None
    return SUPERSETS.get(name, name)


def _family(label: str) -> str | None:
    """'ascii' or 'windows-1252' for the labels WHATWG reads as Windows-1252, else None."""
    label = label.strip().lower()
    try:
        name = codecs.lookup(label).name
    except LookupError:
        name = None
    if name == "ascii":
        return "ascii"
    if label in WINDOWS_1252_LABELS or name in ("latin-1", "iso8859-1", "cp1252"):
        return "windows-1252"
    return None


def _lenient(data: bytes, charset: str) -> tuple[str, int, int]:
    """``data`` read as ``charset``, each invalid sequence replaced by U+FFFD; with the number of
    replacements and the number of non-ASCII characters it read correctly."""
    text = data.decode(charset, "replace")
    try:  # a U+FFFD the sender really wrote is no damage
        genuine = data.count("\ufffd".encode(charset))
    except (UnicodeEncodeError, LookupError):
        genuine = 0
    replaced = max(text.count("\ufffd") - genuine, 0)
    return text, replaced, len(text) - len(text.encode("ascii", "ignore")) - replaced


def decode_bytes(data: bytes, declared: str | None) -> str:
    """The charset ladder: declared (read as its superset), UTF-8, each damaged by as little as possible,
    else the detected charset, else Windows-1252.

    A Latin-1 or Windows-1252 label means Windows-1252 (as WHATWG and browsers read it), unless the
    bytes are UTF-8 with some non-ASCII character, which no Latin-1 text is by chance: then the label
    is plainly wrong. An ASCII label says nothing about 8-bit bytes: those are read as UTF-8 if they
    are valid UTF-8, else as a missing label.

    Text that is not valid in any charset of the ladder is read in the one with the fewest invalid
    sequences, each replaced by U+FFFD, unless Windows-1252 (which cannot fail) damages less: it
    would turn every character that charset read correctly into mojibake. So a UTF-8 body with one
    stray Latin-1 byte loses that one character, not every accent; a Latin-1 body labelled UTF-8,
    where every accent is invalid and none reads correctly, is still read as Windows-1252. Before
    falling back to Windows-1252, a charset detector is asked: a Chinese, Japanese, Korean, Cyrillic,
    Greek... body without a usable label reads as its script instead of as Latin mojibake.
    """
    family = _family(declared) if declared else None
    if family == "windows-1252":
        return _utf8_mislabelled(data) or windows_1252(data)
    ladder = ["utf-8"]
    codec = _codec(declared) if declared and family is None else None
    if codec is not None and codec != "utf-8":
        ladder.insert(0, codec)
    for charset in ladder:
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    text, replaced, correct = min((_lenient(data, charset) for charset in ladder), key=lambda r: r[1])
    if correct > replaced:
        return text
    return _detected(data) or windows_1252(data)


def _utf8_mislabelled(data: bytes) -> str | None:
    """``data`` as UTF-8 when it is valid UTF-8 holding some non-ASCII character (a Latin-1 label then lies)."""
    if data.isascii():
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


#: Below this share of letters outside the Latin script, a detected charset is not trusted over
#: Windows-1252: among Latin code pages detectors guess, and Windows-1252 is what senders write.
_NON_LATIN_SHARE = 0.5


def _detected(data: bytes) -> str | None:
    """``data`` in the charset ``charset-normalizer`` finds, when that reads it as a non-Latin script."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # noqa: BLE001 - a detector's failure only means the Windows-1252 fallback
        return None
    if best is None or best.encoding in ("ascii", "utf_8"):
        return None
    try:
        text = data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    letters = [ch for ch in text if ch.isalpha() and not ch.isascii()]
    if not letters:
        return None
    non_latin = sum(1 for ch in letters if not unicodedata.name(ch, "LATIN").startswith("LATIN"))
    return text if non_latin / len(letters) >= _NON_LATIN_SHARE else None


_ENCODED_WORD_CHARSET = re.compile(r"=\?([^?*\s]+)(\*[^?]*)?\?([bBqQ])\?")


def superset_words(value: str) -> str:
    """A header value whose RFC 2047 encoded words name the superset of their charset ("=?gb2312?" as
    "=?gb18030?"), so that a GBK character in a "gb2312" subject is read, not replaced."""
    if "=?" not in value:
        return value

    def relabel(match: re.Match) -> str:
        label = match.group(1)
        codec = None if _family(label) else _codec(label)
        try:
            same = codec is None or codecs.lookup(label).name == codec
        except LookupError:  # a label only mail software knows ("x-gbk"): Python reads it under our name
            same = False
        return match.group(0) if same else f"=?{codec}{match.group(2) or ''}?{match.group(3)}?"

    return _ENCODED_WORD_CHARSET.sub(relabel, value)


def unescape_surrogates(text: str) -> str:
    """Bytes the parser could not decode (kept as surrogate escapes): UTF-8 if they are, else Windows-1252."""
    if not _SURROGATES.search(text):
        return text
    try:
        return decode_bytes(text.encode("utf-8", "surrogateescape"), None)
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return _SURROGATES.sub("\ufffd", text)


def clean_text(text: str | None) -> str:
    """Storable text: no NUL or other C0 controls (tab and line breaks kept), no lone surrogates."""
    return _CONTROLS.sub("", unescape_surrogates(text or ""))


def clean_line(text: str | None) -> str:
    """``clean_text`` for a header value: also C1 controls from Latin-1 labelled words read as Windows-1252."""
    return _C1.sub(lambda m: _C1_AS_1252.get(ord(m.group()), m.group()), clean_text(text))


# ------------------------------------------------------------------ forwards
_BRACKET_TAGS = re.compile(r"^\s*(\[[^\]]*\]\s*)+")
FORWARD_PREFIX = re.compile(r"^(fwd?|tr|rv|wg|enc|doorst|vs|vb)\s*:", re.IGNORECASE)
REPLY_PREFIX = re.compile(r"^(re|aw|antw|sv|ref|r[ée]f|rif|res|odp)\s*:", re.IGNORECASE)
#: Markers that only a forward writes.
FORWARD_MARKER = re.compile(
    r"^[ \t>]*(-{3,}\s*(forwarded message|message transf[ée]r[ée]|mensaje reenviado|weitergeleitete nachricht"
    r"|mensagem encaminhada)\s*-{3,}|begin forwarded message\s*:|d[ée]but du message r[ée]exp[ée]di[ée]\s*:"
    r"|inicio del mensaje reenviado\s*:)\s*$", re.IGNORECASE | re.MULTILINE)
#: Markers that Outlook writes in replies as well as in forwards.
ORIGINAL_MARKER = re.compile(
    r"^[ \t>]*(-{3,}\s*(original message|message d['’]origine|mensaje original|urspr[üu]ngliche nachricht)"
    r"\s*-{3,}|_{20,})\s*$", re.IGNORECASE | re.MULTILINE)
FROM_LINE = re.compile(r"^[ \t>*]*(from|de|von)\s*:\s*\**\s*(?P<value>.+?)\s*$", re.IGNORECASE)
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)+")


def subject_kind(subject: str | None) -> str | None:
    """'forward' (Fwd:, Fw:, TR:, RV:, WG:...), 'reply' (Re:, AW:...) or None, by the subject's first prefix."""
    subject = _BRACKET_TAGS.sub("", subject or "")
    if FORWARD_PREFIX.match(subject):
        return "forward"
    if REPLY_PREFIX.match(subject):
        return "reply"
    return None


def address_and_name(value: str) -> tuple[str, str | None] | None:
    """``Jane Doe <jane@x.example>``, ``Jane Doe [mailto:jane@x.example]`` or a bare address."""
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value.replace("<mailto:", "<"))
    name, address = parseaddr(value)
    if not ADDRESS.fullmatch(address or ""):
        found = ADDRESS.search(value)
        if not found:
            return None
        address, name = found.group(), value[:found.start()]
    name = clean_line(name).strip(" \t\"'<[(").strip() or None
    address = clean_line(address).lower()
    return address, (name if name and name.lower() != address else None)


def inline_forward(text: str, *, forward_subject: bool) -> tuple[str, str | None] | None:
    """The sender named in the first forwarded block of ``text``, if it has one.

    "Forwarded message" markers count on their own; Outlook's "Original Message" or underscore
    line also heads replies, so it counts only when the subject says the message is a forward.
    """
    found = [m for m in (FORWARD_MARKER.search(text), forward_subject and ORIGINAL_MARKER.search(text)) if m]
    if not found:
        return None
    start = min(m.end() for m in found)
    for line in [ln for ln in text[start:].splitlines() if ln.strip()][:8]:
        match = FROM_LINE.match(line)
        if match:
            return address_and_name(match.group("value"))
    return None


def attachment_name(name: str | None, default: str) -> str:
    """A file name safe to store and offer for download: one path component, no controls."""
    name = re.sub(r"[/\\\r\n\t]+", "_", clean_line(name)).strip().lstrip(".").strip()
    return name[:200] or default
