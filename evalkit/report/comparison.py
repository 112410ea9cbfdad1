"""What the reports show of a comparison with a baseline run, and how extracted values differ.

`evalkit.compare.compare_runs` decides what regressed and whether it is beyond noise; this module
turns that `Comparison` into the report's view of it: the verdict, the counts of typed
differences per category (`evalkit.compare_diffs`), every list of changes with stable anchors,
the per-field metric deltas, and the per-conversation list of typed differences (baseline value
against candidate value, field by field).

Everything here is already formatted text (the templates escape it), in a stable order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evalkit.compare import SLOT_FIGURES, Change, Comparison, FieldDelta
from evalkit.compare_diffs import CATEGORIES, ConversationDifferences, FieldDifference
from evalkit.report.format import NONE, compact_json, percent
from evalkit.report.views import anchor
from evalkit.results import ConversationResult

__all__ = [
    "ConversationDiff",
    "FieldDeltaRow",
    "Regression",
    "RunComparison",
    "ValueDiff",
    "comparison_view",
    "expected_value",
    "field_outcome",
    "value_diff",
]


@dataclass(frozen=True)
class Regression:
    """A conversation whose status changed between the baseline and this run."""

    suite: str
    """The suite's name."""
    conversation_id: str
    """The conversation's id."""
    repeat: int
    """The repetition."""
    baseline: str
    """Its status in the baseline run (a dash when it was not there)."""
    status: str
    """Its status in this run (a dash when it is not here)."""
    reasons: tuple[str, ...] = ()
    """Why it fails (or errs) now, when it does: `field: reason`."""

    @property
    def anchor(self) -> str:
        """The conversation's stable anchor in this run's report."""
        return anchor(self.suite, self.conversation_id, self.repeat)

    @property
    def label(self) -> str:
        """`suite / id`, with the repeat when there is one."""
        tail = f" (repeat {self.repeat})" if self.repeat else ""
        return f"{self.suite} / {self.conversation_id}{tail}"


@dataclass(frozen=True)
class FieldDeltaRow:
    """One field's accuracy, precision and recall in both runs, as text."""

    field: str
    """The field target."""
    accuracy: tuple[str, str, str]
    """Baseline, candidate, and the change in points (empty when either is unknown)."""
    precision: tuple[str, str, str]
    """Baseline, candidate, and the change in points."""
    recall: tuple[str, str, str]
    """Baseline, candidate, and the change in points."""
    trend: str
    """`worse`, `better` or `same`, by accuracy (for styling)."""


@dataclass(frozen=True)
class ValueDiff:
    """One typed difference of a conversation: a field's change, or a question's."""

    category: str
    """`newly missing`, `newly extracted`, `value changed`, `expectation changed` or `question
    changed` (docs/metrics.md)."""
    field: str
    """The field target (a dash for a question whose prompt names none)."""
    where: str
    """Where it first differs: `greeting` (session creation), `turn N`, or `final`."""
    expected: str
    """The expected value (compact JSON), `old → new` when it was edited, or a dash."""
    baseline: str
    """The baseline's value there (compact JSON; the words, for a question), or a dash when it
    was not extracted."""
    candidate: str
    """The candidate's value there, or a dash."""
    baseline_outcome: str
    """The baseline's verdict on the field (correct, wrong, missing, unexpected), or a dash."""
    candidate_outcome: str
    """The candidate's verdict on the field, or a dash."""


@dataclass(frozen=True)
class ConversationDiff:
    """A changed conversation, with the fields whose value or verdict changed."""

    change: Regression
    """The conversation and its statuses."""
    kind: str
    """`regression`, `fix`, `still failing` or `still passing`."""
    rows: list[ValueDiff]
    """Its typed differences, by exchange then field (the final state last)."""
    unchanged: int
    """How many of its fields stayed the same."""


