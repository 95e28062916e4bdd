"""What a Telegram conversation needs from the store, as plain values.

The conversation's rules (what is asked, in which order, what is answered) live
with the bot (``bot/conversation.py``); they read and write the conversation's
state through these calls, each its own unit of work, and never see a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb import lifecycle
from kb.models import (
    OPEN_STATUSES,
    QA,
    Channel,
    ChatSession,
    Direction,
    Message,
    ProcessedUpdate,
    Query,
    QueryStatus,
    Requester,
)
from kb.service.core import NotAllowedError, ServiceBase
from kb.service.intake import FollowUpResult
from kb.views import QuerySummary, TriageReport, query_summaries


@dataclass
class ChatState:
    """Where one chat's conversation stands; the bot changes it and saves it back."""

    chat_id: int
    state: str = "idle"
    language: str = "en"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequesterProfile:
    """What the helpdesk already knows of a chat's requester, so it is not asked again."""

    organisation: str | None
    country: str | None
    sector: str | None
    requester_type: str | None


class ConversationUseCases(ServiceBase):
    def chat_language(self, language_code: str | None) -> str:
        """The helpdesk language to speak to a Telegram user whose app is set to ``language_code``."""
        code = (language_code or "")[:2].lower()
        return code if code in self.policy.languages else self.policy.languages[0]

    def first_time_update(self, update_id: int, chat_id: int | None) -> bool:
        """Record the update; False when it was already handled (a redelivery after a restart)."""
        try:
            with self.unit_of_work() as session:
                if session.get(ProcessedUpdate, update_id) is not None:
                    return False
                session.add(ProcessedUpdate(update_id=update_id, chat_id=chat_id, at=self.clock()))
            return True
        except IntegrityError:
            return False

    def load_chat(self, chat_id: int, language_code: str | None = None) -> ChatState:
        with self.unit_of_work() as session:
            chat = session.get(ChatSession, chat_id)
            if chat is None:
                return ChatState(chat_id, language=self.chat_language(language_code))
            language = self.chat_language(language_code) if language_code else chat.language
            return ChatState(chat_id, chat.state, language, dict(chat.data))

    def save_chat(self, state: ChatState) -> None:
        with self.unit_of_work() as session:
            chat = session.get(ChatSession, state.chat_id)
            if chat is None:
                chat = ChatSession(chat_id=state.chat_id)
                session.add(chat)
            chat.state, chat.language, chat.data = state.state, state.language, dict(state.data)
            chat.updated_at = self.clock()

    def chat_profile(self, chat_id: int) -> RequesterProfile | None:
        with self.unit_of_work() as session:
            r = session.scalar(select(Requester).where(Requester.telegram_chat_id == chat_id))
            if r is None:
                return None
            return RequesterProfile(r.organisation, r.country, r.sector,
                                    r.requester_type.value if r.requester_type else None)

    def _chat_query(self, session, chat_id: int, reference: str) -> Query:
        """The query ``reference`` if it belongs to this chat's requester (the one ownership rule for chats)."""
        query = self._get(session, reference)
        if query.requester.telegram_chat_id != chat_id:
            raise NotAllowedError(f"{query.reference} is not a query of this chat")
        return query

    def chat_follow_up(self, chat_id: int, reference: str, text: str) -> FollowUpResult:
        """A requester's message about one of their queries: a rating, a follow-up, or a reopening."""
        now = self.clock()
        with self.unit_of_work() as session:
            query = self._chat_query(session, chat_id, reference)
            session.add(Message(query=query, direction=Direction.IN, channel=Channel.TELEGRAM, at=now, body=text,
                                telegram_chat_id=chat_id))
            return self.follow_up(session, query, text=text, sender=f"telegram:{chat_id}", from_requester=True,
                                  now=now)

    def chat_rating(self, chat_id: int, reference: str, mark: int, comment: str | None = None) -> None:
        """The requester pressed a rating button under the reply."""
        with self.unit_of_work() as session:
            query = self._chat_query(session, chat_id, reference)
            self._add_feedback(session, query, mark, comment, self.clock(), actor=f"telegram:{chat_id}")

    def chat_feedback_comment(self, chat_id: int, reference: str, comment: str) -> None:
        """The requester's optional comment after pressing a verdict: added to their latest feedback."""
        from kb.models import Feedback

        with self.unit_of_work() as session:
            query = self._chat_query(session, chat_id, reference)
            latest = session.scalar(select(Feedback).where(Feedback.query_id == query.id)
                                    .order_by(Feedback.id.desc()).limit(1))
            if latest is None:
                raise LookupError(f"no feedback on {reference} to comment on")
            latest.comment = "\n".join(x for x in (latest.comment, comment.strip()[:2000]) if x)
            self.record_event(session, query, "feedback comment", f"{len(comment.strip())} characters",
                              at=self.clock(), actor=f"telegram:{chat_id}")

    def self_service(self, chat_id: int, reference: str, solved: bool) -> bool:
        """The requester says the Q&A shown answered their question (closes it) or not; False if too late."""
        now = self.clock()
        with self.unit_of_work() as session:
            query = self._chat_query(session, chat_id, reference)
            if query.status not in OPEN_STATUSES:
                return False
            if solved:
                query.self_served = True
                lifecycle.transition(session, query, QueryStatus.CLOSED, at=now, actor="requester",
                                     reason="self-served: the requester said the Q&A answered it")
            else:
                self.record_event(session, query, "self-service declined", "the requester still needs help",
                                  at=now, actor="requester")
            return True

    def open_queries_of_chat(self, chat_id: int) -> list[QuerySummary]:
        with self.unit_of_work() as session:
            return [q for q in query_summaries(session, self.clock().date(), telegram_chat_id=chat_id)
                    if QueryStatus(q.status) in OPEN_STATUSES]

    def search_faq(self, words: str, language: str, k: int = 3) -> list[tuple[str, str]]:
        """Published Q&As sharing words with ``words``: (question, answer) pairs, in ``language`` when the Q&A
        has that version."""
        with self.unit_of_work() as session:
            matches = self.matcher(session).match(words, language, k=k, good_score=0)
        return [m.entry.in_language(language) or (m.entry.question, m.entry.answer) for m in matches
                if m.shared_terms]

    def published_answer(self, qa_id: int, language: str) -> str | None:
        """A published Q&A's answer in ``language`` (else in the language it was written in)."""
        with self.unit_of_work() as session:
            qa = session.get(QA, qa_id)
            if qa is None or not qa.published:
                return None
            return (qa.version(language) or qa.original).answer

    def strong_answer(self, report: TriageReport, margin: float) -> str | None:
        """The answer to show a requester at once, when the best match is ``margin`` above the 'good' score."""
        if not report.matches:
            return None
        best = report.matches[0]
        if not best["good"] or best["score"] < self.policy.good_match_score + margin:
            return None
        return self.published_answer(best["qa_id"], report.language)
