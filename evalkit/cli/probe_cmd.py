"""`evalkit probe`: what a target really answers, once per stream framing evalkit knows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from evalkit.cli.common import project
from evalkit.cli.terminal import visible
from evalkit.gates import EXIT_INCOMPLETE
from evalkit.runner.description import (
    TARGET_KINDS,
    TargetOptions,
    describe_target,
    open_target,
    parse_form_ids,
    project_options,
)
from evalkit.runner.probe import probe_target
from evalkit.runner.target import TargetName

__all__ = ["probe"]


@click.command()
@click.option("--form", "form", required=True, help="The form key (or id) to open a session of.")
@click.option(
    "--target",
    "target_name",
    type=click.Choice(TARGET_KINDS),
    default=None,
    help="emulator, wix or custom [default: the project configuration's, else emulator].",
)
@click.option("--base-url", default=None, help="API root for --target custom.")
@click.option(
    "--form-id",
    "form_ids",
    multiple=True,
    metavar="KEY=FORM_ID",
    help="The form id to send for a form key (repeatable).",
)
@click.option(
    "--forms",
    "forms_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory of *.form.yaml for the emulator, looked in first.",
)
@click.option(
    "--message", default="Hello", show_default=True, help="The user message sent each time."
)
def probe(
    form: str,
    target_name: TargetName | None,
    base_url: str | None,
    form_ids: tuple[str, ...],
    forms_dirs: tuple[Path, ...],
    message: str,
) -> None:
    """Open one dry-run session and send one message per framing; print what each answer was.

    One line per way of asking (SSE, NDJSON, a JSON array, the unary endpoint, and `Accept: */*`
    as the official SDK asks): the HTTP status, the content type, the framing evalkit decoded,
    the chunk types, and the first bytes, with every credential redacted. Paste the lines into a
    bug report. Exits 3 when no session could be created.
    """
    given = TargetOptions(
        kind=target_name,
        base_url=base_url,
        framing="unary",  # a probe asks every way itself; the emulator keeps its own default
        form_ids=parse_form_ids(form_ids),
        forms=forms_dirs,
    )
    options = project_options(given, project(), [])
    with open_target(describe_target(options, os.environ), [], os.environ) as target:
        result = probe_target(target, form, message)
    click.echo(visible(result.header))  # the target's content type and error text
    for line in result.lines:
        click.echo(visible(line))
    if not result.created:
        sys.exit(EXIT_INCOMPLETE)
