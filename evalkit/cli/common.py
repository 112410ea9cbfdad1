"""What every command shares: the console, exit codes, and the mapping of errors to them."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from evalkit.errors import EvalkitError, RunFileError, SuiteError, UsageError
from evalkit.history import list_runs, target_key
from evalkit.report import TrendPoint
from evalkit.results import ConversationResult, RunInfo

__all__ = [
    "EXIT_FAILED",
    "EXIT_INCOMPLETE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EvalkitGroup",
    "console",
    "fail",
    "history_trend",
    "print_summary",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def console(*, stderr: bool = False) -> Console:
    """A console that never wraps lines, so paths and reasons stay whole in CI logs."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def fail(out: Console, message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error and exit with `code`."""
    out.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


class EvalkitGroup(click.Group):
    """Maps evalkit's exceptions to exit codes and readable messages (no tracebacks)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a `SuiteError` or usage problem exits 2, another evalkit error 3."""
        err = console(stderr=True)
        try:
            return super().invoke(ctx)
        except SuiteError as exc:
            count = len(exc.problems)
            err.print(f"[bold red]{count} problem{'s' if count != 1 else ''} in the suites:[/]")
            for problem in exc.problems:
                err.print(escape(str(problem)))
            err.print("Nothing was run. Fix the problems above and try again.")
            sys.exit(EXIT_USAGE)
        except (UsageError, RunFileError) as exc:
            fail(err, str(exc))
        except EvalkitError as exc:
            fail(err, str(exc), EXIT_INCOMPLETE)


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


TREND_RUNS = 19
"""Earlier runs a report's pass-rate trend shows (with the run itself, 20 points)."""


def history_trend(db_path: Path, info: RunInfo) -> list[TrendPoint]:
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
