"""The JSON Schema of suite files, generated from the suite models, for editors.

`suite_schema()` describes a suite *as written*: the models of `evalkit.suite` plus the authoring
syntax the loader expands (`vars`, `include`, `matrix`, template ids). The models below only add
that syntax to the real ones; field descriptions come from the models' field docstrings. The
committed `suites/evalkit.schema.json` is this output (`evalkit schema -o ...`), and a test fails
when it is stale.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from evalkit.suite import (
    COMPOSITE_MATCHERS,
    MATCHER_HELP,
    MATCHER_NAMES,
    MATCHER_OPTIONS,
    Conversation,
    Persona,
    Suite,
    Turn,
)

__all__ = ["SCHEMA_FILE", "suite_schema", "suite_schema_text"]

SCHEMA_FILE = "evalkit.schema.json"
"""The schema's file name; suites refer to it in their `yaml-language-server` header."""

_OPTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "abs": {"type": "number", "minimum": 0, "description": "Absolute tolerance."},
    "rel": {"type": "number", "minimum": 0, "description": "Relative tolerance (0.05 = 5%)."},
    "ignore_case": {"type": "boolean", "description": "Match regardless of case."},
    "threshold": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "description": "Least similarity that passes (default 0.85).",
    },
    "args": {"type": "object", "description": "Keyword arguments for the function."},
}
_REF = {"$ref": "#/$defs/Expectation"}


class Include(BaseModel):
    """Inserts the conversations (or turns) of another file here."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    include: StrictStr
    """A file, relative to this one: a YAML list, or a mapping with `vars` and `conversations`
    (or `turns`)."""
    vars: dict[str, Any] = Field(default_factory=dict)
    """Variables for the included items; they win over the included file's own `vars`."""


_Var = Annotated[StrictStr, Field(pattern=r"^\{\{.*\}\}$")]
"""A trait written as a variable (`"{{ style }}"`), filled in before validation."""


class PersonaTemplate(Persona):
    """A persona as written: any trait may be a `{{ variable }}` a matrix row fills in."""

    # Widened on purpose: this model only describes the file for the schema, never validates.
    style: Literal["terse", "chatty"] | _Var = "terse"  # type: ignore[assignment]
    """`terse`: just the value; `chatty`: the value in a sentence, with some filler."""
    volunteers: Annotated[int, Field(ge=0, le=50)] | _Var = 0  # type: ignore[assignment]
    """How many further fields (in the order of `values`) the first message gives unasked."""
    selects: Literal["label", "value"] | _Var = "label"  # type: ignore[assignment]
    """Answer select prompts with the option's label (`Phone call`) or its value (`phone_call`)."""
    numbers: Literal["digits", "words"] | _Var = "digits"  # type: ignore[assignment]
    """Write whole numbers as digits (`32`) or words (`thirty-two`)."""
    dates: Literal["iso", "written", "us"] | _Var = "iso"  # type: ignore[assignment]
    """Write dates as `2026-11-27`, `27 November 2026` or `11/27/2026`."""
    typos: bool | _Var = False  # type: ignore[assignment]
    """Make seeded keyboard-neighbour typos in the words around a value (`Sure, my emial is
    ...`), never in the value itself nor the field's name; a free-text answer has none."""


class ConversationTemplate(Conversation):
    """A conversation as written: `{{ variables }}` in its id and text; a `matrix` repeats it."""

    id: Annotated[StrictStr, Field(max_length=200)]
    """Unique within the suite; letters, digits, `_`, `.`, `-` (after `{{ }}` are filled in)."""
    # Widened on purpose: this model only describes the file for the schema, never validates.
    turns: list[Turn | Include] = Field(default_factory=list)  # type: ignore[assignment]
    """The user's messages, in order; `- include: file` inserts turns from a file (a
    conversation gives `turns` or a `persona`)."""
    persona: PersonaTemplate | None = None
    """A simulated user who answers what the assistant asks, instead of fixed `turns`."""
    vars: dict[str, Any] = Field(default_factory=dict)
    """Variables for this conversation: `{{ name }}` in its text is replaced by the value."""
    matrix: list[dict[str, Any]] | dict[str, list[Any]] | None = None
    """Repeat the conversation for each row (a list of mappings of variables), or for every
    combination of a mapping of lists. Ids get the row's values unless `id` uses `{{ }}`."""


class SuiteFile(Suite):
    """A suite file (`*.eval.yaml`): one form, many conversations."""

    vars: dict[str, Any] = Field(default_factory=dict)
    """Variables every conversation can use as `{{ name }}` (`{{ name.key }}` for mappings)."""
    conversations: Annotated[  # type: ignore[assignment]
        list[ConversationTemplate | Include], Field(min_length=1)
    ]
    """The conversations; `- include: file` inserts the conversations of another file."""


def _expectation() -> dict[str, Any]:
    """The schema of an expectation: a bare value, or a mapping naming exactly one matcher."""
    forms: list[dict[str, Any]] = [
        {
            "type": ["string", "number", "boolean", "null", "array"],
            "description": "A bare value: text (case/space-insensitive), a list (any order), "
            "else type-aware equality. To expect an object, write {equals: {...}}.",
        }
    ]
    for name in MATCHER_NAMES:
        value: dict[str, Any] = {}
        if name == "not":
            value = dict(_REF)
        elif name in COMPOSITE_MATCHERS:
            value = {"type": "array", "items": _REF, "minItems": 1}
        elif name in ("absent", "present"):
            value = {"type": "boolean"}
        elif name == "python":
            value = {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"}
        options = sorted(MATCHER_OPTIONS.get(name, ()))
        forms.append(
            {
                "type": "object",
                "title": name,
                "properties": {
                    name: {**value, "description": MATCHER_HELP[name]},
                    **{option: _OPTION_SCHEMAS[option] for option in options},
                },
                "required": [name],
                "additionalProperties": False,
            }
        )
    return {"anyOf": forms, "description": "An expected value, bare or with a named matcher."}


def _point_at_expectation(node: Any) -> Any:
    """Replace the suite models' expectation marker by a reference to `$defs/Expectation`."""
    if isinstance(node, dict):
        if node.get("$comment") == "evalkit:Expectation":
            return {**{k: v for k, v in node.items() if k != "$comment"}, **_REF}
        return {k: _point_at_expectation(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_point_at_expectation(v) for v in node]
    return node


def suite_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a suite file as written."""
    schema = _point_at_expectation(SuiteFile.model_json_schema(by_alias=True))
    schema["$defs"]["Expectation"] = _expectation()
    schema["$defs"] = dict(sorted(schema["$defs"].items()))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "evalkit suite",
        **schema,
    }


def suite_schema_text() -> str:
    """`suite_schema()` as the text of `evalkit.schema.json` (stable: diffs stay readable)."""
    return json.dumps(suite_schema(), indent=2, ensure_ascii=False) + "\n"
