"""Options several commands share, each family given to the command as one library object."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from evalkit.client import Limits, Mode, RetryPolicy
from evalkit.errors import UsageError
from evalkit.gates import Gates
from evalkit.loader import LoadOptions
from evalkit.results import Selection, parse_shard
from evalkit.runner import RunSettings
from evalkit.runner.description import (
    FRAMINGS,
    TARGET_KINDS,
    TargetOptions,
    parse_form_ids,
)
from evalkit.runner.simulators import SimulatorKind, SimulatorSettings
from evalkit.runner.target import TargetName

if TYPE_CHECKING:
    from evalkit.history import HistoryLocation

_Command = TypeVar("_Command", bound=Callable[..., Any])

__all__ = [
    "RATE",
    "Rate",
    "gate_options",
    "history_option",
    "scope_options",
    "selection_options",
    "settings_options",
    "target_options",
    "variants_option",
]


class Rate(click.ParamType[float, Any]):
    """A rate option's value, `0.95` or `95%`, read by the one rate parser (`parse_rate`)."""

    name = "rate"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The rate as a fraction; a bare number above 1 fails with the hint `N%`."""
        if isinstance(value, float):
            return value
        from evalkit.pipeline import parse_rate  # the reports' parser, loaded when one is given

        name = param.opts[0] if param is not None and param.opts else "rate"
        try:
            return parse_rate(str(value), what=name)
        except UsageError as exc:
            self.fail(str(exc).removeprefix(f"{name}: "), param, ctx)


RATE = Rate()
"""The click type of every rate option (`--fail-under`, `--max-error-rate`)."""


def _grouped(
    options: tuple[Callable[[Callable[..., Any]], Callable[..., Any]], ...],
    names: tuple[str, ...],
    build: Callable[..., Any],
    argument: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding `options`, whose values (`names`) reach the command as `argument`."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def grouped(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return command(*args, **{argument: build(**values)}, **kwargs)

        for option in reversed(options):
            grouped = option(grouped)
        return grouped

    return decorate


_GATE_OPTIONS = (
    click.option(
        "--max-error-rate",
        type=RATE,
        default="5%",
        show_default=True,
        help="Exit 3 when more than this share of conversations end in error (0.05 or 5%).",
    ),
    click.option(
        "--fail-under",
        type=RATE,
        default=None,
        help="Exit 1 when the pass rate is under this, e.g. 0.95 or 95% (default: exit 1 on "
        "any failure).",
    ),
    click.option(
        "--max-regressions",
        type=click.IntRange(min=0),
        default=None,
        help="With a baseline: exit 1 when there are more regressions than this.",
    ),
    click.option(
        "--alpha",
        type=click.FloatRange(0, 1, min_open=True),
        default=0.05,
        show_default=True,
        help="With a baseline: exit 1 on a regression significant at this level (McNemar).",
    ),
    click.option(
        "--min-coverage",
        type=RATE,
        default=None,
        help="Exit 1 when the run observed less of its forms than this (0.8 or 80%: fields and "
        "options extracted, submission reached), listing what it missed.",
    ),
)


gate_options = _grouped(
    _GATE_OPTIONS,
    ("max_error_rate", "fail_under", "max_regressions", "alpha", "min_coverage"),
    Gates,
    "gates",
)
"""The gate options of a command, given to it as one `gates` argument (`evalkit.Gates`)."""


_LIMITS = Limits()

_SETTINGS_OPTIONS = (
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=4,
        show_default=True,
        help="Most conversations in flight at once (lowered automatically on 429).",
    ),
    click.option(
        "--turn-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=120.0,
        show_default=True,
        help="Wall-clock seconds allowed for one exchange, retries included.",
    ),
    click.option(
        "--conversation-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=600.0,
        show_default=True,
        help="Wall-clock seconds allowed for a whole conversation.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=3,
        show_default=True,
        help="Retries of a request that failed before its response began (connect errors, "
        "408, 429, 5xx), with backoff from 0.5 s doubling to 8 s, honouring Retry-After.",
    ),
    click.option(
        "--restarts",
        type=click.IntRange(min=0),
        default=2,
        show_default=True,
        help="Restarts of a conversation on a fresh session after a stream broke mid-way.",
    ),
    click.option(
        "--repeat",
        type=click.IntRange(min=1),
        default=None,
        help="Run every conversation N times (default: as each suite says) to measure flakiness.",
    ),
    click.option(
        "--shard",
        default=None,
        metavar="I/N",
        help="Run only shard I of N (a stable split by conversation); merge with `evalkit merge`.",
    ),
    click.option(
        "--circuit-breaker",
        "breaker",
        type=click.IntRange(min=0),
        default=10,
        show_default=True,
        help="Stop launching conversations after this many in a row could not reach the target "
        "(exit 3; --resume finishes the run); 0 never stops.",
    ),
    click.option(
        "--grace",
        type=click.FloatRange(min=0),
        default=10.0,
        show_default=True,
        help="On Ctrl-C or SIGTERM, seconds in-flight conversations get to finish.",
    ),
    click.option(
        "--max-response-bytes",
        type=click.IntRange(min=1),
        default=_LIMITS.response_bytes,
        show_default=True,
        help="Most bytes read of one response body; past them the conversation is a protocol "
        "error (not restarted).",
    ),
    click.option(
        "--max-message-bytes",
        type=click.IntRange(min=1),
        default=_LIMITS.message_bytes,
        show_default=True,
        help="Most bytes of one message (an SSE event, an NDJSON line, an array element, a "
        "unary body), checked as it arrives; past them: a protocol error.",
    ),
    click.option(
        "--max-chunks",
        type=click.IntRange(min=1),
        default=_LIMITS.chunks_per_turn,
        show_default=True,
        help="Most chunks in one response; the first ones are kept, the next ends the turn "
        "with a protocol error.",
    ),
    click.option(
        "--max-error-body-bytes",
        type=click.IntRange(min=1),
        default=_LIMITS.error_body_bytes,
        show_default=True,
        help="Bytes read of a non-2xx body and shown in the error; the rest is not read.",
    ),
    click.option(
        "--simulator",
        type=click.Choice(["rules", "llm"]),
        default="rules",
        show_default=True,
        help="Who plays persona conversations: the deterministic rule-based simulator, or an "
        "OpenAI-compatible chat endpoint (EVALKIT_SIMULATOR_URL, EVALKIT_SIMULATOR_MODEL, "
        "EVALKIT_SIMULATOR_KEY) wording the same answers, its replies cached on disk.",
    ),
    click.option(
        "--simulator-cache",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        metavar="DIR",
        help="Where the LLM simulator's replies are cached by (model, base URL, seed, prompt); "
        "it must be writable, else the run stops before it starts. [default: "
        ".cache/evalkit/simulator below the project root]",
    ),
    click.option(
        "--simulator-reply-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help="Seconds the LLM simulator's model has for one reply, within the turn's deadline; "
        "past it the conversation is an error of kind simulator. [default: the turn's deadline]",
    ),
)


def _settings(
    *,
    concurrency: int,
    turn_timeout: float,
    conversation_timeout: float,
    retries: int,
    restarts: int,
    repeat: int | None,
    shard: str | None,
    breaker: int,
    grace: float,
    max_response_bytes: int,
    max_message_bytes: int,
    max_chunks: int,
    max_error_body_bytes: int,
    simulator: SimulatorKind,
    simulator_cache: Path | None,
    simulator_reply_timeout: float | None,
) -> RunSettings:
    limits = Limits(
        response_bytes=max_response_bytes,
        message_bytes=max_message_bytes,
        chunks_per_turn=max_chunks,
        error_body_bytes=max_error_body_bytes,
    )
    played = SimulatorSettings.from_env(
        simulator, os.environ, cache=simulator_cache, reply_timeout=simulator_reply_timeout
    )
    played.check()  # an unwritable reply cache stops the run before anything is sent
    return RunSettings(
        concurrency=concurrency,
        turn_timeout=turn_timeout,
        conversation_timeout=conversation_timeout,
        restarts=restarts,
        retry=RetryPolicy(retries=retries),
        grace=grace,
        repeat=repeat,
        shard=parse_shard(shard),
        breaker=breaker,
        limits=limits,
        simulator=played,
    )


settings_options = _grouped(
    _SETTINGS_OPTIONS,
    (
        "concurrency",
        "turn_timeout",
        "conversation_timeout",
        "retries",
        "restarts",
        "repeat",
        "shard",
        "breaker",
        "grace",
        "max_response_bytes",
        "max_message_bytes",
        "max_chunks",
        "max_error_body_bytes",
        "simulator",
        "simulator_cache",
        "simulator_reply_timeout",
    ),
    _settings,
    "settings",
)
"""How a run behaves (concurrency, deadlines, retries, restarts, repeats, shard, the circuit
breaker, the limits on what a target sends, the persona simulator), given to the command as one
`RunSettings`."""


def _history(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> HistoryLocation | None:
    """`--history`, else `EVALKIT_HISTORY_URL`, else the project configuration's, else None."""
    from evalkit.history import configured_history, history_location

    try:
        return history_location(value) if value else configured_history(Path.cwd())
    except UsageError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


