"""A real rate limit for the emulator, like the service's: requests per minute per app instance.

Wix documents 200 requests per minute per app instance and a 429 when an app goes over, but not
how the minute is counted, nor any `Retry-After` (spec §5.3). The emulator counts with a token
bucket per credential, written as GCRA (the generic cell rate algorithm: one "theoretical arrival
time" per key, so O(1) time and memory per key): a key may send `burst` requests at once, then one
every `60 / per_minute` seconds. A request over the limit is not counted and gets a 429 whose
`Retry-After` is the time until the bucket holds a token again, so a client that honours it is
let through on its next attempt (unless another request of the same key took that token first).

The clock is the server's (the app's injectable monotonic clock), so tests drive it by hand.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict

__all__ = ["ANONYMOUS", "MAX_KEYS", "RateLimiter", "retry_after_text"]

ANONYMOUS = "anonymous"
"""The key of requests that carry no `Authorization` header: they share one budget."""

MAX_KEYS = 10_000
"""Keys whose state is kept; past this, keys with a full bucket (or else the least recently
seen) are forgotten, so a client inventing credentials cannot grow the emulator's memory."""

_EPSILON = 1e-9


class RateLimiter:
    """Requests per minute per key (an app instance's credentials), with a burst.

    Args:
        per_minute: Sustained requests per minute allowed to each key.
        burst: Requests a key may send at once after a quiet period (its bucket's size); at
            least 1.

    Raises:
        ValueError: `per_minute` is not positive or `burst` is below 1.
    """

    def __init__(self, per_minute: float, burst: int) -> None:
        if not per_minute > 0:
            raise ValueError(f"a rate limit must be positive, got {per_minute}")
        if burst < 1:
            raise ValueError(f"a burst must be at least 1, got {burst}")
        self.per_minute = per_minute
        self.burst = burst
        self.interval = 60.0 / per_minute
        """Seconds between two requests at the sustained rate (one token's refill)."""
        self._tolerance = (burst - 1) * self.interval
        self._due: OrderedDict[bytes, float] = OrderedDict()  # key -> theoretical arrival time

    def __len__(self) -> int:
        """Keys whose state is kept."""
        return len(self._due)

    @staticmethod
    def key(authorization: str | None) -> bytes:
        """The budget a request counts against: a digest of its credentials, or `anonymous`.

        The digest (not the header) is what is kept, so no credential stays in memory for longer
        than the request.
        """
        raw = authorization or ANONYMOUS
        return hashlib.blake2b(raw.encode(), digest_size=16).digest()

    def check(self, key: bytes, now: float) -> float | None:
        """Count a request of `key` at `now`, or refuse it.

        Args:
            key: Its budget (see `key`).
            now: The server's clock, in seconds.

        Returns:
            None when the request is allowed (it is counted); else the seconds until the key's
            next request would be allowed (this one is not counted).
        """
        due = max(self._due.get(key, now), now)
        wait = due - self._tolerance - now
        if wait > _EPSILON:  # float sums of intervals must not refuse a request on time
            return wait
        self._due[key] = due + self.interval
        self._due.move_to_end(key)
        if len(self._due) > MAX_KEYS:
            self._forget(now)
        return None

    def _forget(self, now: float) -> None:
        """Drop keys whose bucket has refilled (their state says nothing), else the oldest."""
        for key in [k for k, due in self._due.items() if due <= now]:
            del self._due[key]
        while len(self._due) > MAX_KEYS:
            self._due.popitem(last=False)


def retry_after_text(seconds: float) -> str:
    """A `Retry-After` value: the wait rounded up to the millisecond, whole seconds plainly.

    Real servers send whole seconds; a limit scaled up for a benchmark (6,000 a minute) needs
    waits of milliseconds, so below a whole second (or between two) the value is a decimal
    (`0.01`, `1.25`), which evalkit's client reads. It is never below the true wait.
    """
    millis = max(1, math.ceil(round(seconds * 1000, 6)))
    whole, rest = divmod(millis, 1000)
    return str(whole) if rest == 0 else f"{whole}.{rest:03d}".rstrip("0")
