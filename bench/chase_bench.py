"""How long one chasing tick takes with 1,000,000 queries in PostgreSQL, 100,000 of them open.

Run: ``python bench/chase_bench.py`` (``--queries 100000`` for a quick run, ``--sqlite 100000`` to time
SQLite too, ``--explain`` to print the plans of a tick's reads). Creates a throwaway PostgreSQL database
(``chase_bench``, dropped at the end), migrates it with the project's migrations, and seeds it in bulk with
COPY (SQLite: executemany in large batches): a tenth of the queries open, the rest answered or closed over
three years with their replies and ratings. The store is left as a daily scheduler would have left it at
yesterday's tick: the reminders, escalations, warnings, overdue notices, holding messages, clearance and
feedback reminders due until then are in the outbox and on the consultations. Most open queries have
nothing due (targets extended, inputs in or escalated); a few arrived in the last two weeks and are being
chased; a few missed their target. Some closed queries' departments never answered (their consultations
stay awaited for ever: the chase must not read them).

Then times ``chase_overdue_work`` as the scheduler calls it: at 07:00 the first tick sends what fell due
today, at 08:00 the next sends the morning digest, and the ticks after, a minute apart, find nothing new.
The aim: under 1 s a tick. Feedback reminders and holding messages are on, so every read is timed.
"""

from __future__ import annotations

import argparse
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402

from config.bootstrap import Helpdesk, bootstrap  # noqa: E402
from config.settings import DEFAULT_FILE, Settings  # noqa: E402
from kb.models import OPEN_STATUSES, Query  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "chase_bench"
#: Tuesday 3 March 2026, 07:00 UTC: the first tick of the bench's day (a working day: the digest is due at 08:00).
NOW = datetime(2026, 3, 3, 7, 0, tzinfo=timezone.utc)
TICKS = 6
#: Requesters who did not rate a reply are reminded this many days after it.
FEEDBACK_DAYS = 7
COUNTRIES = [("GH", "africa"), ("BR", "americas"), ("VN", "asia_pacific"), ("FR", "europe_central_asia"),
             ("JO", "arab_states"), ("PE", "americas"), ("IN", "asia_pacific"), ("KE", "africa")]
QUESTIONS = ["Can we employ 16-year-olds in our packaging plant during the school holidays?",
             "Our subcontractor's workers do 70 hours a week without overtime pay. What should we require?",
             "Twelve workers were dismissed after registering a trade union. What can the brand do?",
             "A supplier keeps the passports of its migrant workers. What should we ask it to do?",
             "Our outdoor workers suffer from heat in summer. What measures does the ILO recommend?",
             "We plan to close an assembly plant next year. How should we consult the workers?"]
SUBJECTS = ["Young workers", "Overtime at a supplier", "Union dismissals", "Passports held", "Heat at work",
            "Closing a plant"]
PARKED = ["draft_ready"] * 7 + ["awaiting_inputs"] * 6 + ["routed", "routed", "held", "reopened", "reopened",
                                                          "new", "manual_triage"]

COLUMNS = {
    "requester": ("id", "name", "organisation", "email", "telegram_chat_id", "sector", "country", "region",
                  "requester_type", "created_at"),
    "query": ("id", "reference", "requester_id", "channel", "subject", "text", "language", "received_at",
              "target_reply_date", "original_target_date", "target_extension_reason", "country_concerned",
              "region", "country_source", "status", "confidential", "needs_manual_triage", "triage",
              "answered_at", "closed_at", "self_served"),
    "consultation": ("id", "query_id", "department_code", "reason", "requested_at", "due_date", "reminders_sent",
                     "last_reminder_at", "escalated_at", "input_received_at", "query_open"),
    "clearance": ("id", "query_id", "consultation_id", "requested_at", "requested_by", "due_date", "draft_text",
                  "reminders_sent", "last_reminder_at", "answered_at", "verdict"),
    "outbox": ("id", "dedupe_key", "kind", "channel", "query_id", "consultation_id", "recipients", "subject",
               "body", "headers", "email_message_id", "created_at", "due_at", "attempts", "last_attempt_at",
               "last_error", "sent_at", "failed_at"),
    "reply": ("id", "query_id", "text", "sent_by", "created_at"),
    "feedback": ("id", "query_id", "rating", "comment", "received_at"),
    "query_event": ("id", "query_id", "at", "kind", "detail", "actor"),
}


def at_nine(day: date) -> datetime:
    """When the daily tick ran on ``day`` (naive UTC, as the store keeps times)."""
    return datetime(day.year, day.month, day.day, 9)


