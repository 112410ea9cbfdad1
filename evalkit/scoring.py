"""Pure scoring: a conversation's expectations × its transcript → field and check verdicts.

No I/O and no clock: the same transcript and suite always give the same verdicts, which is what
lets a stored run be re-scored offline with edited expectations.

What is compared:

* a turn's `expect` with the TEXT_DATA values extracted in that turn (by `fieldTarget`; when a
  field arrives twice in one turn, the last value counts);
* `final` with the accumulated state: prefill, then per turn its `set` values and its extractions,
  last write wins;
* `reply` with the assistant's text of that turn (TEXT and IMPORTANT_TEXT chunks, joined);
* `asks` with the fields the turn's prompts name (select, number, file, signature and
  IMPORTANT_TEXT chunks carry a `fieldTarget`; a question in plain TEXT names none);
* `offers` with the options of the turn's select prompts (by value or label, normalised);
* `submitted` with whether any SUBMISSION chunk arrived;
* `no_errors` with the absence of ERROR chunks and of END_OF_RESPONSE `success: false`.

A field extracted in a turn that has an `expect` block but not named there is *unexpected*: under
the policy `fail` it fails the conversation, under `warn` it is recorded with a warning, under
`ignore` it is not recorded.

What the decoder kept in another form than it arrived in (a lone surrogate escaped, `NaN` as text;
`TurnTranscript.warnings`) becomes a warning of the conversation, named by its turn: the value is
scored as stored, and the warning says why it looks as it does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from evalkit.matchers import MISSING, match, normalize_text, show
from evalkit.results import CheckResult, FieldOutcome, FieldResult, TurnTranscript
from evalkit.results.models import SimulationInfo
from evalkit.results.turns import assistant_text, offered_options
from evalkit.suite import (
    Check,
    Conversation,
    Defaults,
    Persona,
    StringPolicy,
    Turn,
    UnexpectedPolicy,
)

__all__ = [
    "Score",
    "assistant_text",
    "extracted_values",
    "fewest_turns",
    "never_asked",
    "offered_options",
    "prompted_fields",
    "score_conversation",
    "transcript_warnings",
    "was_submitted",
]

# Chunk types that prompt for one field, and where their details sit.
_PROMPTS = {
    "SINGLE_SELECT_INPUT": "singleSelectInputDetails",
    "MULTI_SELECT_INPUT": "multiSelectInputDetails",
    "NUMBER_INPUT": "numberInputDetails",
    "FILE_UPLOAD": "fileUploadDetails",
    "SIGNATURE": "signatureDetails",
    "IMPORTANT_TEXT": "importantTextDetails",
}


@dataclass(frozen=True)
class Score:
    """The verdicts for one conversation."""

    status: Literal["pass", "fail"]
    """`fail` when any field or check did not pass."""
    fields: list[FieldResult]
    """Every field verdict, per turn in order, then final."""
    checks: list[CheckResult]
    """Reply and submission verdicts."""
    warnings: list[str] = field(default_factory=list)
    """Findings that do not fail the conversation."""
    final_state: dict[str, Any] = field(default_factory=dict)
    """The accumulated values at the end."""
    submitted: bool = False
    """Whether a SUBMISSION chunk arrived."""


def _chunks(turn: TurnTranscript, chunk_type: str) -> list[dict[str, Any]]:
    return [c.chunk for c in turn.chunks if c.chunk.get("chunkType") == chunk_type]


def extracted_values(turn: TurnTranscript) -> dict[str, Any]:
    """The TEXT_DATA values of one turn by field target (the last one wins for a repeated field)."""
    values: dict[str, Any] = {}
    for chunk in _chunks(turn, "TEXT_DATA"):
        details = chunk.get("textDataDetails")
        if not isinstance(details, dict):  # a stored chunk is as it came: maybe malformed
            continue
        target = details.get("fieldTarget")
        if isinstance(target, str) and target:
            values[target] = details.get("value")
    return values


def prompted_fields(turn: TurnTranscript) -> list[str]:
    """The field targets the turn's prompt chunks name, in order, each once."""
    fields: list[str] = []
    for chunk in turn.chunks:
        key = _PROMPTS.get(str(chunk.chunk.get("chunkType")))
        details = chunk.chunk.get(key) if key else None
        target = details.get("fieldTarget") if isinstance(details, dict) else None
        if isinstance(target, str) and target and target not in fields:
            fields.append(target)
    return fields


