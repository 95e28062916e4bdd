"""The multi-label topic model: trained with scikit-learn, served from arrays.

Why two halves: scikit-learn is the right tool to fit a one-vs-rest logistic
regression and to calibrate it, but importing it and calling ``transform`` +
``predict_proba`` costs a CLI about a second and each query a few
milliseconds. Once fitted, the model is only a vocabulary, an idf vector, a
weight matrix and two numbers per topic for calibration, so it is exported to
an ``.npz`` file and scored with numpy directly (tens of microseconds).

Confidences are calibrated: the raw decision value of each topic is mapped to
a probability by Platt scaling fitted on *out-of-fold* decision values, so a
confidence of 0.7 means roughly "right seven times in ten" on unseen queries,
and a single threshold makes sense across topics.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from classifier.text import features, is_readable, readable, sentences

FORMAT_VERSION = 2
#: In example files, the topic column of a sentence that belongs to no topic.
NO_TOPIC = "-"


class ExampleFileError(ValueError):
    """A labelled-example file has a line that cannot be read."""


class ModelFileError(ValueError):
    """A model file is missing, corrupt or from another format version."""


@dataclass(frozen=True)
class LabelledExample:
    """A question and the topics a person assigned to it."""

    text: str
    topics: tuple[str, ...]
    language: str = ""


@dataclass(frozen=True)
class TopicScore:
    """One topic's calibrated confidence and the words that pushed it up."""

    code: str
    confidence: float
    evidence: tuple[str, ...] = ()


def select_topics(scores: Sequence[TopicScore], *, threshold: float, max_topics: int) -> list[TopicScore]:
    """The topics a query is about: the best ``max_topics`` whose confidence reaches ``threshold``.

    The one selection rule, used by triage and by cross-validation alike.
    """
    return [s for s in scores[:max_topics] if s.confidence >= threshold]


def load_examples(paths: Iterable[Path]) -> list[LabelledExample]:
    """Read ``topics<TAB>text`` lines (``-`` for none); the language is the file name's last ``_xx`` part."""
    examples: list[LabelledExample] = []
    for path in paths:
        language = Path(path).stem.rsplit("_", 1)[-1]
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            topics, sep, text = line.partition("\t")
            codes = tuple(t.strip() for t in topics.split(",") if t.strip() and t.strip() != NO_TOPIC)
            if not sep or not text.strip() or not topics.strip():
                raise ExampleFileError(f"{path}:{number}: expected 'topic[,topic]<TAB>question', got {line[:60]!r}")
            examples.append(LabelledExample(text.strip(), codes, language))
    return examples


def fingerprint(examples: Sequence[LabelledExample], topics: Sequence[str]) -> str:
    """A digest of what the model learned from; a changed digest means "retrain"."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION}|{'|'.join(topics)}".encode())
    for ex in sorted(examples, key=lambda e: (e.text, e.topics)):
        digest.update(f"\n{','.join(sorted(ex.topics))}\t{ex.text}".encode())
    return digest.hexdigest()[:16]


class TopicModel:
    """A fitted model: scores every configured topic for a text."""

    def __init__(
        self,
        topics: Sequence[str],
        vocabulary: Sequence[str],
        idf: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        platt: np.ndarray,
        trained_on: str,
    ) -> None:
        self.topics = tuple(topics)
        self.vocabulary = tuple(vocabulary)
        self._index = {term: i for i, term in enumerate(self.vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)  # (n_terms, n_topics)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.platt = np.asarray(platt, dtype=np.float64)  # (n_topics, 2): a, b
        self.trained_on = trained_on

    # ------------------------------------------------------------------ serving
    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse tf-idf of ``text`` over the fitted vocabulary: (term ids, values)."""
        counts: dict[int, int] = {}
        index = self._index
        for feature in features(text):
            j = index.get(feature)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.empty(0, dtype=np.intp), np.empty(0)
        ids = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[ids]
        values /= math.sqrt(float(values @ values))
        return ids, values

    def decision(self, text: str) -> np.ndarray:
        """Raw decision value per topic (before calibration)."""
        ids, values = self._vector(text)
        return values @ self.weights[ids] + self.intercept

    def _probabilities(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        z = values @ self.weights[ids] + self.intercept
        return 1.0 / (1.0 + np.exp(-(self.platt[:, 0] * z + self.platt[:, 1])))

    def predict(self, text: str, evidence: int = 4, explained: int = 5) -> list[TopicScore]:
        """Every topic with its calibrated confidence, most likely first; the first
        ``explained`` carry up to ``evidence`` words that pushed them up.

        The model learned from one-question examples, and in a long email the
        words of each issue are diluted by everything else. So the whole text
        and each of its sentences are scored, and each topic keeps its best
        confidence, with the words that earned it.
        """
        pieces = [text]
        parts = sentences(text)
        if len(parts) > 1:
            pieces += parts
        vectors = [self._vector(p) for p in pieces]
        table = np.vstack([self._probabilities(ids, values) for ids, values in vectors])
        best_piece = np.argmax(table, axis=0)
        probabilities = table[best_piece, np.arange(len(self.topics))]
        order = np.argsort(-probabilities)
        scores = []
        for rank, t in enumerate(order):
            ids, values = vectors[best_piece[t]]
            words: tuple[str, ...] = ()
            if evidence and len(ids) and rank < explained:  # only the topics anyone will see
                contribution = values * self.weights[ids, t]
                best = np.argsort(-contribution)
                words = tuple(dict.fromkeys(
                    readable(self.vocabulary[ids[k]])
                    for k in best
                    if contribution[k] > 0 and is_readable(self.vocabulary[ids[k]])
                ))[:evidence]
            scores.append(TopicScore(self.topics[t], float(probabilities[t]), words))
        return scores

    # ---------------------------------------------------------------- persistence
    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT_VERSION, "topics": self.topics, "trained_on": self.trained_on}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            meta=np.array(json.dumps(meta)),
            vocabulary=np.array(self.vocabulary),
            idf=self.idf,
            weights=self.weights.astype(np.float32),
            intercept=self.intercept,
            platt=self.platt,
        )
        tmp.replace(path)  # atomic: a reader never sees half a model

    @classmethod
    def load(cls, path: Path) -> "TopicModel":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT_VERSION:
                    raise ModelFileError(f"{path}: model format {meta.get('format')}, expected {FORMAT_VERSION}")
                return cls(
                    meta["topics"],
                    data["vocabulary"].tolist(),
                    data["idf"],
                    data["weights"],
                    data["intercept"],
                    data["platt"],
                    meta["trained_on"],
                )
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: cannot read the topic model ({exc})") from exc


