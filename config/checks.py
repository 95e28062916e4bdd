"""``helpdesk check``: validate the configuration and try every configured connection.

The checks run in a fixed order, and none stops the others:

1. the environment (``Settings``) and the helpdesk file;
2. the database: a plain connection first; only when it works (and the file
   is valid) is the store opened through ``bootstrap``, which migrates it;
3. IMAP, SMTP and Telegram, each connecting *and logging in* the way the
   running helpdesk does (the mail clients are built by ``Helpdesk``).

Each result is one line: ``OK    <part>: <detail>``, ``--    <part>: not
configured (...)`` or ``FAIL  <part>: <what is wrong> — <what to fix>``. A
failure never prints a traceback, and every line goes through a redactor that
replaces each configured secret (passwords, tokens, the password of
DATABASE_URL) by ``***``: client libraries happily put them in their messages
(httpx errors embed the Bot API URL, which contains the Telegram token).
"""

from __future__ import annotations

import asyncio
import os
import re
import smtplib
import socket
import ssl
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote, quote_plus

from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from config.bootstrap import Helpdesk, bootstrap, load_configuration
from config.settings import ConfigError, HelpdeskFile, Settings
from kb.db import make_engine
from kb.policy import HelpdeskPolicy
from kb.service import utc_now

MASK = "***"

# ----------------------------------------------------------------- redaction


class Redactor:
    """Replaces every given secret (and its URL-encoded forms) by ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: a secret may contain another

    def __call__(self, message: str) -> str:
        for form in self._forms:
            message = message.replace(form, MASK)
        return message


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return make_url(url).password
    except Exception:  # not a URL SQLAlchemy can read: fall back to the user:password@ part
        match = re.search(r"://[^:/@]*:([^@]*)@", url)
        return match.group(1) if match else None


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings: each ``SecretStr`` field, and the password of the database URL."""
    secrets = [value.get_secret_value() for name in type(settings).model_fields
               if isinstance(value := getattr(settings, name), SecretStr)]
    return secrets + [_url_password(settings.database_url)]


def redactor(settings: Settings) -> Redactor:
    return Redactor(settings_secrets(settings))


def redactor_from_environment() -> Redactor:
    """A redactor for the current environment, even when ``Settings()`` itself cannot be built."""
    try:
        return redactor(Settings())
    except Exception:
        secret = re.compile(r"PASSWORD|TOKEN|SECRET")
        return Redactor([v for k, v in os.environ.items() if k.startswith("HELPDESK_") and secret.search(k)]
                        + [_url_password(os.environ.get("DATABASE_URL"))])


# --------------------------------------------------------------- messages


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _unbytes(message: str) -> str:
    """``b'[AUTHENTICATIONFAILED] Authentication failed.'`` -> the text inside."""
    match = re.fullmatch(r"""b(['"])(.*)\1""", message.strip())
    return match.group(2) if match else message


