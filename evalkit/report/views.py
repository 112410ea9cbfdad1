"""The view of a run that every report renders, and the optional inputs a report may get.

Conversations with their anchors, the headline, the worst-first order of problems, flaky
conversations; a comparison with a baseline (`comparison`) and the run history come from
elsewhere.

Views are pure functions of `RunInfo` and the results (and of the optional inputs): no clock, no
environment, a stable order, so the same run always renders to the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote

from evalkit.report.format import NONE, compact_json, seconds, turn_label, wilson_interval
from evalkit.report.transcript import TurnView, describe_attempts, turn_views
from evalkit.results import CheckResult, ConversationResult, FieldResult, RunInfo, sorted_results

__all__ = [
    "ConversationView",
    "FieldRow",
    "TrendPoint",
    "anchor",
    "conversation_views",
    "flaky_keys",
    "latency_table",
    "pass_rate_interval",
    "verdict",
    "worst_first",
]

_LATENCY_ROWS = ("first_chunk", "first_data", "turn")
_LATENCY_COLUMNS = ("p50", "p95", "max")


@dataclass(frozen=True)
class TrendPoint:
    """One earlier run on the pass-rate trend (from the run history, when there is one)."""

    run_id: str
    """The run."""
    started_at: str
    """When it started (ISO-8601 UTC)."""
    pass_rate: float | None
    """Its pass rate, or None when it evaluated nothing."""


@dataclass(frozen=True)
class FieldRow:
    """A field verdict, with its values already rendered as compact JSON."""

    turn: str
    """The turn number, or `final`."""
    field: str
    """The field target."""
    outcome: str
    """correct, wrong, missing or unexpected."""
    matcher: str
    """The matcher that judged it."""
    expected: str
    """The expected value, or a dash for an unexpected field."""
    actual: str
    """The extracted value, or a dash for a missing one."""
    reason: str
    """Why it passed or failed."""
    passed: bool
    """Whether the check holds."""


@dataclass(frozen=True)
class ConversationView:
    """A conversation as the reports show it."""

    anchor: str
    """Its stable link target, `suite/id/repeat` with each part percent-encoded."""
    result: ConversationResult
    """The result as stored."""
    fields: list[FieldRow]
    """Every field verdict, per turn then final."""
    failing_fields: list[FieldRow]
    """Field verdicts that did not hold."""
    failing_checks: list[CheckResult]
    """Other checks that did not hold."""
    user_turns: int
    """How many user turns were sent."""
    flaky: bool
    """Whether its repeats both passed and failed."""
    restarts: list[str] = field(default_factory=list)
    """Sessions abandoned and restarted (a stream broke after it began), in words."""

    @cached_property
    def turns(self) -> list[TurnView]:
        """The transcript (built on first use: the Markdown report never needs it)."""
        return turn_views(self.result.transcript)

    @property
    def badness(self) -> int:
        """How much went wrong: failing field verdicts and checks."""
        return len(self.failing_fields) + len(self.failing_checks)


def anchor(suite: str, conversation_id: str, repeat: int) -> str:
    """The stable anchor of a conversation: `suite/id/repeat`, each part percent-encoded.

    Encoding keeps the anchor to URL-safe ASCII, so it is the same string in an `id` attribute,
    in a link and in the address bar, whatever characters a suite name holds.
    """
    return "/".join(quote(part, safe="-._~") for part in (suite, conversation_id, str(repeat)))


def _field_row(result: FieldResult) -> FieldRow:
    return FieldRow(
        turn=turn_label(result.turn),
        field=result.field,
        outcome=result.outcome,
        matcher=result.matcher,
        expected=NONE if result.outcome == "unexpected" else compact_json(result.expected),
        actual=NONE if result.outcome == "missing" else compact_json(result.actual),
        reason=result.reason or NONE,
        passed=result.passed,
    )


def flaky_keys(results: Sequence[ConversationResult]) -> set[tuple[str, str]]:
    """(suite, id) of conversations whose repeats both passed and failed."""
    statuses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for result in results:
        statuses[(result.suite, result.conversation_id)].add(result.status)
    return {key for key, seen in statuses.items() if {"pass", "fail"} <= seen}


def conversation_views(results: Sequence[ConversationResult]) -> list[ConversationView]:
    """The views of a run's conversations, in (suite, id, repeat) order."""
    flaky = flaky_keys(results)
    views = []
    for result in sorted_results(results):
        # Final-state verdicts after the per-turn ones, then by field name: stable and readable.
        ordered = sorted(result.fields, key=lambda f: (f.turn is None, f.turn or 0, f.field))
        rows = [_field_row(f) for f in ordered]
        views.append(
            ConversationView(
                anchor=anchor(result.suite, result.conversation_id, result.repeat),
                result=result,
                fields=rows,
                failing_fields=[row for row in rows if not row.passed],
                failing_checks=[c for c in result.checks if not c.passed],
                user_turns=sum(1 for turn in result.transcript if turn.user is not None),
                flaky=(result.suite, result.conversation_id) in flaky,
                restarts=describe_attempts(result.restarts),
            )
        )
    return views


def worst_first(views: Sequence[ConversationView]) -> list[ConversationView]:
    """Errors, then failures, each with the most failing verdicts first, then by key."""
    problems = [v for v in views if v.result.status in ("error", "fail")]
    return sorted(problems, key=lambda v: (v.result.status != "error", -v.badness, v.result.key))


def latency_table(latency: dict[str, float]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Group `<measure>_<statistic>` keys into a table: columns, then (label, cells) rows."""
    grouped: dict[str, dict[str, float]] = {}
    for key, value in latency.items():
        measure, _, statistic = key.rpartition("_")
        grouped.setdefault(measure or key, {})[statistic] = value
    statistics = {s for stats in grouped.values() for s in stats}
    columns = [c for c in _LATENCY_COLUMNS if c in statistics]
    columns += sorted(statistics - set(_LATENCY_COLUMNS))
    known = [m for m in _LATENCY_ROWS if m in grouped]
    measures = known + sorted(set(grouped) - set(known))
    rows = [
        (
            measure.replace("_", " ").capitalize(),
            [seconds(grouped[measure].get(column)) for column in columns],
        )
        for measure in measures
    ]
    return columns, rows


def verdict(info: RunInfo) -> tuple[str, str]:
    """The run's one-word status (for styling) and its headline."""
    s = info.summary
    unevaluated = f"{s.errors} could not be evaluated"
    if s.failed:
        headline = f"{s.failed} of {s.total} conversations failed"
        return "fail", headline + (f"; {unevaluated}" if s.errors else "")
    if s.errors:
        return "error", f"{unevaluated} of {s.total} conversations; none failed"
    if s.passed:
        return "pass", f"all {s.passed} evaluated conversations passed"
    return "skipped", "no conversation was evaluated"


def pass_rate_interval(info: RunInfo) -> tuple[float, float] | None:
    """The 95% Wilson interval of the run's pass rate (errors excluded), or None."""
    s = info.summary
    return wilson_interval(s.passed, s.passed + s.failed)
