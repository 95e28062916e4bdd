"""Rebuild kb/data/match_model.json from the team's labelled pairs (kb/data/match_pairs.jsonl).

    .venv/bin/python bench/train_match_model.py [--check]

The query topics come from the topic model trained on the shipped examples, as at triage. With --check it
only says whether the shipped file is what training gives now (exit status 1 when not).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.model import select_topics  # noqa: E402
from config.bootstrap import bootstrap, train_and_save  # noqa: E402
from config.settings import DEFAULT_FILE, Settings  # noqa: E402
from kb.match_training import entries_from, shipped_pairs, train_from_pairs  # noqa: E402
from kb.matching import Analyser, QAMatcher  # noqa: E402
from kb.qa_bank import shipped_qas  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "kb" / "data" / "match_model.json"


def build(model_path: Path | None = None):
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(config=DEFAULT_FILE, data_dir=Path(folder), database_url=f"sqlite:///{folder}/t.db",
                            **({"model_path": model_path} if model_path else {}))
        helpdesk = bootstrap(settings)
        try:
            model = helpdesk.service.model if model_path else train_and_save(helpdesk)
            policy = helpdesk.policy
        finally:
            helpdesk.close()

    def topics_of(text: str) -> list[str]:
        return [s.code for s in select_topics(model.predict(text), threshold=policy.confidence_threshold,
                                              max_topics=policy.max_topics)]

    return train_from_pairs(QAMatcher(entries_from(shipped_qas()), Analyser(concepts=True)), shipped_pairs(),
                            topics_of)


def main() -> int:
    confidence = build()
    if "--check" in sys.argv:
        same = SHIPPED.read_text(encoding="utf-8") == confidence.to_json()
        print("the shipped match model is up to date" if same else "the shipped match model differs: rebuild it")
        return 0 if same else 1
    confidence.save(SHIPPED)
    print(f"wrote {SHIPPED}: strong from {confidence.strong}, partial from {confidence.partial}; {confidence.notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
