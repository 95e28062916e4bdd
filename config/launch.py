"""The ``helpdesk`` command's entry point: hand the command to the warm process, or run it here.

Starting Python and importing the helpdesk (SQLAlchemy and its 24 mapped models, numpy, the
classifier, typer and rich) takes about a second on a small machine, most of a short command's
time. So the commands a person types and waits for (``ask``, ``queries``, ``show``...) are handed
to a warm process that has already imported all of it (``config.warm``): it forks, and the fork
runs the command with this process's arguments, environment, working folder, standard input,
output and error (passed over a private Unix socket), then reports the exit status here. What the
command prints and does is exactly what it would have printed and done here.

When no warm process is there, the command runs here, as it always could; when a person typed it (its
output goes to a terminal) or ``HELPDESK_WARM_CLI=1``, a warm process is started in the background for
the next command (a script run by cron does not leave one behind). It leaves by itself after some idle
minutes (``HELPDESK_WARM_CLI_IDLE``, seconds). ``HELPDESK_WARM_CLI=0`` turns all this off. Commands
that run until stopped, ask for a password or a confirmation, or may erase data always run here.

This module imports only the standard library's lightest modules: it is what every command pays.
"""

from __future__ import annotations

import os
import sys

#: Short commands that neither run until stopped nor prompt on a terminal: handed to the warm process.
WARM_COMMANDS = frozenset({"ask", "queries", "show", "report", "audit", "extend", "topics", "reply", "clearance",
                           "promote", "release", "close", "qa", "quarantine"})
#: Values of ``HELPDESK_WARM_CLI`` that turn the warm process off.
OFF = frozenset({"0", "off", "no", "false"})


def wanted(argv: list[str], environ: dict[str, str] | os._Environ) -> bool:
    """Whether this command line should go to the warm process."""
    if environ.get("HELPDESK_WARM_CLI", "").strip().lower() in OFF:
        return False
    return len(argv) > 1 and argv[1] in WARM_COMMANDS and "--help" not in argv[2:]


def starts_one(environ: dict[str, str] | os._Environ, interactive: bool) -> bool:
    """Whether a command that found no warm process starts one: for a person at a terminal, or when asked."""
    return interactive or environ.get("HELPDESK_WARM_CLI", "").strip() == "1"


def socket_folder(environ: dict[str, str] | os._Environ) -> str:
    """The private folder of this user's warm process (the session's runtime folder, else one in /tmp)."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "helpdesk")
    return os.path.join("/tmp", f"helpdesk-{os.getuid()}")


def socket_name(executable: str) -> str:
    """One warm process per installation (interpreter and code): another venv or checkout has its own."""
    import zlib

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return f"cli-{zlib.crc32(f'{executable}|{here}'.encode()):08x}.sock"


def private_folder(folder: str) -> bool:
    """Create the folder for this user alone; refuse one another user could read or plant a socket in."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return False
    import stat

    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def working_folder() -> str | None:
    """The caller's working folder; None when it was deleted under it (the command then runs here)."""
    try:
        return os.getcwd()
    except OSError:
        return None


def main() -> None:
    cwd = working_folder()
    if cwd is not None and wanted(sys.argv, os.environ):
        folder = socket_folder(os.environ)
        if private_folder(folder):
            path = os.path.join(folder, socket_name(sys.executable))
            from config.warm_client import hand_over

            status = hand_over(path, sys.argv, dict(os.environ), cwd)
            if status is not None:
                sys.exit(status)
            if starts_one(os.environ, sys.stdout.isatty()):
                from config.warm_client import start_warm_process

                start_warm_process(path, sys.executable, folder)
    from config.cli import main as run_here

    run_here()
