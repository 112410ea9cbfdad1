"""`evalkit report`: render a stored run again, offline; `--sign-off` adds the QA sign-off page.

The pass-rate trend comes from the run history next to the run (`history.db` in its parent
folder, where `evalkit run` keeps it); `--baseline` adds a comparison with another run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalkit.cli.common import console
from evalkit.cli.options import history_option
from evalkit.cli.printing import print_summary
from evalkit.errors import UsageError
from evalkit.gates import EXIT_FAILED, EXIT_OK
from evalkit.history import HistoryLocation
from evalkit.pipeline import MARKDOWN_LIMITS, FinishOptions, finish_run, parse_criterion, sign_off

__all__ = ["report"]


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--sign-off",
    "sign_off_page",
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
    type=click.Choice(list(MARKDOWN_LIMITS)),
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
@history_option
def report(
    run_dir: Path,
    sign_off_page: bool,
    criteria: tuple[str, ...],
    markdown_limit: str,
    baseline: Path | None,
    history: HistoryLocation | None,
) -> None:
    """Render the HTML and Markdown reports of RUN_DIR again (offline)."""
    if criteria and not sign_off_page:
        raise UsageError("--criterion applies to the sign-off page: add --sign-off")
    parsed = [parse_criterion(text) for text in criteria]
    options = FinishOptions(
        baseline=baseline,
        history=history,
        record=False,
        junit=False,
        markdown_max_bytes=MARKDOWN_LIMITS[markdown_limit],
    )
    finished = finish_run(run_dir, options)
    out = console()
    print_summary(out, finished.info, finished.results)
    if finished.info.interrupted:
        click.echo(f"incomplete: {'; '.join(finished.verdict.reasons)}")
    if finished.comparison is not None:
        click.echo(f"against {finished.comparison.base.run_id}: {finished.comparison.verdict}")
    click.echo(f"markdown report: {finished.reports['markdown']}")
    click.echo(f"HTML report: {finished.reports['html']}")
    if not sign_off_page:
        return
    signed = sign_off(run_dir, parsed)
    for result in signed.criteria:
        click.echo(
            f"  {'met  ' if result.met else 'UNMET'} {result.criterion.text} ({result.actual})"
        )
    click.echo(f"sign-off report: {signed.path}")
    sys.exit(EXIT_OK if signed.met else EXIT_FAILED)
