"""Several runners share one drop folder: each email is claimed by one of them, stored once, never lost.

The story: with no mail server configured, people (or a script) drop ``.eml`` files into the
helpdesk's inbox folder, and two ``helpdesk run`` processes watch it. A file is claimed by
renaming it into ``processing/``; the loser of a race skips it. A runner that dies mid-file leaves
its claim behind, and the next pass hands the file out again. A file the store keeps refusing is
retried, then quarantined with the reason beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import func, select

from ingest.folders import DropFolderIngestor
from kb.db import unit_of_work
from kb.models import Direction, Message, Query

QUESTIONS = [
    "Can we employ 16-year-olds in our packaging plant?",
    "How many hours may a night-shift worker do in one week?",
    "Do we have to pay overtime to part-time staff who work on a public holiday?",
    "What protective equipment must we provide for welders?",
    "How long must we keep the payslips of workers who have left?",
]


def drop(folder: Path, name: str, number: int = 1) -> str:
    """Write one customer's email into the drop folder; return its Message-ID."""
    m = EmailMessage()
    m["From"], m["To"] = f"Customer {number} <customer{number}@acme.example>", "helpdesk@example.org"
    m["Subject"] = f"Question {number}"
    m["Message-ID"] = message_id = make_msgid(domain="acme.example")
    m.set_content(QUESTIONS[number % len(QUESTIONS)])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(bytes(m))
    return message_id


def stored_message_ids(helpdesk) -> list[str]:
    """The Message-IDs of every inbound email the store holds, once per stored copy."""
    with unit_of_work(helpdesk.sessions) as session:
        return sorted(session.scalars(select(Message.email_message_id).where(Message.direction == Direction.IN)))


def query_count(helpdesk) -> int:
    with unit_of_work(helpdesk.sessions) as session:
        return session.scalar(select(func.count(Query.id)))


def names(folder: Path, pattern: str = "*") -> set[str]:
    return {p.name for p in folder.glob(pattern) if p.is_file()} if folder.is_dir() else set()


def all_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


class RefusingStore:
    """The helpdesk's service while its database refuses every email (everything else passes through)."""

    def __init__(self, service, error: Exception) -> None:
        self.service, self.error = service, error

    def receive_email(self, email):
        raise self.error

    def __getattr__(self, name):
        return getattr(self.service, name)


def drain(ingestor: DropFolderIngestor) -> int:
    """Run passes until one finds nothing to do; how many emails this ingestor handled."""
    handled = 0
    for _ in range(20):
        report = ingestor.run_once()
        handled += report.handled
        if not report.handled and not report.errors:
            break
    return handled


