"""The emulator's ASGI app: the five Interactive Form Sessions endpoints, and the state behind them.

Endpoints (under `/forms/ai/v1/interactive-form-sessions`, all POST):

- ``""`` create (unary), ``/create-streamed``;
- ``/{id}/send-user-message`` (unary), ``/{id}/send-user-message-streamed``;
- ``/generate-form-summary``.

Each message of a streamed body is `{"responseChunk": {...}}`, and the first also carries
`interactiveFormSession`; `wire.py` frames them. Errors are Wix error bodies: `{"message",
"details": {"applicationError": {code, description, data}}}`, or `{"details": {"validationError":
{"fieldViolations": [...]}}}` for a request field that breaks a rule (e.g. an input over 10,000
characters). Every response has an `X-Wix-Request-Id`, new for every request.

Paths are matched exactly, as the service's router does: the unary create is
``/forms/ai/v1/interactive-form-sessions`` and nothing else (a trailing slash is a 404).

Every request gets a sequence number in arrival order. With it, and the knobs' seeds, the request's
fault and delays and (for a new session) its id and noise are decided, so the same seed and the same
order of requests give the same bytes. A request that carries `X-Evalkit-Trace` (evalkit sends it
to every target but Wix: an opaque digest of the conversation, then the session, exchange and
attempt numbers, `3fa9c1d27be04e85.1.2.1`) is decided by that trace instead, so a run gets the
same faults, delays, session ids and noise at any concurrency, whatever order requests arrive in.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evalkit.emulator.defects import Planted
from evalkit.emulator.dialogue import Session, open_session, reply
from evalkit.emulator.faults import EmulatorStats, FaultKind
from evalkit.emulator.forms import Form, summarize_form
from evalkit.emulator.knobs import DEFAULT_SESSION_TTL, Knobs
from evalkit.emulator.ratelimit import RateLimiter, retry_after_text
from evalkit.emulator.wire import (
    MEDIA_TYPES,
    ApiError,
    Body,
    Framing,
    Reset,
    api_error,
    choose_framing,
    frame,
    http_error,
    json_body,
    parse,
    reset,
)
from evalkit.emulator.wixform import form_from_wix
from evalkit.protocol import (
    TRACE_HEADER,
    CreateSessionRequest,
    CreateSessionResponse,
    GenerateFormSummaryRequest,
    GenerateFormSummaryResponse,
    InteractiveFormSession,
    ResponseChunk,
    SendMessageRequest,
    StreamedMessage,
)

__all__ = [
    "API_ROOT",
    "DEFAULT_SESSION_TTL",
    "MAX_INPUT_CHARS",
    "ApiError",
    "EmulatorStats",
    "Framing",
    "choose_framing",
    "create_app",
]

API_ROOT = "/forms/ai/v1/interactive-form-sessions"
"""Where the endpoints live, as on the real service."""

MAX_INPUT_CHARS = 10_000
"""The service's documented limit on a user message."""

MAX_SESSIONS = 10_000
"""Sessions kept in memory; the oldest is forgotten first (a long-running emulator stays small)."""

_IDS = uuid.UUID("8a0f3b7e-5c2d-4e1f-9a6b-3c4d5e6f7a8b")


_TRACE = re.compile(r"[0-9a-f]{16}(?:\.[0-9]{1,6}){3}")


@dataclass(frozen=True)
class _Call:
    where: int | str
    """What the request's decisions are keyed on: its trace, or its sequence number."""
    fault: FaultKind | None


def _where(request: Request, seq: int) -> int | str:
    """The request's trace when it sent a well-formed one, else its sequence number."""
    trace = request.headers.get(TRACE_HEADER, "")
    return f"trace:{trace}" if _TRACE.fullmatch(trace) else seq


