"""Emails decided together in one batch are decided as they would be one at a time.

A worker looks up the Message-IDs and senders of its whole batch at once (``kb.mail_batch``). These
stories put what that could get wrong in one batch: the same email twice, one sender writing twice,
a requester already known, a sender who had their notices for the day, and a message that fails
between two from the same sender. Against a real Dovecot, on both databases.
"""

from __future__ import annotations

from sqlalchemy import event, select, update

from kb.db import unit_of_work
from kb.models import Attachment, OutboxKind, OutboxMessage, Query, RawEmail, Requester
from tests.test_email_channel import mail
from tests.test_email_trust import disk_full_when_keeping_attachments_of, rows
from tests.test_mail_loop_guard import notice_to


def test_the_same_email_twice_in_one_batch_is_one_query_and_one_duplicate(dovecot, ingestor, helpdesk):
    email = mail("Must we pay overtime to workers on annual salaries?")
    dovecot.append(email, email)  # delivered twice (two UIDs), fetched together
    assert ingestor.run_once().outcomes == {"query": 1, "duplicate": 1}
    assert len(rows(helpdesk, Query)) == 1


def test_an_email_seen_before_the_batch_is_a_duplicate(dovecot, ingestor, helpdesk):
    email = mail("Must we pay overtime to workers on annual salaries?")
    dovecot.append(email)
    ingestor.run_once()
    dovecot.append(mail("Can we employ 16-year-olds?", sender="HR <hr@other.example>"), email)
    assert ingestor.run_once().outcomes == {"query": 1, "duplicate": 1}


def test_a_new_sender_writing_twice_in_one_batch_is_one_requester_with_two_queries(dovecot, ingestor, helpdesk):
    dovecot.append(mail("Must we pay overtime to workers on annual salaries?", sender="Awa Sarr <awa@acme.example>"),
                   mail("Can we employ 16-year-olds?", sender="Awa Sarr <AWA@acme.example>"))
    assert ingestor.run_once().outcomes == {"query": 2}
    [requester] = rows(helpdesk, Requester)
    assert requester.email == "awa@acme.example" and requester.name == "Awa Sarr"
    assert {q.requester_id for q in rows(helpdesk, Query)} == {requester.id}


def test_a_known_requester_writing_again_is_recognised_and_their_new_name_kept(dovecot, ingestor, helpdesk):
    dovecot.append(mail("Must we pay overtime to workers on annual salaries?", sender="A. Sarr <awa@acme.example>"))
    ingestor.run_once()
    dovecot.append(mail("Can we employ 16-year-olds?", sender="Awa Sarr <awa@acme.example>"),
                   mail("How many hours may our drivers work?", sender="Tom <tom@acme.example>"))
    assert ingestor.run_once().outcomes == {"query": 2}
    awa = [r for r in rows(helpdesk, Requester) if r.email == "awa@acme.example"]
    assert len(awa) == 1 and awa[0].name == "Awa Sarr"
    assert len([q for q in rows(helpdesk, Query) if q.requester_id == awa[0].id]) == 2
    # the mail-loop guard counted the acknowledgement of her first email, sent before this batch
    acks = [a.recipients[0] for a in rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT)]
    assert acks.count("awa@acme.example") == min(2, helpdesk.service.policy.mail.automatic_notices_per_day)
    assert acks.count("tom@acme.example") == 1


def test_a_sender_who_had_todays_notices_before_the_batch_gets_no_acknowledgement(dovecot, ingestor, helpdesk,
                                                                                   clock):
    per_day = helpdesk.service.policy.mail.automatic_notices_per_day
    with unit_of_work(helpdesk.sessions) as session:  # e.g. refusals of mail in a language the helpdesk lacks
        for number in range(per_day):
            notice_to(session, "loop@robot.example", number, clock())
    dovecot.append(mail("Must we pay overtime to workers on annual salaries?", sender="Bot <Loop@robot.example>"),
                   mail("Can we employ 16-year-olds?", sender="HR <hr@acme.example>"))
    assert ingestor.run_once().outcomes == {"query": 2}
    acks = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT)
    assert [a.recipients for a in acks] == [["hr@acme.example"]]
    looped = [q for q in rows(helpdesk, Query) if q.requester.email == "loop@robot.example"][0]
    assert any("mail-loop guard" in e.detail for e in looped.events)


def test_a_message_failing_between_two_from_the_same_new_sender_takes_only_its_own_rows(dovecot, ingestor,
                                                                                       helpdesk, monkeypatch):
    # The first email creates the requester, then fails; the second, in the same batch, must not count on
    # that requester (its row went with the first email's savepoint).
    import kb.inbound

    keep = disk_full_when_keeping_attachments_of(monkeypatch, "overtime")
    dovecot.append(mail("Must we pay overtime to workers on annual salaries?", sender="Awa <awa@acme.example>"),
                   mail("Can we employ 16-year-olds?", sender="Awa <awa@acme.example>"))
    report = ingestor.run_once()
    assert report.outcomes == {"query": 1} and report.errors == 1
    [requester] = rows(helpdesk, Requester)
    [query] = rows(helpdesk, Query)
    assert query.requester_id == requester.id and query.text == "Can we employ 16-year-olds?"
    # The acknowledgement the failed email had queued went with it: the mail-loop guard does not count it
    # against the second, which is acknowledged.
    acks = rows(helpdesk, OutboxMessage, OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT)
    assert [(a.query_id, a.recipients) for a in acks] == [(query.id, ["awa@acme.example"])]
    monkeypatch.setattr(kb.inbound, "_store_attachments", keep)
    from ingest.imap import process_stored
    from ingest.parsing import Limits

    with unit_of_work(helpdesk.sessions) as session:  # retried once its wait is over
        session.execute(update(RawEmail).where(RawEmail.last_error.is_not(None)).values(claimed_until=None))
    assert process_stored(helpdesk.service, Limits()).outcomes == {"query": 1}
    assert len(rows(helpdesk, Requester)) == 1 and len(rows(helpdesk, Query)) == 2


