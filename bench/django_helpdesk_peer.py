"""django-helpdesk 2.6.1 ``manage.py get_email`` as a peer for the email-ingestion benchmark.

Follows shared/notes/baselines.md, "How the django-helpdesk figure was taken": a throwaway
venv with ``django-helpdesk==2.6.1`` and ``imapclient``, a minimal Django project on SQLite,
a migrated template database, then per run a fresh copy of it with one IMAP ``Queue`` and
``/usr/bin/time -v python manage.py get_email`` timed from outside.

On PostgreSQL too (``postgres=``, a SQLAlchemy URL of the server): the project then uses Django's
PostgreSQL backend (psycopg 3), the template is a database of its own, and each run gets a fresh
database created from it, so the two stores are compared like for like.

get_email deletes (and expunges) what it fetched, so refill the mailbox before every run.

Try it alone: ``.venv/bin/python bench/django_helpdesk_peer.py [MESSAGES] [WORK_DIR]``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

VERSION = "2.6.1"
PACKAGES = [f"django-helpdesk=={VERSION}", "imapclient", "psycopg[binary]"]
DEFAULT_WORK = Path(tempfile.gettempdir()) / "django-helpdesk-peer"
TIME = Path("/usr/bin/time")

SETTINGS = '''"""Minimal Django project around django-helpdesk, for the benchmark only."""
import os
from pathlib import Path

WORK = Path(__file__).resolve().parents[2]  # work/project/peer/settings.py -> work
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
ROOT_URLCONF = "peer.urls"
if os.environ.get("PEER_PG_NAME"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["PEER_PG_NAME"],
                             "HOST": os.environ["PEER_PG_HOST"], "PORT": os.environ["PEER_PG_PORT"],
                             "USER": os.environ["PEER_PG_USER"], "PASSWORD": os.environ.get("PEER_PG_PASSWORD", "")}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["PEER_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
MEDIA_ROOT = str(WORK / "media")
HELPDESK_TEAMS_MODE_ENABLED = False
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(WORK / "sent-mail")
DEFAULT_FROM_EMAIL = "helpdesk@example.org"
'''

URLS = '''from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
'''

MANAGE = '''import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
'''

MAKE_QUEUE = '''"""Create the one IMAP queue get_email reads, from PEER_IMAP_* variables."""
import datetime
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
django.setup()
from django.utils import timezone
from helpdesk.models import Queue

e = os.environ
Queue.objects.create(
    title="Bench", slug="bench", email_address="helpdesk@example.org",
    allow_email_submission=True, email_box_type="imap", email_box_host=e["PEER_IMAP_HOST"],
    email_box_port=int(e["PEER_IMAP_PORT"]), email_box_ssl=False, email_box_user=e["PEER_IMAP_USER"],
    email_box_pass=e["PEER_IMAP_PASSWORD"], email_box_imap_folder="INBOX", email_box_interval=0,
    email_box_last_check=timezone.now() - datetime.timedelta(days=1),
)
'''


class PeerUnavailable(RuntimeError):
    """django-helpdesk cannot be measured here; ``str()`` is a one-line reason."""


@dataclass(frozen=True)
class PeerRun:
    """One ``manage.py get_email`` run: wall time, peak RSS, tickets in its database, exit code."""

    seconds: float
    peak_rss_mib: float
    tickets: int
    exit_code: int


def _last_line(text: str, prefer: str = "ERROR") -> str:
    """The most telling line of a tool's output: the last one starting with ``prefer``, else the last."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    flagged = [line for line in lines if line.startswith(prefer)]
    return (flagged or lines or ["(no output)"])[-1][:300]


