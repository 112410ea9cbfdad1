"""Back-pressure for a run: a token bucket for the request rate, AIMD for the concurrency.

Both are plain asyncio objects owned by one run (no module state). The token bucket keeps a run
under the target's documented rate limit (Wix: 200 requests per minute per app instance); the
adaptive limit halves the number of conversations in flight when the target answers 429 and grows
it back by one per window of successes, never above the configured maximum.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["AdaptiveLimit", "TokenBucket"]


class TokenBucket:
    """A token bucket: `acquire()` waits until a request may be sent.

    Args:
        per_minute: Sustained requests per minute.
        burst: Requests that may go at once after a quiet period (default: half a second's
            worth, at least 1: a server that allows one second's worth then absorbs the jitter
            of timers and networks).
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"a rate limit must be positive, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, int(self.rate / 2)))
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Take one token, waiting for it if needed; return the seconds waited."""
        async with self._lock:  # first come, first served
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            wait = (1 - self._tokens) / self.rate
            await asyncio.sleep(wait)
            # Refill from the time that really passed: a timer that fires late, or a busy event
            # loop, would otherwise push every later token back by that much.
            now = self._clock()
            elapsed = (now - self._updated) * self.rate
            self._tokens = min(self.capacity, self._tokens + elapsed) - 1
            self._updated = now
            return wait


class AdaptiveLimit:
    """How many conversations may be in flight: multiplicative decrease on 429, additive increase.

    Args:
        maximum: The configured concurrency; the limit never goes above it.
        decrease: Factor applied to the limit on a 429 (at most once per `cooldown`).
        cooldown: Seconds after a decrease during which further 429s do not decrease again (they
            belong to the same burst).
        clock: Monotonic clock in seconds.
    """

    def __init__(
        self,
        maximum: int,
        *,
        decrease: float = 0.5,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if maximum < 1:
            raise ValueError(f"concurrency must be at least 1, got {maximum}")
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self.decreases = 0
        self._decrease = decrease
        self._cooldown = cooldown
        self._clock = clock
        self._last_decrease = -float("inf")
        self._successes = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        """Wait for a free slot under the current limit and take it."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    async def release(self) -> None:
        """Give a slot back."""
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def throttled(self) -> None:
        """The target answered 429: halve the limit (once per cooldown), never below 1."""
        now = self._clock()
        if now - self._last_decrease < self._cooldown:
            return
        self._last_decrease = now
        self._successes = 0
        new = max(1, int(self.limit * self._decrease))
        if new < self.limit:
            self.limit = new
            self.decreases += 1

    async def succeeded(self) -> None:
        """A request went through: after `limit` successes in a row, allow one more in flight."""
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            async with self._changed:
                self.limit = min(self.maximum, self.limit + 1)
                self._changed.notify_all()
