"""The domain concept table: one labour-standards meaning, its words in English, French and Spanish.

``kb/data/concepts.toml`` (written by the team: about 500 concepts, 11,000 terms with inflections,
informal wording and frequent misspellings) lets the matcher see that "holiday entitlement", "congés
payés" and "vacaciones pagadas" mean the same thing, and that "walk off the job" is stopping work. Each
term is stemmed the way the matcher stems text; a text's concepts are the longest terms found in its
stems, left to right.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Sequence

#: Prefix of a concept in the matcher's terms (never shown as a shared word).
PREFIX = "c:"
#: A saved table is re-checked against the stemmer on this many of its terms when it is loaded.
CHECKED_TERMS = 60
CACHE_FORMAT = 1
#: The tables this process has stemmed or loaded, by the shipped file's key and the stemming function: a
#: table only reads its terms, so every analyser of the process (and every command forked from a warm
#: process) shares one.
_STEMMED: dict[tuple[str, object], "ConceptTable"] = {}


class ConceptTable:
    """Stemmed terms -> concept ids, per language."""

    def __init__(self, concepts: Iterable[dict], stem: Callable[[str, str], list[str]],
                 languages: Sequence[str] = ("en", "fr", "es")) -> None:
        #: (language, written term, its stems, concept id) for every term: what a saved table holds
        self._terms: list[tuple[str, str, tuple[str, ...], str]] = [
            (language, term, tuple(stem(term, language)), concept["id"])
            for concept in concepts for language in languages for term in concept.get(language, [])]
        #: The SHA-256 of the file the table was read from (the shipped one), for what depends on it.
        self.source: str | None = None
        self._index(languages)

    def _index(self, languages: Sequence[str]) -> None:
        #: language -> first stem -> (the lengths of the terms it starts, longest first; stems -> concept id).
        #: A term's stems listed twice keep the first concept in the file.
        self._starts: dict[str, dict[str, tuple[tuple[int, ...], dict[tuple[str, ...], str]]]] = {}
        grouped: dict[str, dict[str, dict[tuple[str, ...], str]]] = {lang: {} for lang in languages}
        for language, _term, stems, concept in self._terms:
            if stems and language in grouped:
                grouped[language].setdefault(stems[0], {}).setdefault(stems, concept)
        for language, table in grouped.items():
            self._starts[language] = {first: (tuple(sorted({len(t) for t in terms}, reverse=True)), terms)
                                      for first, terms in table.items()}
        self.size = sum(len(terms) for table in grouped.values() for terms in table.values())

    @classmethod
    def shipped(cls, stem: Callable[[str, str], list[str]], cache_dir: Path | None = None) -> "ConceptTable":
        """The team's table, stemmed. Stemming its 11,000 terms takes about a second, so with ``cache_dir``
        the stemmed table is saved there and reused while the table file is unchanged and the stemmer still
        stems a sample of its terms the same way (a changed tokenizer or stemmer rebuilds it)."""
        data = resources.files("kb").joinpath("data/concepts.toml").read_bytes()
        source = hashlib.sha256(data).hexdigest()
        key = f"{CACHE_FORMAT}-{source[:16]}"
        memo = (key, getattr(stem, "__func__", stem))  # an analyser's bound method: its function
        if memo in _STEMMED:
            return _STEMMED[memo]
        path = cache_dir / f"concepts-{key}.json" if cache_dir is not None else None
        table = cls._load(path, key, stem) if path is not None else None
        if table is None:
            table = cls(tomllib.loads(data.decode("utf-8"))["concept"], stem)
            if path is not None:
                table._save(path, key)
        table.source = source
        _STEMMED[memo] = table
        return table

    def _stems_like(self, stem: Callable[[str, str], list[str]]) -> bool:
        """Whether ``stem`` stems a sample of the table's terms as the table holds them."""
        step = max(1, len(self._terms) // CHECKED_TERMS)
        return all(tuple(stem(term, language)) == stems for language, term, stems, _ in self._terms[::step])

    @classmethod
    def _load(cls, path: Path, key: str, stem: Callable[[str, str], list[str]]) -> "ConceptTable | None":
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("key") != key:
                return None
            terms = [(language, term, tuple(stems), concept) for language, term, stems, concept in saved["terms"]]
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing, half-written or foreign: stem the table again
        table = cls.__new__(cls)
        table._terms = terms
        if not table._stems_like(stem):
            return None
        table._index(tuple(saved["languages"]))
        return table

    def _save(self, path: Path, key: str) -> None:
        """Written whole or not at all (a reader never sees half a table); a read-only folder is no error."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".concepts-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"key": key, "languages": list(self._starts), "terms": self._terms}, out,
                          ensure_ascii=False)
            os.replace(tmp, path)
        except OSError:
            pass

    def find(self, stems: Sequence[str], language: str) -> list[str]:
        """The concept ids in ``stems`` (a text's stems in ``language``), in order, each time it occurs."""
        table = self._starts.get(language)
        if not table:
            return []
        found: list[str] = []
        free = 0  # the first stem not inside a concept found already
        for i in [i for i, stem in enumerate(stems) if stem in table]:  # the few stems a term starts with
            if i < free:
                continue
            lengths, terms = table[stems[i]]
            for length in lengths:  # the longest term that is there
                concept = terms.get(tuple(stems[i:i + length]))
                if concept is not None:
                    found.append(concept)
                    free = i + length
                    break
        return found
