"""The Q&A matcher's index as a few flat numpy arrays: small in memory, saved to and loaded from one file.

A dict of small arrays per term and a list of ``QAEntry`` objects cost about a kilobyte of Python
overhead per Q&A (930 MiB for 100,000) and cannot be saved without pickle. Here:

- ``Vocabulary``: the terms as one UTF-8 blob, found by their CRC-32 (sorted, binary-searched) and
  confirmed against the blob, so loading builds no dict of a million strings.
- ``Postings``: per term (CSC), the entries it occurs in, ascending, with a one- or two-byte code of its
  count; per entry (CSR), its terms. A weight is recomputed at query time from the count, the term's
  idf and the entry's norm with the very operations of the former per-term arrays, so scores do not move.
- ``EntryStore``: ids, languages, topics and every text as one blob with offsets; a ``QAEntry`` is made
  only for the entries a match returns.

``kb.match_build`` makes them from analysed entries; ``write_index``/``read_index`` keep them in an ``.npz``
file (no pickle).
"""

from __future__ import annotations

import io
import json
import math
import mmap
import os
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

#: Bumped whenever the arrays or the terms they hold change meaning: an older file is rebuilt, not misread.
FORMAT_VERSION = 1
FORMAT_NAME = "helpdesk-qa-match-index"


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


def term_frequency(count: float) -> float:
    """Sublinear term frequency that also accepts the fractional counts of answer terms."""
    return 1.0 + math.log(count) if count >= 1 else count


def inverse_document_frequency(docs: int, bank_size: int) -> float:
    """Smoothed idf of a term found in ``docs`` of ``bank_size`` entries (Python's log: the same bits everywhere)."""
    return math.log((1 + bank_size) / (1 + docs)) + 1.0


class TextBlob:
    """Strings stored as one UTF-8 buffer and ``len + 1`` offsets: no Python object per string."""

    def __init__(self, buffer: bytes | bytearray | np.ndarray, offsets: np.ndarray) -> None:
        self.buffer = buffer
        self._view = memoryview(buffer).cast("B")
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        offsets = self.offsets
        return str(self._view[offsets.item(i):offsets.item(i + 1)], "utf-8")

    def many(self, indices: np.ndarray) -> list[str]:
        view = self._view
        return [str(view[a:b], "utf-8") for a, b in zip(self.offsets[indices].tolist(),
                                                        self.offsets[indices + 1].tolist())]

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}_blob": np.frombuffer(self.buffer, dtype=np.uint8), f"{name}_offsets": self.offsets}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], name: str) -> "TextBlob":
        return cls(arrays[f"{name}_blob"], arrays[f"{name}_offsets"])


class Vocabulary:
    """Term -> id through the sorted CRC-32s of the terms; a hit is confirmed on the term's bytes."""

    def __init__(self, terms: TextBlob, hashes: np.ndarray, order: np.ndarray) -> None:
        self.terms = terms
        self._bytes = bytes(terms.buffer)
        self._hashes = hashes  # uint32, ascending
        self.order = order  # the term id at each position of ``_hashes``

    @classmethod
    def from_terms(cls, terms: Sequence[str]) -> "Vocabulary":
        encoded = [t.encode("utf-8") for t in terms]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        hashes = np.fromiter(map(zlib.crc32, encoded), dtype=np.uint32, count=len(encoded))
        order = np.argsort(hashes, kind="stable").astype(np.int32)
        return cls(TextBlob(b"".join(encoded), offsets), hashes[order], order)

    def __len__(self) -> int:
        return len(self.order)

    def ids(self, terms: Sequence[str]) -> list[int]:
        """Each term's id, or -1 when the bank never had it."""
        if not len(self.order) or not terms:
            return [-1] * len(terms)
        encoded = [t.encode("utf-8") for t in terms]
        wanted = np.fromiter(map(zlib.crc32, encoded), dtype=np.uint32, count=len(encoded))
        positions = np.minimum(self._hashes.searchsorted(wanted), len(self.order) - 1)
        candidates = self.order[positions]
        hits = (self._hashes[positions] == wanted).tolist()
        offsets = self.terms.offsets
        starts, ends = offsets[candidates].tolist(), offsets[candidates + 1].tolist()
        data, out = self._bytes, []
        for i, (term, hit, candidate) in enumerate(zip(encoded, hits, candidates.tolist())):
            if not hit:
                out.append(-1)
            elif data[starts[i]:ends[i]] == term:
                out.append(candidate)
            else:  # another term with the same CRC sorts first: look at the others
                out.append(self._colliding(term, int(wanted[i]), int(positions[i])))
        return out

    def _colliding(self, term: bytes, crc: int, position: int) -> int:
        offsets = self.terms.offsets
        while position < len(self._hashes) and int(self._hashes[position]) == crc:
            candidate = int(self.order[position])
            if self._bytes[offsets[candidate]:offsets[candidate + 1]] == term:
                return candidate
            position += 1
        return -1

    def arrays(self) -> dict[str, np.ndarray]:
        return {**self.terms.arrays("terms"), "term_hashes": self._hashes, "term_order": self.order}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Vocabulary":
        return cls(TextBlob.from_arrays(arrays, "terms"), arrays["term_hashes"], arrays["term_order"])


