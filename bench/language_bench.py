"""Language detection: the candidates compared on the helpdesk's own samples, in one run.

Run: ``python bench/language_bench.py`` (``--light`` skips lingua over all its
languages, which loads 1.3 GB in about 10 s; ``--errors NAME`` lists what a
candidate gets wrong; ``--default en`` scores with one default only).

Samples: ``classifier/data/language_samples.txt`` (``language<TAB>text``, the
language one of en/fr/es/other; ``\\n`` in a text is a line break). A text too
short to tell takes the caller's default, so every candidate is scored three
times, with the default en, fr and es, and the accuracy shown is the mean of the
three: a detector that guesses nothing and always answers the default cannot
score well by the luck of the default. "worst" is the accuracy with the least
favourable default. "refused" counts the English, French and Spanish samples read as
another language (the intake refuses those queries), with the default en. Time per text is measured after loading and warm-up, on
one core, with the default en; "+RSS" is the memory the loaded model added.

lingua-language-detector is used when it is installed (it is not a dependency
of the project: ``pip install lingua-language-detector``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier.language import DATA_DIR, LanguageDetector  # noqa: E402

SAMPLES = DATA_DIR / "language_samples.txt"
SUPPORTED = ("en", "fr", "es")
LABELS = ("en", "fr", "es", "other")
BUCKETS = ("1-2 words", "3-8 words", "9+ words")

#: A candidate: (text, default) -> one of LABELS.
Detect = Callable[[str, str], str]


def load_samples(path: Path = SAMPLES) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if label not in LABELS or not text:
            raise ValueError(f"{path.name}:{number}: expected 'en|fr|es|other<TAB>text'")
        rows.append((label, text.replace("\\n", "\n")))
    return rows


def bucket(text: str) -> str:
    n = len(text.split())
    return BUCKETS[0] if n <= 2 else BUCKETS[1] if n <= 8 else BUCKETS[2]


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


# ---------------------------------------------------------------- candidates
def previous_detector() -> Detect:
    """The detector before this change: the best of py3langid's 97 languages, foreign only when long and sure."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)

    def detect(text: str, default: str) -> str:
        ranking = identifier.rank(text)
        best_code, best_p = ranking[0]
        if best_code not in SUPPORTED and best_p >= 0.90 and sum(ch.isalpha() for ch in text) >= 20:
            return "other"
        scores = {code: p for code, p in ranking if code in SUPPORTED}
        return max(SUPPORTED, key=lambda c: scores.get(c, 0.0))
    return detect


def py3langid_restricted() -> Detect:
    """py3langid with ``set_languages(en, fr, es)``: can never say "other"."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED))
    return lambda text, default: identifier.classify(text)[0]


def py3langid_top() -> Detect:
    """py3langid over all its languages: the best one, "other" when it is not a helpdesk language."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)

    def detect(text: str, default: str) -> str:
        code = identifier.classify(text)[0]
        return code if code in SUPPORTED else "other"
    return detect


def py3langid_gate() -> Detect:
    """Restricted choice plus the "other" gate (prior 10), without the short-text rule or the helpdesk's words."""
    detector = LanguageDetector(SUPPORTED)

    def detect(text: str, default: str) -> str:
        mine, (_, other_p) = detector.scores(text)
        best = max(SUPPORTED, key=mine.__getitem__)
        return "other" if other_p > detector.other_prior * mine[best] else best
    return detect


def chosen(helpdesk_words: bool, short_other: float | None = None) -> Callable[[], Detect]:
    def load() -> Detect:
        detector = LanguageDetector(SUPPORTED, helpdesk_words=helpdesk_words)
        if short_other is not None:
            detector.short_other = short_other
        detector.detect("warm up")
        return lambda text, default: detector.detect(text, default=default).language
    return load


def _lingua_code(language) -> str:
    return language.iso_code_639_1.name.lower()


def lingua_builder(which: str):
    from lingua import Language, LanguageDetectorBuilder

    if which == "three":
        builder = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.FRENCH, Language.SPANISH)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
        if which == "all-low":
            builder = builder.with_low_accuracy_mode()
    return builder.with_preloaded_language_models().build()


def lingua_top(which: str) -> Callable[[], Detect]:
    def load() -> Detect:
        detector = lingua_builder(which)

        def detect(text: str, default: str) -> str:
            language = detector.detect_language_of(text)
            if language is None:
                return default
            code = _lingua_code(language)
            return code if code in SUPPORTED else "other"
        return detect
    return load


def lingua_with_rules() -> Detect:
    """lingua over all languages (high accuracy) giving the scores, this detector's rules deciding."""
    lingua = lingua_builder("all")

    class LinguaScored(LanguageDetector):
        other_prior = 3.0  # lingua's probabilities are sharper than py3langid's: its best prior on the samples

        def scores(self, text):
            mine = {code: 0.0 for code in self.supported}
            other = ("und", 0.0)
            for value in lingua.compute_language_confidence_values(text):
                code = _lingua_code(value.language)
                if code in mine:
                    mine[code] = value.value
                elif value.value > other[1]:
                    other = (code, value.value)
            return mine, other

    detector = LinguaScored(SUPPORTED)
    return lambda text, default: detector.detect(text, default=default).language


