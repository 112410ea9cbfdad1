"""One conversation against a target: sessions, turns, deadlines, restarts, and its verdict."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evalkit.client import FormsClient, RetryPolicy
from evalkit.errors import TargetError, UsageError, WixApiError
from evalkit.loader import SuiteFile, Suites
from evalkit.protocol import ClientTime
from evalkit.results import Attempt, ConversationResult, ErrorInfo, TurnTranscript
from evalkit.runner.target import Target
from evalkit.scoring import score_conversation
from evalkit.suite import LoadedSuite

__all__ = [
    "RunSettings",
    "Suites",
    "WorkItem",
    "in_shard",
    "iso",
    "iter_plan",
    "plan",
    "planned_keys",
    "run_conversation",
    "suite_items",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 with milliseconds and a `Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    """

    concurrency: int = 4
    turn_timeout: float = 120.0
    conversation_timeout: float = 600.0
    restarts: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    grace: float = 10.0
    repeat: int | None = None
    shard: tuple[int, int] | None = None

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
        if self.restarts < 0 or self.grace < 0:
            raise UsageError("restarts and grace cannot be negative")


@dataclass(frozen=True)
class WorkItem:
    """One conversation (and repeat) to run."""

    loaded: LoadedSuite
    index: int
    repeat: int = 0

    @property
    def key(self) -> tuple[str, str, int]:
        """The result key: (suite, conversation id, repeat)."""
        return (self.loaded.name, self.loaded.suite.conversations[self.index].id, self.repeat)


# A stream that broke after it began may have changed the session: only a fresh one is safe.
_RESTARTABLE = frozenset({"transport", "truncated", "protocol", "timeout"})


def _client_time(loaded: LoadedSuite, index: int) -> ClientTime | None:
    spec = loaded.suite.conversations[index].client_time or loaded.suite.client_time
    if spec is None:
        return None
    return ClientTime(current_time=spec.current_time, time_zone=spec.time_zone)


def _began(exc: TargetError) -> bool:
    """Whether the failed exchange had started to answer (a retry would resend an applied turn)."""
    partial = exc.partial
    return isinstance(partial, TurnTranscript) and partial.status_code == 200


def _trace(target: Target, item: WorkItem, session_number: int) -> Callable[[int], str | None]:
    """The `X-Evalkit-Trace` of each exchange of a session (none for Wix; see `TRACE_HEADER`)."""
    if target.name == "wix":
        return lambda exchange: None
    key = "\x1f".join(str(part) for part in item.key)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return lambda exchange: f"{digest}.{session_number}.{exchange}"


async def _session(
    client: FormsClient,
    target: Target,
    item: WorkItem,
    settings: RunSettings,
    transcript: list[TurnTranscript],
    session_number: int = 1,
) -> str:
    """Run one conversation on one session, appending every exchange to `transcript`."""
    trace = _trace(target, item, session_number)
    loop = asyncio.get_running_loop()
    suite = item.loaded.suite
    conversation = suite.conversations[item.index]
    end = loop.time() + settings.conversation_timeout

    def deadline() -> float:
        return min(end, loop.time() + settings.turn_timeout)

    created = await client.create_session(
        target.form_ids.get(suite.form, suite.form),
        current_values=dict(conversation.prefill) or None,
        dry_run=suite.dry_run,
        client_time=_client_time(item.loaded, item.index),
        deadline=deadline(),
        trace=trace(0),
    )
    transcript.append(created)
    if not created.session_id:
        raise TargetError("the create response named no session id", kind="protocol")
    for number, turn in enumerate(conversation.turns, start=1):
        reply = await client.send_message(
            created.session_id,
            turn.user or None,
            current_values=dict(turn.set_values) or None,
            turn=number,
            deadline=deadline(),
            trace=trace(number),
        )
        transcript.append(reply)
    return created.session_id