def _one_line(message: str) -> str:
    """A multi-line message (a ConfigError listing problems) as one line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    return lines[0] + " " + "; ".join(line.removeprefix("- ") for line in lines[1:])


def driver_message(exc: DBAPIError) -> str:
    """The first line of the database driver's own message (without SQLAlchemy's SQL and links)."""
    return _first_line(exc.orig if exc.orig is not None else exc)


def explain_database(exc: DBAPIError) -> str:
    """What is wrong with the database connection, and what to change."""
    message = driver_message(exc)
    low = message.lower()
    if "connection refused" in low:
        return "connection refused — is the database server running there? check the host and port in DATABASE_URL"
    if match := re.search(r'database "([^"]+)" does not exist', message):
        return (f'database "{match.group(1)}" does not exist — create it (createdb {match.group(1)}) or fix the '
                "database name in DATABASE_URL")
    if match := re.search(r'role "([^"]+)" does not exist', message):
        return f'login refused: role "{match.group(1)}" does not exist — fix the user name in DATABASE_URL'
    if "authentication failed" in low or "no password supplied" in low:
        return "login refused (wrong user or password) — fix the user and password in DATABASE_URL"
    if "resolve host" in low or "translate host name" in low or "name or service not known" in low:
        return "host name not found — check the host in DATABASE_URL"
    if "timeout" in low or "timed out" in low:
        return "no answer in time — check the host and port in DATABASE_URL (and any firewall)"
    if "unable to open database file" in low:
        return "cannot open the database file — check that its folder exists and is writable (DATABASE_URL or " \
               "HELPDESK_DATA_DIR)"
    message = re.sub(r"^connection failed: connection to server at .*? failed: (FATAL:\s*)?", "", message)
    return f"{message} — check DATABASE_URL"


def explain_network(exc: BaseException, where: str, security: str, verify: str) -> str | None:
    """Connection-level failures shared by IMAP and SMTP; None when ``exc`` is not one."""
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused — check {where}"
    if isinstance(exc, socket.gaierror):
        return f"host name not found — check {where.split('/')[0]}"
    if isinstance(exc, TimeoutError):
        return f"no answer in time — check {where} (and any firewall)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the server's TLS certificate was not accepted ({exc.verify_message or _first_line(exc)}) — use the "
                f"name on the certificate, or for a test server only set {verify}=false")
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or _first_line(exc)}) — check {security} against the port"
    if isinstance(exc, OSError):
        return f"cannot connect ({exc.strerror or _first_line(exc)}) — check {where}"
    return None


def _oauth2_problem(exc: BaseException) -> str | None:
    from ingest.oauth2 import TokenError

    if isinstance(exc, TokenError):
        return (f"could not get an OAuth2 access token: {_first_line(exc)} — check HELPDESK_OAUTH2_TOKEN_URL, "
                "HELPDESK_OAUTH2_CLIENT_ID and HELPDESK_OAUTH2_REFRESH_TOKEN")
    return None


def explain_imap(exc: BaseException, settings: Settings) -> str:
    from imapclient.exceptions import LoginError

    if isinstance(exc, ConfigError):
        return _one_line(str(exc))
    if isinstance(exc, LoginError):
        secret = "HELPDESK_IMAP_PASSWORD" if settings.imap_password is not None else "the OAuth2 token"
        return (f"login refused for user {settings.imap_user} ({_unbytes(_first_line(exc))}) — check "
                f"HELPDESK_IMAP_USER and {secret}")
    return (_oauth2_problem(exc)
            or explain_network(exc, "HELPDESK_IMAP_HOST/HELPDESK_IMAP_PORT", "HELPDESK_IMAP_SECURITY (tls: 993, "
                               "starttls: 143)", "HELPDESK_IMAP_VERIFY_TLS")
            or f"{type(exc).__name__}: {_unbytes(_first_line(exc))} — check the HELPDESK_IMAP_* settings")


def _smtp_answer(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return _one_line(error.decode(errors="replace") if isinstance(error, bytes) else str(error))


def explain_smtp(exc: BaseException, settings: Settings) -> str:
    security = "HELPDESK_SMTP_SECURITY (tls: 465, starttls: 587)"
    if isinstance(exc, ConfigError):
        return _one_line(str(exc))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        secret = ("HELPDESK_SMTP_PASSWORD" if settings.smtp_password is not None
                  else "the OAuth2 token (HELPDESK_OAUTH2_*)")
        return (f"login refused for user {settings.smtp_user} ({exc.smtp_code} {_smtp_answer(exc)}) — check "
                f"HELPDESK_SMTP_USER and {secret}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{_first_line(exc)} — check {security}; most servers offer login only over TLS or after STARTTLS"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({_first_line(exc)}) — check {security} against the port"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server answered {exc.smtp_code} {_smtp_answer(exc)} — check the HELPDESK_SMTP_* settings"
    return (_oauth2_problem(exc)
            or explain_network(exc, "HELPDESK_SMTP_HOST/HELPDESK_SMTP_PORT", security, "HELPDESK_SMTP_VERIFY_TLS")
            or f"{type(exc).__name__}: {_first_line(exc)} — check the HELPDESK_SMTP_* settings")


def explain_telegram(exc: BaseException) -> str:
    from telegram.error import InvalidToken, NetworkError, TimedOut

    if isinstance(exc, InvalidToken):
        return "the Bot API refused the token — check HELPDESK_TELEGRAM_TOKEN (as given by @BotFather)"
    if isinstance(exc, TimedOut):
        return "no answer from the Bot API in time — check the network and HELPDESK_TELEGRAM_BASE_URL"
    if isinstance(exc, NetworkError):
        return f"cannot reach the Bot API ({_first_line(exc)}) — check HELPDESK_TELEGRAM_BASE_URL and the network"
    return f"{type(exc).__name__}: {_first_line(exc)} — check HELPDESK_TELEGRAM_TOKEN and HELPDESK_TELEGRAM_BASE_URL"


def describe_environment(error: ValidationError) -> str:
    """A ``Settings`` validation error, naming the environment variables (never their values)."""
    problems = []
    for e in error.errors():
        name = str(e["loc"][0]) if e["loc"] else "environment"
        variable = name if name.isupper() else f"HELPDESK_{name.upper()}"
        problems.append(f"{variable}: {e['msg']}")
    return "; ".join(problems) + " — fix these in the environment (or the .env file)"


# ------------------------------------------------------------------- output


class Lines:
    """Prints the result lines (redacted, one line each) and counts the failures."""

    def __init__(self, console: Console, redact: Callable[[str], str] = lambda message: message) -> None:
        self.console, self.redact, self.failures = console, redact, 0

    def _print(self, mark: str, part: str, message: str) -> None:
        line = " ".join(self.redact(f"{part}: {message}").split())  # never more than one line
        self.console.print(f"{mark}{escape(line)}", highlight=False, soft_wrap=True)

    def ok(self, part: str, detail: str) -> None:
        self._print("[green]OK[/]    ", part, detail)

    def skipped(self, part: str, why: str) -> None:
        self._print("--    ", part, why)

    def fail(self, part: str, problem: str) -> None:
        self.failures += 1
        self._print("[red]FAIL[/]  ", part, problem)


# ------------------------------------------------------------------- checks


class _ConnectionsOnly(Helpdesk):
    """The helpdesk as far as a connection check needs it: the mail clients are built by the same code as in
    the running helpdesk, but a check only connects and logs in, so neither the store nor the topic model is
    opened (the connections are checked even when the database is down)."""

    @property
    def service(self):
        return None


def _configuration(settings: Settings, out: Lines) -> tuple[HelpdeskFile | None, HelpdeskPolicy | None, list[Path]]:
    try:
        file, policy, paths = load_configuration(settings)
    except ConfigError as exc:
        out.fail("configuration", _one_line(str(exc)))
        return None, None, []
    out.ok(f"configuration {settings.config}", f"{len(policy.topics)} topics, {len(policy.departments)} departments, "
                                               f"always consulted: {', '.join(policy.always_consult) or 'none'}")
    return file, policy, paths


def _database(settings: Settings, out: Lines, *, open_store: bool) -> None:
    raw = settings.resolved_database_url()
    try:
        where = make_url(raw).render_as_string(hide_password=True)
        engine = make_engine(raw)
    except ArgumentError:
        out.fail("database", "DATABASE_URL is not a database URL — use e.g. "
                             "postgresql+psycopg://user:password@host:5432/name")
        return
    except Exception as exc:  # an unknown dialect or a driver that is not installed
        out.fail("database", f"cannot use DATABASE_URL ({_first_line(exc)}) — use e.g. "
                             "postgresql+psycopg://user:password@host:5432/name")
        return
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        out.fail(f"database {where}", explain_database(exc))
        return
    except Exception as exc:
        out.fail(f"database {where}", f"{type(exc).__name__}: {_first_line(exc)} — check DATABASE_URL")
        return
    finally:
        engine.dispose()
    if not open_store:  # the store is opened (and migrated) only with a valid configuration
        out.ok("database", f"{where} (connected; schema not checked until the configuration is fixed)")
        return
    try:
        bootstrap(settings, seed=False).close()
    except DBAPIError as exc:
        out.fail(f"database {where}", f"connected, but the schema could not be brought up to date "
                                      f"({driver_message(exc)}) — check that the DATABASE_URL role may create tables")
        return
    except Exception as exc:
        out.fail(f"database {where}", f"connected, but the store could not be opened ({type(exc).__name__}: "
                                      f"{_one_line(str(exc))})")
        return
    out.ok("database", f"{where} (connected, schema up to date)")


def _imap(settings: Settings, helpdesk: Helpdesk, out: Lines) -> None:
    s = settings
    if not s.imap_host:
        out.skipped("IMAP", f"not configured (mail is read from the drop folder {s.data_dir / 'inbox'})")
        return
    part = f"IMAP {s.imap_host}:{s.imap_port or (993 if s.imap_security == 'tls' else 143)}"
    try:
        ingestor = helpdesk.imap_ingestor()
        client = ingestor.client()  # connects and logs in
    except Exception as exc:
        out.fail(part, explain_imap(exc, s))
        return
    try:
        status = client.select_folder(s.imap_mailbox, readonly=True)
    except Exception as exc:
        out.fail(part, f"logged in, but the mailbox {s.imap_mailbox!r} cannot be opened "
                       f"({_unbytes(_first_line(exc))}) — check HELPDESK_IMAP_MAILBOX")
        return
    finally:
        ingestor.close()
    out.ok("IMAP", f"{s.imap_host} {s.imap_mailbox}: {status[b'EXISTS']} message(s)")


def _smtp(settings: Settings, helpdesk: Helpdesk, out: Lines) -> None:
    s = settings
    if not s.smtp_host:
        out.skipped("SMTP", f"not configured (mail is written to {s.data_dir / 'outbox'})")
        return
    where = f"{s.smtp_host}:{s.smtp_port or (465 if s.smtp_security == 'tls' else 587)}"
    try:
        sender = helpdesk.outbox_sender()
        connection = sender._connect()  # connects and logs in; a refused login raises
    except Exception as exc:
        out.fail(f"SMTP {where}", explain_smtp(exc, s))
        return
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        pass
    c = sender.settings
    login = (f", logged in as {c.username} (XOAUTH2)" if c.oauth2_token is not None else
             f", logged in as {c.username}" if c.username else " (no login configured)")
    out.ok("SMTP", f"{where}: connected{login}")


def _telegram(settings: Settings, out: Lines) -> None:
    s = settings
    if s.telegram_token is None:
        out.skipped("Telegram", "not configured (HELPDESK_TELEGRAM_TOKEN)")
        return
    from telegram import Bot

    async def get_me() -> str:
        kwargs = {"base_url": f"{s.telegram_base_url}/bot"} if s.telegram_base_url else {}
        async with Bot(s.telegram_token.get_secret_value(), **kwargs) as bot:
            return (await bot.get_me()).username

    try:
        username = asyncio.run(get_me())
    except Exception as exc:
        out.fail(f"Telegram {s.telegram_base_url or 'https://api.telegram.org'}", explain_telegram(exc))
        return
    out.ok("Telegram", f"bot @{username}")


def run_checks(console: Console, settings: Settings | None = None) -> int:
    """Print one line per check; returns the number of failures."""
    out = Lines(console)
    if settings is None:
        try:
            settings = Settings()
        except ValidationError as exc:
            out.redact = redactor_from_environment()
            out.fail("environment", describe_environment(exc))
            return out.failures
    out.redact = redactor(settings)
    file, policy, paths = _configuration(settings, out)
    _database(settings, out, open_store=file is not None)
    helpdesk = _ConnectionsOnly(settings=settings, file=file, policy=policy, engine=None, example_paths=paths,
                                clock=utc_now)
    _imap(settings, helpdesk, out)
    _smtp(settings, helpdesk, out)
    _telegram(settings, out)
    return out.failures
