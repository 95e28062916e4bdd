"""Chasing overdue work, decided at fixed instants (no sleeping), then through the store."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from config.settings import DEFAULT_FILE
from kb import chase_messages, chasing, lifecycle
from kb.calendar import DueDateCalendar
from kb.chase_messages import digest
from kb.chasing import (
    ChasePolicy,
    ConsultationSnapshot,
    QuerySnapshot,
    chase_policy,
    due_actions,
    due_work,
    poor_ratings,
    snapshot,
)
from kb.db import unit_of_work
from kb.digest import digest_listing, digest_sections
from kb.intake import QuerySubmission
from kb.models import OPEN_STATUSES, Channel, Consultation, OutboxKind, OutboxMessage, Query, QueryStatus

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


def test_closed_queries_are_neither_read_nor_chased_however_late_they_are(helpdesk, clock):
    """A query closed before its departments answered keeps its missed dates for ever, but its chase is over:
    no reminder, no warning, no line in the digest, and a tick's reads do not even reach it."""
    service = helpdesk.service
    closed = service.submit_query(QuerySubmission(
        text="What personal protective equipment must an employer provide?", channel=Channel.EMAIL,
        email="ana@coop.example"))
    service.close_query(closed.reference, "the requester found the answer in the Q&A bank")
    still_open = service.submit_query(QuerySubmission(
        text="Can we deduct the cost of uniforms from the workers' wages?", channel=Channel.EMAIL,
        email="ben@shop.example"))
    clock.now += timedelta(days=30)  # both targets and every input date long past
    done = service.chase_overdue_work()
    assert {a.reference for a in done if a.reference} == {still_open.reference}
    with unit_of_work(helpdesk.sessions) as s:
        [morning] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST))
        assert still_open.reference in morning.body and closed.reference not in morning.body
        closed_id = s.scalar(select(Query.id).where(Query.reference == closed.reference))
        today = clock.now.date()
        assert closed_id not in set(s.scalars(due_work(s, chase_policy(helpdesk.policy), today)))
        assert all(closed_id not in set(s.scalars(lines)) for lines in digest_sections(today).values())


def test_a_digest_lists_the_most_urgent_lines_of_each_section_and_how_many_more(helpdesk, clock, monkeypatch):
    """With more open work than a section lists, the digest shows each section's most urgent lines and says how
    many more there are; it reads only the queries it shows, yet says exactly what a digest composed from every
    open query says."""
    monkeypatch.setattr(chase_messages, "DIGEST_LINES", 3)
    service = helpdesk.service
    texts = ["Can we deduct the cost of uniforms from the workers' wages?",
             "What personal protective equipment must an employer provide?",
             "How many weeks of maternity leave must we give our employees?",
             "Is a 15-year-old allowed to work in our cocoa supply chain after school?",
             "Can our supplier stop workers from joining a union?",
             "Should overtime at our garment suppliers be voluntary and paid at a premium?",
             "What is a living wage for plantation workers?"]
    references = []
    for day, text in enumerate(texts):
        references.append(service.submit_query(QuerySubmission(text=text, channel=Channel.EMAIL,
                                                                email=f"r{day}@firm.example")).reference)
        service.extend_target(references[-1], "staggered targets", days=len(texts) - day)  # the last is due first
    clock.now += timedelta(days=30)
    with unit_of_work(helpdesk.sessions) as s:  # as the tick sees them (it counts the reminders it queues after)
        everything = list(snapshot(s, s.scalars(select(Query.id).where(Query.status.in_(OPEN_STATUSES)))).values())
        expected = digest(everything, clock.now, poor_ratings(s, clock.now))
    service.chase_overdue_work()
    with unit_of_work(helpdesk.sessions) as s:
        [morning] = s.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == OutboxKind.DIGEST))
        listed, totals = digest_listing(s, clock.now.date())
        fourth = s.scalar(select(Query.id).where(Query.reference == references[3]))
    assert morning == expected
    # The fourth query is in no section's first three lines (inputs: the first queries'; targets: the last ones')
    assert totals["at_risk"] == 7 and fourth not in listed
    at_risk = morning.split("Replies at risk (7)\n")[1].split("\n\n")[0].splitlines()
    assert at_risk == [f"  - {r} target {service.show_query(r).report.target_reply_date} OVERDUE"
                       for r in reversed(references[-3:])] + ["  ... and 4 more (helpdesk queries, or the console)"]


def test_a_digest_never_counts_a_line_it_does_not_show_when_a_query_moves_while_the_tick_reads(
        helpdesk, clock, monkeypatch):
    """The tick counts a section's lines, then reads the queries it lists, in separate statements; a sender that
    commits between the two (the routing email sent, the query now awaiting inputs) must not leave the digest
    saying "New queries (2)" over one line and "... and 1 more" (seen in `make run`)."""
    service = helpdesk.service
    first, second = (service.submit_query(QuerySubmission(text=text, channel=Channel.EMAIL, email=email)).reference
                     for text, email in (("Can we deduct the cost of uniforms from the workers' wages?", "a@b.example"),
                                         ("What is a living wage for plantation workers?", "c@d.example")))
    read_snapshots = chasing.snapshot

    def routing_email_sent_meanwhile(session, ids):
        with unit_of_work(helpdesk.sessions) as other:  # another thread's unit of work, committed
            query = other.scalar(select(Query).where(Query.reference == second))
            lifecycle.transition(other, query, QueryStatus.AWAITING_INPUTS, reason="routing email sent", at=clock.now)
        return read_snapshots(session, ids)

    monkeypatch.setattr(chasing, "snapshot", routing_email_sent_meanwhile)
    service.chase_overdue_work()
    with unit_of_work(helpdesk.sessions) as s:
        [morning] = s.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == OutboxKind.DIGEST))
    new = morning.split("\n\n")[0].splitlines()
    assert new[0] == "New queries (1)" and new[1].startswith(f"  - {first} ") and len(new) == 2


