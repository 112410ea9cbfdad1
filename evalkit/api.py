"""The Python API that `evalkit` re-exports: load suites, run them, render reports.

Thin functions over the library (loader, runner, pipeline, report), so that a notebook or script
needs one import; the CLI and the pytest plugin are built on the same library. After a run,
`finish_run` does what `evalkit run` does once the conversations are done (reports, JUnit, the
gates' verdict, the history record), so a script can gate a build exactly as the CLI would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

from evalkit.client import Mode
from evalkit.compare import Comparison, compare_runs
from evalkit.gates import Gates, Verdict
from evalkit.loader import SuiteFile
from evalkit.loader import index_suites as _index_suites
from evalkit.loader import load_suites as _load_suites
from evalkit.matchers import MatchResult, custom_check
from evalkit.pipeline import Finished, FinishOptions, finish_run
from evalkit.report import render_html, render_markdown
from evalkit.results import RunInfo, StoredResults, read_run
from evalkit.runner import RunOutcome, Target
from evalkit.runner import run_async as _run_async
from evalkit.runner.description import TargetOptions, describe_target, open_target
from evalkit.suite import LoadedSuite

__all__ = [
    "Comparison",
    "FinishOptions",
    "Finished",
    "Gates",
    "LoadedSuite",
    "MatchResult",
    "RunOutcome",
    "SuiteInputs",
    "Target",
    "Verdict",
    "compare",
    "custom_check",
    "finish_run",
    "load_suites",
    "render_report",
    "run",
    "run_async",
]

SuiteInputs = LoadedSuite | str | Path | Sequence[LoadedSuite | str | Path]
"""Loaded suites, or files and directories to load them from."""


def load_suites(paths: str | Path | Sequence[str | Path]) -> list[LoadedSuite]:
    """Load every suite under `paths` (files, or directories searched for `*.eval.yaml`).

    Raises:
        SuiteError: Every problem of every file, each with `path:line`.
    """
    return _load_suites([paths] if isinstance(paths, str | Path) else list(paths))


def _loaded(suites: SuiteInputs) -> list[LoadedSuite | SuiteFile]:
    items = [suites] if isinstance(suites, LoadedSuite | str | Path) else list(suites)
    paths = [s for s in items if not isinstance(s, LoadedSuite)]
    # Files named by path are validated now and read again as the run reaches each of them.
    files = _index_suites(paths) if paths else []
    return [s for s in items if isinstance(s, LoadedSuite)] + files


async def run_async(
    suites: SuiteInputs,
    target: Target | None = None,
    *,
    framing: Mode = "sse",
    forms: Sequence[Path] = (),
    out_root: str | Path = "reports",
    **options: Any,
) -> RunOutcome:
    """Run suites against a target and write the run directory.

    Args:
        suites: Loaded suites, or paths to load.
        target: Where to run; None starts the built-in emulator for the run.
        framing: How the emulator is asked to frame its streams (`unary`: the plain endpoints).
        forms: More directories of `*.form.yaml` for the emulator.
        out_root: The run goes to `<out_root>/<run-id>/`.
        **options: Passed to `evalkit.runner.run_async` (`settings`, `run_id`, `on_result`, ...).

    Returns:
        The run directory, its metadata and its results (read from the run directory's
        `results.jsonl` as they are used; see `evalkit.results.StoredResults`).
    """
    loaded = _loaded(suites)
    context: AbstractContextManager[Target] = (
        open_target(describe_target(TargetOptions(framing=framing, forms=forms), {}), loaded, {})
        if target is None
        else nullcontext(target)
    )
    with context as chosen:
        return await _run_async(loaded, chosen, out_root=Path(out_root), **options)


def run(
    suites: SuiteInputs,
    target: Target | None = None,
    *,
    framing: Mode = "sse",
    forms: Sequence[Path] = (),
    out_root: str | Path = "reports",
    **options: Any,
) -> RunOutcome:
    """`run_async` for callers without an event loop; takes the same arguments."""
    return asyncio.run(
        run_async(suites, target, framing=framing, forms=forms, out_root=out_root, **options)
    )


def render_report(
    run: RunOutcome | str | Path, *, format: Literal["html", "markdown"] = "html"
) -> str:
    """Render the report of a run (a finished `RunOutcome`, or a run directory) as text.

    Raises:
        RunFileError: The run directory cannot be read.
    """
    if isinstance(run, RunOutcome):
        info, results = run.info, run.results
    else:
        info, results = read_run(Path(run))
    return render_html(info, results) if format == "html" else render_markdown(info, results)


def compare(
    baseline: RunOutcome | str | Path, candidate: RunOutcome | str | Path, *, alpha: float = 0.05
) -> Comparison:
    """Compare a candidate run with a baseline (finished `RunOutcome`s, or run directories).

    Conversations are paired by (suite, id, repeat); `Comparison.verdict` says in one line
    whether the candidate regressed beyond noise (exact McNemar test at `alpha`).

    Raises:
        RunFileError: A run directory cannot be read.
    """

    def read(run: RunOutcome | str | Path) -> tuple[RunInfo, StoredResults]:
        return (run.info, run.results) if isinstance(run, RunOutcome) else read_run(Path(run))

    return compare_runs(*read(baseline), *read(candidate), alpha=alpha)
