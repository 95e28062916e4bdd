"""The console's other pages: the focal points and their open consultations, and the email quarantine.

A mixin of ``web.views.Console`` (its ``render``, ``redirect``, ``_who`` and
``_to_login``), with the same rules: every view is one call on the service,
every POST carries the CSRF token, viewers read but never act (403).

A quarantined email is untrusted bytes: the page shows only its From and
Subject headers, decoded as text and escaped by the templates, never its body.
Viewers see neither (the sender may be a requester asking in confidence).
"""

from __future__ import annotations

import email
import email.policy
import logging
from email.header import decode_header, make_header

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("helpdesk.web")

HIDDEN_FROM_VIEWERS = "(hidden from viewers)"
CSRF_REFUSED = "missing or wrong CSRF token: reload the page and try again"


class ConsolePages:
    async def focal_points(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        departments = await run_in_threadpool(self.service.focal_points_overview)
        return self.render(request, session, "focal_points.html", account=account, departments=departments)

    async def quarantine(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        held = await run_in_threadpool(self.service.quarantined, reader=account.name, channel="web")
        rows = [{"id": q.id, "received_at": q.received_at, "mailbox": q.mailbox, "size": q.size, "reason": q.reason,
                 **(headers(q.raw) if account.may_act else {"from": HIDDEN_FROM_VIEWERS,
                                                             "subject": HIDDEN_FROM_VIEWERS})} for q in held]
        return self.render(request, session, "quarantine.html", account=account, rows=rows)

    async def release_quarantined(self, request: Request) -> Response:
        """Put one quarantined email back in the queue: through the gate, then ONE call."""
        passed = await self.gate(request, "/quarantine", "read the quarantine but cannot release")
        if isinstance(passed, Response):
            return passed
        session, _, account = passed
        stored = request.path_params["stored_id"]
        try:
            await run_in_threadpool(self.service.release_quarantined, int(stored), actor=account.name, channel="web")
        except (ValueError, LookupError) as exc:
            session.say("error", str(exc))
            return self.redirect(session, "/quarantine")
        log.info("console: quarantined email #%s released by %s", stored, account.name)
        session.say("ok", f"Email #{stored} released: the next mail pass processes it afresh")
        return self.redirect(session, "/quarantine")


def headers(raw: bytes) -> dict[str, str]:
    """The From and Subject of untrusted raw bytes, as plain text (never the body); "-" when unreadable."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - hostile bytes: show nothing rather than fail the page
        return {"from": "-", "subject": "-"}
    return {"from": _decoded(message.get("From")), "subject": _decoded(message.get("Subject"))}


def _decoded(value) -> str:
    if value is None:
        return "-"
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:  # noqa: BLE001 - a malformed encoded word: the header as it came
        text = str(value)
    text = " ".join(text.split())
    return (text[:300] + "…") if len(text) > 300 else (text or "-")
