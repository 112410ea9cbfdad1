"""Configuration matrix: the same suites against several form configurations, side by side."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from evalkit.cli.common import EXIT_INTERRUPTED
from evalkit.cli.compare_cmd import Gates, evaluate_gates
from evalkit.client import Mode
from evalkit.compare import compare_matrix
from evalkit.errors import UsageError
from evalkit.loader import Suites
from evalkit.report import write_matrix_reports, write_reports
from evalkit.runner import RunSettings, Target, emulator_target, new_run_id, run_sync

__all__ = ["parse_configs", "run_matrix"]


def parse_configs(values: Sequence[str]) -> dict[str, dict[str, str]]:
    """`LABEL[:KEY]=FORM_ID` options → label → form key (or `*` for every form) → form id."""
    configs: dict[str, dict[str, str]] = {}
    for value in values:
        head, sep, form_id = value.partition("=")
        label, _, key = head.partition(":")
        if not sep or not label or not form_id:
            raise UsageError(f"--config takes LABEL[:KEY]=FORM_ID, got {value!r}")
        configs.setdefault(label, {})[key or "*"] = form_id
    if len(configs) < 2:
        raise UsageError("--config needs at least two configurations to compare")
    return configs


def _form_ids(suites: Suites, mapping: dict[str, str]) -> dict[str, str]:
    return {s.form: mapping.get(s.form, mapping.get("*", s.form)) for s in suites}


def run_matrix(
    out: Console,
    suites: Suites,
    target: Target | None,
    mode: Mode,
    forms_dirs: Sequence[Path],
    configs: dict[str, dict[str, str]],
    settings: RunSettings,
    gates: Gates,
    out_root: Path,
) -> NoReturn:
    """Run every configuration into `OUT/<matrix-id>/<label>/`, then show them side by side."""
    matrix_dir = out_root / new_run_id(datetime.now(UTC))
    runs = []
    context: AbstractContextManager[Target] = (
        emulator_target(suites, mode=mode, forms=forms_dirs)
        if target is None
        else nullcontext(target)
    )
    worst = 0
    with context as chosen:
        for label, mapping in configs.items():
            configured = replace(chosen, form_ids=_form_ids(suites, mapping))
            out.print(f"configuration {label}: form ids {configured.form_ids}")
            outcome = run_sync(
                suites, configured, out_root=matrix_dir, settings=settings, run_id=label
            )
            write_reports(outcome.run_dir, outcome.info, outcome.results)
            runs.append((label, outcome.info, outcome.results))
            worst = max(worst, evaluate_gates(outcome.info, gates, None)[0])
            if outcome.info.interrupted:
                out.print("interrupted: the matrix is incomplete")
                sys.exit(EXIT_INTERRUPTED)
    matrix = compare_matrix(runs)
    written = write_matrix_reports(matrix_dir, matrix, runs)
    out.print(written["markdown"].read_text(encoding="utf-8"), markup=False, highlight=False)
    out.print(f"matrix: {written['markdown']}")
    out.print(f"matrix report: {written['html']}")
    sys.exit(worst)
