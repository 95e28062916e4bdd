"""The topic model and the language detector, on their own (no store)."""

from __future__ import annotations


import numpy as np
import pytest

from classifier.evaluation import cross_validate
from classifier.language import LanguageDetector
from classifier.model import ExampleFileError, ModelFileError, TopicModel, load_examples, train_topic_model
from config.bootstrap import SHIPPED_EXAMPLES
from config.settings import DEFAULT_FILE, load_helpdesk_file

TOPICS = tuple(load_helpdesk_file(DEFAULT_FILE).topics)


@pytest.fixture(scope="module")
def examples():
    return load_examples(sorted(SHIPPED_EXAMPLES.glob("*.tsv")))


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector(("en", "fr", "es"))


def test_every_topic_has_at_least_30_examples_across_three_languages(examples):
    for code in TOPICS:
        mine = [e for e in examples if code in e.topics]
        assert len(mine) >= 30, code
        assert {e.language for e in mine} == {"en", "fr", "es"}, code


def test_saved_model_predicts_exactly_as_the_trained_one(trained_model_path, tmp_path):
    model = TopicModel.load(trained_model_path)
    copy = tmp_path / "copy.npz"
    model.save(copy)
    again = TopicModel.load(copy)
    text = "Les travailleurs migrants paient des frais de recrutement et leurs passeports sont confisqués."
    assert [(s.code, round(s.confidence, 6)) for s in model.predict(text)] == \
        [(s.code, round(s.confidence, 6)) for s in again.predict(text)]
    assert model.predict(text)[0].code == "forced_labour"


def test_confidences_are_probabilities_and_explained_by_words(trained_model_path):
    scores = TopicModel.load(trained_model_path).predict("Is mandatory overtime allowed at night in our factory?")
    assert all(0.0 <= s.confidence <= 1.0 for s in scores)
    assert scores[0].code == "working_time" and "overtime" in scores[0].evidence


def test_a_corrupt_model_file_is_reported_not_loaded(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="cannot read the topic model"):
        TopicModel.load(bad)


def test_a_malformed_example_line_names_its_file_and_line(tmp_path):
    path = tmp_path / "examples_en.tsv"
    path.write_text("osh\tWhat about helmets?\nno tab on this line\n", encoding="utf-8")
    with pytest.raises(ExampleFileError, match="examples_en.tsv:2"):
        load_examples([path])


def test_cross_validated_topic_accuracy_is_far_above_chance(examples):
    """On questions held out of training, the first topic is right most of the time (chance: 1 in 14)."""
    report = cross_validate(examples, TOPICS, threshold=0.4, folds=3)
    assert report.top1_accuracy > 0.6
    assert set(report.top1_by_language) >= {"en", "fr", "es"}


def test_training_is_deterministic(examples):
    sample = examples[::3]
    a, b = train_topic_model(sample, TOPICS), train_topic_model(sample, TOPICS)
    assert np.allclose(a.weights, b.weights) and a.trained_on == b.trained_on


@pytest.mark.parametrize(("text", "code"), [
    ("Can we employ 16-year-olds in our packaging plant?", "en"),
    ("Pouvons-nous employer des jeunes de 16 ans dans notre usine ?", "fr"),
    ("¿Podemos contratar a menores de 16 años en nuestra planta?", "es"),
])
def test_the_three_helpdesk_languages_are_recognised(detector, text, code):
    guess = detector.detect(text)
    assert guess.supported and guess.code == code


def test_a_long_text_in_another_language_is_unsupported(detector):
    guess = detector.detect("Dürfen wir sechzehnjährige Jugendliche in unserem Verpackungswerk beschäftigen?")
    assert not guess.supported and guess.code == "de"


def test_a_short_ambiguous_text_is_not_rejected(detector):
    assert detector.detect("salaire minimum").supported
