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
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

__all__ = [
    "MATCHER_NAMES",
    "MATCHER_OPTIONS",
    "REPLY_MATCHERS",
    "Check",
    "ClientTimeSpec",
    "Conversation",
    "Defaults",
    "LoadedSuite",
    "MatcherName",
    "StringPolicy",
    "Suite",
    "Turn",
    "UnexpectedPolicy",
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
    "email",
    "phone",
    "fuzzy",
]
"""Every matcher a suite can name."""

MATCHER_NAMES: tuple[str, ...] = get_args(MatcherName)

MATCHER_OPTIONS: dict[str, frozenset[str]] = {
    "approx": frozenset({"abs", "rel"}),
    "regex": frozenset({"ignore_case"}),
    "fuzzy": frozenset({"threshold"}),
}
"""Options a matcher accepts beside its name; a matcher not listed takes none."""

REPLY_MATCHERS: frozenset[str] = frozenset({"contains", "regex", "text", "fuzzy", "equals"})
"""Matchers that make sense on the assistant's reply text."""

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
    return {"matcher": name, "value": raw[name], "options": options}


Expectation = Annotated[Check, BeforeValidator(parse_check)]
"""A `Check` as written in YAML."""


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


class Conversation(StrictModel):
    """A multi-turn conversation with its expectations."""

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
    turns: Annotated[list[Turn], Field(min_length=1)]
    """The user's messages, in order."""
    final: dict[str, Expectation] | None = None
    """Expected state at the end: prefill, then `set` and extractions in order, last write wins."""
    submitted: bool | None = None
    """Whether a SUBMISSION chunk must (true) or must not (false) have arrived."""
    unexpected_fields: UnexpectedPolicy | None = None
    """Overrides the suite default."""
    strings: StringPolicy | None = None
    """Overrides the suite default."""


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
    """1-based line of each conversation, in order."""

    def location(self, index: int) -> str:
        """Return `path:line` of conversation `index`."""
        return f"{self.path}:{self.conversation_lines[index]}"

    @property
    def name(self) -> str:
        """The suite's name."""
        return self.suite.suite

    @property
    def file_name(self) -> str:
        """The file's base name."""
        return Path(self.path).name
