"""One conversation against a target: sessions, turns, deadlines, restarts, and its verdict."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

from evalkit.client import FormsClient
from evalkit.errors import SimulatorError, TargetError, WixApiError
from evalkit.personas import hints_for, simulation_info
from evalkit.protocol import ClientTime
from evalkit.results import Attempt, ConversationResult, ErrorInfo, Redactor, TurnTranscript
from evalkit.results.models import SimulationInfo
from evalkit.runner.clock import iso, utc_now
from evalkit.runner.plan import WorkItem
from evalkit.runner.settings import RunSettings, redactor_for
from evalkit.runner.simulators import Simulators
from evalkit.runner.target import Target
from evalkit.scoring import score_conversation, transcript_warnings
from evalkit.simulate import FieldHint, LlmSimulator, Simulator, Step, seed_for
from evalkit.stream import PermanentStreamError
from evalkit.suite import LoadedSuite

__all__ = ["run_conversation"]


# A stream that broke after it began may have changed the session: only a fresh one is safe.
# A body no session would change (not a stream at all, past a limit) is not worth one.
_RESTARTABLE = frozenset({"transport", "truncated", "protocol", "timeout"})


def _client_time(loaded: LoadedSuite, index: int) -> ClientTime | None:
    spec = loaded.suite.conversations[index].client_time or loaded.suite.client_time
    if spec is None:
        return None
    return ClientTime(current_time=spec.current_time, time_zone=spec.time_zone)


def _hints(target: Target, item: WorkItem) -> tuple[FieldHint, ...]:
    form = item.loaded.suite.form
    return hints_for(item.loaded.path, form, target.forms, target.form_ids)


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
    simulator: Simulator | LlmSimulator | None = None,
    answers: list[list[str]] | None = None,
    redactor: Redactor | None = None,
) -> str:
    """Run one conversation on one session, appending every exchange to `transcript`.

    A scripted conversation sends its turns; a persona conversation asks `simulator` for each
    next message from the transcript so far, until it stops. Each turn passes `redactor` before
    the simulator reads it: a secret the target echoes never reaches an LLM's prompt.
    """
    trace = _trace(target, item, session_number)
    loop = asyncio.get_running_loop()
    suite = item.loaded.suite
    conversation = suite.conversations[item.index]
    end = loop.time() + settings.conversation_timeout

    def deadline() -> float:
        return min(end, loop.time() + settings.turn_timeout)

    def simulator_deadline() -> float:
        limit = settings.simulator.reply_timeout
        return deadline() if limit is None else min(deadline(), loop.time() + limit)

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
    if simulator is not None:
        number = 0
        while (
            step := await _next_step(simulator, transcript, simulator_deadline(), redactor)
        ).utterance is not None:
            number += 1
            reply = await client.send_message(
                created.session_id,
                step.utterance,
                turn=number,
                deadline=deadline(),
                trace=trace(number),
            )
            transcript.append(reply)
            if answers is not None:
                answers.append(list(step.answers))
        return created.session_id
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


async def _next_step(
    simulator: Simulator | LlmSimulator,
    transcript: list[TurnTranscript],
    deadline: float,
    redactor: Redactor | None = None,
) -> Step:
    """The simulated user's next step, from the turns so far (the latest redacted first).

    An LLM's reply is bounded by `deadline` (the turn's, or the simulator's own if sooner).
    """
    if redactor is not None:
        redactor.transcript(transcript[-1:])
    if isinstance(simulator, Simulator):
        return simulator.next_message(transcript)
    try:
        async with asyncio.timeout_at(deadline):
            return await simulator.next_message(transcript)
    except TimeoutError:
        raise SimulatorError(
            "the simulator's model gave no reply before its deadline (the turn's, or "
            "the simulator's reply timeout)"
        ) from None


async def run_conversation(
    client: FormsClient,
    target: Target,
    item: WorkItem,
    settings: RunSettings,
    simulators: Simulators | None = None,
) -> ConversationResult:
    """Run one conversation to its result; a failing target gives an `error` result, never raises.

    A stream that broke after it began (cut, truncated, malformed, stalled) restarts the whole
    conversation on a fresh session, up to `settings.restarts` times; each restart is recorded.
    A body that no fresh session would change (`PermanentStreamError`: not a stream of messages
    at all, or past a limit) is an error at once. Persona conversations are played by
    `simulators` (the rule-based simulator when None); a `SimulatorError` is an error of kind
    `simulator`, never the target's.
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
    persona = conversation.persona
    seed = seed_for(suite.suite, conversation.id, item.repeat)
    if persona is not None:  # an error result carries the seed too
        base["simulation"] = simulation_info(persona, seed)
    simulator: Simulator | LlmSimulator | None = None
    answers: list[list[str]] = []
    redactor = redactor_for(target, client, settings.simulator)
    for session_number in range(1, settings.restarts + 2):
        transcript: list[TurnTranscript] = []
        if persona is not None:  # a fresh session starts a fresh simulated user, same seed
            hints = _hints(target, item)
            simulator = (
                simulators.make(persona, seed, hints, redactor.text)
                if simulators is not None
                else Simulator(persona, seed, hints)
            )
            answers = []
        try:
            session_id = await _session(
                client,
                target,
                item,
                settings,
                transcript,
                session_number,
                simulator,
                answers,
                redactor,
            )
        except TargetError as exc:
            if isinstance(exc.partial, TurnTranscript):
                transcript.append(exc.partial)
            restartable = (
                exc.kind in _RESTARTABLE
                and _began(exc)
                and not isinstance(exc, PermanentStreamError)
            )
            if restartable and session_number <= settings.restarts:
                cause = f"{exc.kind}: {exc}"
                turn = len(transcript) - 1
                restarts.append(
                    Attempt(turn=turn, attempt=session_number, cause=cause, action="restart")
                )
                abandoned.append(transcript)
                continue
            return _error_result(base, transcript, exc, clock)
        except SimulatorError as exc:  # the simulator's endpoint failed, not the target
            if persona is not None and simulator is not None:
                base["simulation"] = simulation_info(persona, seed, simulator, answers)
            return _error_result(base, transcript, exc, clock)
        except Exception as exc:  # a bug in evalkit marks this conversation, not the run
            return _error_result(base, transcript, exc, clock)
        break
    # Nothing scoring derives (joined texts, reasons) may rebuild a secret the target echoed.
    redactor.transcript(transcript)
    simulation: SimulationInfo | None = base.pop("simulation", None)
    if simulator is not None and persona is not None:
        simulation = simulation_info(persona, seed, simulator, answers)
    try:
        score = score_conversation(conversation, suite.defaults, transcript, simulation)
    except Exception as exc:  # as above: whatever a target sent, the run goes on
        return _error_result(base, transcript, exc, clock)
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
        simulation=simulation,
        duration_s=time.perf_counter() - clock,
    )


def _error_result(
    base: dict[str, Any],
    transcript: list[TurnTranscript],
    exc: Exception,
    clock: float,
) -> ConversationResult:
    turn = max(0, len(transcript) - 1) if isinstance(exc, TargetError) else len(transcript)
    if isinstance(exc, TargetError | SimulatorError):
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
        warnings=transcript_warnings(transcript),
        duration_s=time.perf_counter() - clock,
    )
