"""OAuth2 access tokens for XOAUTH2 (Microsoft 365 and Gmail no longer accept passwords).

Two ways, both configured through the environment: a ready access token (for
short jobs, or where another tool refreshes it), or the refresh-token flow, in
which this module asks the provider's token endpoint for a new access token
and reuses it until shortly before it expires.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request


class TokenError(RuntimeError):
    """The token endpoint refused or could not be reached; the message says which."""


class RefreshingToken:
    """Callable returning a valid access token, refreshed with the refresh-token grant."""

    def __init__(self, token_url: str, client_id: str, refresh_token: str, *, client_secret: str | None = None,
                 scope: str | None = None, timeout: float = 30.0, clock=time.monotonic) -> None:
        self.token_url, self.client_id, self.refresh_token = token_url, client_id, refresh_token
        self.client_secret, self.scope, self.timeout, self.clock = client_secret, scope, timeout, clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires:
                self._refresh()
            return self._token

    def _refresh(self) -> None:
        form = {"grant_type": "refresh_token", "client_id": self.client_id, "refresh_token": self.refresh_token}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        if self.scope:
            form["scope"] = self.scope
        request = urllib.request.Request(self.token_url, data=urllib.parse.urlencode(form).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            raise TokenError(f"token endpoint refused the refresh token (HTTP {exc.code})") from None
        except (OSError, ValueError) as exc:
            raise TokenError(f"token endpoint unreachable or unreadable: {exc}") from None
        if "access_token" not in data:
            raise TokenError(f"token endpoint answered without an access token: {data.get('error', 'no error')}")
        self._token = data["access_token"]
        if data.get("refresh_token"):  # some providers rotate it
            self.refresh_token = data["refresh_token"]
        self._expires = self.clock() + max(float(data.get("expires_in", 3600)) - 60.0, 0.0)
