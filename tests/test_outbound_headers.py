"""Outgoing email headers stay what the helpdesk meant them to be.

A subject copied from a requester's email may carry a line separator (U+2028, CR LF, NEL ...): the email
we send must still have exactly the headers we wrote (no smuggled ``Bcc:``), with a one-line subject of a
sane length. A recipient that is not an address fails its own outbox row for good, with the reason, and
never holds up the other rows of the batch. Against a real aiosmtpd, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ingest.smtp import SUBJECT_LIMIT, OutboxSender, SmtpSettings, compose
from kb.models import Channel, OutboxKind, OutboxMessage
from kb.outbox import OutgoingMessage, queue

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
JANE = "jane@acme.example"
HOSTILE = "Hallo\u2028Bcc: victim@example.com"
#: Every way a value can try to start a new header line: Unicode line and paragraph separators, CR LF,
#: NEL, vertical tab, form feed, NUL, and an RFC 2047 encoded word hiding a CR LF (which Python's email
#: package would decode and write out as it is).
BREAKS = {
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "CR LF": "\r\n",
    "bare LF": "\n",
    "bare CR": "\r",
    "NEL": "\x85",
    "vertical tab": "\v",
    "form feed": "\f",
    "NUL": "\x00",
}
ENCODED_CRLF = "=?utf-8?q?Hallo=0D=0ABcc:_victim@example.com?="


def outgoing(subject="Your question", recipients=(JANE,), headers=None,
             message_id="<1772442000.1@helpdesk.example.org>", body="Dear Jane,\n\nThank you.\n") -> OutgoingMessage:
    return OutgoingMessage(id=1, kind=OutboxKind.REPLY.value, channel=Channel.EMAIL.value,
                           recipients=tuple(recipients), subject=subject, body=body, headers=dict(headers or {}),
                           email_message_id=message_id, attempts=1)


def on_the_wire(message: OutgoingMessage, from_name: str = "ILO Helpdesk") -> tuple[list[bytes], email.message.EmailMessage]:
    """The header lines as smtplib sends them, and the message as a mail client reads it back."""
    raw = compose(message, from_name=from_name, from_address="helpdesk@example.org", now=NOW).as_bytes(
        policy=email.policy.SMTP)
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n"), email.message_from_bytes(raw, policy=email.policy.default)


def header_names(lines: list[bytes]) -> list[str]:
    """The names of the headers that start a line (folded continuation lines start with white space)."""
    return [line.split(b":", 1)[0].decode().lower() for line in lines if line[:1] not in (b" ", b"\t")]


def assert_no_injection(lines: list[bytes], parsed) -> None:
    assert "bcc" not in header_names(lines)
    assert parsed["Bcc"] is None
    assert all(b"\r" not in line and b"\n" not in line and b"\x00" not in line for line in lines)
    assert len(header_names(lines)) == len(set(header_names(lines))), "every header is written once"


# ------------------------------------------------------------------ (a) the subject stays one header line

@pytest.mark.parametrize("separator", BREAKS.values(), ids=BREAKS.keys())
def test_a_subject_with_a_line_break_cannot_add_a_bcc_header(separator):
    lines, parsed = on_the_wire(outgoing(subject=HOSTILE.replace("\u2028", separator)))

    assert_no_injection(lines, parsed)
    assert parsed["Subject"] == "Hallo Bcc: victim@example.com"
    assert [n for n in header_names(lines) if n == "subject"] == ["subject"]
    assert parsed["To"] == JANE


def test_a_subject_with_an_encoded_line_break_cannot_add_a_bcc_header_either():
    lines, parsed = on_the_wire(outgoing(subject=ENCODED_CRLF))

    assert_no_injection(lines, parsed)
    assert parsed["Subject"] == "Hallo Bcc: victim@example.com"


def test_controls_and_runs_of_white_space_in_a_subject_become_single_spaces():
    _, parsed = on_the_wire(outgoing(subject="  Overtime\t\x01 for\u2029\u2029young\x1b workers \x7f\x9f "))

    assert parsed["Subject"] == "Overtime for young workers"


def test_an_ordinary_subject_is_sent_as_it_was_written():
    subject = "Re: [HD-2026-0001] Überstunden für Jugendliche — «heures supplémentaires»"
    _, parsed = on_the_wire(outgoing(subject=subject))

    assert parsed["Subject"] == subject


def test_no_header_value_of_a_row_can_add_a_header():
    """Every value the row carries into a header: From name, To, Reply-To, threading headers, Auto-Submitted."""
    hostile = {
        "Reply-To": "helpdesk@example.org\u2028Bcc: victim@example.com",
        "In-Reply-To": "<a1@acme.example>\r\nBcc: victim@example.com",
        "References": "<a0@acme.example>\x85Bcc: victim@example.com <a1@acme.example>",
        "Auto-Submitted": "auto-replied\u2029Bcc: victim@example.com",
    }
    lines, parsed = on_the_wire(outgoing(recipients=[f"Jane Osei <{JANE}>\r\n"], subject=HOSTILE, headers=hostile),
                                from_name="ILO Helpdesk\r\nBcc: victim@example.com")

    assert_no_injection(lines, parsed)
    assert parsed["From"].addresses[0].display_name == "ILO Helpdesk Bcc: victim@example.com"
    assert [a.addr_spec for a in parsed["To"].addresses] == [JANE]
    assert parsed["Reply-To"] is None  # not one valid address: dropped
    assert parsed["In-Reply-To"] == "<a1@acme.example>"
    assert parsed["References"] == "<a0@acme.example> <a1@acme.example>"
    assert parsed["Auto-Submitted"] == "auto-replied Bcc: victim@example.com"


def test_encoded_words_cannot_smuggle_a_line_break_into_any_header():
    lines, parsed = on_the_wire(outgoing(
        recipients=[JANE], subject=ENCODED_CRLF,
        headers={"Auto-Submitted": ENCODED_CRLF, "In-Reply-To": f"<a1@acme.example> {ENCODED_CRLF}",
                 "Reply-To": f"{ENCODED_CRLF} <helpdesk@example.org>"}),
        from_name=ENCODED_CRLF)

    assert_no_injection(lines, parsed)
    assert parsed["In-Reply-To"] == "<a1@acme.example>"


def test_a_row_with_a_well_formed_reply_to_and_threading_keeps_them():
    _, parsed = on_the_wire(outgoing(headers={"Reply-To": "ILO Helpdesk <helpdesk@example.org>",
                                              "In-Reply-To": "<a1@acme.example>", "Auto-Submitted": "auto-replied"}))

    assert parsed["Reply-To"].addresses[0].addr_spec == "helpdesk@example.org"
    assert parsed["In-Reply-To"] == parsed["References"] == "<a1@acme.example>"
    assert parsed["Message-ID"] == "<1772442000.1@helpdesk.example.org>"
    assert parsed["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize("message_id", ["<no-at-sign>", "<a b@acme.example>", "a1@acme.example",
                                        "<a1@acme.example>\u2028Bcc: victim@example.com", "", None])
def test_malformed_message_ids_are_dropped_rather_than_failing_the_email(message_id):
    """A Message-ID must be exactly one ``<left@right>``; threading headers keep only their well-formed ids."""
    lines, parsed = on_the_wire(outgoing(message_id=message_id,
                                         headers={"In-Reply-To": message_id, "References": message_id}))

    assert_no_injection(lines, parsed)
    assert parsed["Message-ID"] is None
    kept = "<a1@acme.example>" if message_id and message_id.startswith("<a1@") else None
    assert parsed["In-Reply-To"] == parsed["References"] == kept


@pytest.mark.parametrize("recipient", ["not an address", "jane@acme.example, victim@example.com",
                                       "jane@acme.example\u2028Bcc: victim@example.com", "jane@", "@acme.example",
                                       "jane", "jane@acme.example>", "", None])
def test_a_recipient_that_is_not_one_address_is_refused_by_name(recipient):
    with pytest.raises(ValueError, match="invalid recipient") as refused:
        compose(outgoing(recipients=[JANE, recipient]), from_name="ILO Helpdesk",
                from_address="helpdesk@example.org", now=NOW)
    assert repr(recipient) in str(refused.value)


# ------------------------------------------------------------------ (c) the subject has a sane length

def test_a_very_long_subject_is_capped():
    subject = "Overtime " + "and more overtime " * 200
    lines, parsed = on_the_wire(outgoing(subject=subject))

    assert len(parsed["Subject"]) <= SUBJECT_LIMIT <= 250
    assert parsed["Subject"].startswith("Overtime and more overtime") and parsed["Subject"].endswith("\u2026")
    assert all(len(line) <= 998 for line in lines)  # RFC 5322's hard line limit, folding included


# ------------------------------------------------------------------ (b) end to end, through the outbox

def test_a_hostile_subject_and_a_bad_recipient_fail_alone_and_only_their_own_row(helpdesk, smtp_sink, clock):
    """Three emails in one batch: the first is sent; the one with the hostile subject is sent with a clean
    subject and to its To address only; the one with no real address fails for good, saying why."""
    service = helpdesk.service
    now = clock()
    rows = [("ack", OutboxKind.ACKNOWLEDGEMENT, "Your question has been received", JANE),
            ("reply", OutboxKind.REPLY, HOSTILE, JANE),
            ("reminder", OutboxKind.REMINDER, "Reminder", "not an address")]
    with service.unit_of_work() as session:
        queued = [queue(session, dedupe_key=f"headers:{key}", kind=kind, channel=Channel.EMAIL, recipients=[to],
                        subject=subject, body="Dear Jane,\n\nThank you.\n", now=now, domain=service.policy.domain,
                        due_at=now - timedelta(minutes=3 - i))
                  for i, (key, kind, subject, to) in enumerate(rows)]
        session.flush()
        first, hostile, bad = (row.id for row in queued)

    sender = OutboxSender(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, security="plain"), service)
    report = sender.send_due()

    assert (report.sent, report.failed, report.given_up) == (2, 1, 1)
    assert [rcpts for _, rcpts, _ in smtp_sink.messages] == [[JANE], [JANE]]  # no victim in any envelope
    ack, reply = (m for _, _, m in smtp_sink.messages)
    assert ack["Subject"] == "Your question has been received"
    assert reply["Subject"] == "Hallo Bcc: victim@example.com" and reply["Bcc"] is None
    assert [a.addr_spec for a in reply["To"].addresses] == [JANE]
    with service.unit_of_work() as session:
        stored = {row.id: row for row in session.scalars(select(OutboxMessage))}
        assert stored[first].sent_at is not None and stored[hostile].sent_at is not None
        assert stored[bad].sent_at is None and stored[bad].failed_at is not None
        assert "not an address" in stored[bad].last_error and "recipient" in stored[bad].last_error
        assert stored[bad].attempts == 1

    clock.now += timedelta(days=1)  # long past any lease and any backoff
    again = sender.send_due()
    assert (again.sent, again.failed, again.given_up) == (0, 0, 0)
    assert len(smtp_sink.messages) == 2
