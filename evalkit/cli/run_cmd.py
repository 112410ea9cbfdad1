"""`evalkit run`: load suites, drive them against a target, then the pipeline after a run."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, cast

import click
from rich.console import Console
from rich.markup import escape

from evalkit.ci import git_context
from evalkit.cli.common import console, project
from evalkit.cli.knob_options import EmulatorChoice, emulator_options
from evalkit.cli.options import (
    gate_options,
    history_option,
    scope_options,
    selection_options,
    settings_options,
    target_options,
    variants_option,
)
from evalkit.cli.printing import print_finished, print_matrix
from evalkit.cli.progress import DEFAULT_INTERVAL, progress
from evalkit.configurations import parse_configs, run_configurations
from evalkit.errors import SuiteError, UsageError
from evalkit.formcheck import check_suites
from evalkit.gates import EXIT_INTERRUPTED, Gates
from evalkit.history import HistoryLocation
from evalkit.loader import LoadOptions, SuiteFile, discover
from evalkit.loader.scope import ProjectSettings, form_folders, undefined_forms
from evalkit.pipeline import Finished, FinishOptions, finish_run
from evalkit.results import RunInfo, Selection, TargetInfo, read_run
from evalkit.runner import RunSettings, deferred_signals, planned_keys, run_sync
from evalkit.runner.description import (
    TargetOptions,
    describe_target,
    open_target,
    project_options,
    resumed_target,
)
from evalkit.runner.preflight import preflight
from evalkit.runner.selection import select_suites
from evalkit.suite import VARIANT_KINDS, VariantKind
from evalkit.version import __version__

__all__ = ["run"]


def _finish_options(
    baseline: str | None, resume: Path | None, gates: Gates, history: HistoryLocation | None
) -> FinishOptions:
    """What to do after the run: the baseline (checked now, before anything runs), gates, CI."""
    base: Path | Literal["last"] | None = None
    if baseline == "last":
        base = "last"
    elif baseline is not None:
        base = Path(baseline)
        if resume is not None and base.resolve() == resume.resolve():
            raise UsageError(
                f"--baseline {baseline} is the run being resumed: compare with another"
            )
        read_run(base)  # a baseline that cannot be read stops the run before it starts
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    return FinishOptions(
        gates=gates,
        baseline=base,
        history=history,
        step_summary=Path(step_summary) if step_summary else None,
    )


def _files(paths: tuple[str, ...]) -> list[str]:
    try:
        return [str(f) for f in discover(paths)]
    except SuiteError:
        return []  # check_suites reports what discovery found wrong, with everything else


def _selection(selection: Selection | None, resume: Path | None) -> Selection | None:
    """The selection a run takes: the options', or for a resume the one in its `run.json`."""
    if resume is None:
        return selection
    stored = read_run(resume)[0].selection
    if selection is not None and selection != stored:
        used = stored.describe() if stored is not None else "every conversation"
        raise UsageError(f"a resumed run keeps its selection ({used}); drop {selection.describe()}")
    return stored


def _resumed_scope(info: RunInfo, scope: LoadOptions) -> LoadOptions:
    """The load options of a resume: with the `--variants` its run was started with."""
    kinds = next((s.variants for s in info.suites if s.variants), [])
    unknown = [k for k in kinds if k not in VARIANT_KINDS]
    if unknown:
        raise UsageError(
            f"run.json names variant kinds evalkit does not know: {', '.join(unknown)}"
        )
    if scope.variants and set(scope.variants) != set(kinds):  # the order makes no other copy
        used = f"--variants {','.join(kinds)}" if kinds else "no --variants"
        raise UsageError(
            f"a resumed run keeps the variants it started with ({used}); drop --variants"
        )
    return replace(scope, variants=tuple(cast(VariantKind, k) for k in kinds))


def _plan(
    paths: tuple[str, ...],
    options: TargetOptions,
    resume: Path | None,
    scope: LoadOptions,
    settings: ProjectSettings | None,
) -> tuple[list[SuiteFile], TargetInfo]:
    """The suites and the target: the options', or for a resume the ones in its `run.json`.

    For a new run, the project configuration fills in the target options not given, and the
    emulator's forms are looked for beside each suite, up to the project root, and in the
    configured forms folder; a form none of them defines stops the run, saying where it looked.
    """
    if resume is None:
        if not paths:
            raise UsageError("name the suites to run (files or directories), or --resume RUN_DIR")
        files = _files(paths)
        options = project_options(options, settings, files)
        description = describe_target(options, os.environ)
        looked = form_folders(files, settings, given=options.forms)
        forms = [folder for folder in looked if folder.is_dir()]
    else:
        info = read_run(resume)[0]
        description = resumed_target(info.target, options)
        scope = _resumed_scope(info, scope)
        paths = paths or tuple(s.path for s in info.suites)
        forms = [Path(f) for f in description.forms]
    # Validated all at once (fields checked against the forms known), before anything is sent;
    # kept small: each file is read again when the run reaches it.
    checked = check_suites(paths, forms=forms, form_ids=description.form_ids, options=scope)
    if resume is None and description.name == "emulator":
        hint = "; give --forms DIR, or `forms` in the project configuration"
        missing = undefined_forms([(s.path, s.form) for s in checked.suites], looked, hint=hint)
        if missing:
            raise SuiteError(missing)
    for note in checked.notes:
        console(stderr=True).print(f"note: {escape(note)}")
    return checked.suites, description


