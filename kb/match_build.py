"""Building the matcher's index: analysed entries in, the flat arrays of ``kb.match_index`` out.

Entries arrive one at a time (the bank may be a generator) and are appended to growable ``array``
buffers, a few bytes per term occurrence, never kept as objects. Their terms are numbered as they come and
counted ``COUNTED_ENTRIES`` entries at a time, by sorting the numbers (no counting dictionary per entry).
``finish`` then turns the entry-major postings into term-major ones with a counting sort and sums each
entry's norm, a chunk at a time, so that no temporary array is as large as the postings themselves.
"""

from __future__ import annotations

from array import array
from itertools import accumulate
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from kb.concepts import PREFIX
from kb.match_index import (
    EntryStore,
    Postings,
    QAEntry,
    TextBlob,
    Vocabulary,
    inverse_document_frequency,
    term_frequency,
)

#: Postings handled at once while finishing (bounds the temporary arrays); a power of two.
CHUNK = 1 << 18
#: Texts encoded at once into a blob.
PENDING_TEXTS = 4096
#: Entries whose term occurrences are held before they are counted.
COUNTED_ENTRIES = 4096
#: The most units one term may count in one entry (its count is kept in 16 bits).
MAX_UNITS = 0xFFFF
#: Pieces of text (between white space) whose stems, or term numbers, are remembered per language; then the
#: memory starts afresh (``PieceMemo``).
REMEMBERED_PIECES = 50_000  # about 11 MiB a language at most


