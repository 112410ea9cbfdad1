"""Output models: transcripts, verdicts, and the metadata and summary of a run."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field

from evalkit.errors import ErrorKind, UsageError
from evalkit.protocol import Framing
from evalkit.results.base import OutputModel
from evalkit.results.coverage import Coverage, FormInfo
from evalkit.results.figures import (
    FieldStats,
    PersonaMetrics,
    RobustnessMetrics,
    SlotMetrics,
)

__all__ = [
    "RESULTS_FILE",
    "RUN_FILE",
    "SCHEMA_VERSION",
    "Attempt",
    "CheckResult",
    "ConversationResult",
    "ErrorInfo",
    "FieldOutcome",
    "FieldResult",
    "RunInfo",
    "Selection",
    "SimulationInfo",
    "SimulatorInfo",
    "Status",
    "SuiteInfo",
    "Summary",
    "TargetInfo",
    "TimedChunk",
    "TurnTranscript",
    "parse_shard",
]

SCHEMA_VERSION = 1
"""Version of the run-directory format; bump when a field changes meaning."""
RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"

Status = Literal["pass", "fail", "error", "skipped"]
"""Verdict of a conversation; `error` (no answer to judge) is never a pass or a fail."""

FieldOutcome = Literal["correct", "wrong", "missing", "unexpected"]
"""How a checked field came out: extracted and matching, extracted and not, not extracted, or
extracted without being expected."""


class TimedChunk(OutputModel):
    """One chunk as it arrived."""

    t: float
    """Seconds from the start of the request to this chunk's arrival."""
    chunk: dict[str, Any]
    """The chunk exactly as received (wire names, unknown fields kept)."""


class Attempt(OutputModel):
    """A request that did not give an answer and was tried again (or a conversation restarted)."""

    turn: int
    """0 for session creation, n for the n-th user turn."""
    attempt: int
    """1-based number of the failed attempt (for a restart: of the failed session)."""
    cause: str
    """What went wrong, e.g. `HTTP 429`, `ConnectError`, `truncated: ...`."""
    action: Literal["retry", "restart"]
    """`retry`: the same request again; `restart`: the conversation again on a fresh session."""
    wait_s: float = 0.0
    """Seconds waited before trying again (from backoff or `Retry-After`)."""


class TurnTranscript(OutputModel):
    """Everything one request/response exchange produced."""

    endpoint: str
    """`create`, `create-streamed`, `send-user-message` or `send-user-message-streamed`."""
    user: str | None = None
    """The user's message (None for session creation)."""
    current_values: dict[str, Any] | None = None
    """`currentValues` sent with the request."""
    status_code: int = 0
    """HTTP status of the response."""
    framing: Framing = "unknown"
    """How the body was framed."""
    session_id: str = ""
    """The session id the response named."""
    chunks: list[TimedChunk] = Field(default_factory=list)
    """Every chunk, in order, with its arrival time."""
    first_chunk_s: float | None = None
    """Seconds to the first chunk."""
    total_s: float = 0.0
    """Seconds from request to the end of the body."""
    complete: bool = True
    """False when a streamed body ended without END_OF_RESPONSE."""
    retries: list[Attempt] = Field(default_factory=list)
    """Attempts of this exchange that failed before a response began, and were retried."""
    warnings: list[str] = Field(default_factory=list)
    """What the body held that is kept in another form than it came in (a lone surrogate kept
    escaped, `NaN` kept as text, ...): the chunks say what was stored, these say why."""


class ErrorInfo(OutputModel):
    """Why a conversation could not be evaluated."""

    kind: ErrorKind
    """From a closed set: transport, http, timeout, truncated, protocol, internal, simulator."""
    message: str
    """What happened, free of secrets."""
    turn: int | None = None
    """0 for session creation, n for the n-th user turn; None when not tied to a turn."""
    status: int | None = None
    """HTTP status, for `http` errors."""
    code: str = ""
    """Wix application error code, when the body carried one."""


class FieldResult(OutputModel):
    """The verdict on one field in one turn (or at the end)."""

    field: str
    """The field target."""
    turn: int | None
    """1-based user turn, or None for the `final` state."""
    matcher: str
    """The matcher used (`unexpected` for an extracted field that was not expected)."""
    expected: Any = None
    """The expected value as written."""
    actual: Any = None
    """The value extracted (None when missing)."""
    outcome: FieldOutcome
    """correct, wrong, missing or unexpected."""
    passed: bool
    """Whether this check holds (an `unexpected` field passes unless the policy is `fail`)."""
    score: float
    """0–1 similarity, 1 for a pass."""
    reason: str
    """Why it passed or failed, in words."""


