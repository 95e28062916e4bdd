"""A data-protection officer's requests: where personal data lives, a person's export, their erasure,
the retention rule, and who read what.

The story: Jürgen Weber of Acme Textiles writes to the helpdesk by email (a signature with his phone
number, a contract attached), the helpdesk acknowledges, routes, replies, he rates the reply, and an email
of his is quarantined. Ana López asks on Telegram. Then Jürgen asks for his data, and then for its
erasure: afterwards no column and no file of the data folder (SQLite's free pages and write-ahead log
included) holds his name, address or phone, Ana's data is whole, and the annual report counts the same.
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, cast, select

from ingest.folders import DropFolderIngestor, FolderSender
from kb.db import unit_of_work
from kb.models import Base, Channel, Query, Requester
from kb.intake import QuerySubmission
from kb.privacy.data_map import COLUMNS, EXPORTED, Holds, unclassified

NAME, EMAIL = "Jürgen Weber", "jurgen.weber@acme-textiles.example"
PHONE = "+49 30 1234 5678"
CONTRACT = "Supply contract between Acme Textiles and Jürgen Weber's suppliers".encode()
ANA_CHAT, ANA = 700123456, "Ana López"


def jurgens_email(subject: str, body: str, *, attachment: tuple[str, bytes] | None = None,
                  message_id: str = "<q1.jw@acme-textiles.example>") -> bytes:
    m = EmailMessage()
    m["From"], m["To"] = f"{NAME} <{EMAIL}>", "helpdesk@example.org"
    m["Subject"], m["Message-ID"] = subject, message_id
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment[1], maintype="application", subtype="octet-stream", filename=attachment[0])
    return bytes(m)


QUESTION = (f"Dear Helpdesk,\n\nOur supplier in Bangladesh asks garment workers to do 80 hours of overtime a "
            f"month. Is there an ILO limit on overtime hours we should require in our code of conduct?\n\n"
            f"Kind regards,\n{NAME}\nCompliance Manager, Acme Textiles\nTel: {PHONE}\n")


def seed(helpdesk, tmp_path: Path, clock) -> str:
    """Jürgen's query by email (acknowledged, routed, answered, rated), a quarantined email of his, and
    Ana's query on Telegram; returns Jürgen's reference."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / "q1.eml").write_bytes(jurgens_email("Overtime limits at our supplier", QUESTION,
                                                 attachment=("contract.txt", CONTRACT)))
    (inbox / "q2.eml").write_bytes(jurgens_email("Another file", "Please see the attached archive.\n" + NAME,
                                                 attachment=("files.zip", b"PK\x03\x04" + b"\x00" * 40),
                                                 message_id="<q2.jw@acme-textiles.example>"))
    DropFolderIngestor(inbox, helpdesk.service).run_once()
    service = helpdesk.service
    service.submit_query(QuerySubmission(text="¿Cuántas horas extra puede trabajar un empleado a la semana?",
                                         channel=Channel.TELEGRAM, telegram_chat_id=ANA_CHAT, name=ANA,
                                         organisation=f"{ANA} Consultores", source_key="tg:1"))
    with unit_of_work(helpdesk.sessions) as session:
        reference = session.scalar(select(Query.reference).join(Requester).where(Requester.email == EMAIL))
    service.send_reply(reference, "specialist", f"Dear {NAME},\n\nThe ILO Hours of Work Convention limits "
                                                "hours; overtime should be limited and paid at a premium.\n\n"
                                                "Best regards,\nThe Helpdesk", without_clearance="test")
    service.record_feedback(reference, 5, f"Very useful, thanks. {NAME}")
    FolderSender(tmp_path / "outbox", service).send_due()
    clock.now += timedelta(days=1)
    return reference


def text_columns():
    """Every text, JSON and binary column of the store."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text, JSON, LargeBinary)):
                yield table, column


def columns_holding(helpdesk, needles: list[str]) -> list[str]:
    """Where in the store (table.column #row) any of ``needles`` is written, case-insensitively."""
    found = []
    with unit_of_work(helpdesk.sessions) as session:
        for table, column in text_columns():
            expression = cast(column, Text) if isinstance(column.type, JSON) else column
            for row in session.execute(select(table.primary_key.columns.values()[0], expression)):
                value = row[1]
                if value is None:
                    continue
                data = bytes(value).lower() if isinstance(value, (bytes, memoryview)) else str(value).lower().encode()
                if any(n.lower().encode() in data for n in needles):
                    found.append(f"{table.name}.{column.name} #{row[0]}")
    return found


def files_holding(folder: Path, needles: list[str]) -> list[str]:
    """Files under ``folder`` whose bytes hold any of ``needles`` (as UTF-8, any case)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.relative_to(folder)}: {n}" for n in needles if n.lower().encode() in data]
    return found


def leaves(value) -> list[str]:
    """Every scalar in a JSON value, as text."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [] if value is None else [getattr(value, "value", value) if not isinstance(value, (int, float)) else
                                     str(value)] if not hasattr(value, "isoformat") else [value.isoformat()]


