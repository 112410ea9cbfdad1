"""`evalkit validate`: check suites without running them."""

from __future__ import annotations

import os
from pathlib import Path

import click

from evalkit.cli.common import project
from evalkit.cli.options import scope_options
from evalkit.errors import SuiteError, UsageError
from evalkit.formcheck import check_suites
from evalkit.loader import LoadOptions, discover
from evalkit.loader.scope import form_folders

__all__ = ["validate"]


@click.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--forms",
    "forms_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Extra directory of form files to check field names against, looked in first (then "
    "forms/ beside each suite and in its parents up to the project root, then the configured "
    "forms folder).",
)
@scope_options
def validate(
    paths: tuple[str, ...],
    forms_dirs: tuple[Path, ...],
    scope: LoadOptions,
) -> None:
    """Check the suites in PATHS without running them (exit 2 and every problem if broken).

    Matcher arguments, `python:` checks, suite names, and the field names and options of every
    suite whose form is known are checked; a form that is not known is noted. Without PATHS,
    the project configuration's suites folder.
    """
    settings = project()
    if not paths:
        if settings is None or settings.suites is None:
            raise UsageError("name the suites to check, or set `suites` in [tool.evalkit]")
        paths = (os.path.relpath(settings.suites),)
    try:
        files = [str(f) for f in discover(paths)]
    except SuiteError:
        files = []  # check_suites reports it with everything else
    looked = form_folders(files, settings, given=forms_dirs)
    options = scope
    forms = [folder for folder in looked if folder.is_dir()]
    checked = check_suites(list(paths), forms=forms, options=options)
    suites = checked.suites
    total = sum(len(s.outline) for s in suites)
    for loaded in suites:
        count = len(loaded.outline)
        noun = "conversation" if count == 1 else "conversations"
        click.echo(f"ok  {loaded.path}: {loaded.name}, {count} {noun}")
    for note in checked.notes:
        click.echo(f"note: {note}")
    click.echo(f"{len(suites)} suite(s), {total} conversations: valid")
