"""What the reports show of a comparison with a baseline run, and how extracted values differ.

`evalkit.compare.compare_runs` decides what regressed and whether it is beyond noise; this module
turns that `Comparison` into the report's view of it: the verdict, every list of changes with
stable anchors, the per-field metric deltas, and, when both runs' results are given, the
per-conversation diff of extracted values (baseline value against candidate value, field by field).

Everything here is already formatted text (the templates escape it), in a stable order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evalkit.compare import SLOT_FIGURES, Change, Comparison, FieldDelta
from evalkit.report.format import NONE, compact_json, percent
from evalkit.report.views import anchor
from evalkit.results import ConversationResult, lookup

__all__ = [
    "ConversationDiff",
    "FieldDeltaRow",
    "Regression",
    "RunComparison",
    "ValueDiff",
    "comparison_view",
    "expected_value",
    "field_outcome",
    "value_diffs",
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
    """One field of a conversation whose extracted value or verdict changed."""

    field: str
    """The field target."""
    expected: str
    """The expected value (compact JSON), or a dash when the field is not expected."""
    baseline: str
    """The baseline's final value (compact JSON), or a dash when it was not extracted."""
    candidate: str
    """The candidate's final value, or a dash."""
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
    """`regression`, `fix` or `still failing`."""
    rows: list[ValueDiff]
    """Fields that changed, by name."""
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
    """Per-conversation diffs of extracted values (empty without the baseline's results)."""
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


def _final(result: ConversationResult | None, name: str) -> str:
    if result is None or name not in result.final_state:
        return NONE
    return compact_json(result.final_state[name])


def value_diffs(
    base: ConversationResult | None, cand: ConversationResult | None
) -> tuple[list[ValueDiff], int]:
    """The fields of a conversation whose final value or verdict changed, and how many did not."""
    names: set[str] = set()
    for result in (base, cand):
        if result is not None:
            names |= set(result.final_state) | {f.field for f in result.fields}
    rows: list[ValueDiff] = []
    for name in sorted(names):
        row = ValueDiff(
            field=name,
            expected=expected_value([cand, base], name),
            baseline=_final(base, name),
            candidate=_final(cand, name),
            baseline_outcome=field_outcome(base, name),
            candidate_outcome=field_outcome(cand, name),
        )
        if (row.baseline, row.baseline_outcome) != (row.candidate, row.candidate_outcome):
            rows.append(row)
    return rows, len(names) - len(rows)


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


def comparison_view(
    comparison: Comparison,
    baseline: Sequence[ConversationResult] | None = None,
    candidate: Sequence[ConversationResult] | None = None,
) -> RunComparison:
    """What the reports show of a comparison computed by `evalkit.compare.compare_runs`.

    Args:
        comparison: The comparison.
        baseline: The baseline's results; with `candidate`, the view gets the per-conversation
            diff of extracted values of every regression, fix, and still-failing conversation
            whose values changed.
        candidate: The candidate's results (the run the report is of).

    Returns:
        The view, every list in (suite, id, repeat) order.
    """
    diffs: list[ConversationDiff] = []
    if baseline is not None and candidate is not None:
        base_by_key, cand_by_key = lookup(baseline), lookup(candidate)
        for kind, changes in (
            ("regression", comparison.regressions),
            ("fix", comparison.fixes),
            ("still failing", comparison.still_failing),
        ):
            for change, row in zip(changes, _rows(changes), strict=True):
                key = (change.suite, change.conversation_id, change.repeat)
                values, unchanged = value_diffs(base_by_key(key), cand_by_key(key))
                if values or kind != "still failing":
                    diffs.append(ConversationDiff(row, kind, values, unchanged))
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
        diffs=diffs,
        slots=_slot_rows(comparison),
    )
