"""Countries (ISO 3166) and the ILO region each belongs to.

The region is never asked of a requester: it follows from the country, using
the table shipped in ``kb/data/ilo_regions.toml``. Country names and codes come
from pycountry, so the CLI's ``--country GH``, an email signature's "Ghana" and
a Telegram user's "Côte d'Ivoire" all resolve the same way.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import pycountry
from rapidfuzz import fuzz, process

from classifier.text import fold

REGIONS = ("Africa", "Americas", "Arab States", "Asia and the Pacific", "Europe and Central Asia")


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
    """Resolves codes and names to countries with their ILO region."""

    @cached_property
    def _regions(self) -> dict[str, str]:
        table = tomllib.loads(resources.files("kb").joinpath("data/ilo_regions.toml").read_text(encoding="utf-8"))
        return {code: region for region, codes in table.items() for code in codes.split()}

    @cached_property
    def _names(self) -> dict[str, str]:
        """Folded name -> alpha-2, for every common, official and plain name."""
        names: dict[str, str] = {}
        for c in pycountry.countries:
            for attr in ("name", "official_name", "common_name"):
                value = getattr(c, attr, None)
                if value:
                    names[fold(value)] = c.alpha_2
        return names

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

    def resolve(self, value: str) -> Country:
        """A code or a name; names match exactly (accents and case ignored), else raise with suggestions."""
        try:
            return self.by_code(value)
        except UnknownCountryError:
            pass
        key = fold((value or "").strip())
        if key in self._names:
            return self._country(self._names[key])
        raise UnknownCountryError(value, self.suggest(value))

    def suggest(self, value: str, limit: int = 3) -> tuple[str, ...]:
        """Closest country names to a misspelt one ("Ghanna" -> Ghana)."""
        hits = process.extract(fold(value or ""), list(self._names), scorer=fuzz.WRatio, limit=limit * 3)
        codes: list[str] = []
        for name, score, _ in hits:
            code = self._names[name]
            if score >= 70 and code not in codes:
                codes.append(code)
        return tuple(self._country(code).name for code in codes[:limit])