class Seeder:
    """Rows of every table the chasing reads, as a daily scheduler would have left them at yesterday's tick."""

    def __init__(self, helpdesk: Helpdesk, queries: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.n = queries
        d = helpdesk.policy.deadlines
        self.every, self.max_reminders, self.warn = d.reminder_every_days, d.max_reminders, d.warn_days_before_target
        self.always = list(helpdesk.policy.always_consult)
        self.topic_departments = sorted({t.departments[0] for t in helpdesk.policy.topics.values()})
        self.now, self.today = NOW.replace(tzinfo=None), NOW.date()
        self.yesterday = self.today - timedelta(days=1)
        self.ids: Counter[str] = Counter()
        self.rows: dict[str, list[tuple]] = {table: [] for table in COLUMNS}

    def add(self, table: str, *values: Any) -> int:
        self.ids[table] += 1
        self.rows[table].append((self.ids[table], *values))
        return self.ids[table]

    def batches(self, size: int = 20_000) -> Iterator[dict[str, list[tuple]]]:
        """The rows, ``size`` queries at a time (requesters first): what to write, in foreign-key order."""
        people = max(self.n // 5, 1)
        for i in range(people):
            country, region = COUNTRIES[i % len(COUNTRIES)]
            self.add("requester", f"Person {i}", f"Company {i % 900} Ltd", f"person{i}@company{i % 900}.example",
                     900_000_000 + i if i % 4 == 0 else None, "Manufacturing", country, region, "management",
                     self.now - timedelta(days=1200))
        yield self.take()
        for i, (age, kind) in enumerate(self.arrivals()):
            self.one_query(i, kind, age, 1 + self.rng.randrange(people))
            if (i + 1) % size == 0:
                yield self.take()
        yield self.take()

    def arrivals(self) -> list[tuple[float, str]]:
        """Each query's age in days and what became of it, oldest first (ids follow arrival, as in a real store).

        A tenth are open: most parked (target extended, nothing due), a few arrived in the last two weeks
        and are being chased, a few missed their target. The others were answered or closed.
        """
        rng, ages = self.rng, {"closed": (15, 3 * 365), "parked": (15, 365), "recent": (0, 15), "late": (16, 60)}
        kinds = ["closed" if i % 10 else rng.choices(["parked", "recent", "late"], [90, 6, 4])[0]
                 for i in range(self.n)]
        return sorted(((rng.uniform(*ages[kind]), kind) for kind in kinds), reverse=True)

    def take(self) -> dict[str, list[tuple]]:
        rows, self.rows = self.rows, {table: [] for table in COLUMNS}
        return rows

    def one_query(self, i: int, kind: str, age: float, requester: int) -> None:
        rng = self.rng
        received = min(self.now - timedelta(days=age), self.now - timedelta(minutes=5))
        due, target = received.date() + timedelta(days=5), received.date() + timedelta(days=14)
        reference, email = f"BK-{i + 1:07d}", f"person{requester - 1}@company{(requester - 1) % 900}.example"
        departments = {*rng.sample(self.topic_departments, rng.choice([1, 1, 2])), *self.always}
        question = QUESTIONS[i % len(QUESTIONS)]
        status, answered, closed, extended = "awaiting_inputs", None, None, None
        inputs_on = {d: self.input_day(received, kind) for d in sorted(departments)} if kind != "closed" else {}
        if kind in ("recent", "late"):
            status = "routed" if received.date() == self.today else \
                "draft_ready" if all(inputs_on.values()) else "awaiting_inputs"
        if kind == "closed":
            answered = min(received + timedelta(days=rng.uniform(1, 30)), self.now - timedelta(hours=1))
            status = "closed" if rng.random() < 0.85 else "answered"
            closed = min(answered + timedelta(days=rng.uniform(3, 10)), self.now) if status == "closed" else None
        elif kind == "parked":
            status, extended = rng.choice(PARKED), self.today + timedelta(days=rng.randint(4, 120))
        qid = self.add("query", reference, requester, "telegram" if i % 4 == 0 else "email",
                       SUBJECTS[i % len(SUBJECTS)], f"{question} (case {i}) " + "We supply brands in Europe. " * 6,
                       "en", received, extended or target, target,
                       "waiting for the ministry's reply" if extended else None, "GH", "africa", "requester",
                       status, i % 50 == 0, status == "manual_triage", "{}", answered, closed, False)
        self.event(qid, received, "received")
        self.outbox(f"ack:{reference}", "acknowledgement", qid, None, email, received)
        inputs = []
        for department in sorted(departments):
            if kind == "closed":
                inputs.append(self.closed_consultation(qid, reference, department, received, due))
            else:
                inputs.append(self.open_consultation(qid, reference, department, received, due,
                                                     inputs_on[department]))
        if kind != "closed":
            self.notices(qid, reference, email, target, received)
            if status == "draft_ready" and kind != "parked" and rng.random() < 0.3:
                self.clearance(qid, reference, inputs[0], max(filter(None, [d for _, d in inputs] + [due])))
            if rng.random() < 0.005:
                self.outbox(f"reply:{reference}", "reply", qid, None, email, received + timedelta(days=2),
                            failed="550 5.1.1 mailbox unavailable")
        else:
            self.answered(qid, reference, email, answered)

    def event(self, qid: int, at: datetime, kind: str, detail: str = "") -> None:
        self.add("query_event", qid, at, kind, detail, "system")

    def outbox(self, key: str, kind: str, qid: int | None, cid: int | None, recipient: str, at: datetime, *,
               failed: str | None = None) -> None:
        self.add("outbox", key, kind, "email", qid, cid, f'["{recipient}"]', f"[{key}]", "...",
                 '{"Auto-Submitted": "auto-generated"}', f"<{self.ids['outbox'] + 1}.bench@example.org>", at, at,
                 1, at, failed, None if failed else at, at if failed else None)

    def chased_days(self, due: date, answered_on: date | None) -> tuple[list[date], date | None]:
        """The days a daily tick sent reminders for an input due on ``due``, and the day it escalated."""
        days, day = [], due + timedelta(days=1)
        while day <= self.yesterday and (answered_on is None or day < answered_on):
            if len(days) == self.max_reminders:
                return days, day
            days.append(day)
            day += timedelta(days=self.every)
        return days, None

    def input_day(self, received: datetime, kind: str) -> date | None:
        """The day a department's input came (None: not by yesterday); parked queries mostly have theirs."""
        rng = self.rng
        answered_on = received.date() + timedelta(days=rng.randint(1, 14)) if rng.random() < 0.75 else None
        if kind == "parked" and answered_on is None and rng.random() < 0.6:
            answered_on = received.date() + timedelta(days=rng.randint(1, 9))
        return answered_on if answered_on is not None and answered_on <= self.yesterday else None

    def open_consultation(self, qid: int, reference: str, department: str, received: datetime, due: date,
                          answered_on: date | None) -> tuple[int, date | None]:
        reminders, escalated = self.chased_days(due, answered_on)
        cid = self.add("consultation", qid, department, "topic", received, due, len(reminders),
                       at_nine(reminders[-1]) if reminders else None, at_nine(escalated) if escalated else None,
                       at_nine(answered_on) - timedelta(hours=2) if answered_on else None, True)
        self.outbox(f"routing:{reference}:{department}", "routing", qid, cid, f"{department.lower()}@example.org",
                    received)
        for n, day in enumerate(reminders, 1):
            self.outbox(f"reminder:{reference}:{department}:{n}", "reminder", qid, cid,
                        f"{department.lower()}@example.org", at_nine(day))
            self.event(qid, at_nine(day), "reminder", f"{department} input was due {due}")
        if escalated:
            self.outbox(f"escalation:{reference}:{department}", "warning", qid, cid, "specialist@example.org",
                        at_nine(escalated))
        return cid, answered_on

    def closed_consultation(self, qid: int, reference: str, department: str, received: datetime,
                            due: date) -> tuple[int, date | None]:
        """Mostly answered; some escalated; some never answered, the query closed before the escalation."""
        rng, roll = self.rng, self.rng.random()
        answered = received + timedelta(days=rng.uniform(1, 10)) if roll < 0.85 else None
        reminders = 0 if answered else self.max_reminders if roll < 0.95 else rng.randint(0, self.max_reminders)
        last = at_nine(due + timedelta(days=1 + self.every * (reminders - 1))) if reminders else None
        escalated = at_nine(due + timedelta(days=1 + self.every * reminders)) if 0.85 <= roll < 0.95 else None
        cid = self.add("consultation", qid, department, "topic", received, due, reminders, last, escalated, answered,
                       False)
        self.outbox(f"routing:{reference}:{department}", "routing", qid, cid, f"{department.lower()}@example.org",
                    received)
        return cid, None

    def notices(self, qid: int, reference: str, email: str, target: date, received: datetime) -> None:
        """The warning, overdue notice and holding message the ticks up to yesterday sent for ``target``."""
        warned = max(target - timedelta(days=self.warn), received.date())
        if warned <= self.yesterday:
            self.outbox(f"warning:{reference}:{target}", "warning", qid, None, "specialist@example.org",
                        at_nine(warned))
        if target + timedelta(days=1) <= self.yesterday:
            late = at_nine(target + timedelta(days=1))
            self.outbox(f"overdue:{reference}:{target}", "warning", qid, None, "specialist@example.org", late)
            self.outbox(f"holding:{reference}:{target}", "reminder", qid, None, email, late)
            self.event(qid, late, "overdue", f"target {target} missed")

    def clearance(self, qid: int, reference: str, consultation: tuple[int, date | None], asked: date) -> None:
        rng = self.rng
        asked = min(asked + timedelta(days=1), self.yesterday)
        due = asked + timedelta(days=3)
        answered = at_nine(asked) + timedelta(days=rng.uniform(0.5, 3)) if rng.random() < 0.5 else None
        answered = answered if answered and answered < self.now else None
        reminders, _ = self.chased_days(due, answered.date() if answered else None)
        reminders = reminders[:self.max_reminders]
        xid = self.add("clearance", qid, consultation[0], at_nine(asked), "maria", due, "Dear colleague, ...",
                       len(reminders), at_nine(reminders[-1]) if reminders else None, answered,
                       "agreed" if answered else None)
        self.outbox(f"clearance:{reference}:{consultation[0]}:1", "clearance", qid, consultation[0],
                    "focal@example.org", at_nine(asked))
        for n, day in enumerate(reminders, 1):
            self.outbox(f"clearance-reminder:{reference}:{xid}:{n}", "clearance", qid, consultation[0],
                        "focal@example.org", at_nine(day))

    def answered(self, qid: int, reference: str, email: str, answered: datetime) -> None:
        """A reply, often a rating; a feedback reminder some days later if the reply went unrated."""
        rng = self.rng
        self.add("reply", qid, "Dear colleague, thank you for your question...", "maria", answered)
        self.outbox(f"reply:{reference}", "reply", qid, None, email, answered)
        self.event(qid, answered, "replied")
        if rng.random() < 0.35:
            rated = min(answered + timedelta(days=rng.uniform(0.1, 6)), self.now - timedelta(minutes=1))
            rating = rng.choices([1, 2, 3, 4, 5], [5, 7, 15, 33, 40])[0]
            self.add("feedback", qid, rating, "Too general for our country." if rating <= 2 else None, rated)
        elif (reminded := answered.date() + timedelta(days=FEEDBACK_DAYS)) <= self.yesterday \
                and self.now - answered <= timedelta(days=60):
            self.outbox(f"feedback-reminder:{reference}", "feedback", qid, None, email, at_nine(reminded))


def write_postgresql(engine: Engine, batches: Iterator[dict[str, list[tuple]]]) -> int:
    """COPY every batch in one transaction; returns the number of rows written.

    The classic bulk load: foreign keys are not checked row by row (the rows are consistent by
    construction) and the secondary indexes are dropped, then rebuilt once from their own definitions,
    so the schema is the migrated one. The rows are made in a thread while the previous batch is copied.
    """
    written = 0
    ready: queue.Queue[dict[str, list[tuple]] | None] = queue.Queue(maxsize=2)

    def make() -> None:
        for rows in batches:
            ready.put(rows)
        ready.put(None)

    maker = threading.Thread(target=make, daemon=True)
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            secondary = cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s) AND indexdef NOT LIKE 'CREATE UNIQUE %%'", [list(COLUMNS)]).fetchall()
            for name, _ in secondary:
                cursor.execute(f'DROP INDEX "{name}"')
            maker.start()
            while (rows := ready.get()) is not None:
                for table, values in rows.items():
                    if not values:
                        continue
                    with cursor.copy(f'COPY "{table}" ({", ".join(COLUMNS[table])}) FROM STDIN') as copy:
                        for row in values:
                            copy.write_row(row)
                    written += len(values)
            for _, definition in secondary:
                cursor.execute(definition)
            for table in COLUMNS:  # ids given by hand: move the sequences past them
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                               f"coalesce((SELECT max(id) FROM \"{table}\"), 1))")
        connection.commit()
    finally:
        connection.close()
    return written


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it in SQLite."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_sqlite(engine: Engine, batches: Iterator[dict[str, list[tuple]]]) -> int:
    written = 0
    connection = engine.raw_connection()
    try:
        for rows in batches:
            for table, values in rows.items():
                columns = COLUMNS[table]
                connection.executemany(
                    f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})',
                    [tuple(_sqlite_value(v) for v in row) for row in values])
                written += len(values)
        connection.commit()
    finally:
        connection.close()
    return written


