"""Countries (ISO 3166) and the ILO region each belongs to.

The region is never asked of a requester: it follows from the country, using
the table shipped in ``kb/data/ilo_regions.toml``. Country names and codes come
from pycountry, so the CLI's ``--country GH``, an email signature's "Ghana" and
a Telegram user's "Côte d'Ivoire" all resolve the same way.

Names are understood in every language pycountry ships a translation for (its
``iso3166-1`` gettext catalogues), so "Allemagne", "Alemania" and "Deutschland"
all resolve to DE, plus a hand-written table of short forms and aliases ("UK",
"EE. UU.", "RDC"). Exact matches look in the requester's language first, then
English, then the other languages (official names such as "République fédérale
d'Allemagne" only in the requester's language, English and a dozen widely used
ones). Each language's index is built the first time a search reaches it.
Suggestions for a misspelt name only look at the requester's language, English
and the aliases, and are shown in the requester's language
(``name(code, language)``).
"""

from __future__ import annotations

import gettext
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import pycountry
from rapidfuzz import fuzz, process

from classifier.text import fold

REGIONS = ("Africa", "Americas", "Arab States", "Asia and the Pacific", "Europe and Central Asia")

#: Punctuation and spacing ignored when names are compared: "U.K." is "UK", "EE. UU." is "EEUU",
#: "Guinea-Bissau" is "Guinea Bissau". Letters, digits and the vowel signs of Indic scripts are kept.
#: Line breaks are left alone, for ``_keys`` to split on.
_PUNCTUATION = re.compile(
    r"(?:[^\S\n]|[!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f"
    r"\u060c\u061b\u061f\u066a-\u066d\u06d4\u0964\u0965\u30fb\uff01-\uff0f\uff1a-\uff20])+"
)

#: Common short forms and aliases -> alpha-2. Checked before codes, so "UK" is never Ukraine (UA).
ALIASES: dict[str, tuple[str, ...]] = {
    "GB": ("UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland",
           "Grande-Bretagne", "Angleterre", "Écosse", "Pays de Galles", "Gran Bretaña", "Inglaterra", "Escocia",
           "Gales"),
    "US": ("USA", "U.S.A.", "US", "U.S.", "United States", "United States of America", "America", "EEUU",
           "EE.UU.", "EE. UU.", "États-Unis", "Etats-Unis d'Amérique", "Estados Unidos"),
    "AE": ("UAE", "U.A.E.", "EAU", "E.A.U.", "Emirates", "Émirats", "Emiratos"),
    "CD": ("DRC", "RDC", "DR Congo", "RD Congo", "Congo-Kinshasa", "Democratic Republic of Congo",
           "Democratic Republic of the Congo", "République démocratique du Congo",
           "República Democrática del Congo"),
    "CG": ("Congo-Brazzaville", "Republic of the Congo", "Republic of Congo"),
    "RU": ("Russia", "Russie", "Rusia", "Russland", "Россия"),
    "KR": ("South Korea", "Republic of Korea", "Corée du Sud", "Corea del Sur"),
    "KP": ("North Korea", "Corée du Nord", "Corea del Norte"),
    "CI": ("Ivory Coast", "Costa de Marfil"),
    "NL": ("Holland", "Hollande", "Holanda"),
    "VN": ("Vietnam",),
    "CZ": ("Czechia", "Czech Republic", "République tchèque", "República Checa", "Chequia"),
    "TR": ("Turkey", "Türkiye", "Turquie", "Turquía"),
    "BO": ("Bolivia", "Bolivie"),
    "VE": ("Venezuela",),
    "IR": ("Iran", "Persia"),
    "SY": ("Syria", "Syrie", "Siria"),
    "LA": ("Laos",),
    "TZ": ("Tanzania", "Tanzanie"),
    "MD": ("Moldova", "Moldavie", "Moldavia"),
    "MK": ("Macedonia", "Macédoine", "FYROM"),
    "MM": ("Burma", "Birmanie"),
    "CV": ("Cape Verde", "Cap-Vert"),
    "SZ": ("Swaziland",),
    "TL": ("East Timor", "Timor Oriental"),
    "VA": ("Vatican", "Vatican City", "Holy See", "Saint-Siège"),
    "PS": ("Palestine", "Palestina"),
    "BA": ("Bosnia", "Bosnie"),
    "BN": ("Brunei",),
    "GM": ("The Gambia",),
    "BS": ("The Bahamas",),
}

