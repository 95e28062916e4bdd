"""The Q&A bank: one Q&A, answered in up to three languages.

A Q&A has a stable ``key``, its topics, a state (draft, published or
withdrawn) and a version (question and answer) per language. The matcher
indexes every version of every published Q&A, so a French question finds a
Q&A written in English once its French version exists, and the draft quotes
the version in the requester's language.

Seeding is idempotent (keyed by ``key``): running it on every start adds new
shipped entries and versions and updates changed ones, and never touches a Q&A
the helpdesk wrote, promoted, edited by hand or withdrew.

Edits go through ``add_qa``, ``edit_qa``, ``withdraw_qa`` and ``publish_qa``;
each checks its input and raises ``QAError`` (a ``ValueError``) with the reason,
before changing anything.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Iterable, Sequence

from rapidfuzz import fuzz, process
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from classifier.model import LabelledExample
from classifier.text import content_words
from kb.anonymise import anonymise
from kb.matching import QAEntry
from kb.models import QA, QAOrigin, QAVersion, Query, QueryTopic

#: Files under kb/data/ holding the shipped Q&As' versions in other languages than their own.
VERSION_FILES = ("qa_versions_en.toml", "qa_versions_en_from_fr.toml", "qa_versions_fr.toml", "qa_versions_es.toml")
#: Every file of the shipped bank (its fingerprint decides whether a start seeds it again).
SHIPPED_FILES = ("qa_bank.toml", *VERSION_FILES)
#: Words the console's addresses use (/qa/new, /qa/import).
RESERVED_KEYS = frozenset({"new", "import"})
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,118}[a-z0-9]$")
MAX_QUESTION = 2_000
MAX_ANSWER = 20_000
#: Two questions in one language this similar (rapidfuzz token-set ratio of their content words) are flagged.
NEAR_DUPLICATE = 85.0
STATES = ("draft", "published", "withdrawn")
#: A query whose topics the specialist confirmed or corrected counts as this many shipped examples, so that
#: one correction moves similar queries too, not only itself.
CORRECTION_WEIGHT = 3.0


class QAError(ValueError):
    """A Q&A change that cannot be made as asked; nothing was changed."""


@dataclass(frozen=True)
class NearDuplicate:
    key: str
    language: str
    question: str
    similarity: float


@dataclass(frozen=True)
class QAVersionView:
    language: str
    question: str
    answer: str
    updated_at: datetime


@dataclass(frozen=True)
class QASummary:
    key: str
    topics: tuple[str, ...]
    state: str
    origin: str
    languages: tuple[str, ...]
    question: str
    updated_at: datetime


@dataclass(frozen=True)
class QAView:
    key: str
    topics: tuple[str, ...]
    state: str
    origin: str
    language: str
    versions: dict[str, QAVersionView]
    missing_languages: tuple[str, ...]
    source_reference: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    edited_by: str | None
    created_at: datetime
    updated_at: datetime
    near_duplicates: tuple[NearDuplicate, ...] = ()


def state_of(qa: QA) -> str:
    if qa.published:
        return "published"
    return "withdrawn" if qa.withdrawn_at is not None else "draft"


# ------------------------------------------------------------------ shipped bank
def shipped_qas() -> list[dict]:
    """The shipped Q&As: key, language, topics, question, answer (the original), and ``versions``: every
    language's {language, question, answer}, the original first."""
    data = resources.files("kb").joinpath("data")
    entries = tomllib.loads(data.joinpath("qa_bank.toml").read_text(encoding="utf-8"))["qa"]
    extra: dict[str, list[dict]] = {}
    for name in VERSION_FILES:
        path = data.joinpath(name)
        if path.is_file():
            for v in tomllib.loads(path.read_text(encoding="utf-8")).get("version", []):
                extra.setdefault(v["key"], []).append(v)
    for item in entries:
        versions = {item["language"]: {"language": item["language"], "question": item["question"],
                                       "answer": item["answer"]}}
        for v in extra.get(item["key"], []):
            versions.setdefault(v["language"], {"language": v["language"], "question": v["question"].strip(),
                                                "answer": v["answer"].strip()})
        item["versions"] = list(versions.values())
    return entries