class TextBlobBuilder:
    """Strings appended one by one to a growing UTF-8 buffer (a ``TextBlob`` once finished). They are encoded
    ``PENDING_TEXTS`` at a time: one ``join`` and one ``encode`` for the lot, most of them ASCII."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._offsets = array("q", [0])
        self._pending: list[str] = []

    def add(self, text: str) -> int:
        """Its index: the texts encoded so far (one offset each, after the first) and those pending before it."""
        index = len(self._offsets) - 1 + len(self._pending)
        self._pending.append(text)
        if len(self._pending) == PENDING_TEXTS:
            self._encode_pending()
        return index

    def _encode_pending(self) -> None:
        pending, self._pending = self._pending, []
        joined = "".join(pending)
        if joined.isascii():  # one byte a character: the lengths are the strings'
            lengths: Iterable[int] = map(len, pending)
            data = joined.encode("ascii")
        else:
            encoded = [text.encode("utf-8") for text in pending]
            lengths, data = map(len, encoded), b"".join(encoded)
        ends = accumulate(lengths, initial=len(self._buffer))
        next(ends)
        self._offsets.extend(ends)
        self._buffer += data

    def finish(self) -> TextBlob:
        self._encode_pending()
        return TextBlob(self._buffer, np.frombuffer(self._offsets, dtype=np.int64))


class IndexBuilder:
    """Collects analysed entries in growable arrays, then freezes them into the numpy index."""

    def __init__(self, unit: float) -> None:
        #: What one count is worth: entries' counts are whole numbers of it, so that they add exactly.
        self._unit = unit
        #: A question term counts this many answer terms (one unit each).
        self._question_units = round(1 / unit)
        if self._question_units * unit != 1.0:
            raise ValueError("an answer term must weigh one over a whole number of question terms")
        self._terms: dict[str, int] = {}
        self._doc_terms = array("i")
        self._doc_units = array("H")
        self._doc_ends = array("q", [0])
        # the term occurrences of the entries not counted yet: their numbers, and where each entry's end
        self._question_ids, self._answer_ids = array("i"), array("i")
        self._question_ends, self._answer_ends = array("q"), array("q")
        self._piece_numbers: dict[str, PieceMemo] = {}  # per language
        self._texts, self._stems = TextBlobBuilder(), TextBlobBuilder()
        self._languages: dict[str, int] = {}
        self._topic_groups: dict[tuple[str, ...], int] = {}
        self._columns = {c: array("q" if c == "ids" else "i") for c in EntryStore._COLUMNS}
        #: Each held entry's own columns (``EntryStore._ENTRY_COLUMNS``, in order), until its terms are counted.
        self._rows: list[tuple[int, ...]] = []
        self._last_versions: tuple[tuple[str, str, str], ...] | None = None
        self._version_start = 0
        self._recent: dict[str, int] = {}  # texts of the current Q&A (its versions repeat them)

    def add(self, entry: QAEntry, stem_text: str, question_terms: Sequence[str], answer_pieces: Iterable[str],
            piece_terms: Mapping[str, tuple[str, ...]]) -> None:
        """One entry: its question's stems, its question's terms, and its answer as pieces of text with
        the terms of each piece (in the entry's language). An occurrence in the question counts ``1 / unit``
        units, one in the answer one unit. Terms are numbered in order of first appearance."""
        self._question_ids.fromlist(_ids(self._terms, question_terms))
        numbers = self._piece_numbers.get(entry.language)
        if numbers is None:
            # a piece -> the numbers of its terms as the bytes of an ``array("i")``: an answer is numbered by
            # look-ups and one ``bytes.join``
            numbers = self._piece_numbers[entry.language] = PieceMemo(
                lambda piece: array("i", _ids(self._terms, piece_terms[piece])).tobytes())
        self._answer_ids.frombytes(b"".join(map(numbers.__getitem__, answer_pieces)))
        self._question_ends.append(len(self._question_ids))
        self._answer_ends.append(len(self._answer_ids))
        self._stems.add(stem_text)
        versions, text = entry.versions, self._text
        if versions != self._last_versions or not versions:
            self._recent = {}
            self._version_start = self._add_versions(versions)
            self._last_versions = versions
        self._rows.append((entry.id, self._language(entry.language),
                           self._topic_groups.setdefault(tuple(entry.topics), len(self._topic_groups)),
                           text(entry.key), text(entry.question), text(entry.answer),
                           self._version_start, len(versions)))
        if len(self._rows) == COUNTED_ENTRIES:
            self._count_held()

    def _add_versions(self, versions: tuple[tuple[str, str, str], ...]) -> int:
        """The language versions of a new Q&A; where the first is."""
        col = self._columns
        start = len(col["version_language"])
        for language, question, answer in versions:
            col["version_language"].append(self._language(language))
            col["version_question"].append(self._text(question))
            col["version_answer"].append(self._text(answer))
        return start

    def _count_held(self) -> None:
        """The held entries' terms counted (each entry's distinct terms, ascending, and their units), and
        their own columns written."""
        held = len(self._rows)
        if not held:
            return
        shift = self._question_units.bit_length()  # a key's low bits carry its occurrence's units
        question = _keys(self._question_ids, self._question_ends, shift) | self._question_units
        keys = np.sort(np.concatenate([question, _keys(self._answer_ids, self._answer_ends, shift) | 1]))
        pair = keys >> shift  # (entry << 32) | term
        starts = np.flatnonzero(np.diff(pair, prepend=-1))
        units = np.add.reduceat(keys & ((1 << shift) - 1), starts) if len(keys) else np.zeros(0, np.int64)
        if len(units) and units.max() > MAX_UNITS:
            raise ValueError("a term counted 65,536 times or more in one entry: the index cannot hold it")
        pair = pair[starts]
        self._doc_terms.frombytes((pair & 0xFFFFFFFF).astype(np.int32).tobytes())
        self._doc_units.frombytes(units.astype(np.uint16).tobytes())
        ends = np.cumsum(np.bincount(pair >> 32, minlength=held)) + self._doc_ends[-1]
        self._doc_ends.frombytes(ends.astype(np.int64).tobytes())
        for buffer in (self._question_ids, self._answer_ids, self._question_ends, self._answer_ends):
            del buffer[:]
        rows, self._rows = self._rows, []
        for name, values in zip(EntryStore._ENTRY_COLUMNS, zip(*rows)):
            self._columns[name].fromlist(list(values))

    def _text(self, text: str) -> int:
        index = self._recent.get(text)
        if index is None:
            index = self._recent[text] = self._texts.add(text)
        return index

    def _language(self, language: str) -> int:
        code = self._languages.setdefault(language, len(self._languages))
        if code > 255:
            raise ValueError("more than 256 languages in one bank")
        return code

    def finish(self) -> tuple[Vocabulary, Postings, EntryStore]:
        self._count_held()
        n, vocabulary_size = len(self._doc_ends) - 1, len(self._terms)
        doc_indptr = np.frombuffer(self._doc_ends, dtype=np.int64)
        doc_terms = np.frombuffer(self._doc_terms, dtype=np.int32)
        units = np.frombuffer(self._doc_units, dtype=np.uint16)
        present = np.flatnonzero(np.bincount(units))  # the distinct counts, coded by rank
        code_of = np.zeros(int(present[-1]) + 1 if len(present) else 1, dtype=np.int64)
        code_of[present] = np.arange(len(present))
        codes = code_of[units].astype(np.uint8 if len(present) <= 256 else np.uint16)
        del units
        self._doc_units = array("H")
        indptr, docs, codes = _group_by_term(doc_indptr, doc_terms, codes, vocabulary_size)
        tf = np.array([term_frequency(int(count) * self._unit) for count in present], dtype=np.float64)
        norms = _norms(indptr, docs, codes, tf, n)
        terms = list(self._terms)
        self._terms = {}
        is_concept = np.fromiter((t.startswith(PREFIX) for t in terms), dtype=bool, count=len(terms))
        postings = Postings(indptr, docs, codes, tf, norms, doc_indptr, doc_terms, is_concept)
        columns = {c: np.frombuffer(a, dtype=np.int64 if c == "ids" else np.int32)
                   for c, a in self._columns.items()}
        columns["language"] = columns["language"].astype(np.uint8)
        columns["version_language"] = columns["version_language"].astype(np.uint8)
        store = EntryStore(**columns, texts=self._texts.finish(), stems=self._stems.finish(),
                           languages=tuple(self._languages), topic_groups=tuple(self._topic_groups))
        return Vocabulary.from_terms(terms), postings, store


class PieceMemo(dict):
    """A piece of text (between white space) -> what ``work_out`` makes of it, worked out on first sight and
    remembered: pieces repeat far more than texts do ("workers,"), so most of a large bank is read by dictionary
    look-ups at C speed. At ``REMEMBERED_PIECES`` the memory starts afresh."""

    def __init__(self, work_out: Callable[[str], object]) -> None:
        super().__init__()
        self._work_out = work_out

    def __missing__(self, piece: str):
        if len(self) >= REMEMBERED_PIECES:
            self.clear()
        value = self[piece] = self._work_out(piece)
        return value


def _ids(table: dict, keys: Sequence) -> list[int]:
    """The id of each key in ``table``, new keys numbered on from its size (looked up at C speed first)."""
    ids = list(map(table.get, keys))
    if None in ids:
        for i, key in enumerate(keys):
            if ids[i] is None:
                ids[i] = table.setdefault(key, len(table))
    return ids


def _keys(ids: array, ends: array, shift: int) -> np.ndarray:
    """Each held occurrence as ``((entry << 32) | term) << shift``, the entry counted within the held ones."""
    entry = np.repeat(np.arange(len(ends), dtype=np.int64), np.diff(np.frombuffer(ends, np.int64), prepend=0))
    return ((entry << 32) | np.frombuffer(ids, np.int32)) << shift


def _group_by_term(doc_indptr: np.ndarray, doc_terms: np.ndarray, codes: np.ndarray,
                   vocabulary_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry-major postings to term-major (indptr, entries ascending within a term, their codes): a counting
    sort, a chunk at a time so that no temporary array is as large as the postings."""
    indptr = np.zeros(vocabulary_size + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc_terms, minlength=vocabulary_size), out=indptr[1:])
    free = indptr[:-1].copy()  # the next free slot of each term
    docs, by_term = np.empty(len(doc_terms), dtype=np.int32), np.empty_like(codes)
    shift = CHUNK.bit_length() - 1
    for start in range(0, len(doc_terms), CHUNK):
        terms = doc_terms[start:start + CHUNK].astype(np.int64)
        keys = np.sort(terms << shift | np.arange(len(terms)))  # by term, then position: unique keys
        position, term = keys & (CHUNK - 1), keys >> shift
        first = np.flatnonzero(np.diff(term, prepend=-1))
        rank = np.arange(len(term)) - np.repeat(first, np.diff(np.append(first, len(term))))
        slot = free[term] + rank
        docs[slot] = _owners(doc_indptr, start, start + len(terms))[position]
        by_term[slot] = codes[start + position]
        free += np.bincount(terms, minlength=vocabulary_size)
    return indptr, docs, by_term


