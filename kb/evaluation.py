"""How well triage does on a labelled evaluation set: topics, language, matching and drafts.

The set is JSONL, one query per line: ``text``, ``topics`` (the right topic codes, main topic first),
optionally ``language`` (the query's), ``qa`` (the key of the Q&A that answers it; absent or null when
nothing in the bank does) and ``id``. ``helpdesk eval FILE`` prints the report; ``bench/quality_bench.py``
runs it beside keyword rules and plain rapidfuzz.

Figures:
- topics: top-1 (the first topic is one of the right ones), top-3, per-topic precision/recall/F1 of the
  selected topics and their macro F1, the share sent to manual triage, and calibration (the top topic's
  confidence in bins against how often it is right);
- language: the detector's accuracy against the set's languages;
- matching (queries with a ``qa``): recall at 1 and 3, within and across languages (across: the Q&A was
  written in another language than the query's);
- drafts: of the queries given a draft from the bank, the share built from the right Q&A; and the share of
  unanswerable queries (no ``qa``) that got a draft.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Sequence


BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)


@dataclass(frozen=True)
class EvalCase:
    text: str
    topics: tuple[str, ...]
    language: str | None = None
    qa: str | None = None
    id: str = ""


@dataclass(frozen=True)
class Prediction:
    """What triage decided for one case (so that other systems can be measured the same way)."""

    ranked_topics: tuple[tuple[str, float], ...]  # every topic with its confidence, best first
    selected_topics: tuple[str, ...]
    language: str | None
    ranked_qas: tuple[str, ...]  # Q&A keys, best first
    drafted_from: str | None  # the Q&A the draft quotes, or None for a holding draft


@dataclass
class EvalReport:
    cases: int = 0
    top1: float = 0.0
    top3: float = 0.0
    macro_f1: float = 0.0
    per_topic: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)  # P, R, F1, support
    manual_triage: float = 0.0
    calibration: list[tuple[str, int, float, float]] = field(default_factory=list)  # bin, n, mean conf, accuracy
    calibration_error: float = 0.0
    language_accuracy: float | None = None
    recall: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # slice -> (r@1, r@3, n)
    drafts_right: float | None = None
    drafts_from_bank: int = 0
    unanswerable_drafted: float | None = None
    unanswerable: int = 0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def load_cases(path: Path) -> list[EvalCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(EvalCase(str(row["text"]), tuple(row["topics"]), row.get("language"), row.get("qa") or None,
                                  str(row.get("id", number))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: {exc.__class__.__name__}: {exc}") from None
    if not cases:
        raise ValueError(f"{path}: no evaluation case")
    return cases


def triage_predictor(model, matcher, policy, detector=None) -> Callable[[EvalCase], Prediction]:
    """The helpdesk's own triage (``kb.triage.triage``, the very decision intake stores) as a predictor."""
    from kb.calendar import DueDateCalendar
    from kb.triage import triage

    calendar, today = DueDateCalendar(), date.today()

    def predict(case: EvalCase) -> Prediction:
        detected = detector.detect(case.text).code if detector is not None else None
        decision = triage(case.text, language=case.language or detected or policy.languages[0], policy=policy,
                          model=model, matcher=matcher, calendar=calendar, reference="EVAL", received=today,
                          target_reply_date=today)
        sources = decision.draft.sources
        return Prediction(tuple((t.code, t.confidence) for t in decision.topics),
                          tuple(t.code for t in decision.selected_topics), detected,
                          tuple(m.entry.key for m in decision.matches), sources[0]["qa_key"] if sources else None)

    return predict


