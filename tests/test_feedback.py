"""Asking requesters whether the reply was useful: once with the reply, one reminder at most when the
helpdesk turns it on, on the reply's channel; poor ratings reach the specialist's digest and the query page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kb.chasing import AwaitingFeedback, feedback_reminders
from kb.intake import QuerySubmission
from kb.models import Channel, OutboxKind, OutboxMessage

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the rules are the store's either way
REPLIED = date(2026, 3, 2)


def waiting(reference="HD-2026-0001", replied=REPLIED):
    return AwaitingFeedback(reference, "fr", "email", "ana@coop.example", replied)


@pytest.mark.parametrize("today, due", [
    (REPLIED + timedelta(days=6), False),   # not yet
    (REPLIED + timedelta(days=7), True),    # the day it falls due
    (REPLIED + timedelta(days=21), True),   # still within the two weeks after
    (REPLIED + timedelta(days=22), False),  # too old: turning the option on never writes to old requesters
])
def test_a_feedback_reminder_falls_due_a_week_after_the_reply_and_not_for_old_replies(today, due):
    assert bool(feedback_reminders([waiting()], 7, today)) is due
    assert feedback_reminders([waiting()], 0, today) == []  # off by default


def answered(service, *, channel=Channel.EMAIL, text="Who pays for personal protective equipment?"):
    extra = {"telegram_chat_id": 77, "name": "Sam"} if channel is Channel.TELEGRAM else \
        {"email": "ana@coop.example", "language": "fr"}
    report = service.submit_query(QuerySubmission(text=text, channel=channel, **extra))
    service.send_reply(report.reference, "maria", "Dear Ana, the employer pays. Kind regards")
    return report.reference


def outbox(helpdesk, kind):
    with helpdesk.service.unit_of_work() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


@SQLITE
def test_reminders_are_off_by_default(helpdesk, clock):
    answered(helpdesk.service)
    clock.now += timedelta(days=8)
    helpdesk.service.chase_overdue_work()
    assert outbox(helpdesk, OutboxKind.FEEDBACK) == []


@SQLITE
def test_a_requester_who_did_not_rate_is_reminded_once_on_the_replys_channel(make_helpdesk, clock, tmp_path):
    from config.settings import DEFAULT_FILE

    config = tmp_path / "helpdesk.toml"
    config.write_text(DEFAULT_FILE.read_text(encoding="utf-8").replace("feedback_reminder_days = 0",
                                                                        "feedback_reminder_days = 7"), encoding="utf-8")
    helpdesk = make_helpdesk(config)
    service = helpdesk.service
    by_email = answered(service)
    by_telegram = answered(service, channel=Channel.TELEGRAM, text="who pays for safety boots on our site?")
    rated = answered(service, text="Can we deduct uniforms from wages?")
    service.record_feedback(rated, 4, actor="ana@coop.example")

    clock.now += timedelta(days=6)
    service.chase_overdue_work()
    assert outbox(helpdesk, OutboxKind.FEEDBACK) == []
    clock.now += timedelta(days=1)
    service.chase_overdue_work()
    clock.now += timedelta(days=3)
    service.chase_overdue_work()  # never twice
    reminders = {m.query_id: m for m in outbox(helpdesk, OutboxKind.FEEDBACK)}
    assert len(reminders) == 2
    [email] = [m for m in reminders.values() if m.channel is Channel.EMAIL]
    [chat] = [m for m in reminders.values() if m.channel is Channel.TELEGRAM]
    assert email.recipients == ["ana@coop.example"] and "utile" in email.subject and by_email in email.subject
    assert chat.recipients == ["77"] and by_telegram in chat.body
    history = [e["kind"] for e in service.show_query(by_email).history]
    assert history.count("feedback reminder") == 1


@SQLITE
def test_a_poor_rating_reaches_the_digest_and_shows_on_the_query_page(helpdesk, clock):
    service = helpdesk.service
    reference = answered(service)
    service.record_feedback(reference, 2, "Too general, it did not address our country.", actor="ana@coop.example")
    clock.now = clock.now.replace(hour=9) + timedelta(days=1)
    service.chase_overdue_work()
    [digest] = [m for m in outbox(helpdesk, OutboxKind.DIGEST)]
    assert f"{reference} rated 2/5: Too general, it did not address our country." in digest.body
    page = service.console_query(reference)
    assert page.feedback[0]["rating"] == 2 and "Too general" in page.feedback[0]["comment"]


@pytest.mark.parametrize("answer, mark, comment", [
    ("Useful, thank you!", 5, "thank you"),
    ("Very helpful", 5, None),
    ("Not useful: it ignores Peruvian law", 1, "it ignores Peruvian law"),
    ("Partly useful - we needed more on subcontractors", 3, "we needed more on subcontractors"),
    ("Pas utile, désolé", 1, "désolé"),
    ("Très utile, merci", 5, "merci"),
    ("En partie utile", 3, None),
    ("Muy útil, gracias", 5, "gracias"),
    ("No nos fue útil", 1, None),
    ("Parcialmente útil: falta el caso de Perú", 3, "falta el caso de Perú"),
    ("4 - very clear", 4, "very clear"),
])
def test_an_emailed_verdict_in_english_french_or_spanish_is_feedback(answer, mark, comment):
    from kb.feedback import read_rating

    assert read_rating(answer) == __import__("kb.feedback", fromlist=["Rating"]).Rating(mark, comment)


@pytest.mark.parametrize("answer", [
    "Useful, but can we also employ 15-year-olds in the packing hall?",
    "Is it useful to register our union first?",
    "We found the reply useful and now have a new situation: our supplier in Peru has closed the plant and the "
    "workers have not been paid for three months, and the union says the buyer is responsible for the wages. "
    "What should we do next, and who should we talk to first?",
])
def test_a_new_question_that_mentions_usefulness_is_not_feedback(answer):
    from kb.feedback import read_rating

    assert read_rating(answer) is None
