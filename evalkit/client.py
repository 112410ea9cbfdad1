"""The HTTP client of the Interactive Form Sessions API: the only module that imports httpx2.

`FormsClient` creates sessions and sends user messages, streamed or unary, and returns for every
exchange a `TurnTranscript`: each chunk with its arrival time, the framing seen, the time to the
first chunk and the total time. Both kinds of endpoint go through the same streaming read and the
same sans-IO decoder (`evalkit.stream`), so a unary body and a stream are timed alike.

Failures become `TargetError`s: a non-2xx answer is a `WixApiError` carrying the Wix error body's
code; a connection or timeout problem is a `TargetError` of kind `transport` or `timeout`; a body
that cannot be decoded is a `StreamError`. What arrived before a failure is attached as
`error.partial`. Redirects are never followed and TLS verification stays on.

Credentials come from the environment (`WIX_API_KEY`, `WIX_SITE_ID`), are held in `Secret` and
are sent only as request headers; they never enter a transcript.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx2

from evalkit import __version__
from evalkit.errors import StreamError, TargetError, WixApiError
from evalkit.protocol import (
    ChunkType,
    ClientTime,
    CreateSessionRequest,
    SendMessageRequest,
    WixErrorBody,
)
from evalkit.results import TimedChunk, TurnTranscript
from evalkit.stream import StreamDecoder

__all__ = [
    "API_PATH",
    "WIX_BASE_URL",
    "Credentials",
    "FormsClient",
    "Mode",
    "Secret",
]

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


class Secret:
    """A credential: prints as `***` everywhere; `reveal()` is called only to build headers."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the request header and nothing else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class Credentials:
    """API-key authentication: `Authorization: <key>` plus `wix-site-id: <site id>`."""

    api_key: Secret
    """The API key (or an OAuth access token)."""
    site_id: str | None = None
    """The site the key acts on; sent as `wix-site-id`."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Credentials | None:
        """Read `WIX_API_KEY` and `WIX_SITE_ID`; None when no key is set."""
        key = environ.get("WIX_API_KEY", "").strip()
        if not key:
            return None
        return cls(api_key=Secret(key), site_id=environ.get("WIX_SITE_ID", "").strip() or None)

    def headers(self) -> dict[str, str]:
        """The authentication headers."""
        headers = {"Authorization": self.api_key.reveal()}
        if self.site_id:
            headers["wix-site-id"] = self.site_id
        return headers


class FormsClient:
    """Async client for one target.

    Usage::

        async with FormsClient("http://127.0.0.1:8000", mode="sse") as client:
            created = await client.create_session("contact")
            turn = await client.send_message(created.session_id, "I'm Jane")

    Args:
        base_url: The API root (`https://www.wixapis.com`, or an emulator's address).
        credentials: Sent with every request when given.
        mode: Streamed endpoints with a preferred framing, or `unary`.
        transport: An httpx2 transport to use instead of the network (tests pass a MockTransport).
        timeout: Seconds to connect, and to wait for each piece of a body.
        max_connections: Size of the connection pool; match it to the run's concurrency.
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.mode = mode
        headers = {"User-Agent": f"evalkit/{__version__}", "Content-Type": "application/json"}
        if credentials is not None:
            headers.update(credentials.headers())
        limits = httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx2.AsyncClient(
            base_url=self.base_url + API_PATH,
            headers=headers,
            transport=transport,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=limits,
            follow_redirects=False,
        )

    async def __aenter__(self) -> FormsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def create_session(
        self,
        form_id: str,
        *,
        current_values: dict[str, Any] | None = None,
        dry_run: bool = True,
        client_time: ClientTime | None = None,
    ) -> TurnTranscript:
        """Create a session (a dry run unless asked otherwise) and collect the greeting.

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
        return await self._exchange(path, body.wire(), transcript)

    async def send_message(
        self, session_id: str, text: str | None, *, current_values: dict[str, Any] | None = None
    ) -> TurnTranscript:
        """Send one user message (and/or `currentValues`) and collect the response.

        Raises:
            TargetError: No complete answer; `partial` holds what arrived.
        """
        body = SendMessageRequest(input=text, current_values=current_values or None)
        endpoint = "send-user-message" if self.mode == "unary" else "send-user-message-streamed"
        path = f"/{quote(session_id, safe='')}/{endpoint}"
        transcript = TurnTranscript(
            endpoint=endpoint, user=text, current_values=current_values or None
        )
        return await self._exchange(path, body.wire(), transcript)

    async def generate_form_summary(self, form: dict[str, Any]) -> str | None:
        """Ask for a plain-language summary of a Form Schemas `Form` object.

        Raises:
            TargetError: The call failed.
        """
        try:
            response = await self._http.post("/generate-form-summary", json={"form": form})
        except httpx2.TimeoutException as exc:
            raise TargetError(f"timed out: {type(exc).__name__}", kind="timeout") from exc
        except httpx2.HTTPError as exc:
            raise TargetError(f"{type(exc).__name__}: {exc}", kind="transport") from exc
        if not response.is_success:
            raise _api_error(response.status_code, response.content, response.headers)
        summary = response.json().get("formSummary")
        return summary if isinstance(summary, str) else None

    async def _exchange(
        self, path: str, body: dict[str, Any], transcript: TurnTranscript
    ) -> TurnTranscript:
        headers = {"Accept": ACCEPT[self.mode]}
        started = time.perf_counter()
        decoder: StreamDecoder | None = None
        try:
            async with self._http.stream("POST", path, json=body, headers=headers) as response:
                transcript.status_code = response.status_code
                if not response.is_success:
                    raise _api_error(response.status_code, await response.aread(), response.headers)
                decoder = StreamDecoder(response.headers.get("content-type"))
                async for piece in response.aiter_bytes():
                    self._collect(decoder.feed(piece), transcript, started)
                self._collect(decoder.close(), transcript, started)
        except TargetError as exc:
            exc.partial = self._finish(transcript, started, decoder)
            raise
        except httpx2.TimeoutException as exc:
            error = TargetError(f"timed out: {type(exc).__name__}", kind="timeout")
            error.partial = self._finish(transcript, started, decoder)
            raise error from exc
        except httpx2.HTTPError as exc:
            error = TargetError(f"{type(exc).__name__}: {exc}", kind="transport")
            error.partial = self._finish(transcript, started, decoder)
            raise error from exc
        self._finish(transcript, started, decoder)
        if self.mode != "unary" and not transcript.complete:
            error = StreamError("the stream ended without END_OF_RESPONSE", kind="truncated")
            error.partial = transcript
            raise error
        return transcript

    @staticmethod
    def _collect(
        messages: list[dict[str, Any]], transcript: TurnTranscript, started: float
    ) -> None:
        now = time.perf_counter() - started
        for message in messages:
            session = message.get("interactiveFormSession")
            if isinstance(session, dict) and session.get("id") and not transcript.session_id:
                transcript.session_id = str(session["id"])
            chunk = message.get("responseChunk")
            if isinstance(chunk, dict):
                if transcript.first_chunk_s is None:
                    transcript.first_chunk_s = now
                transcript.chunks.append(TimedChunk(t=now, chunk=chunk))

    @staticmethod
    def _finish(
        transcript: TurnTranscript, started: float, decoder: StreamDecoder | None
    ) -> TurnTranscript:
        if decoder is not None:
            transcript.framing = decoder.framing
        transcript.total_s = time.perf_counter() - started
        transcript.complete = any(
            c.chunk.get("chunkType") == ChunkType.END_OF_RESPONSE for c in transcript.chunks
        )
        return transcript


def _api_error(status: int, content: bytes, headers: httpx2.Headers) -> WixApiError:
    """Build a typed error from a non-2xx response and its (possibly empty) Wix error body."""
    request_id = headers.get("x-wix-request-id", "")
    try:
        parsed = WixErrorBody.model_validate(json.loads(content)) if content else WixErrorBody()
    except ValueError:
        text = content[:200].decode("utf-8", "replace")
        return WixApiError(status, f"non-JSON error body: {text!r}", request_id=request_id)
    if 300 <= status < 400:
        location = headers.get("location", "")
        return WixApiError(status, f"redirect to {location!r} not followed", request_id=request_id)
    return WixApiError(
        status,
        parsed.message,
        code=parsed.code,
        description=parsed.description,
        request_id=request_id,
        details=parsed.details,
    )