class DjangoHelpdesk:
    """django-helpdesk in its own venv and Django project under ``work``.

    ``db_dir`` is where each run's SQLite file goes (default: ``work``). On a disk, get_email's
    ~6 commits per message make it fsync-bound, so put it where our own benchmark database is.
    """

    #: The PostgreSQL databases it creates: the migrated template, and the one each run copies it into.
    PG_TEMPLATE, PG_RUN = "django_helpdesk_peer_template", "django_helpdesk_peer_run"

    def __init__(self, work: Path, db_dir: Path | None = None) -> None:
        self.work = Path(work).resolve()
        self.venv = self.work / "venv"
        self.python = self.venv / "bin" / "python"
        self.project = self.work / "project"
        self.template_db = self.work / "template.sqlite3"
        self.run_db = Path(db_dir or self.work).resolve() / "django-helpdesk-run.sqlite3"
        self.run_timeout = 1800.0
        self.last_output = ""  # stdout + stderr of the last get_email, for diagnosis

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Venv, Django project and migrated template database; each made once, then reused."""
        try:
            self.work.mkdir(parents=True, exist_ok=True)
            self._install()
            self._write_project()
        except OSError as error:
            raise PeerUnavailable(f"cannot write in {self.work}: {error}")
        if not self.template_db.exists():
            partial = self.template_db.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            self._manage(partial, "migrate", "--noinput")
            self._manage(partial, "loaddata", "emailtemplate.json")
            partial.rename(self.template_db)

    def _install(self) -> None:
        marker = self.venv / "installed.txt"
        if marker.exists() and marker.read_text() == "\n".join(PACKAGES) and self.python.exists():
            return
        shutil.rmtree(self.venv, ignore_errors=True)
        base = shutil.which("python3") or sys.executable
        done = self._run([base, "-m", "venv", str(self.venv)], timeout=300)
        if done.returncode != 0:
            raise PeerUnavailable(f"cannot create a venv with {base}: {_last_line(done.stderr + done.stdout)}")
        done = self._run([str(self.python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                          "--retries", "2", "--timeout", "20", *PACKAGES], timeout=1200)
        if done.returncode != 0:
            raise PeerUnavailable(f"pip cannot install {' '.join(PACKAGES)}: {_last_line(done.stderr + done.stdout)}")
        marker.write_text("\n".join(PACKAGES))

    def _write_project(self) -> None:
        package = self.project / "peer"
        package.mkdir(parents=True, exist_ok=True)
        for path, text in [(package / "__init__.py", ""), (package / "settings.py", SETTINGS),
                           (package / "urls.py", URLS), (self.project / "manage.py", MANAGE),
                           (self.project / "make_queue.py", MAKE_QUEUE)]:
            if not path.exists() or path.read_text() != text:
                path.write_text(text)

    def prepare_postgres(self, server: str) -> None:
        """The migrated template database on the PostgreSQL ``server`` (a SQLAlchemy URL), made once."""
        with self._postgres(server) as admin:
            from sqlalchemy import text

            if admin.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                             {"name": self.PG_TEMPLATE}).first() is not None:
                return
            partial = f"{self.PG_TEMPLATE}_partial"
            admin.execute(text(f"DROP DATABASE IF EXISTS {partial} WITH (FORCE)"))
            admin.execute(text(f"CREATE DATABASE {partial}"))
            environment = self._pg_env(server, partial)
            for args in (("migrate", "--noinput"), ("loaddata", "emailtemplate.json")):
                done = self._run([str(self.python), "manage.py", *args], cwd=self.project, env=environment)
                if done.returncode != 0:
                    raise PeerUnavailable(f"manage.py {args[0]} on PostgreSQL failed: "
                                          f"{_last_line(done.stderr + done.stdout)}")
            admin.execute(text(f"ALTER DATABASE {partial} RENAME TO {self.PG_TEMPLATE}"))

    def drop_postgres(self, server: str) -> None:
        with self._postgres(server) as admin:
            from sqlalchemy import text

            for name in (self.PG_RUN, self.PG_TEMPLATE):
                admin.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    # -- one run -----------------------------------------------------------------------------
    def get_email(self, host: str, port: int, username: str, password: str, postgres: str | None = None) -> PeerRun:
        """Fresh database with one IMAP queue, then ``manage.py get_email`` timed from outside.

        ``postgres``: the server (a SQLAlchemy URL) to run on, after ``prepare_postgres``; else SQLite.
        """
        if postgres is not None:
            with self._postgres(postgres) as admin:
                from sqlalchemy import text

                admin.execute(text(f"DROP DATABASE IF EXISTS {self.PG_RUN} WITH (FORCE)"))
                admin.execute(text(f"CREATE DATABASE {self.PG_RUN} TEMPLATE {self.PG_TEMPLATE}"))
            environment = self._pg_env(postgres, self.PG_RUN)
        else:
            if not self.template_db.exists():
                raise PeerUnavailable("not prepared: call prepare() first")
            for leftover in ("-journal", "-wal", "-shm"):  # a stale hot journal would be replayed into the copy
                Path(f"{self.run_db}{leftover}").unlink(missing_ok=True)
            shutil.copyfile(self.template_db, self.run_db)
            environment = self._env(self.run_db)
        sent = self.work / "sent-mail"
        shutil.rmtree(sent, ignore_errors=True)
        shutil.rmtree(self.work / "media", ignore_errors=True)
        sent.mkdir()
        imap = {"PEER_IMAP_HOST": host, "PEER_IMAP_PORT": str(port),
                "PEER_IMAP_USER": username, "PEER_IMAP_PASSWORD": password}
        done = self._run([str(self.python), "make_queue.py"], cwd=self.project, env={**environment, **imap})
        if done.returncode != 0:
            raise PeerUnavailable(f"cannot create the IMAP queue: {_last_line(done.stderr)}")

        command = [str(self.python), "manage.py", "get_email"]
        report = self.work / "time.txt"
        report.unlink(missing_ok=True)
        if TIME.exists():
            command = [str(TIME), "-v", "-o", str(report), *command]
        seconds, exit_code, rss_kib = self._timed(command, environment)
        if report.exists():
            found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report.read_text())
            rss_kib = int(found.group(1)) if found else rss_kib
        if postgres is not None:
            from sqlalchemy import create_engine, make_url, text

            engine = create_engine(make_url(postgres).set(database=self.PG_RUN))
            with engine.connect() as db:
                tickets = db.execute(text("SELECT COUNT(*) FROM helpdesk_ticket")).scalar()
            engine.dispose()
        else:
            with sqlite3.connect(self.run_db) as db:
                tickets = db.execute("SELECT COUNT(*) FROM helpdesk_ticket").fetchone()[0]
        return PeerRun(seconds, rss_kib / 1024, tickets, exit_code)

    def _timed(self, command: list[str], env: dict[str, str]) -> tuple[float, int, int]:
        """Wall seconds, exit code and the child's own peak RSS (KiB, from wait4) of one command."""
        output = self.work / "get_email.log"
        with output.open("wb") as log:
            start = time.perf_counter()
            process = subprocess.Popen(command, cwd=self.project, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            watchdog = threading.Timer(self.run_timeout, os.killpg, (process.pid, signal.SIGKILL))
            watchdog.daemon = True
            watchdog.start()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
        self.last_output = output.read_text(errors="replace")
        return seconds, process.returncode, usage.ru_maxrss  # ru_maxrss is KiB on Linux

    # -- helpers -----------------------------------------------------------------------------
    def _env(self, database: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        return {**env, "PEER_DB": str(database), "DJANGO_SETTINGS_MODULE": "peer.settings", **(extra or {})}

    def _pg_env(self, server: str, database: str) -> dict[str, str]:
        from sqlalchemy import make_url

        url = make_url(server)
        return {**self._env(self.run_db), "PEER_PG_NAME": database, "PEER_PG_HOST": url.host or "127.0.0.1",
                "PEER_PG_PORT": str(url.port or 5432), "PEER_PG_USER": url.username or "postgres",
                "PEER_PG_PASSWORD": url.password or ""}

    @staticmethod
    @contextmanager
    def _postgres(server: str) -> Iterator:
        """A connection to ``server`` for creating and dropping databases (outside any transaction)."""
        from sqlalchemy import create_engine
        from sqlalchemy.exc import SQLAlchemyError

        engine = create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                yield connection
        except SQLAlchemyError as error:
            raise PeerUnavailable(f"PostgreSQL: {str(error).splitlines()[0]}")
        finally:
            engine.dispose()

    def _manage(self, database: Path, *args: str) -> None:
        done = self._run([str(self.python), "manage.py", *args], cwd=self.project, env=self._env(database))
        if done.returncode != 0:
            raise PeerUnavailable(f"manage.py {args[0]} failed: {_last_line(done.stderr + done.stdout)}")

    @staticmethod
    def _run(command: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"{Path(command[0]).name} {' '.join(command[1:3])} took over {timeout:.0f} s")
        except OSError as error:
            raise PeerUnavailable(f"cannot run {command[0]}: {error}")


def simple_messages(n: int) -> list[bytes]:
    """``n`` small plain-text queries from distinct senders."""
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import make_msgid

    out = []
    for i in range(n):
        m = EmailMessage()
        m["From"] = f"User {i} <user{i}@org{i % 37}.example>"
        m["To"], m["Subject"] = "helpdesk@example.org", f"Question {i}: cannot reset my password"
        m["Message-ID"] = make_msgid(domain=f"org{i % 37}.example")
        m.set_content(f"Hello,\n\nI cannot reset my password (case {i}). Could you help?\n\nThanks,\nUser {i}\n")
        out.append(m.as_bytes(policy=SMTP))
    return out


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.peers.mail import Dovecot

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    peer = DjangoHelpdesk(Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_WORK)
    start = time.perf_counter()
    try:
        peer.prepare()
    except PeerUnavailable as error:
        print(f"django-helpdesk: not measured ({error})")
        return
    print(f"prepare: {time.perf_counter() - start:.1f} s in {peer.work}")
    messages = simple_messages(count)
    dovecot = Dovecot()
    try:
        dovecot.empty()
        with dovecot.client() as c:
            for i in range(0, len(messages), 200):
                c.multiappend("INBOX", messages[i:i + 200])
        run = peer.get_email("127.0.0.1", dovecot.port, Dovecot.user, Dovecot.password)
        with dovecot.client() as c:
            left = c.select_folder("INBOX")[b"EXISTS"]
    finally:
        dovecot.stop()
    print(run)
    print(f"{count} messages, {run.seconds:.2f} s, {count / run.seconds:.0f} msg/s, "
          f"{run.peak_rss_mib:.0f} MiB peak, {run.tickets} tickets, exit {run.exit_code}, {left} left in INBOX")
    if run.tickets != count or run.exit_code != 0:
        print("get_email output (tail):\n" + "\n".join(peer.last_output.splitlines()[-15:]))


if __name__ == "__main__":
    main()