def _norms(indptr: np.ndarray, docs: np.ndarray, codes: np.ndarray, tf: np.ndarray, n: int) -> np.ndarray:
    """Each entry's tf-idf vector length, its squares summed term after term as the per-term arrays were
    (``np.add.at`` adds in order), a chunk of postings at a time."""
    distinct, which = np.unique(np.diff(indptr), return_inverse=True)
    idf = np.array([inverse_document_frequency(int(d), max(n, 1)) for d in distinct])[which]
    norms = np.zeros(n)
    for start in range(0, len(docs), CHUNK):
        end = min(start + CHUNK, len(docs))
        term_of = _owners(indptr, start, end)
        weights = tf[codes[start:end]] * idf[term_of]
        np.add.at(norms, docs[start:end], weights * weights)
    norms = np.sqrt(norms)
    norms[norms == 0] = 1.0
    return norms


def _owners(indptr: np.ndarray, start: int, end: int) -> np.ndarray:
    """The row (of a CSR ``indptr``) that owns each position from ``start`` to ``end``: the rows that
    overlap the range, each repeated as many times as it has positions in it."""
    first = int(np.searchsorted(indptr, start, side="right")) - 1
    last = int(np.searchsorted(indptr, end - 1, side="right")) - 1
    bounds = np.clip(indptr[first:last + 2], start, end)
    return np.repeat(np.arange(first, last + 1, dtype=np.int64), np.diff(bounds))
