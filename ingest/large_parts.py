"""Large base64 parts decoded straight from the message's bytes, not through the email package's copies.

Python's email parser turns a part into text, then into a list of its lines, then joins them, then
decodes: about five copies of a 20 MB attachment at once, so a mailbox of large messages took the
process past 450 MiB. A message over ``CUT_ABOVE`` bytes is first scanned for long runs of base64 lines
(``MIN_RUN`` characters or more: an attachment, never a letter); each run is cut out and replaced by a short
token line, the email package parses what is left (the skeleton: headers, structure, texts, a few
lines of each large part), and a part whose payload starts with a token is decoded from the original
bytes with ``binascii`` (one copy: the file itself). ``restore`` puts the cut runs back into bytes the
generator wrote from the skeleton (a forwarded message kept as its ``.eml``), so nothing is lost.
"""

from __future__ import annotations

import binascii
import re
import uuid
from email.message import Message

#: Messages smaller than this are parsed whole: nothing to gain.
CUT_ABOVE = 1 << 20
#: A run of at least this many characters of base64 lines (about 57 KB decoded) is an encoded file.
MIN_RUN = 76_000
#: From a line's start, base64 characters and line ends only, ending with a whole line. One character class
#: repeated: the regex engine keeps no state per line (a repeated group would, some 60 MB for 20 MB).
_RUN = re.compile(rb"(?<=\n)[A-Za-z0-9+/][A-Za-z0-9+/\r\n]{%d,}={0,2}\r?\n" % MIN_RUN)


class LargeParts:
    """A message's bytes with its long base64 runs cut out (``skeleton``), and how to get them back."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._cuts: dict[bytes, tuple[int, int]] = {}
        stem = b"HelpdeskLargePart" + uuid.uuid4().hex.encode()
        self._stem, self._token_length = stem.decode("ascii"), len(stem) + 6
        pieces, last = [], 0
        for number, run in enumerate(_RUN.finditer(raw)):
            token = stem + b"%06d" % number
            newline = b"\r\n" if raw[run.end() - 2:run.end()] == b"\r\n" else b"\n"
            pieces += [raw[last:run.start()], token, newline]
            self._cuts[token] = run.span()
            last = run.end()
        pieces.append(raw[last:])
        self.skeleton = b"".join(pieces) if self._cuts else raw

    @property
    def cut(self) -> bool:
        return bool(self._cuts)

    def payload(self, part: Message) -> bytes:
        """The part's decoded payload (``get_payload(decode=True)``), from the original bytes when it was cut."""
        payload = part.get_payload()
        if not (self._cuts and isinstance(payload, str) and self._stem in payload):
            return part.get_payload(decode=True) or b""
        head = payload.lstrip()
        token = head[:self._token_length].encode("ascii", "replace")
        cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
        if cte == "base64" and token in self._cuts:  # the usual case: the whole body is the run, then a last line
            start, end = self._cuts[token]
            rest = head[self._token_length:].encode("ascii", "replace")
            try:
                data = binascii.a2b_base64(memoryview(self.raw)[start:end])
                return data + binascii.a2b_base64(rest) if rest.strip() else data
            except binascii.Error:
                pass
        # Not base64 after all, or not the whole body: decoded as the email package does, the lines put back.
        return self.restore(part.get_payload(decode=True) or b"")

    def restore(self, data: bytes) -> bytes:
        """Bytes written from the skeleton, with every cut run back in place."""
        for token, (start, end) in self._cuts.items():
            if token in data:
                at = data.index(token)
                newline = 2 if data[at + len(token):at + len(token) + 2] == b"\r\n" else 1
                data = data[:at] + self.raw[start:end] + data[at + len(token) + newline:]
        return data
