"""Plainly written headers are read without the parser, and read exactly as the parser reads them.

A From, Subject or Message-ID of printable ASCII (most mail) skips the standard library's parse tree;
anything odd (encoded words, quoting, comments, groups, 8-bit text) still goes to the parser. These tests
compare both readings on hundreds of values, plain and not: where the quick reading answers, it must give
what the parser gives.
"""

from __future__ import annotations

import random
from email.parser import BytesParser

from ingest.parsing import POLICY, parse_email
from ingest.plain_headers import plain_sender, plain_text, read_as_text

NAMES = ["Jane", "Jane Osei", "Jane  Osei", "O'Brien", "Jane O. Osei", "J.", "Jane-Marie", "jane_doe", "Jane {x}",
         "=?utf-8?q?Jos=C3=A9?=", "José", "a=b", "a?b", "Jane\tOsei", "x|y", "#1", "Osei, Jane", "(c)", "A B C D",
         '"Osei, Jane"', '"Jane Osei"', '" Jane"', '"Jane "', '"Jane  Osei"', '"a\\"b"', '""', '"x@y"', '"<x>"',
         '"a(b)c"', '"=?utf-8?q?x?="', '"Jane;Osei"', '"a:b"', '"Dr. J"']
ADDRESSES = ["jane@acme.example", "j.o@acme.example", "j..o@acme.example", ".j@acme.example", "j@acme",
             "j@acme.", "j+x@a-b.example", "J@ACME.EXAMPLE", "j@[1.2.3.4]", "j@acme..example", "j@-acme.example",
             '"j o"@a.example', "j@a_b.example", "j=x@a.example", "j?x@a.example", "j@a.example.", "j@localhost"]


def _message(headers: str):
    return BytesParser(policy=POLICY).parsebytes(headers.encode("utf-8") + b"\r\n\r\nHello\r\n")


def _from_values() -> list[str]:
    values = []
    for address in ADDRESSES:
        values += [address, f"<{address}>", f" {address} ", f"{address} (comment)"]
        for name in NAMES:
            values += [f"{name} <{address}>", f"{name}<{address}>", f"{name}  <{address}>", f" {name} <{address}> ",
                       f"{name} <{address}>, other@acme.example", f"{name} <{address}\r\n >"]
    return values


def test_a_plain_from_is_read_as_the_parser_reads_it():
    quick = 0
    for value in _from_values():
        msg = _message(f"From: {value}\r\nTo: helpdesk@ilo.example")
        plain, address, name = plain_sender(msg)
        if not plain:
            continue
        quick += 1
        parsed = msg.get("From").addresses
        assert len(parsed) == 1, value
        assert (address, name) == (parsed[0].addr_spec, parsed[0].display_name or ""), value
    assert quick > 300  # the common forms do take the quick way


def test_odd_from_headers_still_go_to_the_parser():
    for value in ["=?utf-8?q?Jos=C3=A9?= <jose@acme.example>", '"Osei, \\"Jane\\"" <jane@acme.example>',
                  "jane@acme.example (Jane)", "Jane O. Osei <jane@acme.example>", "a@acme.example, b@acme.example",
                  "Team: a@acme.example;", "José <jose@acme.example>", "<>", "undisclosed"]:
        assert plain_sender(_message(f"From: {value}"))[0] is False, value


def test_a_plain_message_id_subject_or_references_is_read_as_the_parser_reads_it():
    rnd = random.Random(7)
    ids = ["<a@b>", "<a.b@c.d>", " <a@b> ", "<a b@c>", "<a@b><c@d>", "<a@b", "a@b", '<"x"@b>', "<a@[1.2.3.4]>",
           "<a..b@c>", "<a@b> (c)", "<=?utf-8?q?x?=@b>", "<a@b@c>", "<>", "<CAF+abc/def=@mail.gmail.com>"]
    ids += ["<" + "".join(rnd.choice("abcXYZ019.+-_=/$!#@ ") for _ in range(rnd.randint(1, 20))) + ">"
            for _ in range(300)]
    texts = ["Hello", "Hello  world ", "a\tb", "Re: [HD-2026-0001] q", '"q"', "a\\b", "x (c) y", "=?utf-8?q?x?=",
             "a =? b", "Fwd: RE: aw: x", "trailing  ", "<a@b>\r\n <c@d>", "Minimum wage in Côte d'Ivoire"]
    texts += ["".join(rnd.choice("ab \t()<>@,;:\\\"/[]?=.'-") for _ in range(rnd.randint(1, 30))).strip() or "x"
              for _ in range(300)]
    quick = 0
    for name, values in (("Message-ID", ids), ("Subject", texts), ("In-Reply-To", ids + texts),
                         ("References", ids + texts)):
        for value in values:
            msg = _message(f"From: jane@acme.example\r\n{name}: {value}")
            plain, text = plain_text(msg, name)
            if plain:
                quick += 1
                assert text == str(msg.get(name)), (name, value)
    assert quick > 600


def test_bounce_detectors_read_plain_headers_as_text_and_the_message_keeps_its_own_policy():
    msg = _message("From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nSubject: =?utf-8?q?Non_remis?=")
    with read_as_text(msg):
        assert msg.get("From") == "Mail Delivery System <MAILER-DAEMON@mx.example>"
        assert type(msg.get("From")) is str
        assert msg.get("Subject") == "Non remis"  # not plain: the parser reads it
    assert msg.get("From").addresses[0].addr_spec == "MAILER-DAEMON@mx.example"


def test_a_person_writing_plainly_is_read_as_before():
    raw = (b"From: Jane Osei <Jane.Osei@acme.example>\r\nTo: helpdesk@ilo.example\r\n"
           b"Subject: Overtime pay in Ghana\r\nMessage-ID: <q1@acme.example>\r\n"
           b"References: <a@ilo.example>\r\n <b@ilo.example>\r\n\r\nHow is overtime paid?\r\n")
    email = parse_email(raw)
    assert (email.sender, email.sender_name) == ("jane.osei@acme.example", "Jane Osei")
    assert (email.subject, email.message_id) == ("Overtime pay in Ghana", "<q1@acme.example>")
    assert email.references == ("<a@ilo.example>", "<b@ilo.example>")
    assert email.quarantine_reason is None
