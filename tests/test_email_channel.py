"""The email channel against a real Dovecot (IMAP) and a real aiosmtpd (SMTP), on both databases."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from ingest.imap import ImapSettings, MailboxIngestor
from ingest.smtp import OutboxSender, SmtpSettings
from kb.db import unit_of_work
from kb.models import Attachment, Consultation, OutboxMessage, Query, RawEmail
from tests.peers.mail import CuttingProxy, SmtpSink, free_port


def mail(text="Can we employ 16-year-olds in our packaging plant?", *, subject="Young workers",
         sender="Jane Osei <jane@acme.example>", html=None, charset="utf-8", in_reply_to=None,
         headers=None, attachment=None) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "helpdesk@example.org", subject
    m["Message-ID"] = make_msgid(domain="acme.example")
    if in_reply_to:
        m["In-Reply-To"] = m["References"] = in_reply_to
    for k, v in (headers or {}).items():
        m[k] = v
    if html is not None:
        m.set_content(html, subtype="html")
    else:
        m.set_content(text, charset=charset)
    if attachment:
        name, ctype, data = attachment
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes(policy=SMTP)  # CRLF, as on the wire and in the mailbox


def raw_mail(body: bytes, *, charset: str, subject: bytes = b"Heures", msgid: bytes = b"<r1@x.example>") -> bytes:
    return (b"From: Karim <karim@atlas.example>\r\nTo: helpdesk@example.org\r\nSubject: " + subject +
            b"\r\nMessage-ID: " + msgid + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=" +
            charset.encode() + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n")


@pytest.fixture
def sender(smtp_sink, helpdesk):
    return OutboxSender(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, security="plain"), helpdesk.service)


def queries(helpdesk) -> list[Query]:
    with unit_of_work(helpdesk.sessions) as s:
        rows = list(s.scalars(select(Query).order_by(Query.id)))
        for q in rows:
            _ = q.messages, q.consultations, q.events, q.requester
        return rows


def count(helpdesk, column) -> int:
    with unit_of_work(helpdesk.sessions) as s:
        return s.scalar(select(func.count(column)))


def test_email_query_is_routed_acknowledged_and_marked_done(dovecot, ingestor, sender, smtp_sink, helpdesk):
    dovecot.append(mail())
    report = ingestor.run_once()
    assert report.outcomes == {"query": 1}
    [query] = queries(helpdesk)
    assert query.reference == "HD-2026-0001" and query.requester.name == "Jane Osei"
    assert b"$HelpdeskDone" in dovecot.flags()[1] and b"\\Seen" in dovecot.flags()[1]

    assert sender.send_due().sent == len(query.consultations) + 1
    [ack] = smtp_sink.to("jane@acme.example")
    assert ack["Subject"] == "[HD-2026-0001] We have received your query"
    assert ack["Auto-Submitted"] == "auto-replied" and ack["In-Reply-To"] == query.messages[0].email_message_id
    assert ack["Message-ID"].endswith("@example.org>")
    [routing] = smtp_sink.to("childlabour.focal@example.org")
    assert routing["Subject"].startswith("[HD-2026-0001] Input requested by")
    assert routing["Reply-To"] == "helpdesk@example.org"
    assert "Topics found: Child labour" in routing.get_content()
    assert queries(helpdesk)[0].status.value == "awaiting_inputs"
    assert sender.send_due().sent == 0  # nothing goes out twice


def test_html_only_email_is_read_as_text(dovecot, ingestor, helpdesk):
    dovecot.append(mail(html="<html><body><p>What personal <b>protective equipment</b> must an employer "
                             "provide free of charge?</p><p>Thanks</p></body></html>"))
    ingestor.run_once()
    [query] = queries(helpdesk)
    assert "protective equipment must an employer" in query.text and "<b>" not in query.text
    assert query.triage["topics"][0]["code"] == "osh"


def test_attachment_is_stored_with_its_name_and_type(dovecot, ingestor, helpdesk):
    pdf = b"%PDF-1.4 audit report " * 100
    dovecot.append(mail("Please see the attached audit: workers at our supplier are paid two months late.",
                        attachment=("audit.pdf", "application/pdf", pdf)))
    ingestor.run_once()
    with unit_of_work(helpdesk.sessions) as s:
        [a] = s.scalars(select(Attachment))
        assert (a.filename, a.content_type, a.data) == ("audit.pdf", "application/pdf", pdf)


@pytest.mark.parametrize(("body", "charset", "expected"), [
    ("Les salariés de notre filiale ont-ils droit à des congés payés ?".encode("iso-8859-1"), "iso-8859-1",
     "salariés de notre filiale"),
    ("Nos ouvriers reçoivent 5 € de prime – est-ce un « salaire » suffisant ?".encode("cp1252"), "windows-1252",
     "5 € de prime – est-ce un « salaire »"),
    ("Sécurité au travail : qui paie les équipements ?".encode("iso-8859-1"), "utf-8", "Sécurité au travail"),
    ("Sécurité au travail : qui paie les équipements ?".encode("utf-8"), "x-unknown-charset", "Sécurité au travail"),
], ids=["latin-1", "windows-1252", "declared-utf8-but-latin1", "unknown-label"])
def test_accents_survive_any_charset_label(dovecot, ingestor, helpdesk, body, charset, expected):
    dovecot.append(raw_mail(body, charset=charset))
    assert ingestor.run_once().outcomes == {"query": 1}
    assert expected in queries(helpdesk)[0].text


def test_requester_reply_is_threaded_by_header_not_a_new_query(dovecot, ingestor, sender, helpdesk):
    dovecot.append(mail())
    ingestor.run_once()
    sender.send_due()
    ack_id = next(o for o in _outbox(helpdesk) if o.kind.value == "acknowledgement").email_message_id
    dovecot.append(mail("Also: the plant works at night in the harvest season.\n\nOn Monday you wrote:\n> ...",
                        subject="Re: We have received your query", in_reply_to=ack_id))
    assert ingestor.run_once().outcomes == {"follow_up": 1}
    [query] = queries(helpdesk)
    assert [m.direction.value for m in query.messages if m.direction.value == "in"] == ["in", "in"]
    assert any(e.kind == "follow-up" for e in query.events)


def test_a_reference_in_the_subject_alone_attaches_nothing_to_that_query(dovecot, ingestor, helpdesk):
    """References are sequential: anyone can type one. Only a reply to a helpdesk email joins a query."""
    dovecot.append(mail())
    ingestor.run_once()
    dovecot.append(mail("One more detail about our question.", subject="About [HD-2026-0001] young workers",
                        sender="Mallory <mallory@elsewhere.example>"))
    assert ingestor.run_once().outcomes == {"query": 1}
    first, second = queries(helpdesk)
    assert [m.body for m in first.messages] == ["Can we employ 16-year-olds in our packaging plant?"]
    notes = [e.detail for e in second.events if e.kind == "note"]
    assert notes == ["names HD-2026-0001 but does not reply to a helpdesk email: not attached to that query"]


def test_focal_point_reply_is_recorded_as_the_departments_input(dovecot, ingestor, sender, helpdesk):
    dovecot.append(mail())
    ingestor.run_once()
    sender.send_due()
    routing = next(o for o in _outbox(helpdesk) if "childlabour.focal@example.org" in o.recipients)
    dovecot.append(mail("Light work from 13 is allowed; machinery is hazardous work, so not before 18.\n\n"
                        "Samuel\n\nOn Mon, 2 Mar 2026, Helpdesk wrote:\n> The helpdesk has received query",
                        sender="Samuel Mensah <childlabour.focal@example.org>",
                        subject=f"Re: {routing.subject}", in_reply_to=routing.email_message_id))
    assert ingestor.run_once().outcomes == {"input": 1}
    with unit_of_work(helpdesk.sessions) as s:
        c = s.scalar(select(Consultation).where(Consultation.department_code == "CHILD_LABOUR"))
        assert c.input_received_at is not None
        assert c.inputs[0].text.startswith("Light work from 13") and "> The helpdesk" not in c.inputs[0].text


def test_out_of_office_reply_creates_nothing_and_gets_no_answer(dovecot, ingestor, sender, smtp_sink, helpdesk):
    dovecot.append(mail("I am out of the office until Monday.", subject="Automatic reply: Input requested",
                        headers={"Auto-Submitted": "auto-replied"}))
    dovecot.append(mail("I am away.", subject="Out of Office: your query"))
    assert ingestor.run_once().outcomes == {"automatic": 2}
    assert queries(helpdesk) == [] and sender.send_due().sent == 0 and smtp_sink.messages == []


def bounce_of(sent: OutboxMessage, address: str = "childlabour.focal@example.org", number: int = 1) -> bytes:
    """The receiving server's delivery report on one of our emails: ``address`` does not exist."""
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: helpdesk@example.org\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce%d@mx.example.org>\r\n" % number +
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; " + address.encode() + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: " + sent.email_message_id.encode() +
        b"\r\nSubject: " + sent.subject.encode() + b"\r\n--B--\r\n")


