"""The whole story across the real peers: Dovecot, aiosmtpd and the Telegram Bot API server."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from ingest.imap import ImapSettings, MailboxIngestor
from ingest.smtp import OutboxSender, SmtpSettings

from bot.conversation import ChatDesk
from kb.db import unit_of_work
from kb.models import Consultation, OutboxMessage
from tests.test_email_channel import mail
from tests.test_telegram_bot import SPECIALIST, Bot, press


@pytest.mark.asyncio
async def test_query_by_email_is_chased_answered_by_its_focal_point_and_replied(helpdesk, dovecot, smtp_sink, api,
                                                                                clock):
    helpdesk.policy = helpdesk.service.policy = replace(helpdesk.policy, specialist_chats=(SPECIALIST,))
    service = helpdesk.service
    ingestor = MailboxIngestor(ImapSettings(host="127.0.0.1", port=dovecot.port, username="test",
                                            password="testpass", security="plain"), service)
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, security="plain"), service)

    bot = await Bot(ChatDesk(service), api).start()
    try:
        # A query arrives by email and is routed; the focal points get their emails.
        dovecot.append(mail("Can we employ 16-year-olds in our packaging plant?"))
        assert ingestor.run_once().outcomes == {"query": 1}
        sender.send_due()
        [routing] = smtp_sink.to("childlabour.focal@example.org")

        # The focal point stays silent past the due date: a reminder goes out, once.
        clock.now += timedelta(days=6)
        helpdesk.service.chase_overdue_work()
        helpdesk.service.chase_overdue_work()
        sender.send_due()
        reminders = [m for m in smtp_sink.to("childlabour.focal@example.org") if "Reminder 1" in m["Subject"]]
        assert len(reminders) == 1

        # The focal point replies: the input is recorded and the chase stops.
        dovecot.append(mail("Light work only; no machinery before 18.", sender="childlabour.focal@example.org",
                            subject=f"Re: {routing['Subject']}", in_reply_to=routing["Message-ID"]))
        assert ingestor.run_once().outcomes == {"input": 1}
        clock.now += timedelta(days=3)
        later = helpdesk.service.chase_overdue_work()
        assert not any(a.department == "CHILD_LABOUR" for a in later)
        with unit_of_work(helpdesk.sessions) as s:
            c = s.scalar(select(Consultation).where(Consultation.department_code == "CHILD_LABOUR"))
            assert c.reminders_sent == 1 and c.input_received_at is not None

        # The specialist sends the reply from Telegram; the requester gets it by email.
        from bot.app import deliver_outbox

        await deliver_outbox(bot.app)
        assert any(t.startswith("HD-2026-0001 — new query") for t in api.texts_to(SPECIALIST))
        [sent] = await press(api, SPECIALIST, "send:HD-2026-0001")
        assert sent == "HD-2026-0001: reply queued to the requester."
        sender.send_due()
        [reply] = [m for m in smtp_sink.to("jane@acme.example") if m["Subject"].startswith("Re: [HD-2026-0001]")]
        assert "Convention No. 138" in reply.get_content()
        with unit_of_work(helpdesk.sessions) as s:
            assert s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reply")).sent_at is not None
    finally:
        await bot.stop()
