"""The `evalkit` command: a thin layer that parses options, calls the library and prints.

Exit codes: 0 all gates met; 1 failures; 2 bad input or usage (every problem printed with
`path:line`); 3 the run could not be completed (error rate above `--max-error-rate`).
Every option can also be set through an `EVALKIT_<OPTION>` environment variable
(e.g. `EVALKIT_RUN_CONCURRENCY=8`); a flag on the command line wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Literal, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit import __version__
from evalkit.client import WIX_BASE_URL, Credentials, Mode
from evalkit.emulator import serve
from evalkit.errors import EvalkitError, RunFileError, SuiteError, UsageError
from evalkit.loader import load_suites
from evalkit.report import write_reports
from evalkit.results import ConversationResult, RunInfo, read_run
from evalkit.runner import RunOutcome, Target, emulator_target, run_sync
from evalkit.suite import LoadedSuite

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
FRAMINGS = ("sse", "ndjson", "json-array", "unary")
StreamFraming = Literal["sse", "ndjson", "json-array"]


def _console(*, stderr: bool = False) -> Console:
    """A console that never wraps lines, so paths and reasons stay whole in CI logs."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _fail(console: Console, message: str, code: int = EXIT_USAGE) -> NoReturn:
    console.print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


class _Group(click.Group):
    """Maps evalkit's exceptions to exit codes and readable messages (no tracebacks)."""

    def invoke(self, ctx: click.Context) -> Any:
        err = _console(stderr=True)
        try:
            return super().invoke(ctx)
        except SuiteError as exc:
            count = len(exc.problems)
            err.print(f"[bold red]{count} problem{'s' if count != 1 else ''} in the suites:[/]")
            for problem in exc.problems:
                err.print(escape(str(problem)), soft_wrap=True)
            err.print("Nothing was run. Fix the problems above and try again.")
            sys.exit(EXIT_USAGE)
        except (UsageError, RunFileError) as exc:
            _fail(err, str(exc))
        except EvalkitError as exc:
            _fail(err, str(exc), EXIT_INCOMPLETE)