@dataclass
class Postings:
    """Term-major postings (CSC) to score, entry-major terms (CSR) to explain a match."""

    indptr: np.ndarray  # int64, terms + 1
    docs: np.ndarray  # int32, ascending within each term
    codes: np.ndarray  # uint8/uint16: index into ``tf``
    tf: np.ndarray  # float64: term frequency of each distinct count
    norms: np.ndarray  # float64 per entry: length of its tf-idf vector
    doc_indptr: np.ndarray  # int64, entries + 1
    doc_terms: np.ndarray  # int32: each entry's term ids
    is_concept: np.ndarray  # bool per term

    def df(self, term_ids: list[int]) -> list[int]:
        ids = np.asarray(term_ids, dtype=np.int64)
        return (self.indptr[ids + 1] - self.indptr[ids]).tolist()

    def scores(self, term_ids: list[int], scales: list[float], idfs: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Dense cosine scores of every entry against a query given as term ids, query weights and idfs,
        and the entries of the postings read (one per posting, so an entry may repeat).

        The weights are ``(tf * idf) / norm``, multiplied by the query's and summed in the query's term
        order (``bincount`` adds in array order): the same floating-point steps as adding per-term arrays.
        """
        ids = np.asarray(term_ids, dtype=np.int64)
        starts = self.indptr[ids]
        lengths = self.indptr[ids + 1] - starts
        # the positions of the terms' postings, one range after another
        positions = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        docs, codes = self.docs[positions], self.codes[positions]
        # each posting's idf * tf (its term's idf, its own count), over its entry's norm
        weights = np.asarray(idfs).repeat(lengths) * self.tf[codes] / self.norms[docs]
        scores = np.bincount(docs, weights=np.asarray(scales).repeat(lengths) * weights, minlength=len(self.norms))
        return scores, docs

    def terms_of(self, doc: int) -> list[int]:
        return self.doc_terms[self.doc_indptr.item(doc):self.doc_indptr.item(doc + 1)].tolist()

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"postings_{name}": getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Postings":
        return cls(**{name: arrays[f"postings_{name}"] for name in cls.__dataclass_fields__})


@dataclass
class EntryStore:
    """Every entry's fields as columns; ``entry(doc)`` makes the ``QAEntry`` of one."""

    ids: np.ndarray  # int64
    language: np.ndarray  # uint8 index into ``languages``
    topics: np.ndarray  # int32 index into ``topic_groups``
    key: np.ndarray  # int32 index into ``texts``; so are ``question`` and ``answer``
    question: np.ndarray
    answer: np.ndarray
    version_start: np.ndarray  # int32 rows of the version columns, shared by an entry's sibling versions
    version_count: np.ndarray  # int32
    version_language: np.ndarray  # uint8
    version_question: np.ndarray  # int32
    version_answer: np.ndarray  # int32
    texts: TextBlob
    stems: TextBlob  # the question's stems, space-separated (what fuzzy matching compares)
    languages: tuple[str, ...]
    topic_groups: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return len(self.ids)

    def entry(self, doc: int) -> QAEntry:
        texts = self.texts
        start = self.version_start.item(doc)
        end = start + self.version_count.item(doc)
        versions = tuple((self.languages[language], texts[question], texts[answer]) for language, question, answer
                         in zip(self.version_language[start:end].tolist(), self.version_question[start:end].tolist(),
                                self.version_answer[start:end].tolist())) if end > start else ()
        return QAEntry(self.ids.item(doc), texts[self.key.item(doc)], texts[self.question.item(doc)],
                       texts[self.answer.item(doc)], self.topic_groups[self.topics.item(doc)],
                       self.languages[self.language.item(doc)], versions)

    _COLUMNS = ("ids", "language", "topics", "key", "question", "answer", "version_start", "version_count",
                "version_language", "version_question", "version_answer")
    #: The columns with one value per entry (the others have one per language version).
    _ENTRY_COLUMNS = _COLUMNS[:8]

    def arrays(self) -> dict[str, np.ndarray]:
        return {**{f"entry_{c}": getattr(self, c) for c in self._COLUMNS},
                **self.texts.arrays("texts"), **self.stems.arrays("stems")}

    def meta(self) -> dict:
        return {"languages": list(self.languages), "topic_groups": [list(g) for g in self.topic_groups]}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping) -> "EntryStore":
        return cls(**{c: arrays[f"entry_{c}"] for c in cls._COLUMNS},
                   texts=TextBlob.from_arrays(arrays, "texts"), stems=TextBlob.from_arrays(arrays, "stems"),
                   languages=tuple(meta["languages"]), topic_groups=tuple(tuple(g) for g in meta["topic_groups"]))


