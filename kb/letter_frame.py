"""The frame of a letter: its salutation, body, sign-off, signature and quoted mail, by line.

:func:`letter_frame` finds the salutation ("Dear Jordan,", "Hello team, we..."), the sign-off and
everything after it (signature, address block, quoted earlier mail), a last paragraph that is a
signature without a sign-off (a name, an organisation, contact lines) and quoted lines ("> ...");
:func:`is_contact_line` tells a line of contact details from prose. What a letter's parts look
like comes from :mod:`kb.letter_patterns`. Shared by :mod:`kb.places`, which leaves the frame out
when it looks for countries, and :mod:`kb.organisations`, which reads the signature.

Pure functions: the regex that finds the frame's lines is compiled the first time it is needed;
nothing is built at import time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kb.letter_patterns import (
    ADDRESS,
    CLOSING_LINE,
    CLOSING_START,
    CUT_LINE,
    EMAIL,
    LOWER_WORD,
    ORG_SUFFIX,
    POSTCODE_CITY_LINE,
    SALUTATION_LINE,
    SALUTATION_PREFIX,
    URL,
)

__all__ = ["LetterFrame", "is_contact_line", "letter_frame"]


@dataclass(frozen=True)
class LetterFrame:
    """Where the parts of a letter are, by line (``text.split("\\n")`` after line ends are made ``\\n``).

    ``body`` lists the lines that carry the message (not the salutation, sign-off, signature or
    quoted mail; an address given in the message, "our plant: 12 Harbour Road, Tema, Ghana", stays);
    ``salutation_end`` is how many characters of line ``salutation_line`` belong to a salutation
    that goes on ("Hello team, we..."), or the whole line's length; ``signature`` is the index of
    the first line of the sign-off or signature (``len(lines)`` when there is none),
    ``signature_end`` the index where quoted mail starts after it, and ``closing`` says whether
    a sign-off or a signature delimiter ("-- ") opens the signature.
    """

    lines: tuple[str, ...]
    body: frozenset[int]
    salutation_line: int | None
    salutation_end: int
    signature: int
    signature_end: int
    closing: bool


#: The first words of a line holding contact details rather than prose.
_CONTACT_LABEL = re.compile(
    r"(?i)^[ \t>*•·\-]*(?:tel|t[ée]l|t[ée]l[ée]phone|tel[ée]fono|phone|ph|mobile|mob|m[óo]vil|cell|portable|fax|"
    r"whatsapp|e-?mail|courriel|correo|mail|web|website|site\s+web|sitio\s+web|address|adresse|direcci[óo]n|"
    r"skype|linkedin|twitter|[tmfe])\b\.?\s*[:.(+\d]"
)
_SENTENCE_END_AT_EOL = re.compile(r"[.?!:;]\s*$")


#: Every contact line holds one of these (a digit, an @, a link); prose lines mostly hold none.
_CONTACT_HINT = re.compile(r"[\d@]|www\.|https?:|\.(?:com|org|net|int)\b")


def is_contact_line(line: str) -> bool:
    """True for a line of contact details: "Tel: +233...", an e-mail address or link, a postal address."""
    stripped = line.strip()
    if not stripped or not _CONTACT_HINT.search(stripped):
        return False
    if _CONTACT_LABEL.match(stripped) or POSTCODE_CITY_LINE.match(stripped):
        return True
    words = stripped.count(" ") + 1
    if words > 10:
        return False
    if words <= 8 and ("@" in stripped or "www." in stripped or "http" in stripped) and (
            EMAIL.search(stripped) or URL.search(stripped)):
        return True
    if ADDRESS.search(stripped):
        rest = ADDRESS.sub("", stripped)
        return not LOWER_WORD.search(rest)
    return False


_NAME_LINE = re.compile(r"^[ \t]*(?:[A-ZÀ-Ý][\w'’.\-]*[ \t]+){1,3}[A-ZÀ-Ý][\w'’.\-]*[ \t]*$")
_ORG_SUFFIX_ANYWHERE = re.compile(rf"(?<![\w]){ORG_SUFFIX}(?![\w])")


def _scoped(pattern: str) -> str:
    """A pattern whose leading global flags ("(?ix)...") are made local, so it can join an alternation."""
    m = re.match(r"\(\?([a-zA-Z]+)\)", pattern)
    return f"(?{m.group(1)}:{pattern[m.end():]}\n)" if m else pattern


_FRAME_LINE: list[re.Pattern[str]] = []


def _frame_line() -> re.Pattern[str]:
    """One match a line for :mod:`kb.letter_patterns`' cut, closing and closing-formula lines
    (group ``cut``, ``closing`` or ``formula``), compiled the first time it is needed."""
    if not _FRAME_LINE:
        parts = (f"(?P<{name}>{_scoped(p.pattern)})"
                 for name, p in (("cut", CUT_LINE), ("closing", CLOSING_LINE), ("formula", CLOSING_START)))
        _FRAME_LINE.append(re.compile("|".join(parts)))
    return _FRAME_LINE[0]


@lru_cache(maxsize=16)  # a message is framed for its country and again for its signature: once
def letter_frame(text: str) -> LetterFrame:
    """Split a letter into salutation, body, signature and quoted mail (see :class:`LetterFrame`).

    The sign-off is the first line after the first line of content that is only a closing
    ("Best regards", "Cordialement, Marie", "Saludos") or opens one ("Veuillez agréer...",
    "Quedo atento"), or a signature delimiter ("--") or the start of quoted mail ("On ... wrote:").
    Without one, a last paragraph of short lines holding contact details (or a name and an
    organisation) is the signature.
    """
    lines = tuple(text.split("\n"))
    count = len(lines)
    content = [i for i, line in enumerate(lines) if (stripped := line.lstrip()) and stripped[0] != ">"]
    salutation_line, salutation_end = None, 0
    if content:
        first = content[0]
        if SALUTATION_LINE.match(lines[first]):
            salutation_line, salutation_end = first, len(lines[first])
        elif m := SALUTATION_PREFIX.match(lines[first]):
            salutation_line, salutation_end = first, m.end()
    signature, signature_end, closing = count, count, False
    frame_line = _frame_line()
    for i in content[1:]:  # the first line of content is never the sign-off
        line = lines[i]
        if line.count(" ") > 6 and not line.rstrip().endswith(":"):
            before = lines[i - 1].rstrip()
            if before and before[-1] not in ".!?:;)»\"":
                continue  # a line carrying on a sentence wrapped from the line before opens no closing
        m = frame_line.match(line)
        if m is None:
            continue
        signature = i
        stripped = lines[i].strip()
        if m.lastgroup == "cut" and stripped not in ("--", "-- ") and not stripped.startswith("__"):
            signature_end = i  # quoted mail: no signature, only what is quoted
            break
        closing = True
        signature_end = next((j for j in content if j > i and CUT_LINE.match(lines[j])
                              and lines[j].strip() not in ("--", "-- ")), count)
        break
    if not closing:
        bare = _bare_signature(lines, content, signature)
        if bare is not None:
            signature_end = signature
            signature = bare
    skipped = salutation_line if salutation_line is not None and salutation_end == len(lines[salutation_line]) else -1
    body = frozenset(i for i in content if i < signature and i != skipped)
    return LetterFrame(lines, body, salutation_line, salutation_end, signature, signature_end, closing)


def _bare_signature(lines: tuple[str, ...], content: list[int], end: int) -> int | None:
    """The first line of a last paragraph that is a signature without a sign-off, or None."""
    kept = [i for i in content if i < end]
    if len(kept) < 2:
        return None
    start = len(kept) - 1
    while start > 0 and kept[start - 1] == kept[start] - 1:
        start -= 1
    block = kept[start:]
    if start == 0 or not 1 <= len(block) <= 8:
        return None
    texts = [lines[i].strip() for i in block]
    short = all(len(t) <= 80 and len(t.split()) <= 8 and not _SENTENCE_END_AT_EOL.search(t) for t in texts)
    if not short:
        return None
    if (any(is_contact_line(t) for t in texts) or any(_ORG_SUFFIX_ANYWHERE.search(t) for t in texts)
            or (len(block) >= 2 and _NAME_LINE.match(texts[0]))):
        return block[0]
    return None
