"""The plan of a run: its work items, their keys, and the stable split into shards."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from evalkit.loader import Suites
from evalkit.suite import LoadedSuite

__all__ = ["WorkItem", "in_shard", "iter_plan", "plan", "planned_keys", "suite_items"]


@dataclass(frozen=True)
class WorkItem:
    """One conversation (and repeat) to run."""

    loaded: LoadedSuite
    index: int
    repeat: int = 0

    @property
    def key(self) -> tuple[str, str, int]:
        """The result key: (suite, conversation id, repeat)."""
        return (self.loaded.name, self.loaded.suite.conversations[self.index].id, self.repeat)


def in_shard(suite: str, conversation_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether a conversation belongs to shard `i` of `n` (1-based), by a stable hash of its key.

    Every repeat of a conversation lands in the same shard, so flakiness is seen within a shard.
    """
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha256(f"{suite}\x1f{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def planned_keys(
    suites: Suites, *, repeat: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[tuple[str, str, int]]:
    """The key of every conversation (and repeat) `plan` gives, without reading a suite file."""
    for suite in suites:
        for conversation_id, times in suite.outline:
            if in_shard(suite.name, conversation_id, shard):
                for r in range(repeat or times):
                    yield (suite.name, conversation_id, r)


def suite_items(
    loaded: LoadedSuite, *, repeat: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[WorkItem]:
    """The work items of one loaded suite, in order (as `plan` gives them)."""
    for index, conversation in enumerate(loaded.suite.conversations):
        if not in_shard(loaded.name, conversation.id, shard):
            continue
        for r in range(repeat or conversation.repeat):
            yield WorkItem(loaded, index, r)


def iter_plan(
    suites: Suites, *, repeat: int | None = None, shard: tuple[int, int] | None = None
) -> Iterator[WorkItem]:
    """`plan`, lazily: a `SuiteFile` is built again only when its first conversation is due."""
    for suite in suites:
        loaded = suite.load()
        yield from suite_items(loaded, repeat=repeat, shard=shard)
        del loaded  # done handing it out: it goes once its conversations have finished


def plan(
    suites: Suites,
    *,
    repeat: int | None = None,
    shard: tuple[int, int] | None = None,
) -> list[WorkItem]:
    """Every conversation (times its repeats) of the suites, in suite order.

    Args:
        suites: Loaded suites (or suite files, which are read here).
        repeat: Run every conversation this many times, whatever its `repeat` says.
        shard: Only the conversations of shard `(i, n)`.
    """
    return list(iter_plan(suites, repeat=repeat, shard=shard))
