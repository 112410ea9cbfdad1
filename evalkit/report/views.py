"""The view of a run that every report renders, and the optional inputs a report may get.

Conversations with their anchors, the headline, the worst-first order of problems, flaky
conversations; a comparison with a baseline (`comparison`) and the run history come from
elsewhere.

Views are pure functions of `RunInfo` and the results (and of the optional inputs): no clock, no
environment, a stable order, so the same run always renders to the same bytes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from functools import cached_property
from itertools import groupby
from typing import overload
from urllib.parse import quote

from evalkit.metrics import RepeatTally
from evalkit.report.format import NONE, compact_json, seconds, turn_label, wilson_interval
from evalkit.report.personas import PersonaView, persona_view
from evalkit.report.transcript import TurnView, describe_attempts, turn_views
from evalkit.results import (
    CheckResult,
    ConversationResult,
    FieldResult,
    RunInfo,
    by_key,
)

__all__ = [
    "ConversationView",
    "FieldRow",
    "LazyViews",
    "ProblemGroup",
    "RunDigest",
    "TrendPoint",
    "WarningRow",
    "anchor",
    "conversation_view",
    "digest",
    "flaky_keys",
    "latency_table",
    "pass_rate_interval",
    "verdict",
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
    def persona(self) -> PersonaView | None:
        """For a persona conversation: who was simulated and each question with its answer."""
        return persona_view(self.result)

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


def flaky_keys(results: Iterable[ConversationResult]) -> set[tuple[str, str]]:
    """(suite, id) of conversations whose repeats both passed and failed."""
    tally = RepeatTally()
    for result in results:
        tally.add(result)
    return tally.flaky()


def conversation_view(result: ConversationResult, *, flaky: bool) -> ConversationView:
    """The view of one conversation (whose repeats both passed and failed, when `flaky`)."""
    # Final-state verdicts after the per-turn ones, then by field name: stable and readable.
    ordered = sorted(result.fields, key=lambda f: (f.turn is None, f.turn or 0, f.field))
    rows = [_field_row(f) for f in ordered]
    return ConversationView(
        anchor=anchor(result.suite, result.conversation_id, result.repeat),
        result=result,
        fields=rows,
        failing_fields=[row for row in rows if not row.passed],
        failing_checks=[c for c in result.checks if not c.passed],
        user_turns=sum(1 for turn in result.transcript if turn.user is not None),
        flaky=flaky,
        restarts=describe_attempts(result.restarts),
    )


@dataclass(frozen=True)
class WarningRow:
    """A warning of a conversation, with what the reports show of its conversation."""

    anchor: str
    """The conversation's anchor."""
    suite: str
    """Its suite."""
    conversation_id: str
    """Its id."""
    repeat: int
    """Its repeat."""
    status: str
    """Its status."""
    text: str
    """The warning."""


class LazyViews(Sequence[ConversationView]):
    """Views of some of a run's results, built when used (a slice is lazy too).

    Args:
        results: The run's results, in (suite, id, repeat) order.
        positions: Which of them, in the order to show them.
        flaky: (suite, id) of the flaky conversations.
    """

    def __init__(
        self,
        results: Sequence[ConversationResult],
        positions: list[int],
        flaky: Set[tuple[str, str]],
    ) -> None:
        self._results = results
        self._positions = positions
        self._flaky = flaky

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, item: int) -> ConversationView: ...

    @overload
    def __getitem__(self, item: slice) -> LazyViews: ...

    def __getitem__(self, item: int | slice) -> ConversationView | LazyViews:
        if isinstance(item, slice):
            return LazyViews(self._results, self._positions[item], self._flaky)
        return self._view(self._results[self._positions[item]])

    def __iter__(self) -> Iterator[ConversationView]:
        for position in self._positions:
            yield self._view(self._results[position])

    def _view(self, result: ConversationResult) -> ConversationView:
        return conversation_view(
            result, flaky=(result.suite, result.conversation_id) in self._flaky
        )


@dataclass(frozen=True)
class ProblemGroup:
    """A conversation's failed (or errored) repeats, shown once in the failure list.

    A conversation that ran once is a group of one, shown as it always was; one that ran N
    times says how many of them went wrong (`failed 3 of 3`), its repeats beneath.
    """

    status: str
    """fail or error: failed and errored repeats of one conversation are two groups."""
    runs: int
    """How many times the conversation ran (all its repeats, whatever their status)."""
    count: int
    """How many of them have this status (the report may show fewer, to keep within a size)."""
    repeats: list[ConversationView]
    """Its repeats with this status that the report shows, worst first."""

    @property
    def first(self) -> ConversationView:
        """The worst of its repeats."""
        return self.repeats[0]

    @property
    def repeated(self) -> bool:
        """Whether the conversation ran more than once (and is shown as a group)."""
        return self.runs > 1

    @property
    def anchor(self) -> str:
        """The group's link target: `suite/id`, each part percent-encoded."""
        result = self.first.result
        return "/".join(quote(part, safe="-._~") for part in (result.suite, result.conversation_id))

    @property
    def share(self) -> str:
        """How many of its runs went wrong: `failed 3 of 3`, `error in 1 of 3`."""
        verb = "failed" if self.status == "fail" else "error in"
        return f"{verb} {self.count} of {self.runs}"


