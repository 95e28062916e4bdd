"""One command runs the helpdesk; only one process schedules; `check` says what works."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from config.cli import app
from config.scheduler import SchedulerLeadership
from kb.db import make_engine
from tests.peers.mail import free_port


def dropped_email(folder, text_="Can we employ 16-year-olds in our packaging plant?"):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Jane Osei <jane@acme.example>", "helpdesk@example.org", "Young workers"
    m["Message-ID"] = make_msgid(domain="acme.example")
    m.set_content(text_)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "q1.eml").write_bytes(bytes(m))


def test_helpdesk_run_triages_a_dropped_email_writes_its_mail_and_stops_on_sigterm(tmp_path, trained_model_path):
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    dropped_email(tmp_path / "inbox")
    env = {**os.environ, "HELPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
           "HELPDESK_WEB_PORT": str(free_port())}
    process = subprocess.Popen([sys.executable, "-c", "from config.cli import main; main()", "run",
                                "--tick-seconds", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(list((tmp_path / "outbox").glob("*-routing.eml"))) < 3
                                               or not list((tmp_path / "outbox").glob("*-acknowledgement.eml"))):
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert (tmp_path / "inbox" / "done" / "q1.eml").exists()
    files = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    # (numbered in the order queued: after 08:00 UTC on a working day the scheduler's digest may come first)
    assert sum("acknowledgement" in f for f in files) == 1 and sum("routing" in f for f in files) == 3
    assert "query HD-2026-0001 received by email" in output and "stopped" in output
    assert "Can we employ" not in output  # no message bodies in the log


def test_only_one_of_two_processes_runs_the_scheduler_and_the_other_takes_over(postgres_url):
    first_engine, second_engine = make_engine(postgres_url), make_engine(postgres_url)
    first, second = SchedulerLeadership(first_engine), SchedulerLeadership(second_engine)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.still_held()
        # The leader dies: its connection is closed by the server.
        with make_engine(postgres_url).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                               "AND pid <> pg_backend_pid()"))
        assert not first.still_held()
        assert second.try_acquire()
    finally:
        second.release()
        first_engine.dispose()
        second_engine.dispose()


def test_sqlite_assumes_a_single_scheduling_process(tmp_path):
    assert SchedulerLeadership(make_engine(f"sqlite:///{tmp_path / 'x.db'}")).try_acquire()


@pytest.fixture
def cli_env(tmp_path, monkeypatch, trained_model_path, database_url):
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return monkeypatch


def test_check_tries_each_configured_connection(cli_env, dovecot, smtp_sink):
    for key, value in {"HELPDESK_IMAP_HOST": "127.0.0.1", "HELPDESK_IMAP_PORT": str(dovecot.port),
                       "HELPDESK_IMAP_USER": "test", "HELPDESK_IMAP_PASSWORD": "testpass",
                       "HELPDESK_IMAP_SECURITY": "plain", "HELPDESK_SMTP_HOST": "127.0.0.1",
                       "HELPDESK_SMTP_PORT": str(smtp_sink.port), "HELPDESK_SMTP_SECURITY": "plain"}.items():
        cli_env.setenv(key, value)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "OK    IMAP: 127.0.0.1 INBOX: 0 message(s)" in result.output and "OK    SMTP" in result.output
    cli_env.setenv("HELPDESK_IMAP_PASSWORD", "wrong")
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1 and "FAIL  IMAP" in result.output and "wrong" not in result.output
