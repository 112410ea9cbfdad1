"""`evalkit coverage`: what suites exercise of their forms, offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from evalkit.cli.common import project
from evalkit.cli.options import RATE, scope_options
from evalkit.coverage import suite_coverage
from evalkit.errors import SuiteError, UsageError
from evalkit.formcheck import check_suites
from evalkit.gates import EXIT_FAILED
from evalkit.loader import LoadOptions, discover
from evalkit.loader.scope import form_folders
from evalkit.pipeline import coverage_markdown, coverage_text

__all__ = ["coverage"]


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--forms",
    "forms_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Extra directory of form files, looked in first (then forms/ beside each suite and in "
    "its parents up to the project root, then the configured forms folder).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the coverage.",
)
@click.option(
    "--min-coverage",
    type=RATE,
    default=None,
    help="Exit 1 when the overall coverage is under this (0.8 or 80%), listing the gaps.",
)
@scope_options
def coverage(
    paths: tuple[str, ...],
    forms_dirs: tuple[Path, ...],
    output: str,
    min_coverage: float | None,
    scope: LoadOptions,
) -> None:
    """Print what the suites in PATHS exercise of their forms, and every gap.

    Per form, the coverage of its fields, options, validation paths and submission, and
    overall; then every item no conversation touches, with its form file.
    Nothing is sent to any target. Without PATHS, the project configuration's suites folder.
    Definitions: docs/coverage.md.
    """
    settings = project()
    if not paths:
        if settings is None or settings.suites is None:
            raise UsageError("name the suites, or set `suites` in [tool.evalkit]")
        paths = (os.path.relpath(settings.suites),)
    try:
        files = [str(f) for f in discover(paths)]
    except SuiteError:
        files = []  # check_suites reports it with everything else
    folders = [f for f in form_folders(files, settings, given=forms_dirs) if f.is_dir()]
    checked = check_suites(list(paths), forms=folders, options=scope)
    result = suite_coverage(checked.suites, folders)
    if output == "json":
        click.echo(result.model_dump_json(indent=2))
    else:
        click.echo(coverage_markdown(result) if output == "markdown" else coverage_text(result))
    rate = result.overall.rate
    if min_coverage is not None and (rate is None or rate < min_coverage):
        shown = "—" if rate is None else f"{rate:.1%}"
        click.echo(f"coverage {shown} is under --min-coverage {min_coverage:.1%}", err=True)
        for line in result.uncovered():
            click.echo(f"  uncovered: {line}", err=True)
        sys.exit(EXIT_FAILED)
