"""The Q&A bank as CSV: ``key,language,topics,question,answer``, one row per language version.

Import is all or nothing: every row is checked first, and one bad row refuses
the whole file with each problem's line number, so a half-imported bank never
happens. A row whose key is already in the bank adds that language's version
(or updates it); a row with an empty key is a new Q&A. Near-duplicates of
existing questions are imported but flagged, for the specialist to merge or
withdraw.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import QA
from kb.qa_bank import (
    KEY_PATTERN,
    NearDuplicate,
    QAError,
    add_qa,
    check_topics,
    check_version,
    edit_qa,
    near_duplicates,
    state_of,
)

COLUMNS = ("key", "language", "topics", "question", "answer")
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000


class QAImportError(QAError):
    """The file was refused; ``problems`` says what is wrong, line by line. Nothing was imported."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        super().__init__("the file was not imported:\n" + "\n".join(shown) + (f"\n… and {more} more" if more else ""))


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    versions_added: int = 0
    versions_updated: int = 0
    unchanged: int = 0
    #: (key, language, the near-duplicate found)
    near_duplicates: list[tuple[str, str, NearDuplicate]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    key: str
    language: str
    topics: tuple[str, ...]
    question: str
    answer: str


def export_csv(session: Session, *, include_drafts: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for qa in session.scalars(select(QA).order_by(QA.key)):
        if state_of(qa) == "published" or (include_drafts and state_of(qa) == "draft"):
            ordered = sorted(qa.versions, key=lambda v: (v.language != qa.language, v.language))
            for v in ordered:
                writer.writerow((qa.key, v.language, " ".join(qa.topics), v.question, v.answer))
    return out.getvalue()


def read_rows(data: bytes, languages: Sequence[str], topic_codes: Sequence[str]) -> list[_Row]:
    """Every row of the file, checked; raises ``QAImportError`` listing all problems."""
    if len(data) > MAX_BYTES:
        raise QAImportError([f"the file is {len(data) / 1e6:.1f} MB; import at most {MAX_BYTES // 2**20} MB at once"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QAImportError([f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8"]) from None
    if "\x00" in text:
        raise QAImportError(["the file holds NUL bytes: it is not a CSV text file"])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise QAImportError(["the file is empty"]) from None
    except csv.Error as exc:
        raise QAImportError([f"line 1: {exc}"]) from None
    missing = [c for c in COLUMNS if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        raise QAImportError([f"line 1: the header must be {','.join(COLUMNS)}"
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; unknown {', '.join(unknown)}" if unknown else "")])
    at = {name: header.index(name) for name in COLUMNS}
    rows: list[_Row] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) + len(problems) >= MAX_ROWS:
                problems.append(f"more than {MAX_ROWS:,} rows: split the file")
                break
            if len(record) != len(header):
                problems.append(f"line {line}: {len(record)} columns where the header has {len(header)}")
                continue
            value = {name: record[i].strip() for name, i in at.items()}
            key = value["key"].lower()
            try:
                if key and not KEY_PATTERN.match(key):
                    raise QAError(f"key {key!r}: use 3 to 120 lower-case letters, digits and hyphens")
                question, answer = check_version(value["language"].lower(), value["question"], value["answer"],
                                                 languages)
                topics = tuple(check_topics(value["topics"].split(), topic_codes)) if value["topics"] else ()
            except QAError as exc:
                problems.append(f"line {line}: {exc}")
                continue
            if key and (key, value["language"].lower()) in seen:
                problems.append(f"line {line}: {key} in {value['language'].lower()} again "
                                f"(first on line {seen[key, value['language'].lower()]})")
                continue
            if key:
                seen[key, value["language"].lower()] = line
            rows.append(_Row(line, key, value["language"].lower(), topics, question, answer))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if problems:
        raise QAImportError(problems)
    if not rows:
        raise QAImportError(["the file has a header but no Q&A rows"])
    return rows


def import_csv(session: Session, data: bytes, *, actor: str, now: datetime, languages: Sequence[str],
               topic_codes: Sequence[str]) -> ImportResult:
    rows = read_rows(data, languages, topic_codes)
    existing = {qa.key: qa for qa in session.scalars(select(QA).where(QA.key.in_({r.key for r in rows if r.key})))}
    first_of_new = {}
    for row in rows:  # a new key needs its topics on one of its rows
        if row.key and row.key not in existing:
            first_of_new.setdefault(row.key, row)
            if row.topics and not first_of_new[row.key].topics:
                first_of_new[row.key] = row
    problems = [f"line {r.line}: new Q&A {k} needs its topics" for k, r in first_of_new.items() if not r.topics]
    problems += [f"line {r.line}: a new Q&A needs its topics" for r in rows if not r.key and not r.topics]
    if problems:
        raise QAImportError(problems)
    result = ImportResult()
    touched: list[tuple[str, str, str]] = []
    for row in rows:
        qa = existing.get(row.key) if row.key else None
        if qa is None:
            head = first_of_new.get(row.key, row) if row.key else row
            qa = add_qa(session, language=row.language, question=row.question, answer=row.answer,
                        topics=head.topics, actor=actor, now=now, languages=languages, topic_codes=topic_codes,
                        key=row.key or None)
            if row.key:
                existing[row.key] = qa
            result.added.append(qa.key)
        else:
            had = qa.version(row.language) is not None
            changed = edit_qa(qa, actor=actor, now=now, languages=languages, topic_codes=topic_codes,
                              language=row.language, question=row.question, answer=row.answer,
                              topics=row.topics or None)
            if not changed:
                result.unchanged += 1
                continue
            if had:
                result.versions_updated += 1
            else:
                result.versions_added += 1
        touched.append((qa.key, row.language, row.question))
    session.flush()
    flagged: set[tuple[str, str, str]] = set()
    for key, language, question in touched:
        for duplicate in near_duplicates(session, question, language, exclude=key):
            if (duplicate.key, key, language) not in flagged:  # a pair of new rows is flagged once
                flagged.add((key, duplicate.key, language))
                result.near_duplicates.append((key, language, duplicate))
    return result
