"""When to try a request again, and for how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx2

__all__ = ["RetryPolicy", "retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Only failures before the first byte of a response are retried: connection errors, timeouts
    waiting for the response, and the statuses 408, 429 and 5xx. A `Retry-After` header (seconds or
    an HTTP date) is honoured up to `retry_after_cap`; otherwise the wait is
    `min(initial × 2^(n-1), maximum)`, shortened by up to `jitter` at random so that many
    conversations do not retry in step.
    """

    retries: int = 3
    """Retries after the first attempt (0 disables retrying)."""
    initial: float = 0.5
    """Seconds before the first retry."""
    maximum: float = 8.0
    """Longest backoff, in seconds."""
    retry_after_cap: float = 60.0
    """Longest `Retry-After` honoured, in seconds."""
    jitter: float = 0.25
    """Share of the backoff that is random."""

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        base = min(self.initial * 2.0 ** (attempt - 1), self.maximum)
        return base * (1 - self.jitter * rng.random())

    def retryable(self, status: int, headers: httpx2.Headers) -> bool:
        """Whether a response status means "try again" (the server may say so explicitly)."""
        should = headers.get("x-should-retry", "").lower()
        if should in ("true", "false"):
            return should == "true"
        return status in (408, 429) or status >= 500


def retry_after(headers: httpx2.Headers, now: datetime) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP date), or None."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
