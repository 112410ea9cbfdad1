"""Input models: what a suite file (`*.eval.yaml`) says.

These pydantic models are the single source of truth for the suite format: the loader validates
YAML against them, and the JSON Schema for editors is generated from them. They are strict: an
unknown key is an error, and an utterance must be a real string (YAML turns an unquoted `no` into
False and `12:30` into 750; the loader reports both and says to quote them).

An expectation is written either as a bare value (the default matcher for its type) or as a
mapping naming exactly one matcher, with that matcher's options beside it::

    expect:
      first_name: Jane                       # bare value: normalised text comparison
      age: {approx: 30, abs: 1}              # a matcher with an option
      phone: {absent: true}
      email: {not: {contains: example}}      # composites take expectations
      iban: {python: "checks:valid_iban"}    # a custom check (see `evalkit.custom_check`)

These models describe a suite *after* the loader expanded its authoring syntax (`vars`,
`include`, `matrix`); the loader's schema module describes the syntax as written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "COMPOSITE_MATCHERS",
    "MATCHER_HELP",
    "MATCHER_NAMES",
    "MATCHER_OPTIONS",
    "REPLY_MATCHERS",
    "VARIANT_KINDS",
    "Check",
    "ClientTimeSpec",
    "Conversation",
    "Defaults",
    "LoadedSuite",
    "MatcherName",
    "Persona",
    "PersonaValue",
    "StringPolicy",
    "Suite",
    "Turn",
    "UnexpectedPolicy",
    "VariantKind",
    "Variants",
    "parse_check",
]

MAX_INPUT_CHARS = 10_000
"""The service rejects user messages longer than this."""

MatcherName = Literal[
    "equals",
    "text",
    "approx",
    "regex",
    "one_of",
    "contains",
    "set",
    "subset",
    "absent",
    "present",
    "date",
    "time",
    "email",
    "phone",
    "fuzzy",
    "not",
    "all_of",
    "any_of",
    "python",
]
"""Every matcher a suite can name."""

MATCHER_NAMES: tuple[str, ...] = get_args(MatcherName)

COMPOSITE_MATCHERS: frozenset[str] = frozenset({"not", "all_of", "any_of"})
"""Matchers whose value is another expectation (`not`) or a list of them (`all_of`, `any_of`)."""

MATCHER_OPTIONS: dict[str, frozenset[str]] = {
    "approx": frozenset({"abs", "rel"}),
    "regex": frozenset({"ignore_case"}),
    "fuzzy": frozenset({"threshold"}),
    "python": frozenset({"args"}),
}
"""Options a matcher accepts beside its name; a matcher not listed takes none."""

MATCHER_HELP: dict[str, str] = {
    "equals": 'Type-aware equality: 30 equals 30.0, but not "30"; lists in order, objects by key.',
    "text": "Text equal after case folding, Unicode normalisation and collapsing whitespace.",
    "approx": "A number (or numeric text) within `abs` (absolute) or `rel` (relative) tolerance.",
    "regex": "Text matching the regular expression anywhere (re.search); `ignore_case: true`.",
    "one_of": "Equal (as a bare value compares) to one of the listed values.",
    "contains": "A list holding the value, or text containing it (case-insensitive).",
    "set": "The same items as the list, in any order.",
    "subset": "At least the listed items, in any order.",
    "absent": "`true`: the field was not extracted (a null value counts as extracted).",
    "present": "`true`: the field was extracted, whatever its value.",
    "date": "The same calendar date: ISO text, written dates, datetimes (quote YYYY-MM-DD).",
    "time": "The same time of day: `14:30`, `2:30 pm`, `14:30:00`, or a datetime's time.",
    "email": "The same address, ignoring case and surrounding spaces.",
    "phone": "The same digits (+ kept); a missing country code of up to 3 digits is tolerated.",
    "fuzzy": "Normalised text at least `threshold` similar (default 0.85, difflib ratio).",
    "not": "Passes when the expectation it holds fails.",
    "all_of": "Passes when every expectation in the list passes.",
    "any_of": "Passes when at least one expectation in the list passes.",
    "python": "`module:function` decorated with @evalkit.custom_check, called as "
    "function(actual, **args); returns a bool, (bool, reason) or a MatchResult.",
}
"""One line per matcher: what passes. The reason messages are described in the README."""

REPLY_MATCHERS: frozenset[str] = frozenset(
    {"contains", "regex", "text", "fuzzy", "equals", "not", "all_of", "any_of", "python"}
)
"""Matchers that make sense on the assistant's reply text."""

_PYTHON_SPEC = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)

