"""How good the topic model is on questions it has not seen.

K-fold cross-validation of the whole training procedure (calibration included):
each fold trains on the rest and is scored on its own questions, so the figures
estimate what the specialist will see on new queries, not what the model
memorised.

The labelled examples are mostly single questions, while real queries are long
emails (a greeting, background, the question, thanks, a signature, a quoted
thread), chat lines with typos, or several questions at once. So each held-out
question is also scored dressed as such a message (:func:`realistic_messages`),
with frames and asides written here and used nowhere in training: the topics of
the dressed message are the question's own.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from classifier.model import LabelledExample, TopicModel, select_topics, train_topic_model

#: Bins of the top topic's confidence for the calibration table (as ``helpdesk eval`` reports it).
BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


@dataclass(frozen=True)
class TopicFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvaluationReport:
    """Micro-averaged figures at the threshold, top-1 and top-3 accuracy, macro F1, calibration,
    per topic and language."""

    threshold: float
    examples: int
    precision: float
    recall: float
    f1: float
    top1_accuracy: float
    manual_triage_rate: float
    per_topic: dict[str, TopicFigures] = field(default_factory=dict)
    top1_by_language: dict[str, float] = field(default_factory=dict)
    top3_accuracy: float = 0.0
    macro_f1: float = 0.0
    #: Expected calibration error of the top topic's confidence (weighted gap between confidence and accuracy).
    calibration_error: float = 0.0
    #: (bin, n, mean confidence, accuracy) of the top topic.
    calibration: list[tuple[str, int, float, float]] = field(default_factory=list)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


class _Tally:
    """Counts for the figures of one evaluation."""

    def __init__(self, topics: Sequence[str], threshold: float, max_topics: int) -> None:
        self.topics, self.threshold, self.max_topics = list(topics), threshold, max_topics
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
        self.top1: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.top3 = self.manual = self.n = 0
        self.tops: list[tuple[float, bool]] = []

    def add(self, model: TopicModel, text: str, truth: set[str], language: str) -> None:
        scores = model.predict(text, evidence=0)
        chosen = {s.code for s in select_topics(scores, threshold=self.threshold, max_topics=self.max_topics)}
        truth = truth & set(self.topics)
        self.n += 1
        self.manual += not chosen
        for code in self.topics:
            c = self.counts[code]
            c[0] += code in chosen and code in truth
            c[1] += code in chosen and code not in truth
            c[2] += code not in chosen and code in truth
        right = scores[0].code in truth
        hit = self.top1[language or "?"]
        hit[0] += right
        hit[1] += 1
        self.top3 += bool(truth & {s.code for s in scores[:3]})
        self.tops.append((scores[0].confidence, right))

    def report(self) -> EvaluationReport:
        tp, fp, fn = (int(np.sum([c[k] for c in self.counts.values()])) for k in range(3))
        p, r, f = _prf(tp, fp, fn)
        per_topic = {code: TopicFigures(*_prf(*self.counts[code]), support=self.counts[code][0] + self.counts[code][2])
                     for code in self.topics}
        supported = [t.f1 for t in per_topic.values() if t.support]
        n = max(self.n, 1)
        calibration, error = [], 0.0
        for low, high in zip(BINS, BINS[1:]):
            inside = [(c, ok) for c, ok in self.tops if low <= c < high]
            if inside:
                confidence = sum(c for c, _ in inside) / len(inside)
                accuracy = sum(ok for _, ok in inside) / len(inside)
                calibration.append((f"{low:.2f}-{min(high, 1.0):.2f}", len(inside), confidence, accuracy))
                error += len(inside) / n * abs(confidence - accuracy)
        return EvaluationReport(
            threshold=self.threshold,
            examples=self.n,
            precision=p,
            recall=r,
            f1=f,
            top1_accuracy=sum(h[0] for h in self.top1.values()) / n,
            manual_triage_rate=self.manual / n,
            per_topic=per_topic,
            top1_by_language={lang: h[0] / h[1] for lang, h in sorted(self.top1.items())},
            top3_accuracy=self.top3 / n,
            macro_f1=sum(supported) / len(supported) if supported else 0.0,
            calibration_error=error,
            calibration=calibration,
        )


def cross_validate(
    examples: Sequence[LabelledExample],
    topics: Sequence[str],
    *,
    threshold: float,
    max_topics: int = 3,
    folds: int = 5,
    seed: int = 1,
    realistic: bool = False,
    train: Callable[[Sequence[LabelledExample], Sequence[str]], TopicModel] = train_topic_model,
) -> EvaluationReport:
    """Train ``folds`` times on the rest, predict each held-out question once.

    With ``realistic``, each held-out question is scored dressed as a message instead
    (see :func:`realistic_messages`): an email, a chat line, or asked together with
    another held-out question.
    """
    from sklearn.model_selection import KFold

    examples = list(examples)
    tally = _Tally(topics, threshold, max_topics)
    for fold, (train_idx, test_idx) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(examples)):
        model = train([examples[i] for i in train_idx], topics)
        held_out = [examples[i] for i in test_idx]
        if realistic:
            cases = realistic_messages(held_out, seed=seed * 1000 + fold)
        else:
            cases = [(ex.text, set(ex.topics), ex.language) for ex in held_out]
        for text, truth, language in cases:
            tally.add(model, text, set(truth), language)
    return tally.report()


# ------------------------------------------------------------------ held-out questions dressed as messages
# Written for evaluation only (training dresses its examples with the example files' own frame
# sentences), so that the figures measure frames and asides the model never saw.

_GREETINGS = {
    "en": ["Hi team,", "Good morning,", "Dear Sir or Madam,", "Hello there,", "Dear colleagues at the helpdesk,"],
    "fr": ["Bonjour à tous,", "Madame, Monsieur,", "Bonjour,", "Chère équipe,"],
    "es": ["Hola,", "Buenos días:", "Estimado equipo:", "Buenas tardes,"],
}
_INTRODUCTIONS = {
    "en": ["My name is Priya and I manage HR for a textile exporter.",
           "I am the legal counsel of a logistics company operating in West Africa.",
           "We are a family-owned business with about 250 employees.",
           "I hope you are doing well."],
    "fr": ["Je suis juriste dans une entreprise de logistique.",
           "Notre société compte environ 250 salariés répartis sur deux sites.",
           "J'espère que vous allez bien."],
    "es": ["Le escribo desde el área de recursos humanos de una empresa agrícola.",
           "Somos una empresa familiar con unos 250 empleados.",
           "Espero que se encuentre bien."],
}
#: Background that mentions another topic's words in passing: it must not decide the topic.
_ASIDES = {
    "en": ["We also run a day-care for the children of our workers.",
           "Our canteen serves free meals to all staff on every shift.",
           "Last year we opened a training centre next to the plant.",
           "The union representatives visited the site in January.",
           "We have a health and safety committee that meets every month.",
           "Most of our workers are women from nearby villages.",
           "Some of our employees are migrant workers from Nepal."],
    "fr": ["Nous gérons aussi une crèche pour les enfants du personnel.",
           "Notre cantine sert des repas gratuits aux salariés.",
           "Nous avons ouvert un centre de formation l'an dernier.",
           "Les délégués syndicaux ont visité l'usine en janvier.",
           "La plupart de nos salariés sont des femmes des villages voisins."],
    "es": ["También tenemos una guardería para los hijos de los trabajadores.",
           "Nuestro comedor ofrece comidas gratuitas al personal.",
           "El año pasado abrimos un centro de formación junto a la planta.",
           "Los representantes sindicales visitaron la planta en enero.",
           "Muchos de nuestros trabajadores son migrantes."],
}
_CLOSINGS = {
    "en": ["Many thanks,\nPriya Raman\nHR Manager, Sunrise Textiles\n+91 22 5555 0101",
           "Best wishes,\nTom\n\nThis message and any attachments are confidential and intended only for the addressee.",
           "Thanks a lot for your help.\nJ. Okafor"],
    "fr": ["Merci d'avance,\nPaul Martin\nJuriste, Transports Martin SA",
           "Bien cordialement,\nAnne\n\nCe message est confidentiel et destiné exclusivement à son destinataire."],
    "es": ["Un saludo,\nMaría López\nDirectora de RR.HH.",
           "Atentamente,\nJorge\n\nEste mensaje es confidencial y está dirigido únicamente a su destinatario."],
}
_QUOTE_HEADERS = {
    "en": "On Tue, 3 Mar 2026 at 10:15, Helpdesk <helpdesk@example.org> wrote:",
    "fr": "Le mar. 3 mars 2026 à 10:15, Helpdesk <helpdesk@example.org> a écrit :",
    "es": "El mar, 3 mar 2026 a las 10:15, Helpdesk <helpdesk@example.org> escribió:",
}
_ALSO = {"en": "Also, ", "fr": "Par ailleurs, ", "es": "Además, "}


def _typos(text: str, rng: random.Random) -> str:
    """A chat line: lower case, often no accents or question mark, a typo or two."""
    text = text.lower()
    if rng.random() < 0.5:
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    if rng.random() < 0.5:
        text = text.replace("?", "").replace("¿", "")
    words = text.split()
    for _ in range(rng.choice((1, 2))):
        long = [i for i, w in enumerate(words) if len(w) > 4]
        if not long:
            break
        i = rng.choice(long)
        w, k = words[i], rng.randrange(1, len(words[i]) - 2)
        words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:] if rng.random() < 0.5 else w[:k] + w[k + 1:]
    return " ".join(words)


def realistic_messages(held_out: Sequence[LabelledExample], *, seed: int = 0) -> list[tuple[str, set[str], str]]:
    """Each held-out question dressed as a message: ``(text, topics, language)``.

    About a third become emails (greeting, introduction, sometimes an aside about another
    topic's words, the question, a closing with signature or disclaimer, sometimes the quoted
    helpdesk reply about another question), a quarter chat lines with typos, a fifth are asked
    together with another held-out question of other topics (the truth is then both), and the
    rest stay as they are. Questions with no topic are left out.
    """
    rng = random.Random(seed)
    pool = [ex for ex in held_out if ex.topics]
    out = []
    for ex in pool:
        lang = ex.language if ex.language in _GREETINGS else "en"
        kind = rng.random()
        truth = set(ex.topics)
        if kind < 0.35:
            body = [rng.choice(_INTRODUCTIONS[lang])]
            if rng.random() < 0.5:
                body.append(rng.choice(_ASIDES[lang]))
            body.append(ex.text)
            text = f"{rng.choice(_GREETINGS[lang])}\n\n{' '.join(body)}\n\n{rng.choice(_CLOSINGS[lang])}"
            if rng.random() < 0.3:
                other = rng.choice(pool)
                if not set(other.topics) & truth:
                    text += f"\n\n{_QUOTE_HEADERS[lang]}\n> " + other.text
        elif kind < 0.6:
            text = _typos(ex.text, rng)
        elif kind < 0.8:
            others = [o for o in pool if not set(o.topics) & truth and o.language == ex.language]
            if not others:
                continue
            other = rng.choice(others)
            text = f"{ex.text} {_ALSO[lang]}{other.text[0].lower()}{other.text[1:]}"
            truth |= set(other.topics)
        else:
            text = ex.text
        out.append((text, truth, ex.language))
    return out