def merged_qas() -> dict[str, str]:
    """Keys once shipped as separate Q&As per language -> the Q&A whose language version they now are."""
    text = resources.files("kb").joinpath("data/qa_bank.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text).get("merged", {}))


def seed_qa_bank(session: Session, entries: Iterable[dict], now: datetime,
                 merged: dict[str, str] | None = None) -> tuple[int, int]:
    """Insert or refresh shipped Q&As, and withdraw the ``merged`` ones; returns (added, updated)."""
    existing = {qa.key: qa for qa in session.scalars(select(QA))}
    added = updated = 0
    for old, new in (merged or {}).items():
        row = existing.get(old)
        if row is not None and row.origin is QAOrigin.SHIPPED and row.edited_by is None and row.withdrawn_at is None:
            row.published, row.withdrawn_at, row.updated_at = False, now, now
            row.withdrawn_reason = f"merged into {new}: its wording is now a language version of {new}"
            updated += 1
    for item in entries:
        versions = item.get("versions") or [{"language": item["language"], "question": item["question"],
                                             "answer": item["answer"]}]
        row = existing.get(item["key"])
        if row is None:
            row = QA(key=item["key"], topics=list(item["topics"]), language=item["language"],
                     origin=QAOrigin.SHIPPED, published=True, created_at=now, updated_at=now)
            row.versions = [QAVersion(language=v["language"], question=v["question"], answer=v["answer"],
                                      updated_at=now) for v in versions]
            session.add(row)
            added += 1
            continue
        if row.origin is not QAOrigin.SHIPPED or row.edited_by is not None or row.withdrawn_at is not None:
            continue  # the helpdesk's own wording wins over the shipped one
        changed = False
        if row.topics != list(item["topics"]) or row.language != item["language"]:
            row.topics, row.language, changed = list(item["topics"]), item["language"], True
        for v in versions:
            have = row.version(v["language"])
            if have is None:
                row.versions.append(QAVersion(language=v["language"], question=v["question"], answer=v["answer"],
                                              updated_at=now))
                changed = True
            elif (have.question, have.answer) != (v["question"], v["answer"]):
                have.question, have.answer, have.updated_at = v["question"], v["answer"], now
                changed = True
        if changed:
            row.updated_at = now
            updated += 1
    return added, updated


def published_entries(session: Session) -> list[QAEntry]:
    """One matcher entry per version of every published Q&A; each carries all the Q&A's versions."""
    entries = []
    for qa in session.scalars(select(QA).where(QA.published).order_by(QA.id)):
        versions = tuple((v.language, v.question, v.answer) for v in qa.versions)
        for language, question, answer in versions:
            entries.append(QAEntry(qa.id, qa.key, question, answer, tuple(qa.topics), language, versions))
    return entries


def learned_examples(session: Session, topic_codes: Iterable[str]) -> list[LabelledExample]:
    """Q&A questions (every version) and specialist-confirmed queries (weighted), as extra training examples."""
    codes = set(topic_codes)
    examples = []
    for qa in session.scalars(select(QA).where(QA.published).order_by(QA.id)):
        topics = tuple(t for t in qa.topics if t in codes)
        if topics:
            examples += [LabelledExample(v.question, topics, v.language) for v in qa.versions]
    confirmed: dict[int, list[str]] = {}
    rows = session.execute(
        select(QueryTopic.query_id, QueryTopic.topic_code).where(QueryTopic.confirmed.is_(True))
    )
    for query_id, code in rows:
        if code in codes:
            confirmed.setdefault(query_id, []).append(code)
    if confirmed:
        # Anonymised first, so that the model's vocabulary (a file of the data folder) never holds a
        # requester's name, address or phone number.
        for q in session.scalars(select(Query).where(Query.id.in_(confirmed)).options(joinedload(Query.requester))):
            text = anonymise(q.text, names=[n for n in (q.requester.name,) if n]).text
            examples.append(LabelledExample(text, tuple(confirmed[q.id]), q.language, CORRECTION_WEIGHT))
    return examples


# ------------------------------------------------------------------ reading
def find_qa(session: Session, key: str) -> QA:
    qa = session.scalar(select(QA).where(QA.key == key.strip()))
    if qa is None:
        raise LookupError(f"no Q&A with key {key!r}")
    return qa


def list_qas(session: Session, *, search: str = "", topic: str | None = None, language: str | None = None,
             state: str | None = None, limit: int = 200, prefer: str = "en") -> tuple[list[QASummary], int]:
    """Q&As matching the filters, most recently changed first, and how many match in all."""
    stmt = select(QA)
    if state == "published":
        stmt = stmt.where(QA.published.is_(True))
    elif state == "withdrawn":
        stmt = stmt.where(QA.published.is_(False), QA.withdrawn_at.is_not(None))
    elif state == "draft":
        stmt = stmt.where(QA.published.is_(False), QA.withdrawn_at.is_(None))
    elif state not in (None, "", "all"):
        raise QAError(f"unknown state {state!r}: choose one of {', '.join(STATES)}")
    if language:
        stmt = stmt.where(QA.id.in_(select(QAVersion.qa_id).where(QAVersion.language == language)))
    words = search.strip()
    if words:
        like = f"%{words}%"
        stmt = stmt.where(or_(QA.key.ilike(like), QA.id.in_(select(QAVersion.qa_id).where(
            or_(QAVersion.question.ilike(like), QAVersion.answer.ilike(like))))))
    rows = [qa for qa in session.scalars(stmt.order_by(QA.updated_at.desc(), QA.id.desc()))
            if not topic or topic in qa.topics]
    summaries = []
    for qa in rows[:limit]:
        shown = qa.version(prefer) or qa.original
        summaries.append(QASummary(qa.key, tuple(qa.topics), state_of(qa), qa.origin.value,
                                   tuple(v.language for v in qa.versions), shown.question, qa.updated_at))
    return summaries, len(rows)


def qa_view(session: Session, qa: QA, languages: Sequence[str], *, with_duplicates: bool = True) -> QAView:
    source = session.get(Query, qa.source_query_id) if qa.source_query_id is not None else None
    duplicates: list[NearDuplicate] = []
    if with_duplicates:
        for v in qa.versions:
            duplicates += near_duplicates(session, v.question, v.language, exclude=qa.key)
    return QAView(
        key=qa.key, topics=tuple(qa.topics), state=state_of(qa), origin=qa.origin.value, language=qa.language,
        versions={v.language: QAVersionView(v.language, v.question, v.answer, v.updated_at) for v in qa.versions},
        missing_languages=tuple(lang for lang in languages if qa.version(lang) is None),
        source_reference=source.reference if source is not None else None, withdrawn_at=qa.withdrawn_at,
        withdrawn_reason=qa.withdrawn_reason, edited_by=qa.edited_by, created_at=qa.created_at,
        updated_at=qa.updated_at, near_duplicates=tuple(duplicates))


def _comparable(question: str) -> str:
    return " ".join(sorted(set(content_words(question))))


def near_duplicates(session: Session, question: str, language: str, *, exclude: str | None = None,
                    limit: int = 3) -> list[NearDuplicate]:
    """Questions of other non-withdrawn Q&As, in the same language, that say nearly the same thing."""
    rows = session.execute(
        select(QA.key, QAVersion.question).join(QAVersion, QAVersion.qa_id == QA.id)
        .where(QAVersion.language == language, QA.withdrawn_at.is_(None))
    ).all()
    rows = [(key, q) for key, q in rows if key != exclude]
    if not rows or not content_words(question):
        return []
    found = process.extract(_comparable(question), [_comparable(q) for _, q in rows], scorer=fuzz.token_set_ratio,
                            score_cutoff=NEAR_DUPLICATE, limit=limit)
    return [NearDuplicate(rows[i][0], language, rows[i][1], round(score, 1)) for _, score, i in found]


# ------------------------------------------------------------------ changing
def check_version(language: str, question: str, answer: str, languages: Sequence[str]) -> tuple[str, str]:
    if language not in languages:
        raise QAError(f"language {language!r} is not one of the helpdesk's ({', '.join(languages)})")
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question or not answer:
        raise QAError("a Q&A version needs both a question and an answer")
    if len(question) > MAX_QUESTION:
        raise QAError(f"the question is {len(question):,} characters long; keep it under {MAX_QUESTION:,}")
    if len(answer) > MAX_ANSWER:
        raise QAError(f"the answer is {len(answer):,} characters long; keep it under {MAX_ANSWER:,}")
    return question, answer


def check_topics(topics: Iterable[str], known: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(t.strip() for t in topics if t and t.strip()))
    if not chosen:
        raise QAError("a Q&A needs at least one topic")
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise QAError(f"unknown topic {', '.join(unknown)}: choose from {', '.join(known)}")
    return chosen


def new_key(session: Session, topics: Sequence[str], question: str) -> str:
    """A readable, unused key: the first topic and the question's first content words."""
    words = "-".join(content_words(question)[:4]) or "qa"
    base = re.sub(r"[^a-z0-9-]+", "", f"{topics[0].replace('_', '-')}-{words}".lower())[:100].strip("-")
    key, n = base, 2
    while session.scalar(select(QA.id).where(QA.key == key)) is not None:
        key, n = f"{base}-{n}", n + 1
    return key


def add_qa(session: Session, *, language: str, question: str, answer: str, topics: Iterable[str], actor: str,
           now: datetime, languages: Sequence[str], topic_codes: Sequence[str], key: str | None = None,
           publish: bool = True, origin: QAOrigin = QAOrigin.WRITTEN) -> QA:
    question, answer = check_version(language, question, answer, languages)
    chosen = check_topics(topics, topic_codes)
    if key:
        key = key.strip().lower()
        if not KEY_PATTERN.match(key) or key in RESERVED_KEYS:
            raise QAError(f"key {key!r}: use 3 to 120 lower-case letters, digits and hyphens"
                          + (" (and not a word the console uses)" if key in RESERVED_KEYS else ""))
        if session.scalar(select(QA.id).where(QA.key == key)) is not None:
            raise QAError(f"a Q&A with key {key!r} already exists: edit it, or choose another key")
    else:
        key = new_key(session, chosen, question)
    qa = QA(key=key, topics=chosen, language=language, origin=origin, published=publish, edited_by=actor,
            created_at=now, updated_at=now)
    qa.versions = [QAVersion(language=language, question=question, answer=answer, updated_at=now)]
    session.add(qa)
    session.flush()
    return qa


def edit_qa(qa: QA, *, actor: str, now: datetime, languages: Sequence[str], topic_codes: Sequence[str],
            language: str | None = None, question: str | None = None, answer: str | None = None,
            topics: Iterable[str] | None = None) -> bool:
    """Set the version in ``language`` (added when missing) and/or the topics; returns whether anything changed."""
    changed = False
    if topics is not None:
        chosen = check_topics(topics, topic_codes)
        if chosen != list(qa.topics):
            qa.topics, changed = chosen, True
    if language is not None:
        question, answer = check_version(language, question or "", answer or "", languages)
        version = qa.version(language)
        if version is None:
            qa.versions.append(QAVersion(language=language, question=question, answer=answer, updated_at=now))
            changed = True
        elif (version.question, version.answer) != (question, answer):
            version.question, version.answer, version.updated_at = question, answer, now
            changed = True
    if changed:
        qa.edited_by, qa.updated_at = actor, now
    return changed


def remove_version(qa: QA, language: str, *, actor: str, now: datetime) -> None:
    version = qa.version(language)
    if version is None:
        raise QAError(f"Q&A {qa.key} has no {language} version")
    if len(qa.versions) == 1:
        raise QAError(f"{language} is Q&A {qa.key}'s only version: withdraw the Q&A instead")
    qa.versions.remove(version)
    if qa.language == language:
        qa.language = qa.versions[0].language
    qa.edited_by, qa.updated_at = actor, now


def withdraw_qa(qa: QA, reason: str, *, actor: str, now: datetime) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise QAError("say why the Q&A is withdrawn (the reason is kept with it)")
    if qa.withdrawn_at is not None:
        raise QAError(f"Q&A {qa.key} is already withdrawn")
    qa.published, qa.withdrawn_at, qa.withdrawn_reason = False, now, reason
    qa.edited_by, qa.updated_at = actor, now


def publish(qa: QA, *, actor: str, now: datetime) -> None:
    """Publish a draft, or put a withdrawn Q&A back in service."""
    if qa.published:
        raise QAError(f"Q&A {qa.key} is already published")
    if not qa.versions or not all(v.question.strip() and v.answer.strip() for v in qa.versions):
        raise QAError(f"Q&A {qa.key} needs a question and an answer before it is published")
    qa.published, qa.withdrawn_at, qa.withdrawn_reason = True, None, None
    qa.edited_by, qa.updated_at = actor, now
