"""One analyser for training and serving.

The same function turns a text into features when scikit-learn fits the model
and when the exported arrays score a query, so the two can never drift apart.
Features are prefixed by kind so that explanations can show the readable ones:

- ``w:child``        a word (accents folded, lower case, function words dropped)
- ``b:child labour`` two consecutive content words
- ``c:hil``          a character 3- to 5-gram inside a word, which lets the
  model recognise inflections it never saw (``licenciement``/``licenciements``,
  ``harassment``/``harassed``) with few examples.
"""

from __future__ import annotations

import re
import unicodedata

from classifier.stopwords import ALL as STOPWORDS

_TOKEN = re.compile(r"[a-z0-9]+")
_APOSTROPHE = re.compile(r"\b[ldjmnstc]qu?'|\b(?:qu|jusqu|lorsqu|puisqu)'", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower-case and strip accents (``Sécurité`` -> ``securite``), keeping letters and digits."""
    text = _APOSTROPHE.sub(" ", text.replace("\u2019", "'"))
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def content_words(text: str) -> list[str]:
    """Words that carry meaning: folded, without function words and one-letter tokens."""
    return [t for t in _TOKEN.findall(fold(text)) if len(t) > 1 and t not in STOPWORDS]


def features(text: str) -> list[str]:
    """Every feature of ``text``: words, word pairs and in-word character n-grams."""
    words = content_words(text)
    out = [f"w:{w}" for w in words]
    out.extend(f"b:{a} {b}" for a, b in zip(words, words[1:]))
    for w in words:
        padded = f"<{w}>"
        for n in (3, 4, 5):
            out.extend(f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1))
    return out


def is_readable(feature: str) -> bool:
    """Words and word pairs explain a decision; character n-grams do not."""
    return not feature.startswith("c:")


def readable(feature: str) -> str:
    """``w:child`` -> ``child``."""
    return feature[2:]


_SENTENCE_END = re.compile(r"(?<=[.?!;:])\s+|\n+")
#: A sentence with fewer content words than this is a greeting or a signature, not a question.
MIN_SENTENCE_WORDS = 3


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` that carry enough content to be scored on their own."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if len(content_words(p)) >= MIN_SENTENCE_WORDS]