history_option = click.option(
    "--history",
    default=None,
    metavar="PATH|URL",
    envvar="EVALKIT_HISTORY_URL",
    callback=_history,
    help="The run history: a SQLite file, or postgresql://user@host/db shared by every CI job "
    "(keep the password in PGPASSWORD or ~/.pgpass). Also EVALKIT_HISTORY_URL, or `history` in "
    "the project configuration. [default: history.db under the output root]",
)
"""The `--history` option: the command gets a `history` argument, a `HistoryLocation` or None."""


_TARGET_OPTIONS = (
    click.option(
        "--target",
        "target_name",
        type=click.Choice(TARGET_KINDS),
        default=None,
        help="emulator (default): start the built-in emulator; wix: the real service "
        "(WIX_API_KEY, WIX_SITE_ID); custom: any server at --base-url.",
    ),
    click.option("--base-url", default=None, help="API root of a server that speaks the API."),
    click.option(
        "--framing",
        type=click.Choice(FRAMINGS),
        default=None,
        help="Streamed endpoints asking for this framing, or the unary endpoints. [default: sse]",
    ),
    click.option(
        "--rate-limit",
        type=click.FloatRange(min=0),
        default=None,
        help="Requests per minute for the whole run; 0 for none. [default: 200 for wix, else none]",
    ),
    click.option(
        "--form-id",
        "form_id_pairs",
        multiple=True,
        metavar="KEY=ID",
        help="Map a suite's form key to the form id sent (repeatable).",
    ),
    click.option(
        "--forms",
        "forms_dirs",
        multiple=True,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Extra directory of *.form.yaml for the emulator, looked in first (then forms/ beside "
        "each suite and in its parents up to the project root, then the configured forms folder).",
    ),
)


def _target(
    *,
    target_name: TargetName | None,
    base_url: str | None,
    framing: Mode | None,
    rate_limit: float | None,
    form_id_pairs: tuple[str, ...],
    forms_dirs: tuple[Path, ...],
) -> TargetOptions:
    return TargetOptions(
        target_name, base_url, framing, parse_form_ids(form_id_pairs), rate_limit, forms_dirs
    )


target_options = _grouped(
    _TARGET_OPTIONS,
    ("target_name", "base_url", "framing", "rate_limit", "form_id_pairs", "forms_dirs"),
    _target,
    "target",
)
"""What the run talks to (`--target`, `--base-url`, `--framing`, `--rate-limit`, `--form-id`,
`--forms`), given to the command as one `TargetOptions` (see `evalkit.runner.description`)."""

_SELECTION_OPTIONS = (
    click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="TAG",
        help="Run only the conversations with this tag (their own or their suite's); repeatable: "
        "any of them.",
    ),
    click.option(
        "--id",
        "ids",
        multiple=True,
        metavar="PATTERN",
        help="Run only the conversations whose id (or suite/id) matches this pattern, e.g. "
        "'age-*' or 'contact-form/*'; repeatable: any of them.",
    ),
    click.option(
        "--exclude",
        multiple=True,
        metavar="PATTERN",
        help="Leave out the conversations whose id (or suite/id) matches this pattern; repeatable.",
    ),
    click.option(
        "--exclude-tag",
        "exclude_tags",
        multiple=True,
        metavar="TAG",
        help="Leave out the conversations with this tag; repeatable.",
    ),
)