@click.group(cls=_Group, context_settings={"auto_envvar_prefix": "EVALKIT"})
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Evaluate AI conversational forms: run YAML suites against a target and report."""


def _parse_form_ids(values: Sequence[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value in values:
        key, sep, form_id = value.partition("=")
        if not sep or not key or not form_id:
            raise UsageError(f"--form-id takes KEY=FORM_ID, got {value!r}")
        mapping[key] = form_id
    return mapping


def _target(
    name: str | None,
    base_url: str | None,
    mode: Mode,
    form_ids: dict[str, str],
) -> Target | None:
    """The target from the options, or None for the emulator (started by the caller)."""
    name = name or ("custom" if base_url else "emulator")
    credentials = Credentials.from_env(os.environ)
    if name == "emulator":
        if base_url:
            raise UsageError("--target emulator starts its own server; drop --base-url")
        return None
    if name == "wix" and credentials is None:
        raise UsageError(
            "--target wix needs credentials: set WIX_API_KEY (and WIX_SITE_ID for a site-level key)"
        )
    if name == "custom" and not base_url:
        raise UsageError("--target custom needs --base-url URL")
    url = base_url or WIX_BASE_URL
    return Target(
        name="wix" if name == "wix" else "custom",
        base_url=url,
        mode=mode,
        form_ids=form_ids,
        credentials=credentials,
    )


@contextmanager
def _progress(console: Console, total: int) -> Iterator[Any]:
    """A progress bar on a terminal; silence in CI logs."""
    if not console.is_terminal:
        yield lambda result: None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("conversations", total=total)
        yield lambda result: progress.advance(task)


def _print_summary(console: Console, info: RunInfo, results: Sequence[ConversationResult]) -> None:
    summary = info.summary
    rate = "—" if summary.pass_rate is None else f"{summary.pass_rate:.1%}"
    console.print(
        f"[bold]{summary.total}[/] conversations: [green]{summary.passed} passed[/], "
        f"[red]{summary.failed} failed[/], [yellow]{summary.errors} errors[/]"
        f"{f', {summary.skipped} skipped' if summary.skipped else ''}; pass rate {rate}"
    )
    bad = [r for r in results if r.status in ("fail", "error")]
    if bad:
        console.print("[bold]Failures and errors[/] (status, conversation, where, first reason):")
    for result in bad:
        if result.error is not None:
            reason = f"{result.error.kind}: {result.error.message}"
        else:
            failed = [f"{f.field}: {f.reason}" for f in result.fields if not f.passed]
            failed += [f"{c.check}: {c.reason}" for c in result.checks if not c.passed]
            reason = failed[0] if failed else ""
        style = "red" if result.status == "fail" else "yellow"
        console.print(
            f"  [{style}]{result.status:<5}[/] {escape(result.suite)}/"
            f"{escape(result.conversation_id)}  {escape(result.source)}  {escape(reason)}"
        )


def _exit_code(info: RunInfo, max_error_rate: float) -> tuple[int, str]:
    summary = info.summary
    if summary.error_rate is not None and summary.error_rate > max_error_rate:
        return EXIT_INCOMPLETE, (
            f"error rate {summary.error_rate:.1%} is above --max-error-rate {max_error_rate:.1%}: "
            "the run could not measure enough"
        )
    if summary.failed:
        return EXIT_FAILED, f"{summary.failed} conversation(s) failed"
    return EXIT_OK, "all conversations passed"


def _load(paths: Sequence[str]) -> list[LoadedSuite]:
    return load_suites(list(paths))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--target",
    "target_name",
    type=click.Choice(["emulator", "wix", "custom"]),
    default=None,
    help="emulator (default): start the built-in emulator; wix: the real service "
    "(WIX_API_KEY, WIX_SITE_ID); custom: any server at --base-url.",
)
@click.option("--base-url", default=None, help="API root of a server that speaks the API.")
@click.option(
    "--framing",
    type=click.Choice(FRAMINGS),
    default="sse",
    show_default=True,
    help="Streamed endpoints asking for this framing, or the unary endpoints.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Conversations in flight at once.",
)
@click.option(
    "--out",
    "out_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Output root; the run goes to OUT/<run-id>/.",
)
@click.option(
    "--form-id",
    "form_id_pairs",
    multiple=True,
    metavar="KEY=ID",
    help="Map a suite's form key to the form id sent (repeatable).",
)
@click.option(
    "--forms",
    "forms_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Extra directory of *.form.yaml for the emulator (default: forms/ beside each suite).",
)
@click.option(
    "--turn-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Wall-clock seconds allowed for one exchange.",
)
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Exit 3 when more than this share of conversations end in error.",
)
def run(
    paths: tuple[str, ...],
    target_name: str | None,
    base_url: str | None,
    framing: Mode,
    concurrency: int,
    out_root: Path,
    form_id_pairs: tuple[str, ...],
    forms_dirs: tuple[Path, ...],
    turn_timeout: float,
    max_error_rate: float,
) -> None:
    """Run the suites in PATHS (files or directories of *.eval.yaml) and write reports."""
    console = _console()
    target = _target(target_name, base_url, framing, _parse_form_ids(form_id_pairs))
    suites = _load(paths)
    total = sum(len(s.suite.conversations) for s in suites)
    context: AbstractContextManager[Target] = (
        emulator_target(suites, mode=framing, forms=forms_dirs)
        if target is None
        else nullcontext(target)
    )
    with context as chosen:
        console.print(
            f"evalkit {__version__}: {total} conversations from {len(suites)} suite(s) "
            f"against {chosen.name} ({framing})"
        )
        with _progress(console, total) as advance:
            outcome: RunOutcome = run_sync(
                suites,
                chosen,
                out_root=out_root,
                concurrency=concurrency,
                turn_timeout=turn_timeout,
                on_result=advance,
            )
    paths_written = write_reports(outcome.run_dir, outcome.info, outcome.results)
    _print_summary(console, outcome.info, outcome.results)
    console.print(f"results: {outcome.run_dir / 'results.jsonl'}")
    console.print(f"markdown report: {paths_written['markdown']}")
    console.print(f"HTML report: {paths_written['html']}")
    code, reason = _exit_code(outcome.info, max_error_rate)
    console.print(f"exit {code}: {reason}")
    sys.exit(code)


@main.command()
@click.argument("paths", nargs=-1, required=True)
def validate(paths: tuple[str, ...]) -> None:
    """Check the suites in PATHS without running them (exit 2 and every problem if broken)."""
    suites = _load(paths)
    total = sum(len(s.suite.conversations) for s in suites)
    for loaded in suites:
        click.echo(
            f"ok  {loaded.path}: {loaded.name}, {len(loaded.suite.conversations)} conversations"
        )
    click.echo(f"{len(suites)} suite(s), {total} conversations: valid")


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def report(run_dir: Path) -> None:
    """Render the HTML and Markdown reports of RUN_DIR again (offline)."""
    info, results = read_run(run_dir)
    written = write_reports(run_dir, info, results)
    _print_summary(_console(), info, results)
    click.echo(f"markdown report: {written['markdown']}")
    click.echo(f"HTML report: {written['html']}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--forms",
    "forms_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("suites/forms"),
    show_default=True,
    help="Directory of *.form.yaml.",
)
@click.option(
    "--framing",
    type=click.Choice(FRAMINGS[:3]),
    default="sse",
    show_default=True,
    help="Framing of streamed responses when the client's Accept header does not choose one.",
)
@click.option(
    "--chunk-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds between streamed chunks.",
)
def emulator(
    host: str, port: int, forms_dir: Path, framing: StreamFraming, chunk_delay: float
) -> None:
    """Serve the built-in emulator of the Interactive Form Sessions API."""

    def ready(base_url: str, form_ids: dict[str, str]) -> None:
        click.echo(f"emulator listening on {base_url} (forms from {forms_dir}); Ctrl-C stops it")
        for key, form_id in sorted(form_ids.items()):
            click.echo(f"  form {key}: formId {form_id}")

    serve(forms_dir, host=host, port=port, framing=framing, chunk_delay=chunk_delay, on_ready=ready)
