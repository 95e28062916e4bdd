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
from pathlib import Path
from typing import Sequence

FEATURES = ("lexical", "fuzzy", "topics", "same_language", "query_coverage", "question_coverage", "shared",
            "lead", "rank", "unexplained", "question_concepts", "query_in_question", "missing_specific")
STRENGTHS = ("strong", "partial", "weak")


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

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in FEATURES]


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
        z = self.bias + sum(w * x for w, x in zip(self.weights, features.vector()))
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
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x, y = np.asarray(vectors, dtype=float), np.asarray(labels, dtype=int)
    held_out = np.zeros(len(y))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = LogisticRegression(C=1.0, max_iter=2000).fit(x[train_idx], y[train_idx])
        held_out[test_idx] = model.predict_proba(x[test_idx])[:, 1]
    strong = 0.99
    for threshold in np.arange(0.30, 0.99, 0.01):
        chosen = held_out >= threshold
        if chosen.sum() >= 10 and y[chosen].mean() >= strong_precision:
            strong = float(threshold)
            break
    positives = np.sort(held_out[y == 1])
    partial = float(positives[int((1 - partial_recall) * len(positives))]) if len(positives) else 0.3
    partial = min(partial, strong - 0.05)
    final = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    chosen = held_out >= strong
    notes = (f"{len(y)} pairs ({int(y.sum())} answers); held out: strong precision {y[chosen].mean():.2f} "
             f"recall {(chosen & (y == 1)).sum() / max(y.sum(), 1):.2f}")
    return MatchConfidence(tuple(round(float(w), 6) for w in final.coef_[0]), round(float(final.intercept_[0]), 6),
                           round(strong, 2), round(max(partial, 0.05), 2), notes)
