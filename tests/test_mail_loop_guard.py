"""The mail-loop guard counts each address's automatic notices exactly: the characters LIKE treats as
wildcards (``_`` and ``%``, common in addresses) match only themselves. On both databases."""

from __future__ import annotations

from datetime import timedelta

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