def test_bounce_of_a_routing_email_is_flagged_to_the_specialist(dovecot, ingestor, sender, helpdesk):
    dovecot.append(mail())
    ingestor.run_once()
    sender.send_due()
    routing = next(o for o in _outbox(helpdesk) if "childlabour.focal@example.org" in o.recipients)
    dovecot.append(bounce_of(routing))
    assert ingestor.run_once().outcomes == {"bounce": 1}
    [query] = queries(helpdesk)
    assert any(e.kind == "bounce" and "childlabour.focal@example.org" in e.detail for e in query.events)
    # The department never got the query: its consultation says so, and the specialist is told at once.
    [consultation] = [c for c in helpdesk.service.show_query(query.reference).consultations
                      if c["department"] == "CHILD_LABOUR"]
    assert consultation["bounced_at"] and consultation["bounce"] == \
        "routing email to childlabour.focal@example.org bounced"
    [warning] = [o for o in _outbox(helpdesk) if o.dedupe_key.startswith("bounce:")]
    assert warning.recipients == [helpdesk.policy.specialist_address] and query.reference in warning.subject
    assert "CHILD_LABOUR department may not have received the query" in warning.body
    # The same address bouncing again (a second report of it) does not tell her twice.
    dovecot.append(bounce_of(routing, number=2))
    assert ingestor.run_once().outcomes == {"bounce": 1}
    assert len([o for o in _outbox(helpdesk) if o.dedupe_key.startswith("bounce:")]) == 1