UnexpectedPolicy = Literal["fail", "warn", "ignore"]
"""What an extracted field that a turn did not expect does to the verdict."""

StringPolicy = Literal["normalized", "exact"]
"""How a bare string expectation is compared: case/whitespace-normalised, or exactly."""


class StrictModel(BaseModel):
    """Base of the input models: unknown keys are errors, field docstrings are schema help."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Check(StrictModel):
    """One expectation: a matcher, its expected value and its options."""

    matcher: MatcherName | None = None
    """The matcher; None for a bare value, compared with the default matcher for its type."""
    value: Any = None
    """The expected value (for `absent` / `present`: `true`)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Matcher options, e.g. `abs` for `approx`."""

    @model_serializer
    def _as_written(self) -> Any:
        """Serialise as a suite spells it: a bare value, or `{matcher: value, **options}`."""
        if self.matcher is None:
            return {"equals": self.value} if isinstance(self.value, dict) else self.value
        value = self.value
        if isinstance(value, Check):
            value = value._as_written()
        elif isinstance(value, list) and self.matcher in COMPOSITE_MATCHERS:
            value = [v._as_written() if isinstance(v, Check) else v for v in value]
        return {self.matcher: value, **self.options}


def parse_check(raw: Any) -> Any:
    """Turn the YAML spelling of an expectation into the fields of a `Check`.

    Args:
        raw: A bare value, or a mapping with exactly one matcher name as a key.

    Returns:
        A mapping for `Check` validation (an existing `Check` is returned as is).

    Raises:
        ValueError: The mapping names no matcher, several, or an option the matcher does not take.
    """
    if isinstance(raw, Check):
        return raw
    if not isinstance(raw, dict) or not raw:
        return {"matcher": None, "value": raw}
    names = [k for k in raw if k in MATCHER_NAMES]
    if len(names) != 1:
        found = f"found {', '.join(map(str, names))}" if names else "found none"
        raise ValueError(
            f"a mapping expectation names exactly one matcher ({found}); valid matchers: "
            f"{', '.join(MATCHER_NAMES)}. To expect an object value, write {{equals: {{...}}}}"
        )
    name = names[0]
    options = {k: v for k, v in raw.items() if k != name}
    allowed = MATCHER_OPTIONS.get(name, frozenset())
    unknown = sorted(str(k) for k in options if k not in allowed)
    if unknown:
        valid = ", ".join(sorted(allowed)) if allowed else "none"
        raise ValueError(
            f"matcher {name!r} does not take {', '.join(unknown)}; its options: {valid}"
        )
    value = raw[name]
    if name == "not":
        value = _nested(value)
    elif name in COMPOSITE_MATCHERS:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{name} takes a non-empty list of expectations, got {value!r}")
        value = [_nested(item) for item in value]
    elif name == "python":
        if not isinstance(value, str) or not _PYTHON_SPEC.fullmatch(value):
            raise ValueError(f"python takes `module:function`, got {value!r}")
        if not isinstance(options.get("args", {}), dict):
            raise ValueError("python's `args` must be a mapping of keyword arguments")
    return {"matcher": name, "value": value, "options": options}


def _nested(raw: Any) -> Check:
    """An expectation inside a composite, validated now so that its errors surface with it."""
    return Check.model_validate(parse_check(raw))


Expectation = Annotated[
    Check,
    BeforeValidator(parse_check),
    WithJsonSchema({"$comment": "evalkit:Expectation"}),
]
"""A `Check` as written in YAML (the schema export points the marker at `$defs/Expectation`)."""


class ClientTimeSpec(StrictModel):
    """The clock a session is created with (`clientTime`), so relative dates are reproducible."""

    current_time: StrictStr
    """ISO-8601 UTC time, e.g. `2026-11-25T10:00:00Z`."""
    time_zone: StrictStr | None = None
    """IANA zone name, e.g. `Europe/Vilnius`."""


class Defaults(StrictModel):
    """Settings every conversation of a suite inherits unless it sets its own."""

    strings: StringPolicy = "normalized"
    """How bare string expectations compare: `normalized` (case and whitespace) or `exact`."""
    unexpected_fields: UnexpectedPolicy = "warn"
    """What a field extracted in a turn but not in its `expect` does: `fail`, `warn` or `ignore`."""
    prefill: dict[str, Any] = Field(default_factory=dict)
    """Values every conversation is created with; a conversation's own `prefill` keys win."""
    submitted: bool | None = None
    """`submitted` for every conversation that does not say."""
    no_errors: bool | None = None
    """`no_errors` for every conversation that does not say."""
    repeat: Annotated[int, Field(ge=1, le=1000)] | None = None
    """`repeat` for every conversation that does not say."""


