"""JSON messages: found in a byte stream without parsing, then parsed so they can be kept.

`JsonScanner` cuts NDJSON, JSON-seq, a JSON array or a unary body into its top-level values as
the bytes arrive; `JsonReader` parses one value, keeping in a visible form (with a warning) what
could not be stored or read back as it came (see `evalkit.stream`).
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from evalkit.errors import StreamError
from evalkit.stream.errors import InStreamError, message_too_long, preview

__all__ = [
    "MAX_DEPTH",
    "MAX_WARNINGS",
    "WS",
    "JsonReader",
    "JsonScanner",
    "normalize_message",
    "parse_json",
    "too_deep",
]

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects accepted in one message (a chunk needs a handful)."""
MAX_WARNINGS = 20
"""Distinct warnings kept per body; a body repeating one oddity gives one warning."""
WS = b" \t\r\n\x1e\xef\xbb\xbf"
"""Blank space between messages: whitespace, the JSON-seq record separator and a UTF-8 BOM."""

# The rest of a JSON string, escapes included, to its closing quote (possessive: no backtracking).
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+"', re.DOTALL)
_OUTSIDE_STRING = re.compile(rb'["{}\[\]]')
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a lone surrogate gets into JSON text
_MAX_INT = int(sys.float_info.max)


def normalize_message(obj: Any) -> list[dict[str, Any]]:
    """Turn one decoded JSON value into zero or more messages of the streamed shape.

    Args:
        obj: A decoded JSON value from a body.

    Returns:
        Messages with optional ``responseChunk`` and ``interactiveFormSession`` keys.

    Raises:
        StreamError: The value is not an object, or is an error object sent inside the stream
            (a Wix error body is an `InStreamError`, with its code and description).
    """
    if not isinstance(obj, dict):
        raise StreamError(f"expected a JSON object as a message, got {type(obj).__name__}")
    if set(obj) == {"result"} and isinstance(obj["result"], dict):
        obj = obj["result"]
    if InStreamError.looks_like(obj):
        raise InStreamError(obj)
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


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:24]}… ({len(text):,} characters)"


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (stops counting past `MAX_DEPTH`)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def too_deep(where: str) -> StreamError:
    """The error of a message nested deeper than `MAX_DEPTH`."""
    return StreamError(
        f"a message nested deeper than {MAX_DEPTH} levels of arrays and objects{where}"
    )