def evaluate(cases: Sequence[EvalCase], predict: Callable[[EvalCase], Prediction], *,
             topic_codes: Iterable[str], written_in: dict[str, str] | None = None) -> EvalReport:
    """Measure ``predict`` on ``cases``; ``written_in`` maps Q&A keys to the language they were written in."""
    codes = list(topic_codes)
    written_in = written_in or {}
    report = EvalReport(cases=len(cases))
    tp = {c: 0 for c in codes}
    fp = dict(tp)
    fn = dict(tp)
    top1 = top3 = manual = lang_right = lang_total = 0
    binned: list[list[tuple[float, bool]]] = [[] for _ in BINS[:-1]]
    hits: dict[str, list[tuple[bool, bool]]] = {"all": [], "within": [], "across": []}
    drafted_right = drafted_answerable = unanswerable_drafted = 0
    for case in cases:
        p = predict(case)
        gold = set(case.topics)
        first = p.ranked_topics[0] if p.ranked_topics else ("", 0.0)
        right = first[0] in gold
        top1 += right
        top3 += bool(gold & {code for code, _ in p.ranked_topics[:3]})
        for i, (low, high) in enumerate(zip(BINS, BINS[1:])):
            if low <= first[1] < high:
                binned[i].append((first[1], right))
        manual += not p.selected_topics
        for code in codes:
            chosen, wanted = code in p.selected_topics, code in gold
            tp[code] += chosen and wanted
            fp[code] += chosen and not wanted
            fn[code] += wanted and not chosen
        if case.language and p.language is not None:
            lang_total += 1
            lang_right += p.language == case.language
        if case.qa:
            found = (p.ranked_qas[:1] == (case.qa,), case.qa in p.ranked_qas[:3])
            hits["all"].append(found)
            across = written_in.get(case.qa, case.language) != case.language
            hits["across" if across else "within"].append(found)
            if p.drafted_from is not None:
                drafted_answerable += 1
                drafted_right += p.drafted_from == case.qa
        else:
            report.unanswerable += 1
            unanswerable_drafted += p.drafted_from is not None
    n = max(len(cases), 1)
    report.top1, report.top3, report.manual_triage = top1 / n, top3 / n, manual / n
    f1s = []
    for code in codes:
        support = tp[code] + fn[code]
        precision = tp[code] / (tp[code] + fp[code]) if tp[code] + fp[code] else 0.0
        recall = tp[code] / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if support:
            report.per_topic[code] = (precision, recall, f1, support)
            f1s.append(f1)
    report.macro_f1 = sum(f1s) / len(f1s) if f1s else 0.0
    error = 0.0
    for (low, high), items in zip(zip(BINS, BINS[1:]), binned):
        if items:
            confidence = sum(c for c, _ in items) / len(items)
            accuracy = sum(r for _, r in items) / len(items)
            report.calibration.append((f"{low:.2f}-{min(high, 1.0):.2f}", len(items), confidence, accuracy))
            error += len(items) / n * abs(confidence - accuracy)
    report.calibration_error = error
    report.language_accuracy = lang_right / lang_total if lang_total else None
    for name, found in hits.items():
        if found:
            report.recall[name] = (sum(a for a, _ in found) / len(found), sum(b for _, b in found) / len(found),
                                   len(found))
    report.drafts_from_bank = drafted_answerable
    report.drafts_right = drafted_right / drafted_answerable if drafted_answerable else None
    report.unanswerable_drafted = unanswerable_drafted / report.unanswerable if report.unanswerable else None
    return report


def format_report(report: EvalReport, title: str = "") -> str:
    pct = lambda x: "-" if x is None else f"{x:.0%}"  # noqa: E731
    lines = [title] if title else []
    lines += [
        f"{report.cases} queries",
        f"topics: top-1 {report.top1:.2f}, top-3 {report.top3:.2f}, macro-F1 {report.macro_f1:.2f}, "
        f"manual triage {pct(report.manual_triage)}",
        f"calibration (top topic's confidence against accuracy; expected error {report.calibration_error:.3f}): "
        + "; ".join(f"{b} n={n} conf {c:.2f} acc {a:.2f}" for b, n, c, a in report.calibration),
        "language detection: " + pct(report.language_accuracy),
    ]
    for name in ("all", "within", "across"):
        if name in report.recall:
            r1, r3, n = report.recall[name]
            lines.append(f"match recall ({name}{' languages' if name != 'all' else ''}, n={n}): "
                         f"@1 {r1:.2f}, @3 {r3:.2f}")
    lines.append(f"drafts from the bank on answerable queries: {report.drafts_from_bank}, from the right Q&A: "
                 f"{pct(report.drafts_right)}")
    lines.append(f"unanswerable queries drafted from the bank: {pct(report.unanswerable_drafted)} "
                 f"(of {report.unanswerable})")
    lines.append("per topic (P/R/F1, n): " + "; ".join(
        f"{code} {p:.2f}/{r:.2f}/{f:.2f} {n}" for code, (p, r, f, n) in sorted(report.per_topic.items())))
    return "\n".join(lines)
