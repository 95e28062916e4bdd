"""Turn a query or a reply into an anonymised draft for the public Q&A bank.

When the specialist promotes an answered query, the text must not carry the
requester's name, company, phone number, the helpdesk reference or the
letter's frame (salutation, sign-off, signature). :func:`anonymise` strips all
of that and leaves the substance: what was asked and what the helpdesk said,
with convention numbers, ages, years, percentages and countries intact.

It is a draft, not a guarantee: the specialist reads and edits it before
publishing, and ``Anonymised.removed`` tells them what kinds of things were
taken out so they know where to look.

Works on English, French and Spanish letters; what their parts look like
(salutations, sign-offs, phone numbers, addresses, titles...) is in
:mod:`kb.letter_patterns`. Pure function: standard library plus
``classifier.text`` (to tell function words such as "May" or "Will" from names).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from classifier.text import content_words
from kb.letter_patterns import (
    ADDRESS,
    BARE_DOMAIN,
    CLOSING_LINE,
    CLOSING_START,
    CUT_LINE,
    DATE,
    DIALLING_CODE,
    EMAIL,
    FRENCH_PHONE,
    LOWER_WORD,
    NAME_PARTICLES,
    ORG_SUFFIX,
    ORG_SUFFIX_AT_END,
    PHONE_CANDIDATE,
    PHONE_LABEL,
    PHONE_SEPARATORS,
    PLEASANTRY,
    POSTCODE_CITY_LINE,
    REFERENCE_LABEL,
    SALUTATION_LINE,
    SALUTATION_PREFIX,
    THOUSANDS,
    TITLE_ANY_CASE,
    TITLED_NAME,
    TRAILING_PUNCT,
    URL,
)

__all__ = ["Anonymised", "anonymise", "DEFAULT_REFERENCE_PATTERN"]

DEFAULT_REFERENCE_PATTERN = r"\b[A-Z]{2,6}-\d{4}-\d{4,}\b"

#: Marks where something was removed; resolved (with the spaces around it) at the end.
_GAP = "\x00"


@dataclass(frozen=True)
class Anonymised:
    """The draft, and what was taken out of it, in the order found: "salutation",
    "closing and signature", "signature", "signature and quoted text", "pleasantry",
    "reference", "email address", "link", "phone number", "postal address",
    "organisation 'Acme Ltd'", "name 'Jürgen Weber'" (given) or "name 'Mr Smith'" (found after a title)."""

    text: str
    removed: tuple[str, ...] = ()


# --------------------------------------------------------------------------- given names and organisations


def _flexible(word: str) -> str:
    """``word`` as a regex where an accented letter also matches its plain form (``Jürgen`` ~ ``Jurgen``)."""
    out = []
    for ch in word:
        plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if plain and plain != ch and len(plain) == 1:
            out.append(f"[{re.escape(ch)}{re.escape(plain)}]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def phrase_pattern(text: str) -> str:
    """``text`` as a regex: its words in order, any whitespace between them, an accented letter also
    matching its plain form."""
    return r"\s+".join(_flexible(w) for w in text.split())


def _name_part(part: str, *, whole: bool) -> str:
    """A name to match case-insensitively; a part that is also a function word ("May", "Will")
    matches only when capitalised, so "may" and "will" in the text survive."""
    if whole or content_words(part) or not part[:1].isalpha():
        return phrase_pattern(part)
    return f"(?-i:{re.escape(part[0].upper())}){_flexible(part[1:])}"


# --------------------------------------------------------------------------- the pass


class _Pass:
    """One anonymisation run: the text being rewritten and the kinds removed so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.removed: list[str] = []

    def note(self, kind: str) -> None:
        if kind not in self.removed:
            self.removed.append(kind)

    def sub(self, pattern: re.Pattern[str] | str, repl, kind: str | None) -> int:
        """Apply ``pattern``; ``kind`` is noted if anything actually changed."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        changed = 0

        def replace(m: re.Match[str]) -> str:
            nonlocal changed
            out = repl(m) if callable(repl) else repl
            if out != m.group(0):
                changed += 1
            return out

        self.text = rx.sub(replace, self.text)
        if changed and kind:
            self.note(kind)
        return changed


def _strip_salutation(p: _Pass) -> None:
    lines = p.text.split("\n")
    for _ in range(2):  # "Hello,\nDear Sir or Madam," happens
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None:
            return
        if SALUTATION_LINE.match(lines[first]):
            del lines[first]
        else:
            m = SALUTATION_PREFIX.match(lines[first])
            if not m:
                break
            rest = lines[first][m.end():]
            lines[first] = rest[:1].upper() + rest[1:]
        p.note("salutation")
    p.text = "\n".join(lines)


def _strip_closing(p: _Pass) -> None:
    lines = p.text.split("\n")
    content = [i for i, line in enumerate(lines) if line.strip()]
    for i in content[1:]:  # the first line of content is never the sign-off
        line = lines[i]
        if CUT_LINE.match(line):
            p.note("signature and quoted text")
        elif CLOSING_LINE.match(line) or CLOSING_START.match(line):
            p.note("closing and signature")
        else:
            continue
        p.text = "\n".join(lines[:i])
        return


def _strip_references(p: _Pass, references: Iterable[str], pattern: str) -> None:
    alternatives = [f"(?:{pattern})"] if pattern else []
    literal = sorted({r.strip() for r in references if r and r.strip()}, key=len, reverse=True)
    alternatives += [rf"(?<![\w\-]){re.escape(r)}(?![\w])" for r in literal]
    if not alternatives:
        return
    ref = f"(?:{'|'.join(alternatives)})"
    p.sub(rf"[ \t]*[(\[][ \t]*(?:{REFERENCE_LABEL})?{ref}[ \t]*[)\]]", _GAP, "reference")
    p.sub(rf"(?:{REFERENCE_LABEL})?{ref}", _GAP, "reference")


def _strip_pleasantries(p: _Pass) -> None:
    p.sub(PLEASANTRY, _GAP, "pleasantry")


def _replace_links(p: _Pass) -> None:
    p.sub(EMAIL, "[email]", "email address")

    def link(m: re.Match[str]) -> str:
        trailing = TRAILING_PUNCT.search(m.group(0))
        return "[link]" + (trailing.group(0) if trailing else "")

    p.sub(URL, link, "link")
    p.sub(BARE_DOMAIN, link, "link")


def _is_phone(candidate: str, before: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15:
        return False
    international = candidate.startswith("+") or (candidate.startswith("00") and not candidate.startswith("000"))
    if FRENCH_PHONE.fullmatch(candidate):
        return True  # 06.12.34.56.78: French style, before it looks like a date
    if DATE.search(candidate) and not international:
        return False
    if international or DIALLING_CODE.match(candidate) or PHONE_LABEL.search(before):
        return True
    if candidate.startswith("0") and digits >= 9:
        return True
    if THOUSANDS.fullmatch(candidate):
        return False  # 1 500 000 or 1.500.000: an amount
    groups = PHONE_SEPARATORS.split(candidate)
    return digits >= 10 or (digits >= 9 and len(groups) >= 3)


def _replace_phones(p: _Pass) -> None:
    def phone(m: re.Match[str]) -> str:
        line_start = m.string.rfind("\n", 0, m.start()) + 1
        return "[phone]" if _is_phone(m.group(0), m.string[line_start:m.start()]) else m.group(0)

    p.sub(PHONE_CANDIDATE, phone, "phone number")


def _replace_addresses(p: _Pass) -> None:
    lines = p.text.split("\n")
    found = False
    for i, line in enumerate(lines):
        if POSTCODE_CITY_LINE.match(line):
            lines[i], found = "[address]", True
            continue
        spans = ADDRESS.sub(_GAP, line)
        if spans == line:
            continue
        found = True
        rest = spans.replace(_GAP, "")
        # "12 Harbour Road, Tema, Ghana" is all address; "our site at 12 Harbour Road" is a sentence.
        lines[i] = "[address]" if not LOWER_WORD.search(rest) else spans.replace(_GAP, "[address]")
    if found:
        p.note("postal address")
        p.text = re.sub(r"\[address\](?:[ \t]*\n[ \t]*\[address\])+", "[address]", "\n".join(lines))


def _replace_organisations(p: _Pass, organisations: Iterable[str]) -> None:
    cores: dict[str, str] = {}
    for org in organisations:
        org = (org or "").strip()
        core = ORG_SUFFIX_AT_END.sub("", org).strip(" ,") or org
        if len(core) >= 2:
            cores.setdefault(core, org)
    for core in sorted(cores, key=len, reverse=True):
        rx = re.compile(rf"(?<![\w\[]){phrase_pattern(core)}(?:,?[ \t]+{ORG_SUFFIX})*(?![\w])", re.IGNORECASE)

        def organisation(m: re.Match[str]) -> str:
            after = m.string[m.end():].lstrip(" \t")
            # "... at Acme Ltd." ends a sentence: keep the full stop the suffix swallowed.
            if m.group(0).endswith(".") and (not after or after[0] == "\n" or after[0].isupper()):
                return "[organisation]."
            return "[organisation]"

        p.sub(rx, organisation, f"organisation '{cores[core]}'")


def _name_or_word(m: re.Match[str]) -> str:
    """``[name]``, unless the match is a function word opening a sentence ("May we...", "Will it...")."""
    if " " not in m.group(0) and not content_words(m.group(0)):
        before = m.string[:m.start()].rstrip(" \t")
        if not before or before[-1] in "\n.!?:;\"'“«¿¡(":
            return m.group(0)
    return "[name]"


def _replace_names(p: _Pass, names: Iterable[str]) -> None:
    title = rf"(?:{TITLE_ANY_CASE}[ \t]+)?"
    given = {n.strip() for n in names if n and len(n.strip()) >= 2}
    for name in sorted(given, key=len, reverse=True):
        words = name.split()
        variants = {name}
        # "de la Cruz" as in "Sra. de la Cruz"
        variants.update(" ".join(words[i:]) for i in range(1, len(words)) if words[i].casefold() in NAME_PARTICLES)
        for word in words:
            variants.update(part for part in re.split(r"-", word) + [word]
                            if sum(ch.isalpha() for ch in part) >= 3 and part.casefold() not in NAME_PARTICLES)
        alternation = "|".join(_name_part(v, whole=(v == name)) for v in sorted(variants, key=len, reverse=True))
        rx = re.compile(rf"(?<![\w\[]){title}(?:{alternation})(?![\w])", re.IGNORECASE)
        p.sub(rx, _name_or_word, f"name '{name}'")

    def titled(m: re.Match[str]) -> str:
        p.note(f"name '{m.group(0)}'")
        return "[name]"

    p.sub(TITLED_NAME, titled, None)
    p.text = re.sub(r"\[name\](?:[ \t]+\[name\])+", "[name]", p.text)


#: Links are left alone: a last line pointing to an ILO page is substance, not a signature.
_CONTACT_LINE = re.compile(r"\[(?:phone|email|address)\]|^\W*\[(?:name|organisation)\]\W*$")


def _strip_bare_signature(p: _Pass) -> None:
    """A last paragraph of short lines with contact details is a signature, even without "Regards"."""
    body = p.text.rstrip()
    head, sep, last = body.rpartition("\n\n")
    if not sep or not head.strip():
        return
    lines = [line for line in last.split("\n") if line.strip() and line.strip() != _GAP]
    if not 1 <= len(lines) <= 8:
        return
    short = all(len(line) <= 80 and len(line.split()) <= 8 and not re.search(r"[.?!:;]\s*$", line) for line in lines)
    if short and any(_CONTACT_LINE.search(line.strip()) for line in lines):
        p.text = head
        p.note("signature")


def _close_gaps(text: str) -> str:
    """Resolve the removal marks: no dangling brackets, spaces or punctuation-only lines."""
    text = re.sub(rf"[ \t]*[(\[][ \t]*(?:{_GAP}[ \t]*)+[)\]]", _GAP, text)
    out = []
    for line in text.split("\n"):
        if _GAP not in line:
            out.append(line)
            continue
        opened_with_gap = line.lstrip(" \t").startswith(_GAP)

        def join(m: re.Match[str]) -> str:
            before = m.string[m.start() - 1] if m.start() > 0 else ""
            after = m.string[m.end()] if m.end() < len(m.string) else ""
            if not before or not after or after in ",.;:!?)]" or before in "([":
                return ""
            return " "

        line = re.sub(rf"[ \t]*{_GAP}(?:[ \t]*{_GAP})*[ \t]*", join, line).rstrip()
        line = re.sub(r"^([ \t]*)[,;:][ \t]*", r"\1", line)  # "(ref), we reply" lost its opening words
        if not re.search(r"\w", line):
            line = ""
        elif opened_with_gap:  # "Ticket no. 12: the answer..." -> "The answer..."
            line = re.sub(r"^([ \t]*)(\w)", lambda m: m.group(1) + m.group(2).upper(), line, count=1)
        out.append(line)
    return "\n".join(out)


def anonymise(
    text: str,
    *,
    names: Iterable[str] = (),
    organisations: Iterable[str] = (),
    references: Iterable[str] = (),
    reference_pattern: str = DEFAULT_REFERENCE_PATTERN,
) -> Anonymised:
    """An anonymised draft of a query or reply, and the kinds of things removed from it.

    Removes the salutation, the sign-off and everything after it, helpdesk
    references (``reference_pattern`` and any of ``references``) with the words
    around them, and courtesy sentences ("Thank you for contacting ..."). Replaces
    e-mail addresses, links, phone numbers, postal addresses, the given
    ``organisations`` and ``names`` (and any name after a title such as Mr or
    Sra.) with ``[email]``, ``[link]``, ``[phone]``, ``[address]``,
    ``[organisation]`` and ``[name]``.
    """
    p = _Pass((text or "").replace("\r\n", "\n").replace("\r", "\n").replace(_GAP, ""))
    _strip_salutation(p)
    _strip_closing(p)
    _strip_references(p, references, reference_pattern)
    _strip_pleasantries(p)
    _replace_links(p)
    _replace_phones(p)
    _replace_addresses(p)
    _replace_organisations(p, organisations)
    _replace_names(p, names)
    _strip_bare_signature(p)
    result = _close_gaps(p.text)
    result = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", result).strip()
    return Anonymised(result, tuple(p.removed))
