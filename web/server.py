"""Serving the console with uvicorn: where to listen, the cookie secret, and stopping on a signal.

The composition root (``config``) reads the environment and passes it to
``web_options``; this module never reads ``os.environ`` itself:

- ``HELPDESK_WEB_HOST`` (127.0.0.1) and ``HELPDESK_WEB_PORT`` (8080);
- ``HELPDESK_WEB_SECRET`` signs the session cookie; when unset, one is generated
  once and kept in ``<data_dir>/web-secret`` (mode 0600), so sessions survive a restart;
- ``HELPDESK_WEB_INSECURE_COOKIES=1`` lets the cookie travel over plain HTTP. It is
  the default on 127.0.0.1/localhost (a browser on the same machine, no TLS);
  anywhere else cookies are Secure unless it is set: put the console behind HTTPS.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

log = logging.getLogger("helpdesk.web")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SECRET_FILE = "web-secret"
MIN_SECRET = 16


class WebSettingsError(ValueError):
    """A HELPDESK_WEB_* variable is wrong; the message names it and what is allowed."""


@dataclass(frozen=True)
class WebOptions:
    host: str
    port: int
    secret_key: str
    secure_cookies: bool

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def web_options(environ: Mapping[str, str], data_dir: Path) -> WebOptions:
    """The console's options from the environment given (``os.environ`` in the composition root)."""
    host = (environ.get("HELPDESK_WEB_HOST") or "").strip() or "127.0.0.1"
    port_text = (environ.get("HELPDESK_WEB_PORT") or "").strip() or "8080"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise WebSettingsError(f"HELPDESK_WEB_PORT must be a port number from 1 to 65535, not {port_text!r}")
    secret = environ.get("HELPDESK_WEB_SECRET") or ""
    if secret and len(secret) < MIN_SECRET:
        raise WebSettingsError(f"HELPDESK_WEB_SECRET needs at least {MIN_SECRET} characters (better: "
                               "python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    insecure = (environ.get("HELPDESK_WEB_INSECURE_COOKIES") or "").strip().lower()
    if insecure and insecure not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise WebSettingsError(f"HELPDESK_WEB_INSECURE_COOKIES must be 1 or 0, not {insecure!r}")
    secure = host not in LOCAL_HOSTS if not insecure else insecure in ("0", "false", "no", "off")
    return WebOptions(host, int(port_text), secret or stored_secret(Path(data_dir)), secure)


def stored_secret(data_dir: Path) -> str:
    """The secret kept in ``<data_dir>/web-secret``, made once (mode 0600) by whichever process comes first."""
    path = data_dir / SECRET_FILE
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= MIN_SECRET:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{SECRET_FILE}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    try:
        if existing:  # too short (edited by hand): replace it
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another process made it meanwhile: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    log.info("web console: generated a cookie secret in %s", path)
    return path.read_text(encoding="ascii").strip()


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or an OSError naming the address (taken, or not this machine's)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (check HELPDESK_WEB_HOST)") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another console running? "
                      "HELPDESK_WEB_PORT chooses another port)") from None
    sock.set_inheritable(True)
    return sock


def run(app, sock: socket.socket, stop: threading.Event | None = None) -> None:
    """Serve ``app`` on ``sock`` until ``stop`` is set; without one, until Ctrl-C or SIGTERM (then return)."""
    import contextlib
    import signal

    import uvicorn

    handlers = {}
    if stop is None:
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            handlers = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    class _Server(uvicorn.Server):
        def capture_signals(self):  # signals are ours (or the runner's): a stop is a clean return
            return contextlib.nullcontext()

        async def on_tick(self, counter: int) -> bool:
            return stop.is_set() or await super().on_tick(counter)

    uvicorn_log = logging.getLogger("uvicorn.error")
    if uvicorn_log.level == logging.NOTSET:
        uvicorn_log.setLevel(logging.WARNING)  # no "Started server process" lines in the helpdesk's log
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", server_header=False,
                            timeout_graceful_shutdown=5)
    try:
        _Server(config).run(sockets=[sock])
    except SystemExit as exc:  # uvicorn's way of saying it could not start
        raise RuntimeError(f"the web server could not start (uvicorn exit status {exc.code})") from None
    finally:
        sock.close()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def serve(service, options: WebOptions, stop: threading.Event | None = None) -> None:
    """Build the console for ``service`` and serve it (``helpdesk web``, and a part of ``helpdesk run``)."""
    from web.app import create_app

    app = create_app(service, secret_key=options.secret_key, secure_cookies=options.secure_cookies)
    sock = listen(options.host, options.port)
    log.info("web console: %s (%s cookies)", options.url,
             "Secure" if options.secure_cookies else "plain-HTTP (local use)")
    run(app, sock, stop)
