"""After the conversations: one pipeline over a run directory.

Everything that happens once a run's conversations are done (or its shards merged) is here, in
this order: the comparison with a baseline (a run directory, or `last`: the latest run of the
same suites and target that met its gates), the pass-rate trend from the history, the HTML and
Markdown reports, JUnit XML, the gate verdict, the history record, and the CI step summary.
`evalkit run`, `merge`, `report` and `compare`, the Python API and the pytest plugin all come
here, so one run gives the same artifacts whichever way it was made; the CLI parses options and
prints what `Finished` holds. `evalkit coverage` prints through `coverage_text` and
`coverage_markdown` (the reports' own coverage section), from here for the same reason.

Usage::

    outcome = evalkit.run("suites/")
    finished = evalkit.finish_run(outcome.run_dir, FinishOptions(baseline="last"))
    print(finished.verdict.reasons)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evalkit.ci import append_step_summary
from evalkit.compare import Change, Comparison, RunSide, compare_runs
from evalkit.errors import UsageError
from evalkit.gates import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Gates,
    Verdict,
    evaluate_gates,
)
from evalkit.history import (
    HISTORY_FILE,
    HistoryLocation,
    Locatable,
    history_location,
    last_good_run,
    list_runs,
    record_run,
)
from evalkit.junit import write_junit
from evalkit.metrics import summarize
from evalkit.report import (
    GITHUB_STEP_SUMMARY_LIMIT,
    PR_COMMENT_LIMIT,
    Criterion,
    CriterionResult,
    TrendPoint,
    check_criteria,
    comparison_view,
    evaluate_criteria,
    parse_criterion,
    parse_rate,
    render_html,
    render_markdown,
    write_reports,
    write_signoff,
)
from evalkit.report.coverage import coverage_markdown, coverage_text
from evalkit.results import (
    RunInfo,
    RunLock,
    StoredResults,
    read_run,
    suite_key,
    target_key,
    write_run_info,
)

__all__ = [
    "MARKDOWN_LIMITS",
    "TREND_RUNS",
    "Change",
    "ComparedRuns",
    "Comparison",
    "FinishOptions",
    "Finished",
    "RunSide",
    "SignOff",
    "compare_dirs",
    "coverage_markdown",
    "coverage_text",
    "finish_run",
    "history_trend",
    "parse_criterion",
    "parse_rate",
    "sign_off",
]

MARKDOWN_LIMITS: Mapping[str, int | None] = {
    "step-summary": GITHUB_STEP_SUMMARY_LIMIT,
    "pr-comment": PR_COMMENT_LIMIT,
    "none": None,
}
"""Size budgets of `report.md` by name: a step summary (1 MiB), a PR comment (65,536), none."""

TREND_RUNS = 19
"""Earlier runs a report's pass-rate trend shows (with the run itself, 20 points)."""


@dataclass(frozen=True)
class FinishOptions:
    """What to do after the conversations; the defaults are those of `evalkit run`."""

    gates: Gates = field(default_factory=Gates)
    """The thresholds of the verdict."""
    baseline: Path | Literal["last"] | None = None
    """A run directory to compare with, `last` (from the history), or None."""
    history: Locatable | None = None
    """The history: a SQLite file, or a `postgresql://` URL; None: `history.db` beside the run
    directory."""
    record: bool = True
    """Record the run in the history (with whether it met its gates)."""
    junit: bool = True
    """Write `junit.xml`."""
    markdown_max_bytes: int | None = GITHUB_STEP_SUMMARY_LIMIT
    """Budget of `report.md`."""
    step_summary: Path | None = None
    """A CI step summary file (`$GITHUB_STEP_SUMMARY`) to append the Markdown report to."""


@dataclass(frozen=True)
class Finished:
    """What the pipeline made of a run directory."""

    run_dir: Path
    """The run directory."""
    info: RunInfo
    """Its `run.json`."""
    results: StoredResults
    """Its results, read from disk as used."""
    verdict: Verdict
    """The gates' verdict (`EXIT_INTERRUPTED` for a run that did not finish)."""
    reports: Mapping[str, Path]
    """The reports written: `html` and `markdown`."""
    junit: Path | None = None
    """The JUnit file, when written."""
    comparison: Comparison | None = None
    """The comparison with the baseline, when there was one."""
    baseline_note: str | None = None
    """What `baseline="last"` found, in words (a path, or why there is none)."""


def history_trend(db_path: Locatable, info: RunInfo) -> list[TrendPoint]:
    """Earlier runs of the same suites (by name) against the same target, oldest first."""
    names = sorted({suite.name for suite in info.suites})
    rows = list_runs(db_path, target=target_key(info.target), limit=200)
    earlier = [
        row
        for row in rows
        if row.run_id != info.run_id
        and row.started_at < info.started_at
        and sorted({name for name, _ in row.suites}) == names
    ]
    return [TrendPoint(r.run_id, r.started_at, r.pass_rate) for r in earlier[-TREND_RUNS:]]


def _last_good(db_path: HistoryLocation, info: RunInfo) -> tuple[Path | None, str]:
    """The run `--baseline last` means, and what was found, in words.

    That is the latest run of the same suites and target, on the same branch when it is known,
    that met its gates.
    """
    found = last_good_run(
        db_path,
        suite_key=suite_key(info.suites),
        target_key=target_key(info.target),
        branch=info.git_branch,
        exclude=info.run_id,
    )
    if found is None:
        return None, (
            "baseline: no earlier run of these suites and target that met its gates has its "
            f"run directory here (history: {db_path}); nothing to compare with"
        )
    return found, f"baseline: {found}"


