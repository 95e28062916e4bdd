"""The domain concept table: one labour-standards meaning, its words in English, French and Spanish.

``kb/data/concepts.toml`` (written by the team: about 500 concepts, 11,000 terms with inflections,
informal wording and frequent misspellings) lets the matcher see that "holiday entitlement", "congés
payés" and "vacaciones pagadas" mean the same thing, and that "walk off the job" is stopping work. Each
term is stemmed the way the matcher stems text; a text's concepts are the longest terms found in its
stems, left to right.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Callable, Iterable, Sequence

#: Prefix of a concept in the matcher's terms (never shown as a shared word).
PREFIX = "c:"


class ConceptTable:
    """Stemmed terms -> concept ids, per language."""

    def __init__(self, concepts: Iterable[dict], stem: Callable[[str, str], list[str]],
                 languages: Sequence[str] = ("en", "fr", "es")) -> None:
        #: language -> first stem -> [(stems of the term, concept id)], longest terms first
        self._starts: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {lang: {} for lang in languages}
        for concept in concepts:
            for language in languages:
                for term in concept.get(language, []):
                    stems = tuple(stem(term, language))
                    if stems:
                        self._starts[language].setdefault(stems[0], []).append((stems, concept["id"]))
        for table in self._starts.values():
            for candidates in table.values():
                candidates.sort(key=lambda item: -len(item[0]))
        self.size = sum(len(c) for table in self._starts.values() for c in table.values())

    @classmethod
    def shipped(cls, stem: Callable[[str, str], list[str]]) -> "ConceptTable":
        text = resources.files("kb").joinpath("data/concepts.toml").read_text(encoding="utf-8")
        return cls(tomllib.loads(text)["concept"], stem)

    def find(self, stems: Sequence[str], language: str) -> list[str]:
        """The concept ids in ``stems`` (a text's stems in ``language``), in order, each time it occurs."""
        table = self._starts.get(language)
        if not table:
            return []
        found: list[str] = []
        i, n = 0, len(stems)
        while i < n:
            step = 1
            for term, concept in table.get(stems[i], ()):
                if tuple(stems[i:i + len(term)]) == term:
                    found.append(concept)
                    step = len(term)
                    break
            i += step
        return found
