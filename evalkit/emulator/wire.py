"""How the emulator writes responses: Wix error bodies, stream framing, and faulty bodies.

A streamed body is framed by the request's `Accept` header: `text/event-stream` gives Server-Sent
Events (one `data: <json>` event per message), `application/x-ndjson` one JSON message per line,
`application/json` a JSON array written message by message; anything else (`*/*`, no header) gives
the app's default (the `framing` knob): a JSON array unless told otherwise, because the official
SDK sends `Accept: */*` and reads the whole body with one `res.json()` (docs/emulator.md, "Stream
framing").

`Body` sends a list of framed pieces with the delays and the fault planned for them. Closing a
connection without a proper end (a reset, a cut) needs the server's help: the emulator's uvicorn
protocol puts an `evalkit.abort` callable into the request scope (see `server.py`); under another
ASGI server the body raises instead, and that server closes the connection its own way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from evalkit.emulator.faults import FaultKind

__all__ = [
    "ABORT_SCOPE_KEY",
    "MEDIA_TYPES",
    "Abort",
    "ApiError",
    "Body",
    "Framing",
    "Reset",
    "api_error",
    "choose_framing",
    "frame",
    "http_error",
    "json_body",
    "parse",
    "reset",
]

Framing = Literal["sse", "ndjson", "json-array"]
"""How a streamed body is framed."""

ABORT_SCOPE_KEY = "evalkit.abort"
"""The scope key (under `extensions`) of the callable that closes the connection at once."""

MEDIA_TYPES: dict[Framing, str] = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
}
_ACCEPTED: dict[str, Framing] = {
    "text/event-stream": "sse",
    "application/x-ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "json-array",
}
MAX_BODY_BYTES = 1_000_000
"""The largest request body read."""

_Model = TypeVar("_Model", bound=BaseModel)
_MALFORMED = b'{"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": '


class ApiError(Exception):
    """An error the emulator answers with a Wix error body."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    @classmethod
    def application(
        cls, status: int, code: str, description: str, headers: Mapping[str, str] | None = None
    ) -> ApiError:
        """An `applicationError` with a code, e.g. `EMPTY_REQUEST`."""
        error = {"code": code, "description": description, "data": {}}
        return cls(status, description, {"applicationError": error}, headers)

    @classmethod
    def violation(cls, field: str, description: str, rule: str, **data: Any) -> ApiError:
        """A 400 `validationError` for one request field."""
        violation = {
            "field": field,
            "description": description,
            "violatedRule": rule,
            "ruleName": "VALIDATION_ERROR",
            "data": data,
        }
        message = f"INVALID_ARGUMENT: {field or 'request'}: {description}"
        return cls(400, message, {"validationError": {"fieldViolations": [violation]}})

    def response(self) -> JSONResponse:
        """The Wix error body."""
        body = {"message": self.message, "details": self.details}
        return JSONResponse(body, self.status, headers=self.headers)


def choose_framing(accept: str, default: Framing) -> Framing:
    """Pick the framing for an `Accept` header: the client's most preferred type we can write.

    Args:
        accept: The header, e.g. `text/event-stream` or `application/json, */*;q=0.5`.
        default: The framing for `*/*`, a missing header, or nothing we know.

    Returns:
        The framing.
    """
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.strip() and quality > 0:
            ranked.append((-quality, index, media.strip().lower()))
    for _, _, media in sorted(ranked):
        if media in _ACCEPTED:
            return _ACCEPTED[media]
        if media == "*/*":
            return default
    return default


def frame(messages: Sequence[Mapping[str, Any]], framing: Framing) -> list[bytes]:
    """Frame messages: one piece per message, plus the closing `]` of a JSON array.

    Args:
        messages: The wire messages (`{"responseChunk": ...}`).
        framing: How to frame them.

    Returns:
        The pieces, in order; piece `i` carries message `i`.
    """
    pieces = []
    for index, message in enumerate(messages):
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        if framing == "sse":
            pieces.append(b"data: " + data + b"\n\n")
        elif framing == "ndjson":
            pieces.append(data + b"\n")
        else:
            pieces.append((b"[" if index == 0 else b",") + data)
    if framing == "json-array":
        pieces.append(b"]" if messages else b"[]")
    return pieces


def _malformed(framing: Framing | None, index: int) -> bytes:
    """A message cut off in the middle of its JSON, framed like the others."""
    if framing == "sse":
        return b"data: " + _MALFORMED + b"\n\n"
    if framing == "ndjson":
        return _MALFORMED + b"\n"
    if framing == "json-array":
        return (b"[" if index == 0 else b",") + _MALFORMED
    return _MALFORMED