@dataclass(frozen=True)
class RunDigest:
    """What the reports need of a run's results, gathered in one pass over them.

    Problems are positions into the results, turned into views only when a report shows them:
    a report of any size holds the views it renders, not the run.
    """

    results: Sequence[ConversationResult]
    """The results, in (suite, id, repeat) order."""
    flaky: frozenset[tuple[str, str]]
    """(suite, id) of the conversations whose repeats both passed and failed."""
    problems: LazyViews
    """Errors, then failures, each with the most failing verdicts first, then by key; the
    repeats of a conversation with one status together, at the place of the worst of them."""
    errors: LazyViews
    """The errors among them."""
    failures: LazyViews
    """The failures among them."""
    warnings: list[WarningRow]
    """Every warning, in result order."""
    suites: list[str]
    """Suite names seen, sorted."""
    tags: list[str]
    """Tags seen, sorted."""
    fields: list[str]
    """Fields with a verdict, sorted."""
    first_chunk_s: Sequence[float]
    """Seconds to the first chunk of every exchange that had one."""
    turn_s: Sequence[float]
    """Seconds of every exchange."""
    repeats: int
    """Repeats per conversation: the highest repeat number plus one (1 for no results)."""
    runs: dict[tuple[str, str], int] = field(default_factory=dict)
    """(suite, id) → how many times that conversation ran."""
    outcomes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(status, suite, id) → how many of its runs have that status."""

    def by_conversation(self, views: Iterable[ConversationView]) -> Iterator[ProblemGroup]:
        """Group problems by conversation and status, a group at a time.

        Lazy, as reports render a run of any size: a group holds only its own views.
        `problems` keeps the repeats of a conversation with one status next to each other (at
        the place of its worst one), so a slice of it groups the same way, cut short at most in
        its last group; views of one conversation that are not next to each other make two
        groups.

        Args:
            views: Problems of this run, e.g. a slice of `problems`.

        Yields:
            One group per conversation and status, with its views in the order given.
        """

        def key(view: ConversationView) -> tuple[str, str, str]:
            return (view.result.status, view.result.suite, view.result.conversation_id)

        for (status, suite, cid), members in groupby(views, key=key):
            shown = list(members)
            yield ProblemGroup(
                status=status,
                runs=self.runs.get((suite, cid), len(shown)),
                count=self.outcomes.get((status, suite, cid), len(shown)),
                repeats=shown,
            )


def digest(results: Sequence[ConversationResult]) -> RunDigest:
    """Gather what the reports need from `results` (in any order), reading each result once.

    Problems are errors, then failures, the worst first; the repeats of one conversation that
    went wrong the same way stay together, at the place of the worst of them.
    """
    ordered = by_key(results)
    repeats = RepeatTally()
    problems: list[tuple[tuple[int, tuple[str, str, int]], int]] = []
    runs: dict[tuple[str, str], int] = {}
    outcomes: dict[tuple[str, str, str], int] = {}
    best: dict[tuple[str, str, str], tuple[int, tuple[str, str, int]]] = {}
    warnings: list[WarningRow] = []
    suites: set[str] = set()
    tags: set[str] = set()
    fields: set[str] = set()
    first, total = array("d"), array("d")
    highest = 0
    for position, r in enumerate(ordered):
        repeats.add(r)
        runs[r.suite, r.conversation_id] = runs.get((r.suite, r.conversation_id), 0) + 1
        suites.add(r.suite)
        tags.update(r.tags)
        fields.update(f.field for f in r.fields)
        highest = max(highest, r.repeat)
        for turn in r.transcript:
            total.append(turn.total_s)
            if turn.first_chunk_s is not None:
                first.append(turn.first_chunk_s)
        if r.status in ("error", "fail"):
            badness = sum(not f.passed for f in r.fields) + sum(not c.passed for c in r.checks)
            order = (-badness, r.key)
            problems.append((order, position))
            group = (r.status, r.suite, r.conversation_id)
            outcomes[group] = outcomes.get(group, 0) + 1
            best[group] = min(best.get(group, order), order)
        if r.warnings:
            where = anchor(r.suite, r.conversation_id, r.repeat)
            warnings.extend(
                WarningRow(where, r.suite, r.conversation_id, r.repeat, r.status, text)
                for text in r.warnings
            )
    flaky = frozenset(repeats.flaky())
    # Errors first; then each group (a conversation's repeats of one status) at the place of
    # its worst, and within it the worst first. A group of one sorts as (-badness, key).

    def rank(item: tuple[tuple[int, tuple[str, str, int]], int]) -> tuple[object, ...]:
        order, position = item
        r = ordered[position]
        return (r.status != "error", best[r.status, r.suite, r.conversation_id], order)

    problems.sort(key=rank)
    worst = [position for (_, position) in problems]
    errors = [position for (_, position) in problems if ordered[position].status == "error"]
    return RunDigest(
        results=ordered,
        flaky=flaky,
        problems=LazyViews(ordered, worst, flaky),
        errors=LazyViews(ordered, errors, flaky),
        failures=LazyViews(ordered, worst[len(errors) :], flaky),
        warnings=warnings,
        suites=sorted(suites),
        tags=sorted(tags),
        fields=sorted(fields),
        first_chunk_s=first,
        turn_s=total,
        repeats=highest + 1,
        runs=runs,
        outcomes=outcomes,
    )


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
    """The run's one-word status (for styling) and its headline (which says if it is incomplete)."""
    status, headline = _verdict(info)
    if info.interrupted:
        headline = f"incomplete run, {headline} so far (evalkit run --resume finishes it)"
    return status, headline


def _verdict(info: RunInfo) -> tuple[str, str]:
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
