"""Find the Q&As that already answer a new query.

Two stages, because the bank may hold 100,000 entries and a query must be
matched in a few milliseconds:

1. **Retrieve** with a word tf-idf index (stems and stem pairs, accents folded,
   function words dropped) kept as a term -> postings table. Only the query's
   own terms are looked up, and terms found in more than 5% of a large bank are
   skipped (they rank nothing and cost the most).
2. **Rerank** the best candidates with rapidfuzz (token-set similarity of the
   folded stems, which forgives word order and extra words), plus agreement of
   the Q&A's topics with the topics found for the query.

Each match carries the terms it shares with the query, so the specialist can
see *why* it was proposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz

from classifier.text import content_words
from kb.concepts import PREFIX, ConceptTable
from kb.match_confidence import MatchConfidence, MatchFeatures

STEMMERS = {"en": "english", "fr": "french", "es": "spanish"}
#: In banks larger than this, very common terms are skipped at query time.
COMMON_TERM_MIN_BANK = 200
COMMON_TERM_SHARE = 0.05
CANDIDATES = 30
#: A match resting on a single shared word ("salary") is a coincidence, not an answer.
MIN_SHARED_TERMS_FOR_GOOD = 2
ANSWER_TERM_WEIGHT = 0.25
WEIGHTS = {"lexical": 0.45, "fuzzy": 0.30, "topics": 0.20, "language": 0.05}


@dataclass(frozen=True)
class QAEntry:
    """What the matcher needs of a Q&A (a plain value, not a database row)."""

    id: int
    key: str
    question: str
    answer: str
    topics: tuple[str, ...]
    language: str
    #: Every version of the Q&A as (language, question, answer); this entry is the one in ``language``.
    versions: tuple[tuple[str, str, str], ...] = ()

    def in_language(self, language: str) -> tuple[str, str] | None:
        """This Q&A's (question, answer) in ``language``, when it has that version."""
        if language == self.language:
            return self.question, self.answer
        return next(((q, a) for lang, q, a in self.versions if lang == language), None)


@dataclass(frozen=True)
class QAMatch:
    entry: QAEntry
    score: float  # 0-100
    lexical: float  # cosine of the tf-idf vectors, 0-1
    fuzzy: float  # rapidfuzz token-set ratio, 0-100
    shared_terms: tuple[str, ...]
    good: bool
    #: With a ``MatchConfidence``: the probability that this Q&A answers the query, and strong/partial/weak.
    confidence: float | None = None
    strength: str = ""
    features: MatchFeatures | None = None


def _tf(count: float) -> float:
    """Sublinear term frequency that also accepts the fractional counts of answer terms."""
    return 1.0 + math.log(count) if count >= 1 else count


class Analyser:
    """Stems content words with the stemmer of the text's language; with the concept table, a text's terms
    also name the domain concepts it mentions (``c:annual_leave``), whatever the words and the language."""

    def __init__(self, *, concepts: bool = False) -> None:
        self._stemmers = {code: snowballstemmer.stemmer(name) for code, name in STEMMERS.items()}
        # Stemming is the slow part of indexing a large bank, and words repeat: remember each one.
        self._memo: dict[str, dict[str, str]] = {code: {} for code in STEMMERS}
        self.concepts: ConceptTable | None = ConceptTable.shipped(self.stems) if concepts else None

    def stems(self, text: str, language: str) -> list[str]:
        words = content_words(text)
        stemmer = self._stemmers.get(language)
        if stemmer is None:
            return words
        memo = self._memo[language]
        out = []
        for word in words:
            stem = memo.get(word)
            if stem is None:
                stem = memo[word] = stemmer.stemWord(word)
            out.append(stem)
        return out

    def terms(self, stems: Sequence[str], language: str | None = None) -> list[str]:
        terms = list(stems) + [f"{a} {b}" for a, b in zip(stems, stems[1:])]
        if self.concepts is not None and language is not None:
            terms += [PREFIX + c for c in self.concepts.find(stems, language)]
        return terms


