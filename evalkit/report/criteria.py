"""Acceptance criteria of a sign-off: `pass_rate>=0.95`, `failed==0`, `accuracy.email>=90%`.

A criterion names a measure of the run, a comparison and a threshold. Measures:

- `pass_rate`, `error_rate`: rates in [0, 1] (a threshold may be written `95%`);
- `pass_rate_low`: the lower end of the pass rate's 95% Wilson interval, for "at least 95%, and
  not by luck";
- `total`, `passed`, `failed`, `errors`, `skipped`, `flaky`: counts;
- any latency statistic of the summary, in seconds: `turn_p95`, `first_chunk_max`, …;
- `accuracy.<field>`: a field's accuracy.

A criterion whose measure does not exist in the run (no pass rate because nothing was evaluated,
a field never checked) is *not met*: a sign-off cannot rest on a number that was not measured.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evalkit.errors import UsageError
from evalkit.report.format import percent, seconds, wilson_interval
from evalkit.report.views import flaky_keys
from evalkit.results import ConversationResult, RunInfo

__all__ = ["Criterion", "CriterionResult", "evaluate_criteria", "parse_criterion"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_SYNTAX = re.compile(
    r"^\s*(?P<measure>[A-Za-z_][\w.\-]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[-+]?[\d.]+)(?P<pct>%?)\s*$"
)
_COUNTS = ("total", "passed", "failed", "errors", "skipped", "flaky")
_RATES = ("pass_rate", "error_rate", "pass_rate_low")


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion."""

    measure: str
    """What is measured (see the module docstring)."""
    op: str
    """The comparison: >=, <=, ==, !=, > or <."""
    threshold: float
    """The value compared against (a percentage is stored as a 0–1 rate)."""
    text: str
    """The criterion as written."""


@dataclass(frozen=True)
class CriterionResult:
    """A criterion applied to a run."""

    criterion: Criterion
    """The criterion."""
    actual: str
    """The measured value, formatted, or a dash when it was not measured."""
    met: bool
    """Whether it holds (never, when the measure was not measured)."""


def parse_criterion(text: str) -> Criterion:
    """Parse `measure OP value`, e.g. `pass_rate>=0.95`, `failed==0`, `accuracy.email>=90%`.

    Raises:
        UsageError: The text is not a criterion, or names no known measure.
    """
    match = _SYNTAX.match(text)
    if not match:
        raise UsageError(f"criterion {text!r}: expected MEASURE OP VALUE, e.g. pass_rate>=0.95")
    measure = match["measure"]
    known = measure in _COUNTS or measure in _RATES or measure.startswith("accuracy.")
    if not known and not re.fullmatch(r"(first_chunk|first_data|turn)_(p\d+|max|min)", measure):
        names = ", ".join([*_RATES, *_COUNTS, "accuracy.<field>", "turn_p95", "first_chunk_p95"])
        raise UsageError(f"criterion {text!r}: unknown measure {measure!r}; known: {names}")
    try:
        value = float(match["value"])
    except ValueError as exc:
        raise UsageError(f"criterion {text!r}: {match['value']!r} is not a number") from exc
    if match["pct"]:
        value /= 100
    return Criterion(measure, match["op"], value, text.strip())


def _measure(
    measure: str, info: RunInfo, results: Sequence[ConversationResult]
) -> tuple[float | None, str]:
    """The value of a measure in a run, and how to show it."""
    s = info.summary
    if measure in _COUNTS:
        count = len(flaky_keys(results)) if measure == "flaky" else getattr(s, measure)
        return float(count), str(count)
    rate: float | None
    if measure == "pass_rate_low":
        interval = wilson_interval(s.passed, s.passed + s.failed)
        rate = interval[0] if interval else None
    elif measure in _RATES:
        rate = getattr(s, measure)
    elif measure.startswith("accuracy."):
        stats = s.fields.get(measure.removeprefix("accuracy."))
        rate = stats.accuracy if stats else None
    else:
        latency = s.latency.get(measure)
        return latency, seconds(latency)
    return rate, percent(rate)


def evaluate_criteria(
    criteria: Sequence[Criterion], info: RunInfo, results: Sequence[ConversationResult]
) -> list[CriterionResult]:
    """Apply each criterion to the run, in the order given."""
    out = []
    for criterion in criteria:
        value, shown = _measure(criterion.measure, info, results)
        met = value is not None and _OPERATORS[criterion.op](value, criterion.threshold)
        out.append(CriterionResult(criterion, shown, met))
    return out
