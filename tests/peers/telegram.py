"""An HTTP server on loopback that speaks the Telegram Bot API, for python-telegram-bot to poll.

It serves ``/bot{token}/{method}``: getMe, deleteWebhook, getUpdates (long
polling, honouring ``offset``), sendMessage, answerCallbackQuery and
editMessageText, records every call, and lets a test push updates as users
would send them. Unknown methods are logged and answered with an error, not
404 (which python-telegram-bot would take for a bad token).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from aiohttp import web

log = logging.getLogger(__name__)
BOT = {"id": 999, "is_bot": True, "first_name": "HelpBot", "username": "help_test_bot"}


class FakeBotApi:
    def __init__(self) -> None:
        self.updates: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.next_update_id = 1
        self.next_message_id = 1000
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.flood_once: set[str] = set()  # methods that answer 429 (retry after 1 s) once
        self.blocked: set[int] = set()  # chats whose user blocked the bot: 403, as Telegram answers
        self.unknown_chats: set[int] = set()  # chats Telegram does not know: 400 "chat not found"

    # --------------------------------------------------------------------- server
    async def start(self) -> "FakeBotApi":
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict:
        if request.content_type == "application/json":
            return await request.json()
        form = dict(await request.post()) if request.can_read_body else {}
        params = {}
        for key, value in form.items():
            value = str(value)
            try:
                params[key] = json.loads(value) if key in ("reply_markup", "entities") else value
            except ValueError:
                params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if method in self.flood_once:  # refused: not recorded as delivered
            self.flood_once.discard(method)
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                      "parameters": {"retry_after": 1}}, status=429)
        if method != "getUpdates":
            self.calls.append((method, params))
        if method == "getMe":
            return self._ok(BOT)
        if method in ("deleteWebhook", "answerCallbackQuery", "setMyCommands"):
            return self._ok(True)
        if method == "getUpdates":
            return self._ok(await self._get_updates(int(params.get("offset", 0) or 0),
                                                    float(params.get("timeout", 0) or 0)))
        if method == "sendMessage" and int(params["chat_id"]) in self.blocked:
            return web.json_response({"ok": False, "error_code": 403,
                                      "description": "Forbidden: bot was blocked by the user"}, status=403)
        if method == "sendMessage" and int(params["chat_id"]) in self.unknown_chats:
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                                     status=400)
        if method in ("sendMessage", "editMessageText"):
            self.next_message_id += 1
            return self._ok({"message_id": self.next_message_id, "date": int(time.time()),
                             "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params.get("text", "")})
        log.warning("fake Bot API: unknown method %s", method)
        return web.json_response({"ok": False, "error_code": 400, "description": f"unknown method {method}"},
                                 status=400)

    @staticmethod
    def _ok(result) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, offset: int, timeout: float) -> list[dict]:
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and timeout:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return [u for u in self.updates if u["update_id"] >= offset]

    # --------------------------------------------------------------- test actions
    def _push(self, update: dict, update_id: int | None = None) -> int:
        uid = update_id if update_id is not None else self.next_update_id
        self.next_update_id = max(self.next_update_id, uid + 1)
        self.updates.append({"update_id": uid, **update})
        self._new_update.set()
        return uid

    @staticmethod
    def user(user_id: int, language: str = "en", name: str = "Alice") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}

    def send_text(self, user_id: int, text: str, *, language: str = "en", chat_type: str = "private",
                  reply_to_text: str | None = None, update_id: int | None = None, extra: dict | None = None) -> int:
        self.next_message_id += 1
        message = {"message_id": self.next_message_id, "date": int(time.time()),
                   "chat": {"id": user_id, "type": chat_type}, "from": self.user(user_id, language), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to_text:
            message["reply_to_message"] = {"message_id": 1, "date": int(time.time()),
                                           "chat": {"id": user_id, "type": chat_type}, "from": BOT,
                                           "text": reply_to_text}
        if extra:
            message.pop("text")
            message.update(extra)
        return self._push({"message": message}, update_id)

    def press(self, user_id: int, data: str, *, language: str = "en") -> int:
        self.next_message_id += 1
        return self._push({"callback_query": {
            "id": f"cq{self.next_message_id}", "from": self.user(user_id, language), "chat_instance": f"ci{user_id}",
            "data": data, "message": {"message_id": self.next_message_id, "date": int(time.time()),
                                      "chat": {"id": user_id, "type": "private"}, "from": BOT, "text": "..."}}})

    def sent_to(self, chat_id: int) -> list[dict]:
        return [p for m, p in self.calls if m == "sendMessage" and int(p["chat_id"]) == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [p["text"] for p in self.sent_to(chat_id)]

    async def wait_for(self, predicate, timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out; calls so far: {[(m, p.get('text', '')[:60]) for m, p in self.calls]}")
