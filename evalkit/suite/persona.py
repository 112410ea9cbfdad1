"""A persona: the values a simulated person gives and how they talk (`evalkit.simulate`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from evalkit.suite.checks import Expectation, StrictModel, UnexpectedPolicy

__all__ = ["Persona", "PersonaValue"]


def _persona_value(raw: Any) -> Any:
    """A persona value as written: a bare value, or `{value: ..., expect: ..., say: ...}`."""
    if isinstance(raw, PersonaValue):
        return raw
    if isinstance(raw, dict) and "value" in raw and set(raw) <= {"value", "expect", "say"}:
        return raw
    return {"value": raw}


class PersonaValue(StrictModel):
    """One value a persona gives: the value, how to score it, and optionally what to say."""

    value: Any
    """The value the person gives (text, number, boolean, date text, option value or list)."""
    expect: Expectation | None = None
    """How the form's final value is scored; the default matcher for the value's type if unset."""
    say: StrictStr | None = None
    """Exactly what the person says when asked for this field (else a seeded template)."""


PersonaValueAsWritten = Annotated[
    PersonaValue,
    BeforeValidator(_persona_value),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": ["string", "number", "boolean", "null", "array"],
                    "description": "The value, scored with the default matcher for its type.",
                },
                {
                    "type": "object",
                    "properties": {
                        "value": {"description": "The value the person gives."},
                        "expect": {
                            "$comment": "evalkit:Expectation",
                            "description": "How the form's final value is scored.",
                        },
                        "say": {"type": "string", "description": "Exactly what the person says."},
                    },
                    "required": ["value"],
                    "additionalProperties": False,
                },
            ]
        }
    ),
]
"""A persona value as written: bare, or `{value, expect, say}`."""


class Persona(StrictModel):
    """A simulated user: the values this person would give and how they talk.

    A deterministic simulator answers whatever the assistant asks, from these values only: it
    never invents a value the persona lacks ("I don't have one").
    """

    name: StrictStr = ""
    """Who this is, for reports (e.g. `terse mobile user`)."""
    values: Annotated[dict[str, PersonaValueAsWritten], Field(min_length=1)]
    """The values this person would give, by field target: a bare value, or
    `{value: ..., expect: <expectation>, say: "..."}`."""
    style: Literal["terse", "chatty"] = "terse"
    """`terse`: just the value; `chatty`: the value in a sentence, with some filler."""
    volunteers: Annotated[int, Field(ge=0, le=50)] = 0
    """How many further fields (in the order of `values`) the first message gives unasked."""
    selects: Literal["label", "value"] = "label"
    """Answer select prompts with the option's label (`Phone call`) or its value (`phone_call`)."""
    numbers: Literal["digits", "words"] = "digits"
    """Write whole numbers as digits (`32`) or words (`thirty-two`)."""
    dates: Literal["iso", "written", "us"] = "iso"
    """Write dates as `2026-11-27`, `27 November 2026` or `11/27/2026`."""
    typos: bool = False
    """Make seeded keyboard-neighbour typos in the words around a value (`Sure, my emial is
    ...`), never in the value itself nor the field's name; a free-text answer has none."""
    declines: list[StrictStr] = Field(default_factory=list)
    """Fields this person will not give even when asked ("I'd rather not say"); scored as not
    extracted."""
    corrects: dict[str, Any] = Field(default_factory=dict)
    """Per field, a wrong value this person gives the first time it is asked, and corrects in
    their next message ("Sorry, I got that wrong: my email is ..."); scored on the right one."""
    phrases: dict[str, list[StrictStr]] = Field(default_factory=dict)
    """Extra words per field target that, in a question, mean the assistant asks for it."""
    max_turns: Annotated[int, Field(ge=1, le=200)] = 20
    """The most user messages the simulator sends."""
    stall_turns: Annotated[int, Field(ge=1, le=50)] = 3
    """Stop after this many turns in a row in which nothing was extracted."""
    re_asks: UnexpectedPolicy = "warn"
    """A field asked again after it was extracted: `fail`, `warn` or `ignore`."""

    @model_validator(mode="after")
    def _declines_known(self) -> Persona:
        wrong = [c for c in self.corrects if c not in self.values or c in self.declines]
        if wrong:
            raise ValueError(
                f"corrects names {', '.join(wrong)}: a correction needs a value the persona gives"
            )
        unknown = [d for d in self.declines if d not in self.values]
        if unknown:
            raise ValueError(
                f"declines names {', '.join(unknown)}, which the persona has no value for "
                "(a value it lacks is never invented, so it need not be declined)"
            )
        return self