async def run_conversation(
    client: FormsClient, target: Target, item: WorkItem, settings: RunSettings
) -> ConversationResult:
    """Run one conversation to its result; a failing target gives an `error` result, never raises.

    A stream that broke after it began (cut, truncated, malformed, stalled) restarts the whole
    conversation on a fresh session, up to `settings.restarts` times; each restart is recorded.
    """
    suite = item.loaded.suite
    conversation = suite.conversations[item.index]
    clock = time.perf_counter()
    base: dict[str, Any] = {
        "suite": suite.suite,
        "conversation_id": conversation.id,
        "repeat": item.repeat,
        "source": item.loaded.location(item.index),
        "tags": sorted({*suite.tags, *conversation.tags}),
        "started_at": iso(utc_now()),
    }
    restarts: list[Attempt] = []
    abandoned: list[list[TurnTranscript]] = []
    base.update(restarts=restarts, abandoned=abandoned)  # filled in as sessions are given up
    for session_number in range(1, settings.restarts + 2):
        transcript: list[TurnTranscript] = []
        try:
            session_id = await _session(client, target, item, settings, transcript, session_number)
        except TargetError as exc:
            if isinstance(exc.partial, TurnTranscript):
                transcript.append(exc.partial)
            restartable = exc.kind in _RESTARTABLE and _began(exc)
            if restartable and session_number <= settings.restarts:
                cause = f"{exc.kind}: {exc}"
                turn = len(transcript) - 1
                restarts.append(
                    Attempt(turn=turn, attempt=session_number, cause=cause, action="restart")
                )
                abandoned.append(transcript)
                continue
            return _error_result(base, transcript, exc, clock)
        except Exception as exc:  # a bug in evalkit marks this conversation, not the run
            return _error_result(base, transcript, exc, clock)
        break
    score = score_conversation(conversation, suite.defaults, transcript)
    return ConversationResult(
        **base,
        status=score.status,
        session_id=session_id,
        transcript=transcript,
        fields=score.fields,
        checks=score.checks,
        warnings=score.warnings,
        final_state=score.final_state,
        submitted=score.submitted,
        duration_s=time.perf_counter() - clock,
    )


def _error_result(
    base: dict[str, Any],
    transcript: list[TurnTranscript],
    exc: Exception,
    clock: float,
) -> ConversationResult:
    turn = max(0, len(transcript) - 1) if isinstance(exc, TargetError) else len(transcript)
    if isinstance(exc, TargetError):
        error = ErrorInfo(kind=exc.kind, message=str(exc), turn=turn)
        if isinstance(exc, WixApiError):
            error = error.model_copy(update={"status": exc.status, "code": exc.code})
    else:
        message = f"evalkit failed on this conversation: {type(exc).__name__}: {exc}"
        error = ErrorInfo(kind="internal", message=message, turn=turn)
    return ConversationResult(
        **base,
        status="error",
        error=error,
        session_id=transcript[0].session_id if transcript else "",
        transcript=transcript,
        duration_s=time.perf_counter() - clock,
    )


def in_shard(suite: str, conversation_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether a conversation belongs to shard `i` of `n` (1-based), by a stable hash of its key.

    Every repeat of a conversation lands in the same shard, so flakiness is seen within a shard.
    """
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha256(f"{suite}\x1f{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def _outline(suite: LoadedSuite | SuiteFile) -> Iterator[tuple[str, int]]:
    if isinstance(suite, SuiteFile):
        return iter(suite.conversations)
    return ((c.id, c.repeat) for c in suite.suite.conversations)


def planned_keys(
    suites: Suites, *, repeat: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[tuple[str, str, int]]:
    """The key of every conversation (and repeat) `plan` gives, without reading a suite file."""
    for suite in suites:
        for conversation_id, times in _outline(suite):
            if in_shard(suite.name, conversation_id, shard):
                for r in range(repeat or times):
                    yield (suite.name, conversation_id, r)


def suite_items(
    loaded: LoadedSuite, *, repeat: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[WorkItem]:
    """The work items of one loaded suite, in order (as `plan` gives them)."""
    for index, conversation in enumerate(loaded.suite.conversations):
        if not in_shard(loaded.name, conversation.id, shard):
            continue
        for r in range(repeat or conversation.repeat):
            yield WorkItem(loaded, index, r)


def iter_plan(
    suites: Suites, *, repeat: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[WorkItem]:
    """`plan`, lazily: a `SuiteFile` is built again only when its first conversation is due."""
    for suite in suites:
        loaded = suite.load() if isinstance(suite, SuiteFile) else suite
        yield from suite_items(loaded, repeat=repeat, shard=shard)
        del loaded  # done handing it out: it goes once its conversations have finished


def plan(
    suites: Suites,
    *,
    repeat: int | None = None,
    shard: tuple[int, int] | None = None,
) -> list[WorkItem]:
    """Every conversation (times its repeats) of the suites, in suite order.

    Args:
        suites: Loaded suites (or suite files, which are read here).
        repeat: Run every conversation this many times, whatever its `repeat` says.
        shard: Only the conversations of shard `(i, n)`.
    """
    return list(iter_plan(suites, repeat=repeat, shard=shard))
