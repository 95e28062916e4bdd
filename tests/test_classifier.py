"""The topic model and the language detector, on their own (no store)."""

from __future__ import annotations


import json

import numpy as np
import pytest

from classifier.evaluation import cross_validate, realistic_messages
from classifier.language import LanguageDetector
from classifier.model import (
    ExampleFileError,
    LabelledExample,
    ModelFileError,
    TopicModel,
    load_examples,
    select_topics,
    train_topic_model,
)
from classifier.text import message_parts
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


def test_served_confidences_calibrate_the_very_figures_calibration_was_fitted_on(trained_model_path):
    """Serving computes a message's calibration in plain floats; training fits it on ``_features``' arrays:
    both must be the one rule (a confidence may differ in its last bits), most likely first."""
    model = TopicModel.load(trained_model_path)
    texts = ["Is mandatory overtime allowed at night in our factory?",
             "Hello,\n\nWe source cocoa in Ghana. Can children help on family farms after school?\n\nThanks,\nAna",
             "¿Podemos despedir a una trabajadora embarazada?", "Bonjour", "", "zzz qqq"]
    for text in texts:
        figures = model._features(text)[0]
        expected = 1.0 / (1.0 + np.exp(-(figures @ model.combine + model.bias)))
        scores = model.predict(text)
        served = {s.code: s.confidence for s in scores}
        assert sorted(served) == sorted(model.topics), text
        assert np.allclose([served[code] for code in model.topics], expected, rtol=1e-12, atol=0.0), text
        confidences = [s.confidence for s in scores]  # most likely first
        assert confidences == sorted(confidences, reverse=True), text


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


def test_a_model_file_of_an_older_format_is_refused_with_a_clear_error(trained_model_path, tmp_path):
    """A model saved before whole-message aggregation (format 2, per-topic Platt) is not served: it is retrained."""
    with np.load(trained_model_path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "format": 2}))
    old = tmp_path / "old.npz"
    np.savez_compressed(old, **arrays)
    with pytest.raises(ModelFileError, match="model format 2, expected 3"):
        TopicModel.load(old)


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


# ------------------------------------------------------------------ whole messages, as users write them
THRESHOLD, MAX_TOPICS = 0.40, 3  # config/helpdesk.toml [classifier]


def chosen(model: TopicModel, text: str) -> dict[str, float]:
    return {s.code: s.confidence for s in select_topics(model.predict(text), threshold=THRESHOLD,
                                                        max_topics=MAX_TOPICS)}


def confidence(model: TopicModel, text: str, code: str) -> float:
    return next(s.confidence for s in model.predict(text) if s.code == code)


DAY_CARE_EMAIL = """Subject: Overtime during peak season

Dear ILO Helpdesk,

I hope this message finds you well. We are a garment manufacturer in Bangladesh with 800 workers, most of them women.
We also run a day-care for the children of workers next to the factory.
During the export season our sewing lines work 12-hour shifts, six days a week, and supervisors say the overtime is
voluntary, but workers who refuse are moved to other lines.
How many hours of overtime are acceptable under ILO standards, and is there a weekly limit?

Thank you in advance for your guidance.
Kind regards,
Rahim Uddin
Compliance Manager, Dhaka Garments Ltd.
This e-mail is confidential and intended solely for the addressee.
"""


def test_an_aside_about_a_day_care_for_workers_children_does_not_make_an_overtime_email_about_child_labour(
        trained_model_path):
    model = TopicModel.load(trained_model_path)
    scores = model.predict(DAY_CARE_EMAIL)
    assert scores[0].code == "working_time"
    assert "overtime" in scores[0].evidence
    assert "child_labour" not in chosen(model, DAY_CARE_EMAIL)
    assert confidence(model, DAY_CARE_EMAIL, "child_labour") < THRESHOLD


def test_night_shifts_alone_is_about_working_time_not_child_labour_at_high_confidence(trained_model_path):
    model = TopicModel.load(trained_model_path)
    scores = model.predict("night shifts")
    assert scores[0].code in {"working_time", "osh"}
    assert confidence(model, "night shifts", "child_labour") < 0.8


def test_an_email_asking_about_overtime_pay_and_a_union_keeps_both_topics(trained_model_path):
    model = TopicModel.load(trained_model_path)
    email = """Hello,

Our warehouse staff regularly work 10 hours of overtime a week, paid at the normal hourly rate.
Must overtime be paid at a higher rate?
Also, some workers want to form a union and management is unsure whether to recognise it.
Can we refuse to meet their representatives?

Best regards,
Ana Silva
Warehouse Manager
"""
    topics = chosen(model, email)
    assert "freedom_of_association" in topics
    assert {"wages", "working_time"} & set(topics)


