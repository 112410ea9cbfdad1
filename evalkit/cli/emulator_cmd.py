"""`evalkit emulator`: serve the built-in stand-in for the Interactive Form Sessions API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evalkit.cli.common import project
from evalkit.cli.knob_options import knob_option
from evalkit.emulator import Knobs, knob_flags, load_forms, load_knobs, serve, with_flags
from evalkit.errors import UsageError
from evalkit.loader.scope import form_folders

_Command = TypeVar("_Command", bound=Callable[..., Any])

__all__ = ["emulator"]


def _knob_options(command: _Command) -> _Command:
    """Add an option for every knob that declares a flag (see `evalkit.emulator.flags`)."""
    for knob in reversed(knob_flags(Knobs)):
        command = knob_option(knob)(command)
    return command


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port; 0: any."
)
@click.option(
    "--forms",
    "forms_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Directory of *.form.yaml (evalkit) and *.form.json (Wix Form Schemas) files "
    "[default: `forms` of the project configuration, else forms/ here or in a parent folder "
    "up to the project root].",
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="YAML file of knobs (keys as below, e.g. faults: {rate: 0.1}); flags override it.",
)
@_knob_options
def emulator(host: str, port: int, forms_dir: Path, profile: Path | None, **flags: Any) -> None:
    """Serve the built-in emulator of the Interactive Form Sessions API.

    Every knob is seeded: the same seed gives evalkit's runs the same faults and noise at any
    concurrency (keyed on its X-Evalkit-Trace header); other clients get the same bytes for the
    same order of requests.
    Faults: 429 (with Retry-After), 500, 503 and reset happen before a request is applied; cut,
    truncate, malformed and stall break the response after it. See docs/emulator.md.
    """
    settings = project()
    if profile is None and settings is not None:
        profile = settings.emulator_profile
    knobs = with_flags(load_knobs(profile) if profile is not None else Knobs(), flags)
    if forms_dir is None:
        looked = form_folders([], settings)
        forms_dir = next((folder for folder in looked if folder.is_dir()), None)
        if forms_dir is None:
            shown = ", ".join(str(folder) for folder in looked)
            raise UsageError(f"no forms folder: looked in {shown}; give --forms DIR")
    forms = load_forms(forms_dir)

    def ready(base_url: str, form_ids: dict[str, str]) -> None:
        click.echo(f"emulator listening on {base_url} (forms from {forms_dir}); Ctrl-C stops it")
        for key, form_id in sorted(form_ids.items()):
            click.echo(f"  form {key}: formId {form_id}")
            for note in forms[key].notes:
                click.echo(f"    note: {note}")
        misbehaves = knobs.faults.rate or knobs.noise.rate or knobs.auth or knobs.defects
        if misbehaves or knobs.latency != Knobs().latency:
            shown = knobs.model_dump(exclude_defaults=True, exclude={"auth"})
            click.echo(f"  knobs: {shown}" + (" (auth required)" if knobs.auth else ""))

    serve(forms, knobs, host=host, port=port, on_ready=ready)
