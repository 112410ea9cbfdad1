"""A whole run: the run directory, bounded concurrency, pacing, resume, and a graceful stop."""

from __future__ import annotations

import asyncio
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.loader import Suites
from evalkit.metrics import summarize
from evalkit.pacing import AdaptiveLimit, TokenBucket
from evalkit.results import (
    RESULTS_FILE,
    RUN_FILE,
    ConversationResult,
    Key,
    ResultsWriter,
    RunInfo,
    RunLock,
    SimulatorInfo,
    StoredResults,
    SuiteInfo,
    drop_torn_tail,
    parse_shard,
    rewrite_results,
    write_run_info,
)
from evalkit.runner.clock import iso, utc_now
from evalkit.runner.conversation import run_conversation
from evalkit.runner.forms import run_forms
from evalkit.runner.plan import WorkItem, planned_keys, suite_items
from evalkit.runner.selection import select_suites
from evalkit.runner.settings import RunSettings, client_for, redactor_for
from evalkit.runner.simulators import Simulators
from evalkit.runner.target import Target
from evalkit.suite import SuiteSource
from evalkit.version import __version__

__all__ = [
    "CircuitBreaker",
    "RunOutcome",
    "deferred_signals",
    "new_run_id",
    "run_async",
    "run_sync",
]