def _matrix(
    out: Console,
    suites: list[SuiteFile],
    description: TargetInfo,
    configs: tuple[str, ...],
    settings: RunSettings,
    gates: Gates,
    out_root: Path,
    check_first: bool,
) -> None:
    """Run the configuration matrix, print it, and exit with its verdict."""
    outcome = run_configurations(
        suites,
        description,
        parse_configs(configs),
        settings=settings,
        gates=gates,
        out_root=out_root,
        environ=os.environ,
        preflight=check_first,
        on_config=lambda label, t: out.print(
            f"configuration {escape(label)}: form ids {escape(str(dict(t.form_ids)))}"
        ),
    )
    print_matrix(out, outcome)
    sys.exit(outcome.verdict.code)


def _run_and_finish(
    out: Console,
    suites: list[SuiteFile],
    description: TargetInfo,
    settings: RunSettings,
    finish: FinishOptions,
    how: tuple[Path, Path | None, bool, bool],
    knobs: dict[str, Any],
    interval: float,
) -> tuple[Finished, list[int]]:
    """Run the conversations, then the pipeline; also the signals that came while finishing.

    `how` is the output root, the run to resume (or None), whether to retry its errors, and
    whether to preflight the target first; `knobs` go to the emulator; `interval` is the
    seconds between progress lines without a terminal.
    """
    out_root, resume, retry_errors, check_first = how
    git = git_context(os.environ, Path(suites[0].path).parent if suites else Path.cwd())
    selected = select_suites(suites, settings.selection)
    total = sum(1 for _ in planned_keys(selected, repeat=settings.repeat, shard=settings.shard))
    with ExitStack() as finishing:
        with open_target(description, suites, os.environ, **knobs) as target:
            out.print(
                f"evalkit {__version__}: {'resuming' if resume else 'running'} {total} "
                f"conversations from {len(suites)} suite(s) against {target.name} ({target.mode})"
            )
            if check_first:
                checked = asyncio.run(preflight(target, {s.form for s in suites}, settings))
                out.print(f"preflight: {checked} form(s) answered")
            if settings.selection is not None:
                out.print(f"selection: {escape(settings.selection.describe())}")
            with progress(out, total, interval=interval) as advance:
                # From here to the last artifact, a signal stops the conversations (run_sync)
                # or waits for the artifacts to be consistent (deferred), never cuts them.
                held = finishing.enter_context(deferred_signals())
                outcome = run_sync(
                    suites,
                    target,
                    out_root=resume.parent if resume else out_root,
                    settings=settings,
                    run_id=resume.name if resume else None,
                    resume=resume is not None,
                    retry_errors=retry_errors,
                    on_result=advance,
                    handle_signals=True,
                    git_commit=git.commit,
                    git_branch=git.branch,
                )
        return finish_run(outcome.run_dir, finish), held


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--out",
    "out_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output root; the run goes to OUT/<run-id>/. [default: `out` of the project "
    "configuration, else reports]",
)
@click.option(
    "--progress-interval",
    type=click.FloatRange(min=0),
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="Without a terminal (CI), seconds between progress lines (done/total, passed, failed, "
    "errors, rate, ETA); 0: a line per conversation.",
)
@click.option(
    "--baseline",
    default=None,
    metavar="RUN_DIR|last",
    help="Compare with a run directory, or with `last`: the latest run of the same suites and "
    "target (in the history: --history, or OUT/history.db) that met its gates and whose run "
    "directory is here. Shows regressions, fixes and a verdict.",
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
    "--preflight/--no-preflight",
    default=True,
    show_default=True,
    help="Before the first conversation, open one dry-run session per form: a form the target "
    "does not know exits 2 with its answer, an unreachable target exits 3.",
)
@target_options
@selection_options
@scope_options
@variants_option
@settings_options
@gate_options
@history_option
@emulator_options
def run(
    paths: tuple[str, ...],
    target: TargetOptions,
    selection: Selection | None,
    scope: LoadOptions,
    out_root: Path | None,
    progress_interval: float,
    baseline: str | None,
    configs: tuple[str, ...],
    resume: Path | None,
    retry_errors: bool,
    preflight: bool,
    settings: RunSettings,
    gates: Gates,
    history: HistoryLocation | None,
    emulator: EmulatorChoice,
) -> None:
    """Run the suites in PATHS (files or directories of *.eval.yaml) and write reports.

    Exit codes: 0 all passed; 1 some failed; 2 bad input; 3 too many errors (see
    --max-error-rate); 130 interrupted (finish with --resume).
    """
    out = console()
    if retry_errors and resume is None:
        raise UsageError("--retry-errors goes with --resume RUN_DIR")
    if configs and (resume is not None or baseline is not None):
        raise UsageError("--config runs a new matrix; it does not go with --resume or --baseline")
    config = project()
    if not paths and resume is None and config is not None and config.suites is not None:
        paths = (os.path.relpath(config.suites),)  # the project's suites folder
    root = out_root or (config.out if config is not None and config.out else Path("reports"))
    finish = _finish_options(baseline, resume, gates, history)
    settings = replace(settings, selection=_selection(selection, resume))
    suites, description = _plan(paths, target, resume, scope, config)
    knobs = emulator.knobs(config.emulator_profile if config is not None else None)
    if knobs is not None and description.name != "emulator":
        raise UsageError("--emulator-* options and a profile go with the emulator target only")
    if configs:
        if knobs is not None or settings.selection is not None:
            raise UsageError("--config runs every conversation on the emulator's defaults")
        _matrix(out, suites, description, configs, settings, gates, root, preflight)
    given = knobs.model_fields_set - {"framing"} if knobs is not None else set()
    finished, held = _run_and_finish(
        out,
        suites,
        description,
        settings,
        finish,
        (root, resume, retry_errors, preflight),
        {name: getattr(knobs, name) for name in given},
        progress_interval,
    )
    print_finished(out, finished)
    if held and finished.verdict.code != EXIT_INTERRUPTED:
        out.print("interrupted while finishing: the artifacts above are complete; exit 130")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(finished.verdict.code)
