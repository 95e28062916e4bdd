"""The scheduler: a thin ticker that calls ``chase_overdue_work`` every minute.

All schedule state lives in rows (consultations' due dates and reminders, the
outbox's ``due_at``/``sent_at``), so the ticker holds none: a missed tick is
simply done by the next one. APScheduler runs the tick with its job kept in the
store (``SQLAlchemyJobStore``), ``coalesce=True`` (ticks missed while down run
once, not many times) and no misfire grace limit (a late tick still runs).

Only one process may tick. On PostgreSQL, the process that holds a session
advisory lock is the leader; if it dies, its connection closes, the lock is
freed, and another process takes over at its next attempt. On SQLite one
process is assumed (SQLite is for a single machine and a single runner).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone  # noqa: F401 (next_run_time)
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

#: Arbitrary, fixed: "helpdesk scheduler" as a 63-bit advisory-lock key.
LOCK_KEY = 0x4844_5343_4845_44


class SchedulerLeadership:
    """Who ticks: the holder of a PostgreSQL advisory lock (always this process on SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name != "postgresql":
            self._connection = "single-process"
            return True
        connection = self.engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        connection.commit()
        if got:
            self._connection = connection
            log.info("this process now runs the scheduler")
            return True
        connection.close()
        return False

    def still_held(self) -> bool:
        """False when the lock's connection is gone (the database restarted, the network broke)."""
        if not self.held or isinstance(self._connection, str):
            return self.held
        try:
            self._connection.execute(text("SELECT 1")).scalar()
            self._connection.commit()
            return True
        except Exception:
            self._connection = None
            return False

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not isinstance(connection, str):
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                connection.commit()
            finally:
                connection.close()


def tick(config_path: str, database_url: str, specialists: list[int] | None = None,
         data_dir: str | None = None) -> int:
    """One scheduler tick (module-level and with plain arguments, so APScheduler can store the job): the
    retention rule's erasures, then the chasing."""
    from config.bootstrap import build_policy, folder_copies
    from config.settings import load_helpdesk_file
    from kb.db import make_engine, session_factory
    from kb.service import HelpdeskService

    def no_model():
        raise RuntimeError("the scheduler's tick does not triage")

    policy = build_policy(load_helpdesk_file(config_path), tuple(specialists or ()))
    engine = make_engine(database_url)
    try:
        service = HelpdeskService(session_factory(engine), policy, no_model)
        if data_dir is not None:
            service.personal_files = folder_copies(Path(data_dir))
        for reference in service.apply_retention():
            log.info("scheduler: erased %s under the retention rule", reference)
        done = service.chase_overdue_work()
    finally:
        engine.dispose()
    for action in done:
        log.info("scheduler: %s %s %s", action.kind, action.reference or "", action.department or "")
    return len(done)


def make_scheduler(database_url: str, config_path: str, specialists: list[int], every_seconds: float = 60.0,
                   data_dir: str | None = None):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=database_url, tablename="apscheduler_jobs")},
        timezone="UTC", job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1})
    scheduler.add_job(tick, "interval", seconds=every_seconds, args=[config_path, database_url, specialists, data_dir],
                      id="chase",
                      replace_existing=True, next_run_time=datetime.now(timezone.utc))
    return scheduler
