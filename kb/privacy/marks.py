"""What identifies one person in the store's text, and how to take it out.

``Marks`` are the person's email addresses, names, phone numbers and Telegram chat ids, gathered from
their requester row and from what they wrote (a phone number lives in a signature, not in a column).
``Scrubber`` removes them: whole texts written by or about the person are anonymised (``kb.anonymise``
strips the letter's frame, addresses, phones and names) and then every mark is replaced, wherever it is
and however it is cased; short lines and JSON values have their marks replaced only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kb.anonymise import anonymise, phrase_pattern
from kb.letter_patterns import PHONE_CANDIDATE, PHONE_LABEL

ERASED = "[erased]"

#: Shorter parts of a name are not replaced on their own ("Li" would eat "limit").
_MIN_NAME_PART = 3


#: What may stand between the digits of a phone number ("+49 (30) 1234-5678", "0049.30.1234.5678").
PHONE_SEPARATORS = r"[\s.\-()/]"
#: The same for the store's search (``kb.privacy.erasure``), one string each: the white space people write
#: between digits (tab, line break, no-break, thin and figure spaces) and, in JSON columns, its escapes.
PHONE_SEPARATOR_CHARACTERS = ("\\u00a0", "\\u2007", "\\u2009", "\\u202f", "\\t", "\\n", "\\r",
                              " ", "\t", "\n", "\r", "\u00a0", "\u2007", "\u2009", "\u202f", ".", "-", "(", ")", "/")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def phones_in(text: str) -> set[str]:
    """The phone numbers written in ``text``, as their digits: a number after a phone label, one that
    starts with ``+``, or a run of nine digits or more (with the usual separators)."""
    return set().union(*_phones(text))


def _phones(text: str) -> tuple[set[str], set[str]]:
    """(the numbers written as phone numbers: after a phone label or starting with ``+``; other runs of nine
    digits or more, which may be phone numbers or amounts, orders, accounts)."""
    sure, maybe = set(), set()
    for line in (text or "").splitlines():
        for match in PHONE_CANDIDATE.finditer(line):
            digits = _digits(match.group())
            labelled = PHONE_LABEL.search(line[:match.start()]) is not None
            if len(digits) >= 7 and (labelled or match.group().lstrip().startswith("+")):
                sure.add(digits)
            elif len(digits) >= 9:
                maybe.add(digits)
    return sure, maybe - sure


@dataclass
class Marks:
    """What identifies the person: emails (lower case), names, phone numbers (digits), Telegram chat ids."""

    emails: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    chat_ids: set[int] = field(default_factory=set)
    #: Of ``phones``, those written as phone numbers (after a label, or with ``+``): only these are looked for
    #: beyond the person's own rows, where a bare run of digits is more likely someone's amount or order.
    sure_phones: set[str] = field(default_factory=set)

    def add_text(self, text: str | None) -> None:
        """Phone numbers the person wrote (in a signature, say)."""
        sure, maybe = _phones(text or "")
        self.phones |= sure | maybe
        self.sure_phones |= sure

    def name_parts(self) -> set[str]:
        return {p for n in self.names for p in re.split(r"[\s,]+", n) if len(p) >= _MIN_NAME_PART}

    def strings(self) -> list[str]:
        """The addresses, full names and chat ids, for searching the whole store (longest first). Not the
        parts of a name (a namesake's words stay) nor phones (their separators vary: the store is searched
        for their digits with the separators taken out)."""
        return sorted({*self.emails, *self.names, *(str(c) for c in self.chat_ids)}, key=len, reverse=True)

    def in_bytes(self, data: bytes) -> bool:
        """Whether raw bytes (an email, an attachment) hold an address, a name or a chat id of the person."""
        low = data.lower()
        needles = [*self.emails, *(n.lower() for n in self.names), *(str(c) for c in self.chat_ids)]
        return any(n.encode("utf-8") in low for n in needles if n)

    def __bool__(self) -> bool:
        return bool(self.emails or self.names or self.phones or self.chat_ids)


class Scrubber:
    """Takes a person's marks out of text."""

    def __init__(self, marks: Marks, *, name_parts: bool = True) -> None:
        """``name_parts``: also replace a given name or a surname on its own, and any long run of digits
        they wrote (in the person's own queries); elsewhere only the full name, so that a namesake's record
        keeps its words, and only the numbers they wrote as phone numbers."""
        self.marks = marks
        phones = marks.phones if name_parts else marks.sure_phones
        patterns = [re.escape(e) for e in sorted(marks.emails, key=len, reverse=True)]
        names = sorted({*marks.names, *(marks.name_parts() if name_parts else ())}, key=len, reverse=True)
        patterns += [r"(?<!\w)" + phrase_pattern(n) + r"(?!\w)" for n in names if n.strip()]
        # a number written with any separators, and dialled from abroad with 00 instead of + as well; a whole
        # number, not the middle of a longer one ("DE12 4930 1234 5678 00" is an account, not the phone)
        patterns += [r"(?<!\d)(?<!\d" + PHONE_SEPARATORS + r")(?:\+" + PHONE_SEPARATORS + "*|0" + PHONE_SEPARATORS
                     + "*0" + PHONE_SEPARATORS + "*)?" + (PHONE_SEPARATORS + "*").join(d)
                     + "(?!" + PHONE_SEPARATORS + r"*\d)" for d in sorted(phones, key=len, reverse=True)]
        patterns += [rf"(?<!\d){c}(?!\d)" for c in sorted(marks.chat_ids, key=lambda c: -len(str(c)))]
        self._pattern = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
        self._names = sorted(marks.names)

    def line(self, text: str | None) -> str | None:
        """``text`` with each mark replaced by ``[erased]`` (a subject, a history line)."""
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(ERASED, text)

    def text(self, text: str | None) -> str | None:
        """A letter or message anonymised, then its remaining marks replaced."""
        if not text:
            return text
        return self.line(anonymise(text, names=self._names).text)

    def json(self, value: Any) -> Any:
        """A JSON value with the marks replaced in every string (keys included)."""
        if isinstance(value, str):
            return self.line(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.line(k): self.json(v) for k, v in value.items()}
        if isinstance(value, int) and not isinstance(value, bool) and value in self.marks.chat_ids:
            return None
        return value

    def holds_mark(self, text: str | None) -> bool:
        return bool(text) and self._pattern is not None and self._pattern.search(text) is not None

    def without(self, addresses: Iterable[str]) -> list[str]:
        """A recipient list without the person's addresses and Telegram chats."""
        mine = self.marks.emails | {str(c) for c in self.marks.chat_ids}
        return [a for a in addresses if str(a).strip().lower() not in mine]
