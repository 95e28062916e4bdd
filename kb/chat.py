"""The Telegram conversation, as rules over stored state (no Telegram types here).

Why in ``kb``: what the helpdesk asks, in which order, what it accepts and
what it answers are business rules. The bot adapter turns each update into one
call here and each ``BotReply`` into a Telegram message. The conversation's
state is a ``ChatSession`` row, so a restart resumes where the user was.

Requester flow: /start greets in the user's language -> organisation ->
country (matched fuzzily, confirmed with buttons) -> sector -> type (buttons)
-> the question, in one or several messages, then "Submit". Steps already
known from an earlier query are skipped. The reply gives the reference and the
target date and, when the Q&A bank has a strong match, that answer at once with
"This answers my question" / "I still need help".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.db import unit_of_work
from kb.intake import QueryRejectedError, QuerySubmission
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
from kb.regions import UnknownCountryError
from kb.review import ReviewError
from kb.chat_texts import TEXTS
from kb.views import TriageReport

REFERENCE = re.compile(r"\b([A-Z]{2,6}-\d{4}-\d{4,})\b")
#: More messages than this in a minute from one chat are politely refused.
RATE_LIMIT_PER_MINUTE = 20
#: A match this far above the "good" score is shown to the requester at once.
SELF_SERVICE_MARGIN = 10.0


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    chat_id: int | None = None  # None: the chat the update came from


def review_card(report: TriageReport) -> BotReply:
    """What a specialist sees of a new query, with the review buttons."""
    r = report.requester
    topics = ", ".join(f"{t['name']} {t['confidence']:.0%}" for t in report.topics if t["selected"]) or \
        "none above the threshold: manual triage"
    matches = "\n".join(f"  {m['score']:.0f} {'good' if m['good'] else 'weak'}: {m['qa_key']}"
                        for m in report.matches) or "  none"
    routes = ", ".join(x["department"] for x in report.routes) or "not routed"
    text = (f"{report.reference} — new query ({report.channel}, {report.language}), target "
            f"{report.target_reply_date}\nFrom: {r.name or '-'}, {r.organisation or '-'}, {r.country_name or '-'} "
            f"({r.region or '-'}), {(r.requester_type or '-').replace('_', ' ')}\n\n{report.text[:1500]}\n\n"
            f"Topics: {topics}\nRouted to: {routes}\nMatches:\n{matches}\n\nDraft:\n{report.draft[:2000]}")
    ref = report.reference
    return BotReply(text, (
        (Button("Send", f"send:{ref}"), Button("Edit", f"edit:{ref}"), Button("Change topics", f"topics:{ref}")),
        (Button("Extend target", f"extend:{ref}"), Button("Mark confidential", f"conf:{ref}"),
         Button("Promote to Q&A", f"promote:{ref}")),
    ))


def user_language(language_code: str | None) -> str:
    code = (language_code or "en")[:2].lower()
    return code if code in TEXTS else "en"


class ChatDesk:
    """The conversation rules for requesters and specialists on Telegram."""

    def __init__(self, service) -> None:
        self.service = service
        self.specialists = frozenset(service.policy.specialist_chats)

    # ------------------------------------------------------------------ plumbing
    def first_time(self, update_id: int, chat_id: int | None) -> bool:
        """Record the update; False when it was already handled (a redelivery after a restart)."""
        try:
            with unit_of_work(self.service.sessions) as session:
                if session.get(ProcessedUpdate, update_id) is not None:
                    return False
                session.add(ProcessedUpdate(update_id=update_id, chat_id=chat_id, at=self.service.clock()))
            return True
        except IntegrityError:
            return False

    def _session(self, session: Session, chat_id: int, language_code: str | None = None) -> ChatSession:
        chat = session.get(ChatSession, chat_id)
        if chat is None:
            chat = ChatSession(chat_id=chat_id, state="idle", language=user_language(language_code), data={},
                               updated_at=self.service.clock())
            session.add(chat)
        elif language_code:
            chat.language = user_language(language_code)
        return chat

    def _set(self, chat: ChatSession, state: str, **data) -> None:
        chat.state = state
        chat.data = {**chat.data, **data}
        chat.updated_at = self.service.clock()

    def throttle(self, chat_id: int) -> list[BotReply] | None:
        """None to go on; else what to answer (a polite note once per burst, then silence)."""
        now = self.service.clock()
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            recent = [t for t in chat.data.get("recent", []) if now - datetime.fromisoformat(t) < timedelta(minutes=1)]
            recent.append(now.isoformat())
            chat.data = {**chat.data, "recent": recent[-(RATE_LIMIT_PER_MINUTE + 5):]}
            if len(recent) <= RATE_LIMIT_PER_MINUTE:
                return None
            already = chat.data.get("slowed_at")
            if already and now - datetime.fromisoformat(already) < timedelta(minutes=1):
                return []
            chat.data = {**chat.data, "slowed_at": now.isoformat()}
            return [BotReply(TEXTS[chat.language]["slow"])]

    # ----------------------------------------------------------------- requester
    def start(self, chat_id: int, first_name: str | None, language_code: str | None) -> list[BotReply]:
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id, language_code)
            t = TEXTS[chat.language]
            hello = t["hello"].format(name=first_name or "", helpdesk=self.service.policy.name,
                                      days=self.service.policy.deadlines.target_reply_days)
            chat.data = {"name": first_name}
            return [BotReply(hello), self._next_step(session, chat)]

    def _next_step(self, session: Session, chat: ChatSession) -> BotReply:
        """Ask for the first thing we do not know yet; known requesters go straight to their question."""
        t = TEXTS[chat.language]
        known = session.scalar(select(Requester).where(Requester.telegram_chat_id == chat.chat_id))
        data = chat.data
        organisation = data.get("organisation") or (known.organisation if known else None)
        country = data.get("country") or (known.country if known else None)
        sector = data.get("sector") or (known.sector if known else None)
        rtype = data.get("type") or (known.requester_type.value if known and known.requester_type else None)
        if not organisation:
            self._set(chat, "org")
            return BotReply(t["org"])
        if not country:
            self._set(chat, "country")
            return BotReply(t["country"])
        if not sector:
            self._set(chat, "sector")
            return BotReply(t["sector"])
        if not rtype:
            self._set(chat, "type")
            return BotReply(t["type"], tuple((Button(label, f"type:{code}"),) for code, label in t["types"].items()))
        self._set(chat, "question", organisation=organisation, country=country, sector=sector, type=rtype, parts=[],
                  started=self.service.clock().isoformat())
        return BotReply(t["question"])

    def text(self, chat_id: int, text: str, *, first_name: str | None = None, language_code: str | None = None,
             replied_text: str | None = None) -> list[BotReply]:
        """A text message: an answer to the current step, part of the question, or a follow-up."""
        text = text.strip()
        pending_action = None
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id, language_code)
            t = TEXTS[chat.language]
            if chat.state.startswith("spec:") and chat_id in self.specialists:
                pending_action = chat.state
                self._set(chat, "idle")
            elif chat.state == "org":
                chat.data = {**chat.data, "organisation": text[:200]}
                return [self._next_step(session, chat)]
            elif chat.state == "country":
                try:
                    country = self.service.countries.resolve(text)
                except UnknownCountryError as exc:
                    if exc.suggestions:
                        guess = self.service.countries.resolve(exc.suggestions[0])
                        self._set(chat, "country_confirm", pending_country=guess.code)
                        return [BotReply(t["country_confirm"].format(country=guess.name),
                                         ((Button(t["yes"], "country:yes"), Button(t["no"], "country:no")),))]
                    return [BotReply(t["country_unknown"])]
                chat.data = {**chat.data, "country": country.code}
                return [self._next_step(session, chat)]
            elif chat.state == "sector":
                chat.data = {**chat.data, "sector": text[:120]}
                return [self._next_step(session, chat)]
            elif chat.state == "question":
                chat.data = {**chat.data, "parts": [*chat.data.get("parts", []), text]}
                chat.updated_at = self.service.clock()
                return [BotReply(t["more"], ((Button(t["submit"], "submit"),),))]
            else:
                reference = REFERENCE.search(replied_text or "") or REFERENCE.search(text)
                if reference:
                    return self._follow_up(session, chat, reference.group(1), text)
                if chat.state == "idle" and "name" not in chat.data:
                    chat.data = {**chat.data, "name": first_name}
                return [self._next_step(session, chat)]
        # The specialist's action runs after the chat state is committed: one unit of work each.
        return self._specialist_text(chat_id, pending_action, text)

    def _follow_up(self, session: Session, chat: ChatSession, reference: str, text: str) -> list[BotReply]:
        t = TEXTS[chat.language]
        query = session.scalar(select(Query).where(Query.reference == reference))
        if query is None or query.requester.telegram_chat_id != chat.chat_id:
            return [self._next_step(session, chat)]
        now = self.service.clock()
        session.add(Message(query=query, direction=Direction.IN, channel=Channel.TELEGRAM, at=now, body=text,
                            telegram_chat_id=chat.chat_id))
        self.service.record_follow_up(session, query, sender=f"telegram:{chat.chat_id}", from_requester=True, now=now)
        return [BotReply(t["follow_up"].format(reference=reference))]

    def button(self, chat_id: int, data: str, *, user_id: int | None = None) -> list[BotReply]:
        kind, _, arg = data.partition(":")
        if kind in SPECIALIST_BUTTONS:
            return self.specialist_button(user_id if user_id is not None else chat_id, kind, arg)
        if kind == "submit":
            return self.submit(chat_id)
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            t = TEXTS[chat.language]
            if kind == "type" and chat.state == "type":
                chat.data = {**chat.data, "type": arg}
                return [self._next_step(session, chat)]
            if kind == "country" and chat.state == "country_confirm":
                if arg == "yes":
                    chat.data = {**chat.data, "country": chat.data.get("pending_country")}
                    return [self._next_step(session, chat)]
                self._set(chat, "country")
                return [BotReply(t["country"])]
            if kind in ("solved", "needhelp"):
                return self._self_service(session, chat, kind, arg)
        return []

    def _self_service(self, session: Session, chat: ChatSession, kind: str, reference: str) -> list[BotReply]:
        t = TEXTS[chat.language]
        query = session.scalar(select(Query).where(Query.reference == reference))
        if query is None or query.requester.telegram_chat_id != chat.chat_id or query.status not in OPEN_STATUSES:
            return []
        now = self.service.clock()
        if kind == "solved":
            query.status, query.closed_at, query.self_served = QueryStatus.CLOSED, now, True
            self.service.record_event(session, query, "closed", "self-served: the requester said the Q&A answered it",
                                      at=now, actor="requester")
            return [BotReply(t["closed_self"].format(reference=reference))]
        self.service.record_event(session, query, "self-service declined", "the requester still needs help", at=now,
                                  actor="requester")
        return [BotReply(t["continues"].format(reference=reference))]

    def submit(self, chat_id: int) -> list[BotReply]:
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            t = TEXTS[chat.language]
            data = dict(chat.data)
            if chat.state != "question" or not data.get("parts"):
                return [BotReply(t["nothing"])]
            key = f"telegram:{chat_id}:{data.get('started', chat.updated_at.isoformat())}"
        submission = QuerySubmission(
            text="\n".join(data["parts"]), channel=Channel.TELEGRAM, telegram_chat_id=chat_id, name=data.get("name"),
            organisation=data.get("organisation"), country=data.get("country"), sector=data.get("sector"),
            requester_type=data.get("type"), source_key=key)
        try:
            report = self.service.submit_query(submission)
        except QueryRejectedError as exc:
            return [BotReply(str(exc))]
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            self._set(chat, "idle", parts=[])
        replies = [BotReply(t["received"].format(reference=report.reference,
                                                 target=report.target_reply_date.isoformat()))]
        strong = self.strong_match(report)
        if strong is not None:
            replies.append(BotReply(t["strong"].format(answer=strong),
                                    ((Button(t["solved"], f"solved:{report.reference}"),
                                      Button(t["need_help"], f"needhelp:{report.reference}")),)))
        return replies

    def strong_match(self, report: TriageReport) -> str | None:
        """The answer to show at once, when the best match is well above the 'good' score."""
        if not report.matches:
            return None
        best = report.matches[0]
        if not best["good"] or best["score"] < self.service.policy.good_match_score + SELF_SERVICE_MARGIN:
            return None
        with unit_of_work(self.service.sessions) as session:
            qa = session.get(QA, best["qa_id"])
            return qa.answer if qa is not None and qa.published else None

    def cancel(self, chat_id: int) -> list[BotReply]:
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            self._set(chat, "idle", parts=[])
            return [BotReply(TEXTS[chat.language]["cancelled"])]

    def status(self, chat_id: int) -> list[BotReply]:
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            t = TEXTS[chat.language]
            rows = session.scalars(select(Query).join(Requester).where(Requester.telegram_chat_id == chat_id,
                                                                       Query.status.in_(OPEN_STATUSES)).order_by(Query.id))
            lines = [t["status"].format(reference=q.reference, status=q.status.value.replace("_", " "),
                                        target=q.target_reply_date.isoformat()) for q in rows]
            return [BotReply("\n".join(lines) if lines else t["status_none"])]

    def faq(self, chat_id: int, words: str) -> list[BotReply]:
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, chat_id)
            t = TEXTS[chat.language]
            if not words.strip():
                return [BotReply(t["faq_usage"])]
            guess = self.service.detector.detect(words)
            language = guess.code if guess.supported else chat.language
            matches = self.service.matcher(session).match(words, language, k=3, good_score=0)
        hits = [m for m in matches if m.shared_terms]
        if not hits:
            return [BotReply(t["faq_none"])]
        return [BotReply("\n\n".join(f"Q: {m.entry.question}\nA: {m.entry.answer}" for m in hits))]

    # ---------------------------------------------------------------- specialist
    def is_specialist(self, user_id: int) -> bool:
        return user_id in self.specialists

    def queue_view(self, user_id: int) -> list[BotReply]:
        if not self.is_specialist(user_id):
            return [self.refusal()]
        open_values = {s.value for s in OPEN_STATUSES}
        rows = [q for q in self.service.list_queries() if q.status in open_values]  # oldest first
        lines = [f"{q.reference} {q.status}{' OVERDUE' if q.overdue else ''} target {q.target_reply_date} — {q.title}"
                 for q in rows]
        return [BotReply("\n".join(lines) or "Nothing awaits review.")]

    def show(self, user_id: int, reference: str) -> list[BotReply]:
        """One query with its inputs and history, for a specialist (``reference`` may be empty: usage)."""
        if not self.is_specialist(user_id):
            return [self.refusal()]
        if not reference:
            return [BotReply("Usage: /show HD-2026-0007")]
        try:
            detail = self.service.show_query(reference)
        except LookupError as exc:
            return [BotReply(str(exc))]
        card = review_card(detail.report)
        history = "\n".join(f"{e['at'][:16]} {e['kind']}: {e['detail']}" for e in detail.history[-15:])
        inputs = "\n".join(f"{c['department']}: " + ("; ".join(i["text"][:300] for i in c["inputs"]) or "awaited")
                           for c in detail.consultations)
        return [BotReply(f"{card.text}\n\nInputs:\n{inputs or '-'}\n\nHistory:\n{history}", card.buttons)]

    @staticmethod
    def refusal() -> BotReply:
        return BotReply("Sorry, this command is for the helpdesk's specialists only.")

    def specialist_button(self, user_id: int, kind: str, reference: str) -> list[BotReply]:
        if not self.is_specialist(user_id):
            return [self.refusal()]
        actor = f"telegram:{user_id}"
        try:
            if kind == "send":
                self.service.send_reply(reference, actor)
                return [BotReply(f"{reference}: reply sent to the requester.")]
            if kind == "conf":
                self.service.set_confidential(reference, True, actor)
                return [BotReply(f"{reference}: marked confidential.")]
            if kind == "promote":
                return [BotReply(f"{reference}: added to the Q&A bank as {self.service.promote_to_qa(reference, actor)}.")]
            if kind == "topic":
                reference, _, code = reference.partition(":")
                added = self.service.correct_topics(reference, [code], actor)
                return [BotReply(f"{reference}: topic set to {code}" + (f"; consulting {', '.join(added)}"
                                                                         if added else "") + ".")]
        except (ReviewError, ValueError, LookupError) as exc:
            return [BotReply(f"{reference}: {exc}")]
        with unit_of_work(self.service.sessions) as session:
            chat = self._session(session, user_id)
            if kind == "edit":
                self._set(chat, f"spec:edit:{reference}")
                return [BotReply(f"Send the new text of the {reference} reply as your next message.")]
            if kind == "extend":
                self._set(chat, f"spec:extend:{reference}")
                return [BotReply(f"Send the extension for {reference} as: <days> <reason>, e.g. 14 needs legal review")]
            if kind == "topics":
                rows = [(Button(t.name(), f"topic:{reference}:{code}"),) for code, t in self.service.policy.topics.items()]
                return [BotReply(f"Choose the topic of {reference}:", tuple(rows))]
        return []

    def _specialist_text(self, chat_id: int, state: str, text: str) -> list[BotReply]:
        """The text a specialist was asked for: a new draft, or an extension as '<days> <reason>'."""
        _, action, reference = state.split(":", 2)
        actor = f"telegram:{chat_id}"
        try:
            if action == "edit":
                self.service.edit_draft(reference, text, actor)
                return [BotReply(f"{reference}: draft replaced. Press Send when ready.",
                                 ((Button("Send", f"send:{reference}"),),))]
            days, _, reason = text.partition(" ")
            if not days.isdigit():
                raise ValueError("write the number of days first, then the reason, e.g. 14 needs legal review")
            current = self.service.report(reference).target_reply_date
            report = self.service.extend_target(reference, current + timedelta(days=int(days)), reason, actor)
            return [BotReply(f"{reference}: target moved to {report.target_reply_date}.")]
        except (ReviewError, ValueError, LookupError) as exc:
            return [BotReply(f"{reference}: {exc}")]


SPECIALIST_BUTTONS = ("send", "edit", "topics", "topic", "extend", "conf", "promote")
