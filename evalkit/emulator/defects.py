"""Planted defects: an emulator that is wrong in known ways, to prove a suite notices.

A defect is named on the command line (`evalkit emulator --defects drop-country-code,re-ask:age`;
`evalkit run --emulator-defects ...` for the emulator a run starts) or in a profile
(`defects: [drop-country-code, "no-submit-when-false:newsletter"]`); each is
deterministic, so the conversations that meet one fail every time and the others never do:

- `drop-country-code`: a phone number is extracted without its country code
  (`+44 20 7946 0958` is stored as `2079460958`); a number written without one is unchanged.
- `no-submit-when-false:FIELD`: once every required field has a value, the assistant closes
  the conversation as usual but sends no SUBMISSION when the boolean FIELD is false.
- `re-ask:FIELD`: the turn after FIELD is first extracted asks for it again (once).

A defect that names a field the form does not have never shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator

__all__ = ["DEFECT_NAMES", "Defect", "Planted", "check_defect", "national_number"]

DEFECT_NAMES = ("drop-country-code", "no-submit-when-false", "re-ask")
"""The defects the emulator can plant; all but `drop-country-code` name a field (`NAME:FIELD`)."""

_WITH_FIELD = frozenset({"no-submit-when-false", "re-ask"})
_TARGET = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,199}$")

# Country calling codes of one and two digits (ITU E.164); every other code has three.
_ONE_DIGIT = frozenset("17")
_TWO_DIGITS = frozenset(
    {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46"}
    | {"47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62"}
    | {"63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"}
)


def check_defect(text: str) -> str:
    """Validate one defect as written (`drop-country-code`, `re-ask:age`); return it trimmed.

    Raises:
        ValueError: An unknown defect, a missing field, or a field where none is taken.
    """
    name, _, target = text.strip().partition(":")
    if name not in DEFECT_NAMES:
        raise ValueError(f"unknown defect {name!r}; known: {', '.join(DEFECT_NAMES)}")
    if name in _WITH_FIELD and not _TARGET.match(target):
        raise ValueError(f"{name} names a field: {name}:FIELD (e.g. {name}:newsletter)")
    if name not in _WITH_FIELD and target:
        raise ValueError(f"{name} names no field")
    return f"{name}:{target}" if target else name


Defect = Annotated[str, AfterValidator(check_defect)]
"""One planted defect as written: `drop-country-code`, `no-submit-when-false:FIELD`,
`re-ask:FIELD`."""


def national_number(phone: str) -> str:
    """A phone number in E.164 (`+442079460958`) without its country code (`2079460958`).

    A number without a leading `+` has no country code to drop and is returned as it is.
    """
    if not phone.startswith("+"):
        return phone
    digits = phone[1:]
    size = 1 if digits[:1] in _ONE_DIGIT else 2 if digits[:2] in _TWO_DIGITS else 3
    return digits[size:] or phone


@dataclass(frozen=True)
class Planted:
    """The defects of one emulator, read from `Knobs.defects`."""

    drop_country_code: bool = False
    """Phone numbers lose their country code."""
    no_submit_when_false: frozenset[str] = frozenset()
    """Boolean fields whose `false` holds back the submission."""
    re_ask: frozenset[str] = frozenset()
    """Fields asked for once more right after they are first extracted."""

    @classmethod
    def of(cls, defects: Iterable[str]) -> Planted:
        """The defects as written (each already checked by `check_defect`)."""
        parsed = [d.partition(":") for d in defects]
        return cls(
            drop_country_code=any(name == "drop-country-code" for name, _, _ in parsed),
            no_submit_when_false=frozenset(f for n, _, f in parsed if n == "no-submit-when-false"),
            re_ask=frozenset(f for n, _, f in parsed if n == "re-ask"),
        )

    def stored(self, field_type: str, value: Any) -> Any:
        """The value the defective emulator stores for an extracted value of a field type."""
        if self.drop_country_code and field_type == "phone" and isinstance(value, str):
            return national_number(value)
        return value

    def holds_submission(self, values: Mapping[str, Any]) -> bool:
        """Whether the submission is held back by a boolean field that is false."""
        return any(values.get(target) is False for target in self.no_submit_when_false)

    def to_re_ask(self, extracted: Iterable[str], already: Iterable[str]) -> str | None:
        """The field to ask again now: one just extracted, named by `re-ask`, not re-asked yet."""
        done = set(already)
        return next((t for t in extracted if t in self.re_ask and t not in done), None)
