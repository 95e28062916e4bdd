"""Which countries a query is about, found in its English, French or Spanish text.

"Our supplier in Guatemala", "au Maroc", "en el Perú", "in Viet Nam", "aux États-Unis",
"in the UK", "Bangladeshi factories", "usine marocaine", "planta guatemalteca": each
names a country the query concerns. :func:`countries_concerned` finds them, says which
words it found, ranks them (a country named with a word of place before it, or beside
supplier/factory/usine/proveedor..., counts more than one named in passing) and flags
the requester's own country, so the caller can store the country concerned apart from it.

The frame of the letter is left out: the salutation ("Dear Jordan,"), the sign-off and
everything after it (signature, address block, quoted earlier mail), a last paragraph that
is a signature without a sign-off (a name, an organisation, contact lines) and quoted lines
("> ..."). :func:`kb.letter_frame.letter_frame` finds them; it is shared with
:mod:`kb.organisations`, which reads the signature.

Names come from the :class:`~kb.regions.CountryDirectory` (pycountry's English names and
their French and Spanish translations, and ``kb.regions.ALIASES``) plus the short forms
and adjectives of :mod:`kb.country_names`. Words that are countries only sometimes are
checked in context, by the words around them (:mod:`kb.place_words`):
"Jordan Smith" and "Mr Chad" are people, "Georgia" beside "Atlanta" is the US state, a
"guinea pig", "roast turkey", "fine china", "New Mexico", "Latin America", "la réunion"
(a meeting) and "en español" (a language) are no countries, "US" counts only as a capital
pair of letters, "Niger" is not found in "Nigeria" nor "India" in "Indiana", and the
longest name wins ("Papua New Guinea", "Guinea-Bissau", "Dominican Republic").

Pure function: the name index (:func:`kb.country_names.name_index`) is built the first time
it is needed (for each directory) and kept; nothing is built at import time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.country_names import ANY, CAPITAL, CAPITAL_LAST, UPPER, WORD, NameEntry, NameIndex, fold, name_index
from kb.letter_frame import LetterFrame, letter_frame
from kb.place_words import (
    ALLCAPS_VERBS,
    ARTICLES,
    CAUCASUS_SIGNALS,
    CHECKED_IN_CONTEXT,
    CONGO_SIGNALS,
    CUES,
    FABRIC_AFTER,
    FOOD_AFTER,
    FOOD_BEFORE,
    LANGUAGE_AFTER,
    LANGUAGE_BEFORE,
    LINK_WORDS,
    NATIONAL_NOUNS,
    NOT_SURNAMES,
    OPENERS,
    PLACE_WORDS,
    TITLES,
    US_NOT_COUNTRY_AFTER,
    US_STATE_SIGNALS,
)
from kb.regions import CountryDirectory, UnknownCountryError

__all__ = ["CountryMention", "countries_concerned"]


@dataclass(frozen=True)
class CountryMention:
    """A country the query is about.

    ``rank`` is 1 for the best; ``score`` is what the rank follows. ``strong`` means a word of
    place ("in", "au", "en") or of business ("supplier", "usine", "planta", "law") stands beside
    it, as opposed to a country named in passing. ``evidence`` holds the words as written
    ("au Maroc", "Bangladeshi"), ``reasons`` why it counts ("place word 'au'", "near
    'fournisseur'", "adjective", "named 2 times"). ``alternatives`` lists the other countries an
    ambiguous name may be ("Congo": CD, alternatives ("CG",)). ``is_requester_country`` marks the
    requester's own country.
    """

    code: str
    name: str
    region: str | None
    rank: int
    score: float
    strong: bool
    evidence: tuple[str, ...]
    reasons: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    is_requester_country: bool = False


# --------------------------------------------------------------------------- context words

_SENTENCE_BREAK = re.compile(r"[.!?;]\s|\n[ \t]*\n")


def _words_before(folded: str, start: int, limit: int = 70) -> list[str]:
    window = folded[max(0, start - limit):start]
    cut = None
    for cut in _SENTENCE_BREAK.finditer(window):
        pass
    return WORD.findall(window[cut.end():] if cut else window)


def _words_after(folded: str, end: int, limit: int = 70) -> list[str]:
    window = folded[end:end + limit]
    cut = _SENTENCE_BREAK.search(window)
    return WORD.findall(window[:cut.start()] if cut else window)


_GAP_CHARS = frozenset(" \t\n':-•*")


def _word_back(folded: str, end: int, floor: int) -> tuple[str | None, int]:
    """The word that ends ``end`` after at most four spaces, apostrophes or list marks ("in:\n- "),
    and where it starts."""
    j = end
    while j > floor and folded[j - 1] in _GAP_CHARS:
        j -= 1
    if j == end or end - j > 4:
        return None, end
    k = j
    while k > floor and folded[k - 1].isalnum():
        k -= 1
    return (folded[k:j], k) if k < j else (None, end)


def _adjacent_before(folded: str, start: int) -> tuple[str | None, str | None, int, int]:
    """The word right before a name and the one before it, with nothing but spaces or an apostrophe
    between them ("en el Perú", "d'Inde", "in the UK"), and where each starts."""
    floor = max(0, start - 40)
    near, near_start = _word_back(folded, start, floor)
    if near is None:
        return None, None, start, start
    far, far_start = _word_back(folded, near_start, floor)
    return near, far, near_start, far_start if far is not None else start


def _next_original_word(text: str, end: int) -> str | None:
    m = re.match(r"[ \t]([^\W\d_][\w'’\-]*)", text[end:end + 40])
    return m.group(1) if m else None


def _previous_original_word(text: str, start: int) -> str | None:
    m = re.search(r"([^\W\d_][\w'’\-]*)\.?[ \t]$", text[max(0, start - 40):start])
    return m.group(1) if m else None


def _is_proper_name(word: str | None) -> bool:
    return bool(word) and word[0].isupper() and any(c.islower() for c in word[1:])


# --------------------------------------------------------------------------- the search


@dataclass
class _Found:
    start: int
    end: int
    key: tuple[str, ...]
    entry: NameEntry


_WORD_BREAKS: dict[int, str] = {}


def _word_set(folded: str) -> set[str]:
    """The words of a folded text, quickly: its ASCII punctuation made spaces. What is left that is not
    ASCII (an emoji, "œ", Cyrillic) is made "?" first, which keeps ``str.translate`` on its fast path; no
    name's first word holds such a letter once folded."""
    if not _WORD_BREAKS:
        for code in (*range(0x00, 0x30), *range(0x3A, 0x41), *range(0x5B, 0x61), *range(0x7B, 0x80)):
            _WORD_BREAKS[code] = " "
    if not folded.isascii():
        folded = folded.encode("ascii", "replace").decode("ascii")
    return set(folded.translate(_WORD_BREAKS).split())


def _raw_matches(text: str, folded: str, index: NameIndex) -> list[_Found]:
    """Every name found, the longest at each place, left to right (overlaps go to the earlier, longer one)."""
    present = index.first_words.intersection(_word_set(folded))
    found: list[tuple[int, int, tuple[str, ...], NameEntry]] = []
    keys = index.keys_by_text
    for first in present:
        for m in index.pattern(first).finditer(folded):
            start = m.start()
            if start and (folded[start - 1].isalnum() or folded[start - 1] == "_"):
                continue
            matched = m.group(0)
            key = keys.get(matched)
            if key is None:
                key = tuple(WORD.findall(matched))
                if len(keys) < 20_000:
                    keys[matched] = key
            entry = index.entries.get(key)
            if entry is None or (entry.case == UPPER and not text[start:m.end()].isupper()):
                continue  # "us", "eau", "usa" in lower case are words
            found.append((start, m.end(), key, entry))
    found.sort(key=lambda f: (f[0], f[0] - f[1]))
    kept: list[_Found] = []
    last_end = -1
    for start, end, key, entry in found:
        if start >= last_end:
            kept.append(_Found(start, end, key, entry))
            last_end = end
    return kept


def _case_ok(original: str, case: str) -> bool:
    if case == ANY:
        return True
    if case == CAPITAL:
        return original[:1].isupper()
    if case == CAPITAL_LAST:
        return original.split()[-1][:1].isupper()
    letters = [c for c in original if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _rejected(text: str, folded: str, f: _Found, index: NameIndex) -> bool:
    """True when a match is no country here: a person, a US state, food, fabric, a language..."""
    entry, key = f.entry, f.key
    joined = " ".join(key)
    if entry.case == ANY and not entry.person and not entry.needs_noun and joined not in CHECKED_IN_CONTEXT:
        return False
    if not _case_ok(text[f.start:f.end], entry.case):
        # chat is often written in lower case: "factory in jordan", "usine en chine" still count
        if entry.case != CAPITAL or entry.adjective:
            return True
        near = _word_back(folded, f.start, max(0, f.start - 20))[0]
        if near not in PLACE_WORDS or near == "a":
            return True
    near = _adjacent_before(folded, f.start)[0]
    prev_word = _previous_original_word(text, f.start)
    next_word = _next_original_word(text, f.end)
    if entry.person:
        if prev_word and prev_word[0].isupper() and fold(prev_word) in TITLES:
            return True  # "Mr Jordan", "Sra. Georgia"
        before = folded[max(0, f.start - 20):f.start].rstrip()
        if any(before.endswith(opener) for opener in OPENERS) and near not in PLACE_WORDS:
            return True  # "my name is Jordan", "je m'appelle France"
        if (_is_proper_name(next_word) and fold(next_word) not in NOT_SURNAMES
                and text[f.end:f.end + 1] == " " and fold(next_word) not in index.first_words):
            return True  # "Jordan Smith"
        if (_is_proper_name(prev_word) and text[f.start - 1:f.start] == " "
                and fold(prev_word) not in PLACE_WORDS | LINK_WORDS | ARTICLES | NOT_SURNAMES
                and fold(prev_word).rstrip(".") not in TITLES and fold(prev_word) not in CUES
                and not _sentence_start(text, f.start - len(prev_word) - 1)):
            return True  # "Michael Jordan"
        if next_word and fold(next_word) in ("here",):
            return True  # "Jordan here"
    if joined == "georgia" and US_STATE_SIGNALS.search(folded) and not CAUCASUS_SIGNALS.search(folded):
        return True
    if joined == "turkey" and (near in FOOD_BEFORE or (next_word and fold(next_word) in FOOD_AFTER)):
        return True
    if joined == "jersey" and (near in {"a", "un", "le", "du", "de", "new"}
                               or (next_word and fold(next_word) in FABRIC_AFTER)):
        return True
    if joined in ("us", "u s"):
        following = _words_after(folded, f.end)[:1]
        if folded[f.end:f.end + 2].lstrip().startswith("$") or (following and following[0] in US_NOT_COUNTRY_AFTER):
            return True  # US$, US dollars: a currency
        if prev_word and prev_word.isupper() and len(prev_word) > 1 and fold(prev_word) in ALLCAPS_VERBS:
            return True  # "CONTACT US", "HELP US"
        line_start = text.rfind("\n", 0, f.start) + 1
        line_end = text.find("\n", f.end)
        line_words = re.findall(r"[^\W\d_]{2,}", text[line_start:line_end if line_end >= 0 else len(text)])
        if len(line_words) >= 3 and sum(w.isupper() for w in line_words) * 2 > len(line_words):
            return True  # a line in capitals: "PLEASE HELP US"
    if entry.adjective and entry.needs_noun:
        after = _words_after(folded, f.end)[:3]
        before = _words_before(folded, f.start)[-3:]
        if near in LANGUAGE_BEFORE and not (after[:1] and after[0] in NATIONAL_NOUNS):
            return True
        if after[:1] and after[0] in LANGUAGE_AFTER:
            return True
        if not (set(after[:2]) & NATIONAL_NOUNS or set(before) & NATIONAL_NOUNS):
            return True  # "I speak Spanish", "Chinese New Year": no noun of business or law beside it
    return False


def _sentence_start(text: str, position: int) -> bool:
    """True when ``position`` opens a sentence or a line ("In Jordan": "In" is capitalised for that)."""
    before = text[:max(0, position)].rstrip(" \t")
    return not before or before[-1] in "\n.!?:;\"'“«¿¡(-–—•*>"


def _congo(folded: str, entry: NameEntry) -> NameEntry:
    for code, signals in CONGO_SIGNALS.items():
        if signals.search(folded):
            others = tuple(c for c in ("CD", "CG") if c != code)
            return NameEntry(code, entry.adjective, entry.case, entry.person, entry.needs_noun, others)
    return entry


def _mask(text: str, frame: LetterFrame) -> str:
    """``text`` with every line outside the body (and a salutation's words) blanked, offsets kept."""
    out = []
    for i, line in enumerate(frame.lines):
        if i not in frame.body:
            out.append(" " * len(line))
        elif i == frame.salutation_line:
            out.append(" " * frame.salutation_end + line[frame.salutation_end:])
        else:
            out.append(line)
    return "\n".join(out)


_LIST_GLUE = re.compile(
    r"[\s,/&;\-•*]*(?:(?:and|et|y|e|or|ou|o|u|as well as|ainsi que|así como|asi como|&)[\s,]+)?"
    r"(?:(?:the|le|la|les|l'|el|los|las|au|aux|en|in)\s+)?"
)


def countries_concerned(
    text: str,
    directory: CountryDirectory,
    *,
    requester_country: str | None = None,
) -> list[CountryMention]:
    """The countries ``text`` is about, best first (see :class:`CountryMention`).

    ``requester_country`` (a code or a name) is the requester's own country: it stays in the list,
    flagged ``is_requester_country``, so the caller can tell it from the country concerned.
    Countries named only in the salutation, the signature, the address block or quoted mail are
    left out.
    """
    if not text or not text.strip():
        return []
    text = text.replace("\r\n", " \n").replace("\r", "\n")
    index = name_index(directory)
    frame = letter_frame(text)
    body = _mask(text, frame)
    folded = fold(body)
    matches = [f for f in _raw_matches(text, folded, index)
               if f.entry.code is not None and not _rejected(text, folded, f, index)]
    if not matches:
        return []

    tallies: dict[str, _Tally] = {}
    previous: _Scored | None = None
    for f in matches:
        entry = f.entry
        tally = tallies.get(entry.code)
        if tally is not None and tally.count >= 3 and tally.strong:
            tally.count += 1  # a country already shown to matter: its further mentions are only counted
            previous = None
            continue
        if entry.code in ("CD", "CG") and entry.alternatives:
            entry = _congo(folded, entry)
        scored = _score(text, folded, f, entry, previous)
        previous = scored
        if tally is None:
            tally = tallies[entry.code] = _Tally(first=f.start)
        tally.add(scored, entry.alternatives)

    requester = _requester_code(directory, requester_country)
    ranked = sorted(tallies.items(), key=lambda item: (-item[1].total, item[0] == requester, item[1].first))
    out = []
    for rank, (code, tally) in enumerate(ranked, start=1):
        country = directory.by_code(code)
        reasons = tally.reasons + ([f"named {tally.count} times"] if tally.count > 1 else [])
        if code == requester:
            reasons.append("the requester's own country")
        out.append(CountryMention(
            code=code, name=country.name, region=country.region, rank=rank, score=tally.total,
            strong=tally.strong, evidence=tuple(tally.evidence[:5]), reasons=tuple(reasons),
            alternatives=tuple(sorted(tally.alternatives - {code})), is_requester_country=code == requester,
        ))
    return out


# --------------------------------------------------------------------------- scoring

#: A country's name counts 1, an adjective of nationality less ("Bangladeshi" may describe workers who moved).
_NAME_WEIGHT, _ADJECTIVE_WEIGHT = 1.0, 0.6
#: Added for a word of place before the name ("in", "au", "en el"), or a weaker link ("from", "de", "of").
_PLACE_BONUS, _LINK_BONUS = 2.0, 0.8
#: Added when a word of business or law stands within five words ("supplier", "usine", "ley").
_CUE_BONUS = 1.5
#: Added for each further mention of the same country, up to three.
_REPEAT_BONUS, _REPEATS_COUNTED = 0.3, 3


@dataclass(frozen=True)
class _Scored:
    """One mention weighed: its score, its link ("place", "link" or None), why, and the words shown."""

    end: int
    score: float
    link: str | None
    strong: bool
    reasons: tuple[str, ...]
    evidence: str
    link_evidence: str  # the words that gave the link, passed on down a list ("in Peru, Chile and Bolivia")


class _Tally:
    """Everything found for one country."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.count = 0
        self.best = 0.0
        self.strong = False
        self.evidence: list[str] = []
        self.reasons: list[str] = []
        self.alternatives: set[str] = set()

    def add(self, scored: _Scored, alternatives: tuple[str, ...]) -> None:
        self.count += 1
        self.best = max(self.best, scored.score)
        self.strong = self.strong or scored.strong
        if scored.evidence not in self.evidence:
            self.evidence.append(scored.evidence)
        self.reasons.extend(r for r in scored.reasons if r not in self.reasons)
        self.alternatives.update(alternatives)

    @property
    def total(self) -> float:
        return round(self.best + _REPEAT_BONUS * min(self.count - 1, _REPEATS_COUNTED), 2)


def _score(text: str, folded: str, f: _Found, entry: NameEntry, previous: _Scored | None) -> _Scored:
    near, far, near_start, far_start = _adjacent_before(folded, f.start)
    reasons: list[str] = []
    score = _ADJECTIVE_WEIGHT if entry.adjective else _NAME_WEIGHT
    link, link_evidence = None, ""
    if entry.adjective:
        reasons.append("adjective")
    else:
        link_word, link_start = near, near_start
        if near in ARTICLES and far is not None:
            link_word, link_start = far, far_start  # "en el Perú", "in the UK"
        if link_word in PLACE_WORDS and (link_word != "a" or text[link_start:link_start + 1] in "àÀ"):
            link = "place"  # "a Chile" is Spanish for "to Chile", "à Madagascar" French for "in"
        elif link_word in LINK_WORDS:
            link = "link"
        if link:
            words = " ".join(text[link_start:f.start].rstrip(" \t\n:-•*").split())  # "in", "en el", "de l'"
            name = " ".join(text[f.start:f.end].split())
            link_evidence = words + name if words.endswith(("'", "’")) else f"{words} {name}"
            reasons.append(f"{link} word '{words}'")
        elif previous is not None and previous.link and _LIST_GLUE.fullmatch(folded[previous.end:f.start]):
            link, link_evidence = previous.link, previous.link_evidence  # "in Peru, Chile and Bolivia"
            reasons.append(f"listed after '{link_evidence}'")
        if link:
            score += _PLACE_BONUS if link == "place" else _LINK_BONUS
    around = set(_words_before(folded, f.start)[-5:]) | set(_words_after(folded, f.end)[:5])
    cues = sorted(around & CUES)
    if cues:
        score += _CUE_BONUS
        reasons.append(f"near '{cues[0]}'")
    if not link and not cues:
        reasons.append("named in passing")
    evidence = link_evidence if link and not reasons[0].startswith("listed") else " ".join(text[f.start:f.end].split())
    return _Scored(f.end, score, link, link == "place" or bool(cues), tuple(reasons), evidence, link_evidence)


def _requester_code(directory: CountryDirectory, value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return directory.resolve(value).code
    except UnknownCountryError:
        return None
