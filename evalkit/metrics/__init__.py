"""Aggregates over a run's results: counts, pass and error rates, per-field stats, latency.

Errors are never counted as passes or failures: the pass rate is passed / (passed + failed) and
the error rate is reported beside it. The slot-filling metrics of the dialogue-state literature
(joint and average goal accuracy, slot precision/recall/F1, confusion of choice fields) are in
`evalkit.metrics.slots`, the persona figures in `evalkit.metrics.personas`, the shared rates
(Wilson interval, pass@k, pass^k) in `evalkit.metrics.rates`; `summarize` counts them all in the
same pass.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, MutableSequence, Sequence

from evalkit.metrics.coverage import CoverageTally
from evalkit.metrics.personas import PersonaTally
from evalkit.metrics.rates import (
    ConversationStats,
    RepeatTally,
    add_field_verdicts,
    pass_at_k,
    pass_hat_k,
    percentile,
    repeat_stats,
    wilson,
)
from evalkit.metrics.robustness import RobustnessTally
from evalkit.metrics.slots import SlotTally
from evalkit.results import ConversationResult, FieldStats, RunInfo, Summary

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


_LN2 = math.log(2.0)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar test on paired outcomes: the p-value of b vs c discordant pairs.

    `b` counts pairs that went pass → fail, `c` fail → pass; under "no change" each discordant
    pair is a fair coin, so p = P(X ≤ min(b, c)) × 2 for X ~ Binomial(b + c, ½), capped at 1.

    The tail is summed in log space, so any n takes time linear in min(b, c) at worst (b and c
    come from the target): the largest term, C(n, k) / 2**n with k = min(b, c), from `lgamma`,
    then the terms below it as a running product of ratios, stopping once they no longer change
    the sum. Relative error is below 1e-12 for n up to a few thousand and about 1e-8 at n = 10**6;
    a p-value below the smallest float is 0.0.
    """
    n = b + c
    k = min(b, c)
    if n == 0 or 2 * k >= n - 1:  # the tail holds at least half of the distribution
        return 1.0
    log_top = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * _LN2
    # Sum C(n, i) / C(n, k) for i = k, k - 1, ..., 0: each term is the last times i / (n - i + 1).
    total = term = 1.0
    for i in range(k, 0, -1):
        term *= i / (n - i + 1)
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, 2.0 * math.exp(log_top + math.log(total)))


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


def summarize(results: Iterable[ConversationResult], info: RunInfo | None = None) -> Summary:
    """Headline numbers of a run, in one pass over its results (which may be read from disk).

    With the run's `info`, the summary also holds the coverage of the forms it recorded
    (`evalkit.metrics.coverage`).

    Memory grows with the number of conversations only by a few counters and two latencies per
    exchange, never by the results themselves.
    """
    counts = {"pass": 0, "fail": 0, "error": 0, "skipped": 0}
    repeats = RepeatTally()
    fields: dict[str, FieldStats] = {}
    first, total = array("d"), array("d")  # 8 bytes a value: a float object takes 32
    forms = info.forms if info is not None else []
    slots = SlotTally(forms)
    personas = PersonaTally()
    robustness = RobustnessTally()
    suite_forms = {s.name: s.form for s in info.suites} if info is not None else {}
    coverage = CoverageTally(forms, suite_forms)
    for result in results:
        counts[result.status] += 1
        repeats.add(result)
        slots.add(result)
        personas.add(result)
        robustness.add(result)
        coverage.add(result)
        add_field_verdicts(fields, result)
        _add_latencies(first, total, result)
    rows = sum(counts.values())
    decided = counts["pass"] + counts["fail"]
    conversations = repeats.stats()
    return Summary(
        conversations=len(conversations),
        pass_rate_ci=wilson(counts["pass"], decided),
        flaky=[f"{c.suite}/{c.conversation_id}" for c in conversations if c.flaky],
        **repeat_stats(conversations),
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
        personas=personas.metrics(),
        robustness=robustness.metrics(),
        coverage=coverage.coverage(),
    )
