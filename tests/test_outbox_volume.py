"""Mail at volume: one `helpdesk send-mail` delivers everything due, over one SMTP connection, and a
server that drops the connection mid-way loses nothing and doubles nothing. Against aiosmtpd, on both
databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ingest.smtp import OutboxSender, SmtpSettings
from kb.models import Channel, OutboxKind, OutboxMessage
from kb.outbox import queue
from kb.service import utc_now
from tests.peers.mail import SmtpSink

QUEUED = 300


class CountingSink(SmtpSink):
    """The test SMTP server, counting the SMTP sessions (one EHLO each) it was opened for."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses


class DroppingSink(CountingSink):
    """Drops the connection, without a word, at the MAIL command after every ``every`` accepted messages."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every, self.drops, self._accepted_here = every, 0, {}

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self._accepted_here.get(id(session), 0) >= self.every:
            self.drops += 1
            server.transport.close()
            return "421 4.3.2 going away"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self._accepted_here[id(session)] = self._accepted_here.get(id(session), 0) + 1
        return await super().handle_DATA(server, session, envelope)


class ClosingSink(CountingSink):
    """Answers 421 (closing the channel) at the MAIL command after every ``every`` accepted messages."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every, self._accepted_here = every, {}

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self._accepted_here.get(id(session), 0) >= self.every:
            return "421 4.7.0 too many messages in this session, closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self._accepted_here[id(session)] = self._accepted_here.get(id(session), 0) + 1
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sinks():
    started: list[SmtpSink] = []

    def start(sink: SmtpSink) -> SmtpSink:
        started.append(sink.start())
        return sink

    yield start
    for sink in started:
        sink.stop()


def queue_emails(helpdesk, n: int = QUEUED) -> None:
    """``n`` acknowledgements, due since a minute ago."""
    service = helpdesk.service
    now = service.clock()
    due = now - timedelta(minutes=1)
    with service.unit_of_work() as session:
        for i in range(n):
            queue(session, dedupe_key=f"volume:{i}", kind=OutboxKind.ACKNOWLEDGEMENT, channel=Channel.EMAIL,
                  recipients=[f"Person {i} <person{i}@company.example>"], subject=f"Your question {i} was received",
                  body=f"Dear person {i},\n\nThank you.\n", now=now, domain=service.policy.domain, due_at=due,
                  fresh=True)


def sent_and_pending(helpdesk) -> tuple[int, int]:
    with helpdesk.service.unit_of_work() as session:
        sent = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_not(None)))
        pending = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None)))
        return sent, pending


def subjects(sink: SmtpSink) -> list[str]:
    return [m["Subject"] for _, _, m in sink.messages]


def test_one_send_mail_delivers_everything_due_over_one_connection(cli, helpdesk, sinks, monkeypatch, clock):
    clock.now = utc_now()  # the command runs on the real clock
    queue_emails(helpdesk)
    sink = sinks(CountingSink())
    monkeypatch.setenv("HELPDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HELPDESK_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("HELPDESK_SMTP_SECURITY", "plain")

    result = cli("send-mail")

    assert result.exit_code == 0, result.output
    assert f"outbox: {QUEUED} sent, 0 failed" in result.output
    assert sorted(subjects(sink)) == sorted(f"Your question {i} was received" for i in range(QUEUED))
    assert sink.sessions == 1
    assert sent_and_pending(helpdesk) == (QUEUED, 0)
    assert "outbox: 0 sent, 0 failed" in cli("send-mail").output and len(sink.messages) == QUEUED


@pytest.mark.parametrize("sink_class", [DroppingSink, ClosingSink])
def test_a_server_that_drops_the_connection_mid_batch_loses_nothing_and_doubles_nothing(helpdesk, sinks,
                                                                                        sink_class):
    queue_emails(helpdesk)
    sink = sinks(sink_class(every=70))
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=sink.port, security="plain", timeout=5),
                          helpdesk.service)

    report = sender.send_due()

    assert (report.sent, report.failed) == (QUEUED, 0)
    assert len(subjects(sink)) == len(set(subjects(sink))) == QUEUED
    assert sink.sessions == 5  # 70 + 70 + 70 + 70 + 20, one reconnection at each drop
    assert sent_and_pending(helpdesk) == (QUEUED, 0)
    with helpdesk.service.unit_of_work() as session:
        assert set(session.scalars(select(OutboxMessage.attempts))) == {1}


def test_a_server_that_drops_every_connection_stops_the_pass_and_the_rest_waits(helpdesk, sinks, clock):
    queue_emails(helpdesk)
    broken = sinks(DroppingSink(every=0))
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=broken.port, security="plain", timeout=5),
                          helpdesk.service)

    report = sender.send_due()

    assert report.sent == 0 and broken.messages == [] and broken.drops == 4  # two rows, two tries each
    assert 0 < report.failed < QUEUED and report.given_up == 0
    with helpdesk.service.unit_of_work() as session:
        tried = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.attempts == 1))
        assert tried == report.failed  # the rows not claimed were not tried: they wait for the next pass

    clock.now += timedelta(hours=3)  # past every backoff
    sink = sinks(CountingSink())
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=sink.port, security="plain"), helpdesk.service)
    assert sender.send_due().sent == QUEUED and sink.sessions == 1
    assert len(set(subjects(sink))) == len(sink.messages) == QUEUED


def test_a_refused_row_in_a_large_batch_fails_alone_and_the_others_go_out(helpdesk, sinks):
    queue_emails(helpdesk)

    class Refusing(CountingSink):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in ("person7@company.example", "person250@company.example"):
                return "550 5.1.1 mailbox unavailable" if address.startswith("person7@") else "450 4.2.1 busy"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    sink = sinks(Refusing())
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=sink.port, security="plain"), helpdesk.service)
    report = sender.send_due()
    assert (report.sent, report.failed, report.given_up) == (QUEUED - 2, 2, 1)
    assert sink.sessions == 1 and len(sink.messages) == QUEUED - 2