class Reset(Exception):
    """Raised to answer a request with nothing: the connection is closed (a `reset` fault)."""


class Abort(Response):
    """Close the connection without any response (a `reset` fault)."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Close the connection."""
        await abort_connection(scope, receive)


class Body(Response):
    """A 200 body sent piece by piece, with per-piece delays and at most one fault.

    Args:
        pieces: The framed pieces (a unary body is one or two pieces).
        media_type: The `Content-Type`.
        headers: More headers.
        delays: Seconds to wait before each piece (missing entries: none).
        fault: `cut`, `truncate`, `stall` or `malformed`, or None.
        at: Where the fault happens: the number of pieces sent before it (for `malformed`: the
            index of the piece replaced).
        stall_seconds: How long a `stall` hangs before the connection is closed.
        framing: The framing, so that a malformed piece looks like its neighbours.
    """

    def __init__(
        self,
        pieces: list[bytes],
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        delays: Sequence[float] = (),
        fault: FaultKind | None = None,
        at: int = 0,
        stall_seconds: float = 0.0,
        framing: Framing | None = None,
    ) -> None:
        super().__init__(media_type=media_type, headers=dict(headers or {}))
        del self.headers["content-length"]  # streamed: chunked transfer encoding
        self.pieces = pieces
        self.delays = list(delays)
        self.fault = fault
        self.at = at
        self.stall_seconds = stall_seconds
        self.framing = framing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the pieces, waiting and failing as planned."""
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        for index, piece in enumerate(self.pieces):
            if index == self.at and self.fault in ("cut", "truncate", "stall"):
                if self.fault == "stall" and await _disconnected_within(
                    receive, self.stall_seconds
                ):
                    return
                if self.fault == "truncate":
                    break  # a clean end of the body, but no END_OF_RESPONSE
                await abort_connection(scope, receive)
                return
            delay = self.delays[index] if index < len(self.delays) else 0.0
            if delay > 0 and await _disconnected_within(receive, delay):
                return  # the client left: nobody to write to
            if index == self.at and self.fault == "malformed":
                piece = _malformed(self.framing, index)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected_within(receive: Receive, seconds: float) -> bool:
    """Wait up to `seconds`; return True as soon as the client disconnects."""

    async def disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnect(), seconds)
    except TimeoutError:
        return False
    return True


async def abort_connection(scope: Scope, receive: Receive) -> None:
    """Close the connection at once, then wait until the server has noticed.

    Raises:
        ConnectionAbortedError: The server gave no way to close the connection; the server's
            own handling of a failing app closes it (or answers 500 before any response).
    """
    abort: Callable[[], None] | None = scope.get("extensions", {}).get(ABORT_SCOPE_KEY)
    if abort is None:
        raise ConnectionAbortedError("the emulator's server is needed to close a connection")
    abort()
    # Returning before the server sees the closed connection would make it answer 500.
    await _disconnected_within(receive, 5.0)


async def json_body(request: Request) -> Any:
    """Read a request's JSON body.

    Raises:
        ApiError: The body is too large or not JSON.
    """
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError.application(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    try:
        return json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError.application(400, "INVALID_ARGUMENT", f"The body is not JSON: {exc}") from exc


def parse(model: type[_Model], body: Any) -> _Model:
    """Validate a JSON body against a request model.

    Raises:
        ApiError: A 400 naming the first field that breaks a rule.
    """
    if not isinstance(body, dict):
        raise ApiError.application(400, "INVALID_ARGUMENT", "The body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        rule = "REQUIRED_FIELD" if error["type"] == "missing" else "INVALID_VALUE"
        raise ApiError.violation(field, error["msg"], rule) from exc


async def api_error(request: Request, exc: Exception) -> Response:
    """Answer an `ApiError` with its Wix error body."""
    assert isinstance(exc, ApiError)  # registered for ApiError only
    return exc.response()


async def reset(request: Request, exc: Exception) -> Response:
    """Answer a `Reset` with nothing: the connection is closed."""
    return Abort()


async def http_error(request: Request, exc: Exception) -> Response:
    """Answer Starlette's own errors (unknown path, wrong method) with Wix error bodies."""
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    code = codes.get(exc.status_code, "INVALID_ARGUMENT")
    error = ApiError.application(exc.status_code, code, str(exc.detail))
    response = error.response()
    response.headers.update(exc.headers or {})
    return response
