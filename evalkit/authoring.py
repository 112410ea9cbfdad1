"""Suites written for you: record a conversation with a target, or scaffold one from a form.

`record` drives one session against a target, asking a callback for each next user message (a
person at a terminal, or a list of utterances), and `recorded_suite` turns the transcript into a
suite whose expectations are the values the target extracted, to review and keep. The clock the
session was created with is written into the suite, so relative dates ("tomorrow") replay the same.

`suite_from_run` does the same for the persona conversations of a stored run: the simulated
utterances become scripted turns, what the target extracted the expectations, so a persona run
that went well becomes a fixed regression suite. Only the conversations that passed are taken
unless asked otherwise (a failed one would make its defect the expected behaviour); what is
left out is listed, with why.

`starter_suite` scaffolds a suite from a form definition: one conversation per required field
(the fields before it pre-filled, so the assistant asks for it), plus one that fills them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from evalkit.client import FormsClient
from evalkit.emulator import Form
from evalkit.emulator.forms import FormField
from evalkit.errors import UsageError
from evalkit.protocol import ClientTime
from evalkit.results import ConversationResult, RunInfo, TurnTranscript, conversation_label
from evalkit.runner import Target
from evalkit.scoring import extracted_values, was_submitted
from evalkit.suite import Suite

__all__ = [
    "NextMessage",
    "Recording",
    "RunRecording",
    "record",
    "record_async",
    "recorded_suite",
    "sample_answer",
    "starter_suite",
    "suite_from_run",
]

NextMessage = Callable[[TurnTranscript], str | None]
"""Given the last exchange (the greeting first), the next user message, or None to stop."""


@dataclass(frozen=True)
class Recording:
    """A recorded session."""

    form: str
    """The form key the session was created for."""
    client_time: str
    """The session's `clientTime.currentTime` (ISO-8601 UTC)."""
    transcript: list[TurnTranscript]
    """Session creation, then one exchange per user message."""