def _errors(transcript: Sequence[TurnTranscript]) -> list[str]:
    found: list[str] = []
    for number, turn in enumerate(transcript):
        where = _where(number)
        for chunk in turn.chunks:
            kind = chunk.chunk.get("chunkType")
            if kind == "ERROR":
                text = (chunk.chunk.get("errorDetails") or {}).get("messageText", "")
                found.append(f"{where}: ERROR {show(text)}")
            elif (
                kind == "END_OF_RESPONSE"
                and (chunk.chunk.get("endOfResponseDetails") or {}).get("success") is False
            ):
                found.append(f"{where}: END_OF_RESPONSE success false")
    return found


def _where(number: int) -> str:
    return "session creation" if number == 0 else f"turn {number}"


def transcript_warnings(transcript: Sequence[TurnTranscript]) -> list[str]:
    """The warnings of every exchange (`TurnTranscript.warnings`), each prefixed with its turn."""
    return [
        f"{_where(number)}: {warning}"
        for number, turn in enumerate(transcript)
        for warning in turn.warnings
    ]


def _prompt_checks(turn: Turn, record: TurnTranscript | None, number: int) -> list[CheckResult]:
    checks: list[CheckResult] = []
    if turn.asks is not None:
        asked = prompted_fields(record) if record is not None else []
        shown = ", ".join(asked) if asked else "no field (a question in plain text names none)"
        passed = turn.asks in asked
        reason = f"the turn's prompts are for {shown}" + (
            "" if passed else f"; expected {turn.asks}"
        )
        checks.append(CheckResult(check="asks", turn=number, passed=passed, reason=reason))
    if turn.offers is not None:
        options = offered_options(record) if record is not None else []
        names = {normalize_text(n) for pair in options for n in pair}
        lacking = [o for o in turn.offers if normalize_text(o) not in names]
        offered = ", ".join(label or value for value, label in options) or "no options"
        reason = f"offered {offered}" + (f"; missing {', '.join(lacking)}" if lacking else "")
        checks.append(CheckResult(check="offers", turn=number, passed=not lacking, reason=reason))
    return checks


def was_submitted(transcript: Sequence[TurnTranscript]) -> bool:
    """Whether any turn carried a SUBMISSION chunk."""
    return any(_chunks(turn, "SUBMISSION") for turn in transcript)


def _field_result(
    name: str, check: Check, actual: Any, turn: int | None, strings: StringPolicy
) -> FieldResult:
    matcher, result = match(check, actual, strings=strings)
    outcome: FieldOutcome
    if result.passed:
        outcome = "correct"
    elif actual is MISSING:
        outcome = "missing"
    elif matcher == "absent" and check.value is not False:
        outcome = "unexpected"
    else:
        outcome = "wrong"
    return FieldResult(
        field=name,
        turn=turn,
        matcher=matcher,
        expected=check.value,
        actual=None if actual is MISSING else actual,
        outcome=outcome,
        passed=result.passed,
        score=result.score,
        reason=result.reason,
    )


def _unexpected(
    values: Mapping[str, Any], expected: Mapping[str, Check], turn: int, policy: UnexpectedPolicy
) -> tuple[list[FieldResult], list[str]]:
    if policy == "ignore":
        return [], []
    results: list[FieldResult] = []
    warnings: list[str] = []
    for name in sorted(set(values) - set(expected)):
        reason = f"extracted {show(values[name])} but the turn does not expect {name}"
        results.append(
            FieldResult(
                field=name,
                turn=turn,
                matcher="unexpected",
                actual=values[name],
                outcome="unexpected",
                passed=policy != "fail",
                score=0.0,
                reason=reason,
            )
        )
        if policy == "warn":
            warnings.append(f"turn {turn}: {reason}")
    return results, warnings


def _asked_fields(
    transcript: Sequence[TurnTranscript], asked: Sequence[str | None] | None
) -> list[str | None]:
    """The field each assistant turn asked for: the simulator's reading, else the last prompt's."""
    found: list[str | None] = []
    for number, turn in enumerate(transcript):
        if asked is not None and number < len(asked):
            found.append(asked[number])
        else:
            prompts = prompted_fields(turn)
            found.append(prompts[-1] if prompts else None)
    return found