def bench(url: str, queries: int, explain: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="chase-bench-") as name:
        measure(url, queries, explain, Path(name))


def measure(url: str, queries: int, explain: bool, folder: Path) -> None:
    config = folder / "helpdesk.toml"
    config.write_text(DEFAULT_FILE.read_text(encoding="utf-8")
                      .replace("feedback_reminder_days = 0", f"feedback_reminder_days = {FEEDBACK_DAYS}")
                      .replace("holding_messages = false", "holding_messages = true"), encoding="utf-8")
    clock = Clock()
    helpdesk = bootstrap(Settings(config=config, data_dir=folder, database_url=url), clock=clock, seed=False)
    try:
        engine, dialect = helpdesk.engine, helpdesk.engine.dialect.name
        began = time.perf_counter()
        seeder = Seeder(helpdesk, queries)
        written = (write_postgresql if dialect == "postgresql" else write_sqlite)(engine, seeder.batches())
        seeded = time.perf_counter() - began
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
        analysed = time.perf_counter() - began - seeded
        with engine.connect() as c:
            opened = c.scalar(select(func.count()).select_from(Query).where(Query.status.in_(OPEN_STATUSES)))
        print(f"\n{dialect}: {queries:,} queries ({opened:,} open), {written:,} rows seeded in {seeded:.1f} s "
              f"(+ {'VACUUM ' if dialect == 'postgresql' else ''}ANALYZE {analysed:.1f} s)")
        if explain:
            show_plans(helpdesk)
        timed(helpdesk, clock)
    finally:
        helpdesk.engine.dispose()


