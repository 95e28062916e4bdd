"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kb.db import make_engine, migrate
from kb.models import Base


def schema_differences(engine) -> list:
    """What the store's schema has that the models do not, or lacks (the scheduler's own table aside)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return [d for d in compare_metadata(context, Base.metadata)
                if not (isinstance(d, tuple) and d[0] in ("remove_table",) and d[1].name == "apscheduler_jobs")]


def test_migrating_an_empty_store_gives_the_models_schema(database_url):
    engine = make_engine(database_url)
    try:
        migrate(engine)
        differences = schema_differences(engine)
    finally:
        engine.dispose()
    assert differences == []


def test_a_store_already_at_the_newest_revision_is_recognised_without_alembic(database_url):
    from kb.db import MIGRATIONS, current_revision, head_revision

    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "sqlite":  # (the PostgreSQL test database is migrated once per session)
            assert current_revision(engine) is None  # an empty store: Alembic builds it
        migrate(engine)
        newest = sorted(p.name for p in (MIGRATIONS / "versions").glob("0*.py"))[-1][:4]
        assert current_revision(engine) == head_revision() == newest
        migrate(engine)  # the fast path: nothing to do
        assert current_revision(engine) == newest
    finally:
        engine.dispose()


def test_large_values_are_compressed_with_lz4_where_postgresql_offers_it(database_url):
    """A query's triage record (about 3 KB) is past PostgreSQL's threshold for compressing a value: LZ4 writes
    and reads it several times faster than the default pglz."""
    from sqlalchemy import text

    engine = make_engine(database_url)
    try:
        migrate(engine)
        if engine.dialect.name != "postgresql":
            return
        with engine.connect() as connection:
            offered = connection.execute(text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
            methods = dict(connection.execute(text(
                "SELECT c.relname || '.' || a.attname, a.attcompression FROM pg_attribute a"
                " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND a.attcompression <> ''")).all())
    finally:
        engine.dispose()
    expected = {"query.triage", "query.text", "message.body", "raw_email.raw", "outbox.body", "attachment.data"}
    assert methods == ({column: "l" for column in expected} if offered else {})


def test_a_stored_closed_query_leaves_its_consultations_out_of_the_ticks_indexes_after_the_upgrade(store_url):
    """Migration 0018 on a store holding queries: the consultations of an answered or closed query are marked as
    such, those of open queries are not, and the schema is the models' (the indexes the tick reads included)."""
    from sqlalchemy import text

    engine = make_engine(store_url)
    try:
        migrate(engine, "0017")
        with engine.begin() as c:
            c.execute(text("INSERT INTO requester (id, name, created_at) VALUES (1, 'Rosa', '2026-01-05 09:00:00')"))
            for qid, status in ((1, "awaiting_inputs"), (2, "closed"), (3, "answered"), (4, "reopened")):
                c.execute(text(
                    "INSERT INTO query (id, reference, requester_id, channel, text, language, received_at, "
                    "target_reply_date, status, confidential, needs_manual_triage, triage, self_served) VALUES "
                    f"({qid}, 'HD-2026-000{qid}', 1, 'email', 'Uniforms?', 'en', '2026-01-05 09:00:00', "
                    f"'2026-01-19', '{status}', false, false, '{{}}', false)"))
                c.execute(text(
                    "INSERT INTO consultation (query_id, department_code, reason, requested_at, due_date, "
                    f"reminders_sent) VALUES ({qid}, 'WORKCOND', 'topic wages', '2026-01-05 09:00:00', "
                    "'2026-01-12', 0)"))
        migrate(engine)
        with engine.connect() as c:
            flags = dict(c.execute(text("SELECT query_id, query_open FROM consultation ORDER BY query_id")).all())
        assert {q: bool(f) for q, f in flags.items()} == {1: True, 2: False, 3: False, 4: True}
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
