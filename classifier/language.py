"""Which language a query is written in.

Uses py3langid, whose model ships inside the wheel (nothing is downloaded).
Loading it costs about half a second, so it is loaded once, on first use, by
the ``LanguageDetector`` that the caller owns: nothing is built at import time.

Short texts are ambiguous ("salaire minimum" could be several languages), so the
detector only declares a text *unsupported* when it is long enough and clearly
in another language; otherwise it picks the most likely supported language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

#: Below this many letters a text is too short to call it foreign with confidence.
MIN_LETTERS_TO_REJECT = 20
#: Probability from which another language wins over the supported ones.
FOREIGN_CONFIDENCE = 0.90


@dataclass(frozen=True)
class LanguageGuess:
    """The language chosen, how sure the detector is, and whether we answer in it."""

    code: str
    confidence: float
    supported: bool


class LanguageDetector:
    """Detects the language of short texts among all languages py3langid knows."""

    def __init__(self, supported: Sequence[str] = ("en", "fr", "es")) -> None:
        self.supported = tuple(supported)
        self._identifier = None

    def _model(self):
        if self._identifier is None:
            from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

            self._identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
        return self._identifier

    def detect(self, text: str) -> LanguageGuess:
        ranking = self._model().rank(text)
        best_code, best_p = ranking[0]
        letters = sum(ch.isalpha() for ch in text)
        if best_code not in self.supported and best_p >= FOREIGN_CONFIDENCE and letters >= MIN_LETTERS_TO_REJECT:
            return LanguageGuess(best_code, float(best_p), supported=False)
        scores = {code: p for code, p in ranking if code in self.supported}
        code = max(self.supported, key=lambda c: scores.get(c, 0.0))
        total = sum(scores.values()) or 1.0
        return LanguageGuess(code, float(scores.get(code, 0.0) / total), supported=True)


def detect_language(text: str, supported: Sequence[str] = ("en", "fr", "es")) -> LanguageGuess:
    """One-off detection; long-running callers should keep a ``LanguageDetector``."""
    return LanguageDetector(supported).detect(text)
