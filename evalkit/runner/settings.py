"""How a run behaves (`RunSettings`), and the client a target gets under them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from evalkit.client import FormsClient, Limits, RetryPolicy
from evalkit.errors import UsageError
from evalkit.results import Redactor, Selection
from evalkit.runner.simulators import SimulatorSettings
from evalkit.runner.target import Target

__all__ = ["RunSettings", "client_for", "redactor_for"]


@dataclass(frozen=True)
class RunSettings:
    """How a run behaves; every field has a default that suits a nightly run.

    Attributes:
        concurrency: Most conversations in flight at once (turns within one are sequential).
        turn_timeout: Wall-clock seconds allowed for one exchange, retries included.
        conversation_timeout: Wall-clock seconds allowed for a whole conversation.
        restarts: How often a conversation restarts on a fresh session after a stream broke
            once it had begun (the service may have applied that turn, so it is not resent).
        retry: Retries of requests that failed before their response began.
        grace: Seconds in-flight conversations get to finish after a stop was asked for.
        repeat: Run every conversation this many times (None: as its suite says).
        shard: Run only shard `(i, n)` of the conversations (1-based i).
        breaker: Stop launching conversations after this many in a row could not reach the
            target (transport errors, retries spent): a dead target costs seconds, not every
            remaining conversation's retries. 0 turns it off.
        limits: How much of each response is read (bytes per response and per message, chunks
            per turn, bytes of an error body); past one, the conversation is a `protocol` error.
        selection: Run only the conversations it takes (tags, id patterns, exclusions); None
            for all. Recorded in `run.json`; a resume keeps it.
        simulator: Which simulator plays persona conversations (rule-based by default, or an
            LLM endpoint); recorded in `run.json` without its key.
    """

    concurrency: int = 4
    turn_timeout: float = 120.0
    conversation_timeout: float = 600.0
    restarts: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    grace: float = 10.0
    repeat: int | None = None
    shard: tuple[int, int] | None = None
    limits: Limits = field(default_factory=Limits)
    breaker: int = 10
    selection: Selection | None = None
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)

    def __post_init__(self) -> None:
        if self.repeat is not None and self.repeat < 1:
            raise UsageError(f"repeat must be at least 1, got {self.repeat}")
        if self.shard is not None and not 1 <= self.shard[0] <= self.shard[1]:
            raise UsageError(
                f"a shard is i/n with 1 <= i <= n, got {self.shard[0]}/{self.shard[1]}"
            )
        if self.concurrency < 1:
            raise UsageError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.turn_timeout <= 0 or self.conversation_timeout <= 0:
            raise UsageError("turn and conversation timeouts must be positive")
        if self.restarts < 0 or self.grace < 0 or self.breaker < 0:
            raise UsageError("restarts, grace and the circuit breaker cannot be negative")


def client_for(
    target: Target,
    settings: RunSettings,
    *,
    transport: Any = None,
    max_connections: int | None = None,
    throttle: Callable[[], Awaitable[object]] | None = None,
    on_status: Callable[[int], Awaitable[None]] | None = None,
) -> FormsClient:
    """The client of `target` under `settings`: its credentials, framing, retries and limits.

    Args:
        target: What to talk to.
        settings: The run's retries and limits; its concurrency sizes the connection pool.
        transport: An httpx2 async transport instead of the network (for tests).
        max_connections: The pool's size, when not the run's concurrency.
        throttle: Awaited before each request (the run's rate limit).
        on_status: Awaited with every response status (the run's adaptive concurrency).
    """
    return FormsClient(
        target.base_url,
        credentials=target.credentials,
        mode=target.mode,
        transport=transport,
        max_connections=max_connections or settings.concurrency,
        retry=settings.retry,
        limits=settings.limits,
        throttle=throttle,
        on_status=on_status,
    )


def redactor_for(
    target: Target, client: FormsClient, simulator: SimulatorSettings | None = None
) -> Redactor:
    """What keeps this target's secrets out of everything evalkit writes or prints.

    Its credentials, every OAuth token `client` obtains (asked again at each use, as tokens
    appear while a run goes on), and the LLM simulator's key when `simulator` has one.
    """
    known = target.credentials.secrets() if target.credentials else []
    if simulator is not None:
        known = [*known, *simulator.secrets()]
    return Redactor(lambda: [*known, *client.issued_tokens()])