def never_asked(persona: Persona, answers: Sequence[Sequence[str]]) -> list[str]:
    """The persona's values it never gave: not asked for, not volunteered, not declined.

    Args:
        persona: The persona.
        answers: The fields each user turn gave values for (`SimulationInfo.answers`).
    """
    given = {name for answer in answers for name in answer}
    return [n for n in persona.values if n not in given and n not in persona.declines]


def fewest_turns(
    persona: Persona,
    answers: Sequence[Sequence[str]] | None,
    asked: Sequence[str | None] | None = None,
) -> int:
    """The fewest user turns the persona could have needed, counting the turns it cannot avoid.

    From the simulator's record: one per value it gave, less those its first message volunteers
    (at least one); plus one per `corrects` field the assistant asked for (the wrong value, then
    the correction, a message of its own); plus one when the session asked to confirm before
    submitting (a message that gives nothing, in reply to a turn that asks for no field: the
    simulator sends one only to say yes to a confirmation). A second confirmation is not counted:
    it is the target's extra turn. With no `answers` (no simulator record), one per value it does
    not decline, less the volunteered ones, plus one per correction; no confirmation is known.

    Args:
        persona: The persona.
        answers: The fields each user turn gave values for (`SimulationInfo.answers`).
        asked: The field each assistant turn asked for, as the simulator read it
            (`SimulationInfo.asked`), aligned with `answers`.
    """
    if answers is None:
        given = len(persona.values) - len(persona.declines)
        return max(1, given - persona.volunteers) + len(persona.corrects)
    given = len({name for answer in answers for name in answer})
    fields = list(asked or [])
    pairs = list(zip(fields, answers, strict=False))
    corrected = {name for name, gave in pairs if name in persona.corrects and name in gave}
    confirmed = any(name is None and not gave for name, gave in pairs)
    return max(1, given - persona.volunteers) + len(corrected) + (1 if confirmed else 0)


def _score_persona(
    persona: Persona,
    prefill: Mapping[str, Any],
    transcript: Sequence[TurnTranscript],
    simulation: SimulationInfo | None,
    strings: StringPolicy,
    policy: UnexpectedPolicy,
) -> tuple[list[FieldResult], list[CheckResult], list[str], dict[str, Any]]:
    """The verdicts of a persona conversation.

    The final state against the persona's values, fields asked again after they were
    extracted, and the turns taken. With the simulator's record, a value the persona never
    gave (the assistant never asked, nor did the person volunteer it) is not scored: it is
    reported as never asked.
    """
    asked = simulation.asked if simulation is not None else None
    answers = simulation.answers if simulation is not None else None
    state: dict[str, Any] = dict(prefill)
    seen: set[str] = set()
    reasks: list[tuple[int, str]] = []
    for number, (turn, field_asked) in enumerate(
        zip(transcript, _asked_fields(transcript, asked), strict=True)
    ):
        state.update(turn.current_values or {})
        values = extracted_values(turn)
        state.update(values)
        seen.update(values)
        if field_asked is not None and field_asked in seen:
            reasks.append((number, field_asked))
    fields: list[FieldResult] = []
    warnings: list[str] = []
    checks: list[CheckResult] = []
    never = never_asked(persona, answers) if answers is not None else []
    for name, value in persona.values.items():
        if name in never and name not in state:
            continue
        check = (
            Check(matcher="absent", value=True)
            if name in persona.declines
            else value.expect or Check(value=value.value)
        )
        fields.append(_field_result(name, check, state.get(name, MISSING), None, strings))
    if never:
        reason = f"never asked for {', '.join(never)}, so the persona did not give it"
        checks.append(CheckResult(check="never_asked", turn=None, passed=True, reason=reason))
    if policy != "ignore":
        for name in sorted(seen - set(persona.values) - set(prefill)):
            reason = f"extracted {show(state.get(name))} but the persona gives no {name}"
            fields.append(
                FieldResult(
                    field=name,
                    turn=None,
                    matcher="unexpected",
                    actual=state.get(name),
                    outcome="unexpected",
                    passed=policy != "fail",
                    score=0.0,
                    reason=reason,
                )
            )
            if policy == "warn":
                warnings.append(reason)
    if persona.re_asks != "ignore":
        for number, name in reasks:
            reason = f"{_where(number)} asked for {name} again after it was extracted"
            checks.append(
                CheckResult(
                    check="re_ask", turn=number, passed=persona.re_asks != "fail", reason=reason
                )
            )
            if persona.re_asks == "warn":
                warnings.append(reason)
    fewest = fewest_turns(persona, answers, asked)
    turns = max(0, len(transcript) - 1)
    checks.append(
        CheckResult(
            check="turns",
            turn=None,
            passed=True,
            reason=f"{turns} user turn(s); the fewest possible for this persona: {fewest}",
        )
    )
    return fields, checks, warnings, state


