"""How fast the outbox drains: emails per second from the store to a local SMTP server.

Run: ``python bench/outbox_bench.py`` (add ``--postgres`` for a second figure on the
PostgreSQL at 127.0.0.1:5432, or ``TEST_POSTGRES_URL``). Bootstraps a helpdesk on a
throwaway SQLite store, stores 1,000 routed queries and 5,000 due outbox emails for them
in bulk (per query an acknowledgement, three routing emails and a reply, as intake and the
console queue them), then times one ``helpdesk send-mail`` pass (``OutboxSender.send_due``,
called again while it still reports work, so an older sender that stops after a batch is
timed the same way) against aiosmtpd on loopback. The SMTP server runs in a process of its
own, as a real MTA would: in this process it would take the GIL from the sender. Prints
emails per second, the SMTP connections opened, and checks every email arrived once.
The aim: 100 emails per second or more.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from config.bootstrap import bootstrap  # noqa: E402
from config.settings import Settings  # noqa: E402
from ingest.smtp import OutboxSender, SmtpSettings  # noqa: E402
from kb.models import Channel, OutboxKind, OutboxMessage, Query, QueryStatus, Requester, RequesterType  # noqa: E402
from kb.outbox import outbox_values  # noqa: E402
from tests.peers.mail import free_port, wait_for_port  # noqa: E402

QUERIES = 1_000
BODY = ("Dear Jane,\n\nThank you for your question about young workers in your packaging plant. "
        "Under the Minimum Age Convention, light work may be allowed from 13 years of age; hazardous "
        "work is prohibited under 18.\n\nKind regards,\nThe helpdesk\n") * 3

#: The SMTP server: aiosmtpd counting messages and connections; "count" on stdin prints both.
SINK = """
import sys
from aiosmtpd.controller import Controller

class Counter:
    messages = connections = 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        Counter.connections += 1
        session.host_name = hostname
        return responses
    async def handle_DATA(self, server, session, envelope):
        Counter.messages += 1
        return "250 Message accepted for delivery"

controller = Controller(Counter(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
for line in sys.stdin:
    print(Counter.messages, Counter.connections, flush=True)
controller.stop()
"""


class SinkProcess:
    """aiosmtpd in a process of its own."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-c", SINK, str(self.port)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        wait_for_port(self.port)

    def counts(self) -> tuple[int, int]:
        """(messages accepted, SMTP sessions opened)."""
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        messages, connections = self.process.stdout.readline().split()
        return int(messages), int(connections)

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def queue_in_bulk(helpdesk) -> int:
    """1,000 routed queries and five due emails each (Core inserts, one unit of work); returns the emails queued."""
    service = helpdesk.service
    now = service.clock() - timedelta(minutes=1)
    domain = service.policy.domain
    with service.unit_of_work() as session:
        first = (session.scalar(select(func.max(Query.id))) or 0) + 1
        session.execute(insert(Requester), [
            {"id": first + i, "name": f"Person {i}", "organisation": f"Company {i} Ltd",
             "email": f"person{i}@company{i}.example", "sector": "Manufacturing", "country": "GH",
             "region": "Africa", "requester_type": RequesterType.MANAGEMENT, "created_at": now}
            for i in range(QUERIES)])
        session.execute(insert(Query), [
            {"id": first + i, "reference": f"BK-{i + 1:05d}", "requester_id": first + i, "channel": Channel.EMAIL,
             "subject": "Young workers", "text": "Can we employ 16-year-olds?", "language": "en",
             "received_at": now, "target_reply_date": (now + timedelta(days=14)).date(),
             "status": QueryStatus.ROUTED, "confidential": False, "needs_manual_triage": False, "triage": {},
             "self_served": False} for i in range(QUERIES)])
        rows = []
        for i in range(QUERIES):
            requester = f"Person {i} <person{i}@company{i}.example>"
            mails = [(OutboxKind.ACKNOWLEDGEMENT, requester, f"[BK-{i + 1:05d}] Your question has been received")]
            mails += [(OutboxKind.ROUTING, f"focal{d}@ilo.example", f"[BK-{i + 1:05d}] Input needed: Young workers")
                      for d in range(3)]
            mails.append((OutboxKind.REPLY, requester, f"Re: [BK-{i + 1:05d}] Young workers"))
            for n, (kind, to, subject) in enumerate(mails):
                rows.append({**outbox_values(dedupe_key=f"bench:{i}:{n}", kind=kind, channel=Channel.EMAIL,
                                             recipients=[to], subject=subject, body=BODY, now=now, domain=domain,
                                             headers={"Reply-To": f"helpdesk+BK-{i + 1:05d}@{domain}"}),
                             "query_id": first + i})
        for chunk in range(0, len(rows), 2000):
            session.execute(insert(OutboxMessage), rows[chunk:chunk + 2000])
        session.execute(text("ANALYZE"))
    return len(rows)


def drain(database_url: str, data_dir: Path) -> str:
    helpdesk = bootstrap(Settings(data_dir=data_dir, database_url=database_url), seed=False)
    queued = queue_in_bulk(helpdesk)
    sink = SinkProcess()
    try:
        sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=sink.port, security="plain"), helpdesk.service)
        sent = failed = calls = 0
        start = time.perf_counter()
        while True:
            report = sender.send_due()
            calls += 1
            sent, failed = sent + report.sent, failed + report.failed
            if not (report.sent or report.failed):
                break
        elapsed = time.perf_counter() - start
        accepted, connections = sink.counts()
    finally:
        sink.stop()
        helpdesk.close()
    assert failed == 0 and sent == queued == accepted, (queued, sent, failed, accepted)
    return (f"{sent / elapsed:8,.0f} emails/s  ({sent:,} in {elapsed:.1f} s, {calls} send_due call(s), "
            f"{connections} SMTP connection(s))")


def fresh_postgres(name: str) -> tuple[str, object]:
    admin = create_engine(os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {name}"))
    return admin.url.set(database=name).render_as_string(hide_password=False), admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="also measure on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite:     {drain(f'sqlite:///{tmp}/bench.db', Path(tmp))}", flush=True)
        if args.postgres:
            url, admin = fresh_postgres("helpdesk_outbox_bench")
            try:
                print(f"PostgreSQL: {drain(url, Path(tmp))}", flush=True)
            finally:
                with admin.connect() as c:
                    c.execute(text("DROP DATABASE IF EXISTS helpdesk_outbox_bench WITH (FORCE)"))
                admin.dispose()


if __name__ == "__main__":
    main()
