"""`evalkit report`: render a stored run again, offline; `--sign-off` adds the QA sign-off page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalkit.cli.common import EXIT_FAILED, EXIT_OK, console, print_summary
from evalkit.errors import UsageError
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
def report(run_dir: Path, sign_off: bool, criteria: tuple[str, ...], markdown_limit: str) -> None:
    """Render the HTML and Markdown reports of RUN_DIR again (offline)."""
    if criteria and not sign_off:
        raise UsageError("--criterion applies to the sign-off page: add --sign-off")
    parsed = [parse_criterion(text) for text in criteria]
    info, results = read_run(run_dir)
    written = write_reports(
        run_dir, info, results, markdown_max_bytes=_MARKDOWN_LIMITS[markdown_limit]
    )
    out = console()
    print_summary(out, info, results)
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
