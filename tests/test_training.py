"""Retraining as the specialist runs it: a new topic model replaces the one in service only when it does not
score worse on the team's evaluation set; the replaced model is kept, and a rollback puts it back."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from config.cli import app
from config.settings import DEFAULT_FILE


def test_a_worse_model_is_refused_a_good_one_replaces_the_old_and_rollback_puts_it_back(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'helpdesk.db'}")
    run = lambda *args: CliRunner().invoke(app, list(args))  # noqa: E731
    model = tmp_path / "topic-model.npz"

    first = run("train")
    assert first.exit_code == 0 and "no model in service: the new one is saved" in first.output, first.output
    served = model.read_bytes()

    again = run("train")
    assert again.exit_code == 0 and "not worse: the new model replaces the old one" in again.output
    assert "model in service top-1" in again.output
    assert (tmp_path / "topic-model.previous.npz").read_bytes() == served

    # Someone adds a file of badly labelled examples: every wages question filed under child labour.
    wrong = tmp_path / "wrong.tsv"
    wrong.write_text("# topics\ttext\n" + "".join(
        f"child_labour\tHow much must we pay workers per hour at site {i}? Is our wage above the minimum wage?\n"
        for i in range(150)), encoding="utf-8")
    config = tmp_path / "helpdesk.toml"
    config.write_text(DEFAULT_FILE.read_text(encoding="utf-8").replace(
        "[classifier]", f"[classifier]\nexamples = [{str(wrong)!r}]", 1), encoding="utf-8")
    monkeypatch.setenv("HELPDESK_CONFIG", str(config))
    before = model.read_bytes()
    refused = run("train")
    assert refused.exit_code == 1 and "scores worse" in refused.output and "kept the model in service" in refused.output
    assert model.read_bytes() == before

    forced = run("train", "--force")
    assert forced.exit_code == 0 and "kept although worse (--force)" in forced.output
    assert model.read_bytes() != before
    rolled = run("train", "--rollback")
    assert rolled.exit_code == 0 and "Rolled back" in rolled.output
    assert model.read_bytes() == before


def test_rolling_back_without_a_previous_model_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'helpdesk.db'}")
    result = CliRunner().invoke(app, ["train", "--rollback"])
    assert result.exit_code == 1 and "no previous model to roll back to" in result.output
    assert not Path(tmp_path / "topic-model.npz").exists()
