"""Aggregates over a run's results: counts, pass and error rates, per-field stats, latency.

Errors are never counted as passes or failures: the pass rate is passed / (passed + failed) and
the error rate is reported beside it. The slot-filling metrics of the dialogue-state literature
(joint and average goal accuracy, slot precision/recall/F1, confusion of choice fields) are in
`evalkit.metrics.slots`; `summarize` counts them in the same pass.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, MutableSequence, Sequence
from dataclasses import dataclass

from evalkit.metrics.slots import SlotTally
from evalkit.results import ConversationResult, FieldStats, Summary

__all__ = [
    "ConversationStats",
    "RepeatTally",
    "add_field_verdicts",
    "field_stats",
    "mcnemar_exact",
    "pass_at_k",
    "pass_hat_k",
    "percentile",
    "summarize",
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


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar test on paired outcomes: the p-value of b vs c discordant pairs.

    `b` counts pairs that went pass → fail, `c` fail → pass; under "no change" each discordant
    pair is a fair coin, so p = P(X ≤ min(b, c)) × 2 for X ~ Binomial(b + c, ½), capped at 1.
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / float(2**n)
    return min(1.0, 2.0 * tail)


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


def field_stats(results: Iterable[ConversationResult]) -> dict[str, FieldStats]:
    """Count correct, wrong, missing and unexpected per field over the non-error results."""
    stats: dict[str, FieldStats] = {}
    for result in results:
        add_field_verdicts(stats, result)
    return dict(sorted(stats.items()))


def _add_latencies(
    first: MutableSequence[float], total: MutableSequence[float], result: ConversationResult
) -> None:
    for turn in result.transcript:
        total.append(turn.total_s)
        if turn.first_chunk_s is not None:
            first.append(turn.first_chunk_s)


def _latency(first: Sequence[float], total: Sequence[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, values in (("first_chunk", first), ("turn", total)):
        if values:
            out[f"{name}_p50"] = round(percentile(values, 50), 6)
            out[f"{name}_p95"] = round(percentile(values, 95), 6)
            out[f"{name}_max"] = round(max(values), 6)
    return out


def _repeat_stats(per_conversation: Sequence[ConversationStats]) -> dict[str, object]:
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


def summarize(results: Iterable[ConversationResult]) -> Summary:
    """Headline numbers of a run, in one pass over its results (which may be read from disk).

    Memory grows with the number of conversations only by a few counters and two latencies per
    exchange, never by the results themselves.
    """
    counts = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
    repeats = RepeatTally()
    fields: dict[str, FieldStats] = {}
    first, total = array("d"), array("d")  # 8 bytes a value: a float object takes 32
    slots = SlotTally()
    for result in results:
        counts[result.status] += 1
        repeats.add(result)
        slots.add(result)
        add_field_verdicts(fields, result)
        _add_latencies(first, total, result)
    rows = sum(counts.values())
    decided = counts["pass"] + counts["fail"]
    conversations = repeats.stats()
    return Summary(
        conversations=len(conversations),
        pass_rate_ci=wilson(counts["pass"], decided),
        flaky=[f"{c.suite}/{c.conversation_id}" for c in conversations if c.flaky],
        **_repeat_stats(conversations),
        total=rows,
        passed=counts["pass"],
        failed=counts["fail"],
        errors=counts["error"],
        skipped=counts["skipped"],
        pass_rate=counts["pass"] / decided if decided else None,
        error_rate=counts["error"] / rows if rows else None,
        fields=dict(sorted(fields.items())),
        latency=_latency(first, total),
        slot_filling=slots.metrics(),
    )
