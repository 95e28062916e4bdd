"""Triage quality as the team measures it: the match confidence is learned from the team's labelled pairs,
and ``helpdesk eval`` reports topics, language, matching and drafts on a labelled set."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.cli import app
from kb.match_confidence import MatchConfidence

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_match_model_is_what_training_on_the_teams_pairs_gives(trained_model_path):
    sys.path.insert(0, str(ROOT))
    from bench.train_match_model import build

    rebuilt = build(trained_model_path)
    shipped = MatchConfidence.shipped()
    assert rebuilt.to_json() == shipped.to_json()
    assert "held out: strong precision" in shipped.notes


def test_a_draft_is_built_only_from_a_strong_match(service):
    """Regression: "hello? can you help me…" was routed with a draft from a Q&A sharing two words with it."""
    from kb.intake import QuerySubmission
    from kb.models import Channel

    for text in ("hello? can you help me with a question about our workers", "Our union wants to negotiate a "
                 "pension top-up for platform couriers in Lagos."):
        report = service.submit_query(QuerySubmission(text=text, channel=Channel.TELEGRAM, telegram_chat_id=5,
                                                      name="Sam"))
        assert not any(m["strength"] == "strong" for m in report.matches), report.matches
        assert "passed to our specialists" in report.draft


@pytest.fixture
def cli(tmp_path, monkeypatch, trained_model_path):
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'eval.db'}")
    return lambda *args: CliRunner().invoke(app, list(args))


def test_helpdesk_eval_prints_topic_match_and_draft_figures(cli, tmp_path):
    cases = [
        {"text": "How many weeks of maternity leave must we give our employees?", "topics": ["working_time"],
         "language": "en", "qa": "wt-maternity-leave"},
        {"text": "¿Quién debe pagar los equipos de protección individual de los obreros?", "topics": ["osh"],
         "language": "es", "qa": "osh-ppe"},
        {"text": "Nos fournisseurs gardent les passeports des travailleurs migrants. Est-ce acceptable ?",
         "topics": ["forced_labour"], "language": "fr", "qa": "fl-passports"},
        {"text": "What is the carbon footprint of our delivery trucks?", "topics": ["general_policies"],
         "language": "en"},
    ]
    file = tmp_path / "set.jsonl"
    file.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    result = cli("eval", str(file), "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["cases"] == 4 and figures["unanswerable"] == 1
    assert figures["recall"]["all"][2] == 3 and figures["recall"]["all"][1] == 1.0  # all three found in the top 3
    assert figures["drafts_right"] == 1.0 and figures["unanswerable_drafted"] == 0.0
    assert 0 <= figures["top1"] <= 1 and figures["calibration"]
    text = cli("eval", str(file))
    assert "match recall (across languages" in text.output and "topics: top-1" in text.output


def test_a_broken_evaluation_file_is_refused_with_its_line(cli, tmp_path):
    file = tmp_path / "bad.jsonl"
    file.write_text('{"text": "ok", "topics": ["wages"]}\n{"text": "no topics"}\n', encoding="utf-8")
    result = cli("eval", str(file))
    assert result.exit_code == 1 and "line 2: KeyError" in result.output