@dataclass(frozen=True, repr=False)
class RunOutcome:
    """A finished run."""

    run_dir: Path
    """Where its files are."""
    info: RunInfo
    """`run.json` as written."""
    results: StoredResults
    """Every result, sorted by (suite, id, repeat), read from `results.jsonl` as it is used
    (so the run directory must still exist when they are)."""

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run reprs the value its main task returned (CPython 3.11
        # builds a discarded error message from it), and every transcript would be formatted.
        return f"RunOutcome(run_dir={str(self.run_dir)!r}, results=<{len(self.results)}>)"


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id: `20261125-101500-3fa9c1`."""
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _suite_infos(suites: Suites) -> list[SuiteInfo]:
    return [
        SuiteInfo(
            name=s.name,
            path=s.path,
            sha256=s.sha256,
            form=s.form,
            conversations=len(s.outline),
            variants=list(s.variants),
        )
        for s in suites
    ]


def _same_simulator(started: SimulatorInfo, now: SimulatorInfo) -> None:
    """Refuse to resume a run with another simulator: its personas would be played two ways."""
    if started == now:
        return
    raise UsageError(
        f"a resumed run keeps the simulator it started with, --simulator {started.describe()}; "
        f"this one would use --simulator {now.describe()}"
    )


def _start_or_resume(
    run_dir: Path,
    run_id: str,
    suites: Suites,
    target: Target,
    settings: RunSettings,
    *,
    resume: bool,
    retry_errors: bool,
    git: tuple[str | None, str | None],
) -> tuple[RunInfo, set[tuple[str, str, int]]]:
    """Write a new run's `run.json`, or reopen one to resume; return it and the done keys."""
    if not resume:
        info = RunInfo(
            run_id=run_id,
            evalkit_version=__version__,
            started_at=iso(utc_now()),
            target=target.info(),
            suites=_suite_infos(suites),
            forms=run_forms(suites, target),
            concurrency=settings.concurrency,
            repeat=settings.repeat,
            shard=f"{settings.shard[0]}/{settings.shard[1]}" if settings.shard else None,
            selection=settings.selection,
            simulator=settings.simulator.info(),
            git_commit=git[0],
            git_branch=git[1],
        )
        write_run_info(run_dir, info)
        return info, set()
    info = RunInfo.model_validate_json((run_dir / RUN_FILE).read_bytes())
    before = {(s.path, s.sha256, tuple(s.variants)) for s in info.suites}
    now = {(s.path, s.sha256, tuple(s.variants)) for s in _suite_infos(suites)}
    if before != now:
        raise UsageError(
            f"--resume {run_dir}: the suites differ from the ones the run started with "
            "(paths, contents or --variants changed); start a new run instead"
        )
    _same_simulator(info.simulator or SimulatorInfo(), settings.simulator.info())
    drop_torn_tail(run_dir / RESULTS_FILE)
    if retry_errors:
        rewrite_results(run_dir, lambda r: r.status != "error")
    stored = StoredResults(run_dir / RESULTS_FILE)
    for _ in stored:  # every row read once now: a broken one stops the resume before it runs
        pass
    done = set(stored.result_keys())
    info = info.model_copy(
        update={"resumed": info.resumed + 1, "interrupted": False, "stopped": "", "planned": None}
    )
    return info, done


async def run_async(
    suites: Suites,
    target: Target,
    *,
    out_root: Path,
    settings: RunSettings | None = None,
    run_id: str | None = None,
    resume: bool = False,
    retry_errors: bool = False,
    transport: Any = None,
    on_result: Callable[[ConversationResult], None] | None = None,
    stop: asyncio.Event | None = None,
    git_commit: str | None = None,
    git_branch: str | None = None,
) -> RunOutcome:
    """Run every conversation of `suites` against `target` and write the run directory.

    Args:
        suites: Loaded suites.
        target: Where to send the conversations.
        out_root: The directory under which `<run-id>/` is created.
        settings: Concurrency, deadlines, retries, restarts (defaults: `RunSettings()`).
        run_id: The run's id; a new one by default.
        resume: Reopen `out_root/run_id` and run only the conversations without a result.
        retry_errors: With `resume`, also run again the conversations whose result is an error.
        transport: An httpx2 async transport to use instead of the network (for tests).
        on_result: Called with each result as soon as it is written (e.g. for progress).
        stop: When set, no further conversation starts; those in flight get `settings.grace`
            seconds to finish, then are cancelled (and get no row, so a resume runs them).
        git_commit: Recorded in `run.json`: the commit the suites came from.
        git_branch: Recorded in `run.json`: its branch.

    Returns:
        The run directory, its metadata and all its results (earlier ones too, when resumed),
        which are read from disk as they are used: a run of any size returns in flat memory.

    Raises:
        UsageError: Bad settings, or a run directory that cannot be resumed.
    """
    settings = settings or RunSettings()
    if resume and run_id is None:
        raise UsageError("resuming needs the run id of the run to resume")
    run_id = run_id or new_run_id(utc_now())
    run_dir = out_root / run_id
    settings.simulator.check()  # before the run directory: a run that cannot start leaves none
    if not resume:
        run_dir.mkdir(parents=True, exist_ok=False)
    elif not (run_dir / RUN_FILE).is_file():
        raise UsageError(f"--resume {run_dir}: not a run directory (no {RUN_FILE})")
    with RunLock(run_dir):  # one writer at a time: a second resume is refused, not interleaved
        info, done = _start_or_resume(
            run_dir,
            run_id,
            suites,
            target,
            settings,
            resume=resume,
            retry_errors=retry_errors,
            git=(git_commit, git_branch),
        )
        return await _run(
            run_dir, info, done, suites, target, settings, transport, on_result, stop, resume
        )


async def _run(
    run_dir: Path,
    info: RunInfo,
    done: set[Key],
    suites: Suites,
    target: Target,
    settings: RunSettings,
    transport: Any,
    on_result: Callable[[ConversationResult], None] | None,
    stop: asyncio.Event | None,
    resume: bool,
) -> RunOutcome:
    """The conversations of a run whose directory this process holds, then its summary."""
    if resume:  # a resumed run repeats, shards and selects as it started, unless told otherwise
        settings = replace(
            settings,
            repeat=settings.repeat or info.repeat,
            shard=settings.shard or parse_shard(info.shard),
            selection=settings.selection or info.selection,
        )
    suites = select_suites(suites, settings.selection)
    # The plan is followed lazily: suite files are built again as their turn comes, and only
    # the keys are counted up front (a run of any size holds the suites in flight, not all).
    planned = todo_count = 0
    for key in planned_keys(suites, repeat=settings.repeat, shard=settings.shard):
        planned += 1
        todo_count += key not in done
    queue = _WorkQueue(suites, settings, done)
    stop = stop or asyncio.Event()
    breaker = CircuitBreaker(settings.breaker)
    limit = AdaptiveLimit(settings.concurrency)
    bucket = TokenBucket(target.rate_limit) if target.rate_limit else None

    async def on_status(status: int) -> None:
        if status == 429:
            limit.throttled()
        elif 200 <= status < 300:
            await limit.succeeded()

    client = client_for(
        target,
        settings,
        transport=transport,
        throttle=bucket.acquire if bucket is not None else None,
        on_status=on_status,
    )
    simulators = Simulators(
        settings.simulator,
        retry=settings.retry,
        limits=settings.limits,
        connections=settings.concurrency,
    )
    redactor = redactor_for(target, client, settings.simulator)
    with ResultsWriter(run_dir, secrets=redactor) as writer:

        async def one(item: WorkItem) -> None:
            try:
                result = await run_conversation(client, target, item, settings, simulators)
            finally:
                await limit.release()
            writer.write(result)
            if breaker.record(result):
                stop.set()
            if on_result is not None:
                on_result(result)

        async def worker() -> None:
            # A worker goes straight from one conversation to the next: with a task per
            # conversation started by a scheduler, each handover took event-loop turns during
            # which a pooled connection sat idle, and httpcore probes idle sockets on every
            # request (the overhead benchmark's profile showed it).
            while await _wait_for_slot(limit, stop):
                item = await queue.next()
                if item is None:
                    await limit.release()
                    return
                await one(item)

        async with client, simulators:
            workers = {
                asyncio.create_task(worker()) for _ in range(min(settings.concurrency, todo_count))
            }
            if workers:
                await _drain(workers, stop, settings.grace)
    results = StoredResults(run_dir / RESULTS_FILE)
    interrupted = stop.is_set() and len(results) < planned
    info = info.model_copy(
        update={
            "finished_at": iso(utc_now()),
            "summary": summarize(results, info),
            "interrupted": interrupted,
            "stopped": breaker.reason if interrupted else "",
            "planned": planned,
        }
    )
    write_run_info(run_dir, info)
    return RunOutcome(run_dir=run_dir, info=info, results=results)


class CircuitBreaker:
    """Trips when `threshold` conversations in a row ended in a transport (or simulator) error.

    A transport error is what a target that is gone gives (connection refused or reset), once
    the client's retries are spent; any other outcome, even another kind of error, shows the
    target is there and starts the count again. A `simulator` error (the LLM simulator's
    endpoint failed after its retries) is never blamed on the target: it has a streak of its
    own, so a dead simulator endpoint stops the run as fast as a dead target, and says so.

    Args:
        threshold: Conversations in a row; 0 never trips.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.streak = 0
        self.kind = ""
        self.reason = ""

    def record(self, result: ConversationResult) -> bool:
        """Count a result; True when it trips the breaker (once)."""
        error = result.error
        if error is None or error.kind not in ("transport", "simulator"):
            self.streak = 0
            return False
        if error.kind != self.kind:
            self.kind, self.streak = error.kind, 0
        self.streak += 1
        if self.reason or not self.threshold or self.streak < self.threshold:
            return False
        what = (
            "the target could not be reached by"
            if error.kind == "transport"
            else "the simulator's model gave no usable reply to"
        )
        self.reason = (
            f"{what} {self.streak} conversations in a row "
            f"(the last: {error.message[:200]}); evalkit stopped launching more"
        )
        return True


class _WorkQueue:
    """The plan, handed to the workers an item at a time.

    A suite file is built again (`SuiteFile.load`) when the first worker needs one of its items,
    in a thread, so the conversations in flight go on meanwhile; a suite with nothing left to
    run (all done in an earlier attempt, or all in other shards) is skipped unread.
    """

    def __init__(self, suites: Suites, settings: RunSettings, done: set[Key]) -> None:
        self._settings = settings
        self._done = done
        self._suites = iter([s for s in suites if self._has_work(s)])
        self._items: Iterator[WorkItem] = iter(())
        self._lock = asyncio.Lock()

    def _has_work(self, suite: SuiteSource) -> bool:
        keys = planned_keys([suite], repeat=self._settings.repeat, shard=self._settings.shard)
        return any(key not in self._done for key in keys)

    async def next(self) -> WorkItem | None:
        """The next item not done yet, or None when there is none left."""
        async with self._lock:  # one worker at a time moves the plan on
            while True:
                item = next(self._items, None)
                if item is not None:
                    if item.key in self._done:
                        continue
                    return item
                suite = next(self._suites, None)
                if suite is None:
                    return None
                loaded = await asyncio.to_thread(suite.load)
                settings = self._settings
                self._items = suite_items(loaded, repeat=settings.repeat, shard=settings.shard)
                del loaded  # the items hold it, as long as one is still to run


async def _wait_for_slot(limit: AdaptiveLimit, stop: asyncio.Event) -> bool:
    """Take a conversation slot; False (holding none) when a stop comes first."""
    if stop.is_set():
        return False
    if limit.in_flight < limit.limit:  # a free slot: no need to race the stop for it
        await limit.acquire()
        if stop.is_set():
            await limit.release()
            return False
        return True
    acquire = asyncio.ensure_future(limit.acquire())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({acquire, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if acquire.done() and not acquire.cancelled():
        if stop.is_set():
            await limit.release()
            return False
        return True
    acquire.cancel()
    return False


async def _drain(tasks: set[asyncio.Task[None]], stop: asyncio.Event, grace: float) -> None:
    """Wait for every task; once a stop is asked for, wait at most `grace` more, then cancel."""
    pending: set[asyncio.Future[Any]] = set(tasks)
    stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    try:
        while pending and not stop.is_set():
            _, pending = await asyncio.wait(
                pending | {stopped}, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(stopped)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    finally:
        stopped.cancel()
    # A worker only fails on evalkit's own I/O (e.g. a full disk while appending a row): say so.
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error


def run_sync(
    suites: Suites,
    target: Target,
    *,
    out_root: Path,
    handle_signals: bool = False,
    **options: Any,
) -> RunOutcome:
    """`run_async` for callers without an event loop; takes the same options.

    Args:
        suites: Loaded suites.
        target: Where to send the conversations.
        out_root: The directory under which `<run-id>/` is created.
        handle_signals: Turn SIGINT and SIGTERM into a graceful stop (for the CLI).
        **options: Passed to `run_async`.
    """

    async def main() -> RunOutcome:
        stop = asyncio.Event()
        previous = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in _STOP_SIGNALS:
                loop.add_signal_handler(sig, stop.set)
        try:
            return await run_async(suites, target, out_root=out_root, stop=stop, **options)
        finally:
            if handle_signals:
                for sig, handler in previous.items():
                    loop.remove_signal_handler(sig)
                    signal.signal(sig, handler)  # asyncio would leave the defaults

    return asyncio.run(main())


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back while the block runs; yield the ones that came meanwhile.

    What a run does once its conversations are done (reports, JUnit, the history record) is not
    interruptible halfway: the caller finishes, then honours a signal that came (the CLI exits
    130), so the artifacts are consistent either way. Works in the main thread only (as every
    Python signal handler does); elsewhere nothing is held.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {
        sig: signal.signal(sig, lambda sig, _: received.append(sig)) for sig in _STOP_SIGNALS
    }
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
