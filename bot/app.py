"""The Telegram adapter (python-telegram-bot v22, asyncio, long polling).

Protocol: every update passes, in order, (1) ``dedupe``: an ``update_id``
already handled is dropped (Telegram redelivers after a restart); (2)
``throttle``: a chat over the rate limit gets one polite note, then silence;
(3) one handler, which makes one call on ``bot.conversation.ChatDesk`` and sends back
the replies it returns. The bot speaks only in private chats; group chats,
channel posts and edited messages are ignored, and stickers, photos and other
non-text messages get a short note.

Outbound messages that are not direct answers (the specialist's reply to a
requester, review cards) come from the outbox: ``deliver_outbox`` claims due
Telegram rows, sends them, and marks them sent; Telegram's RetryAfter is
honoured as the time of the next attempt, other errors back off.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.cards import BotReply, Button, review_card
from bot.conversation import ChatDesk, reply_buttons
from bot.texts import texts
from kb.models import Channel

log = logging.getLogger(__name__)

#: Telegram refuses longer messages.
MAX_MESSAGE = 4096
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut a long text at paragraph, then line, then word boundaries, never mid-word if avoidable."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return [p for p in parts if p]


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows])


async def send(bot, chat_id: int, text: str, rows=()) -> None:
    """Send ``text`` (split if long); the buttons go with the last part."""
    parts = split_message(text)
    for i, part in enumerate(parts):
        await bot.send_message(chat_id=chat_id, text=part,
                               reply_markup=keyboard(rows) if i == len(parts) - 1 else None)


def desk(context: ContextTypes.DEFAULT_TYPE) -> ChatDesk:
    return context.bot_data["desk"]


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[BotReply]) -> None:
    for reply in replies:
        await send(context.bot, reply.chat_id or update.effective_chat.id, reply.text, reply.buttons)


# ----------------------------------------------------------------- gatekeeping
async def dedupe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if not desk(context).first_time(update.update_id, chat.id if chat else None):
        raise ApplicationHandlerStop


async def throttle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is None or update.effective_chat.type != "private":
        return
    replies = desk(context).throttle(update.effective_chat.id)
    if replies is not None:
        await answer(update, context, replies)
        raise ApplicationHandlerStop


# -------------------------------------------------------------------- requester
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    await answer(update, context, desk(context).start(update.effective_chat.id, user.first_name, user.language_code))


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.message, update.effective_user
    replied = message.reply_to_message.text if message.reply_to_message else None
    await answer(update, context, desk(context).text(update.effective_chat.id, message.text, first_name=user.first_name,
                                                     language_code=user.language_code, replied_text=replied,
                                                     user_id=user.id))


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A document joins the question as a note of its name (its content stays on Telegram's servers)."""
    name = update.message.document.file_name or "document"
    caption = update.message.caption or ""
    await answer(update, context, desk(context).text(update.effective_chat.id, f"{caption}\n[document: {name}]".strip(),
                                                     language_code=update.effective_user.language_code))


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = desk(context).service.chat_language(update.effective_user.language_code)
    await update.message.reply_text(texts(language)["unsupported"])


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer(update, context, desk(context).cancel(update.effective_chat.id))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer(update, context, desk(context).status(update.effective_chat.id))


async def faq(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer(update, context, desk(context).faq(update.effective_chat.id, " ".join(context.args or [])))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    replies = desk(context).button(update.effective_chat.id, query.data or "", user_id=update.effective_user.id)
    await answer(update, context, replies)


# ------------------------------------------------------------------- specialist
async def review_queue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await answer(update, context, desk(context).queue_view(update.effective_user.id))


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    await answer(update, context, desk(context).show(user.id, context.args[0] if context.args else ""))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("update could not be handled: %s", context.error, exc_info=context.error)


# --------------------------------------------------------------------- outbox
#: What Telegram answers when a chat will never receive our message: retrying would not help.
PERMANENT_BAD_REQUESTS = ("chat not found", "user not found", "bot was blocked", "user is deactivated",
                          "peer_id_invalid", "bot can't initiate conversation")


def is_permanent(error: TelegramError) -> bool:
    """A blocked bot (403) or an unknown chat (400) fails for good; anything else may pass later."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and any(p in str(error).lower() for p in PERMANENT_BAD_REQUESTS)


def render(service, message) -> tuple[str, tuple]:
    """The text and buttons of an outbox row: review cards are drawn here from the query as it stands now."""
    if message.kind == "review" and message.reference:
        card = review_card(service.report(message.reference), heading="new query")
        return card.text, card.buttons
    language = None
    if message.kind in ("reply", "feedback") and message.recipients:
        language = service.load_chat(int(message.recipients[0])).language  # the buttons in the chat's language
    return message.body, reply_buttons(message.kind, message.reference, language)


async def deliver_outbox(application: Application, limit: int = 30) -> int:
    """Send the due Telegram rows of the outbox; returns how many went out."""
    service = application.bot_data["desk"].service
    sent = 0
    for message in service.claim_outbox(Channel.TELEGRAM, limit):
        try:
            text_, rows = render(service, message)
            for recipient in message.recipients:
                await send(application.bot, int(recipient), text_, rows)
        except RetryAfter as exc:
            delay = exc.retry_after if isinstance(exc.retry_after, timedelta) else timedelta(seconds=exc.retry_after)
            service.delivery_failed(message.id, str(exc), retry_at=service.clock() + delay)
            continue
        except TelegramError as exc:
            permanent = is_permanent(exc)
            service.delivery_failed(message.id, f"{type(exc).__name__}: {exc}", permanent=permanent)
            continue
        except LookupError as exc:  # the query behind a review card is gone
            service.delivery_failed(message.id, str(exc), permanent=True)
            continue
        service.delivered(message.id)
        sent += 1
    return sent


async def outbox_loop(application: Application, every: float = 2.0) -> None:
    while True:
        try:
            await deliver_outbox(application)
        except Exception:  # the loop must survive a database hiccup
            log.exception("Telegram outbox pass failed")
        await asyncio.sleep(every)


def build_application(chat_desk: ChatDesk, token: str, *, base_url: str | None = None,
                      get_updates_read_timeout: float = 30.0) -> Application:
    """The bot, with ``chat_desk`` in ``bot_data``; the caller starts and stops it."""
    builder = Application.builder().token(token).get_updates_read_timeout(get_updates_read_timeout)
    if base_url:
        builder = builder.base_url(f"{base_url}/bot").base_file_url(f"{base_url}/file/bot")
    application = builder.build()
    application.bot_data["desk"] = chat_desk
    application.add_handler(TypeHandler(Update, dedupe), group=-2)
    application.add_handler(TypeHandler(Update, throttle), group=-1)
    for name, callback in (("start", start), ("cancel", cancel), ("status", status), ("faq", faq),
                           ("queue", review_queue), ("show", show)):
        application.add_handler(CommandHandler(name, callback, filters=filters.ChatType.PRIVATE))
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, text))
    application.add_handler(MessageHandler(PRIVATE & filters.Document.ALL, document))
    application.add_handler(MessageHandler(PRIVATE & ~filters.TEXT & ~filters.COMMAND, unsupported))
    application.add_error_handler(on_error)
    return application
