"""`FormsClient`: sessions and turns over HTTP, streamed or unary, retried where it is safe.

`FormsClient` creates sessions and sends user messages, streamed or unary, and returns for every
exchange a `TurnTranscript`: each chunk with its arrival time, the framing seen, the time to the
first chunk and the total time. Both kinds of endpoint go through the same streaming read and the
same sans-IO decoder (`evalkit.stream`), so a unary body and a stream are timed alike.

Failures become `TargetError`s: a non-2xx answer is a `WixApiError` carrying the Wix error body's
code; a connection or timeout problem is a `TargetError` of kind `transport` or `timeout`; a body
that cannot be decoded is a `StreamError`. What arrived before a failure is attached as
`error.partial`. Redirects are never followed and TLS verification stays on.

Nothing a target sends is read without bound (`Limits`): a response body, one message, the chunks
of a turn and the part of an error body read are all capped, each with its own error (a
`LimitExceeded`, kind `protocol`); a body that is not a stream of messages at all (an HTML page,
gRPC, an empty body) is a `NotAStream` (kind `protocol`) quoting the status, the content type and
the first bytes. The wall-clock `deadline` of a call cancels the read itself, however fast or slow
the bytes come.

Credentials come from the environment (`WIX_API_KEY`, `WIX_SITE_ID`), are held in `Secret` and
are sent only as request headers; they never enter a transcript.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx2

from evalkit.client.auth import Credentials, Tokens
from evalkit.client.errors import api_error, compression, read_at_most
from evalkit.client.limits import Limits, response_too_long, too_many_chunks
from evalkit.client.retry import RetryPolicy, retry_after
from evalkit.errors import ErrorKind, StreamError, TargetError
from evalkit.protocol import (
    TRACE_HEADER,
    ChunkType,
    ClientTime,
    CreateSessionRequest,
    GenerateFormSummaryRequest,
    SendMessageRequest,
)
from evalkit.results import Attempt, TimedChunk, TurnTranscript
from evalkit.stream import InStreamError, NotAStream, StreamDecoder, parse_json, preview
from evalkit.version import __version__

__all__ = ["ACCEPT", "API_PATH", "WIX_BASE_URL", "FormsClient", "Mode", "RawAnswer"]

WIX_BASE_URL = "https://www.wixapis.com"
"""The API root of the real service."""
API_PATH = "/forms/ai/v1/interactive-form-sessions"
"""Where the five endpoints live below the API root."""

Mode = Literal["sse", "ndjson", "json-array", "unary"]
"""How turns are requested: a streamed endpoint asking for a framing, or the unary endpoints."""

ACCEPT: Mapping[str, str] = {
    "sse": "text/event-stream",
    "ndjson": "application/x-ndjson",
    "json-array": "application/json",
    "unary": "application/json",
}


@dataclass(frozen=True)
class RawAnswer:
    """A response as it came, read up to the response limit (`FormsClient.post_raw`)."""

    status: int
    """The HTTP status."""
    content_type: str
    """The `Content-Type` header ("" without one)."""
    body: bytes
    """The body, or its first `Limits.response_bytes`."""
    complete: bool
    """False when the body went on past what was read."""


class _Exchange:
    """The state of one exchange across its attempts: the transcript and the attempt's clock."""

    def __init__(self, transcript: TurnTranscript, turn: int) -> None:
        self.transcript = transcript
        self.turn = turn
        self.started = time.perf_counter()
        self.recognized = False  # whether a message of this response carried a chunk or session

    def collect(self, messages: list[dict[str, Any]], decoder: StreamDecoder, limit: int) -> None:
        """Add decoded messages to the transcript, with the decoder's new warnings.

        Raises:
            LimitExceeded: The response holds more than `limit` chunks (the first `limit` are kept).
        """
        now = time.perf_counter() - self.started
        transcript = self.transcript
        transcript.framing = decoder.framing
        if len(decoder.warnings) > len(transcript.warnings):
            transcript.warnings.extend(decoder.warnings[len(transcript.warnings) :])
        for message in messages:
            session = message.get("interactiveFormSession")
            if isinstance(session, dict) and session.get("id") and not transcript.session_id:
                transcript.session_id = str(session["id"])
            chunk = message.get("responseChunk")
            self.recognized = (
                self.recognized or isinstance(session, dict) or isinstance(chunk, dict)
            )
            if isinstance(chunk, dict):
                if len(transcript.chunks) >= limit:
                    raise too_many_chunks(limit)
                if transcript.first_chunk_s is None:
                    transcript.first_chunk_s = now
                transcript.chunks.append(TimedChunk(t=now, chunk=chunk))

    def finish(self) -> TurnTranscript:
        transcript = self.transcript
        transcript.total_s = time.perf_counter() - self.started
        transcript.complete = any(
            c.chunk.get("chunkType") == ChunkType.END_OF_RESPONSE for c in transcript.chunks
        )
        return transcript

    def fail(self, error: TargetError) -> TargetError:
        error.partial = self.finish()
        return error