class Turn(StrictModel):
    """One user message and what it should produce."""

    user: Annotated[StrictStr, Field(max_length=MAX_INPUT_CHARS)]
    """The user's message (quote it if YAML could read it as something else: 'no', '12:30')."""
    expect: dict[str, Expectation] | None = None
    """Field values this turn should extract (its TEXT_DATA chunks), by field target."""
    set_values: dict[str, Any] = Field(default_factory=dict, alias="set")
    """`currentValues` sent with this turn; they replace existing values."""
    reply: Expectation | None = None
    """A check on the assistant's text in this turn, e.g. `{contains: email}`."""
    asks: StrictStr | None = None
    """The field this turn's prompt is for: a select, number or important-text chunk naming it
    (a question asked only in plain text names no field; check it with `reply`)."""
    offers: list[StrictStr] | None = None
    """Options (values or labels) the select prompts of this turn must show, in any order."""


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


class Conversation(StrictModel):
    """A multi-turn conversation with its expectations: scripted `turns`, or a `persona`."""

    id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200)]
    """Unique within the suite; letters, digits, `_`, `.`, `-`."""
    description: str = ""
    """What the conversation checks."""
    tags: list[StrictStr] = Field(default_factory=list)
    """Labels to filter by (e.g. `smoke`)."""
    prefill: dict[str, Any] = Field(default_factory=dict)
    """`currentValues` sent when the session is created."""
    client_time: ClientTimeSpec | None = None
    """Overrides the suite's `client_time`."""
    persona: Persona | None = None
    """A simulated user who answers what the assistant asks, instead of fixed `turns`."""
    turns: list[Turn]
    """The user's messages, in order (a conversation gives `turns` or a `persona`)."""
    final: dict[str, Expectation] | None = None
    """Expected state at the end: prefill, then `set` and extractions in order, last write wins."""
    submitted: bool | None = None
    """Whether a SUBMISSION chunk must (true) or must not (false) have arrived."""
    no_errors: bool | None = None
    """`true`: no ERROR chunk and no unsuccessful END_OF_RESPONSE in any turn."""
    repeat: Annotated[int, Field(ge=1, le=1000)] = 1
    """How many times to run the conversation (the pytest plugin makes one item per repeat;
    `evalkit run` does not repeat yet)."""
    unexpected_fields: UnexpectedPolicy | None = None
    """Overrides the suite default."""
    strings: StringPolicy | None = None
    """Overrides the suite default."""

    @model_validator(mode="before")
    @classmethod
    def _persona_has_no_turns(cls, data: Any) -> Any:
        """A persona conversation has no scripted turns (`turns` is required of the others)."""
        if isinstance(data, dict) and "persona" in data and "turns" not in data:
            return {**data, "turns": []}
        return data

    @field_validator("turns")
    @classmethod
    def _some_turns(cls, turns: list[Turn], info: ValidationInfo) -> list[Turn]:
        if not turns and info.data.get("persona") is None and "persona" in info.data:
            raise PydanticCustomError("too_short", "a conversation needs at least one turn")
        return turns

    @model_validator(mode="after")
    def _turns_or_persona(self) -> Conversation:
        if self.persona is not None and self.turns:
            raise ValueError("a conversation gives `turns` or a `persona`, not both")
        return self


VariantKind = Literal[
    "typos",
    "casing",
    "spacing",
    "fillers",
    "contractions",
    "numbers",
    "digits",
    "dates",
    "correction",
]
"""A way people type that a robustness variant imitates (see `evalkit.variants`)."""

VARIANT_KINDS: tuple[str, ...] = get_args(VariantKind)


class Variants(StrictModel):
    """Seeded, perturbed copies of each scripted conversation (`evalkit.variants`)."""

    kinds: Annotated[list[VariantKind], Field(min_length=1)]
    """The perturbations, each making its own copies: `typos` (keyboard neighbours), `casing`,
    `spacing` (spacing and punctuation), `fillers` (um, like), `contractions` (I am ↔ I'm),
    `numbers` (digits written as words), `digits` (number words written as digits), `dates`
    (ISO dates written other ways), `correction` (a wrong value, then "sorry, I meant ...")."""
    copies: Annotated[int, Field(ge=1, le=20)] = 1
    """How many copies of each kind per conversation (`id~kind-1`, `id~kind-2`, ...)."""
    seed: int = 0
    """Changes every copy's perturbation; the same seed gives byte-identical utterances."""

    @field_validator("kinds")
    @classmethod
    def _once_each(cls, kinds: list[str]) -> list[str]:
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"kinds names {', '.join(twice)} more than once")
        return kinds