class Clock:
    """The scheduler's clock, moved by the bench."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def timed(helpdesk: Helpdesk, clock: Clock) -> None:
    """Time the scheduler's ticks on the bench's day: at 07:00 the first sends what fell due today; at 08:00
    the next one sends the morning digest (it counts the open work needing attention and lists the most urgent
lines of each section); the ones after,
    a minute apart, find everything done."""
    service = helpdesk.service

    def tick(at: datetime) -> tuple[float, Counter[str]]:
        clock.now = at
        began = time.perf_counter()
        done = service.chase_overdue_work()
        return time.perf_counter() - began, Counter(a.kind for a in done)

    for label, at in (("first tick (07:00)", NOW), ("digest tick (08:00)", NOW.replace(hour=8))):
        seconds, kinds = tick(at)
        what = ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
        print(f"{label}: {seconds:.3f} s, queued {sum(kinds.values()):,} ({what})")
    later = [tick(NOW.replace(hour=8) + timedelta(minutes=n)) for n in range(1, TICKS + 1)]
    times = [seconds for seconds, _ in later]
    print(f"next {len(later)} ticks: median {statistics.median(times):.3f} s, max {max(times):.3f} s, "
          f"queued {sum(sum(kinds.values()) for _, kinds in later)} in all")


def show_plans(helpdesk: Helpdesk) -> None:
    """EXPLAIN ANALYZE of the reads a tick makes before acting (PostgreSQL)."""
    from kb.chase_messages import DIGEST_LINES
    from kb.chasing import chase_policy, due_work
    from kb.digest import digest_sections

    chase = chase_policy(helpdesk.policy)
    with helpdesk.service.unit_of_work() as session:
        session.execute(text("SET LOCAL jit = off"))  # as in a tick
        reads = [("due work", due_work(session, chase, NOW.date()))]
        for name, lines in digest_sections(NOW.date()).items():
            rows = lines.offset(0).subquery()
            first, *order = rows.c
            reads.append((f"digest {name}", select(first, func.count().over()).order_by(*order).limit(DIGEST_LINES)))
        for label, statement in reads:
            compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            plan = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars()
            print(f"--- {label}\n" + "\n".join(plan))


def with_postgresql(admin_url: str, run: Callable[[str], None]) -> None:
    """Run on a throwaway database, dropped afterwards whatever happens."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        try:
            run(admin.url.set(database=DATABASE).render_as_string(hide_password=False))
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1_000_000, help="queries in PostgreSQL (a tenth open)")
    parser.add_argument("--sqlite", type=int, default=0, metavar="N", help="also time SQLite with N queries")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to create the bench's from")
    parser.add_argument("--explain", action="store_true", help="print the plans of the tick's reads")
    args = parser.parse_args()
    with_postgresql(args.admin_url, lambda url: bench(url, args.queries, args.explain))
    if args.sqlite:
        with tempfile.TemporaryDirectory(prefix="chase-bench-sqlite-") as folder:
            bench(f"sqlite:///{Path(folder) / 'bench.db'}", args.sqlite, explain=False)


if __name__ == "__main__":
    main()
