"""Progress of a run while it goes: a bar with counts and an ETA on a terminal, lines in CI.

On a terminal the bar shows done/total, passed, failed and errors, the time elapsed and an ETA.
Without one (a CI log), a line is printed every `interval` seconds, whether or not a conversation
finished meanwhile: done/total, passed/failed/errors, the rate and the ETA, so a long run is never
silent. The clock is injected, so tests need no waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from evalkit.results import ConversationResult

__all__ = ["DEFAULT_INTERVAL", "ProgressLines", "Tally", "duration", "progress"]

DEFAULT_INTERVAL = 10.0
"""Seconds between two progress lines without a terminal."""

OnResult = Callable[[ConversationResult], None]


def duration(seconds: float) -> str:
    """A duration as a person reads it: `45s`, `2m30s`, `1h05m`."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@dataclass
class Tally:
    """Counts of the conversations finished so far."""

    total: int
    """Conversations planned (with repeats)."""
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def done(self) -> int:
        """Conversations finished."""
        return self.passed + self.failed + self.errors + self.skipped

    def add(self, result: ConversationResult) -> None:
        """Count one finished conversation."""
        if result.status == "pass":
            self.passed += 1
        elif result.status == "fail":
            self.failed += 1
        elif result.status == "error":
            self.errors += 1
        else:
            self.skipped += 1

    def counts(self) -> str:
        """`12 passed, 3 failed, 1 errors`."""
        return f"{self.passed} passed, {self.failed} failed, {self.errors} errors"


class ProgressLines:
    """A progress line every `interval` seconds, for logs without a terminal.

    `add` counts a finished conversation; `tick` prints a line when `interval` seconds have
    passed since the last one (a ticker thread calls it, so lines keep coming while nothing
    finishes). With an interval of 0, every finished conversation prints a line.

    Args:
        emit: Prints one line.
        total: Conversations planned.
        interval: Seconds between lines.
        clock: Seconds from any origin (`time.monotonic`; a fake one in tests).
    """

    def __init__(
        self,
        emit: Callable[[str], None],
        total: int,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tally = Tally(total)
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._start = self._last = clock()
        self._lock = threading.Lock()

    def add(self, result: ConversationResult) -> None:
        """Count a finished conversation; print a line if one is due."""
        with self._lock:
            self.tally.add(result)
        self.tick()

    def tick(self) -> None:
        """Print a line if `interval` seconds passed since the last one."""
        with self._lock:
            now = self._clock()
            if now - self._last < self._interval or self.tally.done >= self.tally.total > 0:
                return  # the last conversation is followed by the summary, not a line
            self._last = now
            line = self.line(now)
        self._emit(line)

    def line(self, now: float) -> str:
        """`progress: 120/500 (24%): 100 passed, 15 failed, 5 errors; 4.0/s; ETA 1m35s`."""
        tally = self.tally
        elapsed = max(now - self._start, 1e-9)
        share = f" ({tally.done / tally.total:.0%})" if tally.total else ""
        rate = tally.done / elapsed
        left = tally.total - tally.done
        eta = duration(left / rate) if rate > 0 else "unknown"
        return (
            f"progress: {tally.done}/{tally.total}{share}: {tally.counts()}; "
            f"{rate:.1f}/s; elapsed {duration(elapsed)}; ETA {eta}"
        )


@contextmanager
def _ticking(lines: ProgressLines, every: float) -> Iterator[None]:
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            lines.tick()

    thread = threading.Thread(target=tick, name="evalkit-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def progress(
    out: Console,
    total: int,
    *,
    interval: float = DEFAULT_INTERVAL,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[OnResult]:
    """What to call with each finished conversation while a run goes on.

    On a terminal: a bar with done/total, passed, failed, errors, elapsed and ETA (cleared at the
    end). Otherwise: a `ProgressLines` line every `interval` seconds.
    """
    if not out.is_terminal:
        lines = ProgressLines(lambda text: out.print(escape(text)), total, interval, clock)
        if interval <= 0:
            yield lines.add
            return
        with _ticking(lines, min(1.0, interval)):
            yield lines.add
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} failed[/] "
            "[yellow]{task.fields[errors]} errors[/]"
        ),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    tally = Tally(total)
    with Progress(*columns, console=out, transient=True, get_time=clock) as bar:
        task = bar.add_task("conversations", total=total, passed=0, failed=0, errors=0)

        def advance(result: ConversationResult) -> None:
            tally.add(result)
            bar.update(
                task,
                advance=1,
                passed=tally.passed,
                failed=tally.failed,
                errors=tally.errors,
            )

        yield advance
