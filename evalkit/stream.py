"""Sans-IO decoding of response bodies into Interactive Form Sessions messages.

Bytes go in (split anywhere), messages come out. The decoder never touches the network, so it is
tested with plain byte strings split at every position.

The streamed framing is not documented by Wix (spec §6), so every plausible one is accepted and the
one seen is recorded:

* ``sse``: ``text/event-stream``, one ``data: <json>`` event per message;
* ``ndjson``: one JSON message per line (in fact any sequence of JSON objects, however laid out);
* ``json-array``: one JSON array of messages, decoded element by element as it arrives;
* ``json``: a unary body ``{"interactiveFormSession": ..., "responseChunks": [...]}``.

The framing is chosen by ``Content-Type`` when it is specific, else by sniffing the first byte.
Whatever the framing, each message comes out in the shape of a streamed message:
``{"responseChunk": {...}, "interactiveFormSession": {...}}`` (either key may be absent). A unary
body is split into one such message per chunk; a message wrapped as ``{"result": {...}}`` is
unwrapped; a bare chunk (``{"chunkType": ...}``) is wrapped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evalkit.errors import StreamError
from evalkit.protocol import Framing

__all__ = ["StreamDecoder", "decode_body", "normalize_message"]

_WS = b" \t\r\n\x1e\xef\xbb\xbf"  # whitespace, the JSON-seq record separator and a UTF-8 BOM
_NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/json-seq",
}
_IN_STRING = re.compile(rb'["\\]')
_OUTSIDE_STRING = re.compile(rb'["{}\[\]]')


def normalize_message(obj: Any) -> list[dict[str, Any]]:
    """Turn one decoded JSON value into zero or more messages of the streamed shape.

    Args:
        obj: A decoded JSON value from a body.

    Returns:
        Messages with optional ``responseChunk`` and ``interactiveFormSession`` keys.

    Raises:
        StreamError: The value is not an object, or is an error object sent inside the stream.
    """
    if not isinstance(obj, dict):
        raise StreamError(f"expected a JSON object as a message, got {type(obj).__name__}")
    if set(obj) == {"result"} and isinstance(obj["result"], dict):
        obj = obj["result"]
    if isinstance(obj.get("error"), dict) and "responseChunk" not in obj:
        error = obj["error"]
        text = error.get("message") or json.dumps(error)[:200]
        raise StreamError(f"error message inside the stream: {text}")
    if isinstance(obj.get("responseChunks"), list):
        session = obj.get("interactiveFormSession")
        messages: list[dict[str, Any]] = []
        for index, chunk in enumerate(obj["responseChunks"]):
            message: dict[str, Any] = {"responseChunk": chunk}
            if index == 0 and session is not None:
                message["interactiveFormSession"] = session
            messages.append(message)
        if not messages and session is not None:
            messages.append({"interactiveFormSession": session})
        return messages
    if "chunkType" in obj and "responseChunk" not in obj:
        return [{"responseChunk": obj}]
    return [obj]


def _loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        preview = raw[:80].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:80]
        raise StreamError(f"malformed JSON message: {exc}: {preview!r}") from exc


class _JsonScanner:
    """Finds complete top-level JSON containers in a byte stream without parsing them.

    In ``array`` mode the body is one array and its elements are the values; otherwise the body is
    a sequence of values separated by whitespace (NDJSON, JSON-seq, or one unary object).
    """

    def __init__(self, *, array: bool) -> None:
        self._array = array
        self._base = 1 if array else 0
        self._buf = bytearray()
        self._pos = 0
        self._depth = 0
        self._start: int | None = None
        self._in_string = False
        self._opened = False
        self._closed = False
        self._offset = 0  # bytes already dropped from the buffer, for error positions

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        i, n = self._pos, len(buf)
        while i < n:
            if self._in_string:
                m = _IN_STRING.search(buf, i)
                if m is None:
                    i = n
                    break
                j = m.start()
                if buf[j] == 0x5C:  # backslash: skip the escaped byte, which may not be here yet
                    if j + 1 >= n:
                        i = j
                        break
                    i = j + 2
                    continue
                self._in_string = False
                i = j + 1
                continue
            if self._start is None:
                c = buf[i]
                if c in _WS:
                    i += 1
                    continue
                if self._array and not self._opened:
                    if c != 0x5B:
                        raise self._error("expected '[' to open a JSON array", i)
                    self._opened, self._depth = True, 1
                    i += 1
                    continue
                if self._closed:
                    raise self._error("data after the end of the JSON array", i)
                if self._array and c == 0x2C:  # ',' between elements
                    i += 1
                    continue
                if self._array and c == 0x5D:  # ']' closes the array
                    self._closed, self._depth = True, 0
                    i += 1
                    continue
                if c not in (0x7B, 0x5B):
                    raise self._error("expected a JSON object", i)
                self._start = i
                self._depth += 1
                i += 1
                continue
            m = _OUTSIDE_STRING.search(buf, i)
            if m is None:
                i = n
                break
            j = m.start()
            c = buf[j]
            i = j + 1
            if c == 0x22:
                self._in_string = True
            elif c in (0x7B, 0x5B):
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == self._base:
                    out.append(bytes(buf[self._start : i]))
                    self._start = None
        keep = self._start if self._start is not None else i
        del buf[:keep]
        self._offset += keep
        if self._start is not None:
            self._start = 0
        self._pos = i - keep
        return out

    def close(self) -> None:
        if self._start is not None or self._in_string:
            raise StreamError("the body ended inside a JSON message", kind="truncated")

    def _error(self, message: str, index: int) -> StreamError:
        preview = bytes(self._buf[index : index + 40]).decode("utf-8", "replace")
        return StreamError(f"{message} at byte {self._offset + index}: {preview!r}")


class _SseParser:
    """Server-Sent Events: lines to events, events' data to JSON values."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._data: list[str] = []

    def feed(self, data: bytes) -> list[str]:
        buf = self._buf
        buf += data
        events: list[str] = []
        start = 0
        n = len(buf)
        while True:
            cr, lf = buf.find(b"\r", start), buf.find(b"\n", start)
            if cr == -1 and lf == -1:
                break
            end = lf if cr == -1 or (lf != -1 and lf < cr) else cr
            if buf[end] == 0x0D and end + 1 >= n:
                break  # a CR at the very end may be the first half of CRLF: wait for more
            line = bytes(buf[start:end])
            start = end + (2 if buf[end : end + 2] == b"\r\n" else 1)
            event = self._line(line)
            if event is not None:
                events.append(event)
        del buf[:start]
        return events

    def close(self) -> list[str]:
        # Be lenient: a last event without its blank line still counts.
        events = self.feed(b"\n") if self._buf else []
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _line(self, raw: bytes) -> str | None:
        line = raw.decode("utf-8", "replace")
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None  # a comment, often a keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None  # event, id and retry fields do not change how a message is read