async def record_async(
    target: Target,
    form: str,
    next_message: NextMessage,
    *,
    now: datetime | None = None,
    time_zone: str | None = None,
    transport: Any = None,
) -> Recording:
    """Run one session against `target`, asking `next_message` for each user message.

    Args:
        target: Where to talk to.
        form: The form key (mapped to an id by the target's `form_ids`).
        next_message: Called with the last exchange; returns the next message or None.
        now: The session's clock (default: the current time).
        time_zone: The session's IANA time zone, if any.
        transport: An httpx2 transport for tests.

    Returns:
        The recording. A `TargetError` from the target is raised: there is nothing to write.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    stamp = moment.isoformat().replace("+00:00", "Z")
    clock = ClientTime(current_time=stamp, time_zone=time_zone)
    async with FormsClient(
        target.base_url, credentials=target.credentials, mode=target.mode, transport=transport
    ) as client:
        created = await client.create_session(
            target.form_ids.get(form, form), dry_run=True, client_time=clock
        )
        transcript = [created]
        while (text := next_message(transcript[-1])) is not None:
            reply = await client.send_message(created.session_id, text, turn=len(transcript))
            transcript.append(reply)
    return Recording(form=form, client_time=stamp, transcript=transcript)


def record(target: Target, form: str, next_message: NextMessage, **options: Any) -> Recording:
    """`record_async` for callers without an event loop; takes the same options."""
    return asyncio.run(record_async(target, form, next_message, **options))


def _expected(value: Any) -> Any:
    """A value as a bare expectation; an object needs `equals` (a bare mapping names a matcher)."""
    return {"equals": value} if isinstance(value, dict) else value


def recorded_suite(
    recording: Recording,
    *,
    suite_name: str,
    conversation_id: str = "recorded",
    time_zone: str | None = None,
) -> Suite:
    """Turn a recording into a suite: each turn expects what was extracted in it.

    Args:
        recording: The session.
        suite_name: The suite's name.
        conversation_id: The conversation's id.
        time_zone: Written beside the recorded clock.

    Returns:
        A suite with one conversation: every turn's extractions, the final state, and whether the
        form was submitted.
    """
    description = (
        f"Recorded at {recording.client_time}; the expectations are what the target extracted then."
    )
    conversation = _scripted(recording.transcript, conversation_id, description)
    return Suite.model_validate(
        {
            "suite": suite_name,
            "form": recording.form,
            "client_time": {"current_time": recording.client_time, "time_zone": time_zone},
            "conversations": [conversation],
        }
    )


def _scripted(
    transcript: Sequence[TurnTranscript], conversation_id: str, description: str
) -> dict[str, Any]:
    """A session as a scripted conversation.

    Its messages become turns, each expecting what was extracted in it; then the final state,
    whether it was submitted, and the prefill it was created with.
    """
    prefill = dict(transcript[0].current_values or {})
    state: dict[str, Any] = {**prefill, **extracted_values(transcript[0])}
    turns: list[dict[str, Any]] = []
    for exchange in transcript[1:]:
        values = extracted_values(exchange)
        state.update(exchange.current_values or {})
        state.update(values)
        turns.append(
            {"user": exchange.user or "", "expect": {k: _expected(v) for k, v in values.items()}}
        )
    conversation: dict[str, Any] = {"id": conversation_id, "description": description}
    if prefill:
        conversation["prefill"] = prefill
    conversation.update(
        turns=turns,
        final={k: _expected(v) for k, v in state.items()},
        submitted=was_submitted(transcript),
    )
    return conversation


@dataclass(frozen=True)
class RunRecording:
    """The persona conversations of a stored run, written as a scripted suite."""

    suite: Suite
    """The suite, to review and keep."""
    skipped: list[tuple[str, str]]
    """(label, why) of each persona conversation of the suite left out.

    The label is `evalkit.results.conversation_label`'s.
    """


def _left_out(result: ConversationResult, include_failed: bool) -> str | None:
    """Why a persona conversation is not recorded, or None when it is."""
    if result.status == "error":
        kind = result.error.kind if result.error is not None else "error"
        return f"it ended in an error ({kind}): there is no whole session to replay"
    if result.status == "skipped":
        return "it did not run"
    if len(result.transcript) <= 1:
        return "it sent no message"
    if result.status == "fail" and not include_failed:
        failed = [f"{f.field}: {f.reason}" for f in result.fields if not f.passed]
        failed += [f"{c.check}: {c.reason}" for c in result.checks if not c.passed]
        why = f" ({failed[0]})" if failed else ""
        return f"it failed{why}; --include-failed records it"
    return None


def suite_from_run(
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    suite: str | None = None,
    suite_name: str | None = None,
    include_failed: bool = False,
) -> RunRecording:
    """Turn the persona conversations of a stored run into a scripted suite.

    Each persona conversation that passed becomes a conversation whose turns are the simulated
    utterances and whose expectations are what the target extracted in each, with the final
    state and the submission, as `record` writes them. Repeats become `<id>-r<repeat>`. A failed
    one is left out unless `include_failed`: recorded, whatever went wrong (a value dropped, no
    submission) would become the expected behaviour. Errors are always left out (no whole
    session to replay); what is left out is listed, with why.

    Args:
        info: The run's `run.json` (for the suites' forms).
        results: Its results.
        suite: The persona suite to take, when the run has several.
        suite_name: The new suite's name (default: `<suite>-recorded`).
        include_failed: Record failed persona conversations too, as they went.

    Returns:
        The suite, and the persona conversations of it that were left out.

    Raises:
        UsageError: The run has no persona conversation (of `suite`), several suites and no
            `suite` to choose one, or none that can be recorded.
    """
    personas = [
        r for r in results if r.simulation is not None and (suite is None or r.suite == suite)
    ]
    names = sorted({r.suite for r in personas})
    if not names:
        where = f" of suite {suite!r}" if suite else ""
        raise UsageError(f"run {info.run_id} has no persona conversation{where}")
    if len(names) > 1:
        raise UsageError(
            f"run {info.run_id} has persona conversations of several suites ({', '.join(names)}); "
            "choose one with --suite"
        )
    (name,) = names
    forms = {s.name: s.form for s in info.suites}
    if name not in forms:
        raise UsageError(f"run {info.run_id}: run.json names no form for suite {name!r}")
    taken: list[ConversationResult] = []
    skipped: list[tuple[str, str]] = []
    for result in personas:
        why = _left_out(result, include_failed)
        if why is None:
            taken.append(result)
        else:
            label = conversation_label(result.suite, result.conversation_id, result.repeat)
            skipped.append((label, why))
    if not taken:
        failed = sum(1 for r in personas if r.status == "fail")
        hint = "; --include-failed records the failed ones" if failed and not include_failed else ""
        raise UsageError(
            f"run {info.run_id}: no persona conversation of suite {name!r} passed "
            f"({failed} failed, {len(personas) - failed} did not run to a verdict){hint}"
        )
    repeated = {r.conversation_id for r in taken if r.repeat}
    conversations = [
        _scripted(
            r.transcript,
            f"{r.conversation_id}-r{r.repeat}"
            if r.conversation_id in repeated
            else r.conversation_id,
            f"Recorded from the persona {r.simulation.persona or r.conversation_id!r} "
            f"(seed {r.simulation.seed}) of run {info.run_id}, where it {_verdict(r)}; the "
            "expectations are what the target extracted then.",
        )
        for r in taken
        if r.simulation is not None
    ]
    recorded = Suite.model_validate(
        {
            "suite": suite_name or f"{name}-recorded",
            "form": forms[name],
            "conversations": conversations,
        }
    )
    return RunRecording(suite=recorded, skipped=skipped)


def _verdict(result: ConversationResult) -> str:
    return "passed" if result.status == "pass" else "FAILED: review what it expects"


def _number(form_field: FormField) -> float:
    low = form_field.min if form_field.min is not None else 30.0
    high = form_field.max if form_field.max is not None else low + 100
    value = min(max(30.0, low), high)
    step = form_field.multiple_of
    if step:
        value = min(high, (value // step + (value % step > 0)) * step)
    return value


def sample_answer(form_field: FormField) -> tuple[str, Any, Any]:
    """A sample answer for a field: (what the user says, the value, the expectation)."""
    label = form_field.label
    match form_field.type:
        case "name":
            part = form_field.name_part or "full"
            name = {"first": "Jane", "last": "Doe", "full": "Jane Doe"}[part]
            return f"My {label.lower()} is {name}", name, name
        case "email":
            return "jane.doe@example.com", "jane.doe@example.com", {"email": "jane.doe@example.com"}
        case "phone":
            number = "+1 555 010 2030"
            return f"My phone number is {number}", number, {"phone": number}
        case "number":
            value = _number(form_field)
            shown = f"{value:g}"
            return f"My {label.lower()} is {shown}", value, {"approx": value, "abs": 0}
        case "boolean":
            return "yes", True, True
        case "date":
            return "2027-03-14", "2027-03-14", {"date": "2027-03-14"}
        case "single_select":
            option = form_field.options[0]
            return option.label, option.value, option.value
        case "multi_select":
            option = form_field.options[0]
            return option.label, [option.value], {"subset": [option.value]}
        case _:
            return f"My {label.lower()} is Example", "Example", {"contains": "Example"}


def starter_suite(form: Form, *, suite_name: str | None = None) -> Suite:
    """Scaffold a suite for a form: one conversation per required field, plus one with them all.

    Args:
        form: The form definition (`*.form.yaml`, or a Wix form read with `form_from_wix`).
        suite_name: The suite's name (default: `<form key>-starter`).

    Returns:
        A suite to edit: each expectation is a guess from the field's type.
    """
    required: Sequence[FormField] = [f for f in form.fields if f.required] or form.fields[:1]
    conversations: list[dict[str, Any]] = []
    earlier: dict[str, Any] = {}
    for form_field in required:
        said, value, expected = sample_answer(form_field)
        conversations.append(
            {
                "id": f"answers-{form_field.target}".replace("_", "-"),
                "description": f"Asked for {form_field.label}, the user answers it.",
                "prefill": dict(earlier),
                "turns": [{"user": said, "expect": {form_field.target: expected}}],
            }
        )
        earlier[form_field.target] = value
    answers = [sample_answer(f) for f in required]
    conversations.append(
        {
            "id": "all-required-fields",
            "description": "Every required field, one per turn, in the order they are asked.",
            "tags": ["smoke"],
            "turns": [
                {"user": said, "expect": {f.target: expected}}
                for f, (said, _, expected) in zip(required, answers, strict=True)
            ],
            "final": {
                f.target: expected for f, (_, _, expected) in zip(required, answers, strict=True)
            },
            "submitted": True,
        }
    )
    return Suite.model_validate(
        {
            "suite": suite_name or f"{form.key}-starter",
            "form": form.key,
            "description": f"Starter suite for the form {form.name!r}; edit the utterances.",
            "conversations": conversations,
        }
    )
