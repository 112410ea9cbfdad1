"""Acceptance criteria of a sign-off: `pass_rate>=0.95`, `failed==0`, `accuracy.email>=90%`.

A criterion names a measure of the run, a comparison and a threshold. Measures:

- `pass_rate`, `error_rate`: rates;
- `pass_rate_low`: the lower end of the pass rate's 95% Wilson interval, for "at least 95%, and
  not by luck";
- `pass_at_k`, `pass_hat_k`: over repeats, the share of conversations where at least one of k
  repeats passes, and where all k do;
- `total`, `passed`, `failed`, `errors`, `skipped`, `flaky`: counts;
- any latency statistic of the summary, in seconds: `turn_p95`, `first_chunk_max`, …;
- `accuracy.<field>`: a field's accuracy (a rate).

Every rate, here and in the gates (`--fail-under`, `--max-error-rate`), is read by one parser,
`parse_rate`: `0.95` or `95%`; a bare number above 1 is an error that suggests the percentage.

A criterion whose measure was not measured in the run (no pass rate because nothing was
evaluated, no latency recorded) is *not met*: a sign-off cannot rest on a number that was not
measured. A field the run never checked, while it checked others, is an error with a
did-you-mean: `accuracy.emial` is a typo, not an unmet criterion.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evalkit.errors import UsageError
from evalkit.loader.messages import did_you_mean
from evalkit.report.format import percent, seconds, wilson_interval
from evalkit.report.views import flaky_keys
from evalkit.results import ConversationResult, RunInfo

__all__ = [
    "Criterion",
    "CriterionResult",
    "check_criteria",
    "evaluate_criteria",
    "parse_criterion",
    "parse_rate",
]

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
_RATES = ("pass_rate", "error_rate", "pass_rate_low", "pass_at_k", "pass_hat_k")
_LATENCY = re.compile(r"(first_chunk|first_data|turn)_(p\d+|max|min)")
_NUMBER = re.compile(r"^\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+))\s*(?P<pct>%?)\s*$")


def parse_rate(text: str | float, *, what: str = "rate") -> float:
    """A rate as a fraction in [0, 1], written `0.95` or `95%`: the one parser of every rate.

    `--fail-under`, `--max-error-rate`, the sign-off's criteria and the project configuration
    read rates with it, so `95%` means the same everywhere and `95` is refused everywhere.

    Args:
        text: What the user wrote (a float is taken as a fraction).
        what: How to name it in a message (`--fail-under`, `criterion 'pass_rate>=95'`).

    Returns:
        The rate, 0 to 1.

    Raises:
        UsageError: Not a number; a percentage outside 0–100%; or a bare number outside 0–1 (a
            bare number above 1 gets the hint that a rate is 0.95 or 95%).
    """
    shown = str(text).strip()
    match = _NUMBER.match(shown) if isinstance(text, str) else None
    if isinstance(text, str) and match is None:
        raise UsageError(f"{what}: {shown!r} is not a rate; write 0.95 or 95%")
    value = float(match["value"]) if match is not None else float(text)
    if match is not None and match["pct"]:
        if not 0 <= value <= 100:
            raise UsageError(f"{what}: {shown} is not a percentage between 0% and 100%")
        return value / 100
    if value > 1:
        raise UsageError(
            f"{what}: {shown} is not a rate; a rate is a fraction (0.95) or a percentage "
            f"(95%): did you mean {shown}%?"
        )
    if value < 0:
        raise UsageError(f"{what}: {shown} is not a rate; a rate is between 0 and 1 (or 0%–100%)")
    return value


def _is_rate(measure: str) -> bool:
    return measure in _RATES or measure.startswith("accuracy.")


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

    A rate's value is read by `parse_rate` (`0.95` or `95%`); a count's or a latency's is a
    plain number.

    Raises:
        UsageError: The text is not a criterion, names no known measure (with a did-you-mean),
            or its value does not suit the measure (`pass_rate>=95`, `failed==10%`).
    """
    match = _SYNTAX.match(text)
    if not match:
        raise UsageError(f"criterion {text!r}: expected MEASURE OP VALUE, e.g. pass_rate>=0.95")
    measure = match["measure"]
    known = measure in _COUNTS or _is_rate(measure) or _LATENCY.fullmatch(measure)
    if not known:
        names = [*_RATES, *_COUNTS, "accuracy.<field>", "turn_p95", "first_chunk_p95"]
        hint = did_you_mean(measure, [*_RATES, *_COUNTS, "turn_p95", "first_chunk_p95"])
        raise UsageError(
            f"criterion {text!r}: unknown measure {measure!r}{hint}; known: {', '.join(names)}"
        )
    written = f"{match['value']}{match['pct']}"
    if _is_rate(measure):
        value = parse_rate(written, what=f"criterion {text.strip()!r}")
    elif match["pct"]:
        raise UsageError(f"criterion {text!r}: {measure} is not a rate; drop the %")
    else:
        try:
            value = float(match["value"])
        except ValueError as exc:
            raise UsageError(f"criterion {text!r}: {match['value']!r} is not a number") from exc
    return Criterion(measure, match["op"], value, text.strip())


def check_criteria(criteria: Sequence[Criterion], info: RunInfo) -> None:
    """Refuse a criterion on a field the run never checked, while it checked others.

    Raises:
        UsageError: `accuracy.<field>` names no field of the run (with a did-you-mean and the
            fields there are).
    """
    fields = list(info.summary.fields)
    if not fields:
        return  # nothing was scored: every accuracy is unmeasured, hence not met
    for criterion in criteria:
        name = criterion.measure.removeprefix("accuracy.")
        if criterion.measure.startswith("accuracy.") and name not in fields:
            raise UsageError(
                f"criterion {criterion.text!r}: no field {name!r} in this run"
                f"{did_you_mean(name, fields)}; its fields: {', '.join(fields)}"
            )


def _measure(
    measure: str, info: RunInfo, results: Sequence[ConversationResult]
) -> tuple[float | None, str]:
    """The value of a measure in a run, and how to show it."""
    s = info.summary
    if measure in _COUNTS:
        count = len(flaky_keys(results)) if measure == "flaky" else getattr(s, measure)
        return float(count), str(count)
    rate: float | None
    if measure in ("pass_at_k", "pass_hat_k"):
        rate = getattr(s, measure)
        shown = percent(rate) if rate is None else f"{percent(rate)} (k={s.k})"
        return rate, shown
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
    """Apply each criterion to the run, in the order given.

    Raises:
        UsageError: A criterion names a field the run never checked (see `check_criteria`).
    """
    check_criteria(criteria, info)
    out = []
    for criterion in criteria:
        value, shown = _measure(criterion.measure, info, results)
        met = value is not None and _OPERATORS[criterion.op](value, criterion.threshold)
        out.append(CriterionResult(criterion, shown, met))
    return out
