"""The matcher's analyser reads a text a piece (between white space) at a time and remembers each piece's stems;
what it finds must be exactly what analysing the whole text at once finds, whatever the text holds."""

from __future__ import annotations

import random

import pytest
import snowballstemmer

from classifier.text import _APOSTROPHE, content_words, elide, piece_words
from kb import match_build
from kb.matching import STEMMERS, Analyser

HOSTILE = [
    "L\u2019employeur doit-il payer les heures supplémentaires qu\u2019il a demandées jusqu'à présent ?",
    "¿Qué pasa con el salario mínimo\u00a0en la maquila? ÉTÉ, œuvre, cœur, Straße, İstanbul, ﬁnance ½ x²",
    "Workers' rights: can't we stop unpaid overtime?! e-mail: hr@example.com (2024/25) — ‘quoted’",
    "a\u0301ccent at the start \u0301of a piece, ¨diaeresis, 𝐛𝐨𝐥𝐝 𝔣𝔯𝔞𝔨𝔱𝔲𝔯 and ǅungla, ﬀ ligature",
    "Qu'est-ce que LORSQU'IL PUISQU'ON s'il n'est d'abord q'x lqu'y \u2028line\u2029para\x1cfs\x85nel",
    "",
    "   \t\n",
]


def random_texts(count: int) -> list[str]:
    rng = random.Random(5)
    alphabet = "abcdeéèàçñüœßİıǅﬁ½²'\u2019 \u00a0\t\n-.,?¿!¡()/\u0301\u0308𝐛𝔣qQuU"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(count)]


@pytest.mark.parametrize("text", HOSTILE + random_texts(300))
def test_a_text_read_piece_by_piece_gives_the_words_of_the_whole(text):
    pieces = [word for piece in elide(text).split() for word in piece_words(piece)]
    assert pieces == content_words(text)


@pytest.mark.parametrize("text", HOSTILE + random_texts(300))
def test_elisions_are_cut_as_the_pattern_cuts_them(text):
    plain = text.replace("\u2019", "'")
    assert elide(text) == _APOSTROPHE.sub(" ", plain)


def test_the_analyser_stems_what_it_remembers_as_it_stems_afresh(monkeypatch):
    monkeypatch.setattr(match_build, "REMEMBERED_PIECES", 5)  # forgets and starts afresh many times
    analyser = Analyser()
    stemmers = {code: snowballstemmer.stemmer(name) for code, name in STEMMERS.items()}
    for text in HOSTILE * 3 + random_texts(50):
        for language in ("en", "fr", "es", "de"):
            expected = content_words(text)
            if language in stemmers:
                expected = stemmers[language].stemWords(expected)
            assert analyser.stems(text, language) == expected


def test_the_stems_are_the_snowball_algorithms_own_whichever_implementation_runs():
    """snowballstemmer hands its work to PyStemmer (C, a dependency, thirty times faster) when it is installed:
    the stems must be the pure-Python algorithms' on every word the shipped texts hold, and on hostile ones."""
    from importlib import import_module
    from pathlib import Path

    import Stemmer

    assert isinstance(snowballstemmer.stemmer("english"), Stemmer.Stemmer), "PyStemmer missing: stemming is slow"
    root = Path(__file__).resolve().parent.parent
    texts = [p.read_text(encoding="utf-8") for folder in ("classifier/data", "kb/data")
             for p in sorted((root / folder).iterdir()) if p.suffix in {".tsv", ".txt", ".toml", ".jsonl"}]
    words = sorted({w for text in texts + HOSTILE + random_texts(300) for w in content_words(text)})
    assert len(words) > 5_000
    for name in STEMMERS.values():
        pure = getattr(import_module(f"snowballstemmer.{name}_stemmer"), f"{name.capitalize()}Stemmer")()
        assert snowballstemmer.stemmer(name).stemWords(words) == pure.stemWords(words), name
