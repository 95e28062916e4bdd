"""How fast one query is triaged, with Q&A banks of 1,000, 10,000 and 100,000 entries.

Run: ``make bench`` (or ``python bench/triage_bench.py``). Prints, per bank size,
the median and 99th-percentile time of the whole pure triage step (classify,
route, match, draft) for one query on one core, the time to build the index, and
the process's peak memory; then classification alone in queries per second.

Banks are generated: each entry is a shipped or labelled question, varied with a
country, a sector and a situation so that entries are distinct, paired with a
shipped answer of the same topic. Queries are the labelled examples (EN/FR/ES),
which are realistic, varied in length and language, and not identical to any
bank entry.
"""

from __future__ import annotations

import random
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier.model import TopicModel, load_examples, train_topic_model  # noqa: E402
from config.bootstrap import SHIPPED_EXAMPLES, build_policy  # noqa: E402
from config.settings import DEFAULT_FILE, load_helpdesk_file  # noqa: E402
from kb.calendar import DueDateCalendar  # noqa: E402
from kb.match_confidence import MatchConfidence  # noqa: E402
from kb.matching import Analyser, QAEntry, QAMatcher  # noqa: E402
from kb.qa_bank import shipped_qas  # noqa: E402
from kb.triage import triage  # noqa: E402

COUNTRIES = ["Ghana", "Brazil", "Viet Nam", "Morocco", "Peru", "India", "Kenya", "Mexico", "Bangladesh", "Türkiye"]
SECTORS = ["garment", "cocoa", "mining", "electronics", "construction", "fishing", "retail", "banking", "coffee"]
SITUATIONS = ["at a supplier", "in our own plant", "for contractors", "for seasonal staff", "in a joint venture",
              "after a merger", "in the new subsidiary", "for migrant workers", "on night shifts"]


def generate_bank(size: int, seed: int = 7) -> list[QAEntry]:
    rng = random.Random(seed)
    qas = shipped_qas()
    examples = load_examples(sorted(SHIPPED_EXAMPLES.glob("examples_*.tsv")))
    answers: dict[str, list[str]] = {}
    for q in qas:
        for t in q["topics"]:
            answers.setdefault(t, []).append(q["answer"])
    sources = [(q["question"], tuple(q["topics"]), q["language"]) for q in qas] + \
              [(e.text, e.topics, e.language) for e in examples]
    bank = []
    for i in range(size):
        text, topics, language = rng.choice(sources)
        question = f"{text} ({rng.choice(SECTORS)}, {rng.choice(COUNTRIES)}, {rng.choice(SITUATIONS)})"
        bank.append(QAEntry(i, f"gen-{i}", question, rng.choice(answers[topics[0]]), topics, language))
    return bank


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    policy = build_policy(load_helpdesk_file(DEFAULT_FILE))
    examples = load_examples(sorted(SHIPPED_EXAMPLES.glob("*.tsv")))  # examples, neutral lines included
    t0 = time.perf_counter()
    model: TopicModel = train_topic_model(examples, policy.topic_codes)
    print(f"trained the topic model on {len(examples)} examples in {time.perf_counter() - t0:.1f} s")
    queries = [e.text for e in examples if e.topics]
    languages = {e.text: e.language for e in examples}
    calendar = DueDateCalendar()
    analyser = Analyser(concepts=True)  # as the service matches: with the concept table and the match confidence
    confidence = MatchConfidence.shipped()
    print(f"{'bank size':>10} {'index build':>12} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8} {'peak RSS MiB':>13}")
    for size in (1_000, 10_000, 100_000):
        t0 = time.perf_counter()
        matcher = QAMatcher(generate_bank(size), analyser, confidence=confidence)
        build = time.perf_counter() - t0
        timings = []
        for text in queries:
            start = time.perf_counter()
            triage(text, language=languages[text], policy=policy, model=model, matcher=matcher, calendar=calendar,
                   reference="HD-2026-0001", received=date(2026, 3, 2), target_reply_date=date(2026, 3, 16))
            timings.append((time.perf_counter() - start) * 1000)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>10,} {build:>10.1f} s {statistics.median(timings):>8.2f} {percentile(timings, 0.99):>8.2f} "
              f"{len(timings):>8} {peak:>13.0f}")
    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for text in queries:
            model.predict(text)
    elapsed = time.perf_counter() - start
    print(f"classification alone: {rounds * len(queries) / elapsed:,.0f} queries/s "
          f"({elapsed / (rounds * len(queries)) * 1000:.2f} ms each, with evidence words)")


if __name__ == "__main__":
    main()
