"""Serving the console: `helpdesk web`, the console as a part of `helpdesk run`, its settings, and its walls.

A helpdesk manager runs `helpdesk web` (or just `helpdesk run`) and opens http://127.0.0.1:8080/ on the
same machine: no TLS there, so the cookie may travel over plain HTTP; anywhere else it is Secure unless
said otherwise. The cookie secret is made once and kept private in the data folder.
"""

from __future__ import annotations

import ast
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from web.server import WebSettingsError, web_options

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_console(url: str, timeout: float = 60, process: subprocess.Popen | None = None) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url + "/login", timeout=2)
        except httpx.TransportError:
            if process is not None and process.poll() is not None:
                break
            time.sleep(0.2)
    raise AssertionError(f"no console on {url}")


# -------------------------------------------------------------------- settings
def test_by_default_the_console_listens_on_localhost_8080_with_plain_http_cookies(tmp_path):
    options = web_options({}, tmp_path)
    assert (options.host, options.port, options.secure_cookies) == ("127.0.0.1", 8080, False)
    assert options.url == "http://127.0.0.1:8080/"


def test_the_cookie_secret_is_made_once_kept_private_and_reused(tmp_path):
    first = web_options({}, tmp_path).secret_key
    secret_file = tmp_path / "web-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600 and len(first) >= 32
    assert web_options({}, tmp_path).secret_key == first  # sessions survive a restart
    assert web_options({}, tmp_path / "other").secret_key != first
    given = web_options({"HELPDESK_WEB_SECRET": "s" * 40}, tmp_path / "third")
    assert given.secret_key == "s" * 40 and not (tmp_path / "third" / "web-secret").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_away_from_localhost_cookies_are_secure_unless_plain_http_is_asked_for(tmp_path):
    public = {"HELPDESK_WEB_HOST": "0.0.0.0", "HELPDESK_WEB_PORT": "8443"}
    assert web_options(public, tmp_path).secure_cookies
    assert not web_options({**public, "HELPDESK_WEB_INSECURE_COOKIES": "1"}, tmp_path).secure_cookies
    assert web_options({"HELPDESK_WEB_INSECURE_COOKIES": "0"}, tmp_path).secure_cookies  # localhost, by choice


@pytest.mark.parametrize("env, named", [
    ({"HELPDESK_WEB_PORT": "eighty"}, "HELPDESK_WEB_PORT"),
    ({"HELPDESK_WEB_PORT": "70000"}, "HELPDESK_WEB_PORT"),
    ({"HELPDESK_WEB_SECRET": "short"}, "HELPDESK_WEB_SECRET"),
    ({"HELPDESK_WEB_INSECURE_COOKIES": "maybe"}, "HELPDESK_WEB_INSECURE_COOKIES"),
])
def test_a_wrong_setting_is_named(tmp_path, env, named):
    with pytest.raises(WebSettingsError, match=named):
        web_options(env, tmp_path)


# --------------------------------------------------------------------- serving
def test_helpdesk_web_serves_the_console_until_sigterm(tmp_path, trained_model_path):
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}, "HELPDESK_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "HELPDESK_WEB_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-c", "from config.cli import main; main()", "web"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        page = wait_for_console(f"http://127.0.0.1:{port}", process=process)
        assert page.status_code == 200 and "Sign in" in page.text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert f"Web console on http://127.0.0.1:{port}/ (plain-HTTP cookies)" in output
    assert "No console account yet: add one with `helpdesk user add NAME --role specialist`" in output
    assert (tmp_path / "web-secret").exists()


def test_a_wrong_web_setting_stops_helpdesk_web_with_the_configuration_status(tmp_path, monkeypatch,
                                                                             trained_model_path, database_url):
    from typer.testing import CliRunner

    from config.cli import app

    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    for name, value in {"HELPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url,
                        "HELPDESK_WEB_PORT": "eighty"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["web"])
    assert result.exit_code == 2 and "HELPDESK_WEB_PORT must be a port number" in result.output


def test_helpdesk_run_serves_the_console_as_a_supervised_part(helpdesk, monkeypatch, caplog):
    from config.runner import Runner

    caplog.set_level(logging.INFO)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    monkeypatch.setenv("HELPDESK_WEB_PORT", str(port))
    runner = Runner(helpdesk, send_every=0.2, retry_min=0.2, retry_max=0.5)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while "cannot listen on 127.0.0.1" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"web console: OSError: cannot listen on 127.0.0.1:{port}" in caplog.text  # the port is taken
        taken.close()  # freed: the next attempt serves
        page = wait_for_console(f"http://127.0.0.1:{port}", timeout=30)
        assert page.status_code == 200 and "Sign in" in page.text
        assert not runner.stop.is_set()
    finally:
        taken.close()
        status = runner.finish()
    assert status == 0 and all(not t.is_alive() for t in runner.threads)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)


# ----------------------------------------------------------------------- walls
def web_modules():
    for path in sorted((ROOT / "web").rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_the_console_is_an_adapter_that_imports_kb_and_never_config():
    ours = {"classifier", "kb", "ingest", "bot", "config", "web"}
    wrong = []
    for name, tree in web_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                used = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                used = {node.module.split(".")[0]}
            else:
                continue
            wrong += [f"{name} imports {p}" for p in used & ours - {"web", "kb", "classifier"}]
    assert wrong == []


def test_the_console_never_opens_a_session_nor_reads_the_environment():
    offenders = []
    for name, tree in web_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                    "unit_of_work", "Session", "sessionmaker"):
                offenders.append(f"{name}:{node.lineno} opens a session")
            if isinstance(node, ast.Attribute) and node.attr in ("sessions", "unit_of_work"):
                offenders.append(f"{name}:{node.lineno} reaches for the store")
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                offenders.append(f"{name}:{node.lineno} reads the environment")
    assert offenders == []
