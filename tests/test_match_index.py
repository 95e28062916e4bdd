"""The matcher's index saved to one file: it loads back to the very same matches, and any file that is
not the index of this bank revision, in this format, for this analyser (missing, another revision, another
version, truncated, damaged) loads as None, so the caller rebuilds it instead of failing."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kb.match_build as match_build
import kb.match_index as match_index
from kb.match_confidence import MatchConfidence
from kb.match_training import entries_from
from kb.matching import Analyser, QAEntry, QAMatcher
from kb.qa_bank import shipped_qas

QUERIES = [
    ("How many weeks of maternity leave must we give our employees?", "en", ["working_time"]),
    ("Quel est le salaire vital pour nos ouvriers ?", "fr", ["wages"]),
    ("¿Podemos despedir a un trabajador que se afilia a un sindicato?", "es", []),
    ("Is a 15-year-old allowed to work in our cocoa supply chain after school?", "en", ["child_labour"]),
    ("What is the best way to calculate the carbon footprint of our trucks?", "en", []),
    ("?!", "en", []),
]


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    return Analyser(concepts=True)


@pytest.fixture(scope="module")
def matcher(analyser) -> QAMatcher:
    return QAMatcher(entries_from(shipped_qas()), analyser, confidence=MatchConfidence.shipped())


@pytest.fixture
def saved(matcher, tmp_path) -> Path:
    path = tmp_path / "index" / "matcher.npz"
    matcher.save(path, "rev-7")
    return path


def results(matcher: QAMatcher, k: int = 5) -> list:
    return [matcher.match(text, language, topics, k=k) for text, language, topics in QUERIES]


def test_a_saved_index_loads_back_to_the_same_matches_entries_and_features(matcher, analyser, saved):
    loaded = QAMatcher.load(saved, "rev-7", analyser, matcher.confidence)
    assert loaded is not None and len(loaded) == len(matcher)
    assert results(loaded) == results(matcher)  # entries (with their versions), scores, features, confidence
    assert list(loaded.entries) == list(matcher.entries) == entries_from(shipped_qas())
    best = loaded.match(*QUERIES[0][:2], QUERIES[0][2])[0]
    assert best.entry.in_language("fr") is not None and best.entry.versions  # what drafting needs


def test_saving_replaces_the_file_in_one_step_and_leaves_no_temporary_file(matcher, saved):
    matcher.save(saved, "rev-8")
    assert [p.name for p in saved.parent.iterdir()] == ["matcher.npz"]


def test_a_failed_save_keeps_the_previous_index(matcher, analyser, saved, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(match_index.np, "savez", broken)
    with pytest.raises(OSError):
        matcher.save(saved, "rev-8")
    assert [p.name for p in saved.parent.iterdir()] == ["matcher.npz"]
    assert QAMatcher.load(saved, "rev-7", analyser, None) is not None


def test_an_index_saved_for_another_revision_or_missing_loads_as_none(analyser, saved, tmp_path):
    assert QAMatcher.load(saved, "rev-8", analyser, None) is None
    assert QAMatcher.load(tmp_path / "nothing.npz", "rev-7", analyser, None) is None
    assert QAMatcher.load(tmp_path, "rev-7", analyser, None) is None  # a folder


def test_an_index_of_another_format_version_loads_as_none(matcher, analyser, tmp_path, monkeypatch):
    monkeypatch.setattr(match_index, "FORMAT_VERSION", match_index.FORMAT_VERSION + 1)
    matcher.save(tmp_path / "newer.npz", "rev-7")
    monkeypatch.undo()
    assert QAMatcher.load(tmp_path / "newer.npz", "rev-7", analyser, None) is None


def test_an_index_made_with_another_analyser_loads_as_none(matcher, saved):
    assert QAMatcher.load(saved, "rev-7", Analyser(concepts=False), None) is None


@pytest.mark.parametrize("keep", [0, 10, 0.5, 0.99])
def test_a_truncated_index_loads_as_none(analyser, saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[:int(len(data) * keep) if isinstance(keep, float) else keep])
    assert QAMatcher.load(saved, "rev-7", analyser, None) is None


@pytest.mark.parametrize("member", ["texts_blob", "postings_docs", "postings_norms", "entry_ids", "meta"])
def test_an_index_with_a_damaged_byte_loads_as_none(analyser, saved, member):
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo(f"{member}.npy")
    data = bytearray(saved.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    end = info.header_offset + 30 + name_length + extra_length + info.file_size  # of the member's array data
    data[end - 3] ^= 0x10
    saved.write_bytes(bytes(data))
    assert QAMatcher.load(saved, "rev-7", analyser, None) is None


def test_a_file_that_is_not_an_index_loads_as_none(analyser, tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip archive")
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "something else"}'), x=np.arange(3))
    np.savez(tmp_path / "pickled.npz", meta=np.array([{"format": match_index.FORMAT_NAME}], dtype=object))
    for name in ("junk.npz", "other.npz", "pickled.npz"):
        assert QAMatcher.load(tmp_path / name, "rev-7", analyser, None) is None


def test_an_index_whose_arrays_do_not_fit_together_loads_as_none(matcher, analyser, tmp_path, monkeypatch):
    arrays = {**matcher._vocabulary.arrays(), **matcher._postings.arrays(), **matcher._store.arrays()}
    arrays["postings_docs"] = arrays["postings_docs"] + len(matcher)  # entries beyond the bank
    meta = {"revision": "rev-7", "analyser": analyser.signature(), **matcher._store.meta()}
    match_index.write_index(tmp_path / "bad.npz", meta, arrays)
    assert QAMatcher.load(tmp_path / "bad.npz", "rev-7", analyser, None) is None


def test_an_empty_bank_saves_and_loads_and_matches_nothing(analyser, tmp_path):
    QAMatcher([], analyser).save(tmp_path / "empty.npz", "0")
    loaded = QAMatcher.load(tmp_path / "empty.npz", "0", analyser, None)
    assert loaded is not None and len(loaded) == 0 and list(loaded.entries) == []
    assert loaded.match("minimum wage", "en") == []


def test_the_bank_may_be_a_generator_read_once(analyser, matcher):
    once = QAMatcher((e for e in entries_from(shipped_qas())), analyser, confidence=matcher.confidence)
    assert results(once) == results(matcher)


def test_entries_are_a_read_only_sequence(matcher):
    entries, expected = matcher.entries, entries_from(shipped_qas())
    assert len(entries) == len(expected) and entries[0] == expected[0] and entries[-1] == expected[-1]
    assert entries[2:5] == expected[2:5]
    with pytest.raises(IndexError):
        entries[len(expected)]


@pytest.mark.parametrize("lots", [None, 4], ids=["a short last lot", "lots that fill the bank exactly"])
def test_a_large_bank_is_indexed_a_chunk_at_a_time_to_the_same_index(analyser, monkeypatch, lots):
    bank = [QAEntry(i, f"q{i}", q["question"] + f" case {i}", q["answer"], tuple(q["topics"]), q["language"])
            for i, q in enumerate(shipped_qas() * 4)]
    whole = QAMatcher(bank, analyser)
    monkeypatch.setattr(match_build, "CHUNK", 64)
    # entries' terms counted a few entries at a time
    monkeypatch.setattr(match_build, "COUNTED_ENTRIES", len(bank) // lots if lots else 5)
    assert lots or len(bank) % 5
    chunked = QAMatcher(bank, analyser)
    assert list(chunked.entries) == list(whole.entries) == bank
    for name in ("indptr", "docs", "codes", "norms", "doc_indptr", "doc_terms"):
        assert np.array_equal(getattr(whole._postings, name), getattr(chunked._postings, name))
    assert results(chunked) == results(whole)


def test_a_term_counted_in_an_entry_as_often_as_both_question_and_answer_say(analyser):
    # "overtime" twice in the question (a question word weighs four answer words) and three times in the answer
    bank = [QAEntry(1, "k1", "Overtime, unpaid overtime?", "Overtime is paid. Overtime is limited, overtime is rare.",
                    ("working_time",), "en")]
    matcher = QAMatcher(bank, analyser)
    term = matcher._vocabulary.ids(["overtim"])[0]
    postings = matcher._postings
    assert postings.tf[postings.codes[postings.indptr[term]]] == pytest.approx(match_index.term_frequency(2 + 3 / 4))


def test_an_answer_repeating_a_word_more_than_the_index_can_count_is_refused_with_its_reason(analyser):
    bank = [QAEntry(1, "k1", "Overtime?", "overtime " * 70_000, ("working_time",), "en")]
    with pytest.raises(ValueError, match="65,536 times"):
        QAMatcher(bank, analyser)


def test_texts_in_any_script_read_back_whole_when_they_are_encoded_a_few_at_a_time(analyser, monkeypatch):
    # the blob encodes its pending texts together, and ASCII-only batches take a shortcut: batches of three
    # here mix plain, accented and empty texts, so every kind of batch and its boundary is crossed
    monkeypatch.setattr(match_build, "PENDING_TEXTS", 3)
    texts = ["Overtime pay", "Congés payés ?", "", "¿Vacaciones pagadas?", "plain", "naïve “quotes”", "x", "ok", ""]
    bank = [QAEntry(i, f"k{i}", text or "?", f"answer {i} {text}", ("wages",), "en") for i, text in enumerate(texts)]
    entries = QAMatcher(bank, analyser).entries
    assert [(e.key, e.question, e.answer) for e in entries] == [(e.key, e.question, e.answer) for e in bank]


def test_terms_with_the_same_checksum_are_still_told_apart(analyser, matcher, monkeypatch):
    class Colliding:
        @staticmethod
        def crc32(data: bytes) -> int:
            return len(data) % 3  # most terms share a "checksum"

    expected = results(matcher)  # before the patch: the reference index looks terms up by the real checksum
    monkeypatch.setattr(match_index, "zlib", Colliding)
    colliding = QAMatcher(entries_from(shipped_qas()), analyser, confidence=matcher.confidence)
    assert results(colliding) == expected


def test_of_two_identical_entries_the_earlier_is_proposed(analyser):
    q = shipped_qas()[0]
    twin = [QAEntry(i, f"twin-{i}", q["question"], q["answer"], tuple(q["topics"]), q["language"]) for i in (1, 2)]
    assert [m.entry.key for m in QAMatcher(twin, analyser).match(q["question"], q["language"], k=2)] == \
        ["twin-1", "twin-2"]


@pytest.mark.parametrize("candidates", [2, 30])
def test_candidates_found_from_the_postings_are_those_found_by_scanning_every_score(analyser, monkeypatch,
                                                                                   candidates):
    import kb.matching as matching

    bank = [QAEntry(i, f"q{i}", q["question"] + f" case {i % 7}", q["answer"], tuple(q["topics"]), q["language"])
            for i, q in enumerate(shipped_qas() * 5)]
    matcher = QAMatcher(bank, analyser)
    monkeypatch.setattr(matching, "CANDIDATES", candidates)  # 2: most postings are cut before the entries
    monkeypatch.setattr(matching, "SCAN_ALL", 10**9)  # always scan every score
    scanned = results(matcher, k=2)
    monkeypatch.setattr(matching, "SCAN_ALL", 0)  # always from the postings
    monkeypatch.setattr(matching, "SCAN_ALL_UP_TO", 0)
    assert results(matcher, k=2) == scanned