class CheckResult(OutputModel):
    """A verdict on something other than a field: the reply text, submission, no errors."""

    check: str
    """What was checked, e.g. `reply`, `submitted`."""
    turn: int | None
    """1-based user turn, or None for the whole conversation."""
    passed: bool
    """Whether it holds."""
    reason: str
    """Why, in words."""


class SimulationInfo(OutputModel):
    """What the persona simulator did in a persona conversation (none for scripted ones)."""

    seed: int
    """The seed its phrasing was drawn with (from the conversation's key and repeat)."""
    persona: str = ""
    """The persona's name."""
    asked: list[str | None] = Field(default_factory=list)
    """The field each assistant turn asked for, as the simulator understood it (session
    creation first; None where it could not tell)."""
    answers: list[list[str]] = Field(default_factory=list)
    """The fields each user turn gave values for, in order."""
    stop: str = ""
    """Why it stopped: `submitted`, `max turns`, `no progress`, `nothing to say`."""
    notes: list[str] = Field(default_factory=list)
    """The simulator's own trouble (a question it could not place), never the target's."""
    values: dict[str, Any] = Field(default_factory=dict)
    """The persona's values as the person gives them, by field (empty in older runs)."""
    traits: dict[str, Any] = Field(default_factory=dict)
    """How the persona talks: style, selects, numbers, dates, volunteers, declines, corrects."""
    never_asked: list[str] = Field(default_factory=list)
    """Persona values never given: the assistant did not ask and the person did not volunteer."""
    fewest_turns: int | None = None
    """The fewest user turns this persona could have needed (None in older runs)."""


class ConversationResult(OutputModel):
    """One row of `results.jsonl`: a conversation, its transcript and its verdict."""

    suite: str
    """The suite's name."""
    conversation_id: str
    """The conversation's id."""
    repeat: int = 0
    """Which repetition (0-based)."""
    source: str = ""
    """`path:line` of the conversation in its suite."""
    tags: list[str] = Field(default_factory=list)
    """The conversation's tags (with the suite's)."""
    status: Status
    """pass, fail, error or skipped."""
    error: ErrorInfo | None = None
    """Set when status is `error`."""
    session_id: str = ""
    """The session the conversation ran in."""
    transcript: list[TurnTranscript] = Field(default_factory=list)
    """Session creation, then one entry per user turn."""
    fields: list[FieldResult] = Field(default_factory=list)
    """Every field verdict, per turn and final."""
    checks: list[CheckResult] = Field(default_factory=list)
    """Verdicts on replies and submission."""
    warnings: list[str] = Field(default_factory=list)
    """Findings that do not fail the conversation (e.g. unexpected fields under `warn`)."""
    restarts: list[Attempt] = Field(default_factory=list)
    """Sessions abandoned because a stream broke after it began; the conversation then restarted."""
    abandoned: list[list[TurnTranscript]] = Field(default_factory=list)
    """The transcripts of those abandoned sessions (with their retries), one per restart."""

    def all_retries(self) -> list[Attempt]:
        """Every retried request of the conversation, abandoned sessions included, in order."""
        sessions = [*self.abandoned, self.transcript]
        return [a for session in sessions for turn in session for a in turn.retries]

    final_state: dict[str, Any] = Field(default_factory=dict)
    """Accumulated values at the end: prefill, `set` and extractions, last write wins."""
    submitted: bool = False
    """Whether a SUBMISSION chunk arrived."""
    simulation: SimulationInfo | None = None
    """For a persona conversation: the simulator's seed, what it understood and its notes."""
    started_at: str = ""
    """ISO-8601 UTC start time."""
    duration_s: float = 0.0
    """Wall-clock seconds for the whole conversation."""

    @property
    def key(self) -> tuple[str, str, int]:
        """The identity used to pair results across runs: (suite, id, repeat)."""
        return (self.suite, self.conversation_id, self.repeat)


