"""Async orchestration of a run: conversations in parallel, turns in order, results as they finish.

`run_async` drives every conversation of the given suites against one target with bounded
concurrency, scores each as soon as it ends, appends it to `results.jsonl` (flushed), and writes
`run.json` at the start and again with the summary at the end. A target that fails never stops the
run: its error is stored on that conversation's result (`status: error`) with whatever arrived.

`emulator_target` starts the built-in emulator on a free loopback port for the duration of a run.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from evalkit import __version__
from evalkit.client import WIX_BASE_URL, Credentials, FormsClient, Mode
from evalkit.emulator import EmulatorServer, load_forms
from evalkit.errors import Problem, SuiteError, TargetError, UsageError, WixApiError
from evalkit.metrics import summarize
from evalkit.protocol import ClientTime
from evalkit.results import (
    ConversationResult,
    ErrorInfo,
    ResultsWriter,
    RunInfo,
    SuiteInfo,
    TargetInfo,
    TurnTranscript,
    sorted_results,
    write_run_info,
)
from evalkit.scoring import score_conversation
from evalkit.suite import LoadedSuite

__all__ = ["RunOutcome", "Target", "emulator_target", "new_run_id", "run_async", "run_sync"]

TargetName = Literal["emulator", "wix", "custom"]


@dataclass(frozen=True)
class Target:
    """What a run talks to.

    Attributes:
        name: `emulator`, `wix`, or `custom` (any server that speaks the API).
        base_url: The API root.
        mode: Streamed endpoints with a preferred framing, or `unary`.
        form_ids: Form key → form id; a key without an entry is sent as the id itself.
        credentials: Sent with every request when set; never written anywhere.
    """

    name: TargetName
    base_url: str = WIX_BASE_URL
    mode: Mode = "sse"
    form_ids: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"the base URL must be http(s)://host[:port], got {parts.scheme!r}")
        if parts.username or parts.password:
            # The URL is recorded in run.json, and user info would override the API key header.
            raise UsageError("put credentials in WIX_API_KEY / WIX_SITE_ID, not in the base URL")

    def info(self) -> TargetInfo:
        """The target as recorded in `run.json`: no credentials, no query string."""
        parts = urlsplit(self.base_url)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return TargetInfo(
            name=self.name, base_url=url, framing=self.mode, form_ids=dict(self.form_ids)
        )


@dataclass(frozen=True)
class RunOutcome:
    """A finished run."""

    run_dir: Path
    """Where its files are."""
    info: RunInfo
    """`run.json` as written."""
    results: list[ConversationResult]
    """Every result, sorted by (suite, id, repeat)."""


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: `20261125-101500-3fa9c1`."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _client_time(loaded: LoadedSuite, index: int) -> ClientTime | None:
    spec = loaded.suite.conversations[index].client_time or loaded.suite.client_time
    if spec is None:
        return None
    return ClientTime(current_time=spec.current_time, time_zone=spec.time_zone)


async def _run_conversation(
    client: FormsClient, target: Target, loaded: LoadedSuite, index: int, turn_timeout: float
) -> ConversationResult:
    suite = loaded.suite
    conversation = suite.conversations[index]
    started_at = _iso(_utc_now())
    clock = time.perf_counter()
    transcript: list[TurnTranscript] = []
    base: dict[str, Any] = {
        "suite": suite.suite,
        "conversation_id": conversation.id,
        "source": loaded.location(index),
        "tags": sorted({*suite.tags, *conversation.tags}),
        "started_at": started_at,
    }
    try:
        async with asyncio.timeout(turn_timeout):
            created = await client.create_session(
                target.form_ids.get(suite.form, suite.form),
                current_values=dict(conversation.prefill) or None,
                dry_run=suite.dry_run,
                client_time=_client_time(loaded, index),
            )
        transcript.append(created)
        if not created.session_id:
            raise TargetError("the create response named no session id", kind="protocol")
        for turn in conversation.turns:
            async with asyncio.timeout(turn_timeout):
                reply = await client.send_message(
                    created.session_id, turn.user, current_values=dict(turn.set_values) or None
                )
            transcript.append(reply)
    except Exception as exc:  # a failing target, or a bug, marks this conversation only
        return _error_result(base, transcript, exc, clock, turn_timeout)
    score = score_conversation(conversation, suite.defaults, transcript)
    return ConversationResult(
        **base,
        status=score.status,
        session_id=created.session_id,
        transcript=transcript,
        fields=score.fields,
        checks=score.checks,
        warnings=score.warnings,
        final_state=score.final_state,
        submitted=score.submitted,
        duration_s=time.perf_counter() - clock,
    )


def _error_result(
    base: dict[str, Any],
    transcript: list[TurnTranscript],
    exc: BaseException,
    clock: float,
    turn_timeout: float,
) -> ConversationResult:
    if isinstance(exc, TargetError) and isinstance(exc.partial, TurnTranscript):
        transcript.append(exc.partial)
        turn = len(transcript) - 1
    else:
        turn = len(transcript)
    if isinstance(exc, TargetError):
        error = ErrorInfo(kind=exc.kind, message=str(exc), turn=turn)
        if isinstance(exc, WixApiError):
            error = error.model_copy(update={"status": exc.status, "code": exc.code})
    elif isinstance(exc, TimeoutError):
        message = f"no complete answer within the {turn_timeout:g} s turn deadline"
        error = ErrorInfo(kind="timeout", message=message, turn=turn)
    else:
        message = f"evalkit failed on this conversation: {type(exc).__name__}: {exc}"
        error = ErrorInfo(kind="internal", message=message, turn=turn)
    return ConversationResult(
        **base,
        status="error",
        error=error,
        session_id=transcript[0].session_id if transcript else "",
        transcript=transcript,
        duration_s=time.perf_counter() - clock,
    )


async def run_async(
    suites: Sequence[LoadedSuite],
    target: Target,
    *,
    out_root: Path,
    concurrency: int = 4,
    turn_timeout: float = 120.0,
    run_id: str | None = None,
    transport: Any = None,
    on_result: Callable[[ConversationResult], None] | None = None,
) -> RunOutcome:
    """Run every conversation of `suites` against `target` and write the run directory.

    Args:
        suites: Loaded suites.
        target: Where to send the conversations.
        out_root: The directory under which `<run-id>/` is created.
        concurrency: Conversations in flight at once (turns within one are sequential).
        turn_timeout: Wall-clock seconds allowed for one exchange, however slowly it drips.
        run_id: The run's id; a new one by default.
        transport: An httpx2 async transport to use instead of the network (for tests).
        on_result: Called with each result as soon as it is written (e.g. for progress).

    Returns:
        The run directory, its metadata and its results.

    Raises:
        UsageError: `concurrency` or `turn_timeout` is not positive.
    """
    if concurrency < 1:
        raise UsageError(f"concurrency must be at least 1, got {concurrency}")
    if turn_timeout <= 0:
        raise UsageError(f"turn timeout must be positive, got {turn_timeout}")
    started = _utc_now()
    run_id = run_id or new_run_id(started)
    run_dir = out_root / run_id
    info = RunInfo(
        run_id=run_id,
        evalkit_version=__version__,
        started_at=_iso(started),
        target=target.info(),
        suites=[
            SuiteInfo(
                name=s.name,
                path=s.path,
                sha256=s.sha256,
                form=s.suite.form,
                conversations=len(s.suite.conversations),
            )
            for s in suites
        ],
        concurrency=concurrency,
    )
    run_dir.mkdir(parents=True, exist_ok=False)
    write_run_info(run_dir, info)
    secret_values = [target.credentials.api_key.reveal()] if target.credentials else []
    results: list[ConversationResult] = []
    gate = asyncio.Semaphore(concurrency)
    client = FormsClient(
        target.base_url,
        credentials=target.credentials,
        mode=target.mode,
        transport=transport,
        max_connections=concurrency,
    )
    with ResultsWriter(run_dir, secrets=secret_values) as writer:

        async def one(loaded: LoadedSuite, index: int) -> None:
            async with gate:
                result = await _run_conversation(client, target, loaded, index, turn_timeout)
            writer.write(result)
            results.append(result)
            if on_result is not None:
                on_result(result)

        # The writer outlives the task group, so every finished conversation is written.
        async with client, asyncio.TaskGroup() as group:
            for loaded in suites:
                for index in range(len(loaded.suite.conversations)):
                    group.create_task(one(loaded, index))
    ordered = sorted_results(results)
    info = info.model_copy(update={"finished_at": _iso(_utc_now()), "summary": summarize(ordered)})
    write_run_info(run_dir, info)
    return RunOutcome(run_dir=run_dir, info=info, results=ordered)


def run_sync(
    suites: Sequence[LoadedSuite], target: Target, *, out_root: Path, **options: Any
) -> RunOutcome:
    """`run_async` for callers without an event loop; takes the same options."""
    return asyncio.run(run_async(suites, target, out_root=out_root, **options))


def forms_dirs(suites: Sequence[LoadedSuite], extra: Sequence[Path] = ()) -> list[Path]:
    """Where the emulator looks for forms: given directories, then `forms/` beside each suite."""
    found: list[Path] = []
    for candidate in [*extra, *(Path(s.path).parent / "forms" for s in suites)]:
        if candidate.is_dir() and candidate.resolve() not in {f.resolve() for f in found}:
            found.append(candidate)
    return found


@contextmanager
def emulator_target(
    suites: Sequence[LoadedSuite], *, mode: Mode = "sse", forms: Sequence[Path] = ()
) -> Iterator[Target]:
    """Start the built-in emulator on a free loopback port and yield a target pointing at it.

    Args:
        suites: The suites to run; their forms are looked up in `forms/` beside each suite file.
        mode: How turns are requested; for streamed modes it is also the emulator's framing.
        forms: More directories of `*.form.yaml` files, searched first.

    Raises:
        SuiteError: A suite names a form that none of the directories defines, or a form file
            is broken.
    """
    definitions = {}
    for directory in reversed(forms_dirs(suites, forms)):
        definitions.update(load_forms(directory))
    unknown = sorted({s.suite.form for s in suites} - set(definitions))
    if unknown:
        searched = ", ".join(str(d) for d in forms_dirs(suites, forms)) or "nowhere"
        raise SuiteError(
            [
                Problem(s.path, 0, f"form {s.suite.form!r} is not defined (searched: {searched})")
                for s in suites
                if s.suite.form in unknown
            ]
        )
    framing = "sse" if mode == "unary" else mode
    with EmulatorServer(forms=definitions, framing=framing) as server:
        yield Target(name="emulator", base_url=server.base_url, mode=mode, form_ids=server.form_ids)