JURGEN = [NAME, "Weber", EMAIL, PHONE, "4930 1234 5678".replace(" ", ""), "1234 5678"]


# ------------------------------------------------------------------ the map
def test_every_column_of_the_store_is_classified_in_the_personal_data_map():
    assert unclassified(Base.metadata) == []


def test_the_map_is_printed_for_the_data_protection_officer(cli):
    result = cli("privacy", "map")
    assert result.exit_code == 0, result.output
    assert "requester" in result.output and "email" in result.output and "cleared" in result.output
    assert "outbox/*.eml" in result.output


# ------------------------------------------------------------------ export
def test_a_requester_gets_everything_held_about_them(helpdesk, cli, tmp_path, clock):
    reference = seed(helpdesk, tmp_path, clock)
    out = tmp_path / "jurgen.zip"
    result = cli("privacy", "export", EMAIL.upper(), "--out", str(out), "--as", "dpo")
    assert result.exit_code == 0, result.output

    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("data.json"))
        files = {n: archive.read(n) for n in names}
    assert reference in data["queries"] and "README.txt" in names
    everything = "\n".join(leaves(data))
    # Every personal value of his rows, as the map classifies them, is in the export.
    with unit_of_work(helpdesk.sessions) as session:
        requester = session.scalar(select(Requester).where(Requester.email == EMAIL))
        query_ids = [q.id for q in requester.queries]
        tables = {t.name: t for t in Base.metadata.sorted_tables}
        checked = 0
        for table_name, key, value in [("requester", "id", requester.id), *[("query", "id", i) for i in query_ids],
                                       *[(t, "query_id", i) for t in ("message", "feedback", "reply")
                                         for i in query_ids]]:
            table = tables[table_name]
            for row in session.execute(select(table).where(table.c[key] == value)).mappings():
                for column, holds in COLUMNS[table_name].items():
                    if holds in EXPORTED and holds is not Holds.ORIGINAL and row[column] not in (None, "", []):
                        for value in leaves(row[column]):
                            assert value in everything, (table_name, column, value)
                            checked += 1
    assert checked > 10
    # The original emails, byte for byte, and the attachment he sent.
    emails = [data for name, data in files.items() if name.startswith("emails/")]
    assert any(b"Overtime limits at our supplier" in e for e in emails)
    assert any(b"q2.jw@acme-textiles.example" in e for e in emails), "the quarantined email is his too"
    assert CONTRACT in [data for name, data in files.items() if name.startswith("attachments/")]
    assert ANA not in everything
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    # The export is in the audit trail, naming no one.
    trail = cli("audit", "dpo")
    assert "export" in trail.output and EMAIL not in trail.output


def test_an_unknown_person_or_identifier_is_a_clear_error_and_writes_nothing(helpdesk, cli, tmp_path):
    result = cli("privacy", "export", "nobody@example.org", "--out", str(tmp_path / "x.zip"))
    assert result.exit_code == 1 and "no data is held" in result.output
    assert not (tmp_path / "x.zip").exists()
    result = cli("privacy", "erase", "not an address", "--yes")
    assert result.exit_code == 1 and "neither an email address nor a Telegram id" in result.output


