"""What commands print: the run summary, a comparison, a finished run."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape

from evalkit.pipeline import Change, Comparison, Finished, RunSide
from evalkit.results import ConversationResult, RunInfo

__all__ = ["print_comparison", "print_finished", "print_summary"]


def print_summary(out: Console, info: RunInfo, results: Iterable[ConversationResult]) -> None:
    """The terminal summary: counts, pass rate, then one line per failure or error."""
    summary = info.summary
    rate = "—" if summary.pass_rate is None else f"{summary.pass_rate:.1%}"
    out.print(
        f"[bold]{summary.total}[/] conversations: [green]{summary.passed} passed[/], "
        f"[red]{summary.failed} failed[/], [yellow]{summary.errors} errors[/]"
        f"{f', {summary.skipped} skipped' if summary.skipped else ''}; pass rate {rate}"
    )
    heading = True
    for result in results:  # streamed: a large run's failures are printed, not held
        if result.status not in ("fail", "error"):
            continue
        if heading:
            out.print("[bold]Failures and errors[/] (status, conversation, where, first reason):")
            heading = False
        if result.error is not None:
            reason = f"{result.error.kind}: {result.error.message}"
        else:
            failed = [f"{f.field}: {f.reason}" for f in result.fields if not f.passed]
            failed += [f"{c.check}: {c.reason}" for c in result.checks if not c.passed]
            reason = failed[0] if failed else ""
        style = "red" if result.status == "fail" else "yellow"
        out.print(
            f"  [{style}]{result.status:<5}[/] {escape(result.suite)}/"
            f"{escape(result.conversation_id)}  {escape(result.source)}  {escape(reason)}"
        )


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


def print_finished(out: Console, finished: Finished) -> None:
    """What a finished run prints: baseline, summary, comparison, the files, the exit line."""
    if finished.baseline_note is not None:
        out.print(escape(finished.baseline_note))
    print_summary(out, finished.info, finished.results)
    if finished.comparison is not None:
        print_comparison(out, finished.comparison)
    out.print(f"results: {escape(str(finished.run_dir / 'results.jsonl'))}")
    if finished.junit is not None:
        out.print(f"JUnit XML: {escape(str(finished.junit))}")
    out.print(f"markdown report: {escape(str(finished.reports['markdown']))}")
    out.print(f"HTML report: {escape(str(finished.reports['html']))}")
    out.print(f"exit {finished.verdict.code}: {escape('; '.join(finished.verdict.reasons))}")
