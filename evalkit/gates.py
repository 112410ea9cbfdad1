"""Gates: the thresholds a run must meet, and the verdict (exit code and reasons) they give.

Pure: a verdict is computed from `run.json`'s summary and, when there is one, the comparison with
a baseline. Every entry point (the CLI, the Python API, the pytest plugin) gets the same verdict
for the same run from `evaluate_gates`.

Verdict codes are the CLI's exit codes::

    EXIT_OK           0    every gate met
    EXIT_FAILED       1    failures, or regressions beyond the gates
    EXIT_USAGE        2    bad input or usage (never a verdict; for the CLI)
    EXIT_INCOMPLETE   3    the run could not measure enough (error rate above the gate)
    EXIT_INTERRUPTED  130  the run was interrupted; `--resume` finishes it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from evalkit.errors import UsageError

if TYPE_CHECKING:  # annotations only: the CLI reads the exit codes here without loading models
    from evalkit.compare import Comparison
    from evalkit.results import RunInfo

__all__ = [
    "EXIT_FAILED",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Gates",
    "Verdict",
    "evaluate_gates",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass(frozen=True)
class Gates:
    """The thresholds a run must meet; a threshold of None is not checked.

    Usage::

        verdict = evaluate_gates(info, Gates(fail_under=0.95), comparison=None)
        sys.exit(verdict.code)
    """

    fail_under: float | None = None
    """Lowest acceptable pass rate; None: every conversation must pass."""
    max_regressions: int | None = None
    """Most regressions against the baseline accepted."""
    alpha: float = 0.05
    """Significance level of the regression verdict."""
    max_error_rate: float = 0.05
    """Highest share of conversations that may end in error before the run counts as unmeasured."""
    min_coverage: float | None = None
    """Lowest acceptable coverage the run observed of its forms (`Summary.coverage`)."""

    def __post_init__(self) -> None:
        for name in ("fail_under", "max_error_rate", "min_coverage"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                hint = f"; did you mean {value / 100:g} ({value:g}%)?" if 1 < value <= 100 else ""
                raise UsageError(f"{name} is a rate between 0 and 1, got {value:g}{hint}")


class Verdict(NamedTuple):
    """What the gates say of a run: a code (the CLI's exit code) and the reasons, worst first.

    A pair, so `code, reasons = evaluate_gates(...)` works.
    """

    code: int
    """`EXIT_OK`, `EXIT_FAILED`, `EXIT_INCOMPLETE` or `EXIT_INTERRUPTED`."""
    reasons: tuple[str, ...]
    """Why, in words; `("all gates met",)` when the code is `EXIT_OK`."""

    @property
    def met(self) -> bool:
        """Whether every gate was met."""
        return self.code == EXIT_OK


def evaluate_gates(info: RunInfo, gates: Gates, comparison: Comparison | None) -> Verdict:
    """The verdict, worst first: 3 cannot measure, 1 a gate failed, 0 all met.

    Without `fail_under`, every conversation must pass; with it, the pass rate must reach it.
    """
    summary = info.summary
    if summary.error_rate is not None and summary.error_rate > gates.max_error_rate:
        return Verdict(
            EXIT_INCOMPLETE,
            (
                f"error rate {summary.error_rate:.1%} is above --max-error-rate "
                f"{gates.max_error_rate:.1%}: the run could not measure enough",
            ),
        )
    failed: list[str] = []
    rate = summary.pass_rate
    if gates.fail_under is not None:
        if rate is None or rate < gates.fail_under:
            shown = "—" if rate is None else f"{rate:.1%}"
            failed.append(f"pass rate {shown} is under --fail-under {gates.fail_under:.1%}")
    elif summary.failed:
        failed.append(f"{summary.failed} conversation(s) failed")
    if gates.min_coverage is not None:
        failed += _coverage_gate(info, gates.min_coverage)
    if comparison is not None:
        count = len(comparison.regressions)
        if gates.max_regressions is not None and count > gates.max_regressions:
            failed.append(
                f"{count} regression(s), more than --max-regressions {gates.max_regressions}"
            )
        if comparison.regressed:
            failed.append(f"significant regression against the baseline: {comparison.verdict}")
    if failed:
        return Verdict(EXIT_FAILED, tuple(failed))
    return Verdict(EXIT_OK, ("all gates met",))


_LISTED = 20
"""Uncovered items a coverage gate's reason lists before it says how many more there are."""


def _coverage_gate(info: RunInfo, minimum: float) -> list[str]:
    """The coverage gate's reason, listing the uncovered items; empty when it is met."""
    coverage = info.summary.coverage
    rate = coverage.overall.rate if coverage is not None else None
    if coverage is None or rate is None:
        return [
            f"no coverage to check against --min-coverage {minimum:.1%}: the run records no form"
        ]
    if rate >= minimum:
        return []
    gaps = coverage.uncovered()
    listed = "; ".join(gaps[:_LISTED]) + (
        f"; and {len(gaps) - _LISTED} more" if len(gaps) > _LISTED else ""
    )
    return [f"coverage {rate:.1%} is under --min-coverage {minimum:.1%}; uncovered: {listed}"]
