"""Email ingestion end to end: messages per second from a real Dovecot mailbox.

Run: ``make bench-mail`` (needs Dovecot installed, as ``make test`` ensures, and
PostgreSQL on 127.0.0.1:5432 for the second figure). Fills a throwaway mailbox
with 2,000 realistic queries (EN/FR/ES, plain and HTML, UTF-8/Latin-1/
Windows-1252, some replies), then prints:

- the raw IMAP fetch rate of that mailbox (``BODY.PEEK[]`` in batches of 200):
  the ceiling no ingester can pass;
- fetch + parse with our parser (no store);
- end to end on SQLite (fetch and store, then parse, triage, acknowledge,
  route), as one ``helpdesk run`` process does it, interleaved (A B A B) with
  django-helpdesk 2.6.1's ``manage.py get_email`` on the same mailbox and disk
  (installed in a throwaway venv by ``bench/django_helpdesk_peer.py``; its
  figure includes its ~1 s of process start, ours excludes our start), and
  the ratio of the medians;
- the same on PostgreSQL: ours end to end in one process, interleaved with
  django-helpdesk on the same server (its PostgreSQL backend, a fresh database
  from a migrated template each run);
- on PostgreSQL, store first and decide second measured apart, on a mailbox of
  4,000 such messages: messages stored per second by the fetcher alone, then
  processed per second by one and by two worker processes (``helpdesk
  process-mail``) sharing the stored messages. Each round runs one worker, two,
  two and one, and its ratio is that of the two runs of two to the two of one;
  the figure is the median of the rounds' ratios. The machine's speed moves by
  a quarter within minutes, so one run of each said more about the minute than
  about the workers, and a fixed order (1 2 1 2) let a steady drift favour the
  one that runs first.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from classifier.model import load_examples  # noqa: E402
from config.bootstrap import SHIPPED_EXAMPLES, bootstrap  # noqa: E402
from config.settings import Settings  # noqa: E402
from ingest.imap import ImapSettings, MailboxIngestor  # noqa: E402
from ingest.parsing import parse_email  # noqa: E402
from tests.peers.mail import Dovecot  # noqa: E402

MESSAGES = 2_000
#: For the workers' figures: 2,000 messages are four seconds of work for two workers, and how the last
#: batches fall moved their ratio from 1.5x to 2.0x from run to run.
WORKER_MESSAGES = 4_000
NAMES = ["Jane Osei", "Karim Benali", "Rosa Quispe", "Tom Becker", "Awa Sarr", "Diego Fuentes", "Grace Wanjiru"]
CHARSETS = {"en": ["utf-8"], "fr": ["utf-8", "iso-8859-1", "windows-1252"], "es": ["utf-8", "iso-8859-1"]}
GREETING = {"en": "Dear helpdesk,", "fr": "Madame, Monsieur,", "es": "Estimados señores:"}
CLOSING = {"en": "Kind regards,", "fr": "Cordialement,", "es": "Saludos cordiales,"}


def _encodes(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def realistic_mailbox(n: int, seed: int = 3) -> list[bytes]:
    rng = random.Random(seed)
    examples = [e for e in load_examples(sorted(SHIPPED_EXAMPLES.glob("examples_*.tsv")))]
    out = []
    for i in range(n):
        e = rng.choice(examples)
        name = rng.choice(NAMES)
        body = f"{GREETING[e.language]}\n\n{e.text}\n\n{CLOSING[e.language]}\n{name}\n"
        m = EmailMessage()
        m["From"] = f"{name} <user{i % 300}@org{i % 97}.example>"
        m["To"], m["Subject"] = "helpdesk@example.org", e.text[:60]
        m["Message-ID"] = make_msgid(domain=f"org{i % 97}.example")
        if rng.random() < 0.15:
            m.set_content(f"<html><body><p>{body.replace(chr(10), '<br>')}</p></body></html>", subtype="html")
        else:
            charset = rng.choice(CHARSETS[e.language])
            m.set_content(body, charset=charset if _encodes(body, charset) else "utf-8")  # Latin-1 has no "œ"
        out.append(m.as_bytes(policy=SMTP))
    return out


def fill(dovecot: Dovecot, messages: list[bytes]) -> None:
    dovecot.empty()
    with dovecot.client() as c:
        for start in range(0, len(messages), 200):
            c.multiappend("INBOX", messages[start:start + 200])


def raw_fetch_rate(dovecot: Dovecot, parse: bool) -> float:
    with dovecot.client() as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search("ALL")
        start = time.perf_counter()
        for i in range(0, len(uids), 200):
            for uid, data in c.fetch(uids[i:i + 200], ["BODY.PEEK[]"]).items():
                if parse:
                    parse_email(data[b"BODY[]"], uid=uid)
        return len(uids) / (time.perf_counter() - start)


WORKER = """
import os, sys, time
from pathlib import Path
from config.bootstrap import bootstrap
from config.settings import Settings
from ingest.imap import process_stored
helpdesk = bootstrap(Settings(data_dir=Path(sys.argv[2]), database_url=sys.argv[1]), seed=False)
helpdesk.settle()  # as helpdesk process-mail does: the models and the Q&A index loaded before the start signal
go = Path(sys.argv[3])
(go.parent / f"{go.name}-ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.01)
report = process_stored(helpdesk.service, helpdesk.mail_limits())
print(report.handled, flush=True)
"""


def open_helpdesk(database_url: str, data_dir: Path):
    helpdesk = bootstrap(Settings(data_dir=data_dir, database_url=database_url))
    helpdesk.settle()  # as helpdesk run does: the models and the Q&A index loaded (or trained) before timing
    ingestor = MailboxIngestor(ImapSettings(host="127.0.0.1", port=dovecot_port[0], username="test",
                                            password="testpass", security="plain"), helpdesk.service)
    return helpdesk, ingestor


dovecot_port = [0]


def end_to_end(database_url: str, data_dir: Path) -> tuple[float, dict]:
    """Fetch, store, then process in this process: what ``helpdesk run`` does with one process."""
    helpdesk, ingestor = open_helpdesk(database_url, data_dir)
    start = time.perf_counter()
    report = ingestor.run_once()
    elapsed = time.perf_counter() - start
    ingestor.close()
    helpdesk.close()
    return report.handled / elapsed, dict(report.outcomes)


def fetch_then_workers(database_url: str, data_dir: Path, workers: int) -> tuple[float, float, int]:
    """The fetcher alone (messages stored per second), then ``workers`` processes sharing the processing."""
    import subprocess

    helpdesk, ingestor = open_helpdesk(database_url, data_dir)
    start = time.perf_counter()
    stored = ingestor.fetch().stored
    fetch_rate = stored / (time.perf_counter() - start)
    ingestor.close()
    helpdesk.close()
    go = data_dir / f"go-{workers}"
    go.unlink(missing_ok=True)
    for ready in data_dir.glob(f"{go.name}-ready-*"):
        ready.unlink()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, database_url, str(data_dir), str(go)], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    waited = time.monotonic()  # every worker has imported and loaded the models before the start signal
    while len(list(data_dir.glob(f"{go.name}-ready-*"))) < workers:
        if time.monotonic() - waited > 120 or any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker process did not get ready")
        time.sleep(0.05)
    time.sleep(1)  # and the store has written out the fetcher's rows
    start = time.perf_counter()
    go.touch()
    handled = sum(int(p.communicate()[0].strip() or 0) for p in procs)
    return fetch_rate, handled / (time.perf_counter() - start), handled


def fresh_postgres(name: str) -> str:
    admin = create_engine(postgres_server(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return admin.url.set(database=name).render_as_string(hide_password=False)


def drop_postgres(*names: str) -> None:
    admin = create_engine(postgres_server(), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        for name in names:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def django_helpdesk(folder: Path):
    """django-helpdesk 2.6.1 in a throwaway venv of its own, or None (with the reason printed)."""
    from bench.django_helpdesk_peer import DjangoHelpdesk, PeerUnavailable

    peer = DjangoHelpdesk(Path(tempfile.gettempdir()) / "django-helpdesk-peer", db_dir=folder)
    try:
        peer.prepare()
    except PeerUnavailable as exc:
        print(f"django-helpdesk: not measured ({exc})")
        return None
    return peer


def side_by_side(dovecot: Dovecot, messages: list[bytes], folder: Path, rounds: int, peer,
                 postgres: str | None = None) -> None:
    """Ours and django-helpdesk's ``get_email`` on the same mailbox and store (SQLite on the same disk, or the
    same PostgreSQL server), interleaved (A B A B), medians."""
    store_name = "PostgreSQL" if postgres else "SQLite"
    ours, theirs = [], []
    for round_ in range(rounds):
        fill(dovecot, messages)
        data = folder / f"ours-{store_name}-{round_}"
        data.mkdir()
        url = fresh_postgres("helpdesk_bench_e2e") if postgres else f"sqlite:///{data}/bench.db"
        rate, outcomes = end_to_end(url, data)
        ours.append(rate)
        if peer is not None:
            fill(dovecot, messages)
            run = peer.get_email("127.0.0.1", dovecot.port, "test", "testpass", postgres=postgres)
            theirs.append(len(messages) / run.seconds)
            print(f"  round {round_ + 1}: ours {rate:,.0f} msg/s {outcomes}; django-helpdesk {theirs[-1]:,.0f} msg/s "
                  f"({run.tickets} tickets, {run.peak_rss_mib:.0f} MiB peak)")
        else:
            print(f"  round {round_ + 1}: ours {rate:,.0f} msg/s {outcomes}")
    if postgres:
        drop_postgres("helpdesk_bench_e2e")
    mine = statistics.median(ours)
    label = f"end to end on {store_name} (fetch, store, triage, acknowledge, route):"
    print(f"{label:70}{mine:8,.0f} msg/s (median of {rounds})")
    if theirs:
        peer_rate = statistics.median(theirs)
        label = f"django-helpdesk 2.6.1 get_email on {store_name} (no triage):"
        print(f"{label:70}{peer_rate:8,.0f} msg/s (median of {rounds})  -> ours is {mine / peer_rate:.2f}x")


def postgres_server() -> str:
    return os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def main() -> None:
    parser = argparse.ArgumentParser(description="email ingestion end to end, beside django-helpdesk")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds: ours and django-helpdesk's interleaved; the workers one, two, two and one")
    parser.add_argument("--workers-only", action="store_true", help="measure only one worker against two")
    args = parser.parse_args()
    messages = realistic_mailbox(MESSAGES)
    dovecot = Dovecot()
    dovecot_port[0] = dovecot.port
    try:
        fill(dovecot, messages)
        print(f"mailbox: {MESSAGES} messages, {sum(map(len, messages)) / 1e6:.1f} MB")
        print(f"raw IMAP fetch (BODY.PEEK[], batches of 200): {raw_fetch_rate(dovecot, False):8,.0f} msg/s")
        print(f"fetch + parse (no store):                      {raw_fetch_rate(dovecot, True):8,.0f} msg/s")
        with tempfile.TemporaryDirectory() as tmp:
            peer = None if args.workers_only else django_helpdesk(Path(tmp))
            if not args.workers_only:
                side_by_side(dovecot, messages, Path(tmp), args.rounds, peer)
            server = postgres_server()
            if peer is not None:
                from bench.django_helpdesk_peer import PeerUnavailable

                try:
                    peer.prepare_postgres(server)
                except PeerUnavailable as exc:
                    print(f"django-helpdesk on PostgreSQL: not measured ({exc})")
                    peer = None
            if not args.workers_only:
                side_by_side(dovecot, messages, Path(tmp), args.rounds, peer, postgres=server)
            worker_mailbox = realistic_mailbox(WORKER_MESSAGES)
            print(f"PostgreSQL, store first and decide second: {WORKER_MESSAGES} messages; {args.rounds} rounds, "
                  f"each of one worker, two, two and one (the order cancels a steady drift of the machine's speed)")
            rates: dict[int, list[float]] = {1: [], 2: []}
            fetch_rates, ratios = [], []
            for round_ in range(args.rounds):
                mine: dict[int, list[float]] = {1: [], 2: []}
                for workers in (1, 2, 2, 1):
                    fill(dovecot, worker_mailbox)
                    url = fresh_postgres(f"helpdesk_bench_{workers}")
                    fetch_rate, rate, handled = fetch_then_workers(url, Path(tmp), workers)
                    fetch_rates.append(fetch_rate)
                    mine[workers].append(rate)
                    print(f"  round {round_ + 1}: {workers} worker process(es) {rate:8,.0f} msg/s ({handled} done)")
                ratios.append(sum(mine[2]) / sum(mine[1]))
                rates[1] += mine[1]
                rates[2] += mine[2]
                print(f"  round {round_ + 1}: two workers {ratios[-1]:.2f}x one")
            one, two = statistics.median(rates[1]), statistics.median(rates[2])
            print(f"PostgreSQL, fetcher alone (stored):            {statistics.median(fetch_rates):8,.0f} msg/s")
            print(f"PostgreSQL, processing by 1 worker process:    {one:8,.0f} msg/s (median of {len(rates[1])})")
            print(f"PostgreSQL, processing by 2 worker processes:  {two:8,.0f} msg/s (median of {len(rates[2])}); "
                  f"two workers {statistics.median(ratios):.2f}x one (median of the {args.rounds} rounds' ratios)")
            drop_postgres("helpdesk_bench_1", "helpdesk_bench_2")
            if peer is not None:
                peer.drop_postgres(server)
    finally:
        dovecot.stop()


if __name__ == "__main__":
    main()
