"""Server-Sent Events: lines to events, each event's data to one message's JSON text."""

from __future__ import annotations

import re

from evalkit.errors import StreamError
from evalkit.stream.errors import message_too_long, preview

__all__ = ["SseParser", "sse_start"]

_SSE_FIELDS = (b"data", b"event", b"id", b"retry")
_LINE_END = re.compile(rb"\r\n?|\n")


def sse_start(head: bytes, final: bool) -> bool | None:
    """Whether a body (past leading blank space) starts like SSE; None: too few bytes to tell."""
    if head.startswith(b":"):
        return True
    for name in _SSE_FIELDS:
        if head.startswith(name):
            after = head[len(name) : len(name) + 1]
            if after in (b":", b"\r", b"\n") or (not after and final):
                return True
            if not after:
                return None
    if not final and any(name.startswith(head) for name in _SSE_FIELDS):
        return None
    return False


class SseParser:
    """Server-Sent Events: lines to events, events' data to JSON values.

    A line must be UTF-8, and an event's data (or a line not yet ended) at most `max_bytes`.
    """

    def __init__(self, *, max_bytes: int) -> None:
        self._buf = bytearray()
        self._data: list[str] = []
        self._size = 0  # bytes of data in the event being read
        self._max = max_bytes
        self._offset = 0  # bytes already dropped from the buffer, for error positions
        self.error: StreamError | None = None

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; return the data of the events they complete (before an error, kept)."""
        if self.error is not None:
            return []
        buf = self._buf
        buf += data
        events: list[str] = []
        start = 0
        n = len(buf)
        crlf = b"\r" in buf  # lines end at LF alone, the usual case, or at CR, LF or CRLF
        while self.error is None:
            if crlf:
                m = _LINE_END.search(buf, start)
                if m is None:
                    break
                if m.group() == b"\r" and m.end() >= n:
                    break  # a CR at the very end may be the first half of CRLF: wait for more
                end, after = m.start(), m.end()
            else:
                end = buf.find(b"\n", start)
                if end < 0:
                    break
                after = end + 1
            event = self._line(bytes(buf[start:end]), self._offset + start)
            start = after
            if event is not None:
                events.append(event)
        del buf[:start]
        self._offset += start
        if self.error is None and len(buf) > self._max:
            self.error = message_too_long(self._max)
        return events

    def close(self) -> list[str]:
        """Finish the body; a last event without its blank line still counts (lenient)."""
        events = self.feed(b"\n") if self._buf else []
        if self._data and self.error is None:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _line(self, raw: bytes, at: int) -> str | None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            near = raw[max(0, exc.start - 24) : exc.start + 24]
            self.error = StreamError(
                f"invalid UTF-8 at byte {at + exc.start:,} of the body: {preview(near, 48)}"
            )
            return None
        if not line:
            if not self._data:
                return None
            data, self._data, self._size = "\n".join(self._data), [], 0
            return data
        if line.startswith(":"):
            return None  # a comment, often a keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            self._size += len(raw) + 1
            if self._size > self._max:
                self.error = message_too_long(self._max)
                return None
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None  # event, id and retry fields do not change how a message is read
