"""How sure we are that a Q&A answers a query: a small learned model over what the matcher measures.

Two shared content words are not an answer: a Q&A on the same topic often
answers a different question. The matcher describes each candidate with a few
numbers (``MatchFeatures``): the lexical and fuzzy scores, how much of the
*query* the shared words explain (weighted by how specific they are), how much
of the Q&A's *question* they cover, topic agreement, the lead over the next
candidate, and so on. A logistic regression trained on labelled pairs written
by the team (``kb/data/match_pairs.jsonl``: a query, a Q&A, "answers" or not,
with hard negatives of the same topic) turns them into a probability, and two
thresholds chosen on held-out predictions make it "strong", "partial" or
"weak". A draft is built from a Q&A only when the match is strong.

The trained weights are shipped (``kb/data/match_model.json``); ``bench/train_match_model.py`` rebuilds them
from the pairs, and a test checks that the shipped file is what training gives.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from importlib import resources
from operator import attrgetter, mul
from pathlib import Path
from typing import Sequence

FEATURES = ("lexical", "fuzzy", "topics", "same_language", "query_coverage", "question_coverage", "shared",
            "lead", "rank", "unexplained", "question_concepts", "query_in_question", "missing_specific")
_FEATURE_VALUES = attrgetter(*FEATURES)
STRENGTHS = ("strong", "partial", "weak")
#: Which way each feature may push the probability (+1 up, -1 down): a query closer to the Q&A never makes
#: it less likely to be answered by it. The fit respects these signs (a bounded logistic regression), so the
#: model behaves sensibly on cases unlike its training pairs (a near-identical question is strong).
SIGNS = {"lexical": 1, "fuzzy": 1, "topics": 1, "same_language": 1, "query_coverage": 1, "question_coverage": 1,
         "shared": 1, "lead": 1, "rank": -1, "unexplained": -1, "question_concepts": 1, "query_in_question": 1,
         "missing_specific": -1}


@dataclass(frozen=True)
class MatchFeatures:
    lexical: float  # cosine of the tf-idf vectors, 0-1
    fuzzy: float  # token-set similarity of the stems, 0-1
    topics: float  # share of the Q&A's topics found in the query, 0-1
    same_language: float  # 1 when the matched version is in the query's language
    query_coverage: float  # idf mass of the query's words that the Q&A shares, 0-1
    question_coverage: float  # share of the Q&A question's words found in the query, 0-1
    shared: float  # log(1 + shared content words)
    lead: float  # score over the next candidate's, 0-1
    rank: float  # 0 for the best candidate, 1, 2…
    unexplained: float  # the query's specific words (idf-weighted) the bank has never seen, 0-1
    question_concepts: float = 0.0  # share of the Q&A question's domain concepts that the query names too, 0-1
    query_in_question: float = 0.0  # idf mass of the query's words found in the Q&A's question itself, 0-1
    missing_specific: float = 0.0  # the rarest query word absent from the Q&A (its idf over the largest), 0-1

    def vector(self) -> tuple[float, ...]:
        return _FEATURE_VALUES(self)


@dataclass(frozen=True)
class MatchConfidence:
    weights: tuple[float, ...]
    bias: float
    #: Probability from which a match is strong (a draft is built) and partial (shown as a candidate).
    strong: float
    partial: float
    #: How the thresholds were chosen, for the record (precision of "strong" on held-out pairs, …).
    notes: str = ""

    def probability(self, features: MatchFeatures) -> float:
        z = self.bias + sum(map(mul, self.weights, features.vector()))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def strength(self, probability: float) -> str:
        if probability >= self.strong:
            return "strong"
        return "partial" if probability >= self.partial else "weak"

    # ---------------------------------------------------------------- storage
    def to_json(self) -> str:
        data = asdict(self)
        data["features"] = list(FEATURES)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "MatchConfidence":
        data = json.loads(text)
        if data.pop("features", list(FEATURES)) != list(FEATURES):
            raise ValueError("the match model was trained on other features: rebuild it (bench/train_match_model.py)")
        return cls(weights=tuple(data["weights"]), bias=data["bias"], strong=data["strong"],
                   partial=data["partial"], notes=data.get("notes", ""))

    @classmethod
    def shipped(cls) -> "MatchConfidence":
        return cls.from_json(resources.files("kb").joinpath("data/match_model.json").read_text(encoding="utf-8"))

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")


def train(vectors: Sequence[Sequence[float]], labels: Sequence[bool], *, strong_precision: float = 0.8,
          partial_recall: float = 0.95, folds: int = 5, seed: int = 7) -> MatchConfidence:
    """Fit the model; choose "strong" as the lowest threshold whose held-out precision reaches
    ``strong_precision``, and "partial" as the highest that keeps ``partial_recall`` of the true answers."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    x, y = np.asarray(vectors, dtype=float), np.asarray(labels, dtype=int)
    held_out = np.zeros(len(y))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        w, b = _fit_signed(x[train_idx], y[train_idx])
        held_out[test_idx] = 1.0 / (1.0 + np.exp(-(x[test_idx] @ w + b)))
    strong = 0.99
    for threshold in np.arange(0.30, 0.99, 0.01):
        chosen = held_out >= threshold
        if chosen.sum() >= 10 and y[chosen].mean() >= strong_precision:
            strong = float(threshold)
            break
    positives = np.sort(held_out[y == 1])
    partial = float(positives[int((1 - partial_recall) * len(positives))]) if len(positives) else 0.3
    partial = min(partial, strong - 0.05)
    weights, bias = _fit_signed(x, y)
    chosen = held_out >= strong
    notes = (f"{len(y)} pairs ({int(y.sum())} answers); held out: strong precision {y[chosen].mean():.2f} "
             f"recall {(chosen & (y == 1)).sum() / max(y.sum(), 1):.2f}")
    return MatchConfidence(tuple(round(float(w), 6) for w in weights), round(float(bias), 6),
                           round(strong, 2), round(max(partial, 0.05), 2), notes)


def _fit_signed(x, y, l2: float = 1.0):
    """Logistic regression whose weights keep the signs in ``SIGNS`` (L-BFGS-B with bounds); (weights, bias)."""
    import numpy as np
    from scipy.optimize import minimize

    n, d = x.shape
    signs = [SIGNS[name] for name in FEATURES]

    def loss(theta):
        w, b = theta[:d], theta[d]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        value = np.sum(np.logaddexp(0.0, z) - y * z) / n + l2 * (w @ w) / (2 * n)
        grad = np.append(x.T @ (p - y) / n + l2 * w / n, np.sum(p - y) / n)
        return value, grad

    bounds = [(0.0, None) if s > 0 else (None, 0.0) for s in signs] + [(None, None)]
    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 5000})
    return result.x[:d], float(result.x[d])