class StreamDecoder:
    """Incremental decoder of one response body.

    Usage::

        decoder = StreamDecoder(response.headers.get("content-type"))
        for piece in body_pieces:
            for message in decoder.feed(piece):
                ...
        for message in decoder.close():
            ...

    Attributes:
        framing: ``sse``, ``ndjson``, ``json-array``, ``json`` (unary), or ``unknown`` before the
            first byte.
    """

    def __init__(self, content_type: str | None = None) -> None:
        self.framing: Framing = "unknown"
        self._declared = (content_type or "").split(";")[0].strip().lower()
        self._pending = bytearray()
        self._sse: _SseParser | None = None
        self._scanner: _JsonScanner | None = None
        self._seen_value = False
        self._error: StreamError | None = None

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Decode the next piece of the body and return the messages it completes.

        Messages decoded before a broken one are returned first; the error is raised by the next
        call (`feed` or `close`), so nothing that arrived intact is lost.

        Raises:
            StreamError: An earlier piece held something that is not a message.
        """
        self._raise_pending()
        if self._sse is None and self._scanner is None:
            self._pending += data
            if not self._choose():
                return []
            data, self._pending = bytes(self._pending), bytearray()
        return self._route(data)

    def close(self) -> list[dict[str, Any]]:
        """Finish the body and return the messages still buffered.

        Raises:
            StreamError: The body ended inside a message, or held something that is not a message.
        """
        self._raise_pending()
        messages: list[dict[str, Any]] = []
        if self._sse is None and self._scanner is None:
            if not self._choose():
                return []  # an empty body
            messages, self._pending = self._route(bytes(self._pending)), bytearray()
        if self._sse is not None:
            return messages + self._from_sse(self._sse.close())
        assert self._scanner is not None
        self._scanner.close()
        return messages

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _route(self, data: bytes) -> list[dict[str, Any]]:
        if self._sse is not None:
            return self._from_sse(self._sse.feed(data))
        assert self._scanner is not None
        try:
            values = self._scanner.feed(data)
        except StreamError as exc:
            self._error = exc
            return []
        return self._from_values(values)

    def _choose(self) -> bool:
        if self._declared == "text/event-stream":
            self._sse, self.framing = _SseParser(), "sse"
            return True
        first = self._pending.lstrip(_WS)[:1]
        if not first:
            return False
        if self._declared in _NDJSON_TYPES:
            self._scanner, self.framing = _JsonScanner(array=False), "ndjson"
        elif first == b"[":
            self._scanner, self.framing = _JsonScanner(array=True), "json-array"
        elif first == b"{":
            # NDJSON or a unary body: told apart by the first value (see _from_values).
            self._scanner = _JsonScanner(array=False)
        else:
            self._sse, self.framing = _SseParser(), "sse"
        return True

    def _from_sse(self, events: list[str]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for data in events:
            if not data.strip() or data.strip() == "[DONE]":
                continue
            try:
                messages.extend(normalize_message(_loads(data)))
            except StreamError as exc:
                self._error = exc
                break
        return messages

    def _from_values(self, values: list[bytes]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for raw in values:
            try:
                obj = _loads(raw)
                if not self._seen_value and self.framing == "unknown":
                    unary = isinstance(obj, dict) and "responseChunks" in obj
                    self.framing = "json" if unary else "ndjson"
                self._seen_value = True
                messages.extend(normalize_message(obj))
            except StreamError as exc:
                self._error = exc
                break
        return messages


def decode_body(
    body: bytes, content_type: str | None = None
) -> tuple[Framing, list[dict[str, Any]]]:
    """Decode a whole body at once.

    Returns:
        The framing seen and the messages.
    """
    decoder = StreamDecoder(content_type)
    messages = decoder.feed(body) + decoder.close()
    return decoder.framing, messages
