"""Pure comparison of two runs: what got worse, what got better, and whether it is beyond noise.

Conversations are paired by (suite, id, repeat). A pair whose outcome changed from pass to fail is
a *regression*, fail to pass a *fix*; a pair where either side is an `error` is set aside (it says
nothing about the target's quality). The exact McNemar test on the discordant pairs says whether
the change in pass rate is beyond what chance would give; Wilson intervals bound both rates.
Field accuracy, precision and recall are compared per field. `Comparison.verdict` is the one line
a person reads first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from pydantic import BaseModel, ConfigDict, Field

from evalkit.compare_diffs import Category, ConversationDifferences, category_counts
from evalkit.compare_diffs import conversation_differences as _differences
from evalkit.metrics import RepeatTally, add_field_verdicts, field_stats, mcnemar_exact, wilson
from evalkit.metrics.slots import SlotTally
from evalkit.results import (
    ConversationResult,
    FieldStats,
    Key,
    RunInfo,
    Status,
    conversation_label,
    in_key_order,
)
from evalkit.results.figures import SlotMetrics

__all__ = [
    "Change",
    "Comparison",
    "FieldDelta",
    "Matrix",
    "MatrixRow",
    "RunSide",
    "compare_matrix",
    "compare_runs",
]


class CompareModel(BaseModel):
    """Base of the comparison models."""

    model_config = ConfigDict(use_attribute_docstrings=True, frozen=True)


class Change(CompareModel):
    """One paired conversation (and repeat) and how its outcome moved."""

    suite: str
    """The suite's name."""
    conversation_id: str
    """The conversation's id."""
    repeat: int
    """The repeat."""
    base: Status | None
    """Its status in the baseline (None: not in the baseline)."""
    candidate: Status | None
    """Its status in the candidate (None: not in the candidate)."""
    reasons: list[str] = Field(default_factory=list)
    """Why the candidate failed, when it did (field: reason)."""

    @property
    def label(self) -> str:
        """`suite/id`, with `#repeat` when repeated."""
        return conversation_label(self.suite, self.conversation_id, self.repeat)


class FieldDelta(CompareModel):
    """One field's metrics in both runs."""

    field: str
    """The field target."""
    base_accuracy: float | None
    """Accuracy in the baseline."""
    candidate_accuracy: float | None
    """Accuracy in the candidate."""
    base_precision: float | None
    """Precision in the baseline."""
    candidate_precision: float | None
    """Precision in the candidate."""
    base_recall: float | None
    """Recall in the baseline."""
    candidate_recall: float | None
    """Recall in the candidate."""

    @property
    def accuracy_delta(self) -> float | None:
        """Candidate minus baseline accuracy, or None when either is unknown."""
        if self.base_accuracy is None or self.candidate_accuracy is None:
            return None
        return self.candidate_accuracy - self.base_accuracy


class RunSide(CompareModel):
    """One side of the comparison."""

    run_id: str
    """The run."""
    target: str
    """Target name and base URL."""
    passed: int
    """Paired conversations that passed."""
    decided: int
    """Paired conversations with a verdict."""
    pass_rate: float | None
    """passed / decided over the paired conversations."""
    pass_rate_ci: tuple[float, float] | None
    """Wilson 95% interval."""
    k: int = 1
    """The k of pass@k and pass^k (the run's fewest decided repeats of a conversation)."""
    pass_at_k: float | None = None
    """The run's pass@k (at least one of k repeats passes), when it repeated conversations."""
    pass_hat_k: float | None = None
    """The run's pass^k (all k repeats pass), when it repeated conversations."""
    slot_filling: dict[str, float | None] | None = None
    """Slot-filling figures over the paired conversations with a verdict (`SLOT_FIGURES`: joint
    and average goal accuracy, slot precision, recall and F1; docs/metrics.md); None when no
    turn of them was judged."""


SLOT_FIGURES = (
    "joint_goal_accuracy",
    "average_goal_accuracy",
    "precision",
    "recall",
    "f1",
)
"""The slot-filling figures a comparison puts side by side, in order."""