def create_app(
    forms: Mapping[str, Form],
    knobs: Knobs | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """Build the emulator app for a set of forms.

    Args:
        forms: The forms, keyed by form key; a session's `formId` may be a form's GUID or its key.
        knobs: Latency, faults, noise, auth, rate limit, debug chunks, session TTL, default
            framing and seed; the defaults (none given) change nothing. `seed` reaches every knob
            without its own.
        clock: Monotonic seconds, for session expiry and the rate limit.

    Returns:
        The Starlette app; it keeps its sessions in memory, so one app is one emulator. Its
        `state.stats` is the `EmulatorStats` (requests, fault counts, rate-limit refusals).
    """
    knobs = (knobs or Knobs()).seeded()
    emulator = _Emulator(forms, knobs, clock)
    routes = [
        # Exactly this path, as the service's router matches it: `.../interactive-form-sessions/`
        # is a 404 there, so it is one here too (a client that adds the slash must fail here).
        Route(API_ROOT, emulator.create, methods=["POST"]),
        Route(f"{API_ROOT}/create-streamed", emulator.create_streamed, methods=["POST"]),
        Route(f"{API_ROOT}/generate-form-summary", emulator.summary, methods=["POST"]),
        Route(f"{API_ROOT}/{{session_id}}/send-user-message", emulator.send, methods=["POST"]),
        Route(
            f"{API_ROOT}/{{session_id}}/send-user-message-streamed",
            emulator.send_streamed,
            methods=["POST"],
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_RequestIdMiddleware)],
        exception_handlers={ApiError: api_error, HTTPException: http_error, Reset: reset},
    )
    app.router.redirect_slashes = False  # a slash too many is a 404, as on the service
    app.state.stats = emulator.stats
    return app


