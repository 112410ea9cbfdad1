"""`evalkit emulator`: serve the built-in stand-in for the Interactive Form Sessions API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from evalkit.emulator import KnobFlag, Knobs, knob_flags, load_forms, load_knobs, serve, with_flags

__all__ = ["emulator"]

_Command = TypeVar("_Command", bound=Callable[..., Any])


class _Items(click.ParamType[tuple[str, ...], Any]):
    """A comma-separated list, each item one of `choices` (when there are any)."""

    name = "list"

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return tuple(map(str, value))
        items = tuple(item.strip() for item in str(value).split(",") if item.strip())
        unknown = sorted(set(items) - set(self.choices)) if self.choices else []
        if unknown or not items:
            self.fail(f"unknown kind(s): {', '.join(unknown) or '(none given)'}", param, ctx)
        return items


def _type(knob: KnobFlag) -> click.ParamType[Any, Any] | type[int] | type[str]:
    """The click type of a knob's value, from its field's type and bounds."""
    if knob.item_type is not None:
        return _Items(knob.choices)
    if knob.choices:
        return click.Choice(knob.choices)
    if knob.value_type is float:
        bounds = knob.bounds
        return click.FloatRange(
            bounds.min, bounds.max, min_open=bounds.min_open, max_open=bounds.max_open
        )
    return int if knob.value_type is int else str


def _knob_option(knob: KnobFlag) -> Callable[[_Command], _Command]:
    """The click option of one knob; None (or nothing) when it is not given."""
    names = (knob.flag.name, *knob.flag.aliases, knob.dest)
    if knob.value_type is bool:
        return click.option(*names, is_flag=True, default=False, help=knob.help)
    if knob.flag.repeat:
        return click.option(*names, multiple=True, metavar=knob.flag.metavar, help=knob.help)
    return click.option(
        *names, type=_type(knob), default=None, metavar=knob.flag.metavar, help=knob.help
    )


def _knob_options(command: _Command) -> _Command:
    """Add an option for every knob that declares a flag (see `evalkit.emulator.flags`)."""
    for knob in reversed(knob_flags(Knobs)):
        command = _knob_option(knob)(command)
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
    default=Path("suites/forms"),
    show_default=True,
    help="Directory of *.form.yaml (evalkit) and *.form.json (Wix Form Schemas) files.",
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
    knobs = with_flags(load_knobs(profile) if profile is not None else Knobs(), flags)
    forms = load_forms(forms_dir)

    def ready(base_url: str, form_ids: dict[str, str]) -> None:
        click.echo(f"emulator listening on {base_url} (forms from {forms_dir}); Ctrl-C stops it")
        for key, form_id in sorted(form_ids.items()):
            click.echo(f"  form {key}: formId {form_id}")
            for note in forms[key].notes:
                click.echo(f"    note: {note}")
        if knobs.faults.rate or knobs.noise.rate or knobs.auth or knobs.latency != Knobs().latency:
            shown = knobs.model_dump(exclude_defaults=True, exclude={"auth"})
            click.echo(f"  knobs: {shown}" + (" (auth required)" if knobs.auth else ""))

    serve(forms, knobs, host=host, port=port, on_ready=ready)
