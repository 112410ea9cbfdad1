"""The emulator's ASGI app: the five Interactive Form Sessions endpoints, framing and Wix errors.

Endpoints (under `/forms/ai/v1/interactive-form-sessions`, all POST):

- ``""`` create (unary), ``/create-streamed``;
- ``/{id}/send-user-message`` (unary), ``/{id}/send-user-message-streamed``;
- ``/generate-form-summary``.

A streamed body is framed by the request's `Accept` header: `text/event-stream` gives Server-Sent
Events (one `data: <json>` event per message), `application/x-ndjson` one JSON message per line,
`application/json` a JSON array written message by message; anything else (`*/*`, no header) gives
the app's default.
Each message is `{"responseChunk": {...}}`, and the first also carries `interactiveFormSession`.

Errors are Wix error bodies: `{"message", "details": {"applicationError": {code, description,
data}}}`, or `{"details": {"validationError": {"fieldViolations": [...]}}}` for a request field that
breaks a rule (e.g. an input over 10,000 characters). Every response has an `X-Wix-Request-Id`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evalkit.emulator.dialogue import Session, open_session, reply
from evalkit.emulator.forms import Form, form_from_wix, summarize_form
from evalkit.protocol import (
    CreateSessionRequest,
    CreateSessionResponse,
    GenerateFormSummaryRequest,
    GenerateFormSummaryResponse,
    InteractiveFormSession,
    ResponseChunk,
    SendMessageRequest,
    StreamedMessage,
)

__all__ = ["API_ROOT", "MAX_INPUT_CHARS", "ApiError", "Framing", "choose_framing", "create_app"]

API_ROOT = "/forms/ai/v1/interactive-form-sessions"
"""Where the endpoints live, as on the real service."""

MAX_INPUT_CHARS = 10_000
"""The service's documented limit on a user message."""

MAX_SESSIONS = 10_000
"""Sessions kept in memory; the oldest is forgotten first (a long-running emulator stays small)."""

MAX_BODY_BYTES = 1_000_000

Framing = Literal["sse", "ndjson", "json-array"]
"""How a streamed body is framed."""

