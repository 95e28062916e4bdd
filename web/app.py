"""The specialist's web console: a Starlette application over one ``HelpdeskService``.

Built the way datasette builds its pages: server-rendered Jinja templates, thin
views over one application object, a signed session cookie, and a CSRF token in
every form. Each view is one call on the service (after checking that the
signed-in account still exists); rendering lives here, every rule in ``kb``.
Every action is a plain HTML form: nothing needs JavaScript.

``create_app`` builds everything when called; importing this module builds nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from web.session import SessionCookies
from web.views import Console

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: Sent with every response: no framing, no inline script, no sniffing, no referrer to other sites.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def create_app(service, *, secret_key: str, secure_cookies: bool = True) -> Starlette:
    """The console for ``service`` (a ``kb.service.HelpdeskService``).

    ``secret_key`` signs the session cookie (keep it secret; changing it signs everyone out);
    ``secure_cookies=False`` lets the cookie travel over plain HTTP, for a console on localhost only.
    """
    console = Console(service, SessionCookies(secret_key, secure=secure_cookies), _templates())
    routes = [
        Route("/", console.queue, methods=["GET"]),
        Route("/login", console.login_form, methods=["GET"]),
        Route("/login", console.login, methods=["POST"]),
        Route("/logout", console.logout, methods=["POST"]),
        Route("/queries/{reference}", console.query_page, methods=["GET"]),
        Route("/queries/{reference}/{action}", console.act, methods=["POST"]),
        Route("/focal-points", console.focal_points, methods=["GET"]),
        Route("/quarantine", console.quarantine, methods=["GET"]),
        Route("/quarantine/{stored_id:int}/release", console.release_quarantined, methods=["POST"]),
        Route("/qa", console.bank, methods=["GET"]),
        Route("/qa/new", console.bank_new_form, methods=["GET"]),
        Route("/qa/new", console.bank_add, methods=["POST"]),
        Route("/qa/import", console.bank_import, methods=["POST"]),
        Route("/qa/export.csv", console.bank_export, methods=["GET"]),
        Route("/qa/{key}", console.bank_entry, methods=["GET"]),
        Route("/qa/{key}/{action}", console.bank_act, methods=["POST"]),
        Route("/privacy", console.privacy, methods=["GET"]),
        Route("/privacy/export", console.privacy_export, methods=["POST"]),
        Route("/privacy/erase", console.privacy_erase, methods=["POST"]),
        Route("/reports", console.reports, methods=["GET"]),
        Route("/reports/{year:int}/{table}.csv", console.report_csv, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        return console.plain_error(request, exc.status_code, exc.detail)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.add_middleware(_SecurityHeaders)
    app.state.console = console
    return app


def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, label=_label, percent=_percent)
    return env


def _when(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _label(value: str | None) -> str:
    return (value or "-").replace("_", " ")


def _percent(value) -> str:
    return "-" if value is None else f"{float(value):.0%}"


class _SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response, static files included (plain ASGI, no buffering)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
