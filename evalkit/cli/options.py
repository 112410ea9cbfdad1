"""Options several commands share, each family given to the command as one library object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from evalkit.client import Limits, RetryPolicy
from evalkit.gates import Gates
from evalkit.results import parse_shard
from evalkit.runner import RunSettings

__all__ = ["gate_options", "settings_options"]


def _grouped(
    options: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...],
    names: tuple[str, ...],
    build: Callable[..., Any],
    argument: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding `options`, whose values (`names`) reach the command as `argument`."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def grouped(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return command(*args, **{argument: build(**values)}, **kwargs)

        for option in reversed(options):
            grouped = option(grouped)
        return grouped

    return decorate


_GATE_OPTIONS = (
    click.option(
        "--max-error-rate",
        type=click.FloatRange(0, 1),
        default=0.05,
        show_default=True,
        help="Exit 3 when more than this share of conversations end in error.",
    ),
    click.option(
        "--fail-under",
        type=click.FloatRange(0, 1),
        default=None,
        help="Exit 1 when the pass rate is under this (default: exit 1 on any failure).",
    ),
    click.option(
        "--max-regressions",
        type=click.IntRange(min=0),
        default=None,
        help="With a baseline: exit 1 when there are more regressions than this.",
    ),
    click.option(
        "--alpha",
        type=click.FloatRange(0, 1, min_open=True),
        default=0.05,
        show_default=True,
        help="With a baseline: exit 1 on a regression significant at this level (McNemar).",
    ),
)


gate_options = _grouped(
    _GATE_OPTIONS,
    ("max_error_rate", "fail_under", "max_regressions", "alpha"),
    Gates,
    "gates",
)
"""The gate options of a command, given to it as one `gates` argument (`evalkit.Gates`)."""


_LIMITS = Limits()

_SETTINGS_OPTIONS = (
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=4,
        show_default=True,
        help="Most conversations in flight at once (lowered automatically on 429).",
    ),
    click.option(
        "--turn-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=120.0,
        show_default=True,
        help="Wall-clock seconds allowed for one exchange, retries included.",
    ),
    click.option(
        "--conversation-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=600.0,
        show_default=True,
        help="Wall-clock seconds allowed for a whole conversation.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=3,
        show_default=True,
        help="Retries of a request that failed before its response began (connect errors, "
        "408, 429, 5xx), with backoff from 0.5 s doubling to 8 s, honouring Retry-After.",
    ),
    click.option(
        "--restarts",
        type=click.IntRange(min=0),
        default=2,
        show_default=True,
        help="Restarts of a conversation on a fresh session after a stream broke mid-way.",
    ),
    click.option(
        "--repeat",
        type=click.IntRange(min=1),
        default=None,
        help="Run every conversation N times (default: as each suite says) to measure flakiness.",
    ),
    click.option(
        "--shard",
        default=None,
        metavar="I/N",
        help="Run only shard I of N (a stable split by conversation); merge with `evalkit merge`.",
    ),
    click.option(
        "--circuit-breaker",
        "breaker",
        type=click.IntRange(min=0),
        default=10,
        show_default=True,
        help="Stop launching conversations after this many in a row could not reach the target "
        "(exit 3; --resume finishes the run); 0 never stops.",
    ),
    click.option(
        "--grace",
        type=click.FloatRange(min=0),
        default=10.0,
        show_default=True,
        help="On Ctrl-C or SIGTERM, seconds in-flight conversations get to finish.",
    ),
    click.option(
        "--max-response-bytes",
        type=click.IntRange(min=1),
        default=_LIMITS.response_bytes,
        show_default=True,
        help="Most bytes read of one response body; past them the conversation is a protocol "
        "error (not restarted).",
    ),
    click.option(
        "--max-message-bytes",
        type=click.IntRange(min=1),
        default=_LIMITS.message_bytes,
        show_default=True,
        help="Most bytes of one message (an SSE event, an NDJSON line, an array element, a "
        "unary body), checked as it arrives; past them: a protocol error.",
    ),
    click.option(
        "--max-chunks",
        type=click.IntRange(min=1),
        default=_LIMITS.chunks_per_turn,
        show_default=True,
        help="Most chunks in one response; the first ones are kept, the next ends the turn "
        "with a protocol error.",
    ),
    click.option(
        "--max-error-body-bytes",
        type=click.IntRange(min=1),
        default=_LIMITS.error_body_bytes,
        show_default=True,
        help="Bytes read of a non-2xx body and shown in the error; the rest is not read.",
    ),
)


def _settings(
    *,
    concurrency: int,
    turn_timeout: float,
    conversation_timeout: float,
    retries: int,
    restarts: int,
    repeat: int | None,
    shard: str | None,
    breaker: int,
    grace: float,
    max_response_bytes: int,
    max_message_bytes: int,
    max_chunks: int,
    max_error_body_bytes: int,
) -> RunSettings:
    limits = Limits(
        response_bytes=max_response_bytes,
        message_bytes=max_message_bytes,
        chunks_per_turn=max_chunks,
        error_body_bytes=max_error_body_bytes,
    )
    return RunSettings(
        concurrency=concurrency,
        turn_timeout=turn_timeout,
        conversation_timeout=conversation_timeout,
        restarts=restarts,
        retry=RetryPolicy(retries=retries),
        grace=grace,
        repeat=repeat,
        shard=parse_shard(shard),
        breaker=breaker,
        limits=limits,
    )


settings_options = _grouped(
    _SETTINGS_OPTIONS,
    (
        "concurrency",
        "turn_timeout",
        "conversation_timeout",
        "retries",
        "restarts",
        "repeat",
        "shard",
        "breaker",
        "grace",
        "max_response_bytes",
        "max_message_bytes",
        "max_chunks",
        "max_error_body_bytes",
    ),
    _settings,
    "settings",
)
"""How a run behaves (concurrency, deadlines, retries, restarts, repeats, shard, the circuit
breaker, the limits on what a target sends), given to the command as one `RunSettings`."""
