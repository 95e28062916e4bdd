"""What the store knows about itself: its identity, the Q&A bank's revision, the shipped bank seeded.

- **Identity**: a random id given to each store when the helpdesk first opens it. Files derived from a
  store (the saved Q&A index) are named after it, so two stores never share one, and a store emptied
  and filled again gets a new one.
- **Bank revision**: a counter raised, in the same transaction, by every flush that adds, changes or
  deletes a Q&A or one of its versions, whatever use case does it. An index saved at revision *n* is
  good exactly while the counter reads *n*; the count of published Q&As and their latest change time
  are part of the revision too, so that even a change written behind the service's back is noticed.
- **Shipped bank**: a fingerprint of the Q&A files shipped with the software, recorded when they are
  seeded; a start with the same files skips seeding (reading and comparing 63 Q&As in three languages
  costs a one-shot command more than everything else it does).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Iterable

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kb.models import QA, QAVersion, StoreFact

IDENTITY = "store_identity"
BANK_REVISION = "qa_bank_revision"
SHIPPED_BANK = "shipped_qa_bank"


@dataclass(frozen=True)
class BankRevision:
    store: str | None
    #: Equal for two reads exactly when the published bank is the same.
    key: str


def ensure_store_facts(session: Session) -> str:
    """The store's identity, created with the bank's counter the first time the store is opened."""
    facts = {f.key: f for f in session.scalars(select(StoreFact).where(StoreFact.key.in_([IDENTITY, BANK_REVISION])))}
    if IDENTITY not in facts:
        facts[IDENTITY] = StoreFact(key=IDENTITY, text_value=uuid.uuid4().hex, number=0)
        session.add(facts[IDENTITY])
    if BANK_REVISION not in facts:
        session.add(StoreFact(key=BANK_REVISION, number=0))
    return facts[IDENTITY].text_value or ""


def bank_revision(session: Session) -> BankRevision:
    """Changes whenever a published entry is added, edited or withdrawn."""
    facts = dict(session.execute(select(StoreFact.key, StoreFact.text_value)
                                 .where(StoreFact.key == IDENTITY)).all())
    counter = session.scalar(select(StoreFact.number).where(StoreFact.key == BANK_REVISION))
    count, latest = session.execute(select(func.count(QA.id), func.max(QA.updated_at)).where(QA.published)).one()
    return BankRevision(facts.get(IDENTITY), f"{counter}:{count}:{latest.isoformat() if latest else '-'}")


def count_bank_changes(sessions: sessionmaker[Session]) -> None:
    """Raise the bank's counter in every flush that touches a Q&A (see the module's docstring)."""
    if event.contains(sessions, "before_flush", _raise_counter):
        return
    event.listen(sessions, "before_flush", _raise_counter)


def _raise_counter(session: Session, _context, _instances) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, (QA, QAVersion)) for o in touched):
        session.execute(update(StoreFact).where(StoreFact.key == BANK_REVISION)
                        .values(number=StoreFact.number + 1))


def shipped_bank_fingerprint(files: Iterable[str]) -> str:
    """A hash of the shipped bank's files under kb/data (their bytes: no parsing)."""
    digest = hashlib.sha256()
    data = resources.files("kb").joinpath("data")
    for name in files:
        digest.update(name.encode())
        digest.update(data.joinpath(name).read_bytes())
    return digest.hexdigest()


def seeded_fingerprint(session: Session) -> str | None:
    return session.scalar(select(StoreFact.text_value).where(StoreFact.key == SHIPPED_BANK))


def record_seeded(session: Session, fingerprint: str) -> None:
    fact = session.get(StoreFact, SHIPPED_BANK)
    if fact is None:
        session.add(StoreFact(key=SHIPPED_BANK, text_value=fingerprint, number=0))
    else:
        fact.text_value = fingerprint
