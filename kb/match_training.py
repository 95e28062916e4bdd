"""Training data for the match confidence: the team's labelled pairs, described by the matcher's features.

Used by ``bench/train_match_model.py`` (which writes ``kb/data/match_model.json``) and by the test that
checks the shipped model is what training gives.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Callable, Sequence

from classifier.model import LabelledExample
from kb.match_confidence import MatchConfidence, train
from kb.matching import QAEntry, QAMatcher

#: A labelled Q&A must be among this many candidates to give a training row (below, it is never proposed).
RETRIEVED = 10
#: Where an email's quoted earlier message starts ("On 3 May, X wrote:", "Le … a écrit :", "El … escribió:").
_QUOTE_HEADER = re.compile(r"^\s*(?:on\b.{0,120}\bwrote|le\b.{0,120}\ba écrit|el\b.{0,120}\bescribió"
                           r"|-{2,}\s*(?:original message|message d'origine|mensaje original))\s*:?\s*-*\s*$",
                           re.IGNORECASE)


def unquoted(text: str) -> str:
    """The message as the email channel hands it to triage: without the quoted earlier message."""
    kept = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip() or text


@dataclass(frozen=True)
class LabelledPair:
    query: str
    language: str
    qa_key: str
    answers: bool


#: The team's labelled pairs: the first set, and one of queries the bank does not answer with what the
#: matcher proposes for them (real traffic is mostly such queries).
PAIR_FILES = ("match_pairs.jsonl", "match_pairs_more.jsonl")


def shipped_pairs() -> list[LabelledPair]:
    rows = []
    for name in PAIR_FILES:
        path = resources.files("kb").joinpath("data", name)
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [LabelledPair(r["query"], r["language"], r["qa"], bool(r["answers"])) for r in rows]


def pair_examples(shipped: Sequence[dict]) -> list[LabelledExample]:
    """The labelled pairs' answered queries as topic examples: each has the topics of the Q&A that answers it.

    They are the team's realistic queries (chat lines, long emails, typos, three languages), so the topic
    model learns from them too.
    """
    topics = {item["key"]: tuple(item["topics"]) for item in shipped}
    seen: dict[str, LabelledExample] = {}
    for pair in shipped_pairs():
        if pair.answers and pair.qa_key in topics and pair.query not in seen:
            seen[pair.query] = LabelledExample(pair.query, topics[pair.qa_key], pair.language)
    return list(seen.values())


def entries_from(shipped: Sequence[dict]) -> list[QAEntry]:
    """Matcher entries (one per language version) for the shipped bank, as ``published_entries`` makes them."""
    entries = []
    for i, item in enumerate(shipped, start=1):
        versions = tuple((v["language"], v["question"], v["answer"]) for v in item["versions"])
        entries += [QAEntry(i, item["key"], q, a, tuple(item["topics"]), lang, versions) for lang, q, a in versions]
    return entries


def feature_rows(matcher: QAMatcher, pairs: Sequence[LabelledPair],
                 topics_of: Callable[[str], Sequence[str]], *, shown: int = 3
                 ) -> tuple[list[list[float]], list[bool], int]:
    """(feature vectors, labels, labelled pairs skipped because their Q&A was not retrieved).

    Besides the labelled pairs, each query's other top ``shown`` candidates are negatives when the query's
    answer is known (it is that other Q&A) or when nothing in the bank answers it: that is what the
    specialist would otherwise see drafted.
    """
    by_query: dict[tuple[str, str], dict[str, bool]] = {}
    for pair in pairs:
        labels_of = by_query.setdefault((pair.query, pair.language), {})
        labels_of[pair.qa_key] = labels_of.get(pair.qa_key, False) or pair.answers
    vectors, labels, skipped = [], [], 0
    for (query, language), known in by_query.items():
        query = unquoted(query)
        matches = matcher.match(query, language, topics_of(query), k=RETRIEVED)
        found = {m.entry.key: m for m in matches}
        skipped += sum(1 for key in known if key not in found)
        answered = any(known.values())
        for rank, m in enumerate(matches):
            if m.entry.key in known:
                label = known[m.entry.key]
            elif rank < shown and (answered or not known):
                label = False
            else:
                continue
            vectors.append(m.features.vector())
            labels.append(label)
    return vectors, labels, skipped


def train_from_pairs(matcher: QAMatcher, pairs: Sequence[LabelledPair],
                     topics_of: Callable[[str], Sequence[str]]) -> MatchConfidence:
    vectors, labels, skipped = feature_rows(matcher, pairs, topics_of)
    model = train(vectors, labels)
    return MatchConfidence(model.weights, model.bias, model.strong, model.partial,
                           model.notes + f"; {skipped} pairs not retrieved in the top {RETRIEVED}")
