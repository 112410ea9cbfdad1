"""`evalkit report`: render a stored run again, offline; `--sign-off` adds the QA sign-off page.

The pass-rate trend comes from the run history next to the run (`history.db` in its parent
folder, where `evalkit run` keeps it); `--baseline` adds a comparison with another run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalkit.cli.common import EXIT_FAILED, EXIT_OK, console, history_trend, print_summary
from evalkit.compare import compare_runs
from evalkit.errors import UsageError
from evalkit.history import HISTORY_FILE
from evalkit.report import (
    GITHUB_STEP_SUMMARY_LIMIT,
    PR_COMMENT_LIMIT,
    evaluate_criteria,
    parse_criterion,
    write_reports,
    write_signoff,
)
from evalkit.results import read_run

__all__ = ["report"]

"""Earlier runs on the trend (with this one, twenty points)."""

_MARKDOWN_LIMITS = {
    "step-summary": GITHUB_STEP_SUMMARY_LIMIT,
    "pr-comment": PR_COMMENT_LIMIT,
    "none": None,
}


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--sign-off",
    "sign_off",
    is_flag=True,
    help="Also write sign-off.html, the printable QA sign-off page; exit 1 if a criterion fails.",
)
@click.option(
    "--criterion",
    "criteria",
    multiple=True,
    metavar="EXPR",
    help="An acceptance criterion for --sign-off, e.g. 'pass_rate>=0.95', 'failed==0', "
    "'accuracy.email>=90%', 'turn_p95<=2'. Repeatable.",
)
@click.option(
    "--markdown-limit",
    type=click.Choice(list(_MARKDOWN_LIMITS)),
    default="step-summary",
    show_default=True,
    help="Size budget of report.md: $GITHUB_STEP_SUMMARY (1 MiB), a PR comment (65,536), or none.",
)
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Another run directory to compare with: its verdict, regressions and the extracted "
    "values that changed come first in the reports.",
)
@click.option(
    "--history",
    "history_db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The run history for the pass-rate trend [default: {HISTORY_FILE} beside RUN_DIR].",
)
def report(
    run_dir: Path,
    sign_off: bool,
    criteria: tuple[str, ...],
    markdown_limit: str,
    baseline: Path | None,
    history_db: Path | None,
) -> None:
    """Render the HTML and Markdown reports of RUN_DIR again (offline)."""
    if criteria and not sign_off:
        raise UsageError("--criterion applies to the sign-off page: add --sign-off")
    parsed = [parse_criterion(text) for text in criteria]
    info, results = read_run(run_dir)
    comparison, base_results = None, None
    if baseline is not None:
        base_info, base_results = read_run(baseline)
        comparison = compare_runs(base_info, base_results, info, results)
    history = history_trend(history_db or run_dir.parent / HISTORY_FILE, info)
    written = write_reports(
        run_dir,
        info,
        results,
        markdown_max_bytes=_MARKDOWN_LIMITS[markdown_limit],
        comparison=comparison,
        baseline_results=base_results,
        history=history,
    )
    out = console()
    print_summary(out, info, results)
    if comparison is not None:
        click.echo(f"against {comparison.base.run_id}: {comparison.verdict}")
    click.echo(f"markdown report: {written['markdown']}")
    click.echo(f"HTML report: {written['html']}")
    if not sign_off:
        return
    path = write_signoff(run_dir, info, results, parsed)
    checked = evaluate_criteria(parsed, info, results)
    for result in checked:
        click.echo(
            f"  {'met  ' if result.met else 'UNMET'} {result.criterion.text} ({result.actual})"
        )
    click.echo(f"sign-off report: {path}")
    sys.exit(EXIT_OK if all(r.met for r in checked) else EXIT_FAILED)
