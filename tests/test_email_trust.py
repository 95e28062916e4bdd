"""Email that cannot be fooled, stalled or made to lose a message: against a real Dovecot, on both databases."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ingest.imap import ImapSettings, MailboxIngestor, process_stored
from ingest.parsing import Limits
from kb.db import unit_of_work
from kb.models import AuditEntry, Consultation, OutboxKind, OutboxMessage, Query, RawEmail
from tests.test_email_channel import mail


def rows(helpdesk, model, *where):
    with unit_of_work(helpdesk.sessions) as s:
        found = list(s.scalars(select(model).where(*where).order_by(model.id)))
        for row in found:
            if isinstance(row, Query):
                _ = row.events, row.requester, row.consultations, row.messages
        return found


class FailingFor:
    """The real service, except that processing the stored message ``victim`` fails (a fault of ours)."""

    def __init__(self, service, victim: int) -> None:
        self.service, self.victim, self.calls = service, victim, 0

    def __getattr__(self, name):
        return getattr(self.service, name)

    def process_inbound(self, stored_id, email):
        if stored_id == self.victim:
            self.calls += 1
            raise RuntimeError("the triage step crashed on this message")
        return self.service.process_inbound(stored_id, email)


def test_a_message_that_keeps_failing_is_quarantined_after_three_tries_and_never_blocks_the_others(
        dovecot, ingestor, helpdesk, clock):
    dovecot.append(mail("Can we employ 16-year-olds?"), mail("How many hours may our drivers work?"))
    report = ingestor.fetch()
    assert report.stored == 2 and all(b"$HelpdeskDone" in f for f in dovecot.flags().values())
    first = rows(helpdesk, RawEmail)[0].id
    worker = FailingFor(helpdesk.service, first)
    passes = []
    for _ in range(4):
        passes.append(process_stored(worker, Limits()))
        clock.now += timedelta(minutes=2)
    assert passes[0].outcomes == {"query": 1} and passes[0].errors == 1  # the other message went through at once
    assert worker.calls == 3 and passes[2].outcomes == {"quarantined": 1} and passes[3].handled == 0
    [held] = helpdesk.service.quarantined()
    assert held.id == first and "processing failed 3 time(s): RuntimeError: the triage step crashed" in held.reason
    [warning] = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.WARNING)
    assert warning.recipients == ["specialist@example.org"] and f"quarantine release {first}" in warning.body

    # Once the cause is fixed, the specialist releases it and it is processed like any other.
    result = CliRunner().invoke(__import__("config.cli", fromlist=["app"]).app, ["quarantine", "list"],
                                env=cli_env(helpdesk))
    assert f"#{first}" in result.output and "1 quarantined email(s)" in result.output
    shown = CliRunner().invoke(__import__("config.cli", fromlist=["app"]).app, ["quarantine", "show", str(first)],
                               env=cli_env(helpdesk))
    assert shown.exit_code == 0 and f"#{first} received" in shown.output
    helpdesk.service.release_quarantined(first, actor="maria")
    assert process_stored(helpdesk.service, Limits()).outcomes == {"query": 1}
    assert len(rows(helpdesk, Query)) == 2 and helpdesk.service.quarantined() == []
    # Senders and raw bytes are personal data: who read the quarantine, and who released what, is on record.
    trail = [(line.action, line.detail) for line in helpdesk.service.audit_trail("maria")]
    assert trail == [("release", f"quarantined email #{first}")]
    reads = [(e.actor.startswith("cli:"), e.action, e.channel, e.detail) for e in rows(helpdesk, AuditEntry)
             if e.action == "read"]
    assert reads == [(True, "read", "cli", "the quarantine (1 email(s))"),
                     (True, "read", "cli", f"quarantined email #{first}")]


def cli_env(helpdesk) -> dict:
    s = helpdesk.settings
    return {"HELPDESK_DATA_DIR": str(s.data_dir), "DATABASE_URL": s.resolved_database_url(),
            "HELPDESK_MODEL_PATH": str(s.resolved_model_path())}


def test_a_worker_that_dies_holding_a_message_loses_it_to_another_after_the_lease(dovecot, ingestor, helpdesk,
                                                                                    clock):
    dovecot.append(mail("Can we employ 16-year-olds?"))
    ingestor.fetch()
    [claimed] = helpdesk.service.claim_inbound()  # ... and the worker is killed here
    assert helpdesk.service.claim_inbound() == []  # nobody else takes it while it is held
    clock.now += timedelta(minutes=6)
    assert process_stored(helpdesk.service, Limits()).outcomes == {"query": 1}
    assert rows(helpdesk, RawEmail)[0].attempts == 2


def test_an_autoresponder_without_headers_gets_one_acknowledgement_a_day_not_a_loop(dovecot, ingestor, helpdesk):
    for round_ in range(4):  # it answers every acknowledgement with a new message of its own
        dovecot.append(mail(f"Thank you for your message. I will answer your question about wages soon ({round_}).",
                            sender="Busy Bot <busy@robot.example>", subject="Re: your message"))
        ingestor.run_once()
    acks = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT)
    assert len(acks) == 1 and acks[0].recipients == ["busy@robot.example"]
    assert len(rows(helpdesk, Query)) == 4  # stored, nothing lost; just not answered again
    assert any("mail-loop guard" in e.detail for q in rows(helpdesk, Query) for e in q.events)


def test_an_autoresponders_messages_arriving_together_get_no_more_acknowledgements(dovecot, ingestor, helpdesk):
    # Decided in one batch, which writes its acknowledgements at its end: the guard counts them all the same.
    for round_ in range(4):
        dovecot.append(mail(f"Thank you for your message. I will answer your question about wages soon ({round_}).",
                            sender="Busy Bot <busy@robot.example>", subject="Re: your message"))
    assert ingestor.run_once().outcomes == {"query": 4}
    acks = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT)
    assert len(acks) == min(4, helpdesk.service.policy.mail.automatic_notices_per_day)
    assert len(rows(helpdesk, Query)) == 4


def disk_full_when_keeping_attachments_of(monkeypatch, words: str):
    """Keeping the attachments of an email whose text has ``words`` fails (a fault of ours, after the email's
    query was triaged and routed); the original is returned, to put back."""
    import kb.inbound

    keep = kb.inbound._store_attachments

    def failing(session, email, message):
        if words in email.text:
            raise OSError("No space left on device")
        return keep(session, email, message)

    monkeypatch.setattr(kb.inbound, "_store_attachments", failing)
    return keep


def test_a_message_failing_after_its_triage_takes_its_rows_out_of_the_batch(dovecot, ingestor, helpdesk,
                                                                            monkeypatch):
    # The second message fails while its attachments are kept, after its query was triaged and routed: its
    # consultations and emails, waiting for the batch's end, go with it; the two others are decided as usual.
    disk_full_when_keeping_attachments_of(monkeypatch, "night shifts")
    for text in ("Can we employ 16-year-olds in our packaging plant?",
                 "May pregnant workers be asked to work night shifts in our factory?",
                 "Must we pay overtime to workers on annual salaries?"):
        dovecot.append(mail(text, sender=f"HR <hr{len(text)}@acme.example>"))
    report = ingestor.run_once()
    assert report.outcomes == {"query": 2} and report.errors == 1
    queries = rows(helpdesk, Query)
    assert [q.text for q in queries] == ["Can we employ 16-year-olds in our packaging plant?",
                                         "Must we pay overtime to workers on annual salaries?"]
    routed = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ROUTING)
    assert routed and {r.query_id for r in routed} == {q.id for q in queries}
    assert len(rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT)) == 2
    assert all(c.query_id in {q.id for q in queries} for c in rows(helpdesk, Consultation))
    assert rows(helpdesk, RawEmail, RawEmail.last_error.is_not(None))[0].last_error.startswith("OSError")


def routing_to(helpdesk, department):
    with unit_of_work(helpdesk.sessions) as s:
        return s.scalar(select(OutboxMessage).join(Consultation).where(
            OutboxMessage.kind == OutboxKind.ROUTING, Consultation.department_code == department))


def answered(helpdesk, department) -> bool:
    with unit_of_work(helpdesk.sessions) as s:
        # The first query's consultation (the forged mail made a second query, consulting ACTRAV too).
        c = s.scalar(select(Consultation).where(Consultation.department_code == department)
                     .order_by(Consultation.id).limit(1))
        return c.input_received_at is not None


def test_nobody_can_give_a_departments_input_by_forging_its_address_or_naming_the_reference(dovecot, ingestor,
                                                                                          helpdesk):
    dovecot.append(mail("Can we employ 16-year-olds in our packaging plant?"))
    ingestor.run_once()
    routing = routing_to(helpdesk, "ACTRAV")
    # A forged From with the reference in the subject, but no reply to the routing email: a new query.
    dovecot.append(mail("Workers agree, go ahead.", sender="actrav.focal@example.org",
                        subject="Re: [HD-2026-0001] Input requested"))
    assert ingestor.run_once().outcomes == {"query": 1}
    assert not answered(helpdesk, "ACTRAV")
    # Another department's focal point replying to ACTRAV's routing email does not answer for ACTRAV.
    dovecot.append(mail("Not our department.", sender="childlabour.focal@example.org",
                        subject=f"Re: {routing.subject}", in_reply_to=routing.email_message_id))
    assert ingestor.run_once().outcomes == {"follow_up": 1}
    assert not answered(helpdesk, "ACTRAV")
    # The right focal point, in reply to the routing email, but the receiving server says the sender is forged.
    dovecot.append(mail("Go ahead.", sender="actrav.focal@example.org", subject=f"Re: {routing.subject}",
                        in_reply_to=routing.email_message_id,
                        headers={"Authentication-Results": "mx.example.org; dkim=fail; spf=fail; dmarc=fail "
                                                           "header.from=example.org"}))
    assert ingestor.run_once().outcomes == {"unverified": 1}
    assert not answered(helpdesk, "ACTRAV")
    # The real one: a reply to that routing email from that department's focal point.
    dovecot.append(mail("ACTRAV: light work only, with the union's agreement.", sender="actrav.focal@example.org",
                        subject=f"Re: {routing.subject}", in_reply_to=routing.email_message_id,
                        headers={"Authentication-Results": "mx.example.org; dkim=pass; spf=pass; dmarc=pass"}))
    assert ingestor.run_once().outcomes == {"input": 1}
    assert answered(helpdesk, "ACTRAV")
    first = rows(helpdesk, Query)[0]
    assert any(e.kind == "unverified message held" for e in first.events)


SIGNED = """Dear helpdesk,