#: Languages tried first, after the requester's and English, when a name is in none of those two.
_PREFERRED_LANGUAGES = ("fr", "es", "pt", "de", "it", "nl", "ar", "ru", "zh_CN", "id", "sw", "tr")
_ENGLISH = "en"
#: Minimum rapidfuzz score (0-100) for a name to be suggested for a misspelt one.
_SUGGESTION_SCORE = 80
#: A word found in the names of at most this many countries ("Korea", "Sudan") suggests them all...
_SHARED_WORD_COUNTRIES = 2
#: ... with this score, so a close misspelling still comes first.
_SHARED_WORD_SCORE = 90


def _key(text: str) -> str:
    """Exact-match key: case, accents, punctuation and spaces ignored ("Côte d’Ivoire" == "cote divoire")."""
    return _PUNCTUATION.sub("", fold(text)).replace("\n", "")


def _keys(texts: list[str]) -> list[str]:
    """``_key`` of many texts, folded in one ``fold`` call (one text a line), which beats one call each."""
    if any("\n" in text for text in texts):
        return [_key(text) for text in texts]
    keys = _PUNCTUATION.sub("", fold("\n".join(texts))).split("\n")
    return keys if len(keys) == len(texts) else [_key(text) for text in texts]


def _fuzzy_key(text: str) -> str:
    """Fuzzy-match key: like ``_key`` but words stay apart, which the token-aware scorer needs."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())  # split() also takes line breaks


class _Untranslated(gettext.NullTranslations):
    """The last fallback of a catalogue: says "no translation" instead of echoing the English text."""

    def gettext(self, message: str) -> str | None:  # type: ignore[override]
        return None


class UnknownCountryError(ValueError):
    """The text names no ISO 3166 country; ``suggestions`` lists close names."""

    def __init__(self, value: str, suggestions: tuple[str, ...] = ()) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"{value!r} is not an ISO 3166 country code or name.{hint}")
        self.value = value
        self.suggestions = suggestions


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    region: str | None


class CountryDirectory:
    """Resolves codes and names (in any language pycountry translates) to countries with their ILO region."""

    @cached_property
    def _regions(self) -> dict[str, str]:
        table = tomllib.loads(resources.files("kb").joinpath("data/ilo_regions.toml").read_text(encoding="utf-8"))
        return {code: region for region, codes in table.items() for code in codes.split()}

    # -- languages ---------------------------------------------------------------------------------

    @cached_property
    def languages(self) -> tuple[str, ...]:
        """Locales pycountry ships a country-name catalogue for ("fr", "pt_BR", "sr@latin", ...)."""
        root = pycountry.LOCALES_DIR
        return tuple(sorted(
            name for name in os.listdir(root)
            if os.path.isfile(os.path.join(root, name, "LC_MESSAGES", "iso3166-1.mo"))
        ))

    @cached_property
    def _locales_by_lower(self) -> dict[str, str]:
        return {name.lower(): name for name in self.languages}

    def _locale(self, language: str | None) -> str | None:
        """The catalogue for a requester's language ("fr", "pt-BR", "zh"), or None for English/unknown."""
        if not language:
            return None
        wanted = language.strip().replace("-", "_").lower()
        by_lower = self._locales_by_lower
        if wanted in by_lower:
            return by_lower[wanted]
        base = re.split(r"[_@.]", wanted, maxsplit=1)[0]
        if base == _ENGLISH:
            return None
        if base in by_lower:
            return by_lower[base]
        regional = sorted(name for lower, name in by_lower.items() if lower.startswith(base + "_"))
        return regional[0] if regional else None

    @cached_property
    def _catalogues(self) -> dict[str, Callable[[str], str | None]]:
        return {}

    def _catalogue(self, locale: str) -> Callable[[str], str | None]:
        """English text -> its translation in ``locale``, or None when the catalogue has none.

        None rather than the English text, so that a name spelt the same in both languages ("Bolivia"
        in Spanish) is told apart from a name the catalogue lacks.
        """
        if locale not in self._catalogues:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True)
            translation.add_fallback(_Untranslated())  # gettext hands out a copy: the cached one is untouched
            self._catalogues[locale] = translation.gettext
        return self._catalogues[locale]

    # -- indexes ---------------------------------------------------------------------------------

    @cached_property
    def _entries(self) -> tuple[tuple[str, str, bool], ...]:
        """(English text, alpha-2, is official name) for every country; plain and common names first."""
        names, officials = [], []
        for record in pycountry.countries:
            names.extend((v, record.alpha_2, False) for v in (getattr(record, "common_name", None), record.name) if v)
            official = getattr(record, "official_name", None)
            if official:
                officials.append((official, record.alpha_2, True))
        return tuple(names + officials)

    @cached_property
    def _short_forms(self) -> frozenset[str]:
        """Countries whose name's head is unambiguous ("Micronesia, Federated States of" -> "Micronesia").

        Not "Korea, Republic of" (two Koreas) nor "Congo, The Democratic Republic of the" (Congo is CG):
        those stay ambiguous in every language.
        """
        full = {_key(text) for text, _, _ in self._entries}
        heads: dict[str, set[str]] = {}
        for text, code, official in self._entries:
            if "," in text and not official:
                heads.setdefault(_key(text.split(",", 1)[0]), set()).add(code)
        return frozenset(next(iter(codes)) for head, codes in heads.items() if len(codes) == 1 and head not in full)

    @cached_property
    def _key_memo(self) -> dict[str, str]:
        return {}

    def _build(self, locale: str | None, official: bool | None = None) -> dict[str, str]:
        """Key -> alpha-2 from the names a catalogue translates (locale None: the English names).

        ``official`` picks the official names ("Federal Republic of Germany") only, or the plain and
        common ones only; None takes both, plain names first so they win a clash.
        """
        entries = [(text, code) for text, code, is_official in self._entries if official in (None, is_official)]
        if locale is None:
            pairs = entries
        else:
            translate = self._catalogue(locale)
            pairs = [(t, code) for text, code in entries if (t := translate(text)) is not None]
        memo = self._key_memo  # many languages share a spelling ("Ghana"): fold each text once
        missing = list(dict.fromkeys(text for text, _ in pairs if text not in memo))
        memo.update(zip(missing, _keys(missing)))
        index: dict[str, str] = {}
        for text, code in pairs:
            index.setdefault(memo[text], code)
        short_forms = self._short_forms
        for text, code in pairs:
            if code in short_forms and "," in text:
                index.setdefault(_key(text.split(",", 1)[0]), code)
        index.pop("", None)
        return index

    @cached_property
    def _aliases(self) -> dict[str, str]:
        return {_key(alias): code for code, aliases in ALIASES.items() for alias in aliases}

    @cached_property
    def _names(self) -> dict[str, str]:
        """Key -> alpha-2 for every English common, plain and official name."""
        return self._build(None)

    @cached_property
    def _by_language(self) -> dict[tuple[str, bool], dict[str, str]]:
        """(locale, official?) -> that part of the language's index, filled as the search reaches it."""
        return {}

    def _names_in(self, locale: str, official: bool = False) -> dict[str, str]:
        if (locale, official) not in self._by_language:
            self._by_language[locale, official] = self._build(locale, official)
        return self._by_language[locale, official]

    @cached_property
    def _search_order(self) -> tuple[tuple[str, bool], ...]:
        """The other languages' indexes in the order searched: on a clash the first one wins.

        The widely used languages come first, with their official names ("République fédérale
        d'Allemagne"); the other ~150 catalogues give their plain names only: official names in
        those languages are rarely typed, and would double the time the whole index takes to build.
        A requester's own language always gives both.
        """
        preferred = [lang for lang in _PREFERRED_LANGUAGES if lang in self.languages]
        return (*((lang, official) for lang in preferred for official in (False, True)),
                *((lang, False) for lang in self.languages if lang not in preferred))

    def _indexes(self, locale: str | None) -> Iterator[dict[str, str]]:
        """The indexes a name is looked up in, in order, each built only when the search reaches it:
        the requester's language, English, then the others; names in the first two never load the rest."""
        if locale is not None:
            yield self._names_in(locale)
            yield self._names_in(locale, official=True)
        yield self._names
        for other, official in self._search_order:
            yield self._names_in(other, official)

    def _lookup(self, key: str, locale: str | None) -> str | None:
        """The alpha-2 a key names; on a clash the first index wins."""
        return next((index[key] for index in self._indexes(locale) if key in index), None)

    # -- public API --------------------------------------------------------------------------------

    def _country(self, code: str) -> Country:
        record = pycountry.countries.get(alpha_2=code)
        return Country(code, getattr(record, "common_name", None) or record.name, self._regions.get(code))

    def by_code(self, value: str) -> Country:
        """Strict: an alpha-2 or alpha-3 code, any case."""
        text = (value or "").strip().upper()
        record = None
        if len(text) == 2:
            record = pycountry.countries.get(alpha_2=text)
        elif len(text) == 3:
            record = pycountry.countries.get(alpha_3=text)
        if record is None:
            raise UnknownCountryError(value)
        return self._country(record.alpha_2)

    def resolve(self, value: str, language: str | None = None) -> Country:
        """An alias ("UK"), a code ("GH", "GHA") or a name in any language, accents and case ignored.

        Names are looked up in the requester's ``language`` ("fr", "pt-BR"; None for unknown) first,
        then English, then the other languages pycountry translates; an unknown value raises
        ``UnknownCountryError`` with suggestions named in ``language``.
        """
        key = _key((value or "").strip())
        if key in self._aliases:
            return self._country(self._aliases[key])
        try:
            return self.by_code(value)
        except UnknownCountryError:
            pass
        code = self._lookup(key, self._locale(language)) if key else None
        if code is not None:
            return self._country(code)
        raise UnknownCountryError(value, self.suggest(value, language=language))

    def name(self, code: str, language: str | None = _ENGLISH) -> str:
        """The country's name in ``language`` ("CN", "fr" -> "Chine"); English when it has no translation."""
        record = pycountry.countries.get(alpha_2=self.by_code(code).code)
        locale = self._locale(language)
        if locale is not None:
            translate = self._catalogue(locale)
            for value in (getattr(record, "common_name", None), record.name):
                if value and (translated := translate(value)) is not None:
                    return translated
        return getattr(record, "common_name", None) or record.name

    def _fuzzy_choices(self, locale: str | None) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
        """What misspellings are compared with: the aliases, the names in ``locale`` and in English.

        Returns fuzzy key -> alpha-2, and word -> the countries whose names contain that word.
        """
        choices: dict[str, str] = {}
        for code, aliases in ALIASES.items():
            for alias in aliases:
                choices.setdefault(_fuzzy_key(alias), code)
        if locale is not None:
            translate = self._catalogue(locale)
            for text, code, _ in self._entries:
                if (translated := translate(text)) is not None:
                    choices.setdefault(_fuzzy_key(translated), code)
        for text, code, _ in self._entries:
            choices.setdefault(_fuzzy_key(text), code)
        choices.pop("", None)
        words: dict[str, set[str]] = {}
        for text, code in choices.items():
            for word in text.split():
                words.setdefault(word, set()).add(code)
        return choices, {word: frozenset(codes) for word, codes in words.items()}

    @cached_property
    def _fuzzy_by_language(self) -> dict[str | None, tuple[dict[str, str], dict[str, frozenset[str]]]]:
        return {}

    def suggest(self, value: str, limit: int = 3, language: str | None = None) -> tuple[str, ...]:
        """Countries close to a name that matched none, named in the requester's language.

        A misspelling ("Ghanna" -> Ghana, "Allemange" -> Allemagne) is compared with the aliases and
        the names in the requester's language and English; so is a name too short to tell two
        countries apart ("Korea" -> South Korea, North Korea), when its words belong to no more than
        ``_SHARED_WORD_COUNTRIES`` countries (never "Republic" or "Islands").
        """
        query = _fuzzy_key(value or "")
        if not query or limit < 1:
            return ()
        locale = self._locale(language)
        if locale not in self._fuzzy_by_language:
            self._fuzzy_by_language[locale] = self._fuzzy_choices(locale)
        choices, words = self._fuzzy_by_language[locale]
        scores: dict[str, float] = {}
        for text, score, _ in process.extract(query, list(choices), scorer=fuzz.token_sort_ratio,
                                              score_cutoff=_SUGGESTION_SCORE, limit=limit * 5):
            scores.setdefault(choices[text], score)
        tokens = query.split()
        if all(len(token) >= 3 for token in tokens):
            sharing = frozenset.intersection(*(words.get(token, frozenset()) for token in tokens))
            if len(sharing) <= _SHARED_WORD_COUNTRIES:
                for code in sorted(sharing, key=list(choices.values()).index):
                    scores[code] = max(scores.get(code, 0), _SHARED_WORD_SCORE)
        ranked = sorted(scores, key=lambda code: -scores[code])  # stable: ties keep their order
        return tuple(self.name(code, language) for code in ranked[:limit])


@cache
def shared_directory() -> CountryDirectory:
    """The directory the services of this process share. It reads only shipped tables, and fills its
    lookups on first use (a second or so of catalogues and names): one process, and every command forked
    from a warm process, pays for that once."""
    return CountryDirectory()