def _selection(
    *,
    tags: tuple[str, ...],
    ids: tuple[str, ...],
    exclude: tuple[str, ...],
    exclude_tags: tuple[str, ...],
) -> Selection | None:
    chosen = Selection(
        tags=list(tags), ids=list(ids), exclude=list(exclude), exclude_tags=list(exclude_tags)
    )
    return chosen if chosen.describe() else None


selection_options = _grouped(
    _SELECTION_OPTIONS, ("tags", "ids", "exclude", "exclude_tags"), _selection, "selection"
)
"""Which conversations run (`--tag`, `--id`, `--exclude`, `--exclude-tag`), given to the
command as one `Selection`, or None for every conversation."""

_SCOPE_OPTIONS = (
    click.option(
        "--includes-root",
        "includes_roots",
        multiple=True,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        metavar="DIR",
        help="Let includes and `python:` checks also come from DIR (repeatable); by default they "
        "stay under the folder named (a file's folder) or the configured suites folder.",
    ),
    click.option(
        "--checks-package",
        "checks_packages",
        multiple=True,
        metavar="NAME",
        help="An importable package whose modules `python:` checks may name (repeatable); "
        "otherwise checks come only from modules under the suites root.",
    ),
)


def _scope(*, includes_roots: tuple[Path, ...], checks_packages: tuple[str, ...]) -> LoadOptions:
    return LoadOptions(includes_roots=includes_roots, checks_packages=checks_packages)


