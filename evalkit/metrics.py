"""Aggregates over a run's results: counts, pass and error rates, per-field stats, latency.

Errors are never counted as passes or failures: the pass rate is passed / (passed + failed) and
the error rate is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from evalkit.results import ConversationResult, FieldStats, Summary

__all__ = ["field_stats", "percentile", "summarize"]


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


def field_stats(results: Iterable[ConversationResult]) -> dict[str, FieldStats]:
    """Count correct, wrong, missing and unexpected per field over the non-error results."""
    stats: dict[str, FieldStats] = {}
    for result in results:
        if result.status == "error":
            continue
        for verdict in result.fields:
            entry = stats.setdefault(verdict.field, FieldStats())
            setattr(entry, verdict.outcome, getattr(entry, verdict.outcome) + 1)
    return dict(sorted(stats.items()))


def _latency(results: Iterable[ConversationResult]) -> dict[str, float]:
    first: list[float] = []
    total: list[float] = []
    for result in results:
        for turn in result.transcript:
            total.append(turn.total_s)
            if turn.first_chunk_s is not None:
                first.append(turn.first_chunk_s)
    out: dict[str, float] = {}
    for name, values in (("first_chunk", first), ("turn", total)):
        if values:
            out[f"{name}_p50"] = round(percentile(values, 50), 6)
            out[f"{name}_p95"] = round(percentile(values, 95), 6)
            out[f"{name}_max"] = round(max(values), 6)
    return out


def summarize(results: Sequence[ConversationResult]) -> Summary:
    """Headline numbers of a run."""
    counts = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
    for result in results:
        counts[result.status] += 1
    decided = counts["pass"] + counts["fail"]
    return Summary(
        total=len(results),
        passed=counts["pass"],
        failed=counts["fail"],
        errors=counts["error"],
        skipped=counts["skipped"],
        pass_rate=counts["pass"] / decided if decided else None,
        error_rate=counts["error"] / len(results) if results else None,
        fields=field_stats(results),
        latency=_latency(results),
    )
