"""`evalkit compare`: a candidate run against a baseline, with gates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.markup import escape

from evalkit.cli.common import console
from evalkit.cli.options import gate_options
from evalkit.cli.printing import print_comparison
from evalkit.gates import Gates
from evalkit.pipeline import compare_dirs

__all__ = ["compare"]


@click.command()
@click.argument("base_run", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("cand_run", type=click.Path(file_okay=False, exists=True, path_type=Path))
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
@gate_options
def compare(
    base_run: Path,
    cand_run: Path,
    gates: Gates,
    as_json: bool,
    html_file: Path | None,
    markdown_file: Path | None,
) -> None:
    """Compare CAND_RUN with BASE_RUN (two run directories), offline.

    Conversations are paired by (suite, id, repeat). Exit codes: 0 gates met; 1 a gate failed
    (a significant regression, or the thresholds given); 2 bad input; 3 too many errors.
    """
    compared = compare_dirs(base_run, cand_run, gates, html=html_file, markdown=markdown_file)
    comparison, (code, reasons) = compared.comparison, compared.verdict
    if as_json:
        payload = comparison.model_dump(mode="json") | {
            "verdict": comparison.verdict,
            "exit": code,
            "reasons": list(reasons),
        }
        click.echo(json.dumps(payload, indent=2))
        sys.exit(code)
    out = console()
    print_comparison(out, comparison)
    for kind, path in (("HTML", html_file), ("markdown", markdown_file)):
        if path is not None:
            out.print(f"{kind} comparison report: {escape(str(path))}")
    out.print(f"exit {code}: {escape('; '.join(reasons))}")
    sys.exit(code)