# -------------------------------------------------------------------- sharing
def test_two_ingestors_draining_one_folder_at_once_store_every_email_exactly_once(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    sent = sorted(drop(inbox, f"q{i:02d}.eml", i) for i in range(40))
    start, failures, handled = threading.Barrier(2), [], []

    def runner() -> None:
        try:
            ingestor = DropFolderIngestor(inbox, helpdesk.service)
            start.wait()
            handled.append(drain(ingestor))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert failures == []
    assert sum(handled) == 40  # no email was handled by both
    assert stored_message_ids(helpdesk) == sent
    assert query_count(helpdesk) == 40
    assert names(inbox / "done") == {f"q{i:02d}.eml" for i in range(40)}
    assert names(inbox, "*.eml") == set() and names(inbox / "processing") == set()


SUBPROCESS_RUNNER = """
import json, sys, time
from pathlib import Path
from config.bootstrap import bootstrap
from config.settings import Settings
from ingest.folders import DropFolderIngestor

database_url, model, data_dir, ready, go = sys.argv[1:]
helpdesk = bootstrap(Settings(data_dir=Path(data_dir), database_url=database_url, model_path=Path(model)), seed=False)
ingestor = DropFolderIngestor(Path(data_dir) / "inbox", helpdesk.service)
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.01)
handled = 0
for _ in range(20):
    report = ingestor.run_once()
    handled += report.handled
    if not report.handled and not report.errors:
        break
helpdesk.close()
print(json.dumps({"handled": handled}))
"""


def test_two_runner_processes_sharing_the_folder_both_finish_and_store_each_email_once(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    sent = sorted(drop(inbox, f"q{i:02d}.eml", i) for i in range(30))
    settings = helpdesk.settings
    go = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", SUBPROCESS_RUNNER, settings.database_url, str(settings.model_path),
                          str(tmp_path), str(tmp_path / f"ready-{n}"), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for n in range(2)
    ]
    try:
        deadline = time.monotonic() + 60  # both have built their helpdesk: start them together
        while not all((tmp_path / f"ready-{n}").exists() for n in range(2)) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), "a runner died while starting"
            time.sleep(0.05)
        go.touch()
        outputs = [p.communicate(timeout=120) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()

    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, err.decode()
        assert "FileNotFoundError" not in err.decode()
    assert sum(json.loads(out)["handled"] for out, _ in outputs) == 30
    assert stored_message_ids(helpdesk) == sent
    assert query_count(helpdesk) == 30
    assert names(inbox / "done") == {f"q{i:02d}.eml" for i in range(30)}


# -------------------------------------------------------------------- crashes
CRASHING_RUNNER = """
import os, sys
from pathlib import Path
from ingest.folders import DropFolderIngestor

class PowerCut:
    def receive_email(self, email):
        os._exit(9)  # the power goes off mid-file

DropFolderIngestor(Path(sys.argv[1]), PowerCut()).run_once()
"""


def test_a_file_left_in_processing_by_a_runner_that_died_is_stored_on_the_next_pass(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    message_id = drop(inbox, "q1.eml")
    crashed = subprocess.run([sys.executable, "-c", CRASHING_RUNNER, str(inbox)], capture_output=True)
    assert crashed.returncode == 9
    # The dead runner's claim is all that is left of the email.
    assert names(inbox, "*.eml") == set() and len(names(inbox / "processing")) == 1

    report = DropFolderIngestor(inbox, helpdesk.service).run_once()

    assert dict(report.outcomes) == {"query": 1}
    assert stored_message_ids(helpdesk) == [message_id]
    assert names(inbox / "done") == {"q1.eml"} and names(inbox / "processing") == set()


STORE_THEN_CRASH_RUNNER = """
import os, sys
from pathlib import Path
from config.bootstrap import bootstrap
from config.settings import Settings
from ingest.folders import DropFolderIngestor

database_url, model, data_dir = sys.argv[1:]
helpdesk = bootstrap(Settings(data_dir=Path(data_dir), database_url=database_url, model_path=Path(model)), seed=False)

class StoreThenPowerCut:
    def receive_email(self, email):
        helpdesk.service.receive_email(email)
        os._exit(9)  # stored and committed, but the file was never moved

DropFolderIngestor(Path(data_dir) / "inbox", StoreThenPowerCut()).run_once()
"""


def test_an_email_stored_just_before_its_runner_died_is_not_stored_twice(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    message_id = drop(inbox, "q1.eml")
    settings = helpdesk.settings
    crashed = subprocess.run([sys.executable, "-c", STORE_THEN_CRASH_RUNNER, settings.database_url,
                              str(settings.model_path), str(tmp_path)], capture_output=True)
    assert crashed.returncode == 9, crashed.stderr.decode()
    assert len(names(inbox / "processing")) == 1

    report = DropFolderIngestor(inbox, helpdesk.service).run_once()

    assert dict(report.outcomes) == {"duplicate": 1}
    assert stored_message_ids(helpdesk) == [message_id] and query_count(helpdesk) == 1
    assert names(inbox / "done") == {"q1.eml"} and names(inbox / "processing") == set()


def test_a_runner_restarted_under_its_old_pid_takes_back_what_its_previous_life_held(helpdesk, tmp_path,
                                                                                    monkeypatch):
    """In a container the runner is often pid 1 on every start, so "is that pid alive?" is not enough."""
    inbox = tmp_path / "inbox"
    message_id = drop(inbox, "q1.eml")
    previous_life = DropFolderIngestor(inbox, helpdesk.service)
    claim = previous_life._claim(inbox / "q1.eml")  # it claimed the file, then the container stopped
    monkeypatch.setattr(DropFolderIngestor, "_instance", "restarted")  # same pid, another life

    DropFolderIngestor(inbox, helpdesk.service).run_once()

    assert claim is not None and not claim.path.exists()
    assert stored_message_ids(helpdesk) == [message_id]
    assert names(inbox / "done") == {"q1.eml"}


# ------------------------------------------------------------------- failures
def test_an_email_the_store_keeps_refusing_is_quarantined_with_the_reason_after_three_attempts(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "q1.eml")
    ingestor = DropFolderIngestor(inbox, RefusingStore(helpdesk.service, RuntimeError("the database is down")))
    for attempt in (1, 2):
        report = ingestor.run_once()
        assert report.errors == 1 and report.handled == 0
        # Still waiting for a retry, in one piece, and not given up on yet.
        assert len(all_files(inbox)) == 1 and names(inbox / "quarantine") == set()
    report = ingestor.run_once()

    assert report.errors == 1
    assert names(inbox / "quarantine") == {"q1.eml", "q1.eml.reason.txt"}
    reason = (inbox / "quarantine" / "q1.eml.reason.txt").read_text()
    assert "3 attempts" in reason and "RuntimeError: the database is down" in reason
    assert names(inbox / "processing") == set() and names(inbox, "*.eml") == set()
    assert ingestor.run_once().errors == 0  # given up on: not tried again
    assert query_count(helpdesk) == 0


def test_an_email_that_failed_once_is_stored_when_the_store_is_back(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    message_id = drop(inbox, "q1.eml")
    refused = DropFolderIngestor(inbox, RefusingStore(helpdesk.service, ConnectionError("server closed")))
    assert refused.run_once().errors == 1

    report = DropFolderIngestor(inbox, helpdesk.service).run_once()

    assert dict(report.outcomes) == {"query": 1}
    assert stored_message_ids(helpdesk) == [message_id]
    assert names(inbox / "done") == {"q1.eml"} and names(inbox / "processing") == set()


# ---------------------------------------------------------------- file names
def test_a_later_email_with_a_name_already_in_done_does_not_overwrite_the_first(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    ingestor = DropFolderIngestor(inbox, helpdesk.service)
    first = drop(inbox, "question.eml", 1)
    ingestor.run_once()
    second = drop(inbox, "question.eml", 2)  # the same scanner names every file alike
    ingestor.run_once()

    assert stored_message_ids(helpdesk) == sorted([first, second])
    assert names(inbox / "done") == {"question.eml", "question-2.eml"}
    assert first.encode() in (inbox / "done" / "question.eml").read_bytes()
    assert second.encode() in (inbox / "done" / "question-2.eml").read_bytes()


def test_a_maildir_new_message_is_read_and_moved_to_done(helpdesk, tmp_path):
    inbox = tmp_path / "inbox"
    message_id = drop(inbox / "new", "1772442000.M1P42.host")

    report = DropFolderIngestor(inbox, helpdesk.service).run_once()

    assert dict(report.outcomes) == {"query": 1}
    assert stored_message_ids(helpdesk) == [message_id]
    assert names(inbox / "done") == {"1772442000.M1P42.host"} and names(inbox / "new") == set()
