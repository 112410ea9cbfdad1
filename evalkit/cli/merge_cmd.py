"""`evalkit merge`: build one run from the run directories of its shards, then finish it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evalkit.cli.common import console
from evalkit.cli.options import gate_options, history_option
from evalkit.cli.printing import print_finished
from evalkit.gates import EXIT_OK, Gates
from evalkit.history import HistoryLocation
from evalkit.merge import merge_runs
from evalkit.pipeline import FinishOptions, finish_run

__all__ = ["merge"]


@click.command()
@click.argument(
    "run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the merged run (new); its name is the merged run's id.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Merge even when some shards of i/n are missing.",
)
@click.option(
    "--baseline",
    default=None,
    metavar="RUN_DIR|last",
    help="Compare with a run directory, or with `last`: the latest run of the same suites and "
    "target (in the history beside OUT) that met its gates.",
)
@gate_options
@history_option
@click.option(
    "--check-gates",
    is_flag=True,
    help="Exit with the gates' verdict, as `evalkit run` does (default: exit 0 once merged).",
)
def merge(
    run_dirs: tuple[Path, ...],
    out_dir: Path,
    allow_partial: bool,
    baseline: str | None,
    gates: Gates,
    history: HistoryLocation | None,
    check_gates: bool,
) -> None:
    """Merge the shards' RUN_DIRS (from `evalkit run --shard i/n`) into one run in OUT.

    The runs must be parts of one run: the same suites at the same versions, the same target
    and evalkit; a conversation found in two directories is refused. The merged run is then
    finished like any run: reports, JUnit, the gates' verdict, and a record in the history
    beside OUT (so the next night's `--baseline last` finds it).
    """
    merge_runs(list(run_dirs), out_dir, allow_partial=allow_partial)
    options = FinishOptions(
        gates=gates,
        baseline="last" if baseline == "last" else Path(baseline) if baseline else None,
        history=history,
    )
    finished = finish_run(out_dir, options)
    out = console()
    out.print(f"merged {len(run_dirs)} runs into {out_dir}")
    print_finished(out, finished)
    sys.exit(finished.verdict.code if check_gates else EXIT_OK)