Our company is about to dismiss the three union leaders of our plant after the strike. Is this compatible
with freedom of association?

Best regards,
Carlos Mendoza
Textiles Andinos S.A.
Tel. +51 1 234 5678
"""


def test_a_requester_who_asks_for_confidentiality_is_held_until_released_without_their_identity(
        dovecot, ingestor, helpdesk):
    dovecot.append(mail(SIGNED, sender="Carlos Mendoza <carlos@andinos.example>",
                        subject="CONFIDENTIAL - union leaders"))
    assert ingestor.run_once().outcomes == {"query": 1}
    [query] = rows(helpdesk, Query)
    assert query.status.value == "held" and query.confidential
    assert rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ROUTING) == []
    subject, text = helpdesk.service.release_preview("HD-2026-0001")
    for identity in ("Carlos", "Mendoza", "Andinos", "234 5678", "carlos@"):
        assert identity not in text, identity
    assert "dismiss the three union leaders" in text
    added = helpdesk.service.release_query("HD-2026-0001")
    assert added and rows(helpdesk, Query)[0].status.value == "routed"
    for routing in rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ROUTING):
        assert "Mendoza" not in routing.body and "Andinos" not in routing.body and "CONFIDENTIAL" in routing.body


def test_a_colleagues_forward_records_the_company_as_requester_and_the_colleague_as_referrer(dovecot, ingestor,
                                                                                            helpdesk):
    forwarded = ("Please see the question below from a company we met in Lima.\n\n"
                 "---------- Forwarded message ---------\n"
                 "From: Ana Pérez <ana@coop.example>\nDate: Mon, 2 Mar 2026 08:00:00 +0000\n"
                 "Subject: Overtime\nTo: field.office@example.org\n\n"
                 "How many hours of overtime may our workers do each week?\n")
    dovecot.append(mail(forwarded, sender="Field Office <field.office@example.org>", subject="Fwd: Overtime"))
    assert ingestor.run_once().outcomes == {"query": 1}
    [query] = rows(helpdesk, Query)
    assert query.requester.email == "ana@coop.example" and query.referred_by == "field.office@example.org"


def sent_headers(helpdesk, row: OutboxMessage) -> dict:
    """The headers an outbox row's email goes out with (as the sender composes them when it claims the row)."""
    from kb.models import Channel
    from kb.outbox import claim_due

    with unit_of_work(helpdesk.sessions) as session:
        return next(m.headers for m in claim_due(session, helpdesk.clock(), Channel.EMAIL, limit=1000)
                    if m.id == row.id)