class Comparison(CompareModel):
    """Baseline against candidate."""

    base: RunSide
    """The baseline run."""
    candidate: RunSide
    """The candidate run."""
    regressions: list[Change]
    """pass → fail."""
    fixes: list[Change]
    """fail → pass."""
    still_failing: list[Change]
    """fail → fail."""
    errors: list[Change]
    """Pairs set aside because either side is an error."""
    new: list[Change]
    """In the candidate only."""
    removed: list[Change]
    """In the baseline only."""
    flaky: list[str]
    """`suite/id` of conversations that both passed and failed across repeats, in either run."""
    fields: list[FieldDelta]
    """Per-field metrics, sorted by field."""
    p_value: float
    """Exact McNemar p-value of regressions vs fixes."""
    alpha: float
    """Significance level of the verdict."""
    differences: list[ConversationDifferences] = Field(default_factory=list)
    """Typed differences of each paired conversation with a verdict in both runs that changed
    (evalkit.compare_diffs), in key order."""

    @property
    def difference_counts(self) -> dict[Category, int]:
        """How many field changes of each category, every category present, in order."""
        return category_counts(self.differences)

    @property
    def significant(self) -> bool:
        """The change in outcomes is beyond noise at `alpha`."""
        return self.p_value < self.alpha and bool(self.regressions or self.fixes)

    @property
    def regressed(self) -> bool:
        """A significant change for the worse."""
        return self.significant and len(self.regressions) > len(self.fixes)

    @property
    def delta_points(self) -> float | None:
        """Change in pass rate over the paired conversations, in percentage points."""
        if self.base.pass_rate is None or self.candidate.pass_rate is None:
            return None
        return 100 * (self.candidate.pass_rate - self.base.pass_rate)

    @property
    def verdict(self) -> str:
        """One line: how many regressions, the p-value, and whether it is beyond noise."""
        b, c = len(self.regressions), len(self.fixes)
        if b == 0 and c == 0:
            return "no conversation changed outcome"
        p = f"p = {self.p_value:.2g}"
        if self.significant:
            word = "regression" if b > c else "improvement"
            delta = self.delta_points or 0.0
            sign = "−" if delta < 0 else "+"
            return f"pass rate {sign}{abs(delta):.1f} points, {p}: {word}"
        counts = f"{b} regression{'s' if b != 1 else ''}, {c} fix{'es' if c != 1 else ''}"
        return f"{counts}, {p}: within noise"


def _side(info: RunInfo, passed: int, decided: int, slots: SlotMetrics | None) -> RunSide:
    return RunSide(
        run_id=info.run_id,
        target=f"{info.target.name} {info.target.base_url}".strip(),
        passed=passed,
        decided=decided,
        pass_rate=passed / decided if decided else None,
        pass_rate_ci=wilson(passed, decided),
        **(
            {
                "k": info.summary.k,
                "pass_at_k": info.summary.pass_at_k,
                "pass_hat_k": info.summary.pass_hat_k,
            }
            if info.summary.k > 1
            else {}
        ),
        slot_filling=(
            None if slots is None else {name: getattr(slots, name) for name in SLOT_FIGURES}
        ),
    )


def _pairs(
    base: Iterable[ConversationResult], cand: Iterable[ConversationResult]
) -> Iterator[tuple[Key, ConversationResult | None, ConversationResult | None]]:
    """Both runs' results joined on their key, in key order, holding one row of each at a time."""
    base_rows, cand_rows = in_key_order(base), in_key_order(cand)
    b, c = next(base_rows, None), next(cand_rows, None)
    while b is not None or c is not None:
        if c is None or (b is not None and b.key < c.key):
            assert b is not None
            yield b.key, b, None
            b = next(base_rows, None)
        elif b is None or c.key < b.key:
            yield c.key, None, c
            c = next(cand_rows, None)
        else:
            yield b.key, b, c
            b, c = next(base_rows, None), next(cand_rows, None)


def _change(key: Key, base: ConversationResult | None, cand: ConversationResult | None) -> Change:
    reasons: list[str] = []
    if cand is not None and cand.status == "fail":
        reasons = [f"{f.field}: {f.reason}" for f in cand.fields if not f.passed]
        reasons += [f"{c.check}: {c.reason}" for c in cand.checks if not c.passed]
    elif cand is not None and cand.error is not None:
        reasons = [f"{cand.error.kind}: {cand.error.message}"]
    return Change(
        suite=key[0],
        conversation_id=key[1],
        repeat=key[2],
        base=base.status if base else None,
        candidate=cand.status if cand else None,
        reasons=reasons,
    )