def test_a_bounced_reply_tells_the_specialist_the_requester_has_not_received_it(dovecot, ingestor, sender,
                                                                             helpdesk):
    dovecot.append(mail())
    ingestor.run_once()
    [query] = queries(helpdesk)
    helpdesk.service.send_reply(query.reference, "maria", "Dear Jane,\n\nLight work only.", without_clearance="test")
    sender.send_due()
    reply = next(o for o in _outbox(helpdesk) if o.kind.value == "reply")
    dovecot.append(bounce_of(reply, "jane@acme.example"))
    assert ingestor.run_once().outcomes == {"bounce": 1}
    [warning] = [o for o in _outbox(helpdesk) if o.dedupe_key.startswith("bounce:")]
    assert "reply email to jane@acme.example bounced" in warning.body
    assert "The requester has not received the reply" in warning.body
    assert not any(c["bounced_at"] for c in helpdesk.service.show_query(query.reference).consultations)


def test_a_delayed_delivery_report_is_noted_but_flags_nothing(dovecot, ingestor, sender, helpdesk):
    dovecot.append(mail())
    ingestor.run_once()
    sender.send_due()
    routing = next(o for o in _outbox(helpdesk) if "childlabour.focal@example.org" in o.recipients)
    delayed = bounce_of(routing).replace(b"Action: failed\r\nStatus: 5.1.1", b"Action: delayed\r\nStatus: 4.4.7")
    dovecot.append(delayed)
    assert ingestor.run_once().outcomes == {"bounce": 1}
    [query] = queries(helpdesk)
    assert any(e.kind == "bounce" and "delayed" in e.detail for e in query.events)
    assert not any(c["bounced_at"] for c in helpdesk.service.show_query(query.reference).consultations)
    assert not [o for o in _outbox(helpdesk) if o.dedupe_key.startswith("bounce:")]


