"""`evalkit compare`: a candidate run against a baseline, with gates."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from evalkit.cli.common import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK, console
from evalkit.compare import Change, Comparison, RunSide, compare_runs
from evalkit.report import PR_COMMENT_LIMIT, comparison_view, render_html, render_markdown
from evalkit.results import RunInfo, read_run

__all__ = ["Gates", "compare", "evaluate_gates", "print_comparison"]


@dataclass(frozen=True)
class Gates:
    """The thresholds a run must meet; a threshold of None is not checked."""

    fail_under: float | None = None
    """Lowest acceptable pass rate; None: every conversation must pass."""
    max_regressions: int | None = None
    """Most regressions against the baseline accepted."""
    alpha: float = 0.05
    """Significance level of the regression verdict."""
    max_error_rate: float = 0.05
    """Highest share of conversations that may end in error before the run counts as unmeasured."""


def evaluate_gates(
    info: RunInfo, gates: Gates, comparison: Comparison | None
) -> tuple[int, list[str]]:
    """The exit code and the reasons, worst first: 3 cannot measure, 1 a gate failed, 0 all met.

    Without `--fail-under`, every conversation must pass; with it, the pass rate must reach it.
    """
    summary = info.summary
    if summary.error_rate is not None and summary.error_rate > gates.max_error_rate:
        return EXIT_INCOMPLETE, [
            f"error rate {summary.error_rate:.1%} is above --max-error-rate "
            f"{gates.max_error_rate:.1%}: the run could not measure enough"
        ]
    failed: list[str] = []
    rate = summary.pass_rate
    if gates.fail_under is not None:
        if rate is None or rate < gates.fail_under:
            shown = "—" if rate is None else f"{rate:.1%}"
            failed.append(f"pass rate {shown} is under --fail-under {gates.fail_under:.1%}")
    elif summary.failed:
        failed.append(f"{summary.failed} conversation(s) failed")
    if comparison is not None:
        count = len(comparison.regressions)
        if gates.max_regressions is not None and count > gates.max_regressions:
            failed.append(
                f"{count} regression(s), more than --max-regressions {gates.max_regressions}"
            )
        if comparison.regressed:
            failed.append(f"significant regression against the baseline: {comparison.verdict}")
    if failed:
        return EXIT_FAILED, failed
    return EXIT_OK, ["all gates met"]


def _changes(out: Console, title: str, changes: list[Change], style: str) -> None:
    if not changes:
        return
    out.print(f"[bold]{title}[/] ({len(changes)}):")
    for change in changes:
        reason = f"  {escape(change.reasons[0])}" if change.reasons else ""
        out.print(f"  [{style}]{escape(change.label)}[/]{reason}")


def print_comparison(out: Console, comparison: Comparison) -> None:
    """The comparison for a terminal or a CI log: rates, lists of changes, field deltas, verdict."""

    def rate(side: RunSide) -> str:
        if side.pass_rate is None:
            return "—"
        interval = side.pass_rate_ci
        ci = f" [{interval[0]:.1%}, {interval[1]:.1%}]" if interval else ""
        return f"{side.pass_rate:.1%}{ci}"

    out.print(f"baseline  {escape(comparison.base.run_id)}: pass rate {rate(comparison.base)}")
    out.print(
        f"candidate {escape(comparison.candidate.run_id)}: pass rate {rate(comparison.candidate)}"
    )
    _changes(out, "Regressions", comparison.regressions, "red")
    _changes(out, "Fixes", comparison.fixes, "green")
    _changes(out, "Still failing", comparison.still_failing, "yellow")
    _changes(out, "Set aside (error in either run)", comparison.errors, "yellow")
    _changes(out, "New", comparison.new, "cyan")
    _changes(out, "Removed", comparison.removed, "cyan")
    if comparison.flaky:
        out.print(
            f"[bold]Flaky[/] ({len(comparison.flaky)}): {escape(', '.join(comparison.flaky))}"
        )
    moved = [f for f in comparison.fields if f.accuracy_delta]
    if moved:
        out.print("[bold]Field accuracy[/] (baseline → candidate):")
        for delta in moved:
            points = 100 * (delta.accuracy_delta or 0)
            out.print(
                f"  {escape(delta.field)}: {delta.base_accuracy or 0:.1%} → "
                f"{delta.candidate_accuracy or 0:.1%} ({points:+.1f} points)"
            )
    out.print(f"[bold]verdict:[/] {escape(comparison.verdict)}")


@click.command()
@click.argument("base_run", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("cand_run", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.05,
    show_default=True,
    help="Significance level of the regression verdict.",
)
@click.option(
    "--max-regressions",
    type=click.IntRange(min=0),
    default=None,
    help="Exit 1 when there are more regressions than this.",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 1),
    default=None,
    help="Exit 1 when the candidate's pass rate is under this.",
)
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Exit 3 when more of the candidate's conversations than this are errors.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the candidate's HTML report with the comparison first (verdict, regressions, "
    "per-field deltas, extracted values that changed) to this file.",
)
@click.option(
    "--markdown",
    "markdown_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the same as Markdown, sized for a pull-request comment, to this file.",
)
def compare(
    base_run: Path,
    cand_run: Path,
    alpha: float,
    max_regressions: int | None,
    fail_under: float | None,
    max_error_rate: float,
    as_json: bool,
    html_file: Path | None,
    markdown_file: Path | None,
) -> None:
    """Compare CAND_RUN with BASE_RUN (two run directories), offline.

    Conversations are paired by (suite, id, repeat). Exit codes: 0 gates met; 1 a gate failed
    (a significant regression, or the thresholds given); 2 bad input; 3 too many errors.
    """
    base_info, base_results = read_run(base_run)
    cand_info, cand_results = read_run(cand_run)
    comparison = compare_runs(base_info, base_results, cand_info, cand_results, alpha=alpha)
    gates = Gates(
        fail_under=fail_under,
        max_regressions=max_regressions,
        alpha=alpha,
        max_error_rate=max_error_rate,
    )
    code, reasons = evaluate_gates(cand_info, gates, comparison)
    if html_file is not None or markdown_file is not None:
        view = comparison_view(comparison, base_results, cand_results)
        if html_file is not None:
            page = render_html(cand_info, cand_results, comparison=view)
            html_file.write_text(page, encoding="utf-8")
        if markdown_file is not None:
            text = render_markdown(
                cand_info, cand_results, max_bytes=PR_COMMENT_LIMIT, comparison=view
            )
            markdown_file.write_text(text, encoding="utf-8")
    if as_json:
        payload = comparison.model_dump(mode="json") | {
            "verdict": comparison.verdict,
            "exit": code,
            "reasons": reasons,
        }
        click.echo(json.dumps(payload, indent=2))
        sys.exit(code)
    out = console()
    print_comparison(out, comparison)
    for kind, path in (("HTML", html_file), ("markdown", markdown_file)):
        if path is not None:
            out.print(f"{kind} comparison report: {escape(str(path))}")
    out.print(f"exit {code}: {'; '.join(reasons)}")
    sys.exit(code)
