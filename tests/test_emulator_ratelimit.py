"""The emulator's rate limit: requests per minute per credential, 429 with `Retry-After`.

Every test that looks at timing drives the app's clock by hand (`create_app(clock=...)`) through
an in-process ASGI transport: nothing here depends on the wall clock.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.client import FormsClient, RetryPolicy
from evalkit.emulator import (
    Auth,
    EmulatorServer,
    Faults,
    Knobs,
    create_app,
    load_forms,
    load_knobs,
)
from evalkit.emulator.app import API_ROOT
from evalkit.emulator.faults import EmulatorStats
from evalkit.emulator.ratelimit import MAX_KEYS, RateLimiter, retry_after_text
from evalkit.errors import SuiteError

FORMS = load_forms(Path(__file__).resolve().parent.parent / "suites" / "forms")
CREATE = {"formId": "contact", "dryRun": True}


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Step = tuple[float, str | None]
"""Advance the clock by this many seconds, then send one request with this Authorization."""


def replay(knobs: Knobs, steps: Sequence[Step]) -> tuple[list[httpx2.Response], EmulatorStats]:
    """Send unary create requests to an app on a hand-driven clock; every response, and stats."""
    clock = Clock()
    app = create_app(FORMS, knobs, clock=clock)

    async def go() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)
        seen = []
        async with httpx2.AsyncClient(transport=transport, base_url="http://emulator") as http:
            for advance, authorization in steps:
                clock.now += advance
                headers = {"Authorization": authorization} if authorization else {}
                seen.append(await http.post(API_ROOT, json=CREATE, headers=headers))
        return seen

    stats: EmulatorStats = app.state.stats
    return asyncio.run(go()), stats


def statuses(responses: Sequence[httpx2.Response]) -> list[int]:
    return [r.status_code for r in responses]


# ----------------------------------------------------------------------------- through the app


def test_the_request_after_the_burst_gets_429_with_the_wait_until_the_next_token() -> None:
    # 600 a minute: one request every 0.1 s; by default a second's worth (10) may go at once.
    responses, stats = replay(Knobs(rate_limit=600), [(0.0, "key")] * 11)
    assert statuses(responses) == [200] * 10 + [429]
    refused = responses[-1]
    assert refused.headers["Retry-After"] == "0.1"
    body = refused.json()
    assert set(body) == {"message", "details"}
    error = body["details"]["applicationError"]
    assert error["code"] == "RESOURCE_EXHAUSTED"
    assert "600 per minute" in error["description"] == body["message"]
    assert error["data"] == {"limitPerMinute": 600, "retryAfterSeconds": 0.1}
    assert "X-Wix-Request-Id" in refused.headers
    assert (stats.requests, stats.rate_limited, stats.fault_counts) == (11, 1, {})


def test_retry_after_counts_down_and_a_request_that_honours_it_is_allowed() -> None:
    # 60 a minute, 3 at once: after the burst, one a second.
    steps: list[Step] = [(0, "k")] * 4 + [(0.4, "k"), (0.6, "k"), (0, "k"), (2.5, "k")]
    steps += [(0, "k"), (0, "k"), (0, "k")]
    responses, stats = replay(Knobs(rate_limit=60, rate_burst=3), steps)
    assert statuses(responses) == [200, 200, 200, 429, 429, 200, 429, 200, 200, 429, 429]
    waits = [r.headers.get("Retry-After") for r in responses]
    # 3 sent at t=0: the 4th waits 1 s; 0.4 s on, 0.6 s; after the one at t=1, a whole second;
    # at t=3.5 two and a half tokens have come back: two go, the next waits half a second.
    assert waits == [None, None, None, "1", "0.6", None, "1", None, None, "0.5", "0.5"]
    assert stats.rate_limited == 5


def test_a_full_minute_refills_the_bucket_but_not_beyond_its_burst() -> None:
    burst = [(0.0, "k")] * 5
    responses, _ = replay(Knobs(rate_limit=60, rate_burst=4), [*burst, (60.0, "k"), *burst[1:]])
    assert statuses(responses) == [200] * 4 + [429] + [200] * 4 + [429]


def test_each_credential_has_its_own_budget_and_no_credential_is_one_more() -> None:
    knobs = Knobs(rate_limit=60, rate_burst=2)
    steps: list[Step] = [(0, "app-a")] * 3 + [(0, "app-b")] * 3 + [(0, None)] * 3
    responses, stats = replay(knobs, steps)
    assert statuses(responses) == [200, 200, 429] * 3
    assert stats.rate_limited == 3


def test_a_refused_request_is_not_counted() -> None:
    # Hammering while over the limit does not push the next allowed request further away.
    steps: list[Step] = [(0, "k"), (0.1, "k"), (0.1, "k"), (0.1, "k"), (0.7, "k")]
    responses, _ = replay(Knobs(rate_limit=60, rate_burst=1), steps)
    assert statuses(responses) == [200, 429, 429, 429, 200]
    assert [r.headers.get("Retry-After") for r in responses[1:4]] == ["0.9", "0.8", "0.7"]


def test_credentials_are_checked_before_the_rate_and_faults_after_it() -> None:
    knobs = Knobs(rate_limit=60, rate_burst=1, auth=Auth(token="good"))
    steps: list[Step] = [(0, "bad"), (0, "bad"), (0, None), (0, "good"), (0, "good")]
    responses, stats = replay(knobs, steps)
    assert statuses(responses) == [401, 401, 401, 200, 429]
    assert stats.rate_limited == 1
    # An injected fault is decided for a request the limit let through (and is counted apart).
    knobs = Knobs(rate_limit=60, rate_burst=1, faults=Faults(rate=1.0, kinds=("500",)))
    responses, stats = replay(knobs, [(0, "k"), (0, "k")])
    assert statuses(responses) == [500, 429]
    assert (stats.fault_counts, stats.rate_limited) == ({"500": 1}, 1)


def test_without_a_limit_nothing_is_refused() -> None:
    responses, stats = replay(Knobs(), [(0.0, "k")] * 50)
    assert set(statuses(responses)) == {200}
    assert stats.rate_limited == 0


# ----------------------------------------------------------------------------- the limiter


@settings(max_examples=200, deadline=None)
@given(
    per_minute=st.sampled_from([1.0, 60.0, 200.0, 6000.0]),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 2.0, allow_nan=False), min_size=1, max_size=200),
)
def test_no_interval_lets_through_more_than_its_burst_plus_its_refill(
    per_minute: float, burst: int, gaps: list[float]
) -> None:
    limiter = RateLimiter(per_minute, burst)
    key = RateLimiter.key("k")
    now, allowed = 0.0, []
    for gap in gaps:
        now += gap
        wait = limiter.check(key, now)
        if wait is None:
            allowed.append(now)
        else:
            assert wait > 0
            # What Retry-After says is enough: then the same key is let through.
            probe = copy.deepcopy(limiter)
            assert probe.check(key, now + float(retry_after_text(wait))) is None
    rate = per_minute / 60
    for i, start in enumerate(allowed):
        for j in range(i, len(allowed)):
            assert j - i + 1 <= burst + (allowed[j] - start) * rate + 1e-6


def test_the_limiter_forgets_keys_whose_bucket_refilled() -> None:
    limiter = RateLimiter(60, 1)
    for n in range(MAX_KEYS):
        assert limiter.check(RateLimiter.key(f"k{n}"), 0.0) is None
    assert len(limiter) == MAX_KEYS
    assert limiter.check(RateLimiter.key("late"), 5.0) is None  # the others refilled at 1.0
    assert len(limiter) == 1


def test_the_key_keeps_no_credential() -> None:
    key = RateLimiter.key("secret-api-key")
    assert b"secret" not in key
    assert len(key) == 16
    assert RateLimiter.key(None) == RateLimiter.key("") == RateLimiter.key("anonymous")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(1.0, "1", id="whole"),
        pytest.param(59.9999999999, "60", id="float noise"),
        pytest.param(0.0101, "0.011", id="rounded up"),
        pytest.param(1.25, "1.25", id="decimal"),
        pytest.param(0.0000001, "0.001", id="never zero"),
    ],
)
def test_retry_after_is_never_below_the_true_wait(seconds: float, text: str) -> None:
    assert retry_after_text(seconds) == text


def test_the_default_burst_is_a_second_of_the_limit() -> None:
    assert Knobs().limiter() is None
    limiter = Knobs(rate_limit=6000).limiter()
    assert limiter is not None
    assert (limiter.burst, limiter.interval) == (100, 0.01)
    small = Knobs(rate_limit=30).limiter()
    assert small is not None
    assert small.burst == 1
    with pytest.raises(ValueError, match="rate limit"):
        Knobs(rate_burst=3)


# ----------------------------------------------------------------------------- evalkit's client


def test_evalkit_honours_the_retry_after_of_the_limit() -> None:
    """Over real HTTP: a request refused by the limit is retried after the wait it was told."""

    async def go(base_url: str) -> Any:
        async with FormsClient(base_url, retry=RetryPolicy(retries=2)) as client:
            first = await client.create_session(FORMS["contact"].id)
            return first, await client.create_session(FORMS["contact"].id)

    with EmulatorServer(FORMS, Knobs(rate_limit=600, rate_burst=1)) as server:
        first, second = asyncio.run(go(server.base_url))
        refused = server.stats.rate_limited
    assert first.retries == []
    retries = second.retries
    assert refused >= 1
    assert [r.cause for r in retries] == ["HTTP 429"] * refused
    assert all(0 < r.wait_s <= 0.1 for r in retries)


def test_a_profile_sets_the_limit(tmp_path: Path) -> None:
    profile = tmp_path / "limited.yaml"
    profile.write_text("rate_limit: 200\nrate_burst: 3\n", encoding="utf-8")
    knobs = load_knobs(profile)
    assert (knobs.rate_limit, knobs.rate_burst) == (200, 3)
    profile.write_text("rate_burst: 3\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="rate limit"):
        load_knobs(profile)