def test_day_by_day_a_tick_queues_what_every_open_query_calls_for(make_helpdesk, clock, tmp_path):
    """A tick reads only the open work its indexes say is due. Over a month of daily ticks (reminders,
    escalations, a clearance, inputs received, an extended and missed targets, a query held, an undelivered
    acknowledgement, queries answered and closed on the way, holding messages turned on late), it queues
    exactly what ``due_actions`` finds over every open query, less what the outbox already holds, and its
    digest lists what a digest of every open query lists."""
    config = tmp_path / "helpdesk.toml"
    config.write_text(DEFAULT_FILE.read_text(encoding="utf-8").replace("holding_messages = false",
                                                                       "holding_messages = true"), encoding="utf-8")
    helpdesk = make_helpdesk()
    service = helpdesk.service
    refs = [service.submit_query(QuerySubmission(text=text, channel=Channel.EMAIL, email=f"r{i}@coop.example"))
            .reference for i, text in enumerate([
                "What personal protective equipment must an employer provide?",
                "Can we deduct the cost of uniforms from the workers' wages?",
                "Twelve workers were dismissed after registering a trade union. What can we do?",
                "Can we employ 16-year-olds in our packaging plant during the school holidays?",
                "A supplier keeps the passports of its migrant workers. What should we ask it to do?",
                "How many hours of overtime a week are acceptable at a garment supplier?"])]
    held = service.submit_query(QuerySubmission(  # confidential: held, no department consulted
        text="Our supplier's workers sleep in the factory. How should we raise it?", channel=Channel.EMAIL,
        email="r9@coop.example", confidential=True, hold_for_release=True))
    assert held.status == "held"
    with service.unit_of_work() as s:
        acknowledgement = s.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"ack:{held.reference}"))
    service.delivery_failed(acknowledgement, "550 5.1.1 mailbox unavailable", permanent=True)  # in the digest
    service.close_query(refs[0], "answered by phone")
    service.send_reply(refs[1], "maria", "Dear colleague, no: uniforms required by the employer are its cost.")
    service.extend_target(refs[2], "waiting for the ministry's answer", days=10)
    consulted = [c["department"] for c in service.show_query(refs[3]).consultations]
    service.request_clearance(refs[3], consulted, due=clock.now.date() + timedelta(days=2), actor="maria")
    with service.unit_of_work() as s:  # focal points' inputs, as the mail worker records them
        s.scalars(select(Consultation).join(Query).where(Query.reference == refs[5])).first() \
            .input_received_at = clock.now
        query = s.scalar(select(Query).where(Query.reference == refs[4]))
        for consultation in query.consultations:
            consultation.input_received_at = clock.now
        lifecycle.transition(s, query, QueryStatus.DRAFT_READY, at=clock.now, reason="all inputs in")
    start, seen = clock.now, set()
    for day in range(1, 31):
        clock.now = start + timedelta(days=day)
        if day == 12:
            service.send_reply(refs[5], "maria", "Dear colleague, the ILO standards set limits on overtime.")
        if day == 20:  # the helpdesk turns holding messages on: the queries already late get theirs now
            helpdesk = make_helpdesk(config)
            service = helpdesk.service
        with service.unit_of_work() as s:
            everything = list(snapshot(s, s.scalars(select(Query.id).where(Query.status.in_(OPEN_STATUSES))))
                              .values())
            queued = set(s.scalars(select(OutboxMessage.dedupe_key)))
            expected = {a.key: a.kind for a in due_actions(everything, chase_policy(helpdesk.policy), clock.now)
                        if a.key not in queued}
            morning = digest(everything, clock.now, poor_ratings(s, clock.now))
        assert {a.key: a.kind for a in service.chase_overdue_work()} == expected, f"day {day}"
        if "digest" in expected.values():  # and the digest lists what a digest of every open query lists
            with service.unit_of_work() as s:
                assert s.scalar(select(OutboxMessage.body).where(
                    OutboxMessage.dedupe_key == f"digest:{clock.now.date()}")) == morning, f"day {day}"
        seen |= set(expected.values())
    assert seen >= {"reminder", "escalation", "clearance reminder", "warning", "overdue", "holding", "digest"}


def test_a_closed_querys_silent_departments_are_not_read_by_the_tick_until_the_query_reopens(helpdesk, clock):
    """A department that never answered a query the specialist closed is not chased, nor read at every tick for
    ever: the tick's index of awaited inputs holds only the consultations of open queries. When the requester
    writes again and the query reopens, its consultations are chased again."""
    service = helpdesk.service
    ref = service.submit_query(QuerySubmission(
        text="Can we deduct the cost of uniforms from the workers' wages?", channel=Channel.EMAIL,
        email="rosa@coop.example")).reference

    def consultations_of_an_open_query() -> set[bool]:
        with service.unit_of_work() as s:
            return set(s.scalars(select(Consultation.query_open).join(Query).where(Query.reference == ref)))

    assert consultations_of_an_open_query() == {True}
    service.close_query(ref, "answered by phone")
    assert consultations_of_an_open_query() == {False}

    clock.now += timedelta(days=30)  # every input long overdue
    assert [a for a in service.chase_overdue_work() if a.reference == ref] == []

    with service.unit_of_work() as s:
        service.follow_up(s, s.scalar(select(Query).where(Query.reference == ref)), now=clock.now,
                          text="One more question on the uniforms, please.", sender="rosa@coop.example",
                          from_requester=True)
    assert consultations_of_an_open_query() == {True}
    assert {"reminder", "escalation"} & {a.kind for a in service.chase_overdue_work() if a.reference == ref}