def test_the_same_email_delivered_twice_is_stored_once(dovecot, ingestor, helpdesk):
    message = mail()
    dovecot.append(message, message)
    assert ingestor.run_once().outcomes == {"query": 1, "duplicate": 1}
    assert len(queries(helpdesk)) == 1
    assert all(b"$HelpdeskDone" in f for f in dovecot.flags().values())


def test_server_closing_mid_fetch_loses_and_doubles_nothing(dovecot, helpdesk):
    dovecot.append(*[mail(f"Question {i}: how many days of paid annual leave are required?") for i in range(6)])
    proxy = CuttingProxy(dovecot.port, cut_after=2500)
    settings = ImapSettings(host="127.0.0.1", port=proxy.port, username="test", password="testpass",
                            security="plain", timeout=5, batch=2)
    ingestor = MailboxIngestor(settings, helpdesk.service)
    try:
        with pytest.raises(Exception):
            ingestor.run_once()
        ingestor.close()
        ingestor.run_once()  # the proxy lets the second connection through
    finally:
        ingestor.close()
        proxy.close()
    assert len(queries(helpdesk)) == 6
    assert all(b"$HelpdeskDone" in f for f in dovecot.flags().values())


def test_restart_after_a_crash_between_commit_and_flag_neither_loses_nor_doubles(dovecot, ingestor, helpdesk):
    """The crash leaves a stored message unflagged on the server; the restart stores it once and flags it."""
    dovecot.append(mail(), mail("What is the maximum number of working hours per week?"))
    with dovecot.client() as c:
        status = c.select_folder("INBOX")
        raw = c.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"]
    assert helpdesk.service.store_fetched("INBOX", int(status[b"UIDVALIDITY"]), [(1, raw)]) == 1
    assert b"$HelpdeskDone" not in dovecot.flags()[1]  # committed, then "killed" before flagging

    report = ingestor.run_once()
    assert report.stored == 1 and report.outcomes == {"query": 2}
    assert len(queries(helpdesk)) == 2
    assert all(b"$HelpdeskDone" in f for f in dovecot.flags().values())
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(func.count(RawEmail.id))) == 2


def test_mail_queued_while_smtp_is_down_goes_out_once_when_it_is_back(dovecot, ingestor, helpdesk, clock):
    dovecot.append(mail())
    ingestor.run_once()
    port = free_port()
    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=port, security="plain", timeout=2), helpdesk.service)
    down = sender.send_due()
    assert down.sent == 0 and down.failed == 4
    assert sender.send_due().failed == 0  # backing off: not retried at once
    assert all(o.attempts == 1 and o.last_error for o in _outbox(helpdesk))

    sink = SmtpSink(port).start()
    try:
        clock.now += timedelta(minutes=1)
        assert sender.send_due().sent == 4
        clock.now += timedelta(hours=3)
        assert sender.send_due().sent == 0
    finally:
        sink.stop()
    assert len(sink.messages) == 4
    assert len({m["Message-ID"] for _, _, m in sink.messages}) == 4


def test_email_in_an_unsupported_language_gets_a_polite_refusal(dovecot, ingestor, sender, smtp_sink, helpdesk):
    dovecot.append(mail("Dürfen wir sechzehnjährige Jugendliche in unserem Verpackungswerk beschäftigen?"))
    assert ingestor.run_once().outcomes == {"rejected": 1}
    assert queries(helpdesk) == []
    sender.send_due()
    [notice] = smtp_sink.to("jane@acme.example")
    assert "English, French" in notice.get_content() or "en, fr, es" in notice.get_content()


