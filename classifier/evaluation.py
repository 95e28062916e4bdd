"""How good the topic model is on questions it has not seen.

K-fold cross-validation of the whole training procedure (calibration included):
each fold trains on the rest and is scored on its own questions, so the figures
estimate what the specialist will see on new queries, not what the model
memorised.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from classifier.model import LabelledExample, select_topics, train_topic_model


@dataclass(frozen=True)
class TopicFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvaluationReport:
    """Micro-averaged figures at the threshold, top-1 accuracy, and per topic and language."""

    threshold: float
    examples: int
    precision: float
    recall: float
    f1: float
    top1_accuracy: float
    manual_triage_rate: float
    per_topic: dict[str, TopicFigures] = field(default_factory=dict)
    top1_by_language: dict[str, float] = field(default_factory=dict)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def cross_validate(
    examples: Sequence[LabelledExample],
    topics: Sequence[str],
    *,
    threshold: float,
    max_topics: int = 3,
    folds: int = 5,
    seed: int = 1,
) -> EvaluationReport:
    """Train ``folds`` times on the rest, predict each held-out question once."""
    from sklearn.model_selection import KFold

    examples = list(examples)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    top1_hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    manual = 0
    for train_idx, test_idx in KFold(folds, shuffle=True, random_state=seed).split(examples):
        model = train_topic_model([examples[i] for i in train_idx], topics)
        for i in test_idx:
            ex = examples[i]
            scores = model.predict(ex.text, evidence=0)
            chosen = {s.code for s in select_topics(scores, threshold=threshold, max_topics=max_topics)}
            manual += not chosen
            truth = set(ex.topics) & set(topics)
            for code in topics:
                c = counts[code]
                c[0] += code in chosen and code in truth
                c[1] += code in chosen and code not in truth
                c[2] += code not in chosen and code in truth
            hit = top1_hits[ex.language or "?"]
            hit[0] += scores[0].code in truth
            hit[1] += 1
    tp, fp, fn = (int(np.sum([c[k] for c in counts.values()])) for k in range(3))
    p, r, f = _prf(tp, fp, fn)
    per_topic = {code: TopicFigures(*_prf(*counts[code]), support=counts[code][0] + counts[code][2]) for code in topics}
    hits = sum(h[0] for h in top1_hits.values())
    return EvaluationReport(
        threshold=threshold,
        examples=len(examples),
        precision=p,
        recall=r,
        f1=f,
        top1_accuracy=hits / len(examples),
        manual_triage_rate=manual / len(examples),
        per_topic=per_topic,
        top1_by_language={lang: h[0] / h[1] for lang, h in sorted(top1_hits.items())},
    )
