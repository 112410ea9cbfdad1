"""Seeded misbehaviour for the emulator: faults, latency, noise and auth.

Each knob is a small frozen model. Every random decision is a pure function of the knob's seed and
of where the decision is taken (the request's sequence number or trace, the chunk's index, the
session and turn), through a hash; there is no shared random state. So the same seed and the same
order of requests (or the same traces, at any concurrency) give byte-identical responses, however
many threads or tasks serve them, and a rate is what a test counts over many requests.

- `Faults`: per request, with probability `rate`, one of `kinds`: an HTTP error before anything
  is processed (`429` with `Retry-After`, `500`, `503`), a connection closed before the response
  (`reset`), a stream closed after some chunks (`cut`), a stream that ends cleanly but early
  (`truncate`), a malformed message (`malformed`), or a stream that stops and hangs (`stall`).
  HTTP errors and resets happen before the request is applied, so a retry is safe; the other kinds
  happen after it (the session has moved on), as when a real connection breaks mid-response.
- `Latency`: a wait before each response (`turn`) and between streamed messages (`chunk`), fixed
  or drawn from a uniform or exponential distribution with that mean.
- `Noise`: per extracted field, with probability `rate`, drop it or garble its value, so repeated
  runs of one conversation are flaky in a controlled, reproducible way.
- `Auth`: the `Authorization` (and optionally `wix-site-id`) a request must carry.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.emulator.flags import Flag

__all__ = [
    "ALL_FAULTS",
    "Auth",
    "EmulatorStats",
    "FaultKind",
    "Faults",
    "Latency",
    "Noise",
    "NoiseKind",
    "garble",
    "unit",
]

FaultKind = Literal["429", "500", "503", "reset", "cut", "truncate", "malformed", "stall"]
"""What goes wrong with a request (see the module docstring)."""

ALL_FAULTS: tuple[FaultKind, ...] = ("429", "500", "503", "reset", "cut", "malformed", "stall")
"""The default set of fault kinds (`truncate` is opt-in)."""

BEFORE_PROCESSING: frozenset[FaultKind] = frozenset({"429", "500", "503", "reset"})
"""Faults that happen before the request is applied: a retry of the same request is safe."""

NoiseKind = Literal["drop", "garble"]
"""What noise does to an extracted field."""


def unit(seed: int, *where: object) -> float:
    """Return a number in [0, 1) that depends only on the seed and `where`.

    Args:
        seed: The knob's seed.
        where: What the decision is about, e.g. `("fault", 17)` for request 17.

    Returns:
        A uniformly distributed, reproducible number.
    """
    key = "\x1f".join(str(part) for part in (seed, *where)).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _Knob(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Faults(_Knob):
    """Fault injection: which requests fail, and how."""

    rate: Annotated[float, Flag("--fault-rate")] = Field(default=0.0, ge=0, le=1)
    """The probability that a request gets a fault."""
    kinds: Annotated[tuple[FaultKind, ...], Flag("--fault-kinds", metavar="K1,K2")] = Field(
        default=ALL_FAULTS, min_length=1
    )
    """The kinds to pick from, with equal probability."""
    seed: int = 0
    """Same seed and same order of requests (or same traces): same faults."""
    retry_after: Annotated[float, Flag("--retry-after")] = Field(default=1.0, ge=0)
    """Seconds sent in the `Retry-After` header of a 429 (a decimal when not whole)."""
    stall_seconds: Annotated[float, Flag("--stall-seconds")] = Field(default=30.0, ge=0)
    """How long a stalled response hangs before its connection is closed."""

    def decide(self, request: int | str) -> FaultKind | None:
        """Return the fault for a request (its 0-based sequence number, or its trace), or None."""
        if self.rate <= 0 or unit(self.seed, "fault", request) >= self.rate:
            return None
        return self.kinds[int(unit(self.seed, "kind", request) * len(self.kinds))]

    def position(self, request: int | str, messages: int) -> int:
        """Return where a fault hits a response of `messages` messages.

        It is the number of messages sent before a `cut`, `truncate` or `stall`, or the index of
        the message `malformed` replaces: at least 1, and never past the last message
        (`END_OF_RESPONSE`), so a broken stream never ends properly.
        """
        if messages <= 1:
            return 0
        return 1 + int(unit(self.seed, "at", request) * (messages - 1))

    def retry_after_header(self) -> str:
        """The `Retry-After` value: whole seconds, or a decimal for sub-second test settings."""
        seconds = self.retry_after
        return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class Latency(_Knob):
    """Delays: before each response, and between streamed messages."""

    turn: Annotated[float, Flag("--turn-latency")] = Field(default=0.0, ge=0)
    """Mean seconds before a response starts (time to first byte)."""
    chunk: Annotated[float, Flag("--chunk-delay", aliases=("--chunk-latency",))] = Field(
        default=0.0, ge=0
    )
    """Mean seconds between two streamed messages."""
    distribution: Annotated[Literal["fixed", "uniform", "exponential"], Flag("--latency")] = "fixed"
    """Distribution of both latencies around their mean: `fixed`, exactly the mean; `uniform`,
    0 to twice the mean; `exponential`, with that mean."""
    seed: int = 0
    """Same seed and same order of requests (or same traces): same delays."""

    def turn_delay(self, request: int | str) -> float:
        """Seconds to wait before answering a request (its sequence number, or its trace)."""
        return self._draw(self.turn, "turn", request)

    def chunk_delay(self, request: int | str, index: int) -> float:
        """Seconds to wait before streamed message `index` (none before the first)."""
        return 0.0 if index == 0 else self._draw(self.chunk, "chunk", request, index)

    def _draw(self, mean: float, *where: object) -> float:
        if mean <= 0 or self.distribution == "fixed":
            return mean
        u = unit(self.seed, "latency", *where)
        if self.distribution == "uniform":
            return 2 * mean * u
        return -mean * math.log1p(-u)


class Noise(_Knob):
    """Extraction noise: fields dropped or garbled with a probability."""

    rate: Annotated[float, Flag("--noise-rate")] = Field(default=0.0, ge=0, le=1)
    """The probability that an extracted field is dropped or garbled."""
    kinds: Annotated[tuple[NoiseKind, ...], Flag("--noise-kinds", metavar="drop,garble")] = Field(
        default=("drop", "garble"), min_length=1
    )
    """What happens to a disturbed field, with equal probability."""
    fields: Annotated[tuple[str, ...], Flag("--noise-field", metavar="TARGET", repeat=True)] = ()
    """Only these field targets are disturbed; none given means every field."""
    seed: int = 0
    """Same seed and same order of sessions (or same traces): same noise."""

    def decide(self, session: int | str, turn: int, target: str) -> NoiseKind | None:
        """Return what happens to `target` extracted in a session's turn, or None."""
        if self.rate <= 0 or (self.fields and target not in self.fields):
            return None
        if unit(self.seed, "noise", session, turn, target) >= self.rate:
            return None
        return self.kinds[
            int(unit(self.seed, "noise-kind", session, turn, target) * len(self.kinds))
        ]