def compare_runs(
    base_info: RunInfo,
    base_results: Sequence[ConversationResult],
    cand_info: RunInfo,
    cand_results: Sequence[ConversationResult],
    *,
    alpha: float = 0.05,
) -> Comparison:
    """Compare a candidate run with a baseline run.

    Args:
        base_info: The baseline's metadata.
        base_results: The baseline's results.
        cand_info: The candidate's metadata.
        cand_results: The candidate's results.
        alpha: Significance level for the verdict.

    Returns:
        The comparison; nothing is printed or written.
    """
    buckets: dict[str, list[Change]] = {
        name: [] for name in ("regressions", "fixes", "still_failing", "errors", "new", "removed")
    }
    # One pass over both runs (each may be read from disk as it goes): paired counts, the
    # field stats of the paired results, and every conversation's statuses for flakiness.
    passed = [0, 0]
    decided = [0, 0]
    paired_fields: tuple[dict[str, FieldStats], dict[str, FieldStats]] = ({}, {})
    repeats = (RepeatTally(), RepeatTally())  # per run, for the flaky conversations
    slots = (SlotTally(base_info.forms), SlotTally(cand_info.forms))  # over the paired ones
    differences: list[ConversationDifferences] = []
    for key, b, c in _pairs(base_results, cand_results):
        for tally, side in zip(repeats, (b, c), strict=True):
            if side is not None:
                tally.add(side)
        if b is None or c is None:
            buckets["new" if b is None else "removed"].append(_change(key, b, c))
            continue
        if "error" in (b.status, c.status) or "skipped" in (b.status, c.status):
            buckets["errors"].append(_change(key, b, c))
            continue
        if (changed := _differences(b, c)) is not None:
            differences.append(changed)
        for number, side in enumerate((b, c)):
            passed[number] += side.status == "pass"
            decided[number] += 1
            add_field_verdicts(paired_fields[number], side)
            slots[number].add(side)
        pair = (b.status, c.status)
        if pair == ("pass", "fail"):
            buckets["regressions"].append(_change(key, b, c))
        elif pair == ("fail", "pass"):
            buckets["fixes"].append(_change(key, b, c))
        elif pair == ("fail", "fail"):
            buckets["still_failing"].append(_change(key, b, c))
    base_fields, cand_fields = paired_fields
    fields = []
    for name in sorted(base_fields.keys() | cand_fields.keys()):
        bf, cf = base_fields.get(name), cand_fields.get(name)
        fields.append(
            FieldDelta(
                field=name,
                base_accuracy=bf.accuracy if bf else None,
                candidate_accuracy=cf.accuracy if cf else None,
                base_precision=bf.precision if bf else None,
                candidate_precision=cf.precision if cf else None,
                base_recall=bf.recall if bf else None,
                candidate_recall=cf.recall if cf else None,
            )
        )
    flaky = sorted({f"{suite}/{cid}" for tally in repeats for suite, cid in tally.flaky()})
    return Comparison(
        base=_side(base_info, passed[0], decided[0], slots[0].metrics()),
        candidate=_side(cand_info, passed[1], decided[1], slots[1].metrics()),
        flaky=flaky,
        fields=fields,
        p_value=mcnemar_exact(len(buckets["regressions"]), len(buckets["fixes"])),
        alpha=alpha,
        differences=differences,
        **buckets,
    )


class MatrixRow(CompareModel):
    """One conversation (and repeat) across configurations."""

    suite: str
    """The suite's name."""
    conversation_id: str
    """The conversation's id."""
    repeat: int
    """The repeat."""
    statuses: list[Status | None]
    """Its status in each configuration, in column order (None: not run there)."""
    values: list[dict[str, object]]
    """Its final extracted state in each configuration."""

    @property
    def disagree(self) -> bool:
        """The configurations gave different verdicts."""
        return len({s for s in self.statuses if s is not None}) > 1

    @property
    def differing_fields(self) -> list[str]:
        """Fields whose final value differs between configurations."""
        names = sorted({name for state in self.values for name in state})
        return [n for n in names if len({repr(state.get(n)) for state in self.values}) > 1]


class Matrix(CompareModel):
    """The same suites against several configurations, side by side."""

    labels: list[str]
    """Configuration names, in column order."""
    run_ids: list[str]
    """The run of each configuration."""
    pass_rates: list[float | None]
    """Pass rate per configuration."""
    pass_rate_cis: list[tuple[float, float] | None]
    """Wilson 95% interval per configuration."""
    rows: list[MatrixRow]
    """Every conversation, sorted by (suite, id, repeat)."""
    field_accuracy: dict[str, list[float | None]]
    """Field → accuracy per configuration."""

    @property
    def disagreements(self) -> list[MatrixRow]:
        """Rows where the configurations' verdicts differ."""
        return [row for row in self.rows if row.disagree]


def compare_matrix(
    runs: Sequence[tuple[str, RunInfo, Sequence[ConversationResult]]],
) -> Matrix:
    """Lay several runs of the same suites side by side (one column per configuration).

    Args:
        runs: (label, metadata, results) per configuration, in the order of the columns.
    """
    # Per run only what a row shows (status and final values), read in one pass each.
    by_key = [
        {r.key: (r.status, dict(r.final_state)) for r in in_key_order(results)}
        for _, _, results in runs
    ]
    keys = sorted(set().union(*(k.keys() for k in by_key)))
    rows = [
        MatrixRow(
            suite=key[0],
            conversation_id=key[1],
            repeat=key[2],
            statuses=[column[key][0] if key in column else None for column in by_key],
            values=[column[key][1] if key in column else {} for column in by_key],
        )
        for key in keys
    ]
    stats = [field_stats(results) for _, _, results in runs]
    fields = sorted(set().union(*(s.keys() for s in stats)))
    return Matrix(
        labels=[label for label, _, _ in runs],
        run_ids=[info.run_id for _, info, _ in runs],
        pass_rates=[info.summary.pass_rate for _, info, _ in runs],
        pass_rate_cis=[info.summary.pass_rate_ci for _, info, _ in runs],
        rows=rows,
        field_accuracy={
            name: [s[name].accuracy if name in s else None for s in stats] for name in fields
        },
    )
