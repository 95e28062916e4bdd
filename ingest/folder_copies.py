"""The data folder's copies of mail, as the privacy use cases see them.

The drop folder keeps every email it read (``done/``) or set aside (``quarantine/``, with a
``.reason.txt``), and the outbox folder every email it wrote instead of sending. When a person's data is
erased, their copies go too: a read email that comes from or names them (by address, name or
Message-ID), an email written to them or about their queries (by the outbox row's id in the file name,
or by address, name or Message-ID). Emails not yet read (the inbox itself, ``processing/``) are not the
helpdesk's yet and are left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

_OUTBOX_NAME = re.compile(r"^(\d+)-")


class FolderCopies:
    """One folder of mail copies: ``read`` (a drop folder: its done/ and quarantine/) or ``written`` (an outbox
    folder)."""

    def __init__(self, folder: Path, kind: str) -> None:
        if kind not in ("read", "written"):
            raise ValueError(f"unknown kind of folder {kind!r}")
        self.folder, self.kind = Path(folder), kind

    def _files(self) -> list[Path]:
        if self.kind == "written":
            places = [self.folder]
        else:
            places = [self.folder / "done", self.folder / "quarantine"]
        return [p for place in places if place.is_dir() for p in sorted(place.iterdir())
                if p.is_file() and not p.name.startswith(".")]

    def holding(self, marks, message_ids: set[str], outbox_ids: set[int]) -> list[Path]:
        needles = [n.encode("utf-8") for n in (*marks.emails, *(x.lower() for x in marks.names),
                                               *(m.lower() for m in message_ids)) if n]
        found = []
        for path in self._files():
            if path.name.endswith(".reason.txt"):
                continue
            number = _OUTBOX_NAME.match(path.name)
            if self.kind == "written" and number and int(number.group(1)) in outbox_ids:
                found.append(path)
                continue
            try:
                data = path.read_bytes().lower()
            except OSError:
                continue
            if any(n in data for n in needles):
                found.append(path)
                reason = path.with_name(path.name + ".reason.txt")
                if reason.exists():
                    found.append(reason)
        return found

    def remove(self, paths: Iterable[Path]) -> None:
        mine = set(self._files())
        for path in paths:
            if Path(path) in mine:
                try:
                    Path(path).unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.error("could not remove %s: %s", path, exc)
