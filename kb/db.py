"""Engines, sessions and schema migrations.

Nothing here runs at import time: the composition root calls ``make_engine``
with the URL from the settings, ``migrate`` brings the schema to the newest
Alembic revision, and ``unit_of_work`` gives each use case one session and one
transaction, committed only if the use case returns normally.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL, ``synchronous=NORMAL`` and a busy timeout."""
    if url.startswith("sqlite"):
        # The driver keeps 128 prepared statements by default; a mail batch runs more distinct ones than that
        # (each savepoint has its own name), so the others were evicted and prepared again at every message.
        kwargs.setdefault("connect_args", {"timeout": 30, "cached_statements": 1024})
        if not url.startswith("sqlite:///:memory:") and url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # Under WAL, NORMAL syncs the log at checkpoints instead of at every commit (the fsync per commit
            # was most of the cost of a small transaction). A commit is in the WAL file when it returns, so a
            # killed process (kill -9, a crash of ours) loses nothing committed. A power cut or an operating
            # system crash may lose the transactions committed since the last checkpoint (the store stays
            # consistent, never corrupt): an email already flagged done on the server in that window would be
            # missing, and an acknowledgement sent from a lost row could go out again. Where that matters more
            # than speed, run on PostgreSQL (or set synchronous=FULL here).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    _savepoints_as_text(engine)
    return engine


def _savepoints_as_text(engine: Engine) -> None:
    """Savepoint statements sent as plain SQL. SQLAlchemy compiles each ``SAVEPOINT``, ``RELEASE`` and ``ROLLBACK
    TO`` afresh (every savepoint has a new name, so there is nothing to cache), and a mail batch opens one savepoint
    per message: compiling them was about a twentieth of a message's time. The statements and the connection
    events are the same; only the compiler is skipped."""
    dialect, quote = engine.dialect, engine.dialect.identifier_preparer.quote
    dialect.do_savepoint = lambda connection, name: connection.exec_driver_sql(f"SAVEPOINT {quote(name)}")
    dialect.do_release_savepoint = \
        lambda connection, name: connection.exec_driver_sql(f"RELEASE SAVEPOINT {quote(name)}")
    dialect.do_rollback_to_savepoint = \
        lambda connection, name: connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {quote(name)}")


_REVISION = re.compile(r"^revision = ['\"](\w+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision = ['\"](\w+)['\"]", re.MULTILINE)


def head_revision() -> str:
    """The newest migration's id, read from the migration files (the one no other revises)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if (found := _REVISION.search(text)) is not None:
            revisions.add(found.group(1))
        if (down := _DOWN.search(text)) is not None:
            revised.add(down.group(1))
    [head] = revisions - revised
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision, or None for an empty store."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (idempotent: an up-to-date schema is left alone, without even
    loading Alembic, so that a command on an up-to-date store starts at once)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def hold_write_lock(session: Session) -> None:
    """On SQLite, start the session's transaction now, holding the store's write lock (``BEGIN IMMEDIATE``).

    Python's SQLite driver opens a transaction only before a data-changing statement, never before a
    ``SAVEPOINT``: savepoints taken in a session that has not written yet are transactions of their own,
    and releasing one commits. A unit of work made of savepoints (an inbound mail batch) calls this first
    to be one transaction, as on PostgreSQL. Other writers wait for its commit (the busy timeout);
    readers never do, under WAL. Elsewhere it does nothing.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with sessions() as session:
        with session.begin():
            yield session


def forget_former_values(engine: Engine, *, attempts: int = 20) -> bool:
    """After an erasure, make sure no former value lingers in SQLite's files: empty the write-ahead log
    (earlier frames hold old page images), rebuild the database (``VACUUM``: free pages and the free space
    inside pages go), and empty the log again. True when the log could be emptied; False when a reader
    kept it busy throughout (it empties at the next checkpoint). PostgreSQL: nothing to do here (see the
    README on erasure and backups)."""
    if engine.dialect.name != "sqlite" or ":memory:" in str(engine.url):
        return True
    import time

    def truncate(connection) -> bool:
        for _ in range(attempts):
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()[0]
            if not busy:
                return True
            time.sleep(0.1)
        return False

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        truncate(connection)
        connection.exec_driver_sql("VACUUM")
        return truncate(connection)


def backup_sqlite(engine: Engine, target: Path) -> None:
    """An online, consistent copy of a SQLite store (SQLite's backup API: the helpdesk may keep running)."""
    if engine.dialect.name != "sqlite":
        raise ValueError("the store is PostgreSQL: back it up with pg_dump (see the README)")
    import sqlite3

    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise ValueError("an in-memory store cannot be backed up")
    tmp = target.with_name(f".{target.name}.tmp")
    source, copy = sqlite3.connect(source_path), sqlite3.connect(tmp)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    tmp.chmod(0o600)
    tmp.replace(target)
