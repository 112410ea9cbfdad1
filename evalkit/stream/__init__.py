r"""Sans-IO decoding of response bodies into Interactive Form Sessions messages.

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

Whatever a target sends, what comes out can be stored, scored, read back and rendered:

* A Wix error body (`{"message", "details": {"applicationError": ...}}`) where a message was due
  is the service's error inside the stream: `InStreamError` (a `WixApiError`), with its code and
  description, after the messages before it.
* A body that is not a stream of messages at all (an HTML page, a gRPC body, bytes that are
  neither JSON nor SSE) raises `NotAStream` at once, quoting the content type and the first
  bytes, escaped.
* A message is at most ``max_message_bytes`` long: `LimitExceeded` as soon as the message being
  read passes it, so a 200 MB message is never held whole. A message nests arrays and objects at
  most `MAX_DEPTH` deep (a `StreamError` past it: what evalkit writes must read back, and JSON
  readers stop at a few hundred levels).
* The body must be UTF-8 (RFC 8259 requires it between systems). **Invalid UTF-8 is an error**
  (`StreamError`, kind ``protocol``) naming the byte and quoting its neighbours, escaped; it is
  not replaced, because a value with a replaced byte would be scored as if the target had sent
  it. What arrived before the bad byte is delivered first, as for any broken message.
* Valid JSON that could not be stored or read back as it is, is kept in a visible form, with a
  warning in `StreamDecoder.warnings`: a string holding a lone surrogate (``"\ud800"`` is valid
  JSON, but not Unicode) keeps each surrogate escaped as the six characters ``\ud800``;
  ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON, but written by careless encoders) and
  numbers beyond a double's range (``1e999``, a 400-digit integer) are kept as their text.
"""

from __future__ import annotations

from typing import Any

from evalkit.errors import StreamError
from evalkit.protocol import Framing
from evalkit.stream.errors import (
    HEAD,
    InStreamError,
    LimitExceeded,
    NotAStream,
    PermanentStreamError,
    preview,
)
from evalkit.stream.jsontext import (
    MAX_DEPTH,
    WS,
    JsonReader,
    JsonScanner,
    normalize_message,
    parse_json,
)
from evalkit.stream.sse import SseParser, sse_start

__all__ = [
    "MAX_DEPTH",
    "MESSAGE_BYTES",
    "InStreamError",
    "LimitExceeded",
    "NotAStream",
    "PermanentStreamError",
    "StreamDecoder",
    "decode_body",
    "normalize_message",
    "parse_json",
    "preview",
]

MESSAGE_BYTES = 2**20
"""The default longest message, in bytes: 1 MiB (a chunk's text is at most 10,000 characters)."""
_NDJSON_TYPES = {
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/json-seq",
}


