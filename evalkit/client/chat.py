"""A chat-completions client for the LLM-backed persona simulator, over evalkit's own HTTP stack.

Any OpenAI-compatible endpoint works: `POST {base_url}/chat/completions` with `model`,
`messages` and `temperature: 0` (and `seed` when given), answered by an object whose
`choices[0].message.content` is the reply. The same rules hold as for a target: one retry layer
(`RetryPolicy`: connect errors, 408, 429, 5xx, `Retry-After`), bounded bodies (`Limits`: the
response and error-body limits), redirects never followed, TLS verification on, uncompressed
answers only. The key is a `Secret`, sent only as `Authorization: Bearer <key>`.

Every failure is a `SimulatorError` (error kind `simulator`): the simulator's endpoint failed,
not the target.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx2

from evalkit.client.auth import Secret
from evalkit.client.errors import compression, read_at_most
from evalkit.client.limits import Limits
from evalkit.client.retry import RetryPolicy, retry_after
from evalkit.errors import SimulatorError, StreamError, UsageError
from evalkit.stream import parse_json, preview
from evalkit.version import __version__

__all__ = ["ENV_KEY", "ENV_MODEL", "ENV_SEED", "ENV_URL", "ChatClient", "ChatEndpoint"]

ENV_URL = "EVALKIT_SIMULATOR_URL"
"""The endpoint's base URL (the part before `/chat/completions`)."""
ENV_MODEL = "EVALKIT_SIMULATOR_MODEL"
"""The model to ask."""
ENV_KEY = "EVALKIT_SIMULATOR_KEY"
"""The API key (optional: a local endpoint may need none)."""
ENV_SEED = "EVALKIT_SIMULATOR_SEED"
"""An integer sent as `seed` (optional; not every endpoint honours it)."""


