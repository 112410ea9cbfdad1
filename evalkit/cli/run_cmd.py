"""`evalkit run`: load suites, drive them against a target, report, compare, gate."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit.ci import append_step_summary, git_context
from evalkit.cli.common import EXIT_INTERRUPTED, EXIT_OK, console, history_trend, print_summary
from evalkit.cli.compare_cmd import Gates, evaluate_gates, print_comparison
from evalkit.cli.matrix import parse_configs, run_matrix
from evalkit.cli.targets import FRAMINGS, parse_form_ids, target_from_options
from evalkit.client import Mode, RetryPolicy
from evalkit.compare import compare_runs
from evalkit.errors import UsageError
from evalkit.history import HISTORY_FILE, last_good_run, record_run
from evalkit.junit import write_junit
from evalkit.loader import SuiteFile, index_suites
from evalkit.merge import suite_key, target_key
from evalkit.report import write_reports
from evalkit.results import ConversationResult, RunInfo, StoredResults, parse_shard, read_run
from evalkit.runner import (
    RunOutcome,
    RunSettings,
    Target,
    emulator_target,
    planned_keys,
    run_sync,
)
from evalkit.version import __version__

__all__ = ["run"]


def _resume_defaults(
    resume: Path, paths: tuple[str, ...], target_name: str | None, framing: Mode | None
) -> tuple[tuple[str, ...], str | None, Mode | None]:
    """Fill what a resumed run leaves out from the run it resumes: its suites, target, framing."""
    info = read_run(resume)[0]
    if not paths:
        paths = tuple(s.path for s in info.suites)
    if target_name is None and info.target.name == "emulator":
        target_name = "emulator"
    if framing is None and info.target.framing in FRAMINGS:
        framing = info.target.framing
    return paths, target_name, framing


@contextmanager
def _progress(out: Console, total: int) -> Iterator[Callable[[ConversationResult], Any]]:
    """A progress bar on a terminal; silence in CI logs."""
    if not out.is_terminal:
        yield lambda result: None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task("conversations", total=total)
        yield lambda result: progress.advance(task)


def _load(paths: Sequence[str]) -> list[SuiteFile]:
    # Validated all at once, kept small: each file is read again when the run reaches it.
    return index_suites(list(paths))


@click.command()
@click.argument("paths", nargs=-1)
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
    default=None,
    help="Streamed endpoints asking for this framing, or the unary endpoints. [default: sse]",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Most conversations in flight at once (lowered automatically on 429).",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=None,
    help="Requests per minute for the whole run; 0 for none. [default: 200 for wix, else none]",
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
    help="Wall-clock seconds allowed for one exchange, retries included.",
)
@click.option(
    "--conversation-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Wall-clock seconds allowed for a whole conversation.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Retries of a request that failed before its response began (connect errors, "
    "408, 429, 5xx), with backoff from 0.5 s doubling to 8 s, honouring Retry-After.",
)
@click.option(
    "--restarts",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Restarts of a conversation on a fresh session after a stream broke mid-way.",
)
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Exit 3 when more than this share of conversations end in error.",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 1),
    default=None,
    help="Exit 1 when the pass rate is under this (default: exit 1 on any failure).",
)
@click.option(
    "--baseline",
    default=None,
    metavar="RUN_DIR|last",
    help="Compare with a run directory, or with `last`: the latest run of the same suites and "
    "target (in OUT/history.db) that met its gates. Shows regressions, fixes and a verdict.",
)
@click.option(
    "--max-regressions",
    type=click.IntRange(min=0),
    default=None,
    help="With --baseline: exit 1 when there are more regressions than this.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.05,
    show_default=True,
    help="With --baseline: exit 1 on a regression significant at this level (McNemar).",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=None,
    help="Run every conversation N times (default: as each suite says) to measure flakiness.",
)
@click.option(
    "--config",
    "configs",
    multiple=True,
    metavar="LABEL[:KEY]=FORM_ID",
    help="Run the suites once per configuration LABEL (repeatable) and show them side by side; "
    "KEY is a suite's form key (default: every form). E.g. --config v1=contact "
    "--config v2=contact-v2.",
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    help="Run only shard I of N (a stable split by conversation); merge with `evalkit merge`.",
)
@click.option(
    "--resume",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Finish an interrupted run: run only the conversations of RUN_DIR without a result.",
)
@click.option(
    "--retry-errors",
    is_flag=True,
    help="With --resume: also run again the conversations whose result is an error.",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="On Ctrl-C or SIGTERM, seconds in-flight conversations get to finish.",
)
def run(
    paths: tuple[str, ...],
    target_name: str | None,
    base_url: str | None,
    framing: Mode | None,
    concurrency: int,
    rate_limit: float | None,
    out_root: Path,
    form_id_pairs: tuple[str, ...],
    forms_dirs: tuple[Path, ...],
    turn_timeout: float,
    conversation_timeout: float,
    retries: int,
    restarts: int,
    max_error_rate: float,
    fail_under: float | None,
    baseline: str | None,
    max_regressions: int | None,
    alpha: float,
    repeat: int | None,
    configs: tuple[str, ...],
    shard: str | None,
    resume: Path | None,
    retry_errors: bool,
    grace: float,
) -> None:
    """Run the suites in PATHS (files or directories of *.eval.yaml) and write reports.

    Exit codes: 0 all passed; 1 some failed; 2 bad input; 3 too many errors (see
    --max-error-rate); 130 interrupted (finish with --resume).
    """
    out = console()
    if retry_errors and resume is None:
        raise UsageError("--retry-errors goes with --resume RUN_DIR")
    if resume is not None:
        paths, target_name, framing = _resume_defaults(resume, paths, target_name, framing)
        out_root, run_id = resume.parent, resume.name
    else:
        run_id = None
    if not paths:
        raise UsageError("name the suites to run (files or directories), or --resume RUN_DIR")
    mode: Mode = framing or "sse"
    form_ids = parse_form_ids(form_id_pairs)
    target = target_from_options(target_name, base_url, mode, form_ids, rate_limit)
    suites = _load(paths)
    settings = RunSettings(
        concurrency=concurrency,
        turn_timeout=turn_timeout,
        conversation_timeout=conversation_timeout,
        restarts=restarts,
        retry=RetryPolicy(retries=retries),
        grace=grace,
        repeat=repeat,
        shard=parse_shard(shard),
    )
    gates = Gates(
        fail_under=fail_under,
        max_regressions=max_regressions,
        alpha=alpha,
        max_error_rate=max_error_rate,
    )
    explicit = baseline if baseline not in (None, "last") else None
    if resume is not None and explicit is not None and Path(explicit).resolve() == resume.resolve():
        raise UsageError(f"--baseline {explicit} is the run being resumed: compare with another")
    base = read_run(Path(explicit)) if explicit is not None else None
    first = Path(paths[0])
    git = git_context(os.environ, first.parent if first.is_file() else first)
    git_commit, git_branch = git.commit, git.branch
    total = sum(1 for _ in planned_keys(suites, repeat=settings.repeat, shard=settings.shard))
    if configs:
        if resume is not None or baseline is not None:
            raise UsageError(
                "--config runs a new matrix; it does not go with --resume or --baseline"
            )
        run_matrix(
            out,
            suites,
            target,
            mode,
            forms_dirs,
            parse_configs(configs),
            settings,
            gates,
            out_root,
        )
    context: AbstractContextManager[Target] = (
        emulator_target(suites, mode=mode, forms=forms_dirs, form_ids=form_ids)
        if target is None
        else nullcontext(target)
    )
    with context as chosen:
        verb = "resuming" if resume else "running"
        out.print(
            f"evalkit {__version__}: {verb} {total} conversations from {len(suites)} suite(s) "
            f"against {chosen.name} ({mode})"
        )
        with _progress(out, total) as advance:
            outcome: RunOutcome = run_sync(
                suites,
                chosen,
                out_root=out_root,
                settings=settings,
                run_id=run_id,
                resume=resume is not None,
                retry_errors=retry_errors,
                on_result=advance,
                handle_signals=True,
                git_commit=git_commit,
                git_branch=git_branch,
            )
    history_db = out_root / HISTORY_FILE
    if baseline == "last":
        base = _last_good(out, history_db, outcome.info, git_branch)
    comparison = (
        compare_runs(base[0], base[1], outcome.info, outcome.results, alpha=alpha)
        if base is not None
        else None
    )
    paths_written = write_reports(
        outcome.run_dir,
        outcome.info,
        outcome.results,
        comparison=comparison,
        baseline_results=base[1] if base is not None else None,
        history=history_trend(history_db, outcome.info),
    )
    junit = write_junit(outcome.run_dir, outcome.info, outcome.results)
    print_summary(out, outcome.info, outcome.results)
    if comparison is not None:
        print_comparison(out, comparison)
    if outcome.info.interrupted:
        code, reasons = (
            EXIT_INTERRUPTED,
            [
                f"interrupted after {outcome.info.summary.total} conversation(s); "
                f"finish it with: evalkit run --resume {outcome.run_dir}"
            ],
        )
    else:
        code, reasons = evaluate_gates(outcome.info, gates, comparison)
    record_run(
        history_db,
        outcome.run_dir,
        outcome.info,
        outcome.results,
        gates_met=code == EXIT_OK,
        branch=git_branch,
        commit=git_commit,
    )
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        append_step_summary(
            paths_written["markdown"].read_text(encoding="utf-8"), Path(summary_file)
        )
    out.print(f"results: {outcome.run_dir / 'results.jsonl'}")
    out.print(f"JUnit XML: {junit}")
    out.print(f"markdown report: {paths_written['markdown']}")
    out.print(f"HTML report: {paths_written['html']}")
    out.print(f"exit {code}: {'; '.join(reasons)}")
    sys.exit(code)


def _last_good(
    out: Console, history_db: Path, info: RunInfo, branch: str | None
) -> tuple[RunInfo, StoredResults] | None:
    """The run `--baseline last` means, read; None (said aloud) when there is none yet.

    That is the latest run of the same suites and target, on the same branch when it is known,
    that met its gates.
    """
    found = last_good_run(
        history_db,
        suite_key=suite_key(info.suites),
        target_key=target_key(info.target),
        branch=branch,
        exclude=info.run_id,
    )
    if found is None:
        out.print(
            "baseline: no earlier run of these suites and target met its gates "
            f"(in {history_db}); nothing to compare with"
        )
        return None
    out.print(f"baseline: {found}")
    return read_run(found)
