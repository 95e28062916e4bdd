"""A person types ``helpdesk queries`` and gets the answer at once: short commands are handed to a warm
process that has the helpdesk imported already (``config.launch``, ``config.warm``). What they print, the
exit status, the store they use and what they read from standard input are the caller's, as if the
command had run in its own process; when the code changes, the warm process steps aside.

Each test has its own runtime folder, so its own warm process, stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from config.launch import private_folder, socket_name, starts_one, wanted

HELPDESK = str(Path(sys.executable).with_name("helpdesk"))


class Warm:
    """A runtime folder of its own; runs ``helpdesk`` with the warm process on (or off)."""

    def __init__(self, data_dir: Path, model: Path) -> None:
        self.runtime = Path(tempfile.mkdtemp(prefix="hw-", dir="/tmp"))  # a socket path must stay short
        self.folder = self.runtime / "helpdesk"
        self.socket = self.folder / socket_name(sys.executable)
        shutil.copy(model, data_dir / "topic-model.npz")
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")},
                    "HELPDESK_CACHE_DIR": os.environ["HELPDESK_CACHE_DIR"], "HELPDESK_DATA_DIR": str(data_dir),
                    "XDG_RUNTIME_DIR": str(self.runtime), "HELPDESK_WARM_CLI": "1",
                    "HELPDESK_WARM_CLI_IDLE": "120", "COLUMNS": "200"}
        self.env.pop("DATABASE_URL", None)

    def run(self, *args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([HELPDESK, *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=120, **kwargs)

    def _lock(self) -> list[int]:
        try:
            return [int(n) for n in (self.folder / (self.socket.name + ".lock")).read_text().split()]
        except (OSError, ValueError):
            return []

    def pid(self) -> int | None:
        return (self._lock() or [None])[0]

    def served(self) -> int:
        """How many commands the warm process has taken."""
        return (self._lock() + [0, 0])[1]

    def wait_ready(self) -> int:
        """The warm process's pid once it listens (the first command starts it in the background)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.socket.exists() and self.pid():
                return self.pid()
            time.sleep(0.1)
        raise AssertionError("the warm process never listened")

    def stop(self) -> None:
        pid = self.pid()
        if pid and alive(pid):
            os.kill(pid, signal.SIGTERM)
        shutil.rmtree(self.runtime, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


@pytest.fixture
def warm(tmp_path, trained_model_path):
    w = Warm(tmp_path, trained_model_path)
    yield w
    w.stop()


def test_short_commands_go_to_the_warm_process_long_ones_and_prompts_do_not():
    on = {}
    assert wanted(["helpdesk", "queries"], on) and wanted(["helpdesk", "ask", "Overtime?"], on)
    assert wanted(["helpdesk", "show", "HD-2026-0001"], on) and wanted(["helpdesk", "qa", "list"], on)
    for long_or_prompting in ("run", "web", "bot", "fetch-mail", "send-mail", "process-mail", "train", "user",
                              "privacy", "backup", "check"):
        assert not wanted(["helpdesk", long_or_prompting], on)
    assert not wanted(["helpdesk"], on) and not wanted(["helpdesk", "queries", "--help"], on)
    assert not wanted(["helpdesk", "queries"], {"HELPDESK_WARM_CLI": "0"})
    assert not wanted(["helpdesk", "queries"], {"HELPDESK_WARM_CLI": "off"})
    # one is started for a person at a terminal, or when asked; a script leaves none behind
    assert starts_one({}, interactive=True) and starts_one({"HELPDESK_WARM_CLI": "1"}, interactive=False)
    assert not starts_one({}, interactive=False)


def test_a_folder_another_user_could_enter_is_not_used(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert not private_folder(str(shared))
    own = tmp_path / "own"
    assert private_folder(str(own)) and (own.stat().st_mode & 0o777) == 0o700


def test_the_warm_process_answers_as_the_command_would_in_its_own_process(warm):
    first = warm.run("ask", "Can a 16-year-old work night shifts in our cocoa warehouse in Ghana?")
    assert first.returncode == 0, first.stderr
    pid = warm.wait_ready()

    handed = warm.run("queries")
    assert warm.served() == 1
    here = warm.run("queries", env={"HELPDESK_WARM_CLI": "0"})
    assert warm.served() == 1  # turned off: run in its own process
    assert handed.returncode == here.returncode == 0
    assert handed.stdout == here.stdout and "HD-" in handed.stdout and "cocoa" in handed.stdout

    asked = warm.run("ask", "Nos fournisseurs au Maroc retiennent les passeports des travailleurs migrants.")
    assert asked.returncode == 0 and "HD-" in asked.stdout and "Maroc" in warm.run("queries").stdout

    missing = warm.run("show", "HD-1999-0001")
    assert missing.returncode == 1 and "no query with reference 'HD-1999-0001'" in missing.stderr
    assert missing.stdout == ""
    assert alive(pid) and warm.pid() == pid and warm.served() == 4  # the same warm process took them all


def test_each_command_uses_the_callers_store_environment_and_folder(warm, tmp_path, trained_model_path):
    warm.run("ask", "How many hours of overtime may a worker do each week?")
    warm.wait_ready()
    other = tmp_path / "other-store"
    other.mkdir()
    shutil.copy(trained_model_path, other / "topic-model.npz")
    in_other = warm.run("ask", "Is a living wage required by international labour standards?",
                        env={"HELPDESK_DATA_DIR": str(other)})
    assert in_other.returncode == 0
    listed_here = warm.run("queries").stdout
    listed_there = warm.run("queries", env={"HELPDESK_DATA_DIR": str(other)}).stdout
    assert "overtime" in listed_here.lower() and "living wage" not in listed_here.lower()
    assert "living wage" in listed_there.lower() and "overtime" not in listed_there.lower()

    bad = warm.run("queries", env={"DATABASE_URL": "mysql://nobody@nowhere/none"})  # the caller's setting
    assert bad.returncode == 2 and "Configuration error" in bad.stderr

    question = tmp_path / "question.txt"
    question.write_text("What is forced labour?", encoding="utf-8")
    added = warm.run("qa", "add", "--language", "en", "--topics", "forced_labour", "--question-file",
                     "question.txt", "--answer-file", "-", cwd=tmp_path,
                     input="Work exacted under the menace of a penalty.")
    assert added.returncode == 0, added.stderr  # a relative path from the caller's folder, the answer on stdin
    assert "What is forced labour?" in warm.run("qa", "list", "--search", "forced labour").stdout
    assert warm.served() == 6  # the first command ran in its own process and started the warm one


def test_ctrl_c_stops_the_command_not_the_warm_process(warm, tmp_path):
    warm.run("queries")
    pid = warm.wait_ready()
    question = tmp_path / "q.txt"
    question.write_text("What is child labour?", encoding="utf-8")
    waiting = subprocess.Popen([HELPDESK, "qa", "add", "--language", "en", "--topics", "child_labour",
                                "--question-file", str(question), "--answer-file", "-"], env=warm.env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # the fork is reading the answer from standard input, which stays open
    assert waiting.poll() is None
    waiting.send_signal(signal.SIGINT)
    _out, err = waiting.communicate(timeout=20)
    assert waiting.returncode == 130 and "Traceback" not in err  # as Ctrl-C ends it in its own process
    assert "What is child labour?" not in warm.run("qa", "list", "--search", "child labour").stdout  # not added
    assert alive(pid) and warm.served() == 2


def test_changed_code_is_never_served_by_an_old_warm_process(warm, tmp_path):
    """An upgrade changes files the warm process imported: the next command runs with the new code."""
    code = tmp_path / "code"
    code.mkdir()
    module = code / "sitecustomize.py"  # imported by every Python process started with this path
    module.write_text("RELEASE = 1\n", encoding="utf-8")
    env = {"PYTHONPATH": str(code)}
    warm.run("queries", env=env)
    pid = warm.wait_ready()
    assert warm.run("queries", env=env).returncode == 0 and warm.served() == 1

    module.write_text("RELEASE = 2\n", encoding="utf-8")
    os.utime(module, ns=(time.time_ns(), time.time_ns() + 10**9))
    result = warm.run("queries", env=env)
    assert result.returncode == 0 and "quer" in result.stdout  # run in its own process instead
    assert warm.served() <= 1
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)  # the old warm process left


def test_the_warm_process_leaves_when_idle_and_never_starts_when_turned_off(warm):
    warm.run("queries", env={"HELPDESK_WARM_CLI_IDLE": "3"})
    pid = warm.wait_ready()
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid) and not warm.socket.exists()

    off = warm.run("queries", env={"HELPDESK_WARM_CLI": "0"})
    assert off.returncode == 0
    time.sleep(1)
    assert not warm.socket.exists()


def test_a_caller_that_gave_up_waiting_does_not_get_its_command_run_by_the_warm_process(warm):
    """A caller that waited too long runs the command itself; the fork, still waiting for its go-ahead,
    then leaves without running it, so the query is not stored twice."""
    import json
    import socket
    import struct

    warm.run("queries")
    warm.wait_ready()
    request = json.dumps({"argv": ["helpdesk", "ask", "Is forced overtime legal in our plant?"], "env": warm.env,
                          "cwd": str(warm.runtime)}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn, open(os.devnull, "rb+") as null:
        conn.connect(str(warm.socket))
        socket.send_fds(conn, [struct.pack("!I", len(request)) + request], [null.fileno()] * 3)
        assert conn.makefile("rb").readline().startswith(b"P")  # the fork is ready...
    # ...and the caller went away without its go-ahead
    time.sleep(2)
    assert "forced overtime" not in warm.run("queries").stdout
    assert warm.run("ask", "Is forced overtime legal in our plant?").returncode == 0  # as the caller does itself
    assert warm.run("queries").stdout.count("forced overtime") == 1


def test_a_command_typed_in_a_deleted_folder_still_runs(warm, tmp_path):
    """Regression: the entry point asked for the working folder first, and a folder removed under the
    shell made every command fail with a traceback; it runs in its own process instead."""
    warm.run("queries")
    warm.wait_ready()
    gone = tmp_path / "gone"
    gone.mkdir()
    shell = subprocess.run(["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "{HELPDESK}" queries'],
                           env=warm.env, capture_output=True, text=True, timeout=120)
    assert shell.returncode == 0 and "Traceback" not in shell.stderr and "quer" in shell.stdout
    assert warm.served() == 0  # not handed over: the warm process could not take that folder