class _Emulator:
    """The endpoints and the state behind them: forms, knobs and live sessions."""

    def __init__(self, forms: Mapping[str, Form], knobs: Knobs, clock: Callable[[], float]) -> None:
        self.forms = {key: form for key, form in forms.items()}
        self.by_id = {form.id.lower(): form for form in forms.values()}
        self.knobs = knobs
        self.planted = Planted.of(knobs.defects)
        self.clock = clock
        self.stats = EmulatorStats()
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.limiter = knobs.limiter()

    async def create(self, request: Request) -> Response:
        call = await self._begin(request)
        session, chunks = await self._create(request, call)
        return self._unary(call, session, chunks)

    async def create_streamed(self, request: Request) -> Response:
        call = await self._begin(request)
        session, chunks = await self._create(request, call)
        return self._stream(request, call, session, chunks)

    async def send(self, request: Request) -> Response:
        call = await self._begin(request)
        session, chunks = await self._send(request)
        return self._unary(call, session, chunks)

    async def send_streamed(self, request: Request) -> Response:
        call = await self._begin(request)
        session, chunks = await self._send(request)
        return self._stream(request, call, session, chunks)

    async def summary(self, request: Request) -> Response:
        call = await self._begin(request)
        body = parse(GenerateFormSummaryRequest, await json_body(request))
        try:
            form = form_from_wix(body.form)
        except ValueError as exc:  # no usable field, or a field the models reject
            raise ApiError.application(
                400, "INVALID_FORM", f"The form is not valid: {exc}"
            ) from exc
        wire = GenerateFormSummaryResponse(form_summary=summarize_form(form)).wire()
        return self._json(call, wire)

    async def _begin(self, request: Request) -> _Call:
        """Number the request, check its credentials and rate, inject its fault, wait."""
        where = _where(request, self.stats.next_request())
        if self.knobs.auth is not None and (problem := self.knobs.auth.problem(request.headers)):
            raise ApiError.application(*problem)
        if self.limiter is not None:
            self._check_rate(request, self.limiter)
        fault = self.knobs.faults.decide(where)
        if fault is not None:
            self.stats.add_fault(fault)
        if fault == "429":
            headers = {"Retry-After": self.knobs.faults.retry_after_header()}
            raise ApiError.application(
                429, "RESOURCE_EXHAUSTED", "Too many requests; try again later", headers
            )
        if fault in ("500", "503"):
            raise ApiError(int(fault), "", {})  # Wix sends system errors empty by design
        if fault == "reset":
            raise Reset
        delay = self.knobs.latency.turn_delay(where)
        if delay > 0:
            await asyncio.sleep(delay)
        return _Call(where, fault)

    def _check_rate(self, request: Request, limiter: RateLimiter) -> None:
        """Count the request against its credentials' budget; over it, a 429 with `Retry-After`."""
        wait = limiter.check(limiter.key(request.headers.get("authorization")), self.clock())
        if wait is None:
            return
        self.stats.add_rate_limited()
        after = retry_after_text(wait)
        limit = f"{limiter.per_minute:g}"
        description = f"Too many requests: the limit is {limit} per minute; retry in {after} s"
        error = {
            "code": "RESOURCE_EXHAUSTED",
            "description": description,
            "data": {"limitPerMinute": limiter.per_minute, "retryAfterSeconds": float(after)},
        }
        raise ApiError(429, description, {"applicationError": error}, {"Retry-After": after})

    async def _create(self, request: Request, call: _Call) -> tuple[Session, list[ResponseChunk]]:
        body = parse(CreateSessionRequest, _with_current_time(await json_body(request)))
        form = self.forms.get(body.form_id) or self.by_id.get(body.form_id.lower())
        if form is None:
            raise ApiError.application(404, "NOT_FOUND", f"Form {body.form_id!r} was not found")
        # The service's default is a real run; evalkit's request model defaults to a dry run.
        dry_run = body.dry_run if "dry_run" in body.model_fields_set else False
        number = self.stats.next_session()
        # A traced session is named by its conversation and session number (the attempt that
        # succeeded does not matter); an untraced one by its place in creation order.
        key = str(number) if isinstance(call.where, int) else call.where.rsplit(".", 1)[0]
        session_id = str(uuid.uuid5(_IDS, f"session:{self.knobs.seed}:{key}"))
        again = 0
        while session_id in self.sessions:  # two runs of one suite against one emulator
            again += 1
            session_id = str(uuid.uuid5(_IDS, f"session:{self.knobs.seed}:{key}:{again}"))
        session = Session(
            session_id,
            form,
            dry_run=dry_run,
            client_time=body.client_time,
            number=number,
            key=key,
            noise=self.knobs.noise,
            debug=self.knobs.debug,
            last_seen=self.clock(),
            ask_order=self.knobs.ask_order,
            seed=self.knobs.seed,
            planted=self.planted,
        )
        chunks = open_session(session, body.current_values)
        self._forget_idle()
        self.sessions[session.id] = session
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)
        return session, chunks

    async def _send(self, request: Request) -> tuple[Session, list[ResponseChunk]]:
        body = parse(SendMessageRequest, await json_body(request))
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
        self._forget_idle()
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError.application(
                404,
                "NOT_FOUND",
                f"Interactive form session {session_id!r} was not found (or has expired)",
            )
        session.last_seen = self.clock()
        self.sessions.move_to_end(session_id)
        return session, reply(session, body.input, body.current_values)

    def _forget_idle(self) -> None:
        """Drop sessions idle for longer than the TTL (the oldest are first in the order)."""
        now = self.clock()
        while self.sessions:
            oldest = next(iter(self.sessions.values()))
            if now - oldest.last_seen <= self.knobs.session_ttl:
                break
            self.sessions.popitem(last=False)

    def _stream(
        self, request: Request, call: _Call, session: Session, chunks: list[ResponseChunk]
    ) -> Response:
        framing = choose_framing(request.headers.get("accept", ""), self.knobs.framing)
        info = InteractiveFormSession(id=session.id, form_id=session.form.id)
        messages = [
            StreamedMessage(response_chunk=c, interactive_form_session=info if i == 0 else None)
            for i, c in enumerate(chunks)
        ]
        pieces = frame([m.wire() for m in messages], framing)
        delays = [self.knobs.latency.chunk_delay(call.where, i) for i in range(len(messages))]
        return Body(
            pieces,
            media_type=MEDIA_TYPES[framing],
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            delays=delays,
            fault=call.fault,
            at=self.knobs.faults.position(call.where, len(messages)),
            stall_seconds=self.knobs.faults.stall_seconds,
            framing=framing,
        )

    def _unary(self, call: _Call, session: Session, chunks: list[ResponseChunk]) -> Response:
        info = InteractiveFormSession(id=session.id, form_id=session.form.id)
        body = CreateSessionResponse(interactive_form_session=info, response_chunks=chunks)
        return self._json(call, body.wire())

    def _json(self, call: _Call, wire: dict[str, Any]) -> Response:
        """A JSON body; a fault after processing breaks it in the middle."""
        if call.fault is None:
            return JSONResponse(wire)
        data = json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode()
        half = len(data) // 2
        return Body(
            [data[:half], data[half:]],
            media_type="application/json",
            fault=call.fault,
            at=1,
            stall_seconds=self.knobs.faults.stall_seconds,
        )


def _with_current_time(body: Any) -> Any:
    """A create body whose `clientTime` lacks `currentTime`, given the server's clock.

    The SDK types `clientTime.currentTime` as optional (and sends a `clientTime` with only a
    `timeZone` as it is given); the service then has its own clock to go by. Without any
    `clientTime`, the body is left as it is (relative dates are then not read).
    """
    if not isinstance(body, dict):
        return body
    client_time = body.get("clientTime")
    if isinstance(client_time, dict) and client_time.get("currentTime") is None:
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        body = {**body, "clientTime": {**client_time, "currentTime": now}}
    return body


class _RequestIdMiddleware:
    """Give every response an `X-Wix-Request-Id` header, as the real service does.

    Each id is new (a random UUID), as the service's are: a request id names one request among
    all of them, so two emulators (or two runs with one seed) never share one. Nothing seeded
    depends on it, so a run stays reproducible.
    """

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
