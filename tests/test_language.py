"""Language detection as requesters notice it: short chat lines, foreign emails, and the default."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from classifier.language import DATA_DIR, LanguageDetector, LanguageGuess, detect_language

SAMPLES = DATA_DIR / "language_samples.txt"
EXAMPLES = {code: DATA_DIR / f"examples_{code}.tsv" for code in ("en", "fr", "es")}
DEFAULTS = ("en", "fr", "es")


def samples() -> list[tuple[str, str]]:
    rows = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, _, text = line.partition("\t")
            rows.append((label, text.replace("\\n", "\n")))
    return rows


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector(("en", "fr", "es"))


# ---------------------------------------------------------------- what users reported
@pytest.mark.parametrize("default", DEFAULTS)
def test_passports_in_an_english_chat_is_never_taken_for_french(detector, default):
    guess = detector.detect("passports", default=default)
    assert guess.code == "en" or (guess.code == default and not guess.confident)
    assert not (guess.code == "fr" and guess.confident)


def test_a_czech_email_is_another_language():
    guess = detect_language("Dobrý den,\n\nnaše firma má 120 zaměstnanců v Brně. Musíme platit přesčasy i "
                            "vedoucím pracovníkům?\n\nS pozdravem\nMartin Dvořák\nředitel")
    assert not guess.supported and guess.code == "cs" and guess.language == "other"


@pytest.mark.parametrize("text", ["Wir brauchen Hilfe mit dem Arbeitsvertrag.", "Hallo, ist das erlaubt?"])
def test_a_short_german_line_is_another_language(detector, text):
    guess = detector.detect(text, default="en")
    assert not guess.supported and guess.code == "de" and guess.language == "other"


def test_a_french_one_liner_without_accents_is_french(detector):
    guess = detector.detect("est ce que mon patron peut garder mon passeport", default="en")
    assert guess.supported and guess.code == "fr" and guess.confident


def test_a_spanish_chat_line_is_spanish(detector):
    guess = detector.detect("cuantas horas extras puedo hacer por semana", default="en")
    assert guess.supported and guess.code == "es" and guess.confident


@pytest.mark.parametrize("default", DEFAULTS)
@pytest.mark.parametrize("text", ["ok", "OK!", "16", "?", ""])
def test_a_text_too_short_to_tell_takes_the_given_default(detector, text, default):
    guess = detector.detect(text, default=default)
    assert guess.code == default and guess.supported and not guess.confident
    assert guess.reason.startswith("too short to tell")


@pytest.mark.parametrize("text", ["Minimum age?", "hidden", "convention", "union"])
def test_a_short_english_query_is_never_refused_as_foreign(detector, text):
    """Read as another language, a query would be refused: one or two words are too few for that."""
    assert detector.detect(text, default="en").supported


@pytest.mark.parametrize(("text", "code"), [("merci", "fr"), ("gracias!!", "es"), ("hello?", "en"),
                                            ("salaire minimum", "fr"), ("horas extras", "es"), ("thanks", "en")])
@pytest.mark.parametrize("default", DEFAULTS)
def test_one_or_two_telling_words_beat_the_default(detector, text, code, default):
    guess = detector.detect(text, default=default)
    assert guess.code == code and guess.confident


def test_an_english_email_full_of_french_and_spanish_looking_words_and_names_is_english(detector):
    text = ("Hi, the supervisor at our Valencia plant says the union convention forbids night shifts for "
            "apprentices. Is that right?\n\nRegards,\nJosé García\nCompañía Textil del Levante")
    assert detector.detect(text, default="fr").code == "en"


def test_without_a_default_the_helpdesks_first_language_is_taken():
    assert LanguageDetector(("fr", "en", "es")).detect("ok").code == "fr"
    assert LanguageDetector(("en", "fr", "es"), default="es").detect("ok").code == "es"
    assert LanguageDetector(("en", "fr", "es")).detect("ok", default="de").code == "en"  # not ours: ignored


def test_the_guess_keeps_the_fields_callers_read():
    guess = LanguageGuess("de", 0.99, supported=False)
    assert (guess.code, guess.confidence, guess.supported, guess.confident, guess.language) == \
        ("de", 0.99, False, True, "other")


# ---------------------------------------------------------------- on the whole samples file
def test_the_samples_cover_every_length_and_the_other_languages():
    rows = samples()
    labels = Counter(label for label, _ in rows)
    assert len(rows) >= 300 and set(labels) == {"en", "fr", "es", "other"}
    assert min(labels.values()) >= 60
    assert sum(len(text.split()) <= 2 for _, text in rows) >= 60


@pytest.mark.parametrize("default", DEFAULTS)
def test_accuracy_on_the_samples_is_at_least_nine_in_ten_whatever_the_default(detector, default):
    right, seen = Counter(), Counter()
    for label, text in samples():
        for group in ("all", label):
            seen[group] += 1
            right[group] += detector.detect(text, default=default).language == label
    accuracy = {group: right[group] / seen[group] for group in seen}
    assert accuracy["all"] >= 0.9, accuracy
    assert min(accuracy.values()) >= 0.8, accuracy


def test_no_question_of_the_shipped_examples_is_refused_as_foreign(detector):
    wrong = []
    for code, path in EXAMPLES.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or "\t" not in line:
                continue
            text = line.split("\t", 1)[1]
            guess = detector.detect(text, default="en")
            if guess.code != code:
                wrong.append((code, guess.code, text))
    assert not [w for w in wrong if w[1] not in EXAMPLES], wrong
    assert len(wrong) <= 3, wrong


def test_the_probabilities_read_from_the_model_are_those_of_its_own_ranking(detector):
    """The detector reads its languages' and the best other language's probabilities straight from the model's
    columns; py3langid's public ``rank`` (every language, sorted) must give the same, on every sample and on
    texts with nothing to read."""
    identifier = detector._model()
    for text in [text for _, text in samples()] + ["", "12345", "¿?", "労働時間", "Привет", "ok ok ok"]:
        ranking = identifier.rank(text)
        mine = {code: 0.0 for code in detector.supported}
        other = ("und", 0.0)
        for code, p in ranking:
            if code in mine:
                mine[code] = float(p)
            elif p > other[1]:
                other = (code, float(p))
        assert detector.scores(text) == (mine, other), text


# ---------------------------------------------------------------- cost
def test_nothing_is_loaded_at_import_or_construction():
    code = ("import sys, classifier, classifier.language as l; d = l.LanguageDetector(); "
            "print('py3langid' in sys.modules, d._identifier is None, d._vocabulary is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["False", "True", "True"]


def test_a_short_text_takes_well_under_a_millisecond_once_loaded(detector):
    texts = [text for _, text in samples() if len(text.split()) <= 8]
    detector.detect("warm up")
    start = time.perf_counter()
    for text in texts:
        detector.detect(text)
    assert (time.perf_counter() - start) / len(texts) < 0.001
