"""The multi-label topic model: trained with scikit-learn, served from arrays.

Why two halves: scikit-learn is the right tool to fit a one-vs-rest logistic
regression and to calibrate it, but importing it and calling ``transform`` +
``predict_proba`` costs a CLI about a second and each query a few
milliseconds. Once fitted, the model is only a vocabulary, an idf vector, a
weight matrix and a few numbers for calibration, so it is exported to an
``.npz`` file and scored with numpy directly (a fraction of a millisecond for
a chat line, a few milliseconds for a long email).

Topics come from the whole message: its parts (subject, questions, background,
greetings, signatures, quoted mail) are weighed by their role and scored as one
vector, so a stray sentence cannot make its topic win (:meth:`TopicModel._features`).

Confidences are calibrated on *out-of-fold* predictions of that whole pipeline:
the examples of each fold, as they are and dressed as messages (a greeting and
thanks around them, a chat line with a typo, two questions at once, a quoted
reply), scored by a model trained on the other folds. One logistic regression
maps each topic's score and its margin over the best other topic to a
probability, so a confidence of 0.7 means roughly "right seven times in ten" on
unseen queries, and a single threshold makes sense across topics.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from classifier.text import (
    content_words,
    features,
    fold,
    is_readable,
    message_parts,
    pair_features,
    readable,
    word_features,
)

FORMAT_VERSION = 3
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
    #: How much the example counts in training: a specialist's correction can count more than a shipped example.
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"an example's weight must be a positive number, got {self.weight!r}")


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
        weight = "" if ex.weight == 1.0 else f"\t{ex.weight:g}"
        digest.update(f"\n{','.join(sorted(ex.topics))}\t{ex.text}{weight}".encode())
    return digest.hexdigest()[:16]


#: What the calibration combines, per topic, into one confidence (see :meth:`TopicModel._features`):
#: the whole message's decision value, and its margin over the best other topic's.
FEATURES = ("whole", "margin")


#: The model file this process loaded last, with its identity (see ``TopicModel.load_shared``).
_LAST_LOADED: list[tuple[tuple, "TopicModel"]] = []


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a short array, in a third of its time (its Python layers
    cost more than the sorting)."""
    order = values.argsort()
    ordered = values[order]
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty_like(order)
    inverse[order] = first.cumsum() - 1
    return ordered[first], inverse


