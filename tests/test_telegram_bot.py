"""The Telegram bot, driven through real python-telegram-bot long polling against a
Bot API server on loopback, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import build_application, deliver_outbox, split_message
from bot.texts import TEXTS
from bot.conversation import ChatDesk
from kb.db import unit_of_work
from kb.models import Feedback, OutboxMessage, Query, Requester
from tests.peers.telegram import FakeBotApi  # noqa: F401 (fixture type)

SPECIALIST, ALICE, BRUNO = 7, 42, 43


@pytest.fixture
def desk(helpdesk):
    helpdesk.policy = helpdesk.service.policy = replace(helpdesk.policy, specialist_chats=(SPECIALIST,))
    return ChatDesk(helpdesk.service)


class Bot:
    """Starts and stops the real application against the fake server (a restart is stop + start)."""

    def __init__(self, desk: ChatDesk, api: FakeBotApi) -> None:
        self.desk, self.api, self.app = desk, api, None

    async def start(self) -> "Bot":
        self.app = build_application(self.desk, "123:TEST", base_url=self.api.base_url, get_updates_read_timeout=5)
        await self.app.initialize()
        await self.app.start()
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1, bootstrap_retries=0)
        return self

    async def stop(self) -> None:
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()


@pytest_asyncio.fixture
async def bot(desk, api):
    running = await Bot(desk, api).start()
    yield running
    await running.stop()


async def say(api: FakeBotApi, user: int, text: str, *, expect: int = 1, language: str = "en", **kw) -> list[str]:
    before = len(api.texts_to(user))
    api.send_text(user, text, language=language, **kw)
    await api.wait_for(lambda: len(api.texts_to(user)) >= before + expect)
    return api.texts_to(user)[before:]


async def press(api: FakeBotApi, user: int, data: str, *, expect: int = 1, language: str = "en") -> list[str]:
    before = len(api.texts_to(user))
    api.press(user, data, language=language)
    await api.wait_for(lambda: len(api.texts_to(user)) >= before + expect)
    return api.texts_to(user)[before:]


async def intake(api, user=ALICE, language="en", country="Ghana"):
    await say(api, user, "/start", expect=2, language=language)
    await say(api, user, "Acme Ltd", language=language)
    await say(api, user, country, language=language)
    await say(api, user, "Food processing", language=language)
    await press(api, user, "type:management", language=language)


@pytest.mark.asyncio
async def test_requester_conversation_in_english_ends_with_reference_and_target(bot, api, helpdesk):
    hello, ask_org = await say(api, ALICE, "/start", expect=2)
    assert "within 14 days" in hello and ask_org == "Which organisation do you write for?"
    assert (await say(api, ALICE, "Acme Ltd"))[0].startswith("In which country")
    assert (await say(api, ALICE, "gh"))[0].startswith("What is your sector")
    [types] = await say(api, ALICE, "Food processing")
    assert types == "Do you write for..."
    buttons = api.sent_to(ALICE)[-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in buttons][0] == "type:management"
    assert (await press(api, ALICE, "type:management"))[0].startswith("Please write your question")
    await say(api, ALICE, "Can we employ 16-year-olds in our packaging plant?")
    await say(api, ALICE, "They would work during the school holidays.")
    received = (await press(api, ALICE, "submit"))[0]
    assert received == "Thank you. Your query is registered as HD-2026-0001. We aim to reply by 2026-03-16."
    with unit_of_work(helpdesk.sessions) as s:
        q = s.scalar(select(Query))
        assert q.channel.value == "telegram" and "school holidays" in q.text
        assert (q.requester.organisation, q.requester.country, q.requester.region, q.requester.requester_type.value) \
            == ("Acme Ltd", "GH", "Africa", "management")


@pytest.mark.asyncio
async def test_requester_conversation_in_french_with_a_misspelt_country(bot, api, helpdesk):
    hello, _ = await say(api, BRUNO, "/start", expect=2, language="fr")
    assert hello.startswith("Bonjour Alice ! Ici le")
    await say(api, BRUNO, "Textiles Atlas", language="fr")
    [confirm] = await say(api, BRUNO, "Senegl", language="fr")
    assert confirm == "Voulez-vous dire Sénégal ?"
    assert (await press(api, BRUNO, "country:yes", language="fr"))[0].startswith("Quel est votre secteur")
    await say(api, BRUNO, "Textile", language="fr")
    await press(api, BRUNO, "type:workers", language="fr")
    await say(api, BRUNO, "Les heures supplémentaires de nos ouvriers ne sont pas payées. Que faire ?", language="fr")
    [received, *_] = await press(api, BRUNO, "submit", language="fr")
    assert received.startswith("Merci. Votre demande est enregistrée sous la référence HD-2026-0001")
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(Requester)).region == "Africa"


@pytest.mark.asyncio
async def test_strong_match_is_shown_at_once_and_closes_the_query_when_it_answers(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "How many weeks of maternity leave must we give?")
    received, answer = await press(api, ALICE, "submit", expect=2)
    assert "Convention No. 183" in answer
    labels = [b["text"] for b in api.sent_to(ALICE)[-1]["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["This answers my question", "I still need help"]
    [closed] = await press(api, ALICE, "solved:HD-2026-0001")
    assert closed == "Glad it helped. Query HD-2026-0001 is closed."
    with unit_of_work(helpdesk.sessions) as s:
        q = s.scalar(select(Query))
        assert q.status.value == "closed" and q.self_served
    assert (await say(api, ALICE, "/status"))[0] == "You have no open queries."


@pytest.mark.asyncio
async def test_known_requester_skips_the_intake_next_time(bot, api):
    await intake(api)
    await say(api, ALICE, "What is a living wage?")
    await press(api, ALICE, "submit")
    _, ask = await say(api, ALICE, "/start", expect=2)
    assert ask.startswith("Please write your question")


@pytest.mark.asyncio
async def test_specialist_reviews_and_sends_and_the_reply_reaches_the_requester(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "Can we employ 16-year-olds in our packaging plant?")
    await press(api, ALICE, "submit")
    await deliver_outbox(bot.app)
    [card] = api.texts_to(SPECIALIST)
    assert card.startswith("HD-2026-0001 — new query (telegram, en)") and "Child labour" in card
    labels = [b["text"] for row in api.sent_to(SPECIALIST)[0]["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Send", "Edit", "Change topics", "Extend target", "Mark confidential", "Promote to Q&A"]

    await press(api, SPECIALIST, "edit:HD-2026-0001")
    await say(api, SPECIALIST, "Dear Alice, a 16-year-old may do non-hazardous work only (HD-2026-0001).")
    [sent] = await press(api, SPECIALIST, "send:HD-2026-0001")
    assert sent == "HD-2026-0001: reply queued to the requester."
    before = len(api.texts_to(ALICE))
    await deliver_outbox(bot.app)
    reply = api.texts_to(ALICE)[before]
    assert reply.startswith("Dear Alice, a 16-year-old may do non-hazardous work only (HD-2026-0001).")
    verdicts = [b["text"] for row in api.sent_to(ALICE)[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert verdicts == ["👍 Useful", "Partly", "👎 Not useful"]

    # Alice says the reply was partly useful, then adds a comment: feedback is recorded, the query stays answered.
    [thanks] = await press(api, ALICE, "rate:HD-2026-0001:3")
    assert thanks.startswith("Thank you for your feedback on HD-2026-0001.") and "(optional)" in thanks
    assert await say(api, ALICE, "We also needed the rules for apprentices.") == ["Thank you, your comment is noted."]
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(Query)).status.value == "answered"
        assert [(f.rating, f.comment) for f in s.scalars(select(Feedback))] == [
            (3, "We also needed the rules for apprentices.")]
    # Bruno cannot rate Alice's query.
    await intake(api, BRUNO)
    api.press(BRUNO, "rate:HD-2026-0001:1")
    await say(api, BRUNO, "/status")
    with unit_of_work(helpdesk.sessions) as s:
        assert [f.rating for f in s.scalars(select(Feedback))] == [3]

    [promoted] = await press(api, SPECIALIST, "promote:HD-2026-0001")
    assert "anonymised draft Q&A promoted-hd-2026-0001 created" in promoted


@pytest.mark.asyncio
async def test_unauthorised_user_cannot_use_specialist_commands(bot, api, helpdesk, caplog):
    await intake(api)
    await say(api, ALICE, "Can we employ 16-year-olds?")
    await press(api, ALICE, "submit", expect=2)  # the reference, then the Q&A that may help
    assert (await say(api, ALICE, "/queue"))[0] == "Sorry, this command is for the helpdesk's specialists only."
    assert (await press(api, ALICE, "send:HD-2026-0001"))[0].startswith("Sorry, this command")
    assert (await say(api, ALICE, "/show HD-2026-0001"))[0].startswith("Sorry, this command")
    assert "refused /queue to Telegram user 42" in caplog.text
    assert "refused the 'send' button on HD-2026-0001 to Telegram user 42" in caplog.text
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(Query)).status.value != "answered"
    [queue] = await say(api, SPECIALIST, "/queue")
    assert queue.startswith("HD-2026-0001")


@pytest.mark.asyncio
async def test_a_restart_mid_conversation_resumes_where_the_user_was(desk, api, helpdesk):
    first = await Bot(desk, api).start()
    await say(api, ALICE, "/start", expect=2)
    await say(api, ALICE, "Acme Ltd")
    await first.stop()
    second = await Bot(ChatDesk(helpdesk.service), api).start()
    try:
        assert (await say(api, ALICE, "Ghana"))[0].startswith("What is your sector")
    finally:
        await second.stop()


@pytest.mark.asyncio
async def test_a_burst_is_rate_limited_politely_and_a_redelivered_update_is_handled_once(bot, api):
    await intake(api)
    api.send_text(ALICE, "duplicate check", update_id=500)
    api.send_text(ALICE, "duplicate check", update_id=500)
    for i in range(50):
        api.send_text(ALICE, f"message {i}")
    await api.wait_for(lambda: any("very fast" in t for t in api.texts_to(ALICE)))
    await __import__("asyncio").sleep(0.5)
    texts = api.texts_to(ALICE)
    assert sum("very fast" in t for t in texts) == 1
    assert len(texts) < 30  # the rest of the burst was ignored, not answered


@pytest.mark.asyncio
async def test_stickers_groups_and_channels_do_not_crash_the_bot(bot, api):
    api.send_text(ALICE, "", extra={"sticker": {"file_id": "S1", "file_unique_id": "US1", "width": 512,
                                                "height": 512, "is_animated": False, "is_video": False,
                                                "type": "regular"}})
    await api.wait_for(lambda: api.texts_to(ALICE) == ["I can only read text messages here."])
    api.send_text(-100, "hello group", chat_type="group")
    await say(api, ALICE, "/status")  # still alive, and nothing went to the group
    assert api.texts_to(-100) == []


@pytest.mark.asyncio
async def test_telegram_flood_control_is_honoured_and_the_message_still_goes_once(bot, api, helpdesk, clock):
    await intake(api)
    await say(api, ALICE, "Can we employ 16-year-olds?")
    await press(api, ALICE, "submit", expect=2)  # the reference, then the Q&A that may help
    api.flood_once.add("sendMessage")
    assert await deliver_outbox(bot.app) == 0
    with unit_of_work(helpdesk.sessions) as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.channel == "telegram"))
        assert row.sent_at is None and "retry" in row.last_error.lower()
    clock.now += timedelta(seconds=2)
    assert await deliver_outbox(bot.app) == 1
    assert await deliver_outbox(bot.app) == 0
    assert len(api.texts_to(SPECIALIST)) == 1


def test_long_replies_are_split_at_telegrams_limit():
    text = ("A paragraph of guidance on working time. " * 40 + "\n\n") * 6
    parts = split_message(text)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert " ".join(p.replace("\n", " ") for p in parts).split() == text.split()


@pytest.mark.asyncio
async def test_a_reply_to_the_bots_message_joins_the_query_and_edits_are_ignored(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "What is a living wage?")
    received, *_ = await press(api, ALICE, "submit")
    [added] = await say(api, ALICE, "Our workers are in Accra.", reply_to_text=received)
    assert added == "Added to HD-2026-0001."
    before = len(api.calls)
    api._push({"edited_message": {"message_id": 5, "date": 1700000000, "edit_date": 1700000001,
                                  "chat": {"id": ALICE, "type": "private"}, "from": api.user(ALICE), "text": "edit"}})
    await say(api, ALICE, "/status")
    assert [m for m, _ in api.calls[before:]] == ["sendMessage"]  # only the /status answer
    with unit_of_work(helpdesk.sessions) as s:
        q = s.scalar(select(Query))
        assert [m.body for m in q.messages][-1] == "Our workers are in Accra."


@pytest.mark.asyncio
async def test_a_self_served_query_is_counted_in_the_annual_report(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "How many weeks of maternity leave must we give?")
    await press(api, ALICE, "submit", expect=2)
    await press(api, ALICE, "solved:HD-2026-0001")
    report = helpdesk.service.annual_report(2026)
    assert report.self_served == 1 and report.by_channel == {"telegram": 1}


@pytest.mark.asyncio
@pytest.mark.parametrize("problem", ["blocked", "unknown_chats"])
async def test_a_reply_to_a_user_who_blocked_the_bot_is_not_retried_and_returns_to_the_specialist(
        bot, api, helpdesk, clock, problem):
    await intake(api)
    await say(api, ALICE, "Can we employ 16-year-olds?")
    await press(api, ALICE, "submit", expect=2)  # the reference, then the Q&A that may help
    getattr(api, problem).add(ALICE)  # Alice blocked the bot (403), or Telegram no longer knows her chat (400)
    [queued] = await press(api, SPECIALIST, "send:HD-2026-0001")
    assert queued == "HD-2026-0001: reply queued to the requester."
    await deliver_outbox(bot.app)
    clock.now += timedelta(hours=3)
    await deliver_outbox(bot.app)
    with unit_of_work(helpdesk.sessions) as s:
        row = s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
        assert row.failed_at is not None and row.attempts == 1  # given up at once, never retried
        assert s.scalar(select(Query)).status.value == "draft_ready"
    detail = helpdesk.service.show_query("HD-2026-0001")
    assert any(e["kind"] == "delivery failed" and "reply to 42" in e["detail"] for e in detail.history)
    # The specialist hears of it in the next digest.
    clock.now = clock.now.replace(hour=9) + timedelta(days=1)
    helpdesk.service.chase_overdue_work()
    await deliver_outbox(bot.app)
    assert any("Undelivered messages" in t and "HD-2026-0001 reply to telegram:42" in t
               for t in api.texts_to(SPECIALIST))


@pytest.mark.asyncio
@pytest.mark.parametrize("language,typed,expected", [
    ("fr", "Chine", "CN"), ("fr", "Inde", "IN"), ("fr", "Allemagne", "DE"), ("es", "Alemania", "DE"),
    ("es", "Reino Unido", "GB"), ("en", "UK", "GB"), ("en", "Deutschland", "DE"), ("en", "USA", "US"),
])
async def test_countries_are_understood_in_the_requesters_language(bot, api, helpdesk, language, typed, expected):
    await say(api, ALICE, "/start", expect=2, language=language)
    await say(api, ALICE, "Acme Ltd", language=language)
    [next_question] = await say(api, ALICE, typed, language=language)
    assert next_question == TEXTS[language]["sector"]
    chat = helpdesk.service.load_chat(ALICE)
    assert chat.data["country"] == expected


@pytest.mark.asyncio
async def test_a_misspelt_country_is_offered_in_the_requesters_language(bot, api):
    await say(api, ALICE, "/start", expect=2, language="es")
    await say(api, ALICE, "Textiles SA", language="es")
    [confirm] = await say(api, ALICE, "Alemanai", language="es")
    assert confirm == "¿Se refiere a Alemania?"


@pytest.mark.asyncio
async def test_status_speaks_the_requesters_language(bot, api):
    await intake(api, language="fr", country="Sénégal")
    await say(api, ALICE, "Combien de semaines de congé de maternité devons-nous accorder ?", language="fr")
    await press(api, ALICE, "submit", language="fr", expect=1)
    [status] = await say(api, ALICE, "/status", language="fr")
    assert status.startswith("HD-2026-0001 : chez nos experts, échéance 2026-03-16")


@pytest.mark.asyncio
async def test_the_first_question_typed_after_cancel_or_by_a_returning_requester_is_kept(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "What is a living wage?")
    await say(api, ALICE, "/cancel")
    # After /cancel, Alice types her question straight away: it is kept, not swallowed by a prompt.
    [kept] = await say(api, ALICE, "How many hours of overtime are allowed per week?")
    assert kept.startswith("I have kept your message") and "press Submit" in kept
    await press(api, ALICE, "submit")
    # Days later, as a returning requester, she writes again without /start.
    [kept] = await say(api, ALICE, "Must we pay for the safety shoes of our workers?")
    assert kept.startswith("I have kept your message")
    await press(api, ALICE, "submit")
    with unit_of_work(helpdesk.sessions) as s:
        assert [q.text for q in s.scalars(select(Query).order_by(Query.id))] == [
            "How many hours of overtime are allowed per week?", "Must we pay for the safety shoes of our workers?"]


@pytest.mark.asyncio
async def test_a_refused_question_does_not_stay_in_the_next_one(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "Dürfen wir in unserer Fabrik in Ghana Sechzehnjährige beschäftigen?")
    [refusal] = await press(api, ALICE, "submit")
    assert refusal.startswith("Sorry, the helpdesk cannot register this query") and "'de'" in refusal
    await say(api, ALICE, "May we employ 16-year-olds in our factory?")
    await press(api, ALICE, "submit")
    with unit_of_work(helpdesk.sessions) as s:
        [query] = s.scalars(select(Query))
        assert query.text == "May we employ 16-year-olds in our factory?"


@pytest.mark.asyncio
async def test_a_mark_typed_in_answer_to_the_reply_is_feedback_not_a_reopening(bot, api, helpdesk):
    await intake(api)
    await say(api, ALICE, "Can we employ 16-year-olds?")
    await press(api, ALICE, "submit", expect=2)  # the reference, then the Q&A that may help
    await press(api, SPECIALIST, "send:HD-2026-0001")
    await deliver_outbox(bot.app)
    reply = api.texts_to(ALICE)[-1]
    [thanks] = await say(api, ALICE, "5, very clear", reply_to_text=reply)
    assert thanks == "Thank you for your feedback on HD-2026-0001."
    with unit_of_work(helpdesk.sessions) as s:
        assert s.scalar(select(Query)).status.value == "answered"
        assert [(f.rating, f.comment) for f in s.scalars(select(Feedback))] == [(5, "very clear")]