_MEDIA_TYPES: dict[Framing, str] = {
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
_Model = TypeVar("_Model", bound=BaseModel)


class ApiError(Exception):
    """An error the emulator answers with a Wix error body."""

    def __init__(self, status: int, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details

    @classmethod
    def application(cls, status: int, code: str, description: str) -> ApiError:
        """An `applicationError` with a code, e.g. `EMPTY_REQUEST`."""
        error = {"code": code, "description": description, "data": {}}
        return cls(status, description, {"applicationError": error})

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
        return JSONResponse({"message": self.message, "details": self.details}, self.status)


def create_app(
    forms: Mapping[str, Form], *, framing: Framing = "sse", chunk_delay: float = 0.0
) -> Starlette:
    """Build the emulator app for a set of forms.

    Args:
        forms: The forms, keyed by form key; a session's `formId` may be a form's GUID or its key.
        framing: The streamed framing used when the request's `Accept` does not choose one.
        chunk_delay: Seconds to wait between streamed messages (0 for none).

    Returns:
        The Starlette app; it keeps its sessions in memory, so one app is one emulator.
    """
    if framing not in get_args(Framing):
        raise ValueError(f"framing must be one of {', '.join(get_args(Framing))}, not {framing!r}")
    if chunk_delay < 0:
        raise ValueError("chunk_delay must not be negative")
    emulator = _Emulator(forms, framing, chunk_delay)
    routes = [
        Route(API_ROOT, emulator.create, methods=["POST"]),
        # A client that joins paths onto a base URL may add a slash; a redirect would lose the POST.
        Route(f"{API_ROOT}/", emulator.create, methods=["POST"]),
        Route(f"{API_ROOT}/create-streamed", emulator.create_streamed, methods=["POST"]),
        Route(f"{API_ROOT}/generate-form-summary", emulator.summary, methods=["POST"]),
        Route(f"{API_ROOT}/{{session_id}}/send-user-message", emulator.send, methods=["POST"]),
        Route(
            f"{API_ROOT}/{{session_id}}/send-user-message-streamed",
            emulator.send_streamed,
            methods=["POST"],
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(_RequestIdMiddleware)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )


class _Emulator:
    """The endpoints and the state behind them: forms and live sessions."""

    def __init__(self, forms: Mapping[str, Form], framing: Framing, chunk_delay: float) -> None:
        self.forms = {key: form for key, form in forms.items()}
        self.by_id = {form.id.lower(): form for form in forms.values()}
        self.framing = framing
        self.chunk_delay = chunk_delay
        self.sessions: OrderedDict[str, Session] = OrderedDict()

    async def create(self, request: Request) -> Response:
        session, chunks = await self._create(request)
        return _unary(session, chunks)

    async def create_streamed(self, request: Request) -> Response:
        session, chunks = await self._create(request)
        return self._stream(request, session, chunks)

    async def send(self, request: Request) -> Response:
        session, chunks = await self._send(request)
        return _unary(session, chunks)

    async def send_streamed(self, request: Request) -> Response:
        session, chunks = await self._send(request)
        return self._stream(request, session, chunks)

    async def summary(self, request: Request) -> Response:
        body = _parse(GenerateFormSummaryRequest, await _json_body(request))
        try:
            form = form_from_wix(body.form)
        except ValueError as exc:  # no usable field, or a field the models reject
            raise ApiError.application(
                400, "INVALID_FORM", f"The form is not valid: {exc}"
            ) from exc
        return JSONResponse(GenerateFormSummaryResponse(form_summary=summarize_form(form)).wire())

    async def _create(self, request: Request) -> tuple[Session, list[ResponseChunk]]:
        body = _parse(CreateSessionRequest, await _json_body(request))
        form = self.forms.get(body.form_id) or self.by_id.get(body.form_id.lower())
        if form is None:
            raise ApiError.application(404, "NOT_FOUND", f"Form {body.form_id!r} was not found")
        # The service's default is a real run; evalkit's request model defaults to a dry run.
        dry_run = body.dry_run if "dry_run" in body.model_fields_set else False
        session = Session(str(uuid.uuid4()), form, dry_run=dry_run, client_time=body.client_time)
        chunks = open_session(session, body.current_values)
        self.sessions[session.id] = session
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)
        return session, chunks

    async def _send(self, request: Request) -> tuple[Session, list[ResponseChunk]]:
        body = _parse(SendMessageRequest, await _json_body(request))
        if body.input is not None and len(body.input) > MAX_INPUT_CHARS:
            raise ApiError.violation(
                "input",
                f"must be at most {MAX_INPUT_CHARS} characters, got {len(body.input)}",
                "MAX_LENGTH",
                threshold=MAX_INPUT_CHARS,
            )
        if not body.input and not body.current_values:
            raise ApiError.application(
                400, "EMPTY_REQUEST", "The request has neither an input nor current values"
            )
        session_id = request.path_params["session_id"]
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError.application(
                404, "NOT_FOUND", f"Interactive form session {session_id!r} was not found"
            )
        self.sessions.move_to_end(session_id)
        return session, reply(session, body.input, body.current_values)

    def _stream(self, request: Request, session: Session, chunks: list[ResponseChunk]) -> Response:
        framing = choose_framing(request.headers.get("accept", ""), self.framing)
        info = InteractiveFormSession(id=session.id, form_id=session.form.id)
        messages = [
            StreamedMessage(response_chunk=c, interactive_form_session=info if i == 0 else None)
            for i, c in enumerate(chunks)
        ]
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        body = _frames([m.wire() for m in messages], framing, self.chunk_delay)
        return StreamingResponse(body, headers=headers, media_type=_MEDIA_TYPES[framing])


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


async def _frames(
    messages: list[dict[str, Any]], framing: Framing, delay: float
) -> AsyncIterator[str]:
    for index, message in enumerate(messages):
        if index and delay:
            await asyncio.sleep(delay)
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        if framing == "sse":
            yield f"data: {data}\n\n"
        elif framing == "ndjson":
            yield data + "\n"
        else:
            yield ("[" if index == 0 else ",") + data
    if framing == "json-array":
        yield "]" if messages else "[]"


def _unary(session: Session, chunks: list[ResponseChunk]) -> JSONResponse:
    info = InteractiveFormSession(id=session.id, form_id=session.form.id)
    body = CreateSessionResponse(interactive_form_session=info, response_chunks=chunks)
    return JSONResponse(body.wire())


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError.application(413, "PAYLOAD_TOO_LARGE", "The request body is too large")
    try:
        return json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError.application(400, "INVALID_ARGUMENT", f"The body is not JSON: {exc}") from exc


def _parse(model: type[_Model], body: Any) -> _Model:
    if not isinstance(body, dict):
        raise ApiError.application(400, "INVALID_ARGUMENT", "The body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        rule = "REQUIRED_FIELD" if error["type"] == "missing" else "INVALID_VALUE"
        raise ApiError.violation(field, error["msg"], rule) from exc


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # registered for ApiError only
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    code = codes.get(exc.status_code, "INVALID_ARGUMENT")
    error = ApiError.application(exc.status_code, code, str(exc.detail))
    response = error.response()
    response.headers.update(exc.headers or {})
    return response


class _RequestIdMiddleware:
    """Give every response an `X-Wix-Request-Id` header, as the real service does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Wix-Request-Id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)