class TopicModel:
    """A fitted model: scores every configured topic for a text."""

    def __init__(
        self,
        topics: Sequence[str],
        vocabulary: Sequence[str],
        idf: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        combine: np.ndarray,
        bias: np.ndarray,
        trained_on: str,
    ) -> None:
        self.topics = tuple(topics)
        self.vocabulary = tuple(vocabulary)
        self._index = {term: i for i, term in enumerate(self.vocabulary)}
        self._word_ids: dict[str, list[int]] = {}  # a word's known features, looked up once
        self._readable = np.fromiter((is_readable(term) for term in self.vocabulary), dtype=bool,
                                     count=len(self.vocabulary))
        self.idf = np.asarray(idf, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)  # (n_terms, n_topics)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.combine = np.asarray(combine, dtype=np.float64).reshape(len(FEATURES))
        self.bias = np.asarray(bias, dtype=np.float64)  # (n_topics,)
        self._combine, self._bias = self.combine.tolist(), self.bias.tolist()  # as plain floats, for ``predict``
        self.trained_on = trained_on

    # ------------------------------------------------------------------ serving
    def _weighted_vector(self, pieces: Iterable[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Sparse tf-idf (term ids, values, unit length) of pieces of text each weighed by a number.

        The same analyser as training (:func:`classifier.text.features`), counted per distinct
        word (a long email repeats its words), each word's features looked up once and
        remembered. A feature's sublinear term frequency is multiplied by the mean weight of its
        occurrences: pieces of equal weight give exactly the training vector of their text.
        """
        index = self._index
        words: list[str] = []
        word_weights: list[float] = []
        found: list[int] = []  # term ids of the known word pairs, then of the words' features
        found_weights: list[float] = []
        for text, weight in pieces:
            mine = content_words(text)
            words += mine
            word_weights += [weight] * len(mine)
            for j in map(index.get, pair_features(mine)):
                if j is not None:
                    found.append(j)
                    found_weights.append(weight)
        counts, weights = [np.ones(len(found))], [np.array(found_weights)]
        if words:
            position = {word: i for i, word in enumerate(dict.fromkeys(words))}
            inverse = np.fromiter(map(position.__getitem__, words), dtype=np.intp, count=len(words))
            cache = self._word_ids
            lengths: list[int] = []
            for word in position:
                known = cache.get(word)
                if known is None:
                    if len(cache) > 100_000:
                        cache.clear()
                    known = cache[word] = [j for f in word_features(word) if (j := index.get(f)) is not None]
                found += known
                lengths.append(len(known))
            counts.append(np.bincount(inverse, minlength=len(position)).repeat(lengths))
            weights.append(np.bincount(inverse, weights=word_weights, minlength=len(position)).repeat(lengths))
        if not found:
            return np.empty(0, dtype=np.intp), np.empty(0)
        found_ids = np.array(found, dtype=np.intp)
        if len(found_ids) * 8 < len(self.vocabulary):  # a short text: sort its few terms
            ids, found_ids = _distinct(found_ids)
            size = len(ids)
        else:  # a long one: count over the whole vocabulary, no sorting
            ids, size = None, len(self.vocabulary)
        tf = np.bincount(found_ids, weights=np.concatenate(counts), minlength=size)
        weighed = np.bincount(found_ids, weights=np.concatenate(weights), minlength=size)
        if ids is None:
            ids = np.flatnonzero(tf)
            tf, weighed = tf[ids], weighed[ids]
        mean_weight = weighed / tf
        values = mean_weight * (1.0 + np.log(tf)) * self.idf[ids]
        values /= math.sqrt(float(values @ values))
        return ids, values

    def _vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse tf-idf of ``text`` over the fitted vocabulary: (term ids, values)."""
        return self._weighted_vector([(text, 1.0)])

    def decision(self, text: str) -> np.ndarray:
        """Raw decision value per topic of ``text`` as one piece (before aggregation and calibration)."""
        ids, values = self._vector(text)
        return values @ self.weights[ids] + self.intercept

    def _message(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The message's weighted tf-idf vector (term ids, values), the weights' rows of those terms, and
        each topic's decision value of the whole message (``whole`` in :meth:`_features`)."""
        ids, values = self._weighted_vector((part.text, part.weight) for part in message_parts(text))
        rows = self.weights[ids]
        return ids, values, rows, values @ rows + self.intercept

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per topic, the figures the calibration combines (see :data:`FEATURES`), and the
        message's weighted tf-idf vector (term ids, values) that explains them, with the weights' rows
        of those terms.

        The message is cut into parts (:func:`classifier.text.message_parts`), each weighed by
        its role: a question or the subject counts more than background; greetings, thanks,
        signatures, disclaimers and quoted mail almost nothing. Then, per topic:

        - ``whole``: the decision value of the whole message as one tf-idf vector, each word's count
          weighed by the parts it occurs in (word pairs are read within a part; a one-sentence
          question is scored exactly as in training);
        - ``margin``: ``whole`` minus the best other topic's ``whole`` (how clearly it stands out).

        So one sentence is one part of the message's vector: it cannot outvote the rest.
        """
        ids, values, rows, whole = self._message(text)
        return np.column_stack([whole, _margins(whole.tolist())]), ids, values, rows

    def predict(self, text: str, evidence: int = 4, explained: int = 5) -> list[TopicScore]:
        """Every topic with its calibrated confidence, most likely first; the first
        ``explained`` carry up to ``evidence`` words that pushed them up.

        The topics come from the whole message, not from its best sentence: the parts of the
        message are weighted by what they are (see :meth:`_features`), so a question counts more
        than a greeting or an aside, and one stray sentence cannot outvote the rest.
        """
        ids, values, rows, whole = self._message(text)
        # A dozen topics: their calibration, ``sigmoid(figures @ combine + bias)``, in plain floats costs less
        # than as arrays.
        decided = whole.tolist()
        on_whole, on_margin = self._combine
        probabilities = [_sigmoid(w * on_whole + m * on_margin + b)
                         for w, m, b in zip(decided, _margins(decided), self._bias)]
        order = sorted(range(len(probabilities)), key=probabilities.__getitem__, reverse=True)  # stable
        words_of = self._evidence(values, ids, rows, np.array(order[:explained], dtype=np.intp), evidence) \
            if evidence and len(ids) else {}
        topics = self.topics
        return [TopicScore(topics[t], probabilities[t], words_of.get(t, ())) for t in order]

    def _evidence(self, values: np.ndarray, ids: np.ndarray, rows: np.ndarray, shown: np.ndarray,
                  wanted: int) -> dict[int, tuple[str, ...]]:
        """For each topic in ``shown`` (only the topics anyone will see), up to ``wanted`` readable words
        (and word pairs) that pushed it up the most, found for all of them in one pass."""
        if not len(shown):
            return {}
        contribution = values[:, None] * rows[:, shown]
        useful = (contribution > 0) & self._readable[ids][:, None]
        ranked = np.where(useful, -contribution, np.inf).argsort(axis=0, kind="stable")[:wanted]
        # per shown topic (a column), its best rows' terms and whether each is useful, as lists
        terms, kept = ids[ranked].T.tolist(), useful[ranked, np.arange(len(shown))].T.tolist()
        vocabulary = self.vocabulary
        return {t: tuple(readable(vocabulary[i]) for i, ok in zip(column, flags) if ok)
                for t, column, flags in zip(shown.tolist(), terms, kept)}

    # ---------------------------------------------------------------- persistence
    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT_VERSION, "topics": self.topics, "trained_on": self.trained_on,
                "features": FEATURES}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            meta=np.array(json.dumps(meta)),
            vocabulary=np.array(self.vocabulary),
            idf=self.idf,
            weights=self.weights.astype(np.float32),
            intercept=self.intercept,
            combine=self.combine,
            bias=self.bias,
        )
        tmp.replace(path)  # atomic: a reader never sees half a model

    @classmethod
    def load_shared(cls, path: Path) -> "TopicModel":
        """``load``, except that the file this process loaded last is not read again while it is the same
        file (same place, inode, size and time: a saved model replaces the file, so it is another): a model
        only reads its arrays, so the services of one process, and the commands forked from a warm process,
        share it."""
        try:
            info = Path(path).stat()
        except OSError:
            return cls.load(path)
        key = (str(Path(path).resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
        if _LAST_LOADED and _LAST_LOADED[0][0] == key:
            return _LAST_LOADED[0][1]
        model = cls.load(path)
        _LAST_LOADED[:] = [(key, model)]
        return model

    @classmethod
    def load(cls, path: Path) -> "TopicModel":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT_VERSION:
                    raise ModelFileError(f"{path}: model format {meta.get('format')}, expected {FORMAT_VERSION}")
                if tuple(meta.get("features", ())) != FEATURES:
                    raise ModelFileError(f"{path}: model calibrated on {meta.get('features')}, expected {list(FEATURES)}")
                return cls(
                    meta["topics"],
                    data["vocabulary"].tolist(),
                    data["idf"],
                    data["weights"],
                    data["intercept"],
                    data["combine"],
                    data["bias"],
                    meta["trained_on"],
                )
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: cannot read the topic model ({exc})") from exc


def _margins(decided: list[float]) -> list[float]:
    """Each topic's decision value minus the best other topic's (the ``margin`` of :data:`FEATURES`)."""
    if len(decided) < 2:
        return [0.0] * len(decided)
    second, first = sorted(decided)[-2:]
    return [value - (second if value >= first else first) for value in decided]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else 0.0  # exp(700) is still a float


# ---------------------------------------------------------------------- training
def _label_matrix(examples: Sequence[LabelledExample], topics: Sequence[str]) -> np.ndarray:
    column = {code: i for i, code in enumerate(topics)}
    y = np.zeros((len(examples), len(topics)), dtype=np.int8)
    for row, ex in enumerate(examples):
        for code in ex.topics:
            if code in column:
                y[row, column[code]] = 1
    return y


def _fit_linear(texts: Sequence[str], y: np.ndarray, c: float, sample_weight: np.ndarray | None = None,
                balanced: bool = True):
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
        lr = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=5000,
                                solver="liblinear")
        lr.fit(x, y[:, t], sample_weight=sample_weight)
        weights[:, t] = lr.coef_[0]
        intercept[t] = lr.intercept_[0]
    return vectoriser, weights, intercept


# Calibration learns from messages, not only from one-question examples: each held-out example
# is also scored dressed as a message, with the example files' own frame sentences (greetings,
# introductions, thanks), as a chat line with a typo, asked together with another question, or
# above a quoted earlier message about something else.
def _chat(text: str, rng: random.Random) -> str:
    text = fold(text).replace("?", "").replace("¿", "") if rng.random() < 0.5 else text.lower()
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) > 5]
    if long:
        i = rng.choice(long)
        k = rng.randrange(1, len(words[i]) - 1)
        words[i] = words[i][:k] + words[i][k + 1:]
    return " ".join(words)


def _dressed(held_out: Sequence[LabelledExample], frames: Sequence[str], rng: random.Random,
             copies: int) -> list[tuple[str, frozenset[str], float]]:
    """``(text, topics, weight)`` of each held-out example as it is, and ``copies`` times dressed."""
    out = [(ex.text, frozenset(ex.topics), ex.weight) for ex in held_out]
    asked = [ex for ex in held_out if ex.topics]
    for ex in asked:
        for _ in range(copies):
            kind = rng.random()
            truth = frozenset(ex.topics)
            other = rng.choice(asked)
            if kind < 0.4 and frames:
                text = f"{rng.choice(frames)}\n\n{ex.text}\n\n{rng.choice(frames)}"
            elif kind < 0.6:
                text = _chat(ex.text, rng)
            elif kind < 0.85:
                text = f"{ex.text} {other.text}"
                truth |= frozenset(other.topics)
            else:
                text = f"{ex.text}\n\nOn Monday, Helpdesk <helpdesk@example.org> wrote:\n> {other.text}"
            out.append((text, truth, ex.weight))
    return out


def _fit_calibration(figures: np.ndarray, y: np.ndarray, weight: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``p = sigmoid(figures @ combine + bias[topic])`` on held-out messages; returns (combine, bias).

    One logistic regression over every (message, topic) pair: the coefficients of the figures are
    shared by all topics (so a topic with few examples is calibrated like the rest), the bias is
    each topic's own.
    """
    from sklearn.linear_model import LogisticRegression

    n, n_topics, k = figures.shape
    if y.min() == y.max():  # nothing to tell apart (a degenerate training set): the scores as they are
        return np.eye(k)[0], np.zeros(n_topics)
    x = np.hstack([figures.reshape(n * n_topics, k), np.tile(np.eye(n_topics), (n, 1))])
    lr = LogisticRegression(C=c, max_iter=5000, fit_intercept=False)
    lr.fit(x, y.reshape(-1), sample_weight=np.repeat(weight, n_topics))
    return lr.coef_[0, :k].copy(), lr.coef_[0, k:].copy()


def train_topic_model(
    examples: Sequence[LabelledExample],
    topics: Sequence[str],
    *,
    c: float = 10.0,
    calibration_folds: int = 5,
    calibration_c: float = 1.0,
    dressed_copies: int = 2,
    balanced: bool = True,
    seed: int = 0,
) -> TopicModel:
    """Fit the model on ``examples`` for the given topic codes (others are ignored).

    Calibration is fitted on out-of-fold predictions of the whole :meth:`TopicModel.predict`
    pipeline: the examples of each fold, as they are and dressed as messages, scored by a model
    trained on the other folds.
    """
    from sklearn.model_selection import KFold

    examples = list(examples)
    texts = [ex.text for ex in examples]
    y = _label_matrix(examples, topics)
    sample_weight = np.array([ex.weight for ex in examples], dtype=np.float64)
    frames = [ex.text for ex in examples if not ex.topics]
    rng = random.Random(seed)
    held_figures, held_y, held_weight = [], [], []
    for train_idx, test_idx in KFold(calibration_folds, shuffle=True, random_state=seed).split(texts):
        vectoriser, w, b = _fit_linear([texts[i] for i in train_idx], y[train_idx], c, sample_weight[train_idx],
                                       balanced)
        fold_model = TopicModel(topics, vectoriser.get_feature_names_out().tolist(), vectoriser.idf_, w, b,
                                np.zeros(len(FEATURES)), np.zeros(len(topics)), "")
        for text, truth, weight in _dressed([examples[i] for i in test_idx], frames, rng, dressed_copies):
            held_figures.append(fold_model._features(text)[0])
            held_y.append([code in truth for code in topics])
            held_weight.append(weight)
    combine, bias = _fit_calibration(np.stack(held_figures), np.array(held_y, dtype=np.int8),
                                     np.array(held_weight), calibration_c)
    vectoriser, weights, intercept = _fit_linear(texts, y, c, sample_weight, balanced)
    vocabulary = vectoriser.get_feature_names_out().tolist()
    return TopicModel(topics, vocabulary, vectoriser.idf_, weights, intercept, combine, bias,
                      fingerprint(examples, topics))