@dataclass(frozen=True)
class RunComparison:
    """What the report shows of a comparison with a baseline run (computed elsewhere)."""

    baseline_run_id: str
    """The run compared against."""
    baseline_pass_rate: float | None
    """The baseline's pass rate over the paired conversations."""
    regressions: list[Regression] = field(default_factory=list)
    """Conversations that passed in the baseline and fail now."""
    fixes: list[Regression] = field(default_factory=list)
    """Conversations that failed in the baseline and pass now."""
    verdict: str = ""
    """The comparison's verdict in words (e.g. whether a drop is beyond noise)."""
    tone: str = "same"
    """`regressed`, `improved` or `same` (for styling the verdict)."""
    candidate_pass_rate: float | None = None
    """The candidate's pass rate over the paired conversations (None: the run's own)."""
    baseline_interval: tuple[float, float] | None = None
    """Wilson 95% interval of the baseline's pass rate."""
    candidate_interval: tuple[float, float] | None = None
    """Wilson 95% interval of the candidate's pass rate."""
    p_value: float | None = None
    """Exact McNemar p-value of regressions against fixes."""
    alpha: float | None = None
    """Significance level of the verdict."""
    paired: int | None = None
    """Conversations with a verdict in both runs: the pass rates and the test are over these."""
    still_failing: list[Regression] = field(default_factory=list)
    """Failed in both runs."""
    errors: list[Regression] = field(default_factory=list)
    """Set aside: an error (or skip) in either run."""
    new: list[Regression] = field(default_factory=list)
    """Only in this run."""
    removed: list[Regression] = field(default_factory=list)
    """Only in the baseline."""
    flaky: list[str] = field(default_factory=list)
    """`suite/id` of conversations whose repeats both passed and failed, in either run."""
    fields: list[FieldDeltaRow] = field(default_factory=list)
    """Per-field metrics in both runs, by field."""
    repeats: (
        tuple[int, tuple[float | None, float | None], tuple[float | None, float | None]] | None
    ) = None
    """With repeats: k, then (pass@k, pass^k) of the baseline and of the candidate."""
    diffs: list[ConversationDiff] = field(default_factory=list)
    """Per-conversation typed differences: regressions, fixes, still failing, still passing
    (but for `reworded`)."""
    reworded: list[Regression] = field(default_factory=list)
    """Still passing, and only a question's wording changed: counted in `categories`, listed
    compactly after `diffs` so that real changes lead."""
    categories: list[tuple[str, int]] = field(default_factory=list)
    """How many typed differences of each category (every category, in order)."""
    slots: list[tuple[str, str, str, str]] = field(default_factory=list)
    """Slot-filling figures over the paired conversations: (name, baseline, candidate, points),
    when either side has them."""

    @property
    def moved_fields(self) -> list[FieldDeltaRow]:
        """Fields whose accuracy changed."""
        return [f for f in self.fields if f.trend != "same"]


def field_outcome(result: ConversationResult | None, name: str) -> str:
    """A conversation's verdict on one field: its first failing outcome, else its last one.

    A dash when the conversation is absent or has no verdict on the field.
    """
    if result is None:
        return NONE
    verdicts = [f for f in result.fields if f.field == name]
    failing = [f for f in verdicts if not f.passed]
    if failing:
        return failing[0].outcome
    return verdicts[-1].outcome if verdicts else NONE


def expected_value(results: Sequence[ConversationResult | None], name: str) -> str:
    """The value a field is expected to have at the end, from the first result that says.

    The final-state expectation wins over a per-turn one; a dash when no result expects the field.
    """
    for final in (True, False):
        for result in results:
            for verdict in result.fields if result is not None else ():
                if verdict.field != name or (verdict.turn is None) != final:
                    continue
                if verdict.outcome != "unexpected":
                    return compact_json(verdict.expected)
    return NONE


def _json(value: Any) -> str:
    return NONE if value is None else compact_json(value)


def value_diff(difference: FieldDifference) -> ValueDiff:
    """One typed difference as the reports show it (values as compact JSON, dashes for none)."""
    before, after = difference.before_expected, difference.after_expected
    expected = _json(after if after is not None else before)
    if before is not None and after is not None and compact_json(before) != compact_json(after):
        expected = f"{compact_json(before)} → {compact_json(after)}"
    question = difference.category == "question changed"
    return ValueDiff(
        category=difference.category,
        field=difference.field or NONE,
        where=difference.where,
        expected=expected,
        baseline=(difference.before or NONE) if question else _json(difference.before),
        candidate=(difference.after or NONE) if question else _json(difference.after),
        baseline_outcome=difference.before_outcome or NONE,
        candidate_outcome=difference.after_outcome or NONE,
    )


def _points(base: float | None, cand: float | None) -> str:
    if base is None or cand is None:
        return ""
    points = 100 * (cand - base)
    return "0.0" if abs(points) < 0.05 else f"{points:+.1f}"


def _delta_row(delta: FieldDelta) -> FieldDeltaRow:
    def triple(base: float | None, cand: float | None) -> tuple[str, str, str]:
        return percent(base), percent(cand), _points(base, cand)

    change = delta.accuracy_delta
    # Below half a tenth of a point the percentages read the same: call it unchanged.
    trend = (
        "same" if change is None or abs(change) < 0.0005 else "worse" if change < 0 else "better"
    )
    return FieldDeltaRow(
        field=delta.field,
        accuracy=triple(delta.base_accuracy, delta.candidate_accuracy),
        precision=triple(delta.base_precision, delta.candidate_precision),
        recall=triple(delta.base_recall, delta.candidate_recall),
        trend=trend,
    )


