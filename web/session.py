"""The console's session: one signed cookie holding who is signed in and the CSRF token.

The cookie is signed with itsdangerous (its content is readable, never
forgeable) and carries no secret: the account name, a random CSRF token and a
one-off message for the next page. Every POST must send the token back in the
form field ``csrf_token``; a page from another site cannot read it, so it
cannot make the browser act. The cookie is HttpOnly, SameSite=Lax, and Secure
unless the console runs on plain HTTP for local use.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "helpdesk_console"
#: A session ends after this long, signed in or not (a new token is then handed out).
MAX_AGE_SECONDS = 12 * 3600


@dataclass
class SessionData:
    csrf: str
    name: str | None = None
    #: (kind, text) shown once on the next page: ("ok", "Reply queued") or ("error", ...).
    flash: tuple[str, str] | None = None
    changed: bool = field(default=False, compare=False)

    @classmethod
    def fresh(cls) -> "SessionData":
        return cls(csrf=secrets.token_urlsafe(32), changed=True)

    def sign_in(self, name: str) -> None:
        """A new token on signing in, so a token seen before cannot be replayed into the new session."""
        self.name, self.csrf, self.changed = name, secrets.token_urlsafe(32), True

    def sign_out(self) -> None:
        self.name, self.csrf, self.flash, self.changed = None, secrets.token_urlsafe(32), None, True

    def say(self, kind: str, text: str) -> None:
        self.flash, self.changed = (kind, text), True

    def take_flash(self) -> tuple[str, str] | None:
        flash, self.flash = self.flash, None
        if flash is not None:
            self.changed = True
        return flash

    def token_matches(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(sent.encode(), self.csrf.encode())


class SessionCookies:
    def __init__(self, secret_key: str, *, secure: bool) -> None:
        if not secret_key or len(secret_key) < 16:
            raise ValueError("the console's secret key needs at least 16 characters")
        self.serializer = URLSafeTimedSerializer(secret_key, salt="helpdesk-console-session")
        self.secure = secure

    def read(self, request: Request) -> SessionData:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self.serializer.loads(raw, max_age=MAX_AGE_SECONDS)
                flash = data.get("f")
                return SessionData(csrf=str(data["c"]), name=data.get("n") or None,
                                   flash=(str(flash[0]), str(flash[1])) if flash else None)
            except (BadSignature, KeyError, TypeError, ValueError, IndexError):
                pass
        return SessionData.fresh()

    def write(self, response: Response, data: SessionData) -> None:
        if not data.changed:
            return
        value = self.serializer.dumps({"c": data.csrf, "n": data.name, "f": list(data.flash) if data.flash else None})
        response.set_cookie(COOKIE, value, max_age=MAX_AGE_SECONDS, path="/", httponly=True, samesite="lax",
                            secure=self.secure)