# ------------------------------------------------------------------ erasure
def test_erasure_leaves_no_trace_of_the_person_and_the_report_counts_the_same(helpdesk, cli, tmp_path, clock,
                                                                             database_url):
    reference = seed(helpdesk, tmp_path, clock)
    year = clock.now.year
    before = helpdesk.service.annual_report(year)
    assert columns_holding(helpdesk, JURGEN) and files_holding(tmp_path / "outbox", [EMAIL])

    dry = cli("privacy", "erase", EMAIL, "--dry-run", "--as", "dpo")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing changed" in dry.output and "raw_email" in dry.output and "outbox/" in dry.output
    assert columns_holding(helpdesk, [EMAIL]) and files_holding(tmp_path / "outbox", [EMAIL])

    refused = cli("privacy", "erase", EMAIL, "--as", "dpo")  # no terminal to confirm on
    assert refused.exit_code == 1 and "--yes" in refused.output
    result = cli("privacy", "erase", EMAIL, "--yes", "--as", "dpo")
    assert result.exit_code == 0, result.output

    assert columns_holding(helpdesk, JURGEN) == []
    leftovers = files_holding(tmp_path, JURGEN)
    if not database_url.startswith("sqlite"):
        assert not any(name.startswith("helpdesk.db") for name in leftovers)
    assert leftovers == []  # the SQLite file, its log, the drop folder's and the outbox's copies
    assert helpdesk.service.annual_report(year) == before
    # Ana is untouched.
    assert columns_holding(helpdesk, [ANA, str(ANA_CHAT)])
    shown = cli("show", reference, "--as", "dpo")
    assert f"erased on {datetime.now(timezone.utc).date().isoformat()} by dpo" in shown.output  # the CLI's clock
    again = cli("privacy", "export", EMAIL, "--out", str(tmp_path / "after.zip"))
    assert again.exit_code == 1 and "no data is held" in again.output


def test_a_telegram_requester_is_erased_by_their_chat_id(helpdesk, cli, tmp_path, clock):
    seed(helpdesk, tmp_path, clock)
    result = cli("privacy", "erase", str(ANA_CHAT), "--yes")
    assert result.exit_code == 0, result.output
    assert columns_holding(helpdesk, [ANA, str(ANA_CHAT)]) == []
    assert columns_holding(helpdesk, [EMAIL])  # Jürgen's data is his own business


def test_his_phone_number_alone_in_someone_elses_query_is_erased_with_him(helpdesk, cli, tmp_path, clock):
    # Regression: the sweep looked for his address, full name and chat id only, so a query that gave his phone
    # number, written with other separators and without his name, kept it.
    seed(helpdesk, tmp_path, clock)
    service = helpdesk.service
    service.submit_query(QuerySubmission(  # he also wrote a long number that is not a phone number
        text="Our supplier was fined 125 000 000 taka last year for unpaid overtime. What should we require?",
        channel=Channel.EMAIL, email=EMAIL, name=NAME, source_key="jw-3"))
    other = service.submit_query(QuerySubmission(
        text="Our auditor asks whether 70 hours a week is legal. The supplier's compliance contact can be "
             "reached on +49 (30) 1234-5678, 0049.30.1234.5678, +49 30\t1234 5678 or +49\u202f30\u202f1234\u202f5678; "
             "our hotline is +33 1 98 76 54 32. The penalty was 125 000 000 taka; pay to DE12 4930 1234 5678 00.",
        channel=Channel.TELEGRAM, telegram_chat_id=ANA_CHAT, name=ANA, source_key="tg:2")).reference
    alone = service.submit_query(QuerySubmission(  # the number alone in a row, its spaces narrow no-break ones
        text="Is 60 hours a week legal in Germany? Ask the buyer's contact: +49\u202f30\u202f1234\u202f5678.",
        channel=Channel.TELEGRAM, telegram_chat_id=700999, name="Kofi", source_key="tg:3")).reference
    result = cli("privacy", "erase", EMAIL, "--yes", "--as", "dpo")
    assert result.exit_code == 0, result.output
    assert service.show_query(alone).report.text.endswith("Ask the buyer's contact: [erased].")
    text = service.show_query(other).report.text
    assert text.count("[erased]") == 4, text  # his number, in each of its four spellings
    assert "+33 1 98 76 54 32" in text and "Our auditor asks whether 70 hours a week is legal." in text
    # Someone else's amount and account number stay, though their digits are his long number or hold his phone's.
    assert "The penalty was 125 000 000 taka; pay to DE12 4930 1234 5678 00." in text
    assert columns_holding(helpdesk, [ANA])  # Ana's query is hers


def test_when_the_erasure_log_cannot_be_written_the_copies_still_go_and_the_error_is_said(helpdesk, tmp_path,
                                                                                          clock):
    # Regression: the log was written before the data folder's copies were removed, so a full disk left his
    # emails in the folders for good (a second erasure finds no one to erase).
    seed(helpdesk, tmp_path, clock)

    class FullDisk:
        def record(self, erasure) -> None:
            raise OSError(28, "No space left on device")

    helpdesk.service.erasure_log = FullDisk()
    with pytest.raises(OSError, match="No space left"):
        helpdesk.service.erase_person(EMAIL, actor="dpo")
    assert columns_holding(helpdesk, JURGEN) == []
    assert files_holding(tmp_path / "outbox", [EMAIL]) == [] and files_holding(tmp_path / "inbox", [EMAIL]) == []


