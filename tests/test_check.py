"""`helpdesk check` proves each connection (logins included) and reports every failure as one line, without a
traceback and without a secret; every command reports an unusable database in one line."""

from __future__ import annotations

import base64
import json
import os
import shutil
import smtplib
import sqlite3

import pytest
from rich.console import Console
from telegram.error import NetworkError
from typer.testing import CliRunner

from config.checks import Lines, Redactor, explain_telegram, redactor
from config.cli import app
from config.settings import Settings
from ingest.smtp import OutboxSender, SmtpSettings
from tests.peers.mail import SmtpSink, free_port

USER, TOKEN = "helpdesk@example.org", "token-123"
#: Real servers (Gmail, Microsoft 365) refuse a bad XOAUTH2 token with this challenge, then 535.
OAUTH2_ERROR = json.dumps({"status": "401", "schemes": "Bearer", "scope": "https://mail.google.com/"})


class _OAuth2Sink(SmtpSink):
    """An SMTP server that requires AUTH and takes XOAUTH2 only with the right token. A wrong token is
    refused as real servers do: a 334 challenge carrying a base64 JSON error, then, once the client has
    answered with an empty line, 535."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[str] = []
        self.answers_to_error: list[bytes] = []

    def start(self) -> "_OAuth2Sink":
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        def no_password(server, session, envelope, mechanism, auth_data):
            return AuthResult(success=False)

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=no_password,
                                     auth_require_tls=False, auth_required=True)
        self.controller.start()
        return self

    async def auth_XOAUTH2(self, server, args):
        from aiosmtpd.smtp import AuthResult

        initial = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        if initial == f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01":
            self.logins.append("XOAUTH2")
            return AuthResult(success=True, handled=False)
        self.answers_to_error.append(await server.challenge_auth(OAUTH2_ERROR))
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535


@pytest.fixture
def oauth2_sink():
    sink = _OAuth2Sink().start()
    yield sink
    sink.stop()


@pytest.fixture
def check_env(tmp_path, monkeypatch, trained_model_path):
    """A clean environment: a data folder with a trained model and an SQLite database; nothing else set."""
    for name in list(os.environ):
        if name.startswith("HELPDESK_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'helpdesk.db'}")
    return monkeypatch


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def fail_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("FAIL")]


def the_fail_line(output: str) -> str:
    lines = fail_lines(output)
    assert len(lines) == 1, output
    return lines[0]


# ----------------------------------------------------------------- SMTP XOAUTH2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback test server
def test_smtp_xoauth2_login_is_checked_and_a_refused_token_raises(oauth2_sink):
    def sender(token: str) -> OutboxSender:
        return OutboxSender(SmtpSettings(host="127.0.0.1", port=oauth2_sink.port, security="plain", username=USER,
                                         oauth2_token=lambda: token, timeout=10), service=None)

    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        sender("expired-token")._connect()
    assert refused.value.smtp_code == 535
    assert oauth2_sink.answers_to_error == [b""]  # the error challenge was answered with an empty response
    sender(TOKEN)._connect().quit()
    assert oauth2_sink.logins == ["XOAUTH2"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_check_fails_when_the_smtp_server_refuses_the_oauth2_token(check_env, oauth2_sink):
    for key, value in {"HELPDESK_SMTP_HOST": "127.0.0.1", "HELPDESK_SMTP_PORT": str(oauth2_sink.port),
                       "HELPDESK_SMTP_SECURITY": "plain", "HELPDESK_SMTP_USER": USER,
                       "HELPDESK_OAUTH2_ACCESS_TOKEN": "expired-token-4f9a"}.items():
        check_env.setenv(key, value)
    result = run("check")
    assert result.exit_code == 1, result.output
    line = the_fail_line(result.output)
    assert line.startswith(f"FAIL  SMTP 127.0.0.1:{oauth2_sink.port}: login refused for user {USER} (535"), line
    assert "HELPDESK_SMTP_USER" in line
    assert "expired-token-4f9a" not in result.output

    check_env.setenv("HELPDESK_OAUTH2_ACCESS_TOKEN", TOKEN)
    result = run("check")
    assert result.exit_code == 0, result.output
    assert f"OK    SMTP: 127.0.0.1:{oauth2_sink.port}: connected, logged in as {USER} (XOAUTH2)" in result.output
    assert TOKEN not in result.output


# ------------------------------------------------------------------- database


@pytest.mark.parametrize("url, problem", [
    ("postgresql+psycopg://postgres:Sup3r-Secret@127.0.0.1:{closed}/test",
     "connection refused — is the database server running there? check the host and port in DATABASE_URL"),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db",
     'database "no_such_db" does not exist — create it (createdb no_such_db) or fix the database name in '
     "DATABASE_URL"),
    ("postgresql+psycopg://nobody_here@127.0.0.1:5432/test",
     'login refused: role "nobody_here" does not exist — fix the user name in DATABASE_URL'),
], ids=["unreachable", "missing-database", "wrong-role"])
def test_check_reports_a_database_it_cannot_use_in_one_line(check_env, url, problem):
    url = url.format(closed=free_port())
    check_env.setenv("DATABASE_URL", url)
    result = run("check")
    assert result.exit_code == 1, result.output
    line = the_fail_line(result.output)
    shown = url.replace("Sup3r-Secret", "***")
    assert line == f"FAIL  database {shown}: {problem}", line
    assert "Sup3r-Secret" not in result.output
    assert len(result.output.splitlines()) == 5, result.output  # configuration, database, IMAP, SMTP, Telegram
    assert result.output.startswith("OK    configuration ")


def test_check_reports_a_wrong_configuration_file_in_one_line_and_changes_nothing(check_env, tmp_path):
    config = tmp_path / "helpdesk.toml"
    config.write_text('[helpdesk]\nname = "Helpdesk"\nemail = "not-an-address"\n', encoding="utf-8")
    check_env.setenv("HELPDESK_CONFIG", str(config))
    result = run("check")
    assert result.exit_code == 1, result.output
    line = the_fail_line(result.output)
    assert line.startswith(f"FAIL  configuration: {config}: the configuration has ") and "helpdesk.email" in line
    assert "OK    database: sqlite:///" in result.output  # the other checks still run
    with sqlite3.connect(tmp_path / "helpdesk.db") as db:  # not migrated with a wrong configuration
        assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone() == (0,)


def test_check_reports_a_malformed_environment_variable_in_one_line(check_env):
    check_env.setenv("HELPDESK_IMAP_PORT", "imap")
    result = run("check")
    assert result.exit_code == 1
    assert the_fail_line(result.output).startswith("FAIL  environment: HELPDESK_IMAP_PORT: Input should be a valid "
                                                   "integer")


def test_check_with_a_working_database_migrates_it_and_says_so(check_env, tmp_path):
    result = run("check")
    assert result.exit_code == 0, result.output
    assert f"OK    database: sqlite:///{tmp_path / 'helpdesk.db'} (connected, schema up to date)" in result.output
    with sqlite3.connect(tmp_path / "helpdesk.db") as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


# ---------------------------------------------------------------- IMAP, Telegram


def test_check_names_the_imap_host_and_port_it_cannot_reach(check_env):
    port = free_port()
    for key, value in {"HELPDESK_IMAP_HOST": "127.0.0.1", "HELPDESK_IMAP_PORT": str(port),
                       "HELPDESK_IMAP_USER": "test", "HELPDESK_IMAP_PASSWORD": "pw-7d1c",
                       "HELPDESK_IMAP_SECURITY": "plain"}.items():
        check_env.setenv(key, value)
    result = run("check")
    assert result.exit_code == 1
    assert the_fail_line(result.output) == (f"FAIL  IMAP 127.0.0.1:{port}: connection refused — check "
                                            "HELPDESK_IMAP_HOST/HELPDESK_IMAP_PORT")
    assert "pw-7d1c" not in result.output


def test_check_says_the_imap_login_was_refused_without_the_password(check_env, dovecot):
    for key, value in {"HELPDESK_IMAP_HOST": "127.0.0.1", "HELPDESK_IMAP_PORT": str(dovecot.port),
                       "HELPDESK_IMAP_USER": "test", "HELPDESK_IMAP_PASSWORD": "Wr0ng-Pa55word",
                       "HELPDESK_IMAP_SECURITY": "plain"}.items():
        check_env.setenv(key, value)
    result = run("check")
    assert result.exit_code == 1
    line = the_fail_line(result.output)
    assert line.startswith(f"FAIL  IMAP 127.0.0.1:{dovecot.port}: login refused for user test ("), line
    assert line.endswith("— check HELPDESK_IMAP_USER and HELPDESK_IMAP_PASSWORD"), line
    assert "Wr0ng-Pa55word" not in result.output


def test_check_never_prints_the_telegram_token(check_env):
    token = "123456:AAH-s3cret-bot-token"
    port = free_port()
    check_env.setenv("HELPDESK_TELEGRAM_TOKEN", token)
    check_env.setenv("HELPDESK_TELEGRAM_BASE_URL", f"http://127.0.0.1:{port}")
    result = run("check")
    assert result.exit_code == 1
    line = the_fail_line(result.output)
    assert line.startswith(f"FAIL  Telegram http://127.0.0.1:{port}: cannot reach the Bot API ("), line
    assert line.endswith("— check HELPDESK_TELEGRAM_BASE_URL and the network")
    assert token not in result.output and "s3cret" not in result.output


def test_every_check_line_is_redacted_of_each_configured_secret(check_env, tmp_path):
    token, password = "123456:AAH-s3cret-bot-token", "p@ss word/1"
    check_env.setenv("HELPDESK_TELEGRAM_TOKEN", token)
    check_env.setenv("HELPDESK_SMTP_PASSWORD", password)
    check_env.setenv("DATABASE_URL", "postgresql+psycopg://helpdesk:db%2Fsecret@db.example:5432/helpdesk")
    console = Console(record=True, width=60)
    out = Lines(console, redactor(Settings()))
    # httpx errors embed the request URL, and the URL holds the token
    error = NetworkError(f"httpx.ConnectError: https://api.telegram.org/bot{token}/getMe")
    out.fail("Telegram", explain_telegram(error))
    out.fail("SMTP", f"server said: {password} and quoted p%40ss%20word%2F1 — and database db/secret, db%2Fsecret")
    printed = console.export_text()
    assert out.failures == 2 and len(printed.splitlines()) == 2  # one line each, however long
    assert "https://api.telegram.org/bot***/getMe" in printed
    for secret in (token, "s3cret", password, "p%40ss%20word%2F1", "db/secret", "db%2Fsecret"):
        assert secret not in printed
    assert Redactor([None, ""])("nothing to hide") == "nothing to hide"


def test_check_names_the_real_drop_folders_when_mail_is_not_configured(check_env, tmp_path):
    result = run("check")
    assert result.exit_code == 0, result.output
    assert f"--    IMAP: not configured (mail is read from the drop folder {tmp_path / 'inbox'})" in result.output
    assert f"--    SMTP: not configured (mail is written to {tmp_path / 'outbox'})" in result.output
    assert "--    Telegram: not configured (HELPDESK_TELEGRAM_TOKEN)" in result.output
    assert "var/" not in result.output


# ------------------------------------------------------- every other command


@pytest.mark.parametrize("url, driver_says", [
    ("postgresql+psycopg://postgres:Sup3r-Secret@127.0.0.1:{closed}/test",
     'connection failed: connection to server at "127.0.0.1", port {closed} failed: Connection refused'),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db",
     'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "no_such_db" '
     "does not exist"),
], ids=["unreachable", "missing-database"])
def test_commands_report_an_unusable_database_in_one_line(check_env, url, driver_says):
    closed = free_port()
    check_env.setenv("DATABASE_URL", url.format(closed=closed))
    result = run("queries")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"Database error: {driver_says.format(closed=closed)} (check DATABASE_URL)"
    assert "Sup3r-Secret" not in result.output


def test_commands_hide_the_database_password_in_configuration_errors(check_env):
    check_env.setenv("DATABASE_URL", "postgresql+psycopg://postgres:Sup3r-Secret@127.0.0.1:not-a-port/test")
    result = run("queries")
    assert result.exit_code == 2
    assert result.output.startswith("Configuration error: DATABASE_URL: cannot use "), result.output
    assert "Sup3r-Secret" not in result.output and "postgres:***@" in result.output
