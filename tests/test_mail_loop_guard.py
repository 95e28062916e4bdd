"""The mail-loop guard counts each address's automatic notices exactly: the characters LIKE treats as
wildcards (``_`` and ``%``, common in addresses) match only themselves. On both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from kb.db import unit_of_work
from kb.models import Channel, OutboxKind
from kb.outbox import may_notify, queue


def notice_to(session, address: str, number: int, now) -> None:
    queue(session, dedupe_key=f"notice:{address}:{number}", kind=OutboxKind.NOTICE, channel=Channel.EMAIL,
          recipients=[address], subject="Your message could not be processed", body="...", now=now,
          domain="example.org")


def test_a_sender_with_an_underscore_or_percent_in_the_address_is_counted_alone(helpdesk, clock):
    now = clock()
    per_day = helpdesk.service.policy.mail.automatic_notices_per_day
    with unit_of_work(helpdesk.sessions) as session:
        for number in range(per_day):
            notice_to(session, "first_last@org.example", number, now)
            notice_to(session, "100%sure@org.example", number, now)
    with unit_of_work(helpdesk.sessions) as session:
        assert not may_notify(session, "First_Last@org.example", now, per_day)  # addresses compare without case
        assert not may_notify(session, "100%sure@org.example", now, per_day)
        # Read as wildcards, "_" and "%" would make these look like the addresses above.
        assert may_notify(session, "firstXlast@org.example", now, per_day)
        assert may_notify(session, "100Xsure@org.example", now, per_day)
        assert may_notify(session, "100%@org.example", now, per_day)
        # A day later the count starts again.
        assert may_notify(session, "first_last@org.example", now + timedelta(days=1, seconds=1), per_day)


def test_the_guard_reads_a_requesters_acknowledgements_through_their_queries(helpdesk, clock):
    """Regression: for every email received, the guard read every acknowledgement ever sent (SQLite took the
    outbox by its kind's index, then checked whose query each was), so each email cost more as the outbox grew:
    1.3 ms a message with 1,000 acknowledgements in it, 0.04 ms through the requester's queries. The other
    notices were read since the first one too."""
    if helpdesk.engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's; PostgreSQL chooses from its statistics")
    sent = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "FROM outbox" in statement:
            sent.append((statement, parameters))

    event.listen(helpdesk.engine, "before_cursor_execute", remember)
    try:
        with unit_of_work(helpdesk.sessions) as session:
            may_notify(session, "jane@acme.example", clock(), 3)
            [(statement, parameters)] = sent
            plan = [row[-1] for row in session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                             parameters)]
    finally:
        event.remove(helpdesk.engine, "before_cursor_execute", remember)
    assert any("ix_outbox_query_kind (query_id=? AND kind=? AND created_at>?)" in step for step in plan), plan
    # the other automatic notices (to senders who are not requesters): those of the last day only
    assert any("ix_outbox_kind_created (kind=? AND created_at>?)" in step for step in plan), plan
