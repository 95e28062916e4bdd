"""A person's data as they may ask for it: every row of their footprint, readable, and the originals.

The rows are shown table by table with the columns the data map says hold personal data or the facts
about them (``EXPORTED``); raw emails come as ``.eml`` files and attachments as themselves, so the person
gets exactly what they sent. ``archive`` packs it as the person receives it (one zip: README.txt,
data.json and the files), whichever adapter hands it over; the adapter writes it to a file or a download.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kb.privacy.data_map import COLUMNS, EXPORTED, Holds
from kb.privacy.footprint import Footprint

#: Columns shown with each row besides its personal data, so the person can follow what happened when.
_CONTEXT = {"id", "reference", "at", "received_at", "created_at", "status", "kind", "direction", "channel",
            "target_reply_date", "answered_at", "closed_at", "sent_at", "rating", "topic_code", "department_code",
            "language", "key", "requested_at", "input_received_at", "approved_at", "erased_at"}


@dataclass
class PersonalExport:
    """``data``: JSON-ready, by table; ``files``: (name in the archive, bytes)."""

    data: dict[str, Any]
    files: list[tuple[str, bytes]] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, str)):  # an enum
        return value.value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name or "file").strip("._")[:120] or "file"


def export_footprint(footprint: Footprint, *, helpdesk: str, at: datetime) -> PersonalExport:
    data: dict[str, Any] = {"helpdesk": helpdesk, "exported_at": at.isoformat(), "tables": {}}
    files: list[tuple[str, bytes]] = []
    for table in sorted(footprint.rows):
        rows = sorted(footprint.of(table), key=lambda r: getattr(r, "id", 0) or 0)
        if not rows:
            continue
        shown = []
        for row in rows:
            record: dict[str, Any] = {}
            for column, holds in COLUMNS[table].items():
                if holds is Holds.ORIGINAL:
                    continue
                if holds in EXPORTED or column in _CONTEXT:
                    record[column] = _plain(getattr(row, column))
            if table == "raw_email" and row.raw:
                name = f"emails/{row.id}.eml"
                files.append((name, bytes(row.raw)))
                record["file"] = name
            if table == "attachment" and row.data is not None:
                name = f"attachments/{row.id}-{_safe(row.filename)}"
                files.append((name, bytes(row.data)))
                record["file"] = name
            shown.append(record)
        data["tables"][table] = shown
    data["queries"] = [q.reference for q in footprint.queries]
    return PersonalExport(data, files)


README = """What {helpdesk} holds about you, exported on {at}.

data.json     every record, by table ("query" holds your questions; "message" every message to and from
              you; "feedback" your ratings; "outbox" the emails sent to you; "query_event" what was done
              with your queries and when)
emails/       the emails you sent, exactly as received
attachments/  the files you sent

Queries: {queries}
"""


def archive(export: PersonalExport, helpdesk: str) -> bytes:
    """The export as one zip: README.txt, data.json and the original files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("README.txt", README.format(helpdesk=helpdesk, at=export.data["exported_at"],
                                                    queries=", ".join(export.data["queries"]) or "none"))
        packed.writestr("data.json", json.dumps(export.data, ensure_ascii=False, indent=2, default=str))
        for name, data in export.files:
            packed.writestr(name, data)
    return buffer.getvalue()
