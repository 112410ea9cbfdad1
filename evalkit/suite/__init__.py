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

from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from evalkit.suite.checks import (
    COMPOSITE_MATCHERS,
    MATCHER_HELP,
    MATCHER_NAMES,
    MATCHER_OPTIONS,
    REPLY_MATCHERS,
    Check,
    Expectation,
    MatcherName,
    StrictModel,
    StringPolicy,
    UnexpectedPolicy,
    parse_check,
)
from evalkit.suite.persona import Persona, PersonaValue
from evalkit.suite.variants import VARIANT_KINDS, VariantKind, Variants

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
