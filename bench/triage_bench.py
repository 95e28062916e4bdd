"""How fast one query is triaged, with Q&A banks of 1,000, 10,000 and 100,000 entries.

Run: ``make bench`` (or ``python bench/triage_bench.py``). Prints, per bank size,
the time to build the matcher's index, to save it and to load it again (what a
command-line call does instead of building), the median and 99th-percentile
time of the whole pure triage step (classify, route, match, draft) for one query
on one core, the peak memory of the process and the size of the saved index;
the build and the triage times twice: as first measured, and the best of three
(builds, and each query's passes), which is what the code costs when nothing
else on a shared machine slows it down. A build's time is the matcher's: the
time the bench spends drawing the random entries it reads is measured apart and
printed beside it ("bank made");
then how fast a saved index of 10,000 Q&As in three languages loads, and
classification alone in queries per second.

Each bank size is measured in a fresh process, as a service would run: it loads
the topic model (trained once by this script and saved, as the service loads
its own) and builds the index from a generator, so the figures of one size owe
nothing to the one before, and the bank is never held whole outside the index.

Banks are generated: each entry is a shipped or labelled question, varied with a
country, a sector and a situation so that entries are distinct, paired with an
answer made of two to four sentences drawn from the shipped answers of its topic
in its language, so every answer is its own text (as in a real bank, where
100,000 answers are 100,000 strings). Queries are the labelled examples
(EN/FR/ES), which are realistic, varied in length and language, and not
identical to any bank entry.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier.model import TopicModel, load_examples, train_topic_model  # noqa: E402
from config.bootstrap import SHIPPED_EXAMPLES, build_policy  # noqa: E402
from config.settings import DEFAULT_FILE, load_helpdesk_file  # noqa: E402
from kb.calendar import DueDateCalendar  # noqa: E402
from kb.match_confidence import MatchConfidence  # noqa: E402
from kb.matching import Analyser, QAEntry, QAMatcher  # noqa: E402
from kb.qa_bank import shipped_qas  # noqa: E402
from kb.triage import triage  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
#: Builds and passes over the queries per bank size (first and best reported).
REPEATS = 3
COUNTRIES = ["Ghana", "Brazil", "Viet Nam", "Morocco", "Peru", "India", "Kenya", "Mexico", "Bangladesh", "Türkiye"]
SECTORS = ["garment", "cocoa", "mining", "electronics", "construction", "fishing", "retail", "banking", "coffee"]
SITUATIONS = ["at a supplier", "in our own plant", "for contractors", "for seasonal staff", "in a joint venture",
              "after a merger", "in the new subsidiary", "for migrant workers", "on night shifts"]
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def _answer_sentences() -> dict[tuple[str, str], list[str]]:
    """(topic, language) -> the sentences of the shipped answers."""
    sentences: dict[tuple[str, str], list[str]] = {}
    for q in shipped_qas():
        for v in q["versions"]:
            for t in q["topics"]:
                sentences.setdefault((t, v["language"]), []).extend(_SENTENCE_END.split(v["answer"].strip()))
    return sentences


def _answer(rng: random.Random, sentences: dict[tuple[str, str], list[str]], topic: str, language: str) -> str:
    pool = sentences.get((topic, language)) or sentences[(topic, "en")]
    return " ".join(rng.sample(pool, min(len(pool), rng.randint(2, 4))))


def _variant(rng: random.Random, text: str) -> str:
    return f"{text} ({rng.choice(SECTORS)}, {rng.choice(COUNTRIES)}, {rng.choice(SITUATIONS)})"


def generate_bank(size: int, seed: int = 7) -> Iterator[QAEntry]:
    """``size`` distinct entries, made one at a time."""
    rng = random.Random(seed)
    sentences = _answer_sentences()
    examples = load_examples(sorted(SHIPPED_EXAMPLES.glob("examples_*.tsv")))
    sources = [(q["question"], tuple(q["topics"]), q["language"]) for q in shipped_qas()] + \
              [(e.text, e.topics, e.language) for e in examples]
    for i in range(size):
        text, topics, language = rng.choice(sources)
        yield QAEntry(i, f"gen-{i}", _variant(rng, text), _answer(rng, sentences, topics[0], language), topics,
                      language)


def generate_multilingual_bank(qas: int, seed: int = 7) -> Iterator[QAEntry]:
    """``qas`` Q&As in English, French and Spanish, as the service indexes them: one entry per version,
    each carrying all three versions."""
    rng = random.Random(seed)
    sentences = _answer_sentences()
    shipped = shipped_qas()
    for i in range(qas):
        q = rng.choice(shipped)
        topics = tuple(q["topics"])
        versions = tuple((v["language"], _variant(rng, v["question"]),
                          _answer(rng, sentences, topics[0], v["language"])) for v in q["versions"])
        for language, question, answer in versions:
            yield QAEntry(i, f"gen-{i}", question, answer, topics, language, versions)


class TimedItems:
    """An iterable's items, one at a time, with the time spent making them: the bench's own work (drawing
    random entries), which is not the matcher's and is left out of its build time."""

    def __init__(self, items: Iterable[QAEntry]) -> None:
        self._items = iter(items)
        self.seconds = 0.0

    def __iter__(self) -> "TimedItems":
        return self

    def __next__(self) -> QAEntry:
        start = time.perf_counter()
        try:
            return next(self._items)
        finally:
            self.seconds += time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def peak_rss_mib() -> float:
    """This process's peak resident memory. ``ru_maxrss`` would not do: on Linux it keeps the parent's peak
    across fork and exec, so each child would report at least the parent's (training) memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def queries() -> list[tuple[str, str]]:
    examples = load_examples(sorted(SHIPPED_EXAMPLES.glob("*.tsv")))  # examples, neutral lines included
    return [(e.text, e.language) for e in examples if e.topics]


def measure_saved(qas: int, workdir: Path) -> dict:
    """A multilingual bank of ``qas`` Q&As in this (fresh) process: build, save, load, first query."""
    analyser, confidence = Analyser(concepts=True), MatchConfidence.shipped()
    path = workdir / f"index-{qas}x3.npz"
    QAMatcher(generate_multilingual_bank(qas), analyser, confidence=confidence).save(path, "bench")
    gc.collect()
    t0 = time.perf_counter()
    matcher = QAMatcher.load(path, "bench", analyser, confidence)
    load = time.perf_counter() - t0
    assert matcher is not None
    text, language = queries()[0]
    t0 = time.perf_counter()
    matcher.match(text, language)
    return {"qas": qas, "entries": len(matcher), "load": load, "first": time.perf_counter() - t0,
            "file": path.stat().st_size / 2**20}


def measure(size: int, model_path: Path, workdir: Path) -> dict:
    """One bank size, in this (fresh) process: build, triage every query, save, load (the peak memory is taken
    then). Then ``REPEATS - 1`` more builds and passes over the queries: the best build, and the percentiles of
    each query's best time, are what the code costs when nothing else on a shared machine slows it down (as
    ``timeit`` reports)."""
    policy = build_policy(load_helpdesk_file(DEFAULT_FILE))
    model = TopicModel.load(model_path)
    calendar = DueDateCalendar()
    confidence = MatchConfidence.shipped()

    def build() -> tuple[QAMatcher, float, float]:
        # as the service matches: with the concept table and the match confidence; a fresh analyser each time,
        # so that no build starts with the words the one before remembered
        analyser = Analyser(concepts=True)
        bank = TimedItems(generate_bank(size))
        t0 = time.perf_counter()
        matcher = QAMatcher(bank, analyser, confidence=confidence)
        return matcher, time.perf_counter() - t0 - bank.seconds, bank.seconds

    def one_pass(matcher: QAMatcher) -> list[float]:
        timings = []
        for text, language in queries():
            start = time.perf_counter()
            triage(text, language=language, policy=policy, model=model, matcher=matcher, calendar=calendar,
                   reference="HD-2026-0001", received=date(2026, 3, 2), target_reply_date=date(2026, 3, 16))
            timings.append((time.perf_counter() - start) * 1000)
        return timings

    matcher, first_build, generated = build()
    passes = [one_pass(matcher)]
    path = workdir / f"index-{size}.npz"
    t0 = time.perf_counter()
    matcher.save(path, "bench")
    save = time.perf_counter() - t0
    analyser = matcher.analyser
    del matcher
    gc.collect()
    t0 = time.perf_counter()
    loaded = QAMatcher.load(path, "bench", analyser, confidence)
    load = time.perf_counter() - t0
    assert loaded is not None and len(loaded) == size
    peak = peak_rss_mib()
    del loaded, analyser
    builds = [first_build]
    for _ in range(REPEATS - 1):
        gc.collect()
        matcher, seconds, _ = build()
        builds.append(seconds)
        passes.append(one_pass(matcher))
        del matcher
    best = [min(times) for times in zip(*passes)]
    return {"size": size, "build": first_build, "best_build": min(builds), "generated": generated,
            "save": save, "load": load,
            "p50": statistics.median(passes[0]), "p99": percentile(passes[0], 0.99),
            "best_p50": statistics.median(best), "best_p99": percentile(best, 0.99), "queries": len(best),
            "peak": peak, "file": path.stat().st_size / 2**20}


def _child(*args: str) -> dict:
    """Run one measurement in a fresh interpreter and read its JSON line."""
    run = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bank", type=int, help="measure this bank size only, in this process (JSON out)")
    parser.add_argument("--saved", type=int, help="measure loading a saved multilingual bank of this many Q&As")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.bank:
        print(json.dumps(measure(args.bank, args.model, args.workdir)))
        return
    if args.saved:
        print(json.dumps(measure_saved(args.saved, args.workdir)))
        return
    policy = build_policy(load_helpdesk_file(DEFAULT_FILE))
    examples = load_examples(sorted(SHIPPED_EXAMPLES.glob("*.tsv")))
    t0 = time.perf_counter()
    model: TopicModel = train_topic_model(examples, policy.topic_codes)
    print(f"trained the topic model on {len(examples)} examples in {time.perf_counter() - t0:.1f} s")
    print(f"first build and first pass over the queries; then the best of {REPEATS} builds and each query's best "
          f"of {REPEATS} passes")
    print(f"{'bank size':>10} {'index build':>12} {'save':>7} {'load ms':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'best build':>11} {'best p50':>9} {'best p99':>9} {'queries':>8} {'peak RSS MiB':>13} {'file MiB':>9} "
          f"{'bank made':>10}")
    with tempfile.TemporaryDirectory() as workdir:
        model_path = Path(workdir) / "model.npz"
        model.save(model_path)
        for size in SIZES:
            r = _child("--bank", str(size), "--model", str(model_path), "--workdir", workdir)
            print(f"{r['size']:>10,} {r['build']:>10.1f} s {r['save']:>5.2f} s {r['load'] * 1000:>8.1f} "
                  f"{r['p50']:>7.2f} {r['p99']:>7.2f} {r['best_build']:>9.1f} s {r['best_p50']:>9.2f} "
                  f"{r['best_p99']:>9.2f} {r['queries']:>8} {r['peak']:>13.0f} {r['file']:>9.1f} "
                  f"{r['generated']:>8.1f} s")
        r = _child("--saved", "10000", "--workdir", workdir)
        print(f"saved index of {r['qas']:,} Q&As in three languages ({r['entries']:,} entries, {r['file']:.1f} MiB): "
              f"loaded in {r['load'] * 1000:.1f} ms, first query {r['first'] * 1000:.1f} ms")
    texts = [text for text, _ in queries()]
    start = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for text in texts:
            model.predict(text)
    elapsed = time.perf_counter() - start
    print(f"classification alone: {rounds * len(texts) / elapsed:,.0f} queries/s "
          f"({elapsed / (rounds * len(texts)) * 1000:.2f} ms each, with evidence words)")


if __name__ == "__main__":
    main()
