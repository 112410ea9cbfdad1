"""Command-line flags declared on the emulator's knobs, so that a knob is declared once.

A knob is a field of `Knobs` (or of a knob model inside it, such as `Faults`); its flag is part
of its annotation, and its docstring is the flag's help::

    rate: Annotated[float, Flag("--fault-rate")] = Field(default=0.0, ge=0, le=1)
    \"\"\"The probability that a request gets a fault.\"\"\"

`knob_flags` finds every such field, nested knobs included, with what a command line needs: the
flag's names, the field's type, bounds, default and help. `with_flags` puts the values given on a
command line on top of knobs (the defaults, or a profile's). `evalkit emulator` builds its options
from these (click stays in the CLI), so adding a knob is one edit: its field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from evalkit.errors import UsageError

__all__ = ["Bounds", "Flag", "KnobFlag", "knob_flags", "with_flags"]

_Knobs = TypeVar("_Knobs", bound=BaseModel)


@dataclass(frozen=True)
class Flag:
    """The command-line flag of a knob; put it in the knob field's `Annotated[...]`."""

    name: str
    """The flag, e.g. `--fault-rate`."""
    aliases: tuple[str, ...] = ()
    """Other names it answers to, e.g. `("--chunk-delay",)`."""
    metavar: str | None = None
    """How the help shows its value (default: from its type)."""
    default_text: str | None = None
    """The default the help shows when the field has none of its own (e.g. `no auth`)."""
    repeat: bool = False
    """A list is given by repeating the flag; otherwise a list is comma-separated."""


@dataclass(frozen=True)
class Bounds:
    """The numeric bounds of a knob (from its field's `ge`, `gt`, `le`, `lt`)."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False


@dataclass(frozen=True)
class KnobFlag:
    """A knob that has a flag: where its value goes, and the field that declares it."""

    path: tuple[str, ...]
    """Where the value goes in the knobs, e.g. `("faults", "rate")`."""
    flag: Flag
    """Its flag."""
    field: FieldInfo
    """The field that declares it (type, bounds, default, docstring)."""
    whole: tuple[str, ...] = ()
    """The knob, off (None) by default, that it is part of (`("auth",)`): the flags given for
    such a knob replace it as a whole; () for none."""

    @property
    def dest(self) -> str:
        """A Python name for the flag's value, e.g. `faults_rate`."""
        return "_".join(self.path)

    @property
    def value_type(self) -> Any:
        """The field's type, without `None`."""
        return _without_none(self.field.annotation)

    @property
    def item_type(self) -> Any:
        """For a list knob (`tuple[X, ...]`), X; otherwise None."""
        kind = self.value_type
        return get_args(kind)[0] if get_origin(kind) is tuple else None

    @property
    def choices(self) -> tuple[str, ...]:
        """The values a `Literal` knob (or each item of a list of them) may take; () if any."""
        kind = self.item_type or self.value_type
        return tuple(str(c) for c in get_args(kind)) if get_origin(kind) is Literal else ()

    @property
    def bounds(self) -> Bounds:
        """The knob's numeric bounds."""
        found: dict[str, Any] = {}
        for limit in self.field.metadata:  # annotated_types' Ge, Gt, Le, Lt
            for end, name, is_open in _LIMITS:
                if (value := getattr(limit, name, None)) is not None:
                    found.update({end: value, f"{end}_open": is_open})
        return Bounds(**found)

    @property
    def help(self) -> str:
        """The flag's help: the field's docstring, its default in brackets."""
        text = (self.field.description or "").replace("`", "")
        if self.flag.repeat:
            text += " Repeatable."
        elif self.item_type is not None and self.choices:
            text += f" Comma-separated, from: {', '.join(self.choices)}."
        default = self.field.default
        shown = self.flag.default_text
        if _given(default) and default is not PydanticUndefined:
            shown = ",".join(map(_text, default)) if isinstance(default, tuple) else _text(default)
        return f"{text} [{shown}]" if shown else text


_LIMITS = (("min", "ge", False), ("min", "gt", True), ("max", "le", False), ("max", "lt", True))


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _given(value: object) -> bool:
    """Whether a flag's value was given: None, () and False (an unset switch) are not."""
    return value is not None and value is not False and value != ()


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        kept = [a for a in get_args(annotation) if a is not NoneType]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def knob_flags(model: type[BaseModel]) -> tuple[KnobFlag, ...]:
    """Every knob of `model` that has a flag, nested knob models included, in field order."""
    return tuple(_walk(model, (), ()))


def _walk(
    model: type[BaseModel], path: tuple[str, ...], whole: tuple[str, ...]
) -> Iterator[KnobFlag]:
    for name, info in model.model_fields.items():
        here = (*path, name)
        kind = _without_none(info.annotation)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            off = info.default is None and not whole
            yield from _walk(kind, here, here if off else whole)
        for flag in info.metadata:
            if isinstance(flag, Flag):
                yield KnobFlag(here, flag, info, whole)


def with_flags(knobs: _Knobs, values: Mapping[str, object]) -> _Knobs:
    """Knobs with the values given on a command line on top.

    Args:
        knobs: The knobs to start from (the defaults, or a profile's).
        values: Flag values by `KnobFlag.dest`; None, () and False mean "not given" (a flag
            switches a boolean knob on; it cannot switch it off).

    Returns:
        New knobs: every given value set, everything else as in `knobs`.

    Raises:
        UsageError: The values make no valid knobs, e.g. a part of a knob that is off by default
            without the part it needs (`--auth-site-id needs --auth-token`).
    """
    flags = knob_flags(type(knobs))
    given = [(f, values[f.dest]) for f in flags if _given(values.get(f.dest))]
    data = knobs.model_dump(exclude_unset=True)
    for whole in {f.whole for f, _ in given if f.whole}:
        _place(data, whole, {})  # a knob that is off by default is set by its flags alone
    for knob, value in given:
        _place(data, knob.path, value)
    try:
        return knobs.model_validate(data)
    except ValidationError as exc:
        raise UsageError(_usage(exc, flags, [f for f, _ in given])) from exc


def _place(data: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for part in path[:-1]:
        if not isinstance(data.get(part), dict):
            data[part] = {}
        data = data[part]
    data[path[-1]] = value


def _usage(exc: ValidationError, flags: tuple[KnobFlag, ...], given: list[KnobFlag]) -> str:
    """Say what is wrong with the given flags, in the flags' names."""
    by_path = {f.path: f for f in flags}
    said: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(part) for part in error["loc"] if not isinstance(part, int))
        knob = by_path.get(loc)  # an item of a list knob is the knob's (`defects.0`: `--defects`)
        if error["type"] == "missing" and knob is not None and knob.whole:
            partners = [f.flag.name for f in given if f.whole == knob.whole]
            said.append(f"{', '.join(partners)} needs {knob.flag.name}")
        else:
            name = knob.flag.name if knob is not None else ".".join(loc)
            said.append(f"bad emulator option: {name}: {error['msg']}")
    return "; ".join(said)
