"""The Telegram conversation: what the bot asks, in which order, and what it answers.

Requester flow: /start greets in the user's language -> organisation ->
country (names understood in the user's language, confirmed with buttons) ->
sector -> type (buttons) -> the question, in one or several messages, then
"Submit". Steps already known from an earlier query are skipped, and whatever
the requester types first is kept as the start of the question. The reply
gives the reference and the target date and, when the Q&A bank has a strong
match, that answer at once with "This answers my question" / "I still need help".

Every decision about a query is one call on the service; the conversation's own
state (``ChatState``) is loaded and saved through the service too, so a restart
resumes where the user was. Nothing here opens a session.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta

from bot.cards import BotReply, Button, rating_buttons, review_card
from bot.texts import texts
from kb.intake import QueryRejectedError, QuerySubmission
from kb.models import Channel
from kb.regions import UnknownCountryError
from kb.service import ChatState, FollowUpOutcome, HelpdeskService

log = logging.getLogger(__name__)

REFERENCE = re.compile(r"\b([A-Z]{2,6}-\d{4}-\d{4,})\b")
#: More messages than this in a minute from one chat are politely refused.
RATE_LIMIT_PER_MINUTE = 20
#: A comment on a rating is short; a longer message (or a question) is something new.
MAX_COMMENT_WORDS = 80
#: A match this far above the "good" score is shown to the requester at once.
SELF_SERVICE_MARGIN = 10.0
SPECIALIST_BUTTONS = ("send", "edit", "topics", "topic", "extend", "conf", "promote")


class ChatDesk:
    """The conversation rules for requesters and specialists on Telegram."""

    def __init__(self, service: HelpdeskService) -> None:
        self.service = service

    # ------------------------------------------------------------------ plumbing
    def first_time(self, update_id: int, chat_id: int | None) -> bool:
        return self.service.first_time_update(update_id, chat_id)

    def throttle(self, chat_id: int) -> list[BotReply] | None:
        """None to go on; else what to answer (a polite note once per burst, then silence)."""
        now = self.service.clock()
        chat = self.service.load_chat(chat_id)
        recent = [t for t in chat.data.get("recent", []) if now - datetime.fromisoformat(t) < timedelta(minutes=1)]
        recent.append(now.isoformat())
        chat.data["recent"] = recent[-(RATE_LIMIT_PER_MINUTE + 5):]
        try:
            if len(recent) <= RATE_LIMIT_PER_MINUTE:
                return None
            already = chat.data.get("slowed_at")
            if already and now - datetime.fromisoformat(already) < timedelta(minutes=1):
                return []
            chat.data["slowed_at"] = now.isoformat()
            return [BotReply(texts(chat.language)["slow"])]
        finally:
            self.service.save_chat(chat)

    # ----------------------------------------------------------------- requester
    def start(self, chat_id: int, first_name: str | None, language_code: str | None) -> list[BotReply]:
        chat = self.service.load_chat(chat_id, language_code)
        t = texts(chat.language)
        hello = t["hello"].format(name=first_name or "", helpdesk=self.service.policy.name,
                                  days=self.service.policy.deadlines.target_reply_days)
        chat.state, chat.data = "idle", {"name": first_name, "recent": chat.data.get("recent", [])}
        return [BotReply(hello), self._next_step(chat)]

    def _next_step(self, chat: ChatState) -> BotReply:
        """Ask for the first thing we do not know yet (saving the state); known requesters go to their question."""
        t = texts(chat.language)
        known = self.service.chat_profile(chat.chat_id)
        data = chat.data
        for key, attribute in (("organisation", "organisation"), ("country", "country"), ("sector", "sector"),
                               ("type", "requester_type")):
            if not data.get(key) and known is not None and getattr(known, attribute):
                data[key] = getattr(known, attribute)
        reply = None
        if not data.get("organisation"):
            chat.state, reply = "org", BotReply(t["org"])
        elif not data.get("country"):
            chat.state, reply = "country", BotReply(t["country"])
        elif not data.get("sector"):
            chat.state, reply = "sector", BotReply(t["sector"])
        elif not data.get("type"):
            chat.state = "type"
            reply = BotReply(t["type"], tuple((Button(label, f"type:{code}"),) for code, label in t["types"].items()))
        else:
            chat.state = "question"
            data.setdefault("parts", [])
            # The question's identity, fixed before it is submitted: a repeated Submit stores it once.
            data.setdefault("started", f"{self.service.clock().isoformat()}/{uuid.uuid4().hex[:8]}")
            reply = BotReply(f"{t['kept']} {t['more']}", ((Button(t["submit"], "submit"),),)) if data["parts"] \
                else BotReply(t["question"])
        self.service.save_chat(chat)
        return reply

    def text(self, chat_id: int, text: str, *, first_name: str | None = None, language_code: str | None = None,
             replied_text: str | None = None, user_id: int | None = None) -> list[BotReply]:
        """A text message: an answer to the current step, part of the question, or a follow-up."""
        text = text.strip()
        chat = self.service.load_chat(chat_id, language_code)
        t = texts(chat.language)
        if chat.state.startswith("spec:"):
            action, chat.state = chat.state, "idle"
            self.service.save_chat(chat)
            if self.service.is_specialist(user_id if user_id is not None else chat_id):
                return self._specialist_text(chat_id, action, text)
            return []
        if chat.state == "org":
            chat.data["organisation"] = text[:200]
            return [self._next_step(chat)]
        if chat.state == "country":
            return self._country(chat, text)
        if chat.state == "sector":
            chat.data["sector"] = text[:120]
            return [self._next_step(chat)]
        if chat.state == "feedback_comment":
            noted = self._feedback_comment(chat, text)
            if noted is not None:
                return noted
        if chat.state == "question":
            chat.data["parts"] = [*chat.data.get("parts", []), text]
            self.service.save_chat(chat)
            return [BotReply(t["more"], ((Button(t["submit"], "submit"),),))]
        reference = REFERENCE.search(replied_text or "") or REFERENCE.search(text)
        if reference:
            answered = self._follow_up(chat, reference.group(1), text)
            if answered is not None:
                return answered
        # Anything else starts a question: keep it, and ask only for what we do not know yet.
        if "name" not in chat.data:
            chat.data["name"] = first_name
        chat.data["parts"] = [text]
        chat.data.pop("started", None)
        return [self._next_step(chat)]

    def _country(self, chat: ChatState, text: str) -> list[BotReply]:
        t = texts(chat.language)
        countries = self.service.countries
        try:
            country = countries.resolve(text, language=chat.language)
        except UnknownCountryError as exc:
            if not exc.suggestions:
                self.service.save_chat(chat)
                return [BotReply(t["country_unknown"])]
            guess = countries.resolve(exc.suggestions[0], language=chat.language)
            chat.state, chat.data["pending_country"] = "country_confirm", guess.code
            self.service.save_chat(chat)
            return [BotReply(t["country_confirm"].format(country=countries.name(guess.code, chat.language)),
                             ((Button(t["yes"], "country:yes"), Button(t["no"], "country:no")),))]
        chat.data["country"] = country.code
        return [self._next_step(chat)]

    def _follow_up(self, chat: ChatState, reference: str, text: str) -> list[BotReply] | None:
        """A message about one of the chat's queries; None when the reference is not theirs."""
        t = texts(chat.language)
        try:
            result = self.service.chat_follow_up(chat.chat_id, reference, text)
        except (LookupError, PermissionError):
            return None
        if result.outcome is FollowUpOutcome.RATING:
            return [BotReply(t["rated"].format(reference=result.reference))]
        return [BotReply(t["follow_up"].format(reference=result.reference))]

    def button(self, chat_id: int, data: str, *, user_id: int | None = None) -> list[BotReply]:
        kind, _, arg = data.partition(":")
        if kind in SPECIALIST_BUTTONS:
            return self.specialist_button(user_id if user_id is not None else chat_id, kind, arg)
        if kind == "submit":
            return self.submit(chat_id)
        chat = self.service.load_chat(chat_id)
        t = texts(chat.language)
        if kind == "type" and chat.state == "type" and arg in t["types"]:
            chat.data["type"] = arg
            return [self._next_step(chat)]
        if kind == "country" and chat.state == "country_confirm":
            if arg == "yes" and chat.data.get("pending_country"):
                chat.data["country"] = chat.data.pop("pending_country")
                return [self._next_step(chat)]
            chat.state = "country"
            self.service.save_chat(chat)
            return [BotReply(t["country"])]
        if kind in ("solved", "needhelp"):
            return self._self_service(chat, kind == "solved", arg)
        if kind == "rate":
            return self._rate(chat, arg)
        return []

    def _rate(self, chat: ChatState, arg: str) -> list[BotReply]:
        reference, _, mark = arg.rpartition(":")
        if not mark.isdigit():
            return []
        try:
            self.service.chat_rating(chat.chat_id, reference, int(mark))
        except (LookupError, PermissionError, ValueError) as exc:
            log.warning("rating refused for chat %s: %s", chat.chat_id, exc)
            return []
        # The comment is optional: the next short message (within the hour) is taken as one.
        chat.state = "feedback_comment"
        chat.data["feedback"] = {"reference": reference, "at": self.service.clock().isoformat()}
        self.service.save_chat(chat)
        t = texts(chat.language)
        return [BotReply(f"{t['rated'].format(reference=reference)} {t['comment_optional']}")]

    def _feedback_comment(self, chat: ChatState, text: str) -> list[BotReply] | None:
        """A comment on the rating just given; None when the message is something else (a new question)."""
        pending = chat.data.pop("feedback", None) or {}
        chat.state = "idle"
        self.service.save_chat(chat)
        at = pending.get("at")
        fresh = at and self.service.clock() - datetime.fromisoformat(at) < timedelta(hours=1)
        if not fresh or "?" in text or "¿" in text or len(text.split()) > MAX_COMMENT_WORDS:
            return None
        try:
            self.service.chat_feedback_comment(chat.chat_id, pending["reference"], text)
        except (LookupError, PermissionError) as exc:
            log.warning("feedback comment refused for chat %s: %s", chat.chat_id, exc)
            return None
        return [BotReply(texts(chat.language)["comment_noted"])]

    def _self_service(self, chat: ChatState, solved: bool, reference: str) -> list[BotReply]:
        t = texts(chat.language)
        try:
            done = self.service.self_service(chat.chat_id, reference, solved)
        except (LookupError, PermissionError):
            return []
        if not done:
            return []
        return [BotReply(t["closed_self" if solved else "continues"].format(reference=reference))]

    def submit(self, chat_id: int) -> list[BotReply]:
        chat = self.service.load_chat(chat_id)
        t = texts(chat.language)
        data = chat.data
        if chat.state != "question" or not data.get("parts"):
            return [BotReply(t["nothing"])]
        key = f"telegram:{chat_id}:{data.get('started') or self.service.clock().isoformat()}"
        submission = QuerySubmission(
            text="\n".join(data["parts"]), channel=Channel.TELEGRAM, telegram_chat_id=chat_id, name=data.get("name"),
            organisation=data.get("organisation"), country=data.get("country"), sector=data.get("sector"),
            requester_type=data.get("type"), source_key=key, default_language=chat.language)
        try:
            report = self.service.submit_query(submission)
        except QueryRejectedError as exc:
            # The refused text is not kept: the next message starts a new question.
            data["parts"] = []
            data.pop("started", None)
            self.service.save_chat(chat)
            return [BotReply(t["refused"].format(reason=exc))]
        chat.state, data["parts"] = "idle", []
        data.pop("started", None)
        self.service.save_chat(chat)
        replies = [BotReply(t["received"].format(reference=report.reference,
                                                 target=report.target_reply_date.isoformat()))]
        strong = self.service.strong_answer(report, SELF_SERVICE_MARGIN)
        if strong is not None:
            replies.append(BotReply(t["strong"].format(answer=strong),
                                    ((Button(t["solved"], f"solved:{report.reference}"),
                                      Button(t["need_help"], f"needhelp:{report.reference}")),)))
        return replies

    def cancel(self, chat_id: int) -> list[BotReply]:
        chat = self.service.load_chat(chat_id)
        chat.state, chat.data["parts"] = "idle", []
        chat.data.pop("started", None)
        self.service.save_chat(chat)
        return [BotReply(texts(chat.language)["cancelled"])]

    def status(self, chat_id: int) -> list[BotReply]:
        chat = self.service.load_chat(chat_id)
        t = texts(chat.language)
        lines = [t["status"].format(reference=q.reference, status=t["statuses"].get(q.status, q.status),
                                    target=q.target_reply_date.isoformat())
                 for q in self.service.open_queries_of_chat(chat_id)]
        return [BotReply("\n".join(lines) if lines else t["status_none"])]

    def faq(self, chat_id: int, words: str) -> list[BotReply]:
        chat = self.service.load_chat(chat_id)
        t = texts(chat.language)
        if not words.strip():
            return [BotReply(t["faq_usage"])]
        guess = self.service.detector.detect(words, default=chat.language)
        hits = self.service.search_faq(words, guess.code if guess.supported else chat.language)
        if not hits:
            return [BotReply(t["faq_none"])]
        return [BotReply("\n\n".join(f"Q: {question}\nA: {answer}" for question, answer in hits))]

    # ---------------------------------------------------------------- specialist
    def is_specialist(self, user_id: int) -> bool:
        return self.service.is_specialist(user_id)

    def refuse(self, user_id: int, what: str) -> BotReply:
        """Specialist commands and buttons from anyone else are refused, and logged."""
        log.warning("refused %s to Telegram user %s", what, user_id)
        return BotReply("Sorry, this command is for the helpdesk's specialists only.")

    def queue_view(self, user_id: int) -> list[BotReply]:
        if not self.is_specialist(user_id):
            return [self.refuse(user_id, "/queue")]
        from kb.models import OPEN_STATUSES

        open_values = {s.value for s in OPEN_STATUSES}
        rows = [q for q in self.service.list_queries() if q.status in open_values]  # oldest first
        lines = [f"{q.reference} {q.status.replace('_', ' ')}{' OVERDUE' if q.overdue else ''} target "
                 f"{q.target_reply_date} — {q.title}" for q in rows]
        return [BotReply("\n".join(lines) or "Nothing awaits review.")]

    def show(self, user_id: int, reference: str) -> list[BotReply]:
        """One query with its inputs and history, for a specialist (``reference`` may be empty: usage)."""
        if not self.is_specialist(user_id):
            return [self.refuse(user_id, "/show")]
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

    def specialist_button(self, user_id: int, kind: str, reference: str) -> list[BotReply]:
        if not self.is_specialist(user_id):
            return [self.refuse(user_id, f"the {kind!r} button on {reference or '-'}")]
        actor = f"telegram:{user_id}"
        service = self.service
        try:
            if kind == "send":
                service.send_reply(reference, actor)
                return [BotReply(f"{reference}: reply queued to the requester.")]
            if kind == "conf":
                service.set_confidential(reference, True, actor)
                return [BotReply(f"{reference}: marked confidential.")]
            if kind == "promote":
                key = service.promote_to_qa(reference, actor)
                return [BotReply(f"{reference}: anonymised draft Q&A {key} created; review and publish it with "
                                 f"`helpdesk qa publish {key}`.")]
            if kind == "topic":
                reference, _, code = reference.partition(":")
                added = service.correct_topics(reference, [code], actor)
                return [BotReply(f"{reference}: topic set to {code}" + (f"; consulting {', '.join(added)}"
                                                                         if added else "") + ".")]
        except (ValueError, LookupError) as exc:
            return [BotReply(f"{reference}: {exc}")]
        chat = service.load_chat(user_id)
        if kind == "edit":
            chat.state = f"spec:edit:{reference}"
            service.save_chat(chat)
            return [BotReply(f"Send the new text of the {reference} reply as your next message.")]
        if kind == "extend":
            chat.state = f"spec:extend:{reference}"
            service.save_chat(chat)
            unit = "working days" if service.calendar.day_count == "working" else "days"
            return [BotReply(f"Send the extension for {reference} as: <{unit}> <reason>, e.g. 10 needs legal review")]
        if kind == "topics":
            rows = [(Button(t.name(), f"topic:{reference}:{code}"),) for code, t in service.policy.topics.items()]
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
                raise ValueError("write the number of days first, then the reason, e.g. 10 needs legal review")
            report = self.service.extend_target(reference, reason, days=int(days), actor=actor)
            return [BotReply(f"{reference}: target moved to {report.target_reply_date}.")]
        except (ValueError, LookupError) as exc:
            return [BotReply(f"{reference}: {exc}")]


def reply_buttons(kind: str, reference: str | None, language: str | None = None) -> tuple[tuple[Button, ...], ...]:
    """The buttons that go with an outbox message of ``kind``: marks under a reply."""
    if kind not in ("reply", "feedback") or not reference:
        return ()
    return rating_buttons(reference, texts(language or "en")["verdicts"])
