"""Pure scoring: a conversation's expectations × its transcript → field and check verdicts.

No I/O and no clock: the same transcript and suite always give the same verdicts, which is what
lets a stored run be re-scored offline with edited expectations.

What is compared:

* a turn's `expect` with the TEXT_DATA values extracted in that turn (by `fieldTarget`; when a
  field arrives twice in one turn, the last value counts);
* `final` with the accumulated state: prefill, then per turn its `set` values and its extractions,
  last write wins;
* `reply` with the assistant's text of that turn (TEXT and IMPORTANT_TEXT chunks, joined);
* `submitted` with whether any SUBMISSION chunk arrived.

A field extracted in a turn that has an `expect` block but not named there is *unexpected*: under
the policy `fail` it fails the conversation, under `warn` it is recorded with a warning, under
`ignore` it is not recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from evalkit.matchers import MISSING, match, show
from evalkit.results import CheckResult, FieldOutcome, FieldResult, TurnTranscript
from evalkit.suite import Check, Conversation, Defaults, StringPolicy, UnexpectedPolicy

__all__ = ["Score", "assistant_text", "extracted_values", "score_conversation", "was_submitted"]


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
        details = chunk.get("textDataDetails") or {}
        target = details.get("fieldTarget")
        if isinstance(target, str) and target:
            values[target] = details.get("value")
    return values


def assistant_text(turn: TurnTranscript) -> str:
    """The assistant's words in one turn: TEXT and IMPORTANT_TEXT chunks joined by spaces."""
    parts: list[str] = []
    for chunk in turn.chunks:
        kind = chunk.chunk.get("chunkType")
        if kind == "TEXT":
            parts.append(str((chunk.chunk.get("textDetails") or {}).get("text", "")))
        elif kind == "IMPORTANT_TEXT":
            parts.append(str((chunk.chunk.get("importantTextDetails") or {}).get("text", "")))
    return " ".join(p for p in parts if p)


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


def score_conversation(
    conversation: Conversation, defaults: Defaults, transcript: Sequence[TurnTranscript]
) -> Score:
    """Score one conversation.

    Args:
        conversation: The conversation as written in the suite.
        defaults: The suite's defaults (a conversation's own settings take precedence).
        transcript: Session creation first, then one entry per user turn. A shorter transcript
            (a conversation cut short) scores the missing turns as if nothing came back.

    Returns:
        Every verdict, the final state and the overall status.
    """
    strings = conversation.strings or defaults.strings
    policy = conversation.unexpected_fields or defaults.unexpected_fields
    fields: list[FieldResult] = []
    checks: list[CheckResult] = []
    warnings: list[str] = []
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
    for name, check in (conversation.final or {}).items():
        fields.append(_field_result(name, check, state.get(name, MISSING), None, strings))
    submitted = was_submitted(transcript)
    if conversation.submitted is not None:
        passed = submitted == conversation.submitted
        said = "a SUBMISSION arrived" if submitted else "no SUBMISSION arrived"
        wanted = "expected one" if conversation.submitted else "expected none"
        checks.append(
            CheckResult(check="submitted", turn=None, passed=passed, reason=f"{said}; {wanted}")
        )
    failed = any(not f.passed for f in fields) or any(not c.passed for c in checks)
    return Score(
        status="fail" if failed else "pass",
        fields=fields,
        checks=checks,
        warnings=warnings,
        final_state=state,
        submitted=submitted,
    )
