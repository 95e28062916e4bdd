"""The OAuth2 refresh-token flow against a token endpoint on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from ingest.oauth2 import RefreshingToken, TokenError


@pytest.fixture
def token_endpoint():
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            calls.append(form)
            ok = form.get("refresh_token") == ["good-refresh"]
            body = json.dumps({"access_token": f"access-{len(calls)}", "expires_in": 3600} if ok
                              else {"error": "invalid_grant"}).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/token", calls
    server.shutdown()


def test_access_token_is_fetched_once_and_refreshed_before_it_expires(token_endpoint):
    url, calls = token_endpoint
    now = [0.0]
    token = RefreshingToken(url, "helpdesk-app", "good-refresh", client_secret="s3cret", clock=lambda: now[0])
    assert token() == "access-1" and token() == "access-1"
    now[0] = 3600 - 30  # within a minute of expiry
    assert token() == "access-2"
    assert calls[0]["grant_type"] == ["refresh_token"] and calls[0]["client_secret"] == ["s3cret"]


def test_a_refused_refresh_token_gives_a_clear_error(token_endpoint):
    url, _ = token_endpoint
    with pytest.raises(TokenError, match="refused the refresh token"):
        RefreshingToken(url, "helpdesk-app", "revoked")()