class JsonReader:
    """`json.loads`, with what cannot be stored as it is kept visibly and noted in `warnings`."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self._decoder = json.JSONDecoder(
            parse_constant=self._constant, parse_float=self._float, parse_int=self._int
        )

    def note(self, text: str) -> None:
        """Say what was kept how, once (and at most `MAX_WARNINGS` different things)."""
        if text not in self.warnings and len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)

    def loads(self, raw: bytes | str) -> Any:
        """Parse one JSON message (see the module's docstring for what is kept how).

        Raises:
            StreamError: Not UTF-8, not JSON, or nested deeper than `MAX_DEPTH`.
        """
        if isinstance(raw, str):
            text = raw
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                near = raw[max(0, exc.start - 24) : exc.start + 24]
                message = f"invalid UTF-8 at byte {exc.start:,} of a message: {preview(near, 48)}"
                raise StreamError(message) from None
        try:
            value = self._decoder.decode(text)
        except RecursionError:
            raise too_deep("") from None
        except ValueError as exc:
            raise StreamError(f"malformed JSON message: {exc}: {text[:80]!r}") from None
        if text.count("[") + text.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
            raise too_deep("")
        if _SURROGATE_ESCAPE.search(text):
            value = self._escape(value)
        return value

    def _constant(self, token: str) -> str:
        self.note(f"{token} is not a JSON number: kept as the text {token!r}")
        return token

    def _float(self, token: str) -> float | str:
        value = float(token)
        if math.isinf(value):
            self.note(f"the number {_short(token)} is beyond a double's range: kept as text")
            return token
        return value

    def _int(self, token: str) -> int | str:
        if len(token) < 300:
            return int(token)
        value = int(token) if len(token) <= 4000 else None
        if value is None or abs(value) > _MAX_INT:
            self.note(f"the number {_short(token)} is beyond a double's range: kept as text")
            return token
        return value

    def _escape(self, value: Any) -> Any:
        """`value` with every lone surrogate in its strings (keys too) escaped as text."""
        if isinstance(value, str):
            if value.isascii():
                return value
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                escaped = value.encode("utf-8", "backslashreplace").decode("utf-8")
                example = value[exc.start].encode("utf-8", "backslashreplace").decode("utf-8")
                self.note(
                    f"a text held a lone surrogate ({example}), which is not Unicode: "
                    "kept escaped, as those six characters"
                )
                return escaped
            return value
        if isinstance(value, list):
            return [self._escape(item) for item in value]
        if isinstance(value, dict):
            return {self._escape(k): self._escape(v) for k, v in value.items()}
        return value


def parse_json(raw: bytes | str) -> tuple[Any, list[str]]:
    """Parse one JSON document from a target the way the decoder parses a message.

    Returns:
        The value (with lone surrogates escaped, and non-finite or out-of-range numbers kept as
        text) and the warnings saying what was kept how.

    Raises:
        StreamError: Not UTF-8, not JSON, or nested deeper than `MAX_DEPTH`.
    """
    reader = JsonReader()
    return reader.loads(raw), reader.warnings


class JsonScanner:
    """Finds complete top-level JSON containers in a byte stream without parsing them.

    In ``array`` mode the body is one array and its elements are the values; otherwise the body is
    a sequence of values separated by whitespace (NDJSON, JSON-seq, or one unary object). A value
    longer than `max_bytes`, or nested deeper than `MAX_DEPTH`, is an error as soon as it is seen.
    """

    def __init__(self, *, array: bool, max_bytes: int) -> None:
        self._array = array
        self._base = 1 if array else 0
        self._max = max_bytes
        self._buf = bytearray()
        self._pos = 0
        self._depth = 0
        self._start: int | None = None
        self._in_string = False
        self._opened = False
        self._closed = False
        self._offset = 0  # bytes already dropped from the buffer, for error positions
        self.error: StreamError | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the values they complete (before an error, which is kept)."""
        if self.error is not None:
            return []
        buf = self._buf
        buf += data
        out: list[bytes] = []
        try:
            self._scan(out)
        except StreamError as exc:
            self.error = exc
        return out

    def _scan(self, out: list[bytes]) -> None:
        buf = self._buf
        i, n = self._pos, len(buf)
        while i < n:
            if self._in_string:
                m = _STRING_REST.match(buf, i)
                if m is None:  # the string goes on past the buffer
                    k = n - 1
                    while k >= i and buf[k] == 0x5C:
                        k -= 1
                    # Resume at the end, or at a backslash whose escaped byte is not here yet.
                    i = n - (n - 1 - k) % 2
                    break
                self._in_string = False
                i = m.end()
                continue
            if self._start is None:
                c = buf[i]
                if c in WS:
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
                if self._depth - self._base > MAX_DEPTH:
                    raise too_deep(f" (at byte {self._offset + j:,})")
            else:
                self._depth -= 1
                if self._depth == self._base:
                    self._check_size(i - self._start)
                    out.append(bytes(buf[self._start : i]))
                    self._start = None
        keep = self._start if self._start is not None else i
        del buf[:keep]
        self._offset += keep
        if self._start is not None:
            self._start = 0
            self._check_size(len(buf))
        self._pos = i - keep

    def _check_size(self, size: int) -> None:
        if size > self._max:
            raise message_too_long(self._max)

    def close(self) -> None:
        """Finish the body.

        Raises:
            StreamError: The body ended inside a value (kind `truncated`).
        """
        if self.error is None and (self._start is not None or self._in_string):
            raise StreamError("the body ended inside a JSON message", kind="truncated")

    def _error(self, message: str, index: int) -> StreamError:
        shown = preview(self._buf[index : index + 40], 40)
        return StreamError(f"{message} at byte {self._offset + index:,}: {shown}")