scope_options = _grouped(_SCOPE_OPTIONS, ("includes_roots", "checks_packages"), _scope, "scope")
"""Where includes and `python:` checks may come from (`--includes-root`, `--checks-package`),
given to the command as one `LoadOptions`."""


def _variant_kinds(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...]:
    """`typos,numbers` → the kinds, each checked against the kinds there are."""
    from evalkit.suite import VARIANT_KINDS

    kinds = tuple(dict.fromkeys(k.strip() for k in (value or "").split(",") if k.strip()))
    unknown = [k for k in kinds if k not in VARIANT_KINDS]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)}: not a variant kind; the kinds: {', '.join(VARIANT_KINDS)}"
        )
    return kinds


def variants_option(command: _Command) -> _Command:
    """`--variants KIND,...`: robustness variants of every scripted conversation.

    It goes below `scope_options` (it sets `variants` on the `LoadOptions` that group builds),
    so the command takes no new argument: the loader makes the copies.
    """

    @functools.wraps(command)
    def grouped(*args: Any, **kwargs: Any) -> Any:
        kinds = kwargs.pop("variants")
        if kinds:
            kwargs["scope"] = dataclasses.replace(kwargs["scope"], variants=kinds)
        return command(*args, **kwargs)

    option = click.option(
        "--variants",
        default=None,
        metavar="KIND,...",
        callback=_variant_kinds,
        help="Also run seeded, perturbed copies of every scripted conversation, one per kind "
        "(typos, casing, spacing, fillers, contractions, numbers, digits, dates, correction), "
        "keyed `id~kind-1`; copies and seed come from the suite's `variants` key if it has one.",
    )
    return option(grouped)  # type: ignore[return-value]
