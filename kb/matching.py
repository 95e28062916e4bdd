"""Find the Q&As that already answer a new query.

Two stages, because the bank may hold 100,000 entries and a query must be
matched in a fraction of a millisecond:

1. **Retrieve** with a word tf-idf index (stems and stem pairs, accents folded,
   function words dropped, domain concepts). Only the query's own terms are
   looked up, and terms found in more than 5% of a large bank are skipped (they
   rank nothing and cost the most).
2. **Rerank** the best candidates with rapidfuzz (token-set similarity of the
   folded stems, which forgives word order and extra words), plus agreement of
   the Q&A's topics with the topics found for the query.

Each match carries the terms it shares with the query, so the specialist can
see *why* it was proposed. The index itself is flat numpy arrays
(``kb.match_index``): a few tens of bytes per Q&A, saved to one file and loaded
again in milliseconds, so a command-line call does not rebuild it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process

from classifier.text import elide, piece_words
from kb.concepts import PREFIX, ConceptTable
from kb.match_confidence import MatchConfidence, MatchFeatures
from kb.match_build import IndexBuilder, PieceMemo
from kb.match_index import (
    EntryList,
    EntryStore,
    Postings,
    QAEntry,
    TextBlob,
    Vocabulary,
    check_index,
    inverse_document_frequency,
    read_index,
    write_index,
)

__all__ = ["Analyser", "QAEntry", "QAMatch", "QAMatcher"]

STEMMERS = {"en": "english", "fr": "french", "es": "spanish"}
#: In banks larger than this, very common terms are skipped at query time.
COMMON_TERM_MIN_BANK = 200
COMMON_TERM_SHARE = 0.05
CANDIDATES = 30
#: Candidates are found by scanning every score in a bank of up to ``SCAN_ALL_UP_TO`` entries or of under
#: ``SCAN_ALL`` times the postings read; beyond, from the postings (see ``_best_candidates``).
SCAN_ALL, SCAN_ALL_UP_TO = 8, 20_000
#: Fuzzy similarities are computed one call each for fewer texts than this (``cdist``'s set-up costs more).
CDIST_FROM = 8
#: Query terms whose id and idf are remembered (queries repeat their words); then the memory starts afresh.
REMEMBERED_TERMS = 50_000
#: What is remembered of a term the bank has never seen: (id, idf, whether it ranks).
_UNKNOWN = (-1, 0.0, False)
#: A match resting on a single shared word ("salary") is a coincidence, not an answer.
MIN_SHARED_TERMS_FOR_GOOD = 2
#: An answer term counts for this much of a question term (one over a whole number: counts add exactly).
ANSWER_TERM_WEIGHT = 0.25
WEIGHTS = {"lexical": 0.45, "fuzzy": 0.30, "topics": 0.20, "language": 0.05}
_WEIGHTS = (WEIGHTS["lexical"], WEIGHTS["fuzzy"], WEIGHTS["topics"], WEIGHTS["language"])
#: Analysed when an index is saved and loaded: a changed tokenizer, stop list or stemmer gives other terms,
#: so an index saved before the change is rebuilt rather than trusted.
PROBES = {"en": "Can't we stop the workers' unpaid overtime at our suppliers? Child labour, paid leave.",
          "fr": "L'employeur peut-il refuser les congés payés d'une ouvrière enceinte ? Travail forcé.",
          "es": "¿Los trabajadores migrantes tienen derecho a vacaciones pagadas? Salario mínimo."}


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


class Analyser:
    """Stems content words with the stemmer of the text's language; with the concept table, a text's terms
    also name the domain concepts it mentions (``c:annual_leave``), whatever the words and the language."""

    def __init__(self, *, concepts: bool = False, cache_dir: Path | None = None) -> None:
        self._stemmers = {code: snowballstemmer.stemmer(name) for code, name in STEMMERS.items()}
        # Stemming is the slow part of indexing a large bank, and words repeat: remember each one.
        self._memo: dict[str, dict[str, str]] = {code: {} for code in STEMMERS}
        self._pieces: dict[str, PieceMemo] = {}
        self.concepts: ConceptTable | None = None
        if concepts:  # with a cache folder, the stemmed table is kept there for the next process
            self.concepts = ConceptTable.shipped(self.stems, cache_dir=cache_dir)
        self._signature: str | None = None

    def stems(self, text: str, language: str) -> list[str]:
        """The stems of the text's content words, in order. A text is read a piece (between white space) at a
        time, and the stems of each piece are remembered: pieces repeat far more than texts do ("workers,"),
        so most of a large bank is read by dictionary look-ups at C speed."""
        return list(chain.from_iterable(map(self.piece_stems(language).__getitem__, self.pieces(text))))

    @staticmethod
    def pieces(text: str) -> list[str]:
        """The pieces of a text, between white space, that ``piece_stems`` reads."""
        return elide(text).split()

    def piece_stems(self, language: str) -> Mapping[str, tuple[str, ...]]:
        """A piece of text in ``language`` -> the stems of its content words (remembered)."""
        pieces = self._pieces.get(language)
        if pieces is None:
            stem_words = self._stem_words(language)
            pieces = self._pieces[language] = PieceMemo(lambda piece: stem_words(piece_words(piece)))
        return pieces

    def _stem_words(self, language: str):
        stemmer = self._stemmers.get(language)
        if stemmer is None:
            return lambda words: tuple(words)
        memo = self._memo[language]

        def stem_words(words: list[str]) -> tuple[str, ...]:
            stems = list(map(memo.get, words))
            if None in stems:
                for i, stem in enumerate(stems):
                    if stem is None:
                        stems[i] = memo[words[i]] = stemmer.stemWord(words[i])
            return tuple(stems)

        return stem_words

    def terms(self, stems: Sequence[str], language: str | None = None) -> list[str]:
        terms = list(stems) + [f"{a} {b}" for a, b in zip(stems, stems[1:])]
        if self.concepts is not None and language is not None:
            terms += [PREFIX + c for c in self.concepts.find(stems, language)]
        return terms

    def signature(self) -> str:
        """What a saved index depends on besides the bank: the concept table and how texts become terms."""
        if self._signature is None:
            table = self.concepts.source if self.concepts is not None else None
            probes = {lang: self.terms(self.stems(text, lang), lang) for lang, text in PROBES.items()}
            self._signature = hashlib.sha256(json.dumps([STEMMERS, table, probes]).encode()).hexdigest()
        return self._signature


class QAMatcher:
    """An immutable index over a Q&A bank; rebuild it (or load the one saved for the bank's revision) when
    the bank changes.

    Each language version of a Q&A is its own entry (sharing the Q&A's ``id``); a match names the
    version that matched best, and a Q&A is never proposed twice. ``entries`` may be any iterable (a
    generator is read once and not kept): the index holds the texts it needs, not the objects.
    """

    def __init__(self, entries: Iterable[QAEntry], analyser: Analyser | None = None,
                 confidence: MatchConfidence | None = None) -> None:
        analyser = analyser or Analyser()
        builder = IndexBuilder(ANSWER_TERM_WEIGHT)
        for entry in entries:
            stems = analyser.stems(entry.question, entry.language)
            # The answer speaks the requester's vocabulary too ("a 16-year-old may work..."), but what the
            # Q&A is *about* is its question: answer terms count for less.
            builder.add(entry, " ".join(stems), analyser.terms(stems, entry.language),
                        analyser.pieces(entry.answer), analyser.piece_stems(entry.language))
        self._setup(*builder.finish(), analyser, confidence)

    def _setup(self, vocabulary: Vocabulary, postings: Postings, store: EntryStore, analyser: Analyser,
               confidence: MatchConfidence | None) -> None:
        self.analyser = analyser
        #: Without it, "good" is the old rule: a score of ``good_score`` and two shared words.
        self.confidence = confidence
        self._vocabulary, self._postings, self._store = vocabulary, postings, store
        #: The few concept terms (``c:...``), to tell a question's concepts among its terms.
        self._concept_terms = frozenset(np.flatnonzero(postings.is_concept).tolist())
        n = len(store)
        self._max_df = n * COMMON_TERM_SHARE if n > COMMON_TERM_MIN_BANK else None
        #: The idf a word the bank has never seen would have (it is as specific as a word can be).
        self._max_idf = math.log(1 + max(n, 1)) + 1.0
        self._remembered: dict[str, tuple[int, float, bool]] = {}

    def __len__(self) -> int:
        return len(self._store)

    @property
    def entries(self) -> Sequence[QAEntry]:
        """The indexed entries, in order (each made when read)."""
        return EntryList(self._store)

    # ------------------------------------------------------------------------------------- the saved index
    def save(self, path: Path, revision: str) -> None:
        """Write the whole index to ``path`` (atomically), marked with the bank's ``revision``."""
        meta = {"revision": revision, "analyser": self.analyser.signature(), **self._store.meta()}
        write_index(path, meta, {**self._vocabulary.arrays(), **self._postings.arrays(), **self._store.arrays()})

    @classmethod
    def load(cls, path: Path, revision: str, analyser: Analyser,
             confidence: MatchConfidence | None) -> "QAMatcher | None":
        """The index saved at ``path`` for ``revision`` with this analyser; None when there is none to trust
        (missing, unreadable, another format, another revision, another analyser): rebuild it then."""
        found = read_index(path, revision)
        if found is None or found[0].get("analyser") != analyser.signature():
            return None
        meta, arrays = found
        try:
            vocabulary, postings = Vocabulary.from_arrays(arrays), Postings.from_arrays(arrays)
            store = EntryStore.from_arrays(arrays, meta)
            check_index(arrays, vocabulary, postings, store)
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            return None
        matcher = cls.__new__(cls)
        matcher._setup(vocabulary, postings, store, analyser, confidence)
        return matcher

    # ------------------------------------------------------------------------------------------- matching
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
        n = len(self._store)
        if not n:
            return []
        stems = self.analyser.stems(text, language)
        counts = Counter(self.analyser.terms(stems, language))
        known: dict[str, int] = {}
        idf: dict[str, float] = {}
        query_weights: dict[str, float] = {}
        scored: list[str] = []  # the terms that rank: not too common
        stem_set, unknown = set(stems), 0
        for (term, count), (i, term_idf, ranks) in zip(counts.items(), self._look_up(list(counts))):
            if i < 0:
                unknown += term in stem_set  # distinct words the bank has never seen
                continue
            known[term], idf[term] = i, term_idf
            query_weights[term] = (1.0 + math.log(count)) * term_idf
            if ranks:
                scored.append(term)
        if not scored:
            return []
        query_norm = math.sqrt(sum(w * w for w in query_weights.values()))
        scores, touched = self._postings.scores(
            [known[t] for t in scored], [query_weights[t] / query_norm for t in scored], [idf[t] for t in scored])
        candidates = _best_candidates(scores, touched, len(scored))
        if not len(candidates):
            return []
        store = self._store
        wanted = set(topics)
        groups = store.topics[candidates].tolist()
        overlap_of = {g: _overlap(wanted, store.topic_groups[g]) for g in set(groups)}
        code = store.languages.index(language) if language in store.languages else -1
        rerank = _Rerank(np.minimum(scores[candidates], 1.0), [overlap_of[g] for g in groups],
                         store.language[candidates] == code)
        best, stem_texts = rerank.best(k + 1, " ".join(stems), store.stems, candidates,
                                       store.ids[candidates].tolist())
        singles = [t for t in query_weights if " " not in t and not t.startswith(PREFIX)]
        single_of = {known[t]: t for t in singles}  # term id -> the query's single word
        query_concepts = {known[t] for t in query_weights if t.startswith(PREFIX)}
        single_idf = [(t, idf[t]) for t in singles]  # read for each match: once
        known_mass = sum(v for _, v in single_idf)
        query_mass = known_mass + unknown * self._max_idf or 1.0
        total, lexical, fuzzy = rerank.total, rerank.lexical, rerank.fuzzy
        matches = []
        for rank, i in enumerate(best[:k]):
            doc = int(candidates[i])
            doc_terms = set(self._postings.terms_of(doc))
            shared = tuple(sorted(single_of[j] for j in doc_terms.intersection(single_of)))
            shared_set, question_stems = set(shared), set(stem_texts[i].split())
            missing = [v for t, v in single_idf if t not in shared_set]
            concepts = doc_terms & self._concept_terms  # a question's: answers add only single words
            features = MatchFeatures(
                lexical=lexical[i], fuzzy=fuzzy[i] / 100.0, topics=overlap_of[groups[i]],
                same_language=float(store.language.item(doc) == code),
                query_coverage=sum(idf[t] for t in shared) / query_mass,
                question_coverage=len(question_stems & shared_set) / len(question_stems) if question_stems else 0.0,
                shared=math.log1p(len(shared)),
                lead=(total[i] - total[best[rank + 1]]) / 100.0 if rank + 1 < len(best) else total[i] / 100.0,
                rank=float(rank), unexplained=unknown * self._max_idf / query_mass,
                # the share of the question's concepts the query names too (1.0: the question has none)
                question_concepts=len(concepts & query_concepts) / len(concepts) if concepts else 1.0,
                query_in_question=sum(v for t, v in single_idf if t in question_stems) / query_mass,
                missing_specific=max(missing + [self._max_idf if unknown else 0.0]) / self._max_idf)
            if self.confidence is not None:
                probability = self.confidence.probability(features)
                strength = self.confidence.strength(probability)
                good = strength == "strong"
            else:
                probability, strength = None, ""
                good = total[i] >= good_score and len(shared) >= MIN_SHARED_TERMS_FOR_GOOD
            matches.append(QAMatch(store.entry(doc), round(total[i], 1), round(lexical[i], 3), round(fuzzy[i], 1),
                                   shared, good, None if probability is None else round(probability, 3), strength,
                                   features))
        return matches

    def _look_up(self, terms: list[str]) -> list[tuple[int, float, bool]]:
        """Each term's (id, idf, whether it ranks: not too common), or ``_UNKNOWN``; remembered."""
        remembered = self._remembered
        found = list(map(remembered.get, terms))
        if None in found:
            missing = [i for i, info in enumerate(found) if info is None]
            ids = self._vocabulary.ids([terms[i] for i in missing])
            dfs = iter(self._postings.df([i for i in ids if i >= 0]))
            if len(remembered) > REMEMBERED_TERMS:
                remembered.clear()
            n = len(self._store)
            for position, i in zip(missing, ids):
                if i < 0:
                    info = _UNKNOWN
                else:
                    df = next(dfs)
                    info = (i, inverse_document_frequency(df, n), self._max_df is None or df <= self._max_df)
                remembered[terms[position]] = found[position] = info
        return found


def _overlap(wanted: set[str], topics: tuple[str, ...]) -> float:
    """The share of a Q&A's topics that were found in the query."""
    return len(wanted & set(topics)) / len(topics) if wanted and topics else 0.0


def _best_candidates(scores: np.ndarray, touched: np.ndarray, terms: int) -> np.ndarray:
    """The entries with the ``CANDIDATES`` highest non-zero scores, in bank order; of equal scores at the
    cut, the earlier entries (a rule, where a partial sort would pick any).

    ``touched`` holds the entry of every posting read for the query's ``terms`` (so an entry appears at
    most ``terms`` times). In a large bank, scanning all the scores costs more than these: fewer than
    ``CANDIDATES * terms`` postings can belong to entries scoring above the cut, so the entries of the
    postings scoring at least the ``CANDIDATES * terms``-th best hold every candidate.
    """
    if len(scores) > max(SCAN_ALL * len(touched), SCAN_ALL_UP_TO):
        values, enough = scores[touched], CANDIDATES * terms
        if len(values) > enough:
            touched = touched[values >= np.partition(values, len(values) - enough)[len(values) - enough]]
        touched = np.sort(touched)
        nonzero = touched[np.diff(touched, prepend=-1) != 0]  # distinct (np.unique is much slower)
        nonzero = nonzero[scores[nonzero] != 0]
    else:
        nonzero = (scores != 0).nonzero()[0]  # much faster than on the floats themselves
    if len(nonzero) <= CANDIDATES:
        return nonzero
    values = scores[nonzero]
    ordered = values.copy()
    ordered.partition(len(values) - CANDIDATES)
    cut = ordered[len(values) - CANDIDATES]
    chosen = nonzero[values >= cut]
    if len(chosen) > CANDIDATES:  # ties at the cut
        above = values > cut
        tied = nonzero[~above & (values == cut)][:CANDIDATES - int(above.sum())]
        chosen = np.sort(np.concatenate([nonzero[above], tied]))
    return chosen


class _Rerank:
    """The candidates' scores: lexical, fuzzy, topics and language, weighted (plain floats: there are 30).

    The fuzzy similarity is the costly part, so it is computed first for the few candidates that could
    score best; when those Q&As score more than any other candidate could even with a perfect fuzzy
    similarity, the others cannot change the result. Otherwise all the others are scored too.
    """

    def __init__(self, lexical: np.ndarray, overlap: list[float], same_language: np.ndarray) -> None:
        self.lexical, self._overlap, self._same = lexical.tolist(), overlap, same_language.tolist()
        self.fuzzy = [0.0] * len(lexical)
        # a bound, until computed: ``_score`` with a perfect fuzzy similarity, the same operations on arrays
        lexical_weight, fuzzy_weight, topics, language = _WEIGHTS
        self._bounds = 100.0 * (lexical_weight * lexical + fuzzy_weight * 100.0 / 100.0
                                + topics * np.asarray(overlap) + language * same_language)
        self.total = self._bounds.tolist()

    def _score(self, i: int, fuzzy: float, weights=_WEIGHTS) -> float:
        lexical, fuzzy_weight, topics, language = weights
        return 100.0 * (lexical * self.lexical[i] + fuzzy_weight * fuzzy / 100.0
                        + topics * self._overlap[i] + language * self._same[i])

    def best(self, count: int, query_stems: str, stems: TextBlob, candidates: np.ndarray,
             qa_ids: list[int]) -> tuple[list[int], dict[int, str]]:
        """Positions of the best ``count`` candidates, one per Q&A (its best version), best first (equal
        scores: bank order), and the question stems of the candidates scored."""
        total, bounds = self.total, self._bounds.tolist()
        order = (-self._bounds).argsort(kind="stable").tolist()
        texts: dict[int, str] = {}
        done, best = 0, []
        while done < len(order):
            batch = order[done:done + count] if not done else order[done:]  # then all the others
            done += len(batch)
            batch_texts = stems.many(candidates[batch])
            texts.update(zip(batch, batch_texts))
            if len(batch_texts) < CDIST_FROM:
                scores = [fuzz.token_set_ratio(query_stems, text) for text in batch_texts]
            else:
                scores = process.cdist([query_stems], batch_texts, scorer=fuzz.token_set_ratio,
                                       dtype=np.float64)[0].tolist()
            for i, fuzzy in zip(batch, scores):
                self.fuzzy[i], total[i] = fuzzy, self._score(i, fuzzy)
            best, seen = [], set()
            for i in sorted(order[:done], key=lambda i: (-total[i], i)):
                if qa_ids[i] not in seen:
                    seen.add(qa_ids[i])
                    best.append(i)
                    if len(best) == count:
                        break
            if len(best) == count and done < len(order) and bounds[order[done]] < total[best[-1]]:
                break
        return best, texts
