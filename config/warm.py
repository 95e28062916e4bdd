"""The warm process: the helpdesk imported once, forked for each short command (see ``config.launch``).

``python -m config.warm SOCKET`` imports the modules the short commands use and readies what does not
depend on a store (SQLAlchemy's mappers, the holiday calendars, the stemmed concept table, the country
names). It also loads the topic and language models of the helpdesk its environment names (that of the
command that started it); a command whose model files are the same uses them, one whose settings name
other files reads its own. It then listens on a Unix socket in a folder only its user can enter.

For each command it checks that the caller is the same user and that none of the helpdesk's code it
imported (its own, a library's, Python's) has changed since it started, then forks: the fork takes the caller's standard streams,
folder, environment and arguments and runs the command line as ``config.cli`` would in the caller's own
process, so every setting, store and secret is the caller's, read afresh. The warm process itself opens
no store and keeps no connection. It leaves after ``HELPDESK_WARM_CLI_IDLE`` seconds (default 900)
without a command, when its code changed, or when another warm process holds its lock.
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import traceback

IDLE_SECONDS = 900
#: How long a fork waits for the caller's go-ahead (the caller waits two seconds for the fork).
GO_SECONDS = 10
#: What the short commands import; each is imported once here rather than in every command.
PRELOADED = (
    "typer", "typer._adapters", "typer._click.decorators", "rich.console", "rich.table", "rich.panel",
    "rich.markup", "rich.text", "rich.progress", "rich._emoji_codes", "getpass", "sqlite3",
    "sqlalchemy.orm", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql.psycopg",
    "config.settings", "config.bootstrap", "config.checks", "config.render",
    "kb.models", "kb.service", "kb.views", "kb.triage", "kb.drafting", "kb.matching", "kb.reports",
    "kb.places", "kb.organisations", "kb.privacy.audit", "classifier.model", "classifier.language",
    "py3langid", "ingest.folder_copies", "web.charts", "web.report_file",
    # the command groups (``config.cli`` itself is imported by each fork: its consoles are the caller's)
    "config.cli_accounts", "config.cli_privacy", "config.cli_qa", "config.cli_quality", "config.cli_report",
    "config.cli_running",
)
#: Texts whose reading readies the country names and place index in the three languages.
WARM_TEXTS = ("Overtime at our supplier in Ghana, as in Viet Nam.", "Nos fournisseurs au Maroc et au Pérou.",
              "Nuestros proveedores en México y en España.")


def preload() -> None:
    """Import and ready what every short command would, none of it tied to a store or a setting."""
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional driver that is not installed
            pass
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # the mapped models' relationships, resolved once
    import holidays

    holidays.list_supported_countries()  # imports every country's calendar (the settings check the country)
    from kb.matching import Analyser
    from kb.places import countries_concerned
    from kb.regions import shared_directory
    from rich.cells import cell_len

    Analyser(concepts=True)  # stems the concept table once, for every fork's analyser
    for text in WARM_TEXTS:
        countries_concerned(text, shared_directory())
        cell_len(text)
    _load_the_models_of_its_helpdesk()


def _load_the_models_of_its_helpdesk() -> None:
    """The topic model and the language model of the helpdesk the environment names (the one of the
    command that started this process): a fork whose files are the same uses them (see
    ``TopicModel.load_shared``); one whose settings name other files reads its own."""
    try:
        from classifier.language import LanguageDetector
        from classifier.model import TopicModel
        from config.settings import Settings

        settings = Settings()
        LanguageDetector(cache_dir=settings.resolved_cache_dir()).detect("Bonjour, une question sur les congés.")
        TopicModel.load_shared(settings.resolved_model_path())
    except Exception:  # noqa: BLE001 - no model yet, or a configuration the command itself will report
        pass


def code_stamp() -> tuple[tuple[str, int], ...]:
    """The modification times of every module file this process has imported (the helpdesk's, the
    libraries', Python's own), and of the installed packages' folders (installing or upgrading a package
    changes them): a few thousand ``stat`` calls, a few milliseconds."""
    files = sorted({module.__file__ for module in list(sys.modules.values())
                    if isinstance(getattr(module, "__file__", None), str)})
    files += [p for p in sys.path if p.endswith("site-packages")]
    stamp = []
    for name in files:
        try:
            stamp.append((name, os.stat(name).st_mtime_ns))
        except OSError:
            stamp.append((name, -1))
    return tuple(stamp)


def same_user(conn: socket.socket) -> bool:
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                          struct.calcsize("3i")))
    return uid == os.getuid()


def read_request(conn: socket.socket) -> tuple[dict, list[int]] | None:
    """The caller's request and its three standard descriptors; None for anything else."""
    data, fds, _flags, _address = socket.recv_fds(conn, 1 << 16, 3)
    if len(fds) != 3 or len(data) < 4:
        for fd in fds:
            os.close(fd)
        return None
    (size,) = struct.unpack("!I", data[:4])
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = conn.recv(min(1 << 16, size - len(body)))
        if not chunk:
            break
        body += chunk
    try:
        request = json.loads(bytes(body))
        if not (isinstance(request.get("argv"), list) and isinstance(request.get("env"), dict)
                and isinstance(request.get("cwd"), str)):
            raise ValueError("not a request")
    except ValueError:
        for fd in fds:
            os.close(fd)
        return None
    return request, fds


