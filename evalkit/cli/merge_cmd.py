"""`evalkit merge`: build one run from the run directories of its shards, and render it."""

from __future__ import annotations

from pathlib import Path

import click

from evalkit.cli.common import console, print_summary
from evalkit.junit import write_junit
from evalkit.merge import merge_runs
from evalkit.report import write_reports
from evalkit.results import read_run

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
def merge(run_dirs: tuple[Path, ...], out_dir: Path, allow_partial: bool) -> None:
    """Merge the shards' RUN_DIRS (from `evalkit run --shard i/n`) into one run in OUT.

    The runs must be parts of one run: the same suites at the same versions, the same target
    and evalkit; a conversation found in two directories is refused. The merged run is a run
    directory like any other: report, compare and --baseline read it. Gates are applied by
    `evalkit compare` on it; this command exits 0 once the run is merged.
    """
    merge_runs(list(run_dirs), out_dir, allow_partial=allow_partial)
    info, results = read_run(out_dir)
    written = write_reports(out_dir, info, results)
    junit = write_junit(out_dir, info, results)
    out = console()
    print_summary(out, info, results)
    click.echo(f"merged {len(run_dirs)} runs into {out_dir}")
    click.echo(f"results: {out_dir / 'results.jsonl'}")
    click.echo(f"markdown report: {written['markdown']}")
    click.echo(f"HTML report: {written['html']}")
    click.echo(f"JUnit XML: {junit}")