def test_a_person_whose_mail_is_quarantined_is_told_what_to_do_but_an_automatic_sender_is_not(dovecot, ingestor,
                                                                                             helpdesk):
    dovecot.append(mail("Our policy is attached.", attachment=("policy.zip", "application/zip", b"PK\x03\x04zip")))
    dovecot.append(mail("Veuillez trouver ci-joint notre politique sur les heures de travail de nos usines.",
                        sender="Marie <marie@usine.example>", subject="Notre politique sur les heures de travail",
                        attachment=("politique.zip", "application/zip", b"PK\x03\x04zip")))
    dovecot.append(mail("Attached.", sender="noreply@portal.example",
                        attachment=("policy.zip", "application/zip", b"PK\x03\x04zip")))
    assert ingestor.run_once().outcomes == {"quarantined": 3}
    to_jane, to_marie = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.NOTICE)
    assert to_jane.recipients == ["jane@acme.example"] and sent_headers(helpdesk, to_jane)["Auto-Submitted"] == \
        "auto-replied"
    # Too short to tell its language: all three; Marie's French is read, so she is answered in French.
    assert "without archives" in to_jane.body and "sans archive" in to_jane.body and "sin archivos" in to_jane.body
    assert to_marie.recipients == ["marie@usine.example"]
    assert "sans archive" in to_marie.body and "without archives" not in to_marie.body


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the rule is the store's either way
def test_the_specialist_is_told_once_when_the_mailbox_cannot_be_read_and_once_when_it_can(dovecot, helpdesk,
                                                                                           clock):
    reader = MailboxIngestor(ImapSettings(host="127.0.0.1", port=dovecot.port, username=dovecot.user,
                                          password="changed-yesterday", security="plain", timeout=5),
                             helpdesk.service)

    def warnings():
        return [w.subject for w in rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.WARNING)]

    def wait_for(predicate, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.2)

    stop = threading.Event()
    thread = threading.Thread(target=reader.run_forever, args=(stop,), kwargs={"max_backoff": 0.5})
    thread.start()
    try:
        wait_for(lambda: reader.failing_since is not None)
        assert warnings() == []  # a short outage is nobody's business
        clock.now += timedelta(minutes=16)
        wait_for(lambda: warnings())
        time.sleep(1.5)  # more failed attempts meanwhile: still one warning
        assert warnings() == ["The helpdesk cannot read its mailbox"]
        reader.settings = replace(reader.settings, password=dovecot.password)  # the password is fixed
        wait_for(lambda: len(warnings()) == 2)
    finally:
        stop.set()
        thread.join(30)
    assert warnings() == ["The helpdesk cannot read its mailbox", "The helpdesk reads its mailbox again"]
    body = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.WARNING)[0].body
    assert "changed-yesterday" not in body and "helpdesk check" in body