def finish_run(run_dir: Path, options: FinishOptions | None = None) -> Finished:
    """Everything after the conversations, over a finished (or merged, or stopped) run directory.

    A run that was killed before it finished (no `finished_at`) is repaired first: its summary is
    counted from the rows it has and it is marked interrupted, so its reports say it is
    incomplete and `evalkit run --resume` finishes it. The run directory is locked meanwhile.

    Args:
        run_dir: The run directory.
        options: What to do; by default what `evalkit run` does without options.

    Returns:
        The verdict, the comparison, and the paths written.

    Raises:
        RunFileError: The run directory (or the baseline's) cannot be read.
        UsageError: The baseline is the run itself, or another process writes the run.
    """
    with RunLock(run_dir):
        return _finish(run_dir, options or FinishOptions())


def _finish(run_dir: Path, options: FinishOptions) -> Finished:
    info, results = read_run(run_dir)
    if not info.finished_at:
        # Killed before it could finish: the rows are all there is. Count them, say so.
        info = info.model_copy(update={"summary": summarize(results, info), "interrupted": True})
        write_run_info(run_dir, info)
    db_path = history_location(options.history or run_dir.parent / HISTORY_FILE)
    base_dir, note = None, None
    if options.baseline == "last":
        base_dir, note = _last_good(db_path, info)
    elif options.baseline is not None:
        if options.baseline.resolve() == run_dir.resolve():
            raise UsageError(f"--baseline {options.baseline} is the run itself: compare another")
        base_dir = options.baseline
    comparison = None
    if base_dir is not None:
        base_info, base_results = read_run(base_dir)
        comparison = compare_runs(base_info, base_results, info, results, alpha=options.gates.alpha)
    reports = write_reports(
        run_dir,
        info,
        results,
        markdown_max_bytes=options.markdown_max_bytes,
        comparison=comparison,
        history=history_trend(db_path, info),
    )
    junit = write_junit(run_dir, info, results) if options.junit else None
    if info.interrupted and info.stopped:
        not_run = (
            f"{info.planned - info.summary.total} of {info.planned}" if info.planned else "the rest"
        )
        verdict = Verdict(
            EXIT_INCOMPLETE,
            (
                f"{info.stopped}: {not_run} conversation(s) not run; once the target is back, "
                f"finish it with: evalkit run --resume {run_dir}",
            ),
        )
    elif info.interrupted:
        verdict = Verdict(
            EXIT_INTERRUPTED,
            (
                f"interrupted after {info.summary.total} conversation(s); "
                f"finish it with: evalkit run --resume {run_dir}",
            ),
        )
    else:
        verdict = evaluate_gates(info, options.gates, comparison)
    if options.record:
        record_run(
            db_path,
            run_dir,
            info,
            results,
            gates_met=verdict.code == EXIT_OK,
            branch=None,
            commit=None,
        )
    if options.step_summary is not None:
        append_step_summary(reports["markdown"].read_text(encoding="utf-8"), options.step_summary)
    return Finished(
        run_dir=run_dir,
        info=info,
        results=results,
        verdict=verdict,
        reports=reports,
        junit=junit,
        comparison=comparison,
        baseline_note=note,
    )


@dataclass(frozen=True)
class ComparedRuns:
    """Two stored runs compared, with the candidate's verdict."""

    comparison: Comparison
    """Baseline against candidate."""
    verdict: Verdict
    """The candidate's gates, with the comparison."""


def compare_dirs(
    base_dir: Path,
    cand_dir: Path,
    gates: Gates | None = None,
    *,
    html: Path | None = None,
    markdown: Path | None = None,
) -> ComparedRuns:
    """Compare two run directories, offline, and apply the gates to the candidate.

    Args:
        base_dir: The baseline run.
        cand_dir: The candidate run.
        gates: The candidate's thresholds (default `Gates()`).
        html: Write the candidate's HTML report with the comparison first to this file.
        markdown: The same as Markdown, sized for a pull-request comment.

    Raises:
        RunFileError: A run directory cannot be read.
    """
    gates = gates or Gates()
    base_info, base_results = read_run(base_dir)
    cand_info, cand_results = read_run(cand_dir)
    comparison = compare_runs(base_info, base_results, cand_info, cand_results, alpha=gates.alpha)
    if html is not None or markdown is not None:
        view = comparison_view(comparison)
        if html is not None:
            html.write_text(render_html(cand_info, cand_results, comparison=view), encoding="utf-8")
        if markdown is not None:
            text = render_markdown(
                cand_info, cand_results, max_bytes=PR_COMMENT_LIMIT, comparison=view
            )
            markdown.write_text(text, encoding="utf-8")
    return ComparedRuns(comparison, evaluate_gates(cand_info, gates, comparison))


@dataclass(frozen=True)
class SignOff:
    """The QA sign-off page of a run, and its criteria checked."""

    path: Path
    """`sign-off.html` in the run directory."""
    criteria: Sequence[CriterionResult]
    """Each criterion with whether it was met and the actual value."""

    @property
    def met(self) -> bool:
        """Whether every criterion was met."""
        return all(result.met for result in self.criteria)


def sign_off(run_dir: Path, criteria: Sequence[Criterion] = ()) -> SignOff:
    """Write the sign-off page of a run directory and check its acceptance criteria.

    Raises:
        RunFileError: The run directory cannot be read.
        UsageError: A criterion names a field the run never checked.
    """
    info, results = read_run(run_dir)
    check_criteria(criteria, info)  # a misspelt field stops before the page is written
    path = write_signoff(run_dir, info, results, criteria)
    return SignOff(path, evaluate_criteria(criteria, info, results))
