"""The console's views: sign in and out, the review queue, a query's page, and its actions.

The focal points and quarantine pages live in ``web.pages``, the personal-data page in ``web.privacy``
(mixins of ``Console``).

Every request reads the signed session, checks that its account still exists
(``service.account``), and every POST first checks the CSRF token: a POST
without the session's token is refused with 403 before anything else happens.
Viewers read every page but see no action form, and any action they POST is
refused with 403.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from kb.accounts import AccountView, SignInRefused
from kb.models import Channel, QueryStatus, RequesterType
from kb.service.console import PRIORITIES, QueueFilters
from web.actions import ACTIONS
from web.bank import BankPages
from web.pages import CSRF_REFUSED, ConsolePages
from web.privacy import PrivacyPages
from web.reports import ReportPages
from web.session import SessionCookies, SessionData

log = logging.getLogger("helpdesk.web")

#: What the service raises when an action does not fit (a rule, a state, a missing thing): shown, never a 500.
SHOWN_ERRORS = (ValueError, LookupError, PermissionError)
PAGE_SIZE = 100


class Console(ConsolePages, BankPages, ReportPages, PrivacyPages):
    """The views over one service; ``create_app`` routes requests to them (the other pages: ``web.pages``,
    ``web.bank``, ``web.reports``, ``web.privacy``)."""

    def __init__(self, service, cookies: SessionCookies, templates) -> None:
        self.service, self.cookies, self.templates = service, cookies, templates

    # ---------------------------------------------------------------- plumbing
    def render(self, request: Request, session: SessionData, template: str, status: int = 200,
               account: AccountView | None = None, headers: dict | None = None, **context) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            request=request, account=account, csrf_token=session.csrf, flash=session.take_flash(),
            quarantined=getattr(request.state, "quarantined", 0),
            error=context.pop("error", None), **context)
        response = HTMLResponse(page, status_code=status, headers={"cache-control": "no-store", **(headers or {})})
        self.cookies.write(response, session)
        return response

    def redirect(self, session: SessionData, url: str) -> Response:
        response = RedirectResponse(url, status_code=303)
        self.cookies.write(response, session)
        return response

    def plain_error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, self.cookies.read(request), "error.html", status=status, message=message)

    async def _who(self, session: SessionData, request: Request | None = None) -> AccountView | None:
        """The signed-in account, or None; a removed account's session ends here. With ``request``, also counts
        the quarantined emails for the page's header."""
        if not session.name:
            return None
        account, quarantined = await run_in_threadpool(self._account_and_count, session.name, request is not None)
        if account is None:
            session.sign_out()
        elif request is not None:
            request.state.quarantined = quarantined
        return account

    def _account_and_count(self, name: str, count: bool) -> tuple[AccountView | None, int]:
        account = self.service.account(name)
        return account, (self.service.quarantine_count() if account is not None and count else 0)

    def _to_login(self, request: Request, session: SessionData) -> Response:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.redirect(session, "/login" + (f"?{urlencode({'next': wanted})}" if wanted != "/" else ""))

    # -------------------------------------------------------------- signing in
    async def login_form(self, request: Request) -> Response:
        session = self.cookies.read(request)
        if await self._who(session, request) is not None:
            return self.redirect(session, _local(request.query_params.get("next")))
        return self.render(request, session, "login.html", next=_local(request.query_params.get("next")), name="")

    async def login(self, request: Request) -> Response:
        session = self.cookies.read(request)
        form = await request.form()
        if not session.token_matches(form.get("csrf_token")):
            return self.render(request, session, "error.html", status=403, message=CSRF_REFUSED)
        name, target = str(form.get("name") or ""), _local(form.get("next"))
        source = request.client.host if request.client else ""
        try:
            account = await run_in_threadpool(self.service.sign_in, name, str(form.get("password") or ""),
                                              source=source)
        except SignInRefused as exc:
            wait = int(exc.retry_after.total_seconds())
            if wait > 0:
                return self.render(request, session, "login.html", status=429, error=str(exc), next=target,
                                   name=name, headers={"retry-after": str(wait + 1)})
            return self.render(request, session, "login.html", status=401, error="wrong account name or password",
                               next=target, name=name)
        session.sign_in(account.name)
        log.info("console: %s signed in", account.name)
        return self.redirect(session, target)

    async def logout(self, request: Request) -> Response:
        session = self.cookies.read(request)
        form = await request.form()
        if not session.token_matches(form.get("csrf_token")):
            return self.render(request, session, "error.html", status=403, message=CSRF_REFUSED)
        session.sign_out()
        session.say("ok", "Signed out")
        return self.redirect(session, "/login")

    # ------------------------------------------------------------------- pages
    async def queue(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        params = request.query_params
        filters = QueueFilters(**{name: params.get(name, "").strip()[:200] for name in
                                  ("topic", "department", "country", "channel", "q")},
                               status=params.get("status", "open").strip() or "open")
        offset = int(params["offset"]) if params.get("offset", "").isdigit() else 0
        error, page = None, None
        try:
            page = await run_in_threadpool(self.service.review_queue, filters, account=account, offset=offset,
                                           limit=PAGE_SIZE)
        except ValueError as exc:
            error = str(exc)
        policy = self.service.policy

        def paged(to: int) -> str:
            kept = {k: v for k, v in vars(filters).items() if v and not (k == "status" and v == "open")}
            return "/?" + urlencode({**kept, "offset": to}) if to else ("/?" + urlencode(kept) if kept else "/")

        return self.render(
            request, session, "queue.html", status=400 if error else 200, account=account, error=error,
            page=page, filters=filters, groups=PRIORITIES, paged=paged,
            statuses=[s.value for s in QueryStatus], channels=[c.value for c in Channel],
            topics=sorted(((code, t.name()) for code, t in policy.topics.items()), key=lambda kv: kv[1]),
            departments=sorted((code, d.name) for code, d in policy.departments.items()))

    async def query_page(self, request: Request) -> Response:
        session = self.cookies.read(request)
        account = await self._who(session, request)
        if account is None:
            return self._to_login(request, session)
        return await self._query(request, session, account, request.path_params["reference"])

    async def _query(self, request: Request, session: SessionData, account: AccountView, reference: str,
                     error: str | None = None, status: int = 200, typed: dict | None = None) -> Response:
        """The query's page; ``typed`` (after a refused action) keeps what was typed in the reply box."""
        try:
            query = await run_in_threadpool(self.service.console_query, reference, account=account)
        except LookupError as exc:
            return self.render(request, session, "error.html", status=404, account=account, message=str(exc))
        policy = self.service.policy
        chosen = {t["code"] for t in query.topics}
        found = {c["code"]: c for c in query.candidates}
        topic_choices = [{"code": code, "name": t.name(), "checked": code in chosen, "found": found.get(code),
                          "departments": ", ".join(t.departments)} for code, t in policy.topics.items()]
        topic_choices.sort(key=lambda c: (not c["checked"], -(c["found"] or {}).get("confidence", 0), c["name"]))
        return self.render(request, session, "query.html", status=status, account=account, error=error, q=query,
                           topic_choices=topic_choices, requester_types=[t.value for t in RequesterType],
                           typed=typed or {})

    # ----------------------------------------------------------------- actions
    async def gate(self, request: Request, back_to: str, refusal: str):
        """Every action's door, in order: the CSRF token, then a signed-in account, then a role that may act.

        Returns (session, form, account), or the response that refuses (nothing changed).
        """
        session = self.cookies.read(request)
        form = await request.form()
        if not session.token_matches(form.get("csrf_token")):
            log.warning("console: POST %s refused: missing or wrong CSRF token", request.url.path)
            return self.render(request, session, "error.html", status=403, message=CSRF_REFUSED)
        account = await self._who(session, request)
        if account is None:  # signed out meanwhile: back to where they were once signed in again
            return self.redirect(session, "/login?" + urlencode({"next": back_to}))
        if not account.may_act:
            return self.render(request, session, "error.html", status=403, account=account,
                               message=f"{account.name} is a viewer: viewers {refusal}")
        return session, form, account

    async def act(self, request: Request) -> Response:
        """One action on one query: through the gate, then ONE call on the service."""
        reference, name = request.path_params["reference"], request.path_params["action"]
        passed = await self.gate(request, f"/queries/{quote(reference)}", "read queries but cannot act on them")
        if isinstance(passed, Response):
            return passed
        session, form, account = passed
        action = ACTIONS.get(name)
        if action is None:
            return self.render(request, session, "error.html", status=404, account=account,
                               message=f"no action {name!r}")
        try:
            said = await run_in_threadpool(action, self.service, reference, form, account.name)
        except SHOWN_ERRORS as exc:
            log.info("console: %s on %s by %s refused: %s", name, reference, account.name, exc)
            typed = {k: form.get(k) for k in ("draft", "without_clearance") if isinstance(form.get(k), str)}
            return await self._query(request, session, account, reference, error=str(exc) or type(exc).__name__,
                                     status=409, typed=typed)
        log.info("console: %s on %s by %s", name, reference, account.name)
        session.say("ok", said)
        return self.redirect(session, f"/queries/{quote(reference.strip().upper())}")


def _local(target) -> str:
    """Only a path on this site is a place to go after signing in (never another site)."""
    target = target if isinstance(target, str) else ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
