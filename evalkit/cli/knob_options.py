"""The emulator's knobs as options: `evalkit emulator --<knob>` and `evalkit run --emulator-<knob>`.

Each knob of `evalkit.emulator.Knobs` declares its flag; these build the click options from
those declarations, so a new knob needs no CLI code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from evalkit.emulator import KnobFlag, Knobs

__all__ = ["EmulatorChoice", "emulator_options", "knob_option"]

_Command = TypeVar("_Command", bound=Callable[..., Any])


class _Items(click.ParamType[tuple[str, ...], Any]):
    """A comma-separated list, each item one of `choices` (when there are any)."""

    name = "list"

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        """The items of a comma-separated value."""
        if isinstance(value, tuple):
            return tuple(map(str, value))
        items = tuple(item.strip() for item in str(value).split(",") if item.strip())
        unknown = sorted(set(items) - set(self.choices)) if self.choices else []
        if unknown or not items:
            self.fail(f"unknown kind(s): {', '.join(unknown) or '(none given)'}", param, ctx)
        return items


def _knob_type(knob: KnobFlag) -> click.ParamType[Any, Any] | type[int] | type[str]:
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


def _prefixed(flag: str, prefix: str) -> str:
    return f"--{prefix}-{flag.removeprefix('--')}" if prefix else flag


def knob_option(knob: KnobFlag, prefix: str = "") -> Callable[[_Command], _Command]:
    """The click option of one emulator knob (`--fault-rate`; `--emulator-fault-rate`).

    With a prefix (`emulator`) the flag is prefixed too. Its value reaches the command as
    `dest` (`prefix_dest`); None (or nothing) when not given.
    """
    names = (
        _prefixed(knob.flag.name, prefix),
        *(_prefixed(alias, prefix) for alias in knob.flag.aliases),
        f"{prefix}_{knob.dest}" if prefix else knob.dest,
    )
    if knob.value_type is bool:
        return click.option(*names, is_flag=True, default=False, help=knob.help)
    if knob.flag.repeat:
        return click.option(*names, multiple=True, metavar=knob.flag.metavar, help=knob.help)
    return click.option(
        *names, type=_knob_type(knob), default=None, metavar=knob.flag.metavar, help=knob.help
    )


@dataclass(frozen=True)
class EmulatorChoice:
    """What `evalkit run` was told about the emulator: a profile, and knob flags on top."""

    profile: Path | None
    """`--emulator-profile`, if given."""
    values: Mapping[str, object]
    """The knob flags' values, by `KnobFlag.dest` (None, () or False: not given)."""

    def knobs(self, default_profile: Path | None = None) -> Knobs | None:
        """The knobs: the profile (or `default_profile`, the project's), the flags on top.

        Returns:
            None when no profile and no flag says anything (the emulator's defaults).

        Raises:
            UsageError: The flags make no valid knobs.
            SuiteError: The profile cannot be read or is not a valid profile.
        """
        from evalkit.emulator import Knobs, load_knobs, with_flags

        profile = self.profile or default_profile
        given = any(v is not None and v is not False and v != () for v in self.values.values())
        if profile is None and not given:
            return None
        base = load_knobs(profile) if profile is not None else Knobs()
        return with_flags(base, self.values)


def emulator_options(command: _Command) -> _Command:
    """`--emulator-profile FILE` and each knob of `evalkit emulator` as `--emulator-<flag>`.

    The command receives them as one `emulator: EmulatorChoice`. The framing is not among them:
    the run's `--framing` is the emulator's.
    """
    from evalkit.emulator import Knobs, knob_flags  # when the command is defined, not at import

    knobs = [k for k in knob_flags(Knobs) if k.path != ("framing",)]
    dests = [f"emulator_{k.dest}" for k in knobs]

    @functools.wraps(command)
    def grouped(*args: Any, **kwargs: Any) -> Any:
        values = {dest.removeprefix("emulator_"): kwargs.pop(dest) for dest in dests}
        choice = EmulatorChoice(kwargs.pop("emulator_profile"), values)
        return command(*args, emulator=choice, **kwargs)

    decorated: Any = grouped
    for knob in reversed(knobs):
        decorated = knob_option(knob, "emulator")(decorated)
    decorated = click.option(
        "--emulator-profile",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="With the emulator: a YAML profile of its knobs (as `evalkit emulator --profile`; "
        "default: `emulator_profile` in the project configuration); the --emulator-* flags "
        "override it.",
    )(decorated)
    result: _Command = decorated
    return result