def test_stored_messages_are_counted_once_even_when_two_readers_fetch_together(dovecot, helpdesk):
    dovecot.append(*[mail(f"Question number {i} about wages?") for i in range(20)])
    settings = ImapSettings(host="127.0.0.1", port=dovecot.port, username=dovecot.user, password=dovecot.password,
                            security="plain", timeout=10)
    readers = [MailboxIngestor(settings, helpdesk.service) for _ in range(2)]
    threads = [threading.Thread(target=r.fetch) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in readers:
        r.close()
    process_stored(helpdesk.service, Limits())
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(func.count(RawEmail.id))) == 20
        assert s.scalar(select(func.count(Query.id))) == 20


def test_nobody_reopens_or_rates_a_requesters_query_without_proving_the_thread(dovecot, ingestor, helpdesk):
    from tests.test_replies_reach_requesters import replies_to, smtp
    from tests.peers.mail import SmtpSink

    dovecot.append(mail("Who pays for personal protective equipment?"))
    ingestor.run_once()
    helpdesk.service.send_reply("HD-2026-0001", "maria", text="Dear Jane,\n\nThe employer does.")
    sink = SmtpSink().start()
    try:
        smtp(sink, helpdesk).send_due()
        [reply] = replies_to(sink)
    finally:
        sink.stop()
    # Jane's address, the reference in the subject, but no reply to any helpdesk email: a new query.
    dovecot.append(mail("1", subject="Re: [HD-2026-0001] PPE"))
    # A reply in the thread whose sender the receiving server could not verify: held, not a rating.
    dovecot.append(mail("1", subject=f"Re: {reply['Subject']}", in_reply_to=reply["Message-ID"],
                        headers={"Authentication-Results": "mx.example.org; dmarc=fail header.from=acme.example"}))
    report = ingestor.run_once()
    assert report.outcomes == {"rejected": 1, "unverified": 1}  # "1" alone is no question: politely refused
    first = rows(helpdesk, Query)[0]
    assert first.status.value == "answered"
    with unit_of_work(helpdesk.sessions) as s:
        from kb.models import Feedback

        assert s.scalar(select(func.count(Feedback.id))) == 0