# ------------------------------------------------------------------ retention
def test_the_scheduler_anonymises_queries_closed_longer_ago_than_the_retention_period(helpdesk, tmp_path, clock):
    reference = seed(helpdesk, tmp_path, clock)
    service = helpdesk.service
    service.close_query(reference, "answered")
    clock.now += timedelta(days=5 * 365 - 10)
    assert service.apply_retention() == []  # not yet
    clock.now += timedelta(days=12)
    assert service.apply_retention() == [reference]
    assert columns_holding(helpdesk, [EMAIL, PHONE, NAME]) == []
    assert files_holding(tmp_path / "outbox", [EMAIL]) == []
    detail = service.show_query(reference)
    assert detail.erased.startswith("erased on") and detail.erased.endswith("by retention")
    assert service.apply_retention() == []  # done once
    # The next digest says what the rule did.
    clock.now = clock.now.replace(hour=9) + timedelta(days=1 if clock.now.weekday() < 4 else 3)
    service.chase_overdue_work()
    with unit_of_work(helpdesk.sessions) as session:
        from kb.models import OutboxKind, OutboxMessage

        digest = session.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == OutboxKind.DIGEST)
                                 .order_by(OutboxMessage.id.desc())).first()
    assert f"Personal data erased under the retention rule since the last digest (1)\n  - {reference}" in digest


# ------------------------------------------------------------------ audit
def test_reads_exports_erasures_and_changes_are_in_the_audit_trail(helpdesk, cli, tmp_path, clock):
    seed(helpdesk, tmp_path, clock)
    with unit_of_work(helpdesk.sessions) as session:
        reference = session.scalar(select(Query.reference).join(Requester).where(Requester.name == ANA))
    assert cli("show", reference, "--as", "maria").exit_code == 0
    helpdesk.service.correct_topics(reference, ["working_time"], actor="maria")
    result = cli("audit", reference)
    assert result.exit_code == 0, result.output
    assert "maria" in result.output and "read" in result.output and "change: topics" in result.output
    by_account = cli("audit", "maria")
    assert reference in by_account.output and "read" in by_account.output
    from config.cli_privacy import cli_actor

    assert cli("user", "add", "victor", "--role", "viewer", input="a long enough password\n").exit_code == 0
    assert "account victor added (viewer)" in cli("audit", cli_actor()).output  # cli:<system user>


def test_the_console_records_who_opened_a_query_and_shows_its_erasure(helpdesk, tmp_path, clock):
    from tests.test_web import MARIA, VICTOR, Console

    reference = seed(helpdesk, tmp_path, clock)
    service = helpdesk.service
    service.add_account(*MARIA[:1], "specialist", MARIA[1])
    service.add_account(*VICTOR[:1], "viewer", VICTOR[1])
    maria, victor = Console(service), Console(service)
    maria.sign_in(*MARIA)
    victor.sign_in(*VICTOR)
    assert NAME in maria.get(f"/queries/{reference}").text
    victor.get(f"/queries/{reference}")
    readers = [(line.actor, line.channel) for line in service.audit_trail(reference) if line.action == "read"]
    assert readers == [("maria", "web"), ("victor", "web")]

    service.erase_person(EMAIL, actor="dpo")
    page = maria.get(f"/queries/{reference}").text
    assert "Personal data erased on" in page and "by dpo" in page and NAME not in page


def test_a_restored_backup_forgets_again_whom_it_still_remembers(helpdesk, cli, tmp_path, clock, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("helpdesk backup copies a SQLite store (PostgreSQL: pg_dump)")
    seed(helpdesk, tmp_path, clock)
    backup = tmp_path / "backup.db"
    assert cli("backup", "--out", str(backup)).exit_code == 0
    assert cli("privacy", "erase", EMAIL, "--yes", "--as", "dpo").exit_code == 0
    assert EMAIL not in (tmp_path / "erasures.jsonl").read_text()

    helpdesk.engine.dispose()  # the helpdesk is stopped, the backup put back
    for leftover in ("helpdesk.db-wal", "helpdesk.db-shm"):
        (tmp_path / leftover).unlink(missing_ok=True)
    (tmp_path / "helpdesk.db").write_bytes(backup.read_bytes())
    backup.unlink()
    assert columns_holding(helpdesk, [EMAIL])

    result = cli("privacy", "reapply", "--as", "dpo")
    assert result.exit_code == 0, result.output
    assert "1 erased again" in result.output
    assert columns_holding(helpdesk, JURGEN) == []
    assert cli("privacy", "reapply").output.strip().endswith("0 erased again")
