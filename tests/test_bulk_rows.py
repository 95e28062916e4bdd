"""Rows a tick writes in bulk (one COPY on PostgreSQL, one executemany on SQLite) read back exactly as rows the
ORM writes one by one: enums as their values, JSON lists and objects, aware UTC times, NULLs and odd text; and
rows it updates in bulk (one statement on PostgreSQL) get each its own value, and no other row changes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from kb.bulk import insert_new, insert_rows, insert_rows_taking_ids, store_now, update_rows
from kb.db import make_engine, migrate, session_factory, unit_of_work
from kb.models import (
    Channel, Direction, Message, OutboxKind, OutboxMessage, Query, QueryEvent, QueryStatus, RawEmail, Requester,
)
from kb.outbox import outbox_values

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)


def test_rows_written_in_bulk_read_back_as_the_orm_writes_them(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    odd = 'Tab\there, "quotes", back\\slash, new\nline, é ñ ü, emoji 🙂, \\N, and a percent %s'
    rows = [dict(query_id=None, consultation_id=None, **outbox_values(
        dedupe_key=f"reminder:{i}", kind=OutboxKind.REMINDER if i % 2 else OutboxKind.DIGEST,
        channel=Channel.EMAIL if i % 3 else Channel.TELEGRAM, recipients=[f"fp{i}@dept.example", "x@y.example"],
        subject=f"[HD-2026-000{i}] Reminder {odd}", body=odd * 3, now=NOW + timedelta(minutes=i),
        domain="helpdesk.example", headers={"Auto-Submitted": "auto-generated", "X-Odd": odd} if i else None))
        for i in range(5)]
    try:
        with unit_of_work(sessions) as session:
            insert_rows(session, OutboxMessage.__table__, rows)
            insert_rows(session, QueryEvent.__table__, [])  # nothing to write: no statement, no error
        with unit_of_work(sessions) as session:
            stored = session.scalars(select(OutboxMessage).order_by(OutboxMessage.dedupe_key)).all()
            read = [dict(query_id=m.query_id, consultation_id=m.consultation_id, dedupe_key=m.dedupe_key, kind=m.kind,
                         channel=m.channel, recipients=m.recipients, subject=m.subject, body=m.body, headers=m.headers,
                         created_at=m.created_at, due_at=m.due_at, attempts=m.attempts,
                         email_message_id=m.email_message_id) for m in stored]
            assert all(m.sent_at is None and m.failed_at is None and m.last_error is None for m in stored)
    finally:
        engine.dispose()
    assert read == rows


def test_rows_updated_in_bulk_get_each_their_own_value_and_no_other_row_changes(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    try:
        with unit_of_work(sessions) as session:
            insert_rows(session, OutboxMessage.__table__, [dict(query_id=None, consultation_id=None, **outbox_values(
                dedupe_key=f"k{i}", kind=OutboxKind.REMINDER, channel=Channel.EMAIL, recipients=["a@b.example"],
                subject="s", body="b", now=NOW, domain="helpdesk.example")) for i in range(6)])
        with unit_of_work(sessions) as session:
            ids = dict(session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.id)).all())
            update_rows(session, OutboxMessage.__table__, [ids["k4"], ids["k1"], ids["k2"]],
                        {"attempts": [4, 1, 2], "last_error": ["four", "one", None]}, last_attempt_at=NOW)
            update_rows(session, OutboxMessage.__table__, [ids["k5"]], failed_at=NOW + timedelta(hours=1))
            update_rows(session, OutboxMessage.__table__, [], failed_at=NOW)  # nothing to update: no statement
        with unit_of_work(sessions) as session:
            rows = {m.dedupe_key: (m.attempts, m.last_error, m.last_attempt_at, m.failed_at)
                    for m in session.scalars(select(OutboxMessage))}
    finally:
        engine.dispose()
    assert rows == {"k0": (0, None, None, None), "k1": (1, "one", NOW, None), "k2": (2, None, NOW, None),
                    "k3": (0, None, None, None), "k4": (4, "four", NOW, None),
                    "k5": (0, None, None, NOW + timedelta(hours=1))}


def test_new_objects_written_by_core_are_persistent_and_read_back_as_a_flush_writes_them(database_url):
    """``insert_new`` (a new query, its message and a new requester, on the intake's hot path): parents first,
    foreign keys from the relationships, defaults from the store; the objects stay in the session, clean, so
    nothing is written twice, and a later change to one of them is an UPDATE of that row."""
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    try:
        with unit_of_work(sessions) as session:
            known = Requester(email="known@org.example", created_at=NOW)
            session.add(known)
            session.flush()  # already stored: left as it is
            new = Requester(email="new@org.example", name="Awa Sarr", created_at=NOW)
            query = Query(reference="HD-2026-0001", requester=new, channel=Channel.EMAIL, subject="Overtime",
                          text="Overtime, é ñ 🙂", language="en", received_at=NOW, status=QueryStatus.NEW,
                          target_reply_date=NOW.date(), original_target_date=NOW.date())
            message = Message(query=query, direction=Direction.IN, channel=Channel.EMAIL, at=NOW,
                              sender="new@org.example", body="Overtime")
            session.add_all([new, query, message])
            insert_new(session, [known, new, query, message])
            assert not session.new and not session.dirty
            assert query.id and query.requester_id == new.id and message.query_id == query.id
            assert query.triage == {} and query.confidential is False and message.recipients == []  # defaults
            assert query.messages == [message] and query.requester is new
            query.subject = "Overtime hours"  # a later change is an update of the same row
        with unit_of_work(sessions) as session:
            assert session.scalar(select(func.count()).select_from(Query)) == 1
            assert session.scalar(select(func.count()).select_from(Message)) == 1
            stored = session.scalar(select(Query))
            assert (stored.subject, stored.text, stored.requester.email, stored.received_at) == \
                ("Overtime hours", "Overtime, é ñ 🙂", "new@org.example", NOW)
            assert [m.body for m in stored.messages] == ["Overtime"]
    finally:
        engine.dispose()


def test_an_outcome_stored_at_once_is_in_the_row_and_a_rolled_back_savepoint_takes_it_back(database_url):
    """``store_now`` (a stored email's outcome, decided inside a mail batch's savepoint): the row holds it at
    once, so the next email of the batch sees it; nothing is left for a flush; and when the savepoint rolls
    back, the object reads its row again instead of keeping a value the store no longer has."""
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    try:
        with unit_of_work(sessions) as session:
            raw = RawEmail(mailbox="INBOX", uidvalidity=1, uid=7, received_at=NOW, raw=b"x", outcome="pending")
            query = Query(reference="HD-2026-0001", requester=Requester(email="a@org.example", created_at=NOW),
                          channel=Channel.EMAIL, text="Overtime", language="en", received_at=NOW,
                          status=QueryStatus.NEW, target_reply_date=NOW.date(), original_target_date=NOW.date())
            message = Message(query=query, direction=Direction.IN, channel=Channel.EMAIL, at=NOW)
            session.add_all([raw, query, message])
            session.flush()
            with session.begin_nested():
                store_now(session, raw, outcome="query", reason=None, message=message)
                assert not session.dirty
                assert session.execute(select(RawEmail.outcome, RawEmail.message_id)).one() == ("query", message.id)
            with session.no_autoflush:
                try:
                    with session.begin_nested():
                        store_now(session, raw, outcome="duplicate", reason="seen before")
                        raise RuntimeError("the message failed after its outcome was written")
                except RuntimeError:
                    pass
            assert (raw.outcome, raw.reason, raw.message) == ("query", None, message)
            pending = RawEmail(mailbox="INBOX", uidvalidity=1, uid=8, received_at=NOW, raw=b"y", outcome="pending")
            session.add(pending)
            store_now(session, pending, outcome="query", message=message)  # new: written by the flush
            assert pending in session.new and pending.message is message
        with unit_of_work(sessions) as session:
            assert sorted(session.execute(select(RawEmail.uid, RawEmail.outcome, RawEmail.message_id)).all()) == \
                [(7, "query", message.id), (8, "query", message.id)]
    finally:
        engine.dispose()


def test_rows_inserted_taking_their_ids_get_each_its_own_and_the_defaults_of_what_they_leave_out(database_url):
    """``insert_rows_taking_ids`` (a mail batch's consultations, whose routing emails name them): on PostgreSQL the
    ids are drawn from the sequence and the rows copied in; the ids come back in the rows' order, and a column
    a row leaves out gets its Python default, as an INSERT gives it."""
    engine = make_engine(database_url)
    migrate(engine)
    sessions = session_factory(engine)
    try:
        with unit_of_work(sessions) as session:
            earlier = insert_rows_taking_ids(session, OutboxMessage.__table__, [dict(
                dedupe_key="earlier", kind=OutboxKind.DIGEST, channel=Channel.EMAIL, created_at=NOW, due_at=NOW)])
            ids = insert_rows_taking_ids(session, OutboxMessage.__table__, [dict(
                dedupe_key=f"k{i}", kind=OutboxKind.REMINDER, channel=Channel.EMAIL, created_at=NOW,
                due_at=NOW + timedelta(minutes=i)) for i in range(4)])
            assert insert_rows_taking_ids(session, OutboxMessage.__table__, []) == []
        with unit_of_work(sessions) as session:
            stored = {m.id: m for m in session.scalars(select(OutboxMessage))}
    finally:
        engine.dispose()
    assert len(set(earlier + ids)) == 5
    assert [(stored[i].dedupe_key, stored[i].due_at) for i in ids] == [
        (f"k{i}", NOW + timedelta(minutes=i)) for i in range(4)]
    assert all((m.recipients, m.subject, m.body, m.headers, m.attempts) == ([], "", "", {}, 0)
               for m in stored.values())
