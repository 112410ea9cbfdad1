"""Rates over repeats: the Wilson interval, pass@k and pass^k, and per-conversation tallies.

The statistics every run-level figure shares (the summary, the persona figures, comparisons);
`evalkit.metrics` re-exports them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evalkit.results import ConversationResult, FieldStats

__all__ = [
    "Z95",
    "ConversationStats",
    "RepeatTally",
    "add_field_verdicts",
    "pass_at_k",
    "pass_hat_k",
    "percentile",
    "repeat_stats",
    "wilson",
]

Z95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95% by default); None when n is 0.

    Unlike the normal approximation it stays inside [0, 1] and is honest for small n and for
    rates near 0 or 1: 85/100 gives [0.767, 0.907], 100/100 gives [0.963, 1.0].
    """
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k runs drawn from n (c of them passing) passes."""
    if k > n:
        raise ValueError(f"k ({k}) cannot exceed the number of runs ({n})")
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Probability that all of k runs drawn from n (c of them passing) pass (τ-bench's pass^k)."""
    if k > n:
        raise ValueError(f"k ({k}) cannot exceed the number of runs ({n})")
    return math.comb(c, k) / math.comb(n, k)


@dataclass(frozen=True)
class ConversationStats:
    """One conversation over its repeats."""

    suite: str
    """The suite's name."""
    conversation_id: str
    """The conversation's id."""
    passed: int
    """Repeats that passed."""
    failed: int
    """Repeats that failed."""
    errors: int
    """Repeats the harness could not measure."""

    @property
    def decided(self) -> int:
        """Repeats with a verdict (errors excluded)."""
        return self.passed + self.failed

    @property
    def flaky(self) -> bool:
        """It both passed and failed."""
        return self.passed > 0 and self.failed > 0

    @property
    def pass_rate(self) -> float | None:
        """Share of the decided repeats that passed, or None."""
        return self.passed / self.decided if self.decided else None


class RepeatTally:
    """How each conversation's repeats went (passed, failed, errors), counted a result at a time.

    The one place that groups results by conversation: the summary's per-conversation figures,
    and the flaky conversations every report and comparison shows, come from it.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], list[int]] = {}

    def add(self, result: ConversationResult) -> None:
        """Count one result."""
        slot = self._counts.setdefault((result.suite, result.conversation_id), [0, 0, 0])
        if result.status == "pass":
            slot[0] += 1
        elif result.status == "fail":
            slot[1] += 1
        elif result.status == "error":
            slot[2] += 1

    def stats(self) -> list[ConversationStats]:
        """Every conversation's counts, sorted by (suite, id)."""
        return [
            ConversationStats(suite, cid, *values)
            for (suite, cid), values in sorted(self._counts.items())
        ]

    def flaky(self) -> set[tuple[str, str]]:
        """(suite, id) of the conversations whose repeats both passed and failed."""
        return {key for key, (passed, failed, _) in self._counts.items() if passed and failed}


def repeat_stats(per_conversation: Sequence[ConversationStats]) -> dict[str, object]:
    """pass@k and pass^k over conversations, with k the smallest number of decided repeats."""
    decided = [c for c in per_conversation if c.decided]
    if not decided:
        return {}
    k = min(c.decided for c in decided)
    at_k = [pass_at_k(c.decided, c.passed, k) for c in decided]
    hat_k = [pass_hat_k(c.decided, c.passed, k) for c in decided]
    n = len(decided)
    return {
        "repeats": max(c.decided + c.errors for c in per_conversation),
        "k": k,
        "pass_at_k": sum(at_k) / n,
        "pass_at_k_ci": wilson(round(sum(at_k)), n),
        "pass_hat_k": sum(hat_k) / n,
        "pass_hat_k_ci": wilson(round(sum(hat_k)), n),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks.

    Raises:
        ValueError: `values` is empty.
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def add_field_verdicts(stats: dict[str, FieldStats], result: ConversationResult) -> None:
    """Count one result's field verdicts into `stats` (nothing for an error)."""
    if result.status == "error":
        return
    for verdict in result.fields:
        entry = stats.setdefault(verdict.field, FieldStats())
        setattr(entry, verdict.outcome, getattr(entry, verdict.outcome) + 1)
