"""What every use case of the service shares: the store, the policy, the model, the clock.

``ServiceBase.unit_of_work`` is the only way into the store for code outside
``kb``: adapters never see a session. Each public use case opens exactly one
unit of work, so either everything it decided is stored, or (on any error)
nothing is.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifier.language import LanguageDetector
from classifier.model import TopicModel
from kb import history
from kb.calendar import DueDateCalendar
from kb.db import unit_of_work
from kb.match_confidence import MatchConfidence
from kb.matching import Analyser, QAMatcher
from kb.models import Query
from kb.policy import HelpdeskPolicy
from kb.qa_bank import published_entries
from kb.store_state import bank_revision, count_bank_changes
from kb.regions import CountryDirectory, shared_directory


class QueryNotFoundError(LookupError):
    """No query has this reference."""


class NotAllowedError(PermissionError):
    """The actor may not do this (a requester acting on someone else's query, a non-specialist reviewing)."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ServiceBase:
    """The parts every use case needs; the use cases themselves live in the sibling modules."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: HelpdeskPolicy,
        model: TopicModel | Callable[[], TopicModel],
        *,
        clock: Callable[[], datetime] = utc_now,
        detector: LanguageDetector | None = None,
        countries: CountryDirectory | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.sessions = sessions
        count_bank_changes(sessions)
        #: Where what is costly to rebuild is kept between processes (the saved Q&A index, the stemmed
        #: concept table, the unpacked language model); None: rebuilt in memory by each process.
        self.cache_dir = cache_dir
        self.policy = policy
        self._model = model if isinstance(model, TopicModel) else None
        self._load_model = None if isinstance(model, TopicModel) else model
        self.clock = clock
        self.detector = detector or LanguageDetector(policy.languages, cache_dir=cache_dir)
        self.countries = countries or shared_directory()
        deadlines = policy.deadlines
        #: One count (calendar or working days) for reply targets, input deadlines and extensions.
        self.calendar = DueDateCalendar(deadlines.day_count, deadlines.holiday_country)
        self._matcher: QAMatcher | None = None
        self._confidence: MatchConfidence | None = None
        self._matcher_revision: tuple | None = None

    @property
    def model(self) -> TopicModel:
        """The topic model, loaded on first use (commands that do not triage never load it)."""
        if self._model is None:
            self._model = self._load_model()
        return self._model

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with unit_of_work(self.sessions) as session:
            yield session

    def matcher(self, session: Session) -> QAMatcher:
        """The index over the published Q&As, rebuilt only when the bank has changed.

        With a cache folder, the index is saved there after a rebuild and loaded by the next process
        while the bank's revision is the same, so a one-shot command never rebuilds it.
        """
        revision = bank_revision(session)
        if self._matcher is not None and revision == self._matcher_revision:
            return self._matcher
        if self._confidence is None:
            self._confidence = MatchConfidence.shipped()
            # Built once: stems the concept table's terms (or reads them, stemmed, from the cache).
            self._analyser = Analyser(concepts=True, cache_dir=self.cache_dir)
        path = (self.cache_dir / f"qa-index-{revision.store}.npz"
                if self.cache_dir is not None and revision.store else None)
        matcher = QAMatcher.load(path, revision.key, self._analyser, self._confidence) if path else None
        if matcher is None:
            matcher = QAMatcher(published_entries(session), self._analyser, confidence=self._confidence)
            if path is not None:
                try:
                    matcher.save(path, revision.key)
                except OSError:  # a full or read-only cache folder costs speed, never an answer
                    pass
        self._matcher, self._matcher_revision = matcher, revision
        return matcher

    def load_triage(self) -> None:
        """Load now what triaging a message needs, rather than at the first message: the topic model, the
        language detector, the Q&A index, and the tables that find the country concerned and the requester's
        organisation (a process that runs until stopped calls this at its start)."""
        from kb.organisations import suggest_organisation
        from kb.places import countries_concerned

        self.model
        self.detector.detect("Can we ask the helpdesk a question?")
        with self.unit_of_work() as session:
            self.matcher(session)
        countries_concerned("Does overtime at our supplier in Viet Nam need consent?", self.countries)
        suggest_organisation("Kind regards,\nA. Person\nExample Textiles Ltd", "a.person@example.com")

    def record_event(self, session: Session, query: Query, kind: str, detail: str, *, at: datetime,
                     actor: str = "system") -> None:
        history.record(session, query, at=at, kind=kind, detail=detail, actor=actor)

    def due_in(self, start: date, days: int) -> date:
        """``days`` after ``start`` in the helpdesk's day count (the one rule for every deadline)."""
        return self.calendar.add_days(start, days)

    def is_specialist(self, telegram_user_id: int | None) -> bool:
        """Who may review and act on queries from Telegram (the CLI and the console authenticate otherwise)."""
        return telegram_user_id is not None and telegram_user_id in self.policy.specialist_chats

    def _get(self, session: Session, reference: str) -> Query:
        query = session.scalar(select(Query).where(Query.reference == reference.strip().upper()))
        if query is None:
            raise QueryNotFoundError(f"no query with reference {reference!r}")
        return query
