"""Retraining the topic model without making it worse, and rolling back.

``helpdesk train`` fits a candidate on everything the helpdesk knows (the
shipped examples, the Q&A bank in every language, the labelled pairs' queries
and the specialist's corrections, which weigh more), then measures the
candidate and the model in service on the team's evaluation set (written apart
from every training example). The candidate replaces the model only when it is
not worse on top-1 accuracy and macro-F1 (a tolerance of half a point absorbs
ties); the model it replaces is kept beside it, and ``helpdesk train
--rollback`` puts it back.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from classifier.model import TopicModel, select_topics, train_topic_model
from config.settings import ConfigError

#: A candidate may score this much lower (noise between two fits) and still count as "not worse".
TOLERANCE = 0.005


@dataclass(frozen=True)
class TopicFigures:
    top1: float
    macro_f1: float
    manual_triage: float


@dataclass(frozen=True)
class TrainOutcome:
    kept: bool
    examples: int
    candidate: TopicFigures
    previous: TopicFigures | None
    reason: str


def evaluation_set(helpdesk) -> Path:
    """The configured evaluation set, else the team's shipped one."""
    configured = helpdesk.file.classifier.evaluation_set
    if configured:
        path = Path(configured)
        path = path if path.is_absolute() else Path(helpdesk.settings.config).parent / path
        if not path.is_file():
            raise ConfigError(f"classifier.evaluation_set: {path} does not exist")
        return path
    return Path(str(resources.files("kb").joinpath("data/eval_set.jsonl")))


def topic_figures(model: TopicModel, helpdesk, path: Path) -> TopicFigures:
    from kb.evaluation import Prediction, evaluate, load_cases

    policy = helpdesk.policy

    def predict(case):
        scores = model.predict(case.text)
        chosen = select_topics(scores, threshold=policy.confidence_threshold, max_topics=policy.max_topics)
        return Prediction(tuple((s.code, s.confidence) for s in scores), tuple(s.code for s in chosen), None, (), None)

    report = evaluate(load_cases(path), predict, topic_codes=policy.topic_codes)
    return TopicFigures(round(report.top1, 4), round(report.macro_f1, 4), round(report.manual_triage, 4))


def previous_path(path: Path) -> Path:
    return path.with_name(path.stem + ".previous" + path.suffix)


def retrain(helpdesk, *, force: bool = False) -> TrainOutcome:
    from config.bootstrap import training_set

    examples = training_set(helpdesk)
    candidate = train_topic_model(examples, helpdesk.policy.topic_codes)
    path = helpdesk.settings.resolved_model_path()
    figures_path = evaluation_set(helpdesk)
    new = topic_figures(candidate, helpdesk, figures_path)
    try:
        current = TopicModel.load(path) if path.exists() else None
    except ValueError:
        current = None
    if current is not None and current.topics != helpdesk.policy.topic_codes:
        current = None  # trained for other topics: no comparison makes sense
    old = topic_figures(current, helpdesk, figures_path) if current is not None else None
    worse = old is not None and (new.top1 < old.top1 - TOLERANCE or new.macro_f1 < old.macro_f1 - TOLERANCE)
    if worse and not force:
        return TrainOutcome(False, len(examples), new, old,
                            f"the new model scores worse on {figures_path.name}: kept the model in service")
    if current is not None:
        shutil.copyfile(path, previous_path(path))
    candidate.save(path)
    reason = ("no model in service: the new one is saved" if old is None else
              "kept although worse (--force)" if worse else "not worse: the new model replaces the old one")
    return TrainOutcome(True, len(examples), new, old, reason)


def rollback(helpdesk) -> Path:
    """Put back the model that the last ``retrain`` replaced; returns the model's path."""
    path = helpdesk.settings.resolved_model_path()
    previous = previous_path(path)
    if not previous.exists():
        raise ValueError(f"no previous model to roll back to ({previous} does not exist)")
    TopicModel.load(previous)  # refuse a broken file before swapping
    swap = path.with_name(path.stem + ".swap" + path.suffix)
    shutil.copyfile(path, swap) if path.exists() else None
    shutil.copyfile(previous, path)
    if swap.exists():
        swap.replace(previous)  # rolling back twice returns to where we were
    return path