class Summary(OutputModel):
    """The headline numbers of a run."""

    total: int = 0
    """Conversations (times repeats)."""
    passed: int = 0
    """Conversations that passed."""
    failed: int = 0
    """Conversations that failed."""
    errors: int = 0
    """Conversations the harness could not evaluate."""
    skipped: int = 0
    """Conversations not run."""
    pass_rate: float | None = None
    """passed / (passed + failed): errors are not counted either way."""
    pass_rate_ci: tuple[float, float] | None = None
    """Wilson 95% interval of the pass rate."""
    conversations: int = 0
    """Distinct conversations (a conversation run 5 times counts once)."""
    repeats: int = 1
    """The most times any conversation ran."""
    k: int = 1
    """The k of pass@k and pass^k: the fewest decided repeats of any conversation."""
    pass_at_k: float | None = None
    """Mean over conversations of P(at least one of k repeats passes)."""
    pass_at_k_ci: tuple[float, float] | None = None
    """Wilson 95% interval of pass@k."""
    pass_hat_k: float | None = None
    """Mean over conversations of P(all k repeats pass): consistency."""
    pass_hat_k_ci: tuple[float, float] | None = None
    """Wilson 95% interval of pass^k."""
    flaky: list[str] = Field(default_factory=list)
    """`suite/id` of conversations that both passed and failed across repeats."""
    error_rate: float | None = None
    """errors / total."""
    fields: dict[str, FieldStats] = Field(default_factory=dict)
    """Per-field counts, sorted by field name."""
    latency: dict[str, float] = Field(default_factory=dict)
    """Turn latency percentiles in seconds: first_chunk_p50/p95/max, turn_p50/p95/max."""
    slot_filling: SlotMetrics | None = None
    """Joint and average goal accuracy, slot precision/recall/F1 and the choice fields'
    confusion (docs/metrics.md); None when no turn had a field verdict (or the run predates
    them)."""
    coverage: Coverage | None = None
    """What of its forms the run observed: fields and options extracted, submission reached,
    chunk types seen (docs/coverage.md); None when `run.json` records no form."""
    personas: PersonaMetrics | None = None
    """Completion, turns, re-asks, per-field accuracy and pass^k of the persona conversations
    (docs/metrics.md); None when the run has none."""
    robustness: RobustnessMetrics | None = None
    """Per variant kind, pass rate and per-field accuracy of the copies against their originals,
    the drop and its 95% interval (docs/variants.md); None when the run has no copies."""


class SuiteInfo(OutputModel):
    """One suite file of the run."""

    name: str
    """The suite's name."""
    path: str
    """The file."""
    sha256: str
    """Hash of its bytes."""
    form: str
    """Its form key."""
    conversations: int
    """How many conversations it holds."""
    variants: list[str] = Field(default_factory=list)
    """The robustness variant kinds `--variants` added to it (a resume adds them again)."""


class TargetInfo(OutputModel):
    """What the run talked to (never any credential)."""

    name: str
    """`emulator`, `wix`, or `custom` for another base URL."""
    base_url: str
    """The API root."""
    framing: str
    """`sse`, `ndjson`, `json-array` (streamed endpoints) or `unary`."""
    form_ids: dict[str, str] = Field(default_factory=dict)
    """Form key → form id sent."""
    rate_limit: float | None = None
    """Requests per minute the run kept to; None: unlimited."""
    auth: Literal["none", "api-key", "oauth"] = "none"
    """How requests were authenticated (the credentials themselves are never recorded)."""
    forms: list[str] = Field(default_factory=list)
    """The emulator's extra form directories (besides `forms/` beside each suite)."""


class SimulatorInfo(OutputModel):
    """Which simulator played the run's persona conversations (never its API key)."""

    kind: Literal["rules", "llm"] = "rules"
    """`rules`: the deterministic, rule-based simulator; `llm`: a chat-completions endpoint."""
    base_url: str = ""
    """The LLM endpoint's base URL (`llm` only)."""
    model: str = ""
    """The model asked (`llm` only)."""
    seed: int | None = None
    """The `seed` sent with each request (`llm` only; `EVALKIT_SIMULATOR_SEED`), if any."""

    def describe(self) -> str:
        """The simulator in words, as a run's messages name it (`rules`, `llm m at URL seed 7`)."""
        if self.kind == "rules":
            return "rules"
        seed = f" seed {self.seed}" if self.seed is not None else ""
        return f"llm {self.model or '?'} at {self.base_url or '?'}{seed}"


