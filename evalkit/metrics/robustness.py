"""Robustness per variant kind: the copies of a run against the originals they were made from.

Computed from the results alone (a copy's id names its original and kind: `id~kind-N`, see
`evalkit.variants`), so `report`, `merge`, `rescore` and `compare` have it for any stored run.
Definitions (docs/variants.md):

- For a kind, the *originals* are the conversations with a decided (passed or failed) run and
  at least one decided copy of that kind; every decided run of them counts, repeats included.
- Errors count in neither rate, and are counted apart: the errored runs of the copies
  (`copy_errors`, each copy named in `errored`) and of their originals (`original_errors`).
  Decided runs of a copy whose original has no decided run are `unpaired`. A kind is listed
  when it has any copy that ran, even one that only errored.
- Pass rates: passed / decided runs, of the originals and of the copies; the *drop* is the
  originals' rate minus the copies'. Its 95% interval is Newcombe's hybrid score interval
  (method 10, 1998), built from the Wilson intervals of the two rates.
- Per field: correct / checked (correct + wrong + missing) verdicts, in the originals and in
  the copies, and the drop between them.
- A copy that failed while every decided run of its original passed is *broken*; the fields
  with a failing verdict in it say what the perturbation broke.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from evalkit.metrics.rates import wilson
from evalkit.results import ConversationResult
from evalkit.results.figures import (
    RobustnessBreak,
    RobustnessField,
    RobustnessKind,
    RobustnessMetrics,
)
from evalkit.suite import VARIANT_KINDS
from evalkit.variants import parse_variant_id

__all__ = ["MAX_BROKEN", "RobustnessTally", "drop_interval"]

MAX_BROKEN = 20
"""Broken copies, and errored copies, listed per kind (all are counted)."""


def drop_interval(passed_a: int, n_a: int, passed_b: int, n_b: int) -> tuple[float, float] | None:
    """95% interval of p_a - p_b for two independent proportions (Newcombe's hybrid score).

    With (l_a, u_a) and (l_b, u_b) the Wilson intervals of the two rates and d = p_a - p_b:
    [d - sqrt((p_a - l_a)² + (u_b - p_b)²), d + sqrt((u_a - p_a)² + (p_b - l_b)²)].
    None when either side has no runs.
    """
    first, second = wilson(passed_a, n_a), wilson(passed_b, n_b)
    if first is None or second is None:
        return None
    p_a, p_b = passed_a / n_a, passed_b / n_b
    d = p_a - p_b
    low = d - math.sqrt((p_a - first[0]) ** 2 + (second[1] - p_b) ** 2)
    high = d + math.sqrt((first[1] - p_a) ** 2 + (p_b - second[0]) ** 2)
    return (max(-1.0, low), min(1.0, high))


@dataclass
class _Runs:
    """Decided runs of one conversation (or of the copies of one kind of it)."""

    runs: int = 0
    passed: int = 0
    errors: int = 0
    """Errored runs (not in `runs`)."""
    fields: dict[str, list[int]] = field(default_factory=dict)
    """Per field, [correct, checked]."""

    def add(self, result: ConversationResult) -> None:
        if result.status == "error":
            self.errors += 1
            return
        self.runs += 1
        self.passed += result.status == "pass"
        for verdict in result.fields:
            if verdict.outcome != "unexpected":
                counts = self.fields.setdefault(verdict.field, [0, 0])
                counts[0] += verdict.outcome == "correct"
                counts[1] += 1


def _failing(result: ConversationResult) -> list[str]:
    return sorted({v.field for v in result.fields if not v.passed})


@dataclass
class RobustnessTally:
    """Counts one result at a time (in any order); `metrics` pairs copies with originals.

    Memory: a few counters per conversation, and the failing fields of each failed copy.
    """

    originals: dict[tuple[str, str], _Runs] = field(default_factory=dict)
    copies: dict[tuple[str, str, str], _Runs] = field(default_factory=dict)
    """(suite, original id, kind) → the copies' runs."""
    failed: list[tuple[str, str, str, str, list[str]]] = field(default_factory=list)
    """(kind, suite, original id, copy id, failing fields) of each failed copy run."""
    errored: dict[str, set[str]] = field(default_factory=dict)
    """Per kind, `suite/id` of the copies with an errored run."""

    def add(self, result: ConversationResult) -> None:
        """Count one result (skipped conversations count nowhere)."""
        if result.status not in ("pass", "fail", "error"):
            return
        parsed = parse_variant_id(result.conversation_id)
        if parsed is None or parsed[1] not in VARIANT_KINDS:
            key = (result.suite, result.conversation_id)
            self.originals.setdefault(key, _Runs()).add(result)
            return
        original, kind, _ = parsed
        self.copies.setdefault((result.suite, original, kind), _Runs()).add(result)
        if result.status == "error":
            self.errored.setdefault(kind, set()).add(f"{result.suite}/{result.conversation_id}")
        if result.status == "fail":
            self.failed.append(
                (kind, result.suite, original, result.conversation_id, _failing(result))
            )

    def metrics(self) -> RobustnessMetrics | None:
        """Per kind, copies against originals; None when the run has no copy."""
        kinds = [k for k in VARIANT_KINDS if any(key[2] == k for key in self.copies)]
        if not kinds:
            return None
        return RobustnessMetrics(kinds=[self._kind(kind) for kind in kinds])

    def _kind(self, kind: str) -> RobustnessKind:
        entry = RobustnessKind(kind=kind)
        fields: dict[str, RobustnessField] = {}
        for (suite, original, of_kind), copies in self.copies.items():
            if of_kind != kind:
                continue
            source = self.originals.get((suite, original), _Runs())
            entry.copy_errors += copies.errors
            entry.original_errors += source.errors
            if not source.runs:  # its original did not run, or only errored: pairs with none
                entry.unpaired += copies.runs
                continue
            if not copies.runs:  # every run of the copies errored
                continue
            entry.originals += 1
            entry.original_runs += source.runs
            entry.original_passed += source.passed
            entry.copies += copies.runs
            entry.copies_passed += copies.passed
            for name, (correct, checked) in source.fields.items():
                stats = fields.setdefault(name, RobustnessField())
                stats.original_correct += correct
                stats.original_checked += checked
            for name, (correct, checked) in copies.fields.items():
                stats = fields.setdefault(name, RobustnessField())
                stats.copy_correct += correct
                stats.copy_checked += checked
        entry.fields = dict(sorted(fields.items()))
        entry.drop_ci = drop_interval(
            entry.original_passed, entry.original_runs, entry.copies_passed, entry.copies
        )
        broken = self._broken(kind)
        entry.broken_count = len(broken)
        entry.broken = broken[:MAX_BROKEN]
        entry.errored = sorted(self.errored.get(kind, ()))[:MAX_BROKEN]
        return entry

    def _broken(self, kind: str) -> list[RobustnessBreak]:
        out = []
        for of_kind, suite, original, copy_id, failing in self.failed:
            source = self.originals.get((suite, original))
            if of_kind == kind and source is not None and source.passed == source.runs > 0:
                out.append(RobustnessBreak(conversation=f"{suite}/{copy_id}", fields=failing))
        return sorted(out, key=lambda b: b.conversation)
