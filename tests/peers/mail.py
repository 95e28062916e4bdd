"""The real mail peers of the tests: Dovecot (IMAP) and aiosmtpd (SMTP), on loopback."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from imapclient import IMAPClient

SCRIPT = Path(__file__).with_name("start_dovecot.sh")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Dovecot:
    """A Dovecot process of our own, killed with its process group at the end."""

    user, password = "test", "testpass"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))  # short path: unix sockets live here
        self.port = free_port()
        self.process = subprocess.Popen([str(SCRIPT), str(self.dir), str(self.port)],
                                        env={**os.environ, "FOREGROUND": "1"}, start_new_session=True)
        wait_for_port(self.port)

    def client(self) -> IMAPClient:
        c = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        c.login(self.user, self.password)
        return c

    def empty(self) -> None:
        """A fresh, empty mailbox (Dovecot recreates it on the next login)."""
        shutil.rmtree(self.dir / "mail" / self.user, ignore_errors=True)

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        with self.client() as c:
            for raw in messages:
                c.append(folder, raw)

    def flags(self, folder: str = "INBOX") -> dict[int, tuple]:
        with self.client() as c:
            c.select_folder(folder)
            uids = c.search("ALL")
            return {uid: data[b"FLAGS"] for uid, data in c.fetch(uids, ["FLAGS"]).items()} if uids else {}

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class SmtpSink:
    """An aiosmtpd server that keeps every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.port = port or free_port()
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpSink":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for _, rcpts, m in self.messages if address in rcpts]


class CuttingProxy:
    """A TCP proxy to the IMAP server that cuts its first connection after ``cut_after`` bytes
    from the server: the server "closing the connection mid-fetch", as a client sees it."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port, self.cut_after = target_port, cut_after
        self.port = free_port()
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._server.close()