def _rows(changes: Sequence[Change]) -> list[Regression]:
    return [
        Regression(
            suite=c.suite,
            conversation_id=c.conversation_id,
            repeat=c.repeat,
            baseline=c.base or NONE,
            status=c.candidate or NONE,
            reasons=tuple(c.reasons),
        )
        for c in changes
    ]


def _repeats(
    comparison: Comparison,
) -> tuple[int, tuple[float | None, float | None], tuple[float | None, float | None]] | None:
    base, cand = comparison.base, comparison.candidate
    if base.pass_at_k is None and cand.pass_at_k is None:
        return None
    return (cand.k, (base.pass_at_k, base.pass_hat_k), (cand.pass_at_k, cand.pass_hat_k))


_SLOT_LABELS = {
    "joint_goal_accuracy": "Joint goal accuracy",
    "average_goal_accuracy": "Average goal accuracy",
    "precision": "Slot precision",
    "recall": "Slot recall",
    "f1": "Slot F1",
}


def _slot_rows(comparison: Comparison) -> list[tuple[str, str, str, str]]:
    base, cand = comparison.base.slot_filling, comparison.candidate.slot_filling
    if base is None and cand is None:
        return []
    rows: list[tuple[str, str, str, str]] = []
    for name in SLOT_FIGURES:
        b, c = (base or {}).get(name), (cand or {}).get(name)
        rows.append((_SLOT_LABELS[name], percent(b), percent(c), _points(b, c)))
    return rows


_KINDS = {
    ("pass", "fail"): "regression",
    ("fail", "pass"): "fix",
    ("fail", "fail"): "still failing",
    ("pass", "pass"): "still passing",
}
"""The kinds of changed conversation, in the order the reports list them."""


def _conversation(conversation: ConversationDifferences) -> Regression:
    return Regression(
        suite=conversation.suite,
        conversation_id=conversation.conversation_id,
        repeat=conversation.repeat,
        baseline=conversation.base,
        status=conversation.candidate,
    )


def _diffs(conversations: Sequence[ConversationDifferences]) -> list[ConversationDiff]:
    order = list(_KINDS.values())
    diffs = []
    for conversation in conversations:
        if conversation.reworded_only:
            continue
        kind = _KINDS[(conversation.base, conversation.candidate)]
        change = _conversation(conversation)
        rows = [value_diff(d) for d in conversation.differences]
        diffs.append(ConversationDiff(change, kind, rows, conversation.unchanged))
    return sorted(diffs, key=lambda d: order.index(d.kind))  # stable: key order within a kind


def comparison_view(comparison: Comparison) -> RunComparison:
    """What the reports show of a comparison computed by `evalkit.compare.compare_runs`.

    Args:
        comparison: The comparison, with its typed differences.

    Returns:
        The view: the counts per category of typed difference, then every list in (suite, id,
        repeat) order; the changed conversations grouped by kind (regressions first), but the
        still-passing ones whose only change is a question's wording, which are one list.
    """
    counts = comparison.difference_counts
    tone = "same"
    if comparison.significant:
        tone = "regressed" if comparison.regressed else "improved"
    return RunComparison(
        baseline_run_id=comparison.base.run_id,
        baseline_pass_rate=comparison.base.pass_rate,
        regressions=_rows(comparison.regressions),
        fixes=_rows(comparison.fixes),
        verdict=comparison.verdict,
        tone=tone,
        candidate_pass_rate=comparison.candidate.pass_rate,
        baseline_interval=comparison.base.pass_rate_ci,
        candidate_interval=comparison.candidate.pass_rate_ci,
        repeats=_repeats(comparison),
        p_value=comparison.p_value,
        alpha=comparison.alpha,
        paired=comparison.candidate.decided,
        still_failing=_rows(comparison.still_failing),
        errors=_rows(comparison.errors),
        new=_rows(comparison.new),
        removed=_rows(comparison.removed),
        flaky=list(comparison.flaky),
        fields=[_delta_row(d) for d in comparison.fields],
        diffs=_diffs(comparison.differences),
        reworded=[_conversation(c) for c in comparison.differences if c.reworded_only],
        categories=[(name, counts[name]) for name in CATEGORIES],
        slots=_slot_rows(comparison),
    )
