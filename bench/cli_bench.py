"""How long a person waits for the ``helpdesk`` command, and what ``helpdesk run`` holds in memory.

Run: ``python bench/cli_bench.py [--qas 10000] [--queries 10000] [--runs 7]``.

Builds a throwaway data folder on the embedded default (SQLite), stores 10,000
published Q&As (each in one language, generated from the shipped questions with
a sector, a country and a situation so that no two are alike) and 10,000
queries, then measures whole processes as a user starts them, with
``/usr/bin/time``: wall time and peak resident memory of

- ``helpdesk --help``;
- ``helpdesk ask "..."`` (a different question each run: it is stored, triaged,
  routed and matched against the 10,000 Q&As), after one warm-up run that
  leaves the saved Q&A index and the other caches in place, as a running
  helpdesk would have;
- ``helpdesk queries`` (the open work, as the specialist lists it);

median and slowest of ``--runs`` runs each. Then it starts ``helpdesk run`` (drop
folder and outbox folder, web console on a free loopback port), drops ten
queries into its inbox so that it triages them, and reports its peak resident
memory (``VmHWM``) once they are handled.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.web_bench import store_in_bulk  # noqa: E402
from config.bootstrap import bootstrap  # noqa: E402
from config.settings import Settings  # noqa: E402
from kb.models import QA, QAOrigin, QAVersion  # noqa: E402
from kb.qa_bank import shipped_qas  # noqa: E402

HELPDESK = Path(sys.executable).with_name("helpdesk")
SECTORS = ["garment", "cocoa", "mining", "electronics", "construction", "fishing", "retail", "banking", "coffee"]
COUNTRIES = ["Ghana", "Brazil", "Viet Nam", "Morocco", "Peru", "India", "Kenya", "Mexico", "Bangladesh", "Türkiye"]
SITUATIONS = ["at a supplier", "in our own plant", "for contractors", "for seasonal staff", "after a merger",
              "for migrant workers", "on night shifts", "in a joint venture"]
QUESTIONS = [
    "Can a 16-year-old work night shifts in our cocoa warehouse in Ghana?",
    "Nos fournisseurs au Maroc retiennent les passeports des travailleurs migrants : que faire ?",
    "¿Cuántas horas extraordinarias puede trabajar un empleado por semana en nuestra fábrica?",
    "How should we consult the union before closing a plant in Brazil?",
    "What wage should we pay to be a living wage in our garment suppliers in Bangladesh?",
    "Un sous-traitant licencie des délégués syndicaux, comment réagir ?",
    "¿Qué debemos hacer tras un accidente mortal en una mina de un proveedor?",
]


def store_qas(helpdesk, n: int, seed: int = 5) -> None:
    """``n`` published Q&As in bulk, each a shipped question and answer varied by sector, country and situation."""
    rng = random.Random(seed)
    shipped = shipped_qas()
    now = datetime.now(timezone.utc)
    with helpdesk.service.unit_of_work() as session:
        for start in range(0, n, 2000):
            count = min(2000, n - start)
            qas, versions = [], []
            for i in range(start, start + count):
                q = rng.choice(shipped)
                qas.append({"key": f"bench-{i}", "topics": list(q["topics"]), "language": q["language"],
                            "origin": QAOrigin.WRITTEN, "published": True, "created_at": now, "updated_at": now})
            ids = session.scalars(insert(QA).returning(QA.id), qas).all()
            for qa_id, row in zip(ids, qas):
                q = rng.choice(shipped)
                question = f"{q['question']} ({rng.choice(SECTORS)}, {rng.choice(COUNTRIES)}, {rng.choice(SITUATIONS)})"
                versions.append({"qa_id": qa_id, "language": row["language"], "question": question,
                                 "answer": f"{q['answer']}\n\n(Note {rng.randrange(10**6)}.)", "updated_at": now})
            session.execute(insert(QAVersion), versions)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one whole process, as ``/usr/bin/time`` sees it."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", str(HELPDESK), *args], env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"helpdesk {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return wall, peak_kib / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_of_run(env: dict[str, str], data_dir: Path) -> tuple[float, float]:
    """``helpdesk run``'s resident memory: after start, and at its peak once it has triaged ten queries."""
    env = {**env, "HELPDESK_WEB_PORT": str(free_port())}
    process = subprocess.Popen([str(HELPDESK), "run", "--tick-seconds", "5"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = Path(f"/proc/{process.pid}/status")

    def memory(field: str) -> float:
        found = re.search(rf"^{field}:\s+(\d+) kB", status.read_text(), re.MULTILINE)
        return int(found.group(1)) / 1024 if found else 0.0

    try:
        time.sleep(8)
        started = memory("VmRSS")
        inbox = data_dir / "inbox"
        inbox.mkdir(exist_ok=True)
        for i, question in enumerate(QUESTIONS + QUESTIONS[:3]):
            (inbox / f"q{i}.eml").write_text(
                f"From: Requester {i} <r{i}@example.com>\nTo: helpdesk@example.org\nSubject: Question {i}\n"
                f"Message-ID: <bench-{i}-{time.time_ns()}@example.com>\n"
                f"Content-Type: text/plain; charset=utf-8\n\n{question}\n", encoding="utf-8")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(inbox.glob("*.eml")):
            time.sleep(0.5)
        time.sleep(3)
        return started, memory("VmHWM")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def report(label: str, results: list[tuple[float, float]]) -> None:
    walls = [w for w, _ in results]
    print(f"  {label:<28} {statistics.median(walls):>9.3f} {max(walls):>10.3f} {max(m for _, m in results):>9.0f}")


def start_warm_process(env: dict[str, str], runtime: Path) -> int:
    """Run one command so that it starts the warm process, and wait until the warm process listens."""
    timed(["queries", "--limit", "1"], env)
    lock: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        locks = list((runtime / "helpdesk").glob("*.lock"))
        sockets = list((runtime / "helpdesk").glob("*.sock"))
        if locks and sockets:
            lock = locks[0].read_text().split()
            if lock:
                break
        time.sleep(0.2)
    else:
        raise SystemExit("the warm process did not start")
    timed(["queries", "--limit", "1"], env)  # its first fork
    return int(lock[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qas", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the store in this folder and keep it (to profile a command)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cli-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_") and k != "DATABASE_URL"}
        env["HELPDESK_DATA_DIR"] = str(folder)
        t0 = time.perf_counter()
        helpdesk = bootstrap(Settings(data_dir=folder, cache_dir=folder / "cache"))
        helpdesk.service.model  # train the model now: a first start's cost, not a command's
        store_qas(helpdesk, args.qas)
        store_in_bulk(helpdesk, args.queries)
        helpdesk.close()
        print(f"store: {args.qas:,} published Q&As and {args.queries:,} queries on SQLite, "
              f"built in {time.perf_counter() - t0:.0f} s")
        cold = {**env, "HELPDESK_WARM_CLI": "0"}
        timed(["ask", "Warm-up: may we pay overtime in Peru?"], cold)  # builds and saves the Q&A index once
        commands = (("helpdesk --help", lambda i: ["--help"]),
                    ("helpdesk ask QUESTION", lambda i: ["ask", QUESTIONS[i % len(QUESTIONS)]]),
                    ("helpdesk queries", lambda i: ["queries"]))
        print("each command in its own process (HELPDESK_WARM_CLI=0):")
        print(f"  {'command':<28} {'median s':>9} {'slowest s':>10} {'peak MiB':>9}")
        for label, make in commands:
            report(label, [timed(make(i), cold) for i in range(args.runs)])
        warm = {**env, "HELPDESK_WARM_CLI": "1", "XDG_RUNTIME_DIR": str(folder / "runtime")}
        pid = start_warm_process(warm, folder / "runtime")
        print("handed to the warm process (the default once one is running; peak: the calling process):")
        print(f"  {'command':<28} {'median s':>9} {'slowest s':>10} {'peak MiB':>9}")
        for label, make in commands[1:]:
            report(label, [timed(make(i), warm) for i in range(args.runs)])
        status = Path(f"/proc/{pid}/status").read_text()
        resident = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024
        print(f"  the warm process itself: {resident:.0f} MiB resident, shared by the commands it forks")
        os.kill(pid, signal.SIGTERM)
        started, peak = rss_of_run(env, folder)
        print(f"helpdesk run: {started:.0f} MiB resident after start, {peak:.0f} MiB peak after triaging "
              f"{len(QUESTIONS) + 3} queries")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