def score_conversation(
    conversation: Conversation,
    defaults: Defaults,
    transcript: Sequence[TurnTranscript],
    simulation: SimulationInfo | None = None,
) -> Score:
    """Score one conversation.

    A persona conversation is scored on its final state against the persona's values (a
    declined field must not be extracted), on fields asked again after they were extracted
    (`persona.re_asks`), on submission (expected unless `submitted: false`), and reports the
    turns taken.

    Args:
        conversation: The conversation as written in the suite.
        defaults: The suite's defaults (a conversation's own settings take precedence).
        transcript: Session creation first, then one entry per user turn. A shorter transcript
            (a conversation cut short) scores the missing turns as if nothing came back.
        simulation: For a persona conversation, what the simulator did: the field each
            assistant turn asked for as it understood it, and the fields it gave. Without it, a
            turn's last prompt `fieldTarget` counts as what it asked, and every value is scored.

    Returns:
        Every verdict, the final state and the overall status.
    """
    strings = conversation.strings or defaults.strings
    policy = conversation.unexpected_fields or defaults.unexpected_fields
    fields: list[FieldResult] = []
    checks: list[CheckResult] = []
    warnings: list[str] = transcript_warnings(transcript)
    state: dict[str, Any] = dict(conversation.prefill)
    if transcript:
        state.update(extracted_values(transcript[0]))
    for number, turn in enumerate(conversation.turns, start=1):
        record = transcript[number] if number < len(transcript) else None
        values = extracted_values(record) if record is not None else {}
        state.update(turn.set_values)
        state.update(values)
        if turn.expect is not None:
            for name, check in turn.expect.items():
                fields.append(
                    _field_result(name, check, values.get(name, MISSING), number, strings)
                )
            extra, notes = _unexpected(values, turn.expect, number, policy)
            fields += extra
            warnings += notes
        if turn.reply is not None:
            text = assistant_text(record) if record is not None else ""
            _, result = match(turn.reply, text, strings=strings)
            checks.append(
                CheckResult(check="reply", turn=number, passed=result.passed, reason=result.reason)
            )
        checks += _prompt_checks(turn, record, number)
    if conversation.persona is not None:
        found, more, notes, state = _score_persona(
            conversation.persona, conversation.prefill, transcript, simulation, strings, policy
        )
        fields += found
        checks += more
        warnings += notes
    for name, check in (conversation.final or {}).items():
        fields.append(_field_result(name, check, state.get(name, MISSING), None, strings))
    submitted = was_submitted(transcript)
    expected = conversation.submitted
    if expected is None and conversation.persona is not None:
        expected = True
    if expected is not None:
        passed = submitted == expected
        said = "a SUBMISSION arrived" if submitted else "no SUBMISSION arrived"
        wanted = "expected one" if expected else "expected none"
        checks.append(
            CheckResult(check="submitted", turn=None, passed=passed, reason=f"{said}; {wanted}")
        )
    if conversation.no_errors:
        errors = _errors(transcript)
        reason = "; ".join(errors) if errors else "no ERROR chunk in any turn"
        checks.append(CheckResult(check="no_errors", turn=None, passed=not errors, reason=reason))
    failed = any(not f.passed for f in fields) or any(not c.passed for c in checks)
    return Score(
        status="fail" if failed else "pass",
        fields=fields,
        checks=checks,
        warnings=warnings,
        final_state=state,
        submitted=submitted,
    )