def test_a_batch_asks_the_store_about_its_senders_once_not_once_per_email(dovecot, ingestor, helpdesk):
    for number in range(10):
        dovecot.append(mail(f"Must we pay overtime to workers on annual salaries? ({number})",
                            sender=f"HR {number} <hr{number}@acme.example>"))
    ingestor.fetch()
    asked = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        asked.append(statement)

    event.listen(helpdesk.engine, "before_cursor_execute", remember)
    try:
        assert ingestor.process_stored().outcomes == {"query": 10}
    finally:
        event.remove(helpdesk.engine, "before_cursor_execute", remember)
    requester_reads = [s for s in asked if s.startswith("SELECT requester.")]
    guard_reads = [s for s in asked if "count(outbox.id)" in s]
    id_reads = [s for s in asked if s.startswith("SELECT raw_email.message_id_header") or
                (s.startswith("SELECT raw_email.id") and "message_id_header =" in s)]
    assert (len(requester_reads), len(guard_reads), len(id_reads)) == (1, 0, 1)


def test_a_requesters_second_email_replying_to_their_first_in_the_same_batch_is_a_follow_up(dovecot, ingestor,
                                                                                            helpdesk):
    first = mail("Must we pay overtime to workers on annual salaries?", sender="Awa <awa@acme.example>")
    first_id = first.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode()
    dovecot.append(first, mail("Sorry, I forgot: our workers are in Ghana.", sender="Awa <awa@acme.example>",
                               subject="Re: Young workers", in_reply_to=first_id))
    assert ingestor.run_once().outcomes == {"query": 1, "follow_up": 1}
    [query] = rows(helpdesk, Query)
    kinds = [e.kind for e in query.events]
    assert kinds[0] == "received" and kinds[-1] == "follow-up"  # its own history first, then the follow-up
    assert len(query.messages) == 2


def test_a_new_querys_history_reads_in_order_with_the_mail_systems_notes_last(dovecot, ingestor, helpdesk):
    dovecot.append(mail("Must we pay overtime to workers on annual salaries?", subject="Confidential: overtime"),
                   mail("Can we employ 16-year-olds?", sender="HR <hr@acme.example>"))
    assert ingestor.run_once().outcomes == {"query": 2}
    held = [q for q in rows(helpdesk, Query) if q.subject == "Confidential: overtime"][0]
    kinds = [e.kind for e in held.events]
    assert kinds[0] == "received" and kinds[-1] == "note" and "drafted" in kinds
    assert [e.id for e in held.events] == sorted(e.id for e in held.events)
    assert "confidentiality" in held.events[-1].detail


def test_each_stored_email_points_at_the_message_it_became_with_its_attachment(dovecot, ingestor, helpdesk):
    # The batch writes its new queries, messages and attachments at its end: each stored email still names
    # the message it became, and the attachment belongs to that message.
    dovecot.append(mail("Must we pay overtime to workers on annual salaries?", sender="Awa <awa@acme.example>",
                        attachment=("contract.pdf", "application/pdf", b"%PDF-1.4 contract")),
                   mail("Can we employ 16-year-olds?", sender="HR <hr@acme.example>"))
    assert ingestor.run_once().outcomes == {"query": 2}
    with unit_of_work(helpdesk.sessions) as session:
        for raw in session.scalars(select(RawEmail)):
            message = raw.message
            assert message is not None and message.email_message_id == raw.message_id_header
            assert message.query.requester.email in {"awa@acme.example", "hr@acme.example"}
            names = [a.filename for a in session.scalars(select(Attachment).where(Attachment.message_id == message.id))]
            assert names == (["contract.pdf"] if message.query.requester.email == "awa@acme.example" else [])


def test_a_batchs_queries_are_numbered_on_in_order_and_a_new_year_starts_again_at_one(dovecot, ingestor, helpdesk,
                                                                                      clock):
    from datetime import datetime, timezone

    dovecot.append(*(mail(f"Question {n}: must we pay overtime to salaried staff?", sender=f"hr{n}@acme.example")
                     for n in range(3)))
    assert ingestor.run_once().outcomes == {"query": 3}
    clock.now = datetime(clock.now.year + 1, 1, 4, 9, 0, tzinfo=timezone.utc)
    dovecot.append(mail("Can we employ 16-year-olds in the summer?", sender="hr@other.example"),
                   mail("How many hours may a night shift last?", sender="ops@other.example"))
    assert ingestor.run_once().outcomes == {"query": 2}
    year = clock.now.year
    assert sorted(q.reference for q in rows(helpdesk, Query)) == [
        f"HD-{year - 1}-0001", f"HD-{year - 1}-0002", f"HD-{year - 1}-0003", f"HD-{year}-0001", f"HD-{year}-0002"]


def test_a_batch_whose_emails_are_not_all_new_queries_leaves_no_gap_in_the_references(dovecot, ingestor, helpdesk):
    email = mail("Must we pay overtime to workers on annual salaries?")
    dovecot.append(email, email, mail("Can we employ 16-year-olds?", sender="HR <hr@other.example>"))
    assert ingestor.run_once().outcomes == {"query": 2, "duplicate": 1}
    dovecot.append(mail("How long may a night shift last?", sender="ops@third.example"))
    assert ingestor.run_once().outcomes == {"query": 1}
    assert sorted(int(q.reference.rsplit("-", 1)[1]) for q in rows(helpdesk, Query)) == [1, 2, 3]
