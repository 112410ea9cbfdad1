"""The configuration matrix: the same suites against several form configurations, side by side.

Each configuration is a run of its own, `OUT/<matrix-id>/<label>/`, with its reports; then the
matrix report compares them. A configuration's label names a directory, so it must be a safe
name (letters, digits, `.`, `_`, `-`; not starting with a dot).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from evalkit.compare import compare_matrix
from evalkit.errors import UsageError
from evalkit.gates import EXIT_INTERRUPTED, EXIT_OK, Gates, Verdict, evaluate_gates
from evalkit.loader import Suites
from evalkit.report import write_matrix_reports, write_reports
from evalkit.results import RunInfo, StoredResults, TargetInfo
from evalkit.runner import RunSettings, Target, new_run_id, run_sync
from evalkit.runner.description import open_target
from evalkit.runner.preflight import preflight as check_target

__all__ = ["MatrixOutcome", "parse_configs", "run_configurations"]

_SAFE_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def parse_configs(values: Sequence[str]) -> dict[str, dict[str, str]]:
    """`LABEL[:KEY]=FORM_ID` options → label → form key (or `*` for every form) → form id.

    Raises:
        UsageError: A value is malformed, a label is not a safe name, or fewer than two
            configurations are given.
    """
    configs: dict[str, dict[str, str]] = {}
    for value in values:
        head, sep, form_id = value.partition("=")
        label, _, key = head.partition(":")
        if not sep or not label or not form_id:
            raise UsageError(f"--config takes LABEL[:KEY]=FORM_ID, got {value!r}")
        if not _SAFE_LABEL.fullmatch(label):
            raise UsageError(
                f"--config label {label!r} names a directory: use letters, digits, '.', '_' "
                "and '-' (at most 64, not starting with '.' or '-')"
            )
        configs.setdefault(label, {})[key or "*"] = form_id
    if len(configs) < 2:
        raise UsageError("--config needs at least two configurations to compare")
    return configs


@dataclass(frozen=True)
class MatrixOutcome:
    """The configurations run, and the matrix report."""

    matrix_dir: Path
    """`OUT/<matrix-id>/`: one run directory per label, and the matrix reports."""
    runs: Sequence[tuple[str, RunInfo, StoredResults]]
    """Each configuration's label and run, in the order given."""
    reports: Mapping[str, Path]
    """The matrix reports (`html`, `markdown`); empty when the matrix was interrupted."""
    verdict: Verdict
    """The worst verdict of the configurations' gates (`EXIT_INTERRUPTED` if one stopped)."""


def _form_ids(suites: Suites, mapping: Mapping[str, str]) -> dict[str, str]:
    return {s.form: mapping.get(s.form, mapping.get("*", s.form)) for s in suites}


def run_configurations(
    suites: Suites,
    description: TargetInfo,
    configs: Mapping[str, Mapping[str, str]],
    *,
    settings: RunSettings,
    gates: Gates,
    out_root: Path,
    environ: Mapping[str, str],
    preflight: bool = True,
    on_config: Callable[[str, Target], None] | None = None,
) -> MatrixOutcome:
    """Run every configuration into `OUT/<matrix-id>/<label>/`, then write the matrix report.

    Args:
        suites: The suites, run once per configuration.
        description: The target (see `evalkit.runner.description`).
        configs: Label → form key (or `*`) → form id, from `parse_configs`.
        settings: Concurrency, deadlines, retries.
        gates: Applied to each configuration's run; the worst verdict is the matrix's.
        out_root: The matrix goes to `out_root/<matrix-id>/`.
        environ: Where credentials are read from.
        preflight: Check each configuration's forms with a dry-run session before it runs.
        on_config: Called with each label and its target before it runs (for progress).
    """
    matrix_dir = out_root / new_run_id(datetime.now(UTC))
    runs: list[tuple[str, RunInfo, StoredResults]] = []
    worst = Verdict(EXIT_OK, ("all gates met",))
    with open_target(description, suites, environ) as chosen:
        for label, mapping in configs.items():
            configured = replace(chosen, form_ids=_form_ids(suites, mapping))
            if on_config is not None:
                on_config(label, configured)
            if preflight:
                asyncio.run(check_target(configured, {s.form for s in suites}, settings))
            outcome = run_sync(
                suites, configured, out_root=matrix_dir, settings=settings, run_id=label
            )
            write_reports(outcome.run_dir, outcome.info, outcome.results)
            runs.append((label, outcome.info, outcome.results))
            if outcome.info.interrupted:
                stopped = f"interrupted in configuration {label}: the matrix is incomplete"
                return MatrixOutcome(matrix_dir, runs, {}, Verdict(EXIT_INTERRUPTED, (stopped,)))
            verdict = evaluate_gates(outcome.info, gates, None)
            if verdict.code > worst.code:
                worst = Verdict(verdict.code, tuple(f"{label}: {r}" for r in verdict.reasons))
    reports = write_matrix_reports(matrix_dir, compare_matrix(runs), runs)
    return MatrixOutcome(matrix_dir, runs, reports, worst)
