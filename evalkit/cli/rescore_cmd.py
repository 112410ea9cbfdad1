"""`evalkit rescore`: score a stored run's transcripts again against the suites as they are now.

No request is sent: the new run directory holds the stored transcripts with fresh verdicts, names
the run it came from, and is finished like any run (reports, JUnit, the gates' verdict), compared
with the stored run so the verdicts that changed come first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from evalkit.cli.common import console
from evalkit.cli.options import gate_options, scope_options, variants_option
from evalkit.cli.printing import print_finished
from evalkit.cli.terminal import inert
from evalkit.gates import Gates
from evalkit.loader import LoadOptions
from evalkit.pipeline import FinishOptions, finish_run
from evalkit.rescore import rescore_run

__all__ = ["rescore"]


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("suites", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the rescored run (new); by default a new run id beside RUN_DIR.",
)
@click.option(
    "--no-compare",
    is_flag=True,
    help="Do not compare the rescored run with RUN_DIR in its reports.",
)
@gate_options
@scope_options
@variants_option
def rescore(
    run_dir: Path,
    suites: tuple[Path, ...],
    out_dir: Path | None,
    no_compare: bool,
    gates: Gates,
    scope: LoadOptions,
) -> None:
    """Score the transcripts of RUN_DIR again against SUITES as they are now, offline.

    SUITES defaults to the suite files RUN_DIR recorded. A conversation whose utterances (or
    prefill, or `set` values) changed since the run cannot be rescored: it is kept as skipped
    and listed. A persona conversation is replayed through the rule-based simulator: it is
    rescored when the persona as it is now says exactly what the run sent, else refused with
    the first turn that differs (a run the LLM simulator played is refused). Exits with the
    gates' verdict, as `evalkit run` does.
    """
    rescored = rescore_run(run_dir, list(suites), out_dir, options=scope)
    options = FinishOptions(gates=gates, baseline=None if no_compare else run_dir, record=False)
    finished = finish_run(rescored.run_dir, options)
    out = console()
    out.print(
        f"rescored {escape(str(run_dir))} into {escape(str(rescored.run_dir))} (no request sent)"
    )
    for line in rescored.changed:
        out.print(f"  changed  {inert(line)}")
    for line in rescored.refused:  # a refusal can quote what the run sent and the target said
        out.print(f"  refused  {inert(line)}")
    if rescored.not_run:
        shown = ", ".join(rescored.not_run[:5])
        more = f" and {len(rescored.not_run) - 5} more" if len(rescored.not_run) > 5 else ""
        out.print(f"  not in the stored run (run them): {inert(shown)}{more}")
    print_finished(out, finished)
    sys.exit(finished.verdict.code)
