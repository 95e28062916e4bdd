"""Which language a query is written in: one of the helpdesk's languages, or another one.

Uses py3langid, whose model ships inside the wheel (nothing is downloaded).
Loading it costs about half a second, so it is loaded once, on first use, by
the ``LanguageDetector`` that the caller owns: nothing is built at import time.

Short texts are where detectors go wrong ("passports" reads as French to a
model of 97 languages), so the decision has four steps, each named in the
guess's ``reason``:

0. **Another script.** When most letters of the text are in a script none of the helpdesk's
   languages is written in (Hangul, kana and Han, Cyrillic, Arabic... for English, French and
   Spanish), it is another language, however short: "労働時間" is no English word the
   model is unsure about. ``code`` is the model's best other language.
1. **Too short to tell.** Fewer than ``MIN_LETTERS`` letters ("ok", "?"):
   the caller's default (the chat's or the helpdesk's language), with
   ``confident=False``.
2. **Another language?** One pass of py3langid over all its languages. The
   text is declared *other* (``supported=False``, ``code`` the language read,
   e.g. ``"de"``) only when that language is more than ``OTHER_PRIOR`` times as
   likely as the best helpdesk language: a query is far likelier to be in one of
   the helpdesk's languages than in any given other one, and this prior is what
   keeps "passports" or "supervisor" from being called Catalan or Latin. A
   text of one or two words must moreover be at least ``SHORT_OTHER``
   probable in that language ("Dziękuję" is; "Mindestlohn" is not sure
   enough and takes the default, unconfidently), since a query read as
   foreign is refused.
3. **Which helpdesk language.** The same scores restricted to the helpdesk's
   languages (what ``set_languages`` would give). A text of one or two words
   is decided by the model only when it is at least ``SURE`` probable.
4. **The helpdesk's own words break ties.** Words found in exactly one
   language's function words (``classifier/stopwords.py``) or shipped
   example questions (``classifier/data/examples_<code>.tsv``): "merci",
   "hola", "hello", "passports", "horas". They decide a one- or two-word
   text, and a text of up to ``TIE_WORDS`` words where the model is unsure.
   A short text that neither the model nor these words can decide takes the
   default with ``confident=False``.

``bench/language_bench.py`` compares this with the alternatives on
``classifier/data/language_samples.txt``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from classifier.stopwords import ENGLISH, FRENCH, SPANISH
from classifier.text import fold

#: Fewer letters than this ("ok", "?!", "16") cannot be told apart: the caller's default is taken.
MIN_LETTERS = 3
#: A text of at most this many words is short: the model decides it alone only when sure.
SHORT_WORDS = 2
#: Probability (among the helpdesk's languages) from which the model alone decides a short text.
SURE = 0.8
#: Up to this many words, the helpdesk's own words break a tie the model is unsure about.
TIE_WORDS = 8
#: A text of at most SHORT_WORDS words is called another language only from this probability (likelier
#: than all the others together): refusing "Minimum age?" as Latin costs more than answering "Mindestlohn" in
#: the default language.
SHORT_OTHER = 0.5
#: How much likelier than any one other language a helpdesk language is taken to be beforehand.
OTHER_PRIOR = 10.0
#: From this share of its letters in a script none of the helpdesk's languages uses, a text is another language.
OTHER_SCRIPT_SHARE = 0.3
#: The script each language is written in (by the first word of its letters' Unicode names); unlisted: Latin.
SCRIPTS = {"ar": "ARABIC", "fa": "ARABIC", "ur": "ARABIC", "ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC",
           "sr": "CYRILLIC", "mk": "CYRILLIC", "el": "GREEK", "he": "HEBREW", "hi": "DEVANAGARI", "th": "THAI",
           "ko": "HANGUL", "ja": "CJK", "zh": "CJK"}

DATA_DIR = Path(__file__).parent / "data"
_FUNCTION_WORDS = {"en": ENGLISH, "fr": FRENCH, "es": SPANISH}
_WORD = re.compile(r"[^\W\d_]+")
#: A capitalised word inside a sentence: a name (Peru, Acme), which tells nothing of the language.
_NAME = re.compile(r"(?<![.?!:\n]\s)(?<!^)(?<=\s)[^\W\d_a-z][^\W\d_]*")
#: Words shorter than this in the example questions are not telling enough to vote.
_MIN_EXAMPLE_WORD = 3


@dataclass(frozen=True)
class LanguageGuess:
    """The language chosen, how sure the detector is, and whether we answer in it.

    ``code`` is a helpdesk language when ``supported``; otherwise the language
    read (``"de"``, ``"pt"``…). ``confident`` is False when the text was too
    short or ambiguous to tell and ``code`` is the caller's default (or the
    model's unsure best guess); ``reason`` says which step decided.
    """

    code: str
    confidence: float
    supported: bool
    confident: bool = True
    reason: str = ""

    @property
    def language(self) -> str:
        """The helpdesk language, or ``"other"``."""
        return self.code if self.supported else "other"


def words_of(text: str) -> list[str]:
    """The words of ``text``, folded (lower case, no accents, no elided articles); numbers are not words."""
    return _WORD.findall(fold(text))


def helpdesk_vocabulary(codes: Sequence[str], data_dir: Path | None = DATA_DIR) -> dict[str, str]:
    """Word -> language, for words used in exactly one of the languages ``codes``.

    Drawn from the shipped function words and, unless ``data_dir`` is None, the
    example questions of each language there (a missing file only means fewer
    words), leaving out names: words capitalised inside a sentence.
    """
    seen: dict[str, set[str]] = {}
    for code in codes:
        mine = set(_FUNCTION_WORDS.get(code, ()))
        path = data_dir / f"examples_{code}.tsv" if data_dir is not None else None
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("#") or "\t" not in line:
                    continue
                text = line.split("\t", 1)[1]
                names = {fold(m.group()) for m in _NAME.finditer(text)}
                mine.update(w for w in words_of(text) if len(w) >= _MIN_EXAMPLE_WORD and w not in names)
        for word in mine:
            seen.setdefault(word, set()).add(code)
    return {word: next(iter(codes_)) for word, codes_ in seen.items() if len(codes_) == 1}


class LanguageDetector:
    """Detects whether a text is in one of the helpdesk's languages, and which, or in another one.

    ``default`` is the language a text too short to tell takes when the caller
    gives none to ``detect`` (the helpdesk's first language unless said).
    ``helpdesk_words=False`` leaves out the example questions' vocabulary
    (the function words still break ties).
    """

    other_prior = OTHER_PRIOR
    short_other = SHORT_OTHER

    def __init__(self, supported: Sequence[str] = ("en", "fr", "es"), default: str | None = None,
                 *, helpdesk_words: bool = True, cache_dir: Path | None = None) -> None:
        self.supported = tuple(supported)
        self.default = default if default in self.supported else self.supported[0]
        self._helpdesk_words = helpdesk_words
        #: Where the unpacked py3langid model is kept (see ``unpacked_model``); None: unpack in memory.
        self._cache_dir = cache_dir
        self._identifier = None
        self._vocabulary: dict[str, str] | None = None
        self._column_map: tuple | None = None

    def _model(self):
        if self._identifier is None:
            from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

            packed = MODEL_DIR / MODEL_FILE
            info = packed.stat()
            key = (str(packed), info.st_size, info.st_mtime_ns)
            shared = _IDENTIFIERS.get(key)
            if shared is not None:
                self._identifier = shared
                return shared
            arrays = unpacked_model(packed, self._cache_dir) if self._cache_dir is not None else None
            if arrays is None:
                self._identifier = LanguageIdentifier.from_modelpath(packed, norm_probs=True)
            else:
                ptc, pc, classes, nextmove, row, output = arrays
                self._identifier = LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
                _IDENTIFIERS.clear()
                _IDENTIFIERS[key] = self._identifier  # mapped, not read: shared by the process's detectors
        return self._identifier

    def _words(self) -> dict[str, str]:
        if self._vocabulary is None:
            self._vocabulary = helpdesk_vocabulary(self.supported, DATA_DIR if self._helpdesk_words else None)
        return self._vocabulary

    def scores(self, text: str) -> tuple[dict[str, float], tuple[str, float]]:
        """The probability of each helpdesk language and the likeliest other language, in one pass.

        Restricting the probabilities to the helpdesk's languages and
        renormalising is what py3langid's ``set_languages`` computes.
        """
        identifier = self._model()
        probabilities = identifier._decide(text)  # per column of the model, as ``rank`` reads them, unsorted
        mine_columns, other_codes, others = self._columns(identifier)
        mine = {code: (float(probabilities[column]) if column >= 0 else 0.0) for code, column in mine_columns}
        best = int(probabilities[others].argmax()) if len(others) else -1
        other_p = float(probabilities[others[best]]) if best >= 0 else 0.0
        return mine, ((other_codes[best], other_p) if other_p > 0.0 else ("und", 0.0))

    def _columns(self, identifier) -> tuple[list[tuple[str, int]], list[str], Sequence[int]]:
        """Where the model's probabilities are read: each helpdesk language's column (-1: the model lacks it),
        and the other languages' codes and columns (the first column of a language the model lists twice holds
        its probability, as in ``rank``)."""
        if self._column_map is None or self._column_map[0] is not identifier:
            import numpy as np

            first: dict[str, int] = {}
            for column, code in enumerate(identifier.nb_classes):
                first.setdefault(code, column)
            other_codes = [code for code in first if code not in self.supported]
            self._column_map = (identifier, [(code, first.get(code, -1)) for code in self.supported], other_codes,
                                np.array([first[code] for code in other_codes], dtype=np.intp))
        return self._column_map[1:]

    def vote(self, words: Sequence[str]) -> str | None:
        """The helpdesk language most of the telling words belong to, if one clearly leads."""
        vocabulary = self._words()
        counts: dict[str, int] = {}
        for word in set(words):
            code = vocabulary.get(word)
            if code is not None:
                counts[code] = counts.get(code, 0) + 1
        if not counts:
            return None
        ranked = sorted(counts.values(), reverse=True)
        if len(ranked) > 1 and ranked[0] == ranked[1]:
            return None
        return max(counts, key=counts.__getitem__)

    def foreign_script(self, text: str) -> str | None:
        """The script most of ``text``'s letters are in, when none of the helpdesk's languages uses it."""
        own = {SCRIPTS.get(code, "LATIN") for code in self.supported}
        if "LATIN" in own and text.isascii():  # every letter Latin (most mail): nothing to count
            return None
        counts: dict[str, int] = {}
        for ch, times in Counter(text).items():  # each distinct character once, in order of first appearance
            if ch.isalpha():
                script = _script(ch)
                counts[script] = counts.get(script, 0) + times
        letters = sum(counts.values())
        if not letters:
            return None
        other = {s: n for s, n in counts.items() if s not in own}
        if not other or sum(other.values()) / letters < OTHER_SCRIPT_SHARE:
            return None
        return max(other, key=other.__getitem__)

    def detect(self, text: str, default: str | None = None) -> LanguageGuess:
        """The language of ``text``; ``default`` (else the detector's) when it is too short to tell."""
        fallback = default if default in self.supported else self.default
        foreign = self.foreign_script(text)
        if foreign is not None:
            _, (other_code, other_p) = self.scores(text)
            return LanguageGuess(other_code if other_code != "und" else foreign.lower(), other_p, False,
                                 reason=f"written in {foreign.lower()} script")
        if sum(map(str.isalpha, text)) < MIN_LETTERS:
            return LanguageGuess(fallback, 0.0, True, confident=False, reason="too short to tell")
        mine, (other_code, other_p) = self.scores(text)
        words = words_of(text)
        short = len(words) <= SHORT_WORDS
        vote = self.vote(words) if len(words) <= TIE_WORDS else None
        best = max(self.supported, key=mine.__getitem__)
        if other_p > self.other_prior * mine[best] and not (short and vote):
            if not short or other_p >= self.short_other:
                return LanguageGuess(other_code, other_p, False, reason=f"reads as {other_code}")
            return LanguageGuess(fallback, 0.0, True, confident=False,
                                 reason=f"too short to tell (reads a little like {other_code})")
        total = sum(mine.values())
        share = {code: (p / total if total else 0.0) for code, p in mine.items()}
        if short and vote:
            return LanguageGuess(vote, share[vote], True, reason="helpdesk words")
        if share[best] >= SURE:
            return LanguageGuess(best, share[best], True, reason="language model")
        if vote:
            return LanguageGuess(vote, share[vote], True, reason="helpdesk words break the tie")
        if short or not total:
            return LanguageGuess(fallback, share.get(fallback, 0.0), True, confident=False,
                                 reason="too short to tell")
        return LanguageGuess(best, share[best], True, confident=False, reason="language model, unsure")


def _script(ch: str) -> str:
    """A letter's script, by the first word of its Unicode name; kana and Han count as one (CJK)."""
    if ch.isascii():
        return "LATIN"
    name = unicodedata.name(ch, "UNKNOWN")
    first = name.split(" ", 1)[0]
    if first in ("HIRAGANA", "KATAKANA", "CJK", "HALFWIDTH", "FULLWIDTH") and not name.startswith(
            ("FULLWIDTH LATIN", "HALFWIDTH HANGUL")):
        return "CJK"
    if name.startswith("FULLWIDTH LATIN"):
        return "LATIN"
    return first


def detect_language(text: str, supported: Sequence[str] = ("en", "fr", "es"),
                    default: str | None = None) -> LanguageGuess:
    """One-off detection; long-running callers should keep a ``LanguageDetector``."""
    return LanguageDetector(supported).detect(text, default=default)


#: py3langid's model mapped from the cache folder, by the packed file's identity: it only reads its arrays,
#: so every detector of the process (and every command forked from a warm process) shares it.
_IDENTIFIERS: dict[tuple, object] = {}
#: The arrays of py3langid's model, in the order ``LanguageIdentifier`` takes them.
MODEL_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def unpacked_model(packed: Path, cache_dir: Path):
    """py3langid's model as memory-mapped arrays, unpacked once into ``cache_dir``.

    The wheel ships the model LZMA-compressed (4 MB, 68 MB unpacked): decompressing
    it costs a one-shot command about half a second. Unpacked into plain ``.npy``
    files, it is mapped instead of read, and only the pages a text touches are
    loaded. The folder is named after the packed file's size and time, so an
    upgraded py3langid unpacks its own model. None when the folder cannot be used.
    """
    import numpy as np

    stat = packed.stat()
    folder = cache_dir / f"py3langid-{stat.st_size}-{int(stat.st_mtime)}"
    try:
        if not (folder / "complete").exists():
            _unpack(packed, folder)
        a = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in MODEL_ARRAYS}
    except (OSError, ValueError):
        return None
    # The state machine is walked one byte at a time from Python: read through a memoryview, each step yields a
    # plain int (a memory map's indexing runs Python code of numpy's at every step, eight times slower).
    return (a["ptc"], a["pc"], a["classes"].tolist(), memoryview(a["nextmove"]),
            a["nextmove_row"].astype(np.int64).tolist(), a["out_feat"].tolist())


def _unpack(packed: Path, folder: Path) -> None:
    """Each array written to its own file, then ``complete`` last: a reader never maps a half-written model."""
    import lzma
    import os
    import tempfile

    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(suffix=".npz") as npz:
        with lzma.open(packed) as source:
            while chunk := source.read(1 << 20):
                npz.write(chunk)
        npz.seek(0)
        with np.load(npz, allow_pickle=False) as data:
            for name in MODEL_ARRAYS:
                fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
                with os.fdopen(fd, "wb") as out:
                    np.save(out, data[name], allow_pickle=False)
                os.replace(tmp, folder / f"{name}.npy")
    (folder / "complete").touch()