class Suite(StrictModel):
    """A suite file: one form, many conversations."""

    suite: StrictStr
    """The suite's name, shown in reports."""
    form: StrictStr
    """The form key (`suites/forms/<key>.form.yaml` in the emulator); a target maps it to an id."""
    description: str = ""
    """What the suite covers."""
    tags: list[StrictStr] = Field(default_factory=list)
    """Tags every conversation of the suite carries."""
    defaults: Defaults = Field(default_factory=Defaults)
    """Settings the conversations inherit."""
    dry_run: bool = True
    """Create sessions with `dryRun: true`. Only set false if real submissions are wanted."""
    client_time: ClientTimeSpec | None = None
    """The clock sessions are created with, unless a conversation sets its own."""
    conversations: Annotated[list[Conversation], Field(min_length=1)]
    """The conversations."""
    variants: Variants | None = None
    """Robustness variants: perturbed copies of every scripted conversation, each with its
    own id (`name-and-email~typos-1`); persona conversations are not varied."""

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: Any) -> Any:
        """Give each conversation the `defaults` it does not set itself (prefill merges)."""
        if not isinstance(data, dict):
            return data
        defaults, conversations = data.get("defaults"), data.get("conversations")
        if isinstance(defaults, Defaults):
            defaults = defaults.model_dump(exclude_defaults=True)
        if not isinstance(defaults, dict) or not isinstance(conversations, list):
            return data
        inherited = []
        for conversation in conversations:
            if isinstance(conversation, dict):
                conversation = dict(conversation)
                prefill = defaults.get("prefill")
                if isinstance(prefill, dict) and prefill:
                    own = conversation.get("prefill")
                    conversation["prefill"] = {**prefill, **(own if isinstance(own, dict) else {})}
                for key in ("submitted", "no_errors", "repeat"):
                    if defaults.get(key) is not None and key not in conversation:
                        conversation[key] = defaults[key]
            inherited.append(conversation)
        return {**data, "conversations": inherited}


class LoadedSuite(BaseModel):
    """A validated suite with where it came from."""

    model_config = ConfigDict(frozen=True)

    suite: Suite
    """The suite."""
    path: str
    """The file, as given (relative paths stay relative)."""
    sha256: str
    """Hash of the file's bytes, recorded in run metadata."""
    conversation_lines: list[int]
    """1-based line of each conversation, in order (of its matrix row, for a matrix)."""
    conversation_files: list[str] = Field(default_factory=list)
    """The file of each conversation when some come from included files; empty otherwise."""
    variants: tuple[VariantKind, ...] = ()
    """The robustness variant kinds the run added (`--variants`), beside the suite's own key."""

    def location(self, index: int) -> str:
        """Return `path:line` of conversation `index` (in the included file it came from)."""
        path = self.conversation_files[index] if self.conversation_files else self.path
        return f"{path}:{self.conversation_lines[index]}"

    @property
    def name(self) -> str:
        """The suite's name."""
        return self.suite.suite

    @property
    def form(self) -> str:
        """The form the suite is written for."""
        return self.suite.form

    @property
    def file_name(self) -> str:
        """The file's base name."""
        return Path(self.path).name

    @property
    def outline(self) -> tuple[tuple[str, int], ...]:
        """(id, repeat) of each conversation, in order."""
        return tuple((c.id, c.repeat) for c in self.suite.conversations)

    def load(self) -> LoadedSuite:
        """The suite itself: it is loaded already (see `SuiteSource`)."""
        return self


class SuiteSource(Protocol):
    """A suite a run can take, whichever form it is held in.

    A `LoadedSuite`, or an `evalkit.loader.SuiteFile` (validated, kept small, built again when
    its turn comes): nothing downstream asks which one it holds.
    """

    @property
    def name(self) -> str:
        """The suite's name."""

    @property
    def path(self) -> str:
        """The file, as given."""

    @property
    def sha256(self) -> str:
        """Hash of the file (and of the files it includes)."""

    @property
    def form(self) -> str:
        """The form the suite is written for."""

    @property
    def outline(self) -> tuple[tuple[str, int], ...]:
        """(id, repeat) of each conversation, in order, without building the suite."""

    @property
    def variants(self) -> tuple[VariantKind, ...]:
        """The robustness variant kinds the run added (`--variants`); a resume adds them again."""

    def load(self) -> LoadedSuite:
        """The suite, built (again, for a file kept small)."""
