"""Heavy mail: large attachments read straight from the message's bytes, and a mailbox of thirty 20 MB
messages processed by one `helpdesk fetch-mail` in under 300 MiB (issue 16).

The email package keeps about five copies of a large part while parsing it; ``ingest.large_parts`` cuts
long base64 runs out before parsing and decodes each from the original bytes. What the user notices:
every attachment arrives byte for byte (also inside a forwarded message), a long base64 text is read,
and memory stays flat however many heavy messages the mailbox holds.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ingest.large_parts import CUT_ABOVE, LargeParts
from ingest.parsing import Limits, parse_email

LIMITS = Limits(30 << 20, 25 << 20)


def heavy(size: int, *, text_body: str = "Are 72-hour weeks at our supplier legal? The audit is attached.") -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Auditor <auditor@audits.example>", "helpdesk@example.org", "Audit report"
    m["Message-ID"] = make_msgid(domain="audits.example")
    m.set_content(text_body)
    m.add_attachment(b"%PDF-1.4\n" + os.urandom(size), maintype="application", subtype="pdf", filename="audit.pdf")
    return m.as_bytes(policy=SMTP)


def pdf_of(raw: bytes) -> bytes:
    """The attachment of a message, as the email package decodes it (slowly, but surely)."""
    [data] = [p.get_payload(decode=True) for p in message_from_bytes(raw, _class=EmailMessage, policy=SMTP).walk()
              if p.get_filename()]
    return data


def test_a_large_attachment_arrives_byte_for_byte_without_the_parsers_copies():
    raw = heavy(3 << 20)
    assert len(raw) > CUT_ABOVE and LargeParts(raw).cut
    email = parse_email(raw, limits=LIMITS)
    [attachment] = email.attachments
    assert attachment.data == pdf_of(raw) and attachment.filename == "audit.pdf"
    assert "72-hour weeks" in email.text and email.quarantine_reason is None


def test_a_forwarded_message_keeps_its_large_attachment_in_its_eml():
    inner = heavy(2 << 20)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Colleague <colleague@helpdesk.example>", "helpdesk@example.org", "Fwd: audit"
    m["Message-ID"] = make_msgid(domain="helpdesk.example")
    m.set_content("Forwarding this audit question.")
    m.add_attachment(inner, maintype="message", subtype="rfc822")
    email = parse_email(m.as_bytes(policy=SMTP), limits=LIMITS)
    eml = next(a for a in email.attachments if a.filename.endswith(".eml"))
    assert b"HelpdeskLargePart" not in eml.data
    assert pdf_of(eml.data) == pdf_of(inner)


def test_a_long_text_sent_in_base64_is_read():
    words = "Overtime at our plant in Ghana is paid at the normal rate. Is that allowed? " * 20_000
    body = base64.encodebytes(words.encode()).replace(b"\n", b"\r\n")
    raw = (b"From: Kofi <kofi@acme.example>\r\nTo: helpdesk@example.org\r\nSubject: Overtime\r\n"
           b"Message-ID: <long@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + body)
    assert LargeParts(raw).cut
    assert parse_email(raw, limits=LIMITS).text == words.strip()


def test_long_lines_of_letters_that_are_not_base64_stay_as_written():
    lines = "\r\n".join("A" * 76 for _ in range(20_000))
    raw = ("From: Kofi <kofi@acme.example>\r\nTo: helpdesk@example.org\r\nSubject: Codes\r\n"
           "Message-ID: <codes@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 7bit\r\n\r\nOur product codes:\r\n" + lines + "\r\n").encode()
    assert parse_email(raw, limits=LIMITS).text.replace("\n", "").endswith("A" * 76 * 20_000)


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs /usr/bin/time (Debian's time package)")
def test_thirty_20_mb_messages_are_processed_by_one_fetch_in_under_300_mib(dovecot, trained_model_path, tmp_path):
    shutil.copy(trained_model_path, tmp_path / "topic-model.npz")
    env = dict(os.environ, HELPDESK_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'helpdesk.db'}",
               HELPDESK_IMAP_HOST="127.0.0.1", HELPDESK_IMAP_PORT=str(dovecot.port), HELPDESK_IMAP_USER=dovecot.user,
               HELPDESK_IMAP_PASSWORD=dovecot.password, HELPDESK_IMAP_SECURITY="plain",
               HELPDESK_MAX_ATTACHMENT_MB="20")
    helpdesk = str(Path(sys.executable).with_name("helpdesk"))
    # A helpdesk that has run before (its store made, its Q&A index saved), as a mailbox reader usually is.
    dovecot.append(heavy(1000, text_body="How many hours of overtime may we ask of night-shift workers?"))
    assert subprocess.run([helpdesk, "fetch-mail"], env=env, capture_output=True, timeout=120).returncode == 0
    for number in range(30):
        dovecot.append(heavy(15 << 20))
    run = subprocess.run(["/usr/bin/time", "-f", "PEAK %M", helpdesk, "fetch-mail"], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "30 new message(s) stored, 30 processed {'query': 30}" in run.stdout
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM attachment WHERE size > 15000000")).scalar() == 30
    engine.dispose()
    peak_mib = int(run.stderr.rsplit("PEAK ", 1)[1].split()[0]) / 1024
    assert peak_mib < 300, f"peak {peak_mib:.0f} MiB"
