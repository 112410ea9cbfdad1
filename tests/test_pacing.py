"""Back-pressure: the token bucket's rate and the AIMD concurrency limit."""

from __future__ import annotations

import asyncio

import pytest

from evalkit.pacing import AdaptiveLimit, TokenBucket

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_token_bucket_lets_a_burst_through_then_spaces_requests() -> None:
    bucket = TokenBucket(per_minute=600, burst=3)  # 10 per second
    loop = asyncio.get_running_loop()
    start = loop.time()
    waits = [await bucket.acquire() for _ in range(6)]
    elapsed = loop.time() - start
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert all(w > 0 for w in waits[3:])
    assert 0.25 <= elapsed < 0.6  # three more tokens at 0.1 s each


async def test_token_bucket_keeps_the_time_it_overslept() -> None:
    # Clock readings: at creation, four acquires at t=0 (the fourth sleeps), then t=0.03 after
    # that sleep (a timer three times late), then two more acquires at t=0.03.
    readings = iter([0.0, 0.0, 0.0, 0.0, 0.0, 0.03, 0.03, 0.03])
    bucket = TokenBucket(per_minute=6000, burst=3, clock=lambda: next(readings))  # 100 per s

    waits = [await bucket.acquire() for _ in range(6)]

    # The 30 ms that passed paid for three tokens: the one slept for, and two more.
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] > 0
    assert waits[4:] == [0.0, 0.0]


def test_token_bucket_bursts_half_a_seconds_worth_by_default() -> None:
    assert TokenBucket(per_minute=6000).capacity == 50
    assert TokenBucket(per_minute=200).capacity == 1  # Wix's limit: one at a time


def test_token_bucket_refuses_a_rate_of_zero() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(per_minute=0)


async def test_adaptive_limit_halves_on_429_once_per_cooldown_and_never_below_one() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(8, cooldown=5.0, clock=clock)
    limit.throttled()
    limit.throttled()  # same burst of 429s
    assert limit.limit == 4
    clock.now = 6.0
    limit.throttled()
    assert limit.limit == 2
    for step in range(3):
        clock.now = 20.0 + 10 * step
        limit.throttled()
    assert limit.limit == 1
    assert limit.decreases == 3


async def test_adaptive_limit_grows_back_additively_up_to_the_maximum() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(4, clock=clock)
    limit.throttled()
    limit.throttled()
    assert limit.limit == 2
    for _ in range(2):
        await limit.succeeded()
    assert limit.limit == 3
    for _ in range(30):
        await limit.succeeded()
    assert limit.limit == 4  # never above the configured maximum


async def test_adaptive_limit_holds_callers_beyond_the_limit() -> None:
    limit = AdaptiveLimit(2)
    await limit.acquire()
    await limit.acquire()
    third = asyncio.ensure_future(limit.acquire())
    await asyncio.sleep(0.01)
    assert not third.done()
    await limit.release()
    await asyncio.wait_for(third, 1)
    assert limit.in_flight == 2
