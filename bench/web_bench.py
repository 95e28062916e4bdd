"""How fast the web console answers with 10,000 queries in the store.

Run: ``python bench/web_bench.py`` (SQLite in a temporary folder), or with
``--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench`` for an
empty PostgreSQL database. Stores 20 queries through the whole intake (triage,
routing, drafts), then 10,000 more in bulk (SQLAlchemy Core in one unit of
work: two years of queries with requesters, topics, consultations, messages,
drafts and history; the last month's, about 400, still open in every open
state, the older ones answered or closed), signs a specialist in, and times pages
through the application in-process (ASGI calls, no network): the server time of
each request, from the request reaching the app to the last byte of its answer,
including the service calls in their worker threads. Prints p50 and p95 per
page. The aim: under 50 ms at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

from config.bootstrap import bootstrap  # noqa: E402
from config.settings import Settings  # noqa: E402
from kb.intake import QuerySubmission  # noqa: E402
from kb.models import (  # noqa: E402
    Channel, Consultation, Direction, Draft, Message, Query, QueryEvent, QueryStatus, QueryTopic, Requester,
    RequesterType, TopicSource,
)
from web.app import create_app  # noqa: E402

STORED = 10_000
REPEAT = 200
COUNTRIES = ["GH", "BR", "VN", "MA", "PE", "IN", "KE", "MX", "BD", "TR", "FR", "DE", "JP", "CL", "SN"]
SUBJECTS = ["Young workers", "Overtime at a supplier", "Union dismissals", "Passports held", "Heat at work",
            "Maternity leave", "Closing a plant", "Wages below minimum", "Night shifts", "Due diligence"]
QUESTIONS = ["Can we employ 16-year-olds in our packaging plant during the school holidays?",
             "Our subcontractor's workers do 70 hours a week without overtime pay. What should we require?",
             "Twelve workers were dismissed after registering a trade union. What can the brand do?",
             "A supplier keeps the passports of its migrant workers. What should we ask it to do?",
             "Our outdoor workers suffer from heat in summer. What measures does the ILO recommend?",
             "How long should maternity leave be and must the employer pay the whole benefit?",
             "We plan to close an assembly plant next year. How should we consult the workers?",
             "Is paying piece rates that fall below the minimum wage acceptable for homeworkers?"]


def store_in_bulk(helpdesk, n: int, seed: int = 11) -> None:
    """``n`` queries over two years (references BK-00001...), with everything a query page shows, in one unit of
    work (Core inserts): those of the last month still open, in every open state; the older ones answered or closed."""
    rng = random.Random(seed)
    policy, service = helpdesk.policy, helpdesk.service
    topics = list(policy.topics)
    regions = {c: service.countries.by_code(c).region for c in COUNTRIES}
    now = service.clock()
    spacing = timedelta(days=2 * 365) / n  # two years of queries, the last one just now
    start = now - spacing * n
    recent = [QueryStatus.ROUTED] * 5 + [QueryStatus.AWAITING_INPUTS] * 3 + [
        QueryStatus.DRAFT_READY, QueryStatus.MANUAL_TRIAGE, QueryStatus.HELD, QueryStatus.ANSWERED]
    with service.unit_of_work() as session:
        first_requester = (session.scalar(select(func.max(Requester.id))) or 0) + 1
        first_query = (session.scalar(select(func.max(Query.id))) or 0) + 1
        people = n // 5
        session.execute(insert(Requester), [
            {"id": first_requester + i, "name": f"Person {i}", "organisation": f"Company {i % 700} Ltd",
             "email": f"person{i}@company{i % 700}.example", "sector": "Manufacturing",
             "country": COUNTRIES[i % len(COUNTRIES)], "region": regions[COUNTRIES[i % len(COUNTRIES)]],
             "requester_type": list(RequesterType)[i % len(RequesterType)], "created_at": start}
            for i in range(people)])
        queries, query_topics, consultations, messages, drafts, events = [], [], [], [], [], []
        for i in range(n):
            qid, at = first_query + i, start + spacing * i
            # The last month's queries are still being worked on; older ones were answered and closed.
            if now - at < timedelta(days=30):
                status = rng.choice(recent)
            else:
                status = QueryStatus.CLOSED if rng.random() < 0.9 else QueryStatus.ANSWERED
            question, subject = rng.choice(QUESTIONS), rng.choice(SUBJECTS)
            queries.append({
                "id": qid, "reference": f"BK-{i + 1:05d}", "requester_id": first_requester + rng.randrange(people),
                "channel": Channel.EMAIL if i % 4 else Channel.TELEGRAM, "subject": subject,
                "text": f"{question} (case {i})", "language": "en", "received_at": at,
                "target_reply_date": (at + timedelta(days=14)).date(), "status": status,
                "confidential": i % 50 == 0, "needs_manual_triage": status is QueryStatus.MANUAL_TRIAGE,
                "triage": {}, "self_served": False})
            chosen = rng.sample(topics, rng.choice([1, 1, 2]))
            query_topics += [{"query_id": qid, "topic_code": t, "confidence": round(rng.uniform(0.4, 0.95), 3),
                              "source": TopicSource.CLASSIFIER, "confirmed": None} for t in chosen]
            for d in {*(policy.topics[t].departments[0] for t in chosen), *policy.always_consult}:
                consultations.append({"query_id": qid, "department_code": d, "reason": "topic", "requested_at": at,
                                      "due_date": (at + timedelta(days=5)).date(), "reminders_sent": 0})
            messages.append({"query_id": qid, "direction": Direction.IN, "channel": Channel.EMAIL, "at": at,
                             "sender": "someone@company.example", "recipients": [], "subject": subject,
                             "body": question})
            drafts.append({"query_id": qid, "created_at": at, "language": "en", "text": "Dear colleague, ...",
                           "notes": [], "sources": []})
            events += [{"query_id": qid, "at": at, "kind": kind, "detail": "", "actor": "system"}
                       for kind in ("received", "triaged", "routed", "drafted")]
        for table, rows in ((Query, queries), (QueryTopic, query_topics), (Consultation, consultations),
                            (Message, messages), (Draft, drafts), (QueryEvent, events)):
            for chunk in range(0, len(rows), 2000):
                session.execute(insert(table), rows[chunk:chunk + 2000])
        if session.bind.dialect.name == "postgresql":  # ids given by hand: move the sequences past them
            for table in ("requester", "query", "query_topic", "consultation", "message", "draft", "query_event"):
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT max(id) FROM \"{table}\"))"))
        session.execute(text("ANALYZE"))  # the planner's statistics, as autovacuum would have them by now


class Timed:
    """The app, recording the server time of each request."""

    def __init__(self, app) -> None:
        self.app, self.times = app, []

    async def __call__(self, scope, receive, send) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.times.append(time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(app, pages: dict[str, str], repeat: int) -> dict[str, tuple[float, float, int]]:
    import httpx

    timed = Timed(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=timed), base_url="https://console") as client:
        login = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        signed = await client.post("/login", data={"name": "bench", "password": "bench password 1",
                                                   "csrf_token": token})
        assert signed.status_code == 303, signed.status_code
        figures = {}
        for label, path in pages.items():
            for _ in range(10):  # warm up (templates compiled, connections pooled)
                response = await client.get(path)
                assert response.status_code == 200, (path, response.status_code)
            timed.times.clear()
            for _ in range(repeat):
                await client.get(path)
            figures[label] = (statistics.median(timed.times) * 1000, percentile(timed.times, 0.95) * 1000,
                              len(response.content))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary folder)")
    parser.add_argument("--queries", type=int, default=STORED)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="web-bench-"))
    settings = Settings(data_dir=folder, database_url=args.database_url or f"sqlite:///{folder / 'bench.db'}")
    with bootstrap(settings) as helpdesk:
        service = helpdesk.service
        service.add_account("bench", "specialist", "bench password 1")
        for i in range(20):
            report = service.submit_query(QuerySubmission(
                text=QUESTIONS[i % len(QUESTIONS)], channel=Channel.EMAIL, subject=SUBJECTS[i % len(SUBJECTS)],
                email=f"real{i}@acme.example", name="Jane Osei", organisation="Acme Ltd", country="GH",
                requester_type="management"))
        began = time.perf_counter()
        store_in_bulk(helpdesk, args.queries)
        stored = time.perf_counter() - began
        app = create_app(service, secret_key="bench-secret-long-enough", secure_cookies=True)
        pages = {
            "queue (open queries, first 100 of all)": "/",
            "queue, search ?q=overtime": "/?q=overtime",
            "queue, search all statuses": "/?q=overtime&status=all",
            "queue, filters topic+country": "/?topic=wages&country=GH",
            "queue, everything (status=all)": "/?status=all",
            "query page (triaged through intake)": f"/queries/{report.reference}",
            "query page (bulk-stored query)": f"/queries/BK-{args.queries - 50:05d}",
        }
        figures = asyncio.run(measure(app, pages, args.repeat))
        dialect = helpdesk.engine.dialect.name
    print(f"{args.queries:,} queries stored in bulk in {stored:.1f} s on {dialect}; {args.repeat} requests per page")
    print(f"{'page':<42} {'p50 ms':>8} {'p95 ms':>8} {'KiB':>6}")
    for label, (p50, p95, size) in figures.items():
        print(f"{label:<42} {p50:8.1f} {p95:8.1f} {size / 1024:6.0f}")


if __name__ == "__main__":
    main()