def garble(value: Any) -> Any:
    """Return a plausible but wrong version of a value, deterministically.

    Text gets two neighbouring letters swapped (or a letter appended), numbers are off by one,
    booleans flip, and a list loses its last item (or gains a bogus one).
    """
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, list):
        return value[:-1] if len(value) > 1 else [*value, "other"]
    text = str(value)
    for i in range(len(text) - 1):
        if text[i].isalpha() and text[i + 1].isalpha() and text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text + "x"


class Auth(_Knob):
    """Credentials every request must carry; without them, Wix's 401 and 403 error bodies."""

    token: Annotated[str, Flag("--auth-token", default_text="no auth")] = Field(min_length=1)
    """The value the `Authorization` header must have (401 otherwise): an API key or a token."""
    site_id: Annotated[str | None, Flag("--auth-site-id")] = None
    """When set, the value the `wix-site-id` header must have (403 otherwise)."""

    def problem(self, headers: Mapping[str, str]) -> tuple[int, str, str] | None:
        """Check a request's headers.

        Args:
            headers: The request headers (case-insensitive mapping).

        Returns:
            None when they are right, else (status, Wix error code, description).
        """
        given = headers.get("authorization", "")
        if not given:
            return 401, "UNAUTHENTICATED", "The Authorization header is missing"
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 401, "UNAUTHENTICATED", "The access token or API key is not valid"
        if self.site_id is not None:
            site = headers.get("wix-site-id", "")
            if not site:
                return 403, "PERMISSION_DENIED", "The wix-site-id header is missing"
            if not hmac.compare_digest(site.encode(), self.site_id.encode()):
                return 403, "PERMISSION_DENIED", "The API key has no access to this site"
        return None


class EmulatorStats:
    """What the emulator has seen: requests, sessions, faults per kind, rate-limit refusals.

    Thread-safe: the app updates it on its event loop; tests read it from another thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._sessions = 0
        self._faults: Counter[str] = Counter()
        self._rate_limited = 0

    def next_request(self) -> int:
        """Count a request and return its 0-based sequence number."""
        with self._lock:
            self._requests += 1
            return self._requests - 1

    def next_session(self) -> int:
        """Count a new session and return its 0-based sequence number."""
        with self._lock:
            self._sessions += 1
            return self._sessions - 1

    def add_fault(self, kind: FaultKind) -> None:
        """Count an injected fault."""
        with self._lock:
            self._faults[kind] += 1

    def add_rate_limited(self) -> None:
        """Count a request refused by the rate limit (a 429 that is not an injected fault)."""
        with self._lock:
            self._rate_limited += 1

    @property
    def requests(self) -> int:
        """Requests received."""
        with self._lock:
            return self._requests

    @property
    def rate_limited(self) -> int:
        """Requests refused by the rate limit so far (429s of `rate_limit`, not of `faults`)."""
        with self._lock:
            return self._rate_limited

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far, per kind (kinds never injected are absent)."""
        with self._lock:
            return dict(sorted(self._faults.items()))
