"""The Q&A bank: seeding the shipped entries, reading entries for the matcher,
and assembling what the topic model learns from.

Seeding is idempotent (keyed by each entry's stable ``key``): running it on
every start adds new shipped entries and updates changed ones, and never
touches Q&As the helpdesk wrote or promoted itself.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier.model import LabelledExample
from kb.matching import QAEntry
from kb.models import QA, QAOrigin, Query, QueryTopic


def shipped_qas() -> list[dict]:
    text = resources.files("kb").joinpath("data/qa_bank.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["qa"]


def seed_qa_bank(session: Session, entries: Iterable[dict], now: datetime) -> tuple[int, int]:
    """Insert or refresh shipped Q&As; returns (added, updated)."""
    existing = {qa.key: qa for qa in session.scalars(select(QA))}
    added = updated = 0
    for item in entries:
        row = existing.get(item["key"])
        if row is None:
            session.add(QA(key=item["key"], question=item["question"], answer=item["answer"],
                           topics=list(item["topics"]), language=item["language"], origin=QAOrigin.SHIPPED,
                           published=True, created_at=now, updated_at=now))
            added += 1
        elif row.origin is QAOrigin.SHIPPED and (
            row.question, row.answer, row.topics, row.language
        ) != (item["question"], item["answer"], list(item["topics"]), item["language"]):
            row.question, row.answer = item["question"], item["answer"]
            row.topics, row.language, row.updated_at = list(item["topics"]), item["language"], now
            updated += 1
    return added, updated


def bank_revision(session: Session) -> tuple[int, datetime | None]:
    """Changes whenever a published entry is added, edited or withdrawn."""
    count, latest = session.execute(select(func.count(QA.id), func.max(QA.updated_at)).where(QA.published)).one()
    return int(count), latest


def published_entries(session: Session) -> list[QAEntry]:
    rows = session.scalars(select(QA).where(QA.published).order_by(QA.id))
    return [QAEntry(r.id, r.key, r.question, r.answer, tuple(r.topics), r.language) for r in rows]


def learned_examples(session: Session, topic_codes: Iterable[str]) -> list[LabelledExample]:
    """Q&A questions and specialist-confirmed queries, as extra training examples."""
    codes = set(topic_codes)
    examples = [
        LabelledExample(r.question, tuple(t for t in r.topics if t in codes), r.language)
        for r in session.scalars(select(QA).where(QA.published).order_by(QA.id))
        if codes & set(r.topics)
    ]
    confirmed: dict[int, list[str]] = {}
    rows = session.execute(
        select(QueryTopic.query_id, QueryTopic.topic_code).where(QueryTopic.confirmed.is_(True))
    )
    for query_id, code in rows:
        if code in codes:
            confirmed.setdefault(query_id, []).append(code)
    if confirmed:
        for q in session.scalars(select(Query).where(Query.id.in_(confirmed))):
            examples.append(LabelledExample(q.text, tuple(confirmed[q.id]), q.language))
    return examples