HOSTILE = {
    "broken-mime": (b"From: x@bad.example\r\nSubject: broken\r\nMessage-ID: <b1@bad.example>\r\nMIME-Version: 1.0\r\n"
                    b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n", "broken MIME"),
    "no-message-id": (b"From: x@bad.example\r\nSubject: hello\r\n\r\nWhat is the minimum wage?\r\n",
                      "no Message-ID"),
    "zip": (None, "archive or program"),
    "invalid-utf8-header": (b"From: x@bad.example\r\nSubject: caf\xe9 \xff\xfe\r\nMessage-ID: <b2@bad.example>\r\n\r\n"
                            b"Minimum wage?\r\n", "not valid UTF-8"),
    "header-injection": (b"From: x@bad.example\r\nSubject: =?utf-8?b?SGVsbG8NCkJjYzogdmljdGltQGV4YW1wbGUuY29t?=\r\n"
                         b"Message-ID: <b3@bad.example>\r\n\r\nMinimum wage?\r\n", "header injection"),
    "huge": (None, "the limit is 25 MB"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_mail_is_quarantined_with_its_bytes_and_does_not_block_the_next(dovecot, ingestor, helpdesk, case):
    raw, reason = HOSTILE[case]
    if case == "zip":
        raw = mail("See attached.", attachment=("files.zip", "application/zip", b"PK\x03\x04" + b"0" * 100))
    if case == "huge":
        raw = mail("See attached.", attachment=("scan.pdf", "application/pdf", b"%PDF" + b"x" * 30_000_000))
    dovecot.append(raw, mail())
    assert ingestor.run_once().outcomes == {"quarantined": 1, "query": 1}
    with unit_of_work(helpdesk.sessions) as s:
        [q] = s.scalars(select(RawEmail).where(RawEmail.outcome == "quarantined"))
        assert reason in q.reason and q.raw == raw
    assert all(b"$HelpdeskDone" in f for f in dovecot.flags().values())
    assert ingestor.run_once().handled == 0  # never retried


def _outbox(helpdesk) -> list[OutboxMessage]:
    with unit_of_work(helpdesk.sessions) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_new_mail_is_picked_up_while_waiting_with_idle(dovecot, ingestor, helpdesk):
    import threading
    import time

    stop = threading.Event()
    loop = threading.Thread(target=ingestor.run_forever, args=(stop,), daemon=True)
    loop.start()
    try:
        time.sleep(0.5)  # the loop is now idling on an empty mailbox
        dovecot.append(mail("What does Convention 190 require on harassment?"))
        deadline = time.monotonic() + 10
        while not queries(helpdesk) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert len(queries(helpdesk)) == 1 and not loop.is_alive()


def test_missing_mail_settings_are_named(helpdesk):
    from config.settings import ConfigError

    with pytest.raises(ConfigError, match="HELPDESK_IMAP_HOST"):
        helpdesk.imap_ingestor()
    with pytest.raises(ConfigError, match="HELPDESK_SMTP_HOST"):
        helpdesk.outbox_sender()


def test_cli_fetches_mail_with_the_password_from_the_environment(dovecot, helpdesk, monkeypatch, trained_model_path,
                                                                 database_url, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from config.cli import app

    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    for key, value in {"HELPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url,
                       "HELPDESK_IMAP_HOST": "127.0.0.1", "HELPDESK_IMAP_PORT": str(dovecot.port),
                       "HELPDESK_IMAP_USER": "test", "HELPDESK_IMAP_PASSWORD": "testpass",
                       "HELPDESK_IMAP_SECURITY": "plain"}.items():
        monkeypatch.setenv(key, value)
    dovecot.append(mail())
    result = CliRunner().invoke(app, ["fetch-mail"])
    assert result.exit_code == 0, result.output
    assert "1 new message(s) stored, 1 processed" in result.output and "testpass" not in result.output


def test_a_worker_process_decides_the_mail_the_fetcher_stored(cli):
    """``helpdesk process-mail`` (one of the workers sharing stored mail on PostgreSQL) turns each email the
    fetcher stored into its query, once."""
    from config.bootstrap import bootstrap
    from config.settings import Settings

    with bootstrap(Settings()) as helpdesk:  # the test's store, as the fetcher leaves it: bytes, not yet decided
        assert helpdesk.service.store_fetched("INBOX", 1, [(1, mail()), (2, mail("Is overtime paid double?"))]) == 2
    result = cli("process-mail")
    assert result.exit_code == 0, result.output
    assert "stored mail: 2 message(s) processed" in result.output
    listed = cli("queries")
    assert listed.output.count("HD-") == 2, listed.output
    assert "stored mail: 0 message(s) processed" in cli("process-mail").output  # nothing is decided twice


class _AuthSink(SmtpSink):
    """An SMTP server that requires AUTH: PLAIN/LOGIN with a password, or XOAUTH2 with a bearer token."""

    def __init__(self):
        super().__init__()
        self.logins: list[str] = []

    def start(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        def password(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login, auth_data.password) == (b"helpdesk", b"s3cret")
            if ok:
                self.logins.append(mechanism)
            return AuthResult(success=ok)

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=password,
                                     auth_require_tls=False, auth_required=True)
        self.controller.start()
        return self

    async def auth_XOAUTH2(self, server, args):
        import base64

        from aiosmtpd.smtp import AuthResult

        decoded = base64.b64decode(args[1]).decode()
        ok = decoded == "user=helpdesk@example.org\x01auth=Bearer token-123\x01\x01"
        if ok:
            self.logins.append("XOAUTH2")
        return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback test server
@pytest.mark.parametrize("mode", ["password", "xoauth2"])
def test_smtp_logs_in_with_a_password_or_an_oauth2_token(dovecot, ingestor, helpdesk, mode):
    dovecot.append(mail())
    ingestor.run_once()
    sink = _AuthSink().start()
    try:
        credentials = (dict(username="helpdesk", password="s3cret") if mode == "password" else
                       dict(username="helpdesk@example.org", oauth2_token=lambda: "token-123"))
        sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=sink.port, security="plain", **credentials),
                              helpdesk.service)
        assert sender.send_due().sent == 4
    finally:
        sink.stop()
    assert len(sink.messages) == 4 and sink.logins


def test_fetch_mail_watch_rides_out_a_connection_dropped_on_its_first_pass(dovecot, helpdesk, trained_model_path,
                                                                          database_url, tmp_path):
    """Regression: `helpdesk fetch-mail --watch` exited with status 1 when the IMAP connection dropped during
    its first pass, where a drop on any later pass is retried with backoff."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    dovecot.append(*[mail(f"Question {i}: how many days of paid annual leave are required?") for i in range(3)])
    proxy = CuttingProxy(dovecot.port, cut_after=2500)  # the first connection is cut mid-fetch
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    env = {**os.environ, "HELPDESK_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url,
           "HELPDESK_IMAP_HOST": "127.0.0.1", "HELPDESK_IMAP_PORT": str(proxy.port), "HELPDESK_IMAP_USER": "test",
           "HELPDESK_IMAP_PASSWORD": "testpass", "HELPDESK_IMAP_SECURITY": "plain",
           "HELPDESK_IMAP_POLL_SECONDS": "1"}
    helpdesk_command = str(__import__("pathlib").Path(sys.executable).with_name("helpdesk"))
    watcher = subprocess.Popen([helpdesk_command, "fetch-mail", "--watch"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(queries(helpdesk)) < 3 and watcher.poll() is None:
            time.sleep(0.5)
        assert watcher.poll() is None, watcher.communicate()  # still watching, not exited
        assert len(queries(helpdesk)) == 3
    finally:
        watcher.send_signal(signal.SIGINT)
        out, err = watcher.communicate(timeout=30)
        proxy.close()
    assert "retrying" in err and "testpass" not in out + err
    assert proxy.connections >= 2


def test_heavy_mail_is_fetched_and_processed_a_few_megabytes_at_a_time(dovecot, helpdesk):
    """Memory is bounded by bytes, not by the number of messages: batches are cut by RFC822.SIZE when
    fetching and by stored size when processing, and a message larger than the budget comes alone."""
    report = b"%PDF-1.4 " + bytes(range(256)) * 4096  # about 1 MB each
    dovecot.append(*[mail(f"Audit {i}: are these working hours legal?", attachment=(f"audit{i}.pdf",
                                                                                "application/pdf", report))
                     for i in range(4)], mail("A light question on annual leave."))
    steps: list[tuple[int, int]] = []
    settings = ImapSettings(host="127.0.0.1", port=dovecot.port, username="test", password="testpass",
                            security="plain", batch_bytes=1_500_000)
    ingestor = MailboxIngestor(settings, helpdesk.service, progress=lambda done, total: steps.append((done, total)))
    try:
        ingestor.fetch()
    finally:
        ingestor.close()
    assert steps == [(1, 5), (2, 5), (3, 5), (5, 5)]  # the light one rides with the last heavy one
    assert len(helpdesk.service.claim_inbound(50, max_bytes=1_500_000)) == 1
    assert len(helpdesk.service.claim_inbound(50, max_bytes=10_000_000)) == 4