def test_the_quoted_reply_below_a_follow_up_question_does_not_decide_its_topic(trained_model_path):
    model = TopicModel.load(trained_model_path)
    email = """Thanks, that helps. Can we also ask: what is the minimum age for light work in agriculture?

On Mon, 2 Mar 2026, Helpdesk <helpdesk@example.org> wrote:
> Regarding your question on the living wage, the ILO agreed on a definition in 2024.
> Wages should be set through collective bargaining with the unions.
"""
    assert model.predict(email)[0].code == "child_labour"
    assert set(chosen(model, email)) == {"child_labour"}


def test_a_greeting_and_a_signature_neither_add_nor_remove_a_topic(trained_model_path):
    model = TopicModel.load(trained_model_path)
    question = "¿Podemos contratar a menores de 16 años en nuestra planta de envasado?"
    framed = f"Buenos días:\n\n{question}\n\nMuchas gracias de antemano.\nAtentamente,\nLucía Ferrer\nRR.HH."
    assert list(chosen(model, framed)) == list(chosen(model, question)) == ["child_labour"]


def test_the_parts_of_an_email_are_told_apart_in_three_languages():
    roles = lambda text: [(p.role, p.text) for p in message_parts(text)]  # noqa: E731
    assert roles("Objet : Heures supplémentaires\nBonjour,\nNous sommes une PME. Peut-on imposer des heures "
                 "supplémentaires ?\nCordialement,\nJean Dupont\n\nLe lun. 2 mars 2026, Helpdesk a écrit :\n"
                 "> Merci pour votre question.") == [
        ("subject", "Heures supplémentaires"), ("frame", "Bonjour,"), ("body", "Nous sommes une PME."),
        ("question", "Peut-on imposer des heures supplémentaires ?"), ("frame", "Cordialement,"),
        ("frame", "Jean Dupont"), ("quoted", "Le lun. 2 mars 2026, Helpdesk a écrit :"),
        ("quoted", "Merci pour votre question.")]
    assert roles("Hola, como empresa queremos saber si debemos pagar las horas extra. Gracias") == [
        ("question", "como empresa queremos saber si debemos pagar las horas extra."), ("frame", "Gracias")]
    assert [r for r, _ in roles("We would like to know how to set a living wage.\n-- \nSent from my phone")] == \
        ["question", "frame"]


def test_a_weighted_correction_pulls_similar_questions_more_than_a_plain_example(examples):
    """A specialist's correction (weight 5) counts for more than one shipped example would."""
    sample = examples[::3]
    correction = "Our gig couriers ask whether the delivery platform must enrol them in a pension scheme."
    probe = "Must a delivery platform enrol its gig couriers in a pension scheme?"

    def trained(weight: float) -> TopicModel:
        return train_topic_model(sample + [LabelledExample(correction, ("social_security",), "en", weight)], TOPICS)

    plain, weighted = trained(1.0), trained(5.0)
    assert confidence(weighted, probe, "social_security") > confidence(plain, probe, "social_security")
    assert weighted.decision(probe)[TOPICS.index("social_security")] > \
        plain.decision(probe)[TOPICS.index("social_security")]
    assert plain.trained_on != weighted.trained_on  # the weight is part of what the model learned from


def test_an_example_weight_must_be_positive():
    assert LabelledExample("Is overtime paid?", ("wages",), "en").weight == 1.0
    with pytest.raises(ValueError, match="positive"):
        LabelledExample("Is overtime paid?", ("wages",), "en", 0.0)


def test_dressed_held_out_questions_keep_their_topics(examples):
    messages = realistic_messages([e for e in examples if e.topics][:60], seed=3)
    assert len(messages) >= 55
    assert any("\n> " in text for text, _, _ in messages)  # some carry a quoted reply
    assert all(topics for _, topics, _ in messages)


def test_cross_validated_confidences_of_whole_messages_are_calibrated(examples):
    """Held-out questions dressed as emails, chat lines and double questions: confidences are right
    about as often as they claim (the old max-over-sentences model: expected error 0.11, and its
    "0.95 and above" was right 81% of the time)."""
    report = cross_validate(examples, TOPICS, threshold=THRESHOLD, max_topics=MAX_TOPICS, folds=3, realistic=True)
    assert report.top1_accuracy > 0.6 and report.top3_accuracy > 0.8
    assert report.calibration_error < 0.08
    top_bin = next(row for row in report.calibration if row[0] == "0.95-1.00")
    assert top_bin[3] >= 0.9
