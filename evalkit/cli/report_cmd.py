"""`evalkit report`: render a stored run again, offline."""

from __future__ import annotations

from pathlib import Path

import click

from evalkit.cli.common import console, print_summary
from evalkit.report import write_reports
from evalkit.results import read_run

__all__ = ["report"]


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def report(run_dir: Path) -> None:
    """Render the HTML and Markdown reports of RUN_DIR again (offline)."""
    info, results = read_run(run_dir)
    written = write_reports(run_dir, info, results)
    print_summary(console(), info, results)
    click.echo(f"markdown report: {written['markdown']}")
    click.echo(f"HTML report: {written['html']}")