def candidates(light: bool) -> list[tuple[str, Callable[[], Detect]]]:
    out = [
        ("previous detector (py3langid, 97 languages)", previous_detector),
        ("py3langid set_languages(en,fr,es)", py3langid_restricted),
        ("py3langid 97 languages, top one", py3langid_top),
        ("py3langid restricted + other gate", py3langid_gate),
        ("chosen rules, function words only", chosen(helpdesk_words=False)),
        ("chosen rules, 1-2-word foreign texts kept", chosen(helpdesk_words=True, short_other=0.0)),
        ("CHOSEN: LanguageDetector", chosen(helpdesk_words=True)),
    ]
    try:
        import lingua  # noqa: F401
    except ImportError:
        print("(lingua-language-detector is not installed: its candidates are skipped)")
        return out
    out += [
        ("lingua en/fr/es (high accuracy)", lingua_top("three")),
        ("lingua all languages, low accuracy", lingua_top("all-low")),
    ]
    if not light:
        out += [
            ("lingua all languages, high accuracy", lingua_top("all")),
            ("lingua all + chosen rules (models loaded above)", lingua_with_rules),
        ]
    return out


# ---------------------------------------------------------------- scoring
def score(detect: Detect, rows: list[tuple[str, str]], defaults: tuple[str, ...]):
    """Mean accuracy per group over the defaults, the worst overall accuracy, the helpdesk-language
    samples read as foreign (which intake would refuse), and the errors (both with the first default)."""
    per_default = []
    errors = []
    for default in defaults:
        right, seen = Counter(), Counter()
        for label, text in rows:
            got = detect(text, default)
            for group in ("all", label, bucket(text)):
                seen[group] += 1
                right[group] += got == label
            if got != label and default == defaults[0]:
                errors.append((label, got, text))
        per_default.append({g: right[g] / seen[g] for g in seen})
    mean = {g: statistics.fmean(d[g] for d in per_default) for g in per_default[0]}
    worst = min(d["all"] for d in per_default)
    refused = sum(label != "other" and got == "other" for label, got, _ in errors)
    return mean, worst, refused, errors


def time_per_text(detect: Detect, rows: list[tuple[str, str]]) -> tuple[float, float]:
    """Mean milliseconds per text, over all samples and over the 1-2-word ones."""
    short = [t for _, t in rows if bucket(t) == BUCKETS[0]]
    result = []
    for texts in ([t for _, t in rows], short):
        start = time.perf_counter()
        for text in texts:
            detect(text, "en")
        result.append((time.perf_counter() - start) / len(texts) * 1000)
    return result[0], result[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", action="store_true", help="skip lingua over all languages in high accuracy")
    parser.add_argument("--errors", metavar="NAME", help="list the errors of the candidates whose name contains NAME")
    parser.add_argument("--default", choices=SUPPORTED, help="score with this default only")
    args = parser.parse_args(argv)
    rows = load_samples()
    defaults = (args.default,) if args.default else SUPPORTED
    counts = Counter(label for label, _ in rows)
    sizes = Counter(bucket(t) for _, t in rows)
    print(f"{len(rows)} samples: " + ", ".join(f"{counts[lb]} {lb}" for lb in LABELS) + "; "
          + ", ".join(f"{sizes[b]} of {b}" for b in BUCKETS)
          + f"; accuracy is the mean over the defaults {'/'.join(defaults)}\n")
    head = (f"{'candidate':44} {'all':>5} {'worst':>5} " + " ".join(f"{lb:>5}" for lb in LABELS) + " "
            + " ".join(f"{b.split()[0]:>5}" for b in BUCKETS) + f" {'refused':>7} {'ms/text':>8} {'ms/short':>8} {'load s':>6} {'+RSS MiB':>8}")
    print(head)
    print("-" * len(head))
    for name, load in candidates(args.light):
        before, start = rss_mib(), time.perf_counter()
        detect = load()
        detect("warm up", "en")
        load_s, added = time.perf_counter() - start, rss_mib() - before
        mean, worst, refused, errors = score(detect, rows, defaults)
        ms, ms_short = time_per_text(detect, rows)
        print(f"{name:44} {mean['all']:5.3f} {worst:5.3f} " + " ".join(f"{mean[lb]:5.3f}" for lb in LABELS) + " "
              + " ".join(f"{mean[b]:5.3f}" for b in BUCKETS) + f" {refused:7d} {ms:8.3f} {ms_short:8.3f} {load_s:6.2f} {added:8.0f}",
              flush=True)
        if args.errors and args.errors.lower() in name.lower():
            for label, got, text in errors:
                print(f"      {label:>5} -> {got:<5} {text[:70]!r}")
        del detect
    return 0


if __name__ == "__main__":
    sys.exit(main())
