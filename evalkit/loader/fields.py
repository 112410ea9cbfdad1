"""Field names and select options of a suite checked against the form it is written for.

A misspelt field (`pet_typ`) reads as "not extracted" and a misspelt option (`dgo`) as a wrong
value: failures of the target for a mistake of the suite. Where the form is known, the loader
checks every field an expectation names (`expect`, `final`, `asks`) and every option value an
expectation compares a select field with, and the options `offers` lists, with did-you-mean.

The loader does not know where forms come from: it takes `KnownForm`s, plain descriptions built
by `evalkit.formcheck` from the emulator's form files (or a Wix form JSON).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from evalkit.loader.messages import did_you_mean, where
from evalkit.loader.reader import Loc
from evalkit.matchers import show
from evalkit.matchers.values import normalize_text, same
from evalkit.suite import Check, StringPolicy, Suite

__all__ = ["KnownField", "KnownForm", "check_fields"]

Report = Callable[[Loc, str], None]
"""Records a problem at the line of the value at a loc."""

_EQUALITY = frozenset({None, "equals", "text", "one_of", "set", "subset", "contains"})
"""Matchers that compare a select's value with the values they hold (others: regex, fuzzy, ...
compare in ways an option name does not decide)."""


@dataclass(frozen=True)
class KnownField:
    """One field of a known form."""

    target: str
    """The field key (`TEXT_DATA.fieldTarget`)."""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) of each option of a select field."""
    multiple: bool = False
    """A multi-select: its value is a list of option values."""
    open: bool = False
    """A select that accepts values outside its options (a custom option)."""

    @property
    def select(self) -> bool:
        """Whether the field's values are options."""
        return bool(self.options)


@dataclass(frozen=True)
class KnownForm:
    """A form whose fields are known, as the loader checks suites against it."""

    key: str
    """The form key."""
    fields: tuple[KnownField, ...]
    """Its fields, in order."""
    source: str = ""
    """Where it is defined (a form file)."""

    def field(self, target: str) -> KnownField | None:
        """The field with this target, or None."""
        return next((f for f in self.fields if f.target == target), None)

    def no_field(self, target: str) -> str:
        """The message for a field this form does not have."""
        targets = [f.target for f in self.fields]
        return (
            f"form {self.key} has no field `{target}`{did_you_mean(target, targets)}; "
            f"its fields: {', '.join(targets)}"
        )


def _compared(check: Check, strings: StringPolicy) -> Iterator[tuple[str, StringPolicy]]:
    """The texts an expectation compares a field's value (or its items) with, and how."""
    if check.matcher in ("not", "all_of", "any_of"):
        inner = check.value if isinstance(check.value, list) else [check.value]
        for item in inner:
            if isinstance(item, Check):
                yield from _compared(item, strings)
        return
    if check.matcher not in _EQUALITY:
        return
    policy: StringPolicy = {"equals": "exact", "text": "normalized"}.get(  # type: ignore[assignment]
        check.matcher or "", strings
    )
    values: list[Any] = check.value if isinstance(check.value, list) else [check.value]
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield item, policy


def _option_problem(text: str, policy: StringPolicy, field: KnownField) -> str | None:
    if any(same(text, value, policy) for value, _ in field.options):
        return None
    wanted = normalize_text(text)
    label = next((v for v, lab in field.options if normalize_text(lab) == wanted), None)
    if label is not None:
        return (
            f"{show(text)} is the label of option `{label}`; TEXT_DATA carries the value: "
            f"write {label}"
        )
    values = [value for value, _ in field.options]
    return (
        f"{show(text)} is not an option of {field.target}{did_you_mean(text, values)}; "
        f"its options: {', '.join(values)}"
    )


def _expectations(
    loc: Loc, expected: dict[str, Check] | None, form: KnownForm, strings: StringPolicy
) -> Iterator[tuple[Loc, str]]:
    for target, check in (expected or {}).items():
        here: Loc = (*loc, target)
        field = form.field(target)
        if field is None:
            yield here, f"{where(loc)}: {form.no_field(target)}"
            continue
        if not field.select or field.open:
            continue
        if field.multiple is False and check.matcher == "contains":
            continue  # text containment in a single value, not an option
        for text, policy in _compared(check, strings):
            if (problem := _option_problem(text, policy, field)) is not None:
                yield here, f"{where(here)}: {problem}"
                break


def _offers(
    loc: Loc, offers: list[str], asks: str | None, form: KnownForm
) -> Iterator[tuple[Loc, str]]:
    """Each offer no select prompt of the turn could show, with its problem.

    An offer must be the value or label of an option: of the field the turn asks for, when that
    is a select; else of any select field of the form.
    """
    asked = form.field(asks) if asks else None
    if asked is not None and asked.select:
        fields, whose = [asked], asked.target
    else:
        fields, whose = list(form.fields), f"any select field of form {form.key}"
    shown = {normalize_text(t) for f in fields for option in f.options for t in option}
    for index, offer in enumerate(offers):
        if normalize_text(offer) not in shown:
            text = f"{show(offer)} is not an option (value or label) of {whose}"
            yield (*loc, index), f"{where(loc)}: {text}"


def check_fields(suite: Suite, form: KnownForm, report: Report) -> None:
    """Check the fields and options a suite names against its form.

    Args:
        suite: The validated suite.
        form: The form it is written for.
        report: Records a problem at the line of a loc of the expanded suite.
    """
    for i, conversation in enumerate(suite.conversations):
        strings = conversation.strings or suite.defaults.strings
        for j, turn in enumerate(conversation.turns):
            here: Loc = ("conversations", i, "turns", j)
            for at, text in _expectations((*here, "expect"), turn.expect, form, strings):
                report(at, text)
            if turn.asks is not None and form.field(turn.asks) is None:
                report((*here, "asks"), f"{where((*here, 'asks'))}: {form.no_field(turn.asks)}")
            for at, text in _offers((*here, "offers"), turn.offers or [], turn.asks, form):
                report(at, text)
        final: Loc = ("conversations", i, "final")
        for at, text in _expectations(final, conversation.final, form, strings):
            report(at, text)
