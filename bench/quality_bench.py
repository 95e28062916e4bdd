"""Triage quality on the team's evaluation set, beside two simple systems, in one run.

    .venv/bin/python bench/quality_bench.py [bench/data/eval_set.jsonl]

- **helpdesk**: the topic model trained as `helpdesk train` trains it, the matcher over every language version
  with the learned match confidence (a draft only from a strong match).
- **keyword rules**: each topic's words (its names in English, French and Spanish and its description,
  stemmed); the topics with the most words found, a draft from the best rapidfuzz match when it scores 75+.
- **plain rapidfuzz**: the model's topics, and the Q&A question (any version) most alike by rapidfuzz's
  token-set ratio; a draft when it scores 75 or more.

Prints, for each, the figures of ``kb.evaluation`` (topics, calibration, language, recall within and across
languages, drafts from the right Q&A, unanswerable queries drafted) and the triage time per query.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process  # noqa: E402

from classifier.text import content_words  # noqa: E402
from config.bootstrap import bootstrap, train_and_save  # noqa: E402
from config.settings import DEFAULT_FILE, Settings  # noqa: E402
from kb.evaluation import Prediction, evaluate, format_report, load_cases, triage_predictor  # noqa: E402
from kb.match_confidence import MatchConfidence  # noqa: E402
from kb.match_training import entries_from  # noqa: E402
from kb.matching import Analyser, QAMatcher  # noqa: E402
from kb.qa_bank import shipped_qas  # noqa: E402

EVAL_SET = Path(__file__).resolve().parents[1] / "kb" / "data" / "eval_set.jsonl"
FUZZY_DRAFT = 75


def keyword_topics(policy):
    analyser = Analyser()
    words = {}
    for code, topic in policy.topics.items():
        stems = set()
        for language, name in topic.names.items():
            stems |= set(analyser.stems(name, language))
        stems |= set(analyser.stems(topic.description, "en"))
        words[code] = stems

    def rank(text: str, language: str) -> list[tuple[str, float]]:
        found = set(analyser.stems(text, language)) | set(analyser.stems(text, "en"))
        hits = sorted(((len(found & stems), code) for code, stems in words.items()), reverse=True)
        total = sum(h for h, _ in hits) or 1
        return [(code, h / total) for h, code in hits]

    return rank


def fuzzy_matcher(shipped):
    questions = [(item["key"], " ".join(content_words(v["question"]))) for item in shipped for v in item["versions"]]
    choices = [q for _, q in questions]

    def match(text: str) -> tuple[tuple[str, ...], float]:
        found = process.extract(" ".join(content_words(text)), choices, scorer=fuzz.token_set_ratio, limit=12)
        keys = tuple(dict.fromkeys(questions[i][0] for _, _, i in found))[:3]
        return keys, (found[0][1] if found else 0.0)

    return match


def timed(predict):
    times: list[float] = []

    def run(case):
        start = time.perf_counter()
        result = predict(case)
        times.append(time.perf_counter() - start)
        return result

    return run, times


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else EVAL_SET
    cases = load_cases(path)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(config=DEFAULT_FILE, data_dir=Path(folder), database_url=f"sqlite:///{folder}/q.db")
        helpdesk = bootstrap(settings)
        model = train_and_save(helpdesk)
        policy, detector = helpdesk.policy, helpdesk.service.detector
        helpdesk.close()
    shipped = shipped_qas()
    written_in = {item["key"]: item["language"] for item in shipped}
    matcher = QAMatcher(entries_from(shipped), Analyser(concepts=True), confidence=MatchConfidence.shipped())
    ours = triage_predictor(model, matcher, policy, detector)
    rank_by_keywords, by_fuzz = keyword_topics(policy), fuzzy_matcher(shipped)

    def keywords(case):
        language = detector.detect(case.text).code
        ranked = rank_by_keywords(case.text, language)
        keys, best = by_fuzz(case.text)
        chosen = tuple(code for code, share in ranked[:3] if share > 0)
        return Prediction(tuple(ranked), chosen, language, keys, keys[0] if keys and best >= FUZZY_DRAFT else None)

    def plain_fuzz(case):
        p = ours(case)
        keys, best = by_fuzz(case.text)
        return Prediction(p.ranked_topics, p.selected_topics, p.language, keys,
                          keys[0] if keys and best >= FUZZY_DRAFT else None)

    print(f"Evaluation set: {path} ({len(cases)} queries)\n")
    for name, predict in (("helpdesk", ours), ("keyword rules", keywords), ("plain rapidfuzz", plain_fuzz)):
        run, times = timed(predict)
        report = evaluate(cases, run, topic_codes=policy.topic_codes, written_in=written_in)
        print(format_report(report, f"== {name} =="))
        print(f"time per query: median {statistics.median(times) * 1000:.2f} ms\n")


if __name__ == "__main__":
    main()