class StreamDecoder:
    """Incremental decoder of one response body.

    Usage::

        decoder = StreamDecoder(response.headers.get("content-type"))
        for piece in body_pieces:
            for message in decoder.feed(piece):
                ...
        for message in decoder.close():
            ...
        decoder.check()  # an error found after the last messages `close` returned

    An empty (or blank) body decodes to no message, with `framing` still ``unknown``: whether
    that is an error is the caller's to say (the client says it is).

    Args:
        content_type: The response's `Content-Type`, if any.
        max_message_bytes: The longest message accepted (see `MESSAGE_BYTES`).

    Attributes:
        framing: ``sse``, ``ndjson``, ``json-array``, ``json`` (unary), or ``unknown`` before the
            first byte that is not blank space (and after the end of a blank body).
        content_type: The `Content-Type` given, as given.
        head: The first bytes of the body (up to 64), to show when it is not what was expected.
        warnings: What was kept in another form than it came in (lone surrogates, numbers JSON
            cannot hold), each said once; appended to as the body is read.
    """

    def __init__(
        self, content_type: str | None = None, *, max_message_bytes: int = MESSAGE_BYTES
    ) -> None:
        self.framing: Framing = "unknown"
        self.content_type = content_type or ""
        self.head = b""
        self._declared = self.content_type.split(";")[0].strip().lower()
        self._max = max_message_bytes
        self._reader = JsonReader()
        self.warnings = self._reader.warnings
        self._pending = bytearray()
        self._sse: SseParser | None = None
        self._scanner: JsonScanner | None = None
        self._seen_value = False
        self._error: StreamError | None = None

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Decode the next piece of the body and return the messages it completes.

        Messages decoded before a broken one are returned first; the error is raised by the next
        call (`feed` or `close`), so nothing that arrived intact is lost.

        Raises:
            NotAStream: The body is not a stream of the API's messages (raised at once).
            StreamError: An earlier piece held something that is not a message, or passed a
                limit (`LimitExceeded`).
        """
        self._raise_pending()
        if len(self.head) < HEAD:
            self.head += data[: HEAD - len(self.head)]
        if self._sse is None and self._scanner is None:
            self._pending += data
            if not self._choose(final=False):
                return []
            data, self._pending = bytes(self._pending), bytearray()
        return self._route(data)

    def close(self) -> list[dict[str, Any]]:
        """Finish the body and return the messages still buffered.

        When the end of the body completes messages and then shows an error, the messages are
        returned and the error is left for `check`; a caller that wants every message and every
        error calls `close`, then `check`.

        Raises:
            NotAStream: The body is not a stream of the API's messages.
            StreamError: The body ended inside a message, or held something that is not a message.
        """
        self._raise_pending()
        messages: list[dict[str, Any]] = []
        if self._sse is None and self._scanner is None:
            if not self._choose(final=True):
                return []  # an empty body
            messages, self._pending = self._route(bytes(self._pending)), bytearray()
        if self._sse is not None:
            messages += self._from_sse(self._sse.close())
            if self._sse.error is not None and self._error is None:
                self._error = self._sse.error
        elif self._scanner is not None and self._error is None:
            try:
                self._scanner.close()
            except StreamError as exc:
                self._error = exc
        if not messages:
            self._raise_pending()
        return messages

    def check(self) -> None:
        """Raise the error that ended the body, if any (after `close` returned what preceded it).

        Raises:
            StreamError: The error, as `close` would have raised it.
        """
        self._raise_pending()

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def _route(self, data: bytes) -> list[dict[str, Any]]:
        if self._sse is not None:
            messages = self._from_sse(self._sse.feed(data))
            if self._sse.error is not None and self._error is None:
                self._error = self._sse.error
            return messages
        assert self._scanner is not None
        messages = self._from_values(self._scanner.feed(data))
        if self._scanner.error is not None and self._error is None:
            self._error = self._scanner.error
        return messages

    def _not_a_stream(self, why: str) -> NotAStream:
        shown = repr(self.content_type) if self.content_type else "none"
        return NotAStream(
            f"not a stream of the API's messages ({why}): content type {shown}, "
            f"first bytes {preview(self.head)}"
        )

    def _choose(self, *, final: bool) -> bool:
        head = self._pending.lstrip(WS)
        if not head:
            self._pending.clear()  # blank space before the first message changes nothing
            return False
        first = bytes(head[:1])
        declared = self._declared
        if declared == "text/event-stream" or first not in (b"{", b"["):
            if declared in _NDJSON_TYPES:
                raise self._not_a_stream("NDJSON must start with a JSON object")
            looks = sse_start(bytes(head[:8]), final)
            if looks is None:
                return False
            if not looks:
                why = "neither JSON nor Server-Sent Events"
                if declared == "text/event-stream":
                    why = "not Server-Sent Events, though the content type says so"
                raise self._not_a_stream(why)
            self._sse, self.framing = SseParser(max_bytes=self._max), "sse"
        elif declared in _NDJSON_TYPES:
            self._scanner, self.framing = JsonScanner(array=False, max_bytes=self._max), "ndjson"
        elif first == b"[":
            self._scanner = JsonScanner(array=True, max_bytes=self._max)
            self.framing = "json-array"
        else:
            # NDJSON or a unary body: told apart by the first value (see _from_values).
            self._scanner = JsonScanner(array=False, max_bytes=self._max)
        return True

    def _from_sse(self, events: list[str]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for data in events:
            if not data.strip() or data.strip() == "[DONE]":
                continue
            try:
                messages.extend(normalize_message(self._reader.loads(data)))
            except StreamError as exc:
                self._error = exc
                break
        return messages

    def _from_values(self, values: list[bytes]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for raw in values:
            try:
                obj = self._reader.loads(raw)
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
    body: bytes, content_type: str | None = None, *, max_message_bytes: int = MESSAGE_BYTES
) -> tuple[Framing, list[dict[str, Any]]]:
    """Decode a whole body at once.

    Returns:
        The framing seen and the messages.

    Raises:
        StreamError: As `StreamDecoder.feed` and `StreamDecoder.close`.
    """
    decoder = StreamDecoder(content_type, max_message_bytes=max_message_bytes)
    messages = decoder.feed(body)
    messages += decoder.close()
    decoder.check()
    return decoder.framing, messages
