"""Real-world mail that used to be lost or misread: raw UTF-8 headers, NUL characters, Outlook's
"Latin-1", forwards, truncated bounces, out-of-office replies, forged senders.

Parsing happens once, at the edge (``ingest.parsing.parse_email``); most stories here check what
it makes of some bytes. Where the point is that the message is *stored*, it also goes through
``receive_email`` on SQLite and PostgreSQL (which refuses NUL in text).
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import select

from ingest.mime_text import decode_bytes
from ingest.parsing import Limits, parse_email
from kb.db import unit_of_work
from kb.inbound import Outcome
from kb.models import Attachment, Query, RawEmail
from tests.test_email_channel import mail, raw_mail

QUESTION = "Can we employ 16-year-olds in our packaging plant?"


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def message(*headers: bytes, body: bytes = QUESTION.encode(), content_type: bytes = b"text/plain; charset=utf-8",
            encoding: bytes = b"8bit") -> bytes:
    """A message written byte by byte, as hostile or sloppy mailers write them."""
    default = {b"From": b"Jane Osei <jane@acme.example>", b"To": b"helpdesk@example.org",
               b"Subject": b"Young workers", b"Message-ID": b"<m1@acme.example>"}
    given = [h.split(b":", 1)[0] for h in headers]
    lines = [k + b": " + v for k, v in default.items() if k not in given] + list(headers)
    lines += [b"MIME-Version: 1.0", b"Content-Type: " + content_type, b"Content-Transfer-Encoding: " + encoding]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body + b"\r\n"


def stored(helpdesk) -> list[Query]:
    with unit_of_work(helpdesk.sessions) as s:
        rows = list(s.scalars(select(Query).order_by(Query.id)))
        for q in rows:
            _ = q.messages, q.requester
        return rows


def stored_attachments(helpdesk) -> list[Attachment]:
    with unit_of_work(helpdesk.sessions) as s:
        return list(s.scalars(select(Attachment).order_by(Attachment.id)))


def stored_raw(helpdesk) -> list[RawEmail]:
    with unit_of_work(helpdesk.sessions) as s:
        return list(s.scalars(select(RawEmail).order_by(RawEmail.id)))


# ----------------------------------------------------------- 1. raw UTF-8 headers (RFC 6532)
def test_an_irish_name_written_in_raw_utf8_is_read_and_the_query_stored(helpdesk):
    raw = message("From: Tomás Ó Briain <tomas@example.ie>".encode(),
                  "Subject: Jeunes travailleurs à l’usine".encode())
    email = parse_email(raw)
    assert email.quarantine_reason is None
    assert (email.sender, email.sender_name) == ("tomas@example.ie", "Tomás Ó Briain")
    assert email.subject == "Jeunes travailleurs à l’usine"

    assert helpdesk.service.receive_email(email).outcome is Outcome.QUERY
    [query] = stored(helpdesk)
    assert query.requester.name == "Tomás Ó Briain" and query.subject == "Jeunes travailleurs à l’usine"


def test_raw_header_bytes_that_are_not_utf8_are_still_quarantined_as_forged():
    email = parse_email(message(b"Subject: caf\xe9 \xff\xfe"))
    assert "not valid UTF-8" in email.quarantine_reason and email.quarantine_fixable is False


# ----------------------------------------------------------- 2. NUL and control characters
NUL_NAME = b"=?utf-8?b?" + b64(b"Jane\x00 Osei\x1b") + b"?="
HOSTILE_TEXT = {
    "subject": message(b"Subject: =?utf-8?b?" + b64(b"Young\x00 workers\x07") + b"?="),
    "sender name": message(b"From: " + NUL_NAME + b" <jane@acme.example>"),
    "base64 body": message(body=b64(QUESTION.encode() + b"\x00\x01 Thanks,\tJane\r\n"), encoding=b"base64"),
    "attachment name": (
        b"From: Jane Osei <jane@acme.example>\r\nTo: helpdesk@example.org\r\nSubject: Young workers\r\n"
        b"Message-ID: <m2@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + QUESTION.encode() + b"\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''contract%00%1F.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(b"%PDF-1.4 contract") + b"\r\n--b--\r\n"),
}


def _all_text(email) -> str:
    return "".join([email.subject or "", email.sender or "", email.sender_name or "", email.text, email.new_text,
                    *(a.filename for a in email.attachments)])


@pytest.mark.parametrize("where", list(HOSTILE_TEXT))
def test_nul_and_control_characters_are_removed_and_the_query_stored_even_on_postgresql(helpdesk, where):
    raw = HOSTILE_TEXT[where]
    email = parse_email(raw)
    text = _all_text(email)
    assert email.quarantine_reason is None
    assert not any(ch in text for ch in "\x00\x01\x07\x1b\x1f")

    assert helpdesk.service.receive_email(email).outcome is Outcome.QUERY
    [query] = stored(helpdesk)
    assert QUESTION in query.text and "\x00" not in query.messages[0].body
    assert [r.raw for r in stored_raw(helpdesk)] == [raw]  # the bytes as received, NUL included
    if where == "subject":
        assert query.subject == "Young workers"
    if where == "sender name":
        assert query.requester.name == "Jane Osei"
    if where == "base64 body":
        assert "Thanks,\tJane" in query.messages[0].body  # tab and line breaks are kept
    if where == "attachment name":
        assert [a.filename for a in stored_attachments(helpdesk)] == ["contract.pdf"]


def test_an_absurdly_long_subject_is_cut_to_fit_the_store(helpdesk):
    email = parse_email(message(b"Subject: " + b"overtime " * 100))
    assert len(email.subject) <= 255
    assert helpdesk.service.receive_email(email).outcome is Outcome.QUERY


# ----------------------------------------------------------- 3. "Latin-1" means Windows-1252
@pytest.mark.parametrize("label", ["iso-8859-1", "ISO-8859-1", "latin-1", "latin1", "us-ascii", "ascii"])
def test_outlook_quotes_dashes_and_euros_labelled_latin1_or_ascii_survive(label):
    body = b"We\x92re paid 5\x80 a day \x96 is that legal?"  # Windows-1252 bytes, as Outlook sends them
    assert "We’re paid 5€ a day – is that legal?" in parse_email(raw_mail(body, charset=label)).text


def test_utf8_labelled_ascii_is_read_as_utf8_and_other_latin_charsets_keep_their_own_table():
    assert "Congés payés" in parse_email(raw_mail("Congés payés".encode(), charset="us-ascii")).text
    assert "Prime de 5 €" in parse_email(raw_mail(b"Prime de 5 \xa4", charset="iso-8859-15")).text


FRENCH = ("Madame, Monsieur,\n\nNos employés travaillent le dimanche et les jours fériés. Les congés payés "
          "sont-ils dus pour ces journées ? L'employeur a-t-il le droit de refuser la récupération ? "
          "Un délégué du personnel nous a répondu que l'accord d'entreprise l'autorisait.\n\n") * 8


def test_one_stray_latin1_byte_in_a_utf8_body_damages_that_one_character_not_every_accent():
    at = FRENCH.index("répondu") + 1
    body = FRENCH[:at].encode() + b"\xe9" + FRENCH[at + 1:].encode()  # one "é" written in Latin-1 by a sloppy tool
    text = parse_email(raw_mail(body, charset="utf-8")).text
    assert text.count("\ufffd") == 1 and "r\ufffdpondu" in text
    assert text.count("é") == FRENCH.count("é") - 1 and "Ã" not in text  # every other accent intact, no mojibake
    assert text.replace("\ufffd", "é") == parse_email(raw_mail(FRENCH.encode(), charset="utf-8")).text


@pytest.mark.parametrize("label", ["utf-8", "us-ascii", None])
def test_a_latin1_body_labelled_utf8_or_unlabelled_is_still_read_as_windows_1252(label):
    body = FRENCH.encode("cp1252") + b"Co\xfbt : 5\x80 \x96 d\xe9j\xe0 pay\xe9."
    assert decode_bytes(body, label) == FRENCH + "Coût : 5€ – déjà payé."


def test_a_mixed_body_is_read_in_the_charset_that_damages_fewest_characters():
    # A UTF-8 reply quoting two Latin-1 words: UTF-8 loses two characters, Windows-1252 would garble dozens.
    mostly_utf8 = FRENCH.encode() + b"> Cong\xe9s pay\xe9s\n"
    assert decode_bytes(mostly_utf8, "utf-8") == FRENCH + "> Cong\ufffds pay\ufffds\n"
    # A Latin-1 message with one UTF-8 "é" pasted in: Windows-1252 garbles that one, UTF-8 would lose them all.
    mostly_latin1 = FRENCH.encode("cp1252") + "Résumé".encode()
    assert decode_bytes(mostly_latin1, "utf-8") == FRENCH + "RÃ©sumÃ©"
    # U+FFFD characters the sender really wrote are no sign of damage.
    written = "Réponse : \ufffd\ufffd\ufffd "
    assert decode_bytes(written.encode() + b"\xe9", "utf-8") == written + "\ufffd"


# ----------------------------------------------------------- 4. forwards
def _forward_as_attachment(note: str = "Could the helpdesk answer this one?", subject: str = "Fwd: Sunday work",
                           inner_subject: str = "forwarded message") -> tuple[bytes, bytes]:
    inner = EmailMessage()
    inner["From"], inner["To"] = "Amina Diallo <amina@client.example>", "jo.ramos@example.org"
    inner["Subject"], inner["Message-ID"] = inner_subject, "<original@client.example>"
    inner.set_content("Can my employer make me work every Sunday without extra pay?")
    outer = EmailMessage()
    outer["From"], outer["To"] = "Jo Ramos <jo.ramos@example.org>", "helpdesk@example.org"
    outer["Subject"], outer["Message-ID"] = subject, "<forward@example.org>"
    if note:
        outer.set_content(note)
    outer.add_attachment(inner)
    return outer.as_bytes(policy=SMTP), inner.as_bytes(policy=SMTP)


def test_a_forwarded_message_is_kept_as_an_eml_attachment_not_pasted_into_the_body(helpdesk):
    raw, inner = _forward_as_attachment()
    email = parse_email(raw)
    [eml] = email.attachments
    assert (eml.filename, eml.content_type, eml.data) == ("forwarded message.eml", "message/rfc822", inner)
    assert email.text == "Could the helpdesk answer this one?"
    assert "every Sunday" in email.new_text  # the forwarded question is what gets triaged
    assert email.sender == "jo.ramos@example.org"
    assert email.forwarded_from == ("amina@client.example", "Amina Diallo")

    assert helpdesk.service.receive_email(email).outcome is Outcome.QUERY
    [a] = stored_attachments(helpdesk)
    assert (a.filename, a.content_type, a.data) == ("forwarded message.eml", "message/rfc822", inner)


def test_a_forward_without_a_note_is_read_from_the_forwarded_message():
    raw, _ = _forward_as_attachment(note="", inner_subject="Sunday work")
    email = parse_email(raw)
    assert "every Sunday" in email.text and email.attachments[0].filename == "Sunday work.eml"


INLINE_FORWARDS = {
    "gmail": ("Fwd: Sunday work", "Please see below.\n\n---------- Forwarded message ---------\n"
              "From: Amina Diallo <amina@client.example>\nDate: Mon, 2 Mar 2026\nSubject: Sunday work\n"),
    "outlook": ("FW: Sunday work", "Please see below.\n\n-----Original Message-----\n"
                "From: Amina Diallo [mailto:amina@client.example]\nSent: Monday, March 2, 2026\n"),
    "apple mail, french": ("TR: Travail le dimanche", "Voir ci-dessous.\n\nDébut du message réexpédié :\n\n"
                           "De: Amina Diallo <amina@client.example>\nObjet: Travail le dimanche\n"),
    "gmail, spanish": ("RV: Trabajo dominical", "Ver abajo.\n\n---------- Mensaje reenviado ---------\n"
                       "De: Amina Diallo <amina@client.example>\nFecha: lun, 2 mar 2026\n"),
}


@pytest.mark.parametrize("client", list(INLINE_FORWARDS))
def test_an_inline_forward_names_the_original_sender_and_keeps_the_colleague_as_sender(client):
    subject, text = INLINE_FORWARDS[client]
    email = parse_email(mail(text + "\nCan my employer make me work every Sunday?", subject=subject,
                             sender="Jo Ramos <jo.ramos@example.org>"))
    assert email.forwarded_from == ("amina@client.example", "Amina Diallo")
    assert email.sender == "jo.ramos@example.org" and "every Sunday" in email.text


def test_a_reply_quoting_an_outlook_original_message_is_no_forward():
    email = parse_email(mail("Thanks!\n\n-----Original Message-----\nFrom: Helpdesk <helpdesk@example.org>\n",
                             subject="RE: Sunday work"))
    assert email.forwarded_from is None


# ----------------------------------------------------------- 5. bounces and out-of-office replies
def test_a_null_return_path_marks_a_bounce_even_without_a_delivery_report(helpdesk):
    raw = message(b"From: Mail System <notifications@mx.example.net>", b"Return-Path: <>",
                  b"Subject: Message not delivered",
                  body=b"Your message could not be delivered.\r\n\r\nMessage-ID: <sent1@example.org>\r\n")
    email = parse_email(raw)
    assert email.automatic == "bounce" and email.bounced_message_ids == ("<sent1@example.org>",)
    assert helpdesk.service.receive_email(email).outcome is Outcome.BOUNCE


def test_a_bounce_cut_short_by_the_mta_is_still_a_bounce_not_quarantined(helpdesk):
    truncated = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: helpdesk@example.org\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce2@mx.example.org>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <sent2@example.org>\r\n"
        b"Subject: [HD-2026-0001] Input requested\r\nContent-Type: multipart/alternative; boundary=\"Q\"\r\n\r\n"
        b"--Q\r\nContent-Type: text/plain\r\n\r\nThe helpdesk has received qu")  # no closing boundaries
    email = parse_email(truncated)
    assert email.quarantine_reason is None and email.automatic == "bounce"
    assert email.bounced_message_ids == ("<sent2@example.org>",)
    assert helpdesk.service.receive_email(email).outcome is Outcome.BOUNCE


@pytest.mark.parametrize("subject", [
    "Out of office", "Out of Office: your query", "Automatic reply: Young workers", "Autoreply: Young workers",
    "Message d'absence", "Réponse automatique : Jeunes travailleurs", "Absence du bureau",
    "Fuera de oficina", "Respuesta automática: Trabajadores jóvenes", "Abwesenheitsnotiz: Young workers",
    "Automatische Antwort: Young workers", "AUTO: Jane Osei is out of the office (returning 09/03/2026)",
    "[AUTO GENERATED] Young workers",
])
def test_out_of_office_replies_without_headers_are_recognised_by_their_subject(subject):
    assert parse_email(mail("I am away until Monday.", subject=subject)).automatic == "auto-reply"


@pytest.mark.parametrize("subject", ["Absence for sickness: is it paid?", "Out of office hours: can they call me?"])
def test_questions_about_absence_or_office_hours_are_not_mistaken_for_auto_replies(subject):
    assert parse_email(mail(subject=subject)).automatic is None


def test_existing_signs_of_automatic_mail_still_count():
    assert parse_email(mail(headers={"Auto-Submitted": "auto-replied"})).automatic == "auto-reply"
    assert parse_email(mail(headers={"Auto-Submitted": "auto-replied", "Return-Path": "<>"})).automatic == "auto-reply"
    assert parse_email(mail(headers={"List-Id": "<news.example.org>"})).automatic == "bulk"
    assert parse_email(mail(sender="MAILER-DAEMON@mx.example.org")).automatic == "bounce"


# ----------------------------------------------------------- 6. recipients
def test_recipients_are_every_address_the_message_was_sent_to_in_lower_case():
    raw = message(b"To: Helpdesk <HelpDesk@Example.org>, jo.ramos@example.org",
                  b"Cc: \"Osei, Kwame\" <kwame@acme.example>", b"Delivered-To: helpdesk@example.org",
                  b"X-Original-To: questions@example.org")
    assert parse_email(raw).recipients == ("helpdesk@example.org", "jo.ramos@example.org", "kwame@acme.example",
                                           "questions@example.org")


# ----------------------------------------------------------- 7. the receiving server's verdict
@pytest.mark.parametrize(("results", "failed"), [
    (None, False),
    (b"mx.example.org; dkim=pass header.d=acme.example; spf=pass; dmarc=pass", False),
    (b"mx.example.org; dkim=none; spf=pass smtp.mailfrom=acme.example; dmarc=fail (p=reject)", True),
    (b"mx.example.org; dkim=fail header.d=acme.example; spf=fail smtp.mailfrom=acme.example", True),
    (b"mx.example.org; dkim=none; spf=softfail smtp.mailfrom=acme.example; dmarc=none", True),
    (b"mx.example.org; spf=softfail smtp.mailfrom=acme.example", True),
    (b"mx.example.org; dkim=pass header.d=acme.example; spf=softfail (forwarded)", False),
], ids=["absent", "pass", "dmarc-fail", "dkim-and-spf-fail", "no-dkim-spf-softfail", "spf-only-softfail",
        "dkim-pass"])
def test_authentication_failed_follows_the_receiving_servers_verdict(results, failed):
    headers = [b"Authentication-Results: " + results] if results else []
    # a header further down was written by some server before ours: it does not count
    headers.append(b"Authentication-Results: relay.elsewhere.example; dmarc=fail; spf=fail")
    assert parse_email(message(*headers) if results else message()).authentication_failed is failed


# ----------------------------------------------------------- 8. who deserves a notice
def _with_attachment(name: str, ctype: str, data: bytes) -> bytes:
    return mail("See attached.", attachment=(name, ctype, data))


FIXABLE = {
    "zip": (lambda: parse_email(_with_attachment("files.zip", "application/zip", b"PK\x03\x04" + b"0" * 100)),
            "archive or program", True),
    "big attachment": (lambda: parse_email(_with_attachment("scan.pdf", "application/pdf", b"%PDF" + b"x" * 5000),
                                           limits=Limits(max_attachment_bytes=1000)), "the limit is", True),
    "big message": (lambda: parse_email(_with_attachment("scan.pdf", "application/pdf", b"%PDF" + b"x" * 5000),
                                        limits=Limits(max_message_bytes=2000)), "the limit is", True),
    "broken mime": (lambda: parse_email(message(content_type=b"multipart/mixed")), "broken MIME", True),
    "raw latin-1 header": (lambda: parse_email(message(b"Subject: caf\xe9")), "not valid UTF-8", False),
    "header injection": (lambda: parse_email(message(b"Subject: =?utf-8?b?" + b64(b"Hi\r\nBcc: v@x.example") + b"?=")),
                         "header injection", False),
    "injection in the name": (lambda: parse_email(message(b"From: =?utf-8?b?" + b64(b"Jane\r\nBcc: v@x.example")
                                                          + b"?= <jane@acme.example>")), "header injection", False),
    "no sender": (lambda: parse_email(message(b"From: undisclosed")), "no valid From", False),
    "automatic": (lambda: parse_email(mail("Away.", headers={"Auto-Submitted": "auto-replied"},
                                           attachment=("files.zip", "application/zip", b"PK\x03\x04"))),
                  "archive or program", False),
}


@pytest.mark.parametrize("case", list(FIXABLE))
def test_only_a_real_sender_who_can_fix_the_reason_is_marked_for_a_notice(case):
    parse, reason, fixable = FIXABLE[case]
    email = parse()
    assert reason in email.quarantine_reason
    assert email.quarantine_fixable is fixable
    if fixable:  # the notice needs somewhere to go
        assert email.sender == "jane@acme.example"


def test_a_quarantined_message_is_stored_with_its_bytes(helpdesk):
    raw = _with_attachment("files.zip", "application/zip", b"PK\x03\x04" + b"0" * 100)
    assert helpdesk.service.receive_email(parse_email(raw)).outcome is Outcome.QUARANTINED
    [kept] = stored_raw(helpdesk)
    assert kept.outcome == "quarantined" and kept.raw == raw and "archive" in kept.reason
    assert stored(helpdesk) == []