class FormsClient:
    """Async client for one target.

    Usage::

        async with FormsClient("http://127.0.0.1:8000", mode="sse") as client:
            created = await client.create_session("contact")
            turn = await client.send_message(created.session_id, "I'm Jane", turn=1)

    Args:
        base_url: The API root (`https://www.wixapis.com`, or an emulator's address).
        credentials: Sent with every request when given.
        mode: Streamed endpoints with a preferred framing, or `unary`.
        transport: An httpx2 transport to use instead of the network (tests pass a MockTransport).
        timeout: Seconds to connect, and to wait for each piece of a body (a slow drip never
            trips it: give each call a `deadline`).
        max_connections: Size of the connection pool; match it to the run's concurrency.
        retry: When to retry a request that failed before its response began.
        throttle: Awaited before every attempt (e.g. a token bucket's `acquire`).
        on_status: Awaited with the status of every response (e.g. to slow down on 429).
        seed: Seeds the backoff jitter, for reproducible tests.
        limits: How much of a response is read (defaults: `Limits()`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        mode: Mode = "sse",
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 60.0,
        max_connections: int = 16,
        retry: RetryPolicy | None = None,
        throttle: Callable[[], Awaitable[object]] | None = None,
        on_status: Callable[[int], Awaitable[None]] | None = None,
        seed: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.mode = mode
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self._throttle = throttle
        self._on_status = on_status
        self._rng = random.Random(seed)
        headers = {
            "User-Agent": f"evalkit/{__version__}",
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",  # never expanded: see client.errors.compression
        }
        if credentials is not None:
            headers.update(credentials.headers())
        self._tokens = (
            Tokens(credentials, self.base_url + "/oauth2/token")
            if credentials is not None and credentials.oauth
            else None
        )
        pool = httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._root = self.base_url + API_PATH
        self._http = httpx2.AsyncClient(
            base_url=self._root,
            headers=headers,
            transport=transport,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=pool,
            follow_redirects=False,
        )

    async def __aenter__(self) -> FormsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def issued_tokens(self) -> list[str]:
        """OAuth access tokens this client obtained (for redaction; empty with an API key)."""
        return [token.reveal() for token in self._tokens.issued] if self._tokens else []

    async def create_session(
        self,
        form_id: str,
        *,
        current_values: dict[str, Any] | None = None,
        dry_run: bool = True,
        client_time: ClientTime | None = None,
        deadline: float | None = None,
        trace: str | None = None,
    ) -> TurnTranscript:
        """Create a session (a dry run unless asked otherwise) and collect the greeting.

        Args:
            form_id: The form to complete.
            current_values: Values to pre-fill.
            dry_run: Create no real submission.
            client_time: The clock relative dates are resolved against.
            deadline: Event-loop time (`loop.time()`) by which the answer must be complete.
            trace: Sent, with the attempt number appended, as `X-Evalkit-Trace` (which the
                emulator keys its seeded decisions on); None sends no such header.

        Raises:
            TargetError: The session could not be created; `partial` holds what arrived.
        """
        body = CreateSessionRequest(
            form_id=form_id,
            current_values=current_values or None,
            dry_run=dry_run,
            client_time=client_time,
        )
        endpoint = "create" if self.mode == "unary" else "create-streamed"
        path = "" if self.mode == "unary" else "/create-streamed"
        transcript = TurnTranscript(endpoint=endpoint, current_values=current_values or None)
        return await self._exchange(path, body.wire(), _Exchange(transcript, 0), deadline, trace)

    async def send_message(
        self,
        session_id: str,
        text: str | None,
        *,
        current_values: dict[str, Any] | None = None,
        turn: int = 1,
        deadline: float | None = None,
        trace: str | None = None,
    ) -> TurnTranscript:
        """Send one user message (and/or `currentValues`) and collect the response.

        Args:
            session_id: The session.
            text: The user's message (None to send only `current_values`).
            current_values: Values that replace existing ones.
            turn: The turn's number, recorded with its retries.
            deadline: Event-loop time (`loop.time()`) by which the answer must be complete.
            trace: As for `create_session`.

        Raises:
            TargetError: No complete answer; `partial` holds what arrived.
        """
        body = SendMessageRequest(input=text, current_values=current_values or None)
        endpoint = "send-user-message" if self.mode == "unary" else "send-user-message-streamed"
        path = f"/{quote(session_id, safe='')}/{endpoint}"
        transcript = TurnTranscript(
            endpoint=endpoint, user=text, current_values=current_values or None
        )
        exchange = _Exchange(transcript, turn)
        return await self._exchange(path, body.wire(), exchange, deadline, trace)

    async def generate_form_summary(self, form: dict[str, Any]) -> str | None:
        """Ask for a plain-language summary of a Form Schemas `Form` object.

        Raises:
            TargetError: The call failed (a `WixApiError`, also for a Wix error body under a 2xx
                status), or its answer is not a summary (`NotAStream`, quoting what arrived).
        """
        limits = self.limits
        body = GenerateFormSummaryRequest(form=form).wire()
        request = self._http.build_request("POST", self._url("/generate-form-summary"), json=body)
        try:
            if self._tokens is not None:
                request.headers["Authorization"] = await self._tokens.header(self._http)
            response = await self._http.send(request, stream=True)
            try:
                if not response.is_success:
                    content, whole = await read_at_most(response, limits.error_body_bytes)
                    raise api_error(response.status_code, content, response.headers, complete=whole)
                content, whole = await read_at_most(response, limits.response_bytes)
            finally:
                await response.aclose()
        except httpx2.TimeoutException as exc:
            raise TargetError(f"timed out: {type(exc).__name__}", kind="timeout") from exc
        except httpx2.HTTPError as exc:
            raise TargetError(f"{type(exc).__name__}: {exc}", kind="transport") from exc
        if not whole:
            raise response_too_long(limits.response_bytes)
        try:
            value = parse_json(content)[0] if content.strip() else None
        except StreamError:
            value = None
        if isinstance(value, dict) and InStreamError.looks_like(value):
            raise InStreamError(value, response.status_code)
        # `{}` is an answer (proto3-JSON leaves a null summary out); anything else is not.
        if not isinstance(value, dict) or (value and "formSummary" not in value):
            content_type = response.headers.get("content-type")
            shown = repr(content_type) if content_type else "none"
            raise NotAStream(
                f"HTTP {response.status_code}: not the API's answer (an object with a "
                f"formSummary): content type {shown}, first bytes {preview(content)}"
            )
        summary = value.get("formSummary")
        return summary if isinstance(summary, str) else None

    async def post_raw(self, path: str, body: dict[str, Any], *, accept: str | None) -> RawAnswer:
        """POST once, with no retry, and return what came back as it came (for `evalkit probe`).

        Args:
            path: Below the API path ("" for the unary create).
            body: The JSON body.
            accept: The `Accept` header; None sends none.

        Raises:
            TargetError: No answer (kind `transport` or `timeout`).
        """
        request = self._http.build_request("POST", self._url(path), json=body)
        if accept is None:
            del request.headers["Accept"]
        else:
            request.headers["Accept"] = accept
        try:
            if self._tokens is not None:
                request.headers["Authorization"] = await self._tokens.header(self._http)
            response = await self._http.send(request, stream=True)
            try:
                content, whole = await read_at_most(response, self.limits.response_bytes)
            finally:
                await response.aclose()
        except httpx2.TimeoutException as exc:
            raise TargetError(f"timed out: {type(exc).__name__}", kind="timeout") from exc
        except httpx2.HTTPError as exc:
            raise TargetError(f"{type(exc).__name__}: {exc}", kind="transport") from exc
        return RawAnswer(
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            body=content,
            complete=whole,
        )

    def _url(self, path: str) -> str:
        """The absolute URL of an endpoint: `path` ("" for the unary create) below the API path.

        Never joined onto a base URL, which would end the create path with a slash that the
        service's router does not match.
        """
        return self._root + path

    async def _exchange(
        self,
        path: str,
        body: dict[str, Any],
        exchange: _Exchange,
        deadline: float | None,
        trace: str | None,
    ) -> TurnTranscript:
        try:
            async with asyncio.timeout_at(deadline):
                await self._attempts(path, body, exchange, trace)
        except TimeoutError as exc:
            error = TargetError("no complete answer before the deadline", kind="timeout")
            raise exchange.fail(error) from exc
        transcript = exchange.finish()
        if self.mode != "unary" and not transcript.complete:
            error = StreamError("the stream ended without END_OF_RESPONSE", kind="truncated")
            raise exchange.fail(error)
        return transcript

    async def _attempts(
        self, path: str, body: dict[str, Any], exchange: _Exchange, trace: str | None
    ) -> None:
        request = self._http.build_request(
            "POST", self._url(path), json=body, headers={"Accept": ACCEPT[self.mode]}
        )
        attempt = 0
        while True:
            attempt += 1
            if self._throttle is not None:
                await self._throttle()
            if self._tokens is not None:
                request.headers["Authorization"] = await self._tokens.header(self._http)
            if trace is not None:
                request.headers[TRACE_HEADER] = f"{trace}.{attempt}"
            exchange.started = time.perf_counter()
            wait: float | None = None
            try:
                response = await self._http.send(request, stream=True)
            except httpx2.TransportError as exc:  # nothing of a response arrived: safe to resend
                kind: ErrorKind = (
                    "timeout" if isinstance(exc, httpx2.TimeoutException) else "transport"
                )
                cause = type(exc).__name__
                if attempt > self.retry.retries:
                    error = TargetError(f"{cause} after {attempt} attempt(s): {exc}", kind=kind)
                    raise exchange.fail(error) from exc
                wait = self.retry.backoff(attempt, self._rng)
            else:
                try:
                    wait = await self._read(response, attempt, exchange)
                finally:
                    await response.aclose()
                if wait is None:
                    return
                cause = f"HTTP {response.status_code}"
            exchange.transcript.retries.append(
                Attempt(
                    turn=exchange.turn, attempt=attempt, cause=cause, action="retry", wait_s=wait
                )
            )
            await asyncio.sleep(wait)

    async def _read(
        self, response: httpx2.Response, attempt: int, exchange: _Exchange
    ) -> float | None:
        """Read one response into the transcript; return a wait when it should be retried.

        At most `limits.error_body_bytes` of an error body are read; a 2xx body is decoded as it
        arrives, within `limits.response_bytes`, `limits.message_bytes` and
        `limits.chunks_per_turn`.
        """
        status = response.status_code
        exchange.transcript.status_code = status
        if self._on_status is not None:
            await self._on_status(status)
        limits = self.limits
        if not response.is_success:
            content, whole = await read_at_most(response, limits.error_body_bytes)
            if attempt <= self.retry.retries and self.retry.retryable(status, response.headers):
                asked = retry_after(response.headers, datetime.now(UTC))
                if asked is not None:
                    return min(asked, self.retry.retry_after_cap)
                return self.retry.backoff(attempt, self._rng)
            raise exchange.fail(api_error(status, content, response.headers, complete=whole))
        content_type = response.headers.get("content-type")
        if (encoding := compression(response)) is not None:
            raise exchange.fail(
                NotAStream(
                    f"HTTP {status}: the answer is compressed ({encoding}) though evalkit asked "
                    "for none (Accept-Encoding: identity); a compressed body is not expanded, "
                    "so that it cannot grow without bound"
                )
            )
        decoder = StreamDecoder(content_type, max_message_bytes=limits.message_bytes)
        received = 0
        try:
            async for piece in response.aiter_bytes():
                received += len(piece)
                if received > limits.response_bytes:
                    allowed = len(piece) - (received - limits.response_bytes)
                    exchange.collect(decoder.feed(piece[:allowed]), decoder, limits.chunks_per_turn)
                    raise response_too_long(limits.response_bytes)
                exchange.collect(decoder.feed(piece), decoder, limits.chunks_per_turn)
            exchange.collect(decoder.close(), decoder, limits.chunks_per_turn)
            decoder.check()
            shown = repr(content_type) if content_type else "none"
            if decoder.framing == "unknown":
                blank = f", only blank space: {preview(decoder.head)}" if decoder.head else ""
                raise NotAStream(
                    f"not a stream of the API's messages (an empty body{blank}): content type "
                    f"{shown}"
                )
            if not exchange.recognized:
                raise NotAStream(
                    "not a stream of the API's messages (JSON, but no message carries a "
                    f"responseChunk or an interactiveFormSession): content type {shown}, first "
                    f"bytes {preview(decoder.head)}"
                )
        except httpx2.TimeoutException as exc:
            error = TargetError(f"timed out mid-response: {type(exc).__name__}", kind="timeout")
            raise exchange.fail(error) from exc
        except httpx2.HTTPError as exc:  # the stream began: the turn may have been applied
            error = TargetError(f"stream broken: {type(exc).__name__}: {exc}", kind="transport")
            raise exchange.fail(error) from exc
        except NotAStream as exc:
            raise exchange.fail(NotAStream(f"HTTP {status}: {exc}")) from None
        except StreamError as exc:
            raise exchange.fail(exc) from None
        return None
