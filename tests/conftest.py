"""Shared fixtures: a real store on SQLite *and* PostgreSQL, a trained model, a fixed clock.

Every test that takes ``helpdesk`` runs twice, once per database. PostgreSQL is
the one on 127.0.0.1:5432 (``TEST_POSTGRES_URL`` overrides it): one throwaway
database per test session, migrated once and emptied after each test.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config.bootstrap import Helpdesk, bootstrap, train_and_save
from config.settings import DEFAULT_FILE, Settings
from kb.db import make_engine, migrate
from kb.models import Base

#: One cache folder for the whole run (the unpacked language model, the stemmed concept table, saved
#: Q&A indexes named after each store): what a helpdesk keeps between its own processes.
os.environ.setdefault("HELPDESK_CACHE_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                         f"helpdesk-test-cache-{os.getuid()}"))
#: Commands run in their own processes, as they did before the warm process (tests/test_warm_cli.py turns it on).
os.environ.setdefault("HELPDESK_WARM_CLI", "0")
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Monday 2 March 2026, 09:00 UTC: the instant most stories happen at.
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = MONDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """An empty store of the test's own, not migrated, on each database: for the tests whose rows or schema
    the shared test database should not see (killed processes, a store at an older revision)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"helpdesk_own_{os.getpid()}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"helpdesk_test_{os.getpid()}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'helpdesk.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as c:
        c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def trained_model_path(tmp_path_factory) -> Path:
    """Train once per session (a few seconds); every test loads the same file."""
    folder = tmp_path_factory.mktemp("model")
    settings = Settings(config=DEFAULT_FILE, data_dir=folder, database_url=f"sqlite:///{folder / 'train.db'}")
    helpdesk = bootstrap(settings)
    train_and_save(helpdesk)
    helpdesk.close()
    return settings.resolved_model_path()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def make_helpdesk(database_url, trained_model_path, tmp_path, clock):
    """Build a helpdesk on this test's database, optionally with another helpdesk file."""
    built: list[Helpdesk] = []

    def make(config: Path = DEFAULT_FILE) -> Helpdesk:
        model = tmp_path / "topic-model.npz"
        if not model.exists():
            shutil.copy(trained_model_path, model)
        settings = Settings(config=config, data_dir=tmp_path, database_url=database_url, model_path=model)
        helpdesk = bootstrap(settings, clock=clock)
        built.append(helpdesk)
        return helpdesk

    yield make
    for h in built:
        h.close()


@pytest.fixture
def helpdesk(make_helpdesk) -> Helpdesk:
    return make_helpdesk()


@pytest.fixture
def service(helpdesk):
    return helpdesk.service


@pytest.fixture
def cli(tmp_path, monkeypatch, trained_model_path, database_url):
    """The ``helpdesk`` command as a newcomer runs it, on this test's store: cli("queries", "--status", "new")."""
    from typer.testing import CliRunner

    from config.cli import app

    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    monkeypatch.setenv("HELPDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, list(args), input=input)


# ------------------------------------------------------------------ mail peers
from tests.peers.mail import Dovecot, SmtpSink  # noqa: E402


@pytest.fixture(scope="session")
def dovecot_server():
    server = Dovecot()
    yield server
    server.stop()


@pytest.fixture
def dovecot(dovecot_server):
    dovecot_server.empty()
    yield dovecot_server
    dovecot_server.empty()


@pytest.fixture
def ingestor(dovecot, helpdesk):
    """The helpdesk's mailbox reader on the test Dovecot."""
    from ingest.imap import ImapSettings, MailboxIngestor

    settings = ImapSettings(host="127.0.0.1", port=dovecot.port, username=dovecot.user, password=dovecot.password,
                            security="plain", timeout=10)
    built = MailboxIngestor(settings, helpdesk.service)
    yield built
    built.close()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


# -------------------------------------------------------------- Telegram peer
import pytest_asyncio  # noqa: E402

from tests.peers.telegram import FakeBotApi  # noqa: E402


@pytest_asyncio.fixture
async def api():
    server = await FakeBotApi().start()
    yield server
    await server.stop()
