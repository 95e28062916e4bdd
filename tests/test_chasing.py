"""Chasing overdue work, decided at fixed instants (no sleeping), then through the store."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kb.calendar import DueDateCalendar
from kb.chasing import ChasePolicy, ConsultationSnapshot, QuerySnapshot, due_actions
from kb.db import unit_of_work
from kb.intake import QuerySubmission
from kb.models import Channel, Consultation, OutboxKind, OutboxMessage

POLICY = ChasePolicy(reminder_every_days=3, max_reminders=2, warn_days_before_target=3,
                     calendar=DueDateCalendar("working", "CH"))


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def query(*consultations, target=date(2026, 3, 16), status="awaiting_inputs", email="ana@coop.example"):
    return QuerySnapshot("HD-2026-0001", status, "Young workers", "Can we employ 16-year-olds?", "en",
                         date(2026, 3, 2), target, False, email, tuple(consultations))


def osh(**kw):
    values = dict(id=1, department="OSH", due_date=date(2026, 3, 7), input_received=False, reminders_sent=0,
                  last_reminder_on=None, escalated=False)
    values.update(kw)
    return ConsultationSnapshot(**values)


def kinds(actions):
    return sorted((a.kind, a.number) if a.kind == "reminder" else a.kind for a in actions
                  if a.kind != "digest")


def test_no_reminder_on_the_day_the_input_is_due():
    assert kinds(due_actions([query(osh())], POLICY, at(date(2026, 3, 7)))) == []


def test_first_reminder_the_day_after_the_input_was_due():
    [action] = [a for a in due_actions([query(osh())], POLICY, at(date(2026, 3, 8))) if a.kind == "reminder"]
    assert (action.number, action.department, action.key) == (1, "OSH", "reminder:HD-2026-0001:OSH:1")


def test_next_reminder_follows_the_cadence_from_the_last_one_sent():
    c = osh(reminders_sent=1, last_reminder_on=date(2026, 3, 8))
    assert kinds(due_actions([query(c)], POLICY, at(date(2026, 3, 10)))) == []
    assert kinds(due_actions([query(c)], POLICY, at(date(2026, 3, 11)))) == [("reminder", 2)]


def test_after_the_last_reminder_the_specialist_is_told():
    c = osh(reminders_sent=2, last_reminder_on=date(2026, 3, 11))
    assert kinds(due_actions([query(c)], POLICY, at(date(2026, 3, 14)))) == ["escalation", "warning"]


def test_an_input_that_arrived_stops_the_chase():
    c = osh(input_received=True, reminders_sent=1, last_reminder_on=date(2026, 3, 8))
    assert kinds(due_actions([query(c)], POLICY, at(date(2026, 3, 11)))) == []


def test_specialist_is_warned_before_the_target_and_again_once_it_is_missed():
    q = query()
    assert kinds(due_actions([q], POLICY, at(date(2026, 3, 12)))) == []
    assert kinds(due_actions([q], POLICY, at(date(2026, 3, 13)))) == ["warning"]
    assert kinds(due_actions([q], POLICY, at(date(2026, 3, 16)))) == ["warning"]
    assert kinds(due_actions([q], POLICY, at(date(2026, 3, 17)))) == ["overdue"]


def test_an_extended_target_moves_the_warnings():
    extended = query(target=date(2026, 3, 30))
    assert kinds(due_actions([extended], POLICY, at(date(2026, 3, 17)))) == []
    [warning] = [a for a in due_actions([extended], POLICY, at(date(2026, 3, 27))) if a.kind == "warning"]
    assert warning.key == "warning:HD-2026-0001:2026-03-30"


def test_holding_message_only_when_configured():
    late = at(date(2026, 3, 17))
    assert "holding" not in kinds(due_actions([query()], POLICY, late))
    on = ChasePolicy(holding_messages=True, calendar=POLICY.calendar)
    assert "holding" in kinds(due_actions([query()], on, late))


def test_answered_queries_are_never_chased():
    assert kinds(due_actions([query(osh(), status="answered")], POLICY, at(date(2026, 3, 20)))) == []


@pytest.mark.parametrize(("instant", "expected"), [
    (at(date(2026, 3, 2), 8), True),     # Monday 08:00
    (at(date(2026, 3, 2), 7), False),    # too early
    (at(date(2026, 3, 7), 9), False),    # Saturday
    (at(date(2026, 12, 25), 9), False),  # Christmas, a Swiss public holiday
])
def test_digest_goes_out_on_working_mornings_only(instant, expected):
    assert any(a.kind == "digest" for a in due_actions([], POLICY, instant)) is expected


def test_a_restart_sends_the_reminders_due_while_it_was_down_exactly_once(helpdesk, clock):
    service = helpdesk.service
    report = service.submit_query(QuerySubmission(
        text="What personal protective equipment must an employer provide?", channel=Channel.EMAIL,
        email="ana@coop.example"))
    # The scheduler was down from the day the inputs were due until ten days later.
    clock.now += timedelta(days=15)
    first = service.chase_overdue_work()
    again = service.chase_overdue_work()
    reminders = [a for a in first if a.kind == "reminder"]
    assert {a.department for a in reminders} == {r["department"] for r in report.routes}
    assert all(a.number == 1 for a in reminders)
    assert again == []
    with unit_of_work(helpdesk.sessions) as s:
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.REMINDER)))
        assert len(rows) == len(report.routes)
        osh_row = next(r for r in rows if "osh.focal@example.org" in r.recipients)
        assert osh_row.subject == f"[{report.reference}] Reminder 1: input was due 2026-03-07"
        assert "personal protective equipment" in osh_row.body
        assert all(c.reminders_sent == 1 for c in s.scalars(select(Consultation)))
    # The cadence then runs from the reminder actually sent.
    clock.now += timedelta(days=3)
    assert {a.number for a in service.chase_overdue_work()
            if a.kind == "reminder"} == {2}