@dataclass(frozen=True)
class ChatEndpoint:
    """Where the simulator's model is: base URL, model, key and seed.

    Attributes:
        base_url: The API root; requests go to `{base_url}/chat/completions`. No user info,
            query string or fragment (`UsageError`): the URL is recorded in `run.json`.
        model: The model asked.
        key: Sent as `Authorization: Bearer <key>`; never written anywhere.
        seed: Sent as `seed` when given.
    """

    base_url: str
    model: str
    key: Secret | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        # Never echoed: a URL that is refused may hold the very secret it should not.
        try:
            parts = urlsplit(self.base_url)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            raise UsageError(f"the simulator's base URL ({ENV_URL}) is not a URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"the simulator's base URL ({ENV_URL}) must be http(s)://host[:port]/path, "
                f"got scheme {parts.scheme!r}"
            )
        if parts.username is not None or parts.password is not None:
            # Recorded in run.json and the reports, and it would replace the Bearer key.
            raise UsageError(
                f"the simulator's base URL ({ENV_URL}) must hold no user info: put the key "
                f"in {ENV_KEY}"
            )
        if parts.query or parts.fragment or self.base_url.rstrip().endswith(("?", "#")):
            # Recorded and printed as it is, and `/chat/completions` would land after it.
            raise UsageError(
                f"the simulator's base URL ({ENV_URL}) must have no query string or fragment: "
                f"put a key in {ENV_KEY}"
            )
        if not self.model:
            raise UsageError(f"the LLM simulator needs a model: set {ENV_MODEL}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ChatEndpoint:
        """The endpoint the environment names (`EVALKIT_SIMULATOR_URL`, `_MODEL`, `_KEY`, `_SEED`).

        Raises:
            UsageError: No URL or model, a URL with user info, a query string or a fragment
                (they would be recorded and printed), or a seed that is not an integer.
        """
        url = environ.get(ENV_URL, "").strip()
        if not url:
            raise UsageError(
                f"the LLM simulator needs an OpenAI-compatible endpoint: set {ENV_URL} (e.g. "
                f"http://127.0.0.1:8000/v1), {ENV_MODEL}, and {ENV_KEY} if it needs a key"
            )
        key = environ.get(ENV_KEY, "")
        seed_text = environ.get(ENV_SEED, "").strip()
        try:
            seed = int(seed_text) if seed_text else None
        except ValueError:
            raise UsageError(f"{ENV_SEED} must be an integer, got {seed_text!r}") from None
        return cls(
            base_url=url.rstrip("/"),
            model=environ.get(ENV_MODEL, "").strip(),
            key=Secret(key) if key else None,
            seed=seed,
        )

    def secrets(self) -> list[str]:
        """What must never reach an artifact: the key."""
        return [self.key.reveal()] if self.key is not None else []


class ChatClient:
    """Asks a chat-completions endpoint for one reply at a time; an async context manager.

    Args:
        endpoint: Where to ask.
        retry: When to try again (the run's policy).
        limits: How much of an answer is read (the run's limits).
        timeout: Seconds to connect and to wait for each piece of a body.
        max_connections: The connection pool's size.
        seed: Seeds the backoff jitter, for reproducible tests.
        transport: An httpx2 transport instead of the network (tests pass a MockTransport).
    """

    def __init__(
        self,
        endpoint: ChatEndpoint,
        *,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
        timeout: float = 60.0,
        max_connections: int = 4,
        seed: int | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        self._rng = random.Random(seed)
        headers = {
            "User-Agent": f"evalkit/{__version__}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "identity",  # never expanded: see client.errors.compression
        }
        if endpoint.key is not None:
            headers["Authorization"] = f"Bearer {endpoint.key.reveal()}"
        pool = httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._url = endpoint.base_url.rstrip("/") + "/chat/completions"
        self._http = httpx2.AsyncClient(
            headers=headers,
            transport=transport,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=pool,
            follow_redirects=False,
        )

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _fail(self, what: str) -> SimulatorError:
        return SimulatorError(f"the simulator's endpoint {self._url}: {what}")

    async def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """The reply to `messages` (`choices[0].message.content`).

        Raises:
            SimulatorError: No usable reply: unreachable, a non-2xx status after the retries,
                a body that is not a chat completion, or an empty reply.
        """
        body: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": [dict(m) for m in messages],
            "temperature": 0,
        }
        if self.endpoint.seed is not None:
            body["seed"] = self.endpoint.seed
        request = self._http.build_request("POST", self._url, json=body)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.send(request, stream=True)
            except httpx2.TransportError as exc:
                if attempt > self.retry.retries:
                    raise self._fail(
                        f"{type(exc).__name__} after {attempt} attempt(s): {exc}"
                    ) from exc
                await asyncio.sleep(self.retry.backoff(attempt, self._rng))
                continue
            try:
                status = response.status_code
                if not response.is_success:
                    content, _ = await read_at_most(response, self.limits.error_body_bytes)
                    if attempt <= self.retry.retries and self.retry.retryable(
                        status, response.headers
                    ):
                        asked = retry_after(response.headers, datetime.now(UTC))
                        wait = (
                            min(asked, self.retry.retry_after_cap)
                            if asked is not None
                            else self.retry.backoff(attempt, self._rng)
                        )
                    else:
                        raise self._fail(
                            f"HTTP {status} after {attempt} attempt(s): {preview(content)}"
                        )
                else:
                    return await self._reply(response)
            except httpx2.HTTPError as exc:
                raise self._fail(f"the answer broke: {type(exc).__name__}: {exc}") from exc
            finally:
                await response.aclose()
            await asyncio.sleep(wait)

    async def _reply(self, response: httpx2.Response) -> str:
        """The reply text of a 2xx answer, read within the response limit."""
        if (encoding := compression(response)) is not None:
            raise self._fail(f"the answer is compressed ({encoding}); evalkit asked for none")
        limit = self.limits.response_bytes
        content, whole = await read_at_most(response, limit)
        if not whole:
            raise self._fail(f"an answer of more than {limit:,} bytes (--max-response-bytes)")
        try:
            value = parse_json(content)[0] if content.strip() else None
        except StreamError:
            value = None
        shown = f"HTTP {response.status_code}, first bytes {preview(content)}"
        if not isinstance(value, dict):
            raise self._fail(f"not a chat completion (a JSON object): {shown}")
        choices = value.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(choices, list) or not choices:
            raise self._fail(f"no choice in the answer: {shown}")
        if not isinstance(text, str) or not text.strip():
            raise self._fail(f"an empty reply (choices[0].message.content): {shown}")
        return text
