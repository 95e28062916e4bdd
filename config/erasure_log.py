"""The erasure log: one JSON line per erasure on request, in the data folder beside the store.

It names requesters by their id and queries by their reference, never a person's name or address. It
lives outside the store so that after a backup is restored ``helpdesk privacy reapply`` erases again
whom the backup still holds. The service writes a line for every erasure on request, whoever asked for
it (``kb.service.privacy.ErasureLog``); the composition root hands it this file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE_NAME = "erasures.jsonl"


class ErasureLogFile:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME

    def record(self, erasure) -> None:
        """Append the erasure's line and make it durable before returning."""
        line = {"at": erasure.at.isoformat() if erasure.at else None, "by": erasure.by,
                "requesters": erasure.people, "queries": erasure.references}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")
            log.flush()
            os.fsync(log.fileno())

    def requester_ids(self) -> list[int]:
        """Every requester the log says was erased; a line that is not an erasure record is an error."""
        if not self.path.exists():
            return []
        ids: list[int] = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    ids += [int(i) for i in json.loads(line)["requesters"]]
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{self.path}: line {number} is not an erasure record") from None
        return sorted(set(ids))
