"""Some 400 real messages that mail software projects collected for their own test suites (bounces from
dozens of MTAs, auto-replies, challenge-response, abuse reports, lists, newsletters, spam, people's mail in
many charsets; ``tests/mail_corpus/SOURCES.md``), each with the outcome a user of the helpdesk expects
(``tests/mail_corpus/expected.tsv``): a bounce is a bounce, automatic mail is never answered, spam is held,
a person's mail becomes a query in the language it is written in, and nothing is lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from classifier.language import LanguageDetector
from ingest.parsing import parse_email
from kb.db import unit_of_work
from kb.inbound import Outcome
from kb.models import Attachment, OutboxKind, OutboxMessage, Query, RawEmail

CORPUS = Path(__file__).with_name("mail_corpus")


def manifest() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in (CORPUS / "expected.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            path, kind, outcome, note = (line.split("\t") + [""] * 4)[:4]
            rows.append((path, kind, outcome, note))
    return rows


EXPECTED = manifest()


def test_the_manifest_names_every_message_of_the_corpus_once():
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()
             and p.name not in ("SOURCES.md", "expected.tsv")}
    listed = [path for path, *_ in EXPECTED]
    assert len(listed) == len(set(listed)) and set(listed) == files
    assert len(files) >= 400


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector()


@pytest.mark.parametrize(("path", "kind", "outcome", "note"), EXPECTED, ids=[row[0] for row in EXPECTED])
def test_each_message_is_recognised_for_what_it_is(path, kind, outcome, note, detector):
    email = parse_email((CORPUS / path).read_bytes())
    if kind == "quarantined":
        assert email.quarantine_reason and note in email.quarantine_reason
        return
    assert email.quarantine_reason is None, email.quarantine_reason
    assert (email.automatic or "person") == kind, email.automatic_reason
    if email.automatic:
        assert email.automatic_reason, "every automatic outcome says which sign told"
    if outcome == "query" and note != "*" or outcome == "rejected" and note == "other":
        text = email.new_text or email.text
        assert detector.detect(f"{email.subject or ''}\n{text}").language == note


#: What a person wrote must be read, whatever the charset label says (issue 17).
READ = {
    "written/gb2312-label-gbk-byte.eml": ("加班多少小时", "镕"),
    "written/ks-c-5601-1987-korean.eml": ("초과 근무 수당", "똠"),
    "written/euc-kr-short-korean.eml": ("최저임금은 얼마입니까",),
    "written/shift-jis-short-japanese.eml": ("残業代は支払われますか", "①"),
    "written/iso-8859-2-short-czech.eml": ("Může zaměstnavatel snížit mzdu za přesčasy",),
    "written/unlabelled-korean.eml": ("청소년 근로자는 하루에 몇 시간",),
    "written/utf8-labelled-latin1.eml": ("Les salariés de notre filiale ont-ils droit à des congés payés",),
    "written/named-inline-text-only.eml": ("How many hours of overtime may our drivers work",),
    "mailparser/mail_test_9.eml": ("我把镜头拉近些",),
}


@pytest.mark.parametrize("path", list(READ))
def test_what_people_write_is_read_in_its_own_script(path):
    email = parse_email((CORPUS / path).read_bytes())
    for words in READ[path]:
        assert words in email.text
    assert "\ufffd" not in email.text and "\ufffd" not in (email.subject or "")


def test_the_corpus_through_the_helpdesk_answers_only_people_and_loses_nothing(helpdesk):
    """Every message through the store: the expected outcome, no automatic sender ever gets a message, every
    query keeps its attachments, and every message is stored with its bytes."""
    service = helpdesk.service
    seen_ids: set[str] = set()
    automatic_senders, people, wrong = set(), set(), []
    attachments_expected = 0
    for path, kind, outcome, note in EXPECTED:
        raw = (CORPUS / path).read_bytes()
        email = parse_email(raw)
        result = service.receive_email(email)
        want = Outcome(outcome)
        if email.message_id in seen_ids and want in (Outcome.QUERY, Outcome.AUTOMATIC, Outcome.BOUNCE,
                                                     Outcome.REJECTED):
            want = Outcome.DUPLICATE  # a test suite's messages share Message-IDs now and then
        if result.outcome is not want:
            wrong.append((path, result.outcome.value, want.value, result.detail))
        if result.outcome is not Outcome.QUARANTINED and email.message_id:
            seen_ids.add(email.message_id)
        if email.sender:  # a test suite reuses an address for a person and a machine now and then
            (people if kind in ("person", "quarantined") else automatic_senders).add(email.sender)
        if result.outcome is Outcome.QUERY:
            attachments_expected += len(email.attachments)
    assert wrong == []
    with unit_of_work(helpdesk.sessions) as s:
        raws = list(s.scalars(select(RawEmail)))
        assert len(raws) == len(EXPECTED) and all(r.outcome != "pending" for r in raws)
        automatic = [r for r in raws if r.outcome in ("automatic", "bounce")]
        assert automatic and all(r.reason for r in automatic), "every automatic outcome records its reason"
        spam = [r for r in raws if r.reason and "marked as spam by the receiving server" in r.reason]
        assert len(spam) == sum(1 for _, kind, *_ in EXPECTED if kind == "spam")
        sent_to = {r.lower() for o in s.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(
            [OutboxKind.ACKNOWLEDGEMENT, OutboxKind.NOTICE]))) for r in o.recipients}
        assert sent_to and not sent_to & (automatic_senders - people), "no machine is ever answered"
        assert s.query(Attachment).count() >= attachments_expected
        # Written in another language: refused politely (in the three), never guessed into one of them.
        assert set(s.scalars(select(Query.language))) <= {"en", "fr", "es"}
        assert sum(1 for r in raws if r.outcome == "rejected" and "looks written in" in (r.reason or "")) == \
            sum(1 for _, _, outcome, note in EXPECTED if outcome == "rejected" and note == "other")



def test_bounce_formats_are_read_as_every_detector_would_read_them_when_the_slow_ones_are_skipped():
    """Skipping the detectors that read every line for a start line no line has, and those that read only one
    mail system's bounces when the From header cannot be its address, changes no answer (Yahoo's, AOL's and
    Yale's bounces are among these messages)."""
    from email.parser import BytesParser

    from ingest import automatic
    from ingest.parsing import POLICY

    detectors = automatic._detectors()
    assert detectors is not None and automatic._line_scanners()[1] is not None  # the fast path is in use

    def every_detector(msg):
        for detector in detectors:
            try:
                temporary, permanent = detector().process(msg)
            except Exception:  # noqa: BLE001 - as the helpdesk does
                continue
            if temporary or permanent:
                return frozenset(temporary), frozenset(permanent)
        return frozenset(), frozenset()

    skipped = 0
    for path, *_ in EXPECTED:
        msg = BytesParser(policy=POLICY).parsebytes((CORPUS / path).read_bytes())
        assert automatic._detected(msg) == every_detector(msg), path
        skipped += not automatic._may_have_start_line(msg, automatic._line_scanners()[1])
    assert skipped > len(EXPECTED) / 3  # people's mail, and the bounces other detectors read
