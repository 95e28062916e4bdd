"""The command's side of the warm process (``config.warm``): hand a command over, or start one.

The request is one length-prefixed JSON document (arguments, environment, working folder) sent
with the three standard file descriptors. The warm process answers with lines: ``P<pid>`` when its
fork is ready, ``X<status>`` when the command has ended, or ``S`` when it will not take the command
(its code changed since it started: it leaves, and the command runs here). The fork starts the
command only once this side has answered ``G``: a caller that gave up waiting (and runs the command
itself) never answers, so a command never runs twice.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct

#: How long to wait for the warm process to take the command before running it here instead.
ACCEPT_SECONDS = 2.0
#: The signals a person sends to a running command (Ctrl-C, closing the terminal...): passed on to the fork.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def hand_over(path: str, argv: list[str], environ: dict[str, str], cwd: str) -> int | None:
    """Run the command in the warm process listening at ``path``; its exit status, or None when it did not
    start there (no warm process, or one that refused it): then, and only then, it is to run here."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(ACCEPT_SECONDS)
        conn.connect(path)
        request = json.dumps({"argv": argv, "env": environ, "cwd": cwd}).encode()
        framed = struct.pack("!I", len(request)) + request
        sent = socket.send_fds(conn, [framed], [0, 1, 2])
        conn.sendall(framed[sent:])
        reply = conn.makefile("rb")
        first = reply.readline()
    except OSError:
        conn.close()
        return None
    if not first.startswith(b"P"):
        conn.close()
        return None  # refused (its code changed) or gone before starting: nothing ran
    pid = int(first[1:])
    try:
        conn.sendall(b"G\n")  # from here on the command is the fork's: it never runs here as well
    except OSError:
        conn.close()
        return None  # the fork is gone before reading it: it never started the command
    conn.settimeout(None)  # the command takes as long as it takes

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    while True:
        try:
            last = reply.readline()
            break
        except InterruptedError:
            continue
        except OSError:
            last = b""
            break
    conn.close()
    if last.startswith(b"X"):
        return int(last[1:])
    os.write(2, b"helpdesk: the command's process ended without an exit status\n")
    return 1


def start_warm_process(path: str, executable: str, folder: str) -> None:
    """Start a warm process for the next commands, detached from this one and its terminal."""
    import subprocess

    try:
        subprocess.Popen([executable, "-m", "config.warm", path], cwd=folder, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                         close_fds=True)
    except OSError:
        pass  # no warm process then; every command runs in its own process, as it always could