# ---------------------------------------------------------------------- training
def _label_matrix(examples: Sequence[LabelledExample], topics: Sequence[str]) -> np.ndarray:
    column = {code: i for i, code in enumerate(topics)}
    y = np.zeros((len(examples), len(topics)), dtype=np.int8)
    for row, ex in enumerate(examples):
        for code in ex.topics:
            if code in column:
                y[row, column[code]] = 1
    return y


def _fit_linear(texts: Sequence[str], y: np.ndarray, c: float):
    """Fit vectoriser + one logistic regression per topic; returns (vectoriser, W, b)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(analyzer=features, sublinear_tf=True, lowercase=False)
    x = vectoriser.fit_transform(texts)
    weights = np.zeros((x.shape[1], y.shape[1]))
    intercept = np.zeros(y.shape[1])
    for t in range(y.shape[1]):
        if y[:, t].min() == y[:, t].max():  # a topic with no (or only) examples: never fires
            intercept[t] = -10.0 if y[0, t] == 0 else 10.0
            continue
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, solver="liblinear")
        lr.fit(x, y[:, t])
        weights[:, t] = lr.coef_[0]
        intercept[t] = lr.intercept_[0]
    return vectoriser, weights, intercept


def _fit_platt(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per topic, fit p = sigmoid(a*z + b) on held-out decision values."""
    from sklearn.linear_model import LogisticRegression

    platt = np.zeros((y.shape[1], 2))
    for t in range(y.shape[1]):
        if y[:, t].min() == y[:, t].max():
            platt[t] = (1.0, 0.0)
            continue
        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(z[:, t : t + 1], y[:, t])
        platt[t] = (lr.coef_[0, 0], lr.intercept_[0])
    return platt


def _out_of_fold_decisions(texts: Sequence[str], y: np.ndarray, c: float, folds: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import KFold

    z = np.zeros(y.shape, dtype=np.float64)
    for train_idx, test_idx in KFold(folds, shuffle=True, random_state=seed).split(texts):
        vectoriser, w, b = _fit_linear([texts[i] for i in train_idx], y[train_idx], c)
        z[test_idx] = vectoriser.transform([texts[i] for i in test_idx]) @ w + b
    return z


def train_topic_model(
    examples: Sequence[LabelledExample],
    topics: Sequence[str],
    *,
    c: float = 10.0,
    calibration_folds: int = 5,
    seed: int = 0,
) -> TopicModel:
    """Fit the model on ``examples`` for the given topic codes (others are ignored)."""
    texts = [ex.text for ex in examples]
    y = _label_matrix(examples, topics)
    z = _out_of_fold_decisions(texts, y, c, calibration_folds, seed)
    platt = _fit_platt(z, y)
    vectoriser, weights, intercept = _fit_linear(texts, y, c)
    vocabulary = vectoriser.get_feature_names_out().tolist()
    return TopicModel(
        topics, vocabulary, vectoriser.idf_, weights, intercept, platt, fingerprint(examples, topics)
    )