def serve(path: str, idle: float) -> None:
    lock = open(path + ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another warm process serves this installation
    served = 0
    _say(lock, served)
    preload()
    stamp = code_stamp()
    gc.freeze()  # what is loaded now stays put: the forks share its memory instead of copying it
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    ours = os.stat(path).st_ino
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the system; they report to the caller
    try:
        while select.select([listener], [], [], idle)[0]:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                if not same_user(conn):
                    continue
                if code_stamp() != stamp:
                    listener.close()
                    os.unlink(path)
                    fcntl.flock(lock, fcntl.LOCK_UN)
                    conn.sendall(b"S\n")  # the caller runs the command itself, with the new code
                    return
                request = read_request(conn)
                if request is None:
                    continue
                served += 1
                _say(lock, served)  # before the fork: the caller may look as soon as its command ends
                if os.fork() == 0:
                    try:
                        run_command(conn, listener, *request)
                    except BaseException:  # noqa: BLE001 - the fork never returns to the loop
                        traceback.print_exc()
                    finally:
                        os._exit(70)
                for fd in request[1]:
                    os.close(fd)
    finally:
        try:
            if os.stat(path).st_ino == ours:  # not a newer warm process's socket
                os.unlink(path)
        except OSError:
            pass


def _say(lock, served: int) -> None:
    """Who serves and how many commands it took, in the lock file: for a person (or a test) who looks."""
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()} {served}\n")
    lock.flush()


def run_command(conn: socket.socket, listener: socket.socket, request: dict, fds: list[int]) -> None:
    """In the fork: become the caller's command, run it, report its exit status."""
    listener.close()
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in zip((0, 1, 2), fds):
        os.dup2(fd, target)
        os.close(fd)
    _take_standard_streams()
    try:
        os.chdir(request["cwd"])
    except OSError:
        os._exit(0)  # the caller's folder is gone: no go-ahead asked, so the caller runs the command itself
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    conn.settimeout(GO_SECONDS)
    conn.sendall(f"P{os.getpid()}\n".encode())
    try:
        go = conn.recv(2)
    except OSError:
        go = b""
    if not go.startswith(b"G"):
        os._exit(0)  # the caller gave up waiting and runs the command itself
    conn.settimeout(None)
    status = 0
    try:
        from config.cli import main

        main()
    except SystemExit as exc:
        status = _status(exc.code)
    except KeyboardInterrupt:
        status = 130
    except BaseException:  # noqa: BLE001 - reported as the command's own process would report it
        traceback.print_exc()
        status = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - a closed pipe at the end changes nothing of what was done
        pass
    try:
        conn.sendall(f"X{status}\n".encode())
    except OSError:
        pass
    os._exit(status)


def _take_standard_streams() -> None:
    """New ``sys.std*`` on the caller's descriptors, buffered as Python would buffer them there."""
    encoding, errors = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = sys.__stdin__ = open(0, "r", encoding=sys.stdin.encoding, errors=sys.stdin.errors, closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding=encoding, errors=errors, closefd=False,
                                       buffering=1 if os.isatty(1) else -1)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding=encoding, errors="backslashreplace", closefd=False,
                                       buffering=1)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m config.warm SOCKET (started by the helpdesk command; see config.launch)")
    idle = float(os.environ.get("HELPDESK_WARM_CLI_IDLE") or IDLE_SECONDS)
    serve(sys.argv[1], idle)


if __name__ == "__main__":
    main()
