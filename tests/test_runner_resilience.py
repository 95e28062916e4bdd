"""`helpdesk run` keeps the helpdesk up when one part fails: Telegram unreachable or refusing the token
does not stop mail or the scheduler; the failing part says what is wrong and is retried on its own; only a
configuration error stops the process, with a non-zero exit status (for systemd's Restart=on-failure)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.peers.mail import free_port
from aiohttp import web
from pydantic import SecretStr

from config.runner import Runner
from tests.peers.telegram import FakeBotApi
from tests.test_runner import dropped_email

TOKEN = "123:TEST"
ALICE = 42


# ------------------------------------------------------------------ helpers
def closed_port() -> int:
    """A loopback port nobody listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HelpdeskProcess:
    """`helpdesk run` started as a service manager would, its log read as it is written."""

    def __init__(self, tmp_path, trained_model_path, **env: str) -> None:
        self.data = tmp_path
        shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
        base = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env = {**base, "HELPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
               "HELPDESK_WEB_PORT": str(free_port()), **env}
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-c", "from config.cli import main; main()", "run",
                                         "--tick-seconds", "1"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for(self, what: str, predicate, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no {what} (exit status {self.process.poll()}); log:\n{self.log}")

    def acknowledged(self) -> bool:
        # Its number depends on what the scheduler queued first (after 08:00 UTC on a working day, the digest).
        return any((self.data / "outbox").glob("*-acknowledgement.eml"))

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def wait_exit(self, timeout: float = 60) -> int:
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return self.process.returncode

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.wait_exit()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def run_helpdesk(tmp_path, trained_model_path):
    started: list[HelpdeskProcess] = []

    def start(**env: str) -> HelpdeskProcess:
        process = HelpdeskProcess(tmp_path, trained_model_path, **env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


class RefusingBotApi:
    """A Bot API server that refuses every token, as Telegram does for a wrong or revoked one."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _refuse(self) -> None:
                outer.requests.append(self.path.rsplit("/", 1)[-1])
                body = json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _refuse

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def refusing_api():
    server = RefusingBotApi()
    yield server
    server.stop()


# -------------------------------------------------------------------- stories
def test_with_telegram_unreachable_mail_still_flows_and_the_bot_is_retried(tmp_path, run_helpdesk):
    dropped_email(tmp_path / "inbox")
    helpdesk = run_helpdesk(HELPDESK_TELEGRAM_TOKEN=TOKEN,
                            HELPDESK_TELEGRAM_BASE_URL=f"http://127.0.0.1:{closed_port()}")

    helpdesk.wait_for("acknowledgement in the outbox folder", helpdesk.acknowledged)
    helpdesk.wait_for("second attempt to reach Telegram", lambda: helpdesk.count("Telegram unreachable") >= 2)
    assert helpdesk.process.poll() is None, helpdesk.log  # still running: mail and the scheduler carry on

    assert helpdesk.terminate() == 0, helpdesk.log
    log = helpdesk.log
    assert (tmp_path / "inbox" / "done" / "q1.eml").exists()
    assert "query HD-2026-0001 received by email" in log
    assert "ERROR helpdesk.run: Telegram bot: Telegram unreachable: " in log and "; retrying in 1 s" in log
    assert "; retrying in 2 s" in log  # the wait doubles
    assert TOKEN not in log
    assert "stopped" in log


def test_with_a_refused_token_mail_still_flows_and_the_log_names_the_setting(tmp_path, run_helpdesk,
                                                                              refusing_api):
    dropped_email(tmp_path / "inbox")
    helpdesk = run_helpdesk(HELPDESK_TELEGRAM_TOKEN=TOKEN, HELPDESK_TELEGRAM_BASE_URL=refusing_api.base_url)

    helpdesk.wait_for("acknowledgement in the outbox folder", helpdesk.acknowledged)
    helpdesk.wait_for("second try of the token", lambda: refusing_api.requests.count("getMe") >= 2)
    assert helpdesk.process.poll() is None, helpdesk.log

    assert helpdesk.terminate() == 0, helpdesk.log
    log = helpdesk.log
    assert ("ERROR helpdesk.run: Telegram bot: Telegram refused the bot token (check HELPDESK_TELEGRAM_TOKEN); "
            "retrying in") in log
    assert TOKEN not in log  # python-telegram-bot puts the token in its InvalidToken message


def test_a_configuration_error_stops_helpdesk_run_with_status_2_and_says_what_is_missing(run_helpdesk):
    helpdesk = run_helpdesk(HELPDESK_IMAP_HOST="127.0.0.1")

    status = helpdesk.wait_exit(timeout=60)
    took = time.monotonic() - helpdesk.started

    assert status == 2, helpdesk.log
    assert took < 30, f"took {took:.0f} s"
    assert ("ERROR helpdesk.run: mail in: configuration error: email ingestion needs HELPDESK_IMAP_USER, "
            "HELPDESK_IMAP_PASSWORD (or an OAuth2 token) in the environment; stopping the helpdesk") in helpdesk.log
    assert "retrying" not in helpdesk.log  # a configuration error is not retried
    assert "stopped" in helpdesk.log  # the other parts were stopped cleanly


class FakeBotApiOnPort(FakeBotApi):
    """The fake Bot API on a port chosen in advance, so the bot can be pointed at it before it listens."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def start(self) -> "FakeBotApiOnPort":
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self


async def until(what: str, predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.asyncio
async def test_the_bot_comes_up_once_telegram_is_reachable_while_mail_kept_flowing(helpdesk, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = closed_port()
    helpdesk.settings = helpdesk.settings.model_copy(update={
        "telegram_token": SecretStr(TOKEN), "telegram_base_url": f"http://127.0.0.1:{port}"})
    dropped_email(tmp_path / "inbox")
    runner = Runner(helpdesk, send_every=0.2, retry_min=0.1, retry_max=0.5)
    failures = lambda: [r for r in caplog.records if "Telegram bot: Telegram unreachable" in r.getMessage()]
    runner.start()
    api = FakeBotApiOnPort(port)
    try:
        # Telegram is down: the bot fails and is retried, and meanwhile the email is triaged and acknowledged.
        await until("two failed starts of the bot", lambda: len(failures()) >= 2)
        await until("the acknowledgement", lambda: any((tmp_path / "outbox").glob("*-acknowledgement.eml")))
        assert all(r.levelno == logging.ERROR for r in failures())

        # Telegram comes back: the next attempt starts the bot, which answers.
        await api.start()
        await until("the bot polling", lambda: "Telegram bot: @help_test_bot long polling" in caplog.text)
        api.send_text(ALICE, "/start")
        await api.wait_for(lambda: api.texts_to(ALICE), timeout=15)
        assert not runner.stop.is_set()
    finally:
        status = await asyncio.to_thread(runner.finish)  # the bot says goodbye to the fake API on this loop
        await api.stop()
    assert status == 0
    assert all(not t.is_alive() for t in runner.threads)
    helpdesk_log = [r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp")]  # not the fake's
    assert helpdesk_log and not any(TOKEN in line for line in helpdesk_log)


class RevocableBotApi(FakeBotApiOnPort):
    """The fake Bot API, which can start refusing the token as Telegram does when it is revoked."""

    revoked = False

    async def _handle(self, request: web.Request) -> web.Response:
        if self.revoked:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        return await super()._handle(request)


@pytest.mark.asyncio
async def test_a_token_revoked_while_running_is_reported_and_the_bot_restarts_when_it_is_accepted_again(
        helpdesk, caplog):
    caplog.set_level(logging.INFO)
    api = await RevocableBotApi(closed_port()).start()
    helpdesk.settings = helpdesk.settings.model_copy(update={
        "telegram_token": SecretStr(TOKEN), "telegram_base_url": api.base_url})
    runner = Runner(helpdesk, retry_min=0.1, retry_max=0.5)
    refusals = lambda: caplog.text.count("Telegram bot: Telegram refused the bot token (check HELPDESK_TELEGRAM_TOKEN)")
    runner.start()
    try:
        await until("the bot polling", lambda: "Telegram bot: @help_test_bot long polling" in caplog.text)
        api.revoked = True
        api._new_update.set()  # end the long poll in progress, as Telegram would answer the next one
        await until("two refusals", lambda: refusals() >= 2)
        api.revoked = False
        await until("the bot polling again", lambda: caplog.text.count("@help_test_bot long polling") == 2)
        api.send_text(ALICE, "/start")
        await api.wait_for(lambda: api.texts_to(ALICE), timeout=15)
        assert not runner.stop.is_set()  # the other parts never stopped
    finally:
        status = await asyncio.to_thread(runner.finish)
        await api.stop()
    assert status == 0