class EntryList(Sequence[QAEntry]):
    """The matcher's entries as a read-only sequence, each made when it is read."""

    def __init__(self, store: EntryStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, index: int | slice) -> QAEntry | list[QAEntry]:  # type: ignore[override]
        if isinstance(index, slice):
            return [self._store.entry(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("entry index out of range")
        return self._store.entry(index)

    def __iter__(self) -> Iterator[QAEntry]:
        return (self._store.entry(i) for i in range(len(self)))


# ---------------------------------------------------------------------------------------------- the file
#: The type of every array of a saved index (codes: one byte, or two when a bank has more distinct counts).
DTYPES = {
    "terms_blob": "u1", "terms_offsets": "i8", "term_hashes": "u4", "term_order": "i4",
    "postings_indptr": "i8", "postings_docs": "i4", "postings_codes": ("u1", "u2"), "postings_tf": "f8",
    "postings_norms": "f8", "postings_doc_indptr": "i8", "postings_doc_terms": "i4", "postings_is_concept": "b1",
    "entry_ids": "i8", "entry_language": "u1", "entry_version_language": "u1",
    **{f"entry_{c}": "i4" for c in ("topics", "key", "question", "answer", "version_start", "version_count",
                                    "version_question", "version_answer")},
    "texts_blob": "u1", "texts_offsets": "i8", "stems_blob": "u1", "stems_offsets": "i8",
}


def check_index(arrays: Mapping[str, np.ndarray], vocabulary: Vocabulary, postings: Postings,
                store: EntryStore) -> None:
    """Raise ValueError unless a loaded index's arrays have their types and fit together: a damaged or
    foreign file must be rebuilt, not matched against."""
    for name, dtype in DTYPES.items():
        array_ = arrays[name]
        if array_.ndim != 1 or array_.dtype.str[1:] not in ((dtype,) if isinstance(dtype, str) else dtype):
            raise ValueError(f"{name}: {array_.dtype} {array_.shape}")
    n, terms, texts = len(store), len(vocabulary), len(store.texts)

    def within(values: np.ndarray, size: int) -> bool:
        return not len(values) or (int(values.min()) >= 0 and int(values.max()) < size)

    def ascending(offsets: np.ndarray, end: int) -> bool:
        return len(offsets) > 0 and int(offsets[0]) == 0 and int(offsets[-1]) == end \
            and not (np.diff(offsets) < 0).any()

    fits = (
        len(vocabulary.terms.offsets) == terms + 1 and len(postings.indptr) == terms + 1
        and all(ascending(blob.offsets, len(blob.buffer)) for blob in (vocabulary.terms, store.texts, store.stems))
        and ascending(postings.indptr, len(postings.docs)) and ascending(postings.doc_indptr, len(postings.doc_terms))
        and len(postings.is_concept) == terms and len(postings.doc_indptr) == n + 1 and len(postings.norms) == n
        and len(store.stems) == n and int(postings.indptr[-1]) == len(postings.docs) == len(postings.codes)
        and int(postings.doc_indptr[-1]) == len(postings.doc_terms)
        and all(len(getattr(store, c)) == n for c in EntryStore._ENTRY_COLUMNS)
        and len(store.version_language) == len(store.version_question) == len(store.version_answer)
        and within(vocabulary.order, terms) and within(postings.docs, n) and within(postings.doc_terms, terms)
        and within(postings.codes, len(postings.tf)) and within(store.language, len(store.languages))
        and within(store.version_language, len(store.languages)) and within(store.topics, len(store.topic_groups))
        and all(within(getattr(store, c), texts) for c in ("key", "question", "answer", "version_question",
                                                         "version_answer"))
        and within(store.version_start, len(store.version_language) + 1)
        and within(store.version_count, len(store.version_language) + 1)
        and within(store.version_start + store.version_count, len(store.version_language) + 1))
    if not fits:
        raise ValueError("the index's arrays do not fit together")


def write_index(path: Path, meta: dict, arrays: Mapping[str, np.ndarray]) -> None:
    """Write the arrays and ``meta`` to ``path`` atomically: a reader sees the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta,
                "checksums": {name: _checksum(a) for name, a in arrays.items()}}
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        with handle:
            np.savez(handle, meta=np.array(json.dumps(document)), **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # a cache of published Q&As, readable like the bank's other files
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def read_index(path: Path, revision: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    """(meta, arrays) of an index saved for ``revision`` in this format, or None for anything else.

    The arrays are not copied: they are read-only views of the file mapped in memory (pages are read as
    used, and shared by the processes that load the same index); ``write_index`` replaces a file rather
    than rewriting it, so a mapped index stays valid. A damaged file is refused here, not met while
    matching: the metadata's CRC and every array's checksum are verified (a word sum, several times
    faster than the archive's CRCs over a large index).
    """
    try:
        with open(path, "rb") as file:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        meta = json.loads(str(_member(mapped, members.pop("meta"), crc=True)[()]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME \
                or meta.get("version") != FORMAT_VERSION or meta.get("revision") != revision:
            return None
        arrays = {name: _member(mapped, info) for name, info in members.items()}
        if {name: _checksum(a) for name, a in arrays.items()} != meta.get("checksums"):
            return None
    except (OSError, ValueError, KeyError, TypeError, EOFError, MemoryError, zipfile.BadZipFile, struct.error):
        return None
    return meta, arrays


def _checksum(array: np.ndarray) -> int:
    """The sum of an array's bytes read as 64-bit words, wrapping: any damaged byte changes it."""
    raw = array.reshape(-1).view(np.uint8)
    words = len(raw) // 8
    total = int(raw[:words * 8].view(np.uint64).sum(dtype=np.uint64)) if words else 0
    return (total + int(raw[words * 8:].sum(dtype=np.uint64))) % 2**64


_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _member(mapped: mmap.mmap, info: zipfile.ZipInfo, *, crc: bool = False) -> np.ndarray:
    """The array stored (uncompressed) in one ``.npy`` member of the archive, viewed in place."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{info.filename}: compressed")
    start = info.header_offset
    if mapped[start:start + 4] != b"PK\x03\x04":
        raise ValueError(f"{info.filename}: no local header")
    name_length, extra_length = struct.unpack("<HH", mapped[start + 26:start + 30])
    start += 30 + name_length + extra_length
    data = memoryview(mapped)[start:start + info.file_size]
    if len(data) != info.file_size or (crc and zlib.crc32(data) != info.CRC):
        raise ValueError(f"{info.filename}: damaged")
    header = io.BytesIO(data[:min(len(data), 65_536)])
    read_header = _NPY_HEADERS.get(np.lib.format.read_magic(header))
    if read_header is None:
        raise ValueError(f"{info.filename}: unknown .npy version")
    shape, fortran_order, dtype = read_header(header)
    if fortran_order or dtype.hasobject:
        raise ValueError(f"{info.filename}: not a plain array")
    count = math.prod(shape)
    return np.frombuffer(data, dtype=dtype, count=count, offset=header.tell()).reshape(shape)