class QAMatcher:
    """An immutable index over a Q&A bank; rebuild it when the bank changes.

    Each language version of a Q&A is its own entry (sharing the Q&A's ``id``); a match names the
    version that matched best, and a Q&A is never proposed twice.
    """

    def __init__(self, entries: Iterable[QAEntry], analyser: Analyser | None = None,
                 confidence: MatchConfidence | None = None) -> None:
        self.analyser = analyser or Analyser()
        #: Without it, "good" is the old rule: a score of ``good_score`` and two shared words.
        self.confidence = confidence
        self.entries: list[QAEntry] = list(entries)
        self._stem_text: list[str] = []
        self._question_concept_sets: list[frozenset[str]] = []
        postings: dict[str, list[tuple[int, float]]] = {}
        for doc, entry in enumerate(self.entries):
            stems = self.analyser.stems(entry.question, entry.language)
            self._stem_text.append(" ".join(stems))
            self._question_concept_sets.append(frozenset(
                t for t in self.analyser.terms(stems, entry.language) if t.startswith(PREFIX)))
            counts: dict[str, float] = {}
            for term in self.analyser.terms(stems, entry.language):
                counts[term] = counts.get(term, 0) + 1
            # The answer speaks the requester's vocabulary too ("a 16-year-old may work..."),
            # but what the Q&A is *about* is its question: answer terms count for less.
            for term in self.analyser.stems(entry.answer, entry.language):
                counts[term] = counts.get(term, 0) + ANSWER_TERM_WEIGHT
            for term, count in counts.items():
                postings.setdefault(term, []).append((doc, count))
        n = max(len(self.entries), 1)
        self._idf: dict[str, float] = {}
        self._docs: dict[str, np.ndarray] = {}
        self._weights: dict[str, np.ndarray] = {}
        norms = np.zeros(n)
        for term, plist in postings.items():
            idf = math.log((1 + n) / (1 + len(plist))) + 1.0
            docs = np.fromiter((d for d, _ in plist), dtype=np.int64, count=len(plist))
            w = np.fromiter((_tf(c) * idf for _, c in plist), dtype=np.float64, count=len(plist))
            self._idf[term], self._docs[term], self._weights[term] = idf, docs, w
            np.add.at(norms, docs, w * w)
        norms = np.sqrt(norms)
        norms[norms == 0] = 1.0
        for term in self._weights:  # store unit-length document vectors
            self._weights[term] = self._weights[term] / norms[self._docs[term]]
        self._max_df = len(self.entries) * COMMON_TERM_SHARE if len(self.entries) > COMMON_TERM_MIN_BANK else None
        #: The idf a word the bank has never seen would have (it is as specific as a word can be).
        self._max_idf = math.log(1 + n) + 1.0

    def __len__(self) -> int:
        return len(self.entries)

    def match(
        self,
        text: str,
        language: str,
        topics: Sequence[str] = (),
        *,
        k: int = 3,
        good_score: float = 45.0,
    ) -> list[QAMatch]:
        """The ``k`` best Q&As for ``text``, best first, each flagged good or not."""
        if not self.entries:
            return []
        stems = self.analyser.stems(text, language)
        counts: dict[str, int] = {}
        for term in self.analyser.terms(stems, language):
            if term in self._idf:
                counts[term] = counts.get(term, 0) + 1
        if not counts:
            return []
        query_weights = {t: (1.0 + math.log(c)) * self._idf[t] for t, c in counts.items()}
        query_norm = math.sqrt(sum(w * w for w in query_weights.values()))
        scores = np.zeros(len(self.entries))
        for term, qw in query_weights.items():
            docs = self._docs[term]
            if self._max_df is not None and len(docs) > self._max_df:
                continue
            scores[docs] += qw / query_norm * self._weights[term]
        top = min(CANDIDATES, int(np.count_nonzero(scores)))
        if top == 0:
            return []
        candidates = np.argpartition(-scores, top - 1)[:top]
        query_stems = " ".join(stems)
        wanted = set(topics)
        results = []
        for doc in candidates:
            entry = self.entries[doc]
            lexical = float(min(scores[doc], 1.0))
            fuzzy = fuzz.token_set_ratio(query_stems, self._stem_text[doc])
            overlap = len(wanted & set(entry.topics)) / len(entry.topics) if wanted and entry.topics else 0.0
            score = 100.0 * (
                WEIGHTS["lexical"] * lexical
                + WEIGHTS["fuzzy"] * fuzzy / 100.0
                + WEIGHTS["topics"] * overlap
                + WEIGHTS["language"] * (entry.language == language)
            )
            results.append((score, int(doc), lexical, fuzzy))
        results.sort(key=lambda r: -r[0])
        best: list[tuple[float, int, float, float]] = []
        seen: set[int] = set()
        for result in results:  # one match per Q&A: its best-matching version
            if self.entries[result[1]].id not in seen:
                seen.add(self.entries[result[1]].id)
                best.append(result)
        singles = [t for t in query_weights if " " not in t and not t.startswith(PREFIX)]
        query_concepts = {t for t in query_weights if t.startswith(PREFIX)}
        unknown = len({s for s in stems if s not in self._idf})
        known_mass = sum(self._idf[t] for t in singles)
        query_mass = known_mass + unknown * self._max_idf or 1.0
        matches = []
        for rank, (score, doc, lexical, fuzzy) in enumerate(best[:k]):
            entry = self.entries[doc]
            shared = self._shared_terms(query_weights.keys(), doc)
            question_stems = set(self._stem_text[doc].split())
            missing = [self._idf[t] for t in singles if t not in shared]
            features = MatchFeatures(
                lexical=lexical, fuzzy=fuzzy / 100.0,
                topics=len(wanted & set(entry.topics)) / len(entry.topics) if wanted and entry.topics else 0.0,
                same_language=float(entry.language == language),
                query_coverage=sum(self._idf[t] for t in shared) / query_mass,
                question_coverage=len(question_stems & set(shared)) / len(question_stems) if question_stems else 0.0,
                shared=math.log1p(len(shared)),
                lead=(score - best[rank + 1][0]) / 100.0 if rank + 1 < len(best) else score / 100.0,
                rank=float(rank), unexplained=unknown * self._max_idf / query_mass,
                question_concepts=self._question_concepts(query_concepts, doc),
                query_in_question=sum(self._idf[t] for t in singles if t in question_stems) / query_mass,
                missing_specific=max(missing + [self._max_idf if unknown else 0.0]) / self._max_idf)
            if self.confidence is not None:
                probability = self.confidence.probability(features)
                strength = self.confidence.strength(probability)
                good = strength == "strong"
            else:
                probability, strength = None, ""
                good = score >= good_score and len(shared) >= MIN_SHARED_TERMS_FOR_GOOD
            matches.append(QAMatch(entry, round(score, 1), round(lexical, 3), round(fuzzy, 1), shared, good,
                                   None if probability is None else round(probability, 3), strength, features))
        return matches

    def _question_concepts(self, query_concepts: set[str], doc: int) -> float:
        """The share of Q&A ``doc``'s question concepts that the query names too (1.0: the question has none)."""
        concepts = self._question_concept_sets[doc]
        return len(concepts & query_concepts) / len(concepts) if concepts else 1.0

    def _shared_terms(self, query_terms: Iterable[str], doc: int) -> tuple[str, ...]:
        """The query's single-word terms that also occur in Q&A ``doc`` (postings are sorted)."""
        shared = []
        for term in query_terms:
            if " " in term or term.startswith(PREFIX):
                continue
            docs = self._docs[term]
            i = int(np.searchsorted(docs, doc))
            if i < len(docs) and docs[i] == doc:
                shared.append(term)
        return tuple(sorted(shared))
