"""Form definitions for the emulator: what a form is, field by field, and how it behaves.

A `Form` comes from evalkit's own `<key>.form.yaml` or from a Wix Form Schemas `Form` object (see
`formfiles.py` for loading and `wixform.py` for the Wix import). Its `behaviour` holds switches that
make two forms with the same fields understand people differently (e.g. `contact-v2`, which does
not read number words), which is what a configuration comparison should detect.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

__all__ = [
    "SELECT_TYPES",
    "Behaviour",
    "FieldType",
    "Form",
    "FormField",
    "FormOption",
    "summarize_form",
]

FieldType = Literal[
    "text",
    "name",
    "email",
    "phone",
    "number",
    "boolean",
    "date",
    "time",
    "single_select",
    "multi_select",
]
"""What a field holds; it decides how values are extracted, typed, validated and prompted for."""

SELECT_TYPES = frozenset({"single_select", "multi_select"})
"""Field types whose values are options."""

SUMMARY_LIMIT = 255
GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TARGET_PATTERN = r"^[A-Za-z](?:_?[A-Za-z0-9])*$"  # Wix: a letter, then letters/digits/_, no "__"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Behaviour(_Strict):
    """How a form's assistant reads people: each switch on is what the default profile does."""

    number_words: bool = True
    """Numbers written in words ("twenty-five", "a dozen") are understood."""
    relative_dates: bool = True
    """Dates relative to the user's clock ("tomorrow", "next Friday") are understood."""
    synonyms: bool = True
    """Select options can be named by their synonyms, not only by value or label."""
    corrections: bool = True
    """A message starting "actually ..." or "sorry, it's ..." corrects the last turn's value."""


class FormOption(_Strict):
    """One choice of a select field."""

    value: StrictStr = Field(min_length=1, max_length=400)
    """The technical value that gets submitted (and that `TEXT_DATA.value` carries)."""
    label: StrictStr = Field(min_length=1, max_length=400)
    """The text shown to the user."""
    synonyms: list[StrictStr] = Field(default_factory=list)
    """Other words a user may say for this option, e.g. `sms` for "Text message"."""


class FormField(_Strict):
    """One input field of a form."""

    target: StrictStr = Field(pattern=TARGET_PATTERN, max_length=200)
    """The field key: `currentValues` keys and `TEXT_DATA.fieldTarget` use it."""
    label: StrictStr = Field(min_length=1, max_length=350)
    """The human name of the field, used in questions and acknowledgements."""
    type: FieldType
    """What the field holds."""
    required: bool = False
    """The form is submitted once every required field has a value."""
    question: StrictStr | None = None
    """What the assistant asks; default "What is your <label>?"."""
    keywords: list[StrictStr] = Field(default_factory=list)
    """Words that show the user is talking about this field when it was not asked (e.g. `age`)."""
    name_part: Literal["first", "last", "full"] | None = None
    """For `name` fields: which part of a person's name the field holds (default `full`)."""
    options: list[FormOption] = Field(default_factory=list, max_length=100)
    """The choices of a select field (1–100)."""
    custom_option: bool = False
    """For selects: a value outside the options is accepted."""
    products: bool = False
    """For selects: the options are products to buy; a submission then carries a `checkoutId`."""
    min: float | None = None
    """For numbers: the smallest accepted value (inclusive)."""
    max: float | None = None
    """For numbers: the largest accepted value (inclusive)."""
    multiple_of: float | None = Field(default=None, gt=0)
    """For numbers: accepted values are multiples of this."""

    @model_validator(mode="after")
    def _check_type_options(self) -> FormField:
        is_select = self.type in SELECT_TYPES
        if is_select and not self.options:
            raise ValueError(f"field {self.target!r}: a {self.type} field needs `options`")
        if not is_select and (self.options or self.custom_option or self.products):
            raise ValueError(
                f"field {self.target!r}: `options`/`custom_option`/`products` are for selects"
            )
        limits = (self.min, self.max, self.multiple_of)
        if self.type != "number" and any(v is not None for v in limits):
            raise ValueError(f"field {self.target!r}: `min`/`max`/`multiple_of` are for numbers")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"field {self.target!r}: `min` is greater than `max`")
        if self.name_part is not None and self.type != "name":
            raise ValueError(f"field {self.target!r}: `name_part` is for `name` fields")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError(f"field {self.target!r}: option values must be unique")
        return self

    def ask(self) -> str:
        """Return the question the assistant asks for this field."""
        return self.question or f"What is your {self.label[:1].lower()}{self.label[1:]}?"

    def option(self, value: str) -> FormOption | None:
        """Return the option with this value, or None."""
        return next((o for o in self.options if o.value == value), None)


class Form(_Strict):
    """A form the emulator can run a conversation for."""

    key: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)
    """Short name that suites use (`form: contact`); equals the file name `<key>.form.yaml`."""
    id: StrictStr = Field(pattern=GUID_PATTERN)
    """A fixed GUID: the `formId` a session is created with (the key is accepted too)."""
    name: StrictStr = Field(min_length=1, max_length=200)
    """The form's title."""
    greeting: StrictStr = Field(min_length=1, max_length=10_000)
    """The first thing the assistant says in a new session."""
    fields: list[FormField] = Field(min_length=1, max_length=500)
    """The input fields, in the order the assistant asks for them."""
    behaviour: Behaviour = Field(default_factory=Behaviour)
    """What this configuration understands (all on by default)."""
    notes: list[StrictStr] = Field(default_factory=list)
    """What an import left out or could not honour (e.g. a payment field), for people to read."""

    @model_validator(mode="after")
    def _check_unique_targets(self) -> Form:
        targets = [f.target for f in self.fields]
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValueError(f"field targets must be unique; repeated: {', '.join(duplicates)}")
        return self

    def field(self, target: str) -> FormField | None:
        """Return the field with this target, or None."""
        return next((f for f in self.fields if f.target == target), None)


def summarize_form(form: Form) -> str:
    """Write a plain-language summary of a form, at most 255 characters, deterministically.

    Args:
        form: The form.

    Returns:
        E.g. "Contact us asks for 8 fields: first name*, email*, ... (* required)."
    """
    names = [f.label.lower() + ("*" if f.required else "") for f in form.fields]
    count = len(names)
    head = f"{form.name} asks for {count} field{'s' if count != 1 else ''}: "
    tail = " (* required)." if any(f.required for f in form.fields) else "."
    listing = ", ".join(names)
    room = SUMMARY_LIMIT - len(head) - len(tail)
    if len(listing) > room:
        listing = listing[: max(room - 1, 0)].rstrip(", ") + "…"
    return (head + listing + tail)[:SUMMARY_LIMIT]
