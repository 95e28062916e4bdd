"""Every approved reply reaches the requester exactly once; a requester's mark is feedback, not a new
question; a reply that can never be delivered comes back to the specialist. Against real Dovecot and
aiosmtpd, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ingest.smtp import OutboxSender, SmtpSettings
from kb.db import unit_of_work
from kb.models import Feedback, OutboxKind, OutboxMessage, Query
from tests.peers.mail import SmtpSink
from tests.test_email_channel import mail

JANE = "jane@acme.example"


def smtp(sink, helpdesk) -> OutboxSender:
    return OutboxSender(SmtpSettings(host="127.0.0.1", port=sink.port, security="plain"), helpdesk.service)


def replies_to(sink, address=JANE):
    return [m for m in sink.to(address) if m["Subject"].startswith("Re: [HD-")]


def status(helpdesk) -> str:
    with unit_of_work(helpdesk.sessions) as s:
        return s.scalar(select(Query)).status.value


def test_a_second_reply_after_the_requester_writes_again_reaches_them_too(dovecot, ingestor, smtp_sink, helpdesk):
    service = helpdesk.service
    dovecot.append(mail("Can we employ 16-year-olds in our packaging plant?"))
    assert ingestor.run_once().outcomes == {"query": 1}
    service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nYes, for light work only.")
    smtp(smtp_sink, helpdesk).send_due()
    [first] = replies_to(smtp_sink)

    # Jane writes again in the thread: the query reopens, and the specialist answers again.
    dovecot.append(mail("Thank you. And may they work at night?", subject=f"Re: {first['Subject']}",
                        in_reply_to=first["Message-ID"]))
    assert ingestor.run_once().outcomes == {"follow_up": 1}
    assert status(helpdesk) == "reopened"
    service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nNo: night work is prohibited under 18.")
    smtp(smtp_sink, helpdesk).send_due()
    smtp(smtp_sink, helpdesk).send_due()  # a second pass sends nothing twice

    bodies = [m.get_content() for m in replies_to(smtp_sink)]
    assert len(bodies) == 2
    assert "light work only" in bodies[0] and "night work is prohibited" in bodies[1]
    assert status(helpdesk) == "answered"


@pytest.mark.parametrize("answer,mark", [("4 - very clear, thank you", 4), ("5", 5), ("Note : 3. Un peu long.", 3)])
def test_a_mark_in_answer_to_the_reply_is_recorded_as_feedback_and_never_reopens(dovecot, ingestor, smtp_sink,
                                                                                 helpdesk, answer, mark):
    dovecot.append(mail("Who pays for personal protective equipment?"))
    ingestor.run_once()
    helpdesk.service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nThe employer does.")
    smtp(smtp_sink, helpdesk).send_due()
    [reply] = replies_to(smtp_sink)
    quoted = "\n".join("> " + line for line in reply.get_content().splitlines())
    dovecot.append(mail(f"{answer}\n\nOn Monday, the helpdesk wrote:\n{quoted}", subject=f"Re: {reply['Subject']}",
                        in_reply_to=reply["Message-ID"]))
    assert ingestor.run_once().outcomes == {"feedback": 1}
    assert status(helpdesk) == "answered"
    with unit_of_work(helpdesk.sessions) as s:
        [feedback] = s.scalars(select(Feedback))
        assert feedback.rating == mark
    smtp(smtp_sink, helpdesk).send_due()
    assert len(replies_to(smtp_sink)) == 1  # nothing was acknowledged or sent back for a rating


def test_a_question_in_answer_to_the_reply_reopens_even_with_a_number_in_it(dovecot, ingestor, smtp_sink, helpdesk):
    dovecot.append(mail("Who pays for personal protective equipment?"))
    ingestor.run_once()
    helpdesk.service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nThe employer does.")
    smtp(smtp_sink, helpdesk).send_due()
    [reply] = replies_to(smtp_sink)
    dovecot.append(mail("Thanks. We have 3 sites: does it apply to contractors too?",
                        subject=f"Re: {reply['Subject']}", in_reply_to=reply["Message-ID"]))
    assert ingestor.run_once().outcomes == {"follow_up": 1}
    assert status(helpdesk) == "reopened"


class RefusingSink(SmtpSink):
    """An SMTP server that refuses one recipient, for good (550) or for now (450)."""

    def __init__(self, refused: str, code: int) -> None:
        super().__init__()
        self.refused, self.code = refused, code

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return f"{self.code} 5.1.1 <{address}>: mailbox unavailable" if self.code >= 500 else \
                f"{self.code} 4.2.1 <{address}>: mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self


def test_a_reply_the_mail_server_refuses_for_good_comes_back_to_the_specialist(dovecot, ingestor, helpdesk, clock):
    dovecot.append(mail("Who pays for personal protective equipment?"))
    ingestor.run_once()
    helpdesk.service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nThe employer does.")
    sink = RefusingSink(JANE, 550).start()
    try:
        report = smtp(sink, helpdesk).send_due()
        # The acknowledgement and the reply to Jane fail for good; the routing emails still go out.
        assert (report.given_up, report.sent) == (2, 3)
        clock.now += timedelta(hours=3)
        assert smtp(sink, helpdesk).send_due().failed == 0  # not retried
    finally:
        sink.stop()
    assert status(helpdesk) == "draft_ready"
    detail = helpdesk.service.show_query("HD-2026-0001")
    [failed] = [o for o in detail.outbox if o["kind"] == "reply"]
    assert failed["failed_at"] and "550" in failed["error"] and failed["attempts"] == 1
    assert any(e["kind"] == "delivery failed" for e in detail.history)
    # The next digest tells the specialist.
    clock.now = clock.now.replace(hour=9) + timedelta(days=1)
    helpdesk.service.chase_overdue_work()
    with unit_of_work(helpdesk.sessions) as s:
        digest = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DIGEST))
        assert "Undelivered messages (check the address, then reply again) (2)" in digest.body
        assert "HD-2026-0001 reply to email:jane@acme.example: jane@acme.example refused: 550 5.1.1" in digest.body


def test_a_reply_refused_for_now_is_retried_later_and_then_delivered(dovecot, ingestor, helpdesk, clock):
    dovecot.append(mail("Who pays for personal protective equipment?"))
    ingestor.run_once()
    helpdesk.service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nThe employer does.")
    busy = RefusingSink(JANE, 450).start()
    try:
        report = smtp(busy, helpdesk).send_due()
        assert (report.failed, report.given_up) == (2, 0)  # the acknowledgement and the reply wait
    finally:
        busy.stop()
    assert status(helpdesk) == "answered"
    clock.now += timedelta(minutes=5)
    sink = SmtpSink().start()
    try:
        assert smtp(sink, helpdesk).send_due().sent == 2
        assert len(replies_to(sink)) == 1
    finally:
        sink.stop()