class Selection(OutputModel):
    """Which conversations of the suites a run takes (`evalkit run --tag/--id/--exclude`).

    A conversation is taken when it has one of `tags` (its own or its suite's; any tag when
    empty) and its id matches one of `ids` (any id when empty), and it matches none of
    `exclude` and has none of `exclude_tags`. Id patterns are shell-style (`age-*`) and match
    the id or `suite/id`.
    """

    tags: list[str] = Field(default_factory=list)
    """Take conversations with one of these tags."""
    ids: list[str] = Field(default_factory=list)
    """Take conversations whose id (or `suite/id`) matches one of these patterns."""
    exclude: list[str] = Field(default_factory=list)
    """Leave out conversations whose id (or `suite/id`) matches one of these patterns."""
    exclude_tags: list[str] = Field(default_factory=list)
    """Leave out conversations with one of these tags."""

    def matches(self, suite: str, conversation_id: str, tags: Iterable[str]) -> bool:
        """Whether the selection takes this conversation."""
        names = (conversation_id, f"{suite}/{conversation_id}")
        tagged = set(tags)

        def named(patterns: list[str]) -> bool:
            return any(fnmatch.fnmatchcase(name, p) for p in patterns for name in names)

        if self.tags and not tagged & set(self.tags):
            return False
        if self.ids and not named(self.ids):
            return False
        return not named(self.exclude) and not tagged & set(self.exclude_tags)

    def describe(self) -> str:
        """The selection as the options that make it: `--tag smoke --exclude 'age-*'`."""
        parts = [f"--tag {t}" for t in self.tags] + [f"--id {i}" for i in self.ids]
        parts += [f"--exclude {e}" for e in self.exclude]
        parts += [f"--exclude-tag {t}" for t in self.exclude_tags]
        return " ".join(parts)


class RunInfo(OutputModel):
    """`run.json`: how the run was made and what came of it."""

    schema_version: int = SCHEMA_VERSION
    """Version of the run-directory format."""
    run_id: str
    """Unique id, also the directory name."""
    evalkit_version: str
    """The evalkit that made the run."""
    started_at: str
    """ISO-8601 UTC."""
    finished_at: str = ""
    """ISO-8601 UTC; empty while running."""
    target: TargetInfo
    """The target."""
    suites: list[SuiteInfo] = Field(default_factory=list)
    """The suites run."""
    concurrency: int = 1
    """Conversations run at once (at most)."""
    interrupted: bool = False
    """True when the run was stopped (Ctrl-C, SIGTERM, the circuit breaker, a kill) before every
    conversation ran."""
    stopped: str = ""
    """Why evalkit itself stopped the run early (the circuit breaker), in words; empty otherwise."""
    planned: int | None = None
    """How many conversations (with repeats) the run was to have; None before it ends."""
    resumed: int = 0
    """How many times the run was resumed (`evalkit run --resume`)."""
    repeat: int | None = None
    """`--repeat`: every conversation ran this many times (None: as each suite says)."""
    shard: str | None = None
    """`i/n` when the run is one shard of a larger one."""
    selection: Selection | None = None
    """The conversations the run took, when not all (a resume keeps them)."""
    simulator: SimulatorInfo | None = None
    """Which simulator played the persona conversations (None: a run from before it was
    recorded, which used the rule-based one)."""
    git_commit: str | None = None
    """The commit of the repository the suites came from, when known."""
    git_branch: str | None = None
    """Its branch, when known."""
    rescored_from: str | None = None
    """The run id whose stored transcripts this run scored again (`evalkit rescore`); None for
    a run that sent its own requests."""
    forms: list[FormInfo] = Field(default_factory=list)
    """The forms the suites are written for, as known where the run started (fields, types,
    options, limits), so coverage is computed from the run directory alone."""
    summary: Summary = Field(default_factory=Summary)
    """Headline numbers."""


def parse_shard(value: object) -> tuple[int, int] | None:
    """`"i/n"` (as `RunInfo.shard` holds it) as `(i, n)`; None for a run that is not a shard.

    Raises:
        UsageError: The value is not of the form `i/n` with 1 <= i <= n.
    """
    if value is None or value == "":
        return None
    index, sep, count = str(value).partition("/")
    if not (sep and index.strip().isdigit() and count.strip().isdigit()):
        raise UsageError(f"shard {value!r} is not of the form i/n")
    pair = (int(index), int(count))
    if not 1 <= pair[0] <= pair[1]:
        raise UsageError(f"shard {value!r}: i must be between 1 and n")
    return pair
