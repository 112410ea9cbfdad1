"""A run's results read from `results.jsonl` on demand, so memory stays flat at any run size.

A run of 10,000 conversations writes about 50 MB of rows, which become over 400 MB of models once
parsed. `StoredResults` keeps only each row's key and where it lies in the file; each access
parses its row anew, so a pass over every result holds one at a time. Every consumer of a whole
run (the summary, the reports, JUnit, the comparison, the history) reads it this way.
"""

from __future__ import annotations

import gc
import os
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, overload

from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.errors import RunFileError
from evalkit.results.models import ConversationResult

__all__ = ["Key", "StoredResults", "by_key", "in_key_order", "lookup", "parse_row"]

Key = tuple[str, str, int]
"""A result's key: (suite, conversation id, repeat)."""


class _RowKey(BaseModel):
    """The key of a row: all the index reads from it (the rest of the row is skipped)."""

    model_config = ConfigDict(extra="ignore")

    suite: str
    conversation_id: str
    repeat: int = 0


class _Index:
    """Where each kept row of one file lies, in key order; shared by a sequence and its slices.

    Compact on purpose (a few dozen bytes per row): the keys, with each suite name stored once,
    and the byte offset, length and line number of each row in three integer arrays.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None
        found: dict[Key, int] = {}  # key → its last row in the scan arrays
        scanned = (array("q"), array("q"), array("q"))
        if path.exists():
            self._scan(path, found, scanned)
        self.keys: list[Key] = sorted(found)
        order = [found[key] for key in self.keys]
        self.offsets, self.lengths, self.lines = (
            array("q", [column[i] for i in order]) for column in scanned
        )

    def _scan(self, path: Path, found: dict[Key, int], scanned: tuple[array[int], ...]) -> None:
        """Record each complete row's key, offset, length and line number."""
        offsets, lengths, lines = scanned
        names: dict[str, str] = {}
        try:
            with path.open("rb") as handle:
                stat = os.fstat(handle.fileno())
                self.identity = (stat.st_dev, stat.st_ino)
                offset = 0
                for number, line in enumerate(handle, start=1):
                    start, offset = offset, offset + len(line)
                    if not line.strip():
                        continue
                    try:
                        row = _RowKey.model_validate_json(line)
                    except ValidationError as exc:
                        if not line.endswith(b"\n"):
                            break  # a torn last line: the process died while writing it
                        raise RunFileError(
                            f"{path}:{number}: not a result row: {exc.errors()[0]['msg']}"
                        ) from exc
                    suite = names.setdefault(row.suite, row.suite)
                    # A later row replaces an earlier one (a resumed run retrying an error).
                    found[(suite, row.conversation_id, row.repeat)] = len(offsets)
                    offsets.append(start)
                    lengths.append(len(line))
                    lines.append(number)
        except OSError as exc:
            raise RunFileError(f"{path}: cannot read: {exc.strerror}") from exc

    def open(self) -> IO[bytes]:
        """Open the file, checking that it is still the one that was indexed."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise RunFileError(f"{self.path}: cannot read: {exc.strerror}") from exc
        stat = os.fstat(handle.fileno())
        if self.identity is not None and (stat.st_dev, stat.st_ino) != self.identity:
            handle.close()
            raise RunFileError(f"{self.path}: replaced since it was read; read the run again")
        return handle

    def parse(self, handle: IO[bytes], row: int) -> ConversationResult:
        """Read and validate row `row` (in key order), checking it is the row indexed there."""
        offset, length, number = self.offsets[row], self.lengths[row], self.lines[row]
        # A row becomes thousands of objects, none in a cycle; with the collector on, the
        # collections they set off re-walk everything alive: reading 25,000 rows into a list
        # took 5-8 s, 90% of it collecting, and 0.8 s with the collector paused. The pause
        # covers the read too, and starts before any allocation: a list or context manager
        # made with the collector on sets off the collection the parse owed.
        paused = gc.isenabled()
        gc.disable()
        try:
            handle.seek(offset)
            result = parse_row(handle.read(length), self.path, number)
        finally:
            if paused:
                gc.enable()
        if result.key != self.keys[row]:  # rewritten in place, or replaced on a reused inode
            raise RunFileError(f"{self.path}: changed since it was read; read the run again")
        return result


def parse_row(data: bytes, path: Path, number: int) -> ConversationResult:
    """Validate one line of a `results.jsonl` (line `number` of `path`, for the error).

    Raises:
        RunFileError: The line is not a result row.
    """
    try:
        return ConversationResult.model_validate_json(data)
    except ValidationError as exc:
        raise RunFileError(f"{path}:{number}: not a result row: {exc.errors()[0]['msg']}") from exc


class StoredResults(Sequence[ConversationResult]):
    """The results of a `results.jsonl`: one per key, sorted by (suite, id, repeat), read lazily.

    Reading the file indexes it: a later row for a key replaces an earlier one, a torn last line
    (a process killed while writing it) is not a result, and a missing file reads as no results.
    Indexing, iterating and slicing never hold more than one parsed row; a slice (with any
    step) is another lazy sequence over the same file. Rows appended after the file was read
    are not seen; a file replaced since (a `--retry-errors` rewrite) raises `RunFileError` on
    the next access rather than misreading.

    Indexing reads only each row's key: a row that is broken past its key raises (with its
    `file:line`) when it is read, like a file changed since (each row read is checked against
    its key).

    Args:
        path: The `results.jsonl` to read.

    Raises:
        RunFileError: The file cannot be read, or a line other than the last has no key.
    """

    def __init__(self, path: Path) -> None:
        self._index = _Index(path)
        self._rows = range(len(self._index.keys))  # which of the index's rows: slices narrow it

    @property
    def path(self) -> Path:
        """The file the results are read from."""
        return self._index.path

    def result_keys(self) -> list[Key]:
        """The (suite, id, repeat) of every result, in order, without parsing any row."""
        keys = self._index.keys
        return [keys[row] for row in self._rows]

    def get(self, key: Key) -> ConversationResult | None:
        """The result of `key`, or None."""
        keys = self._index.keys
        row = bisect_left(keys, key)
        if row < len(keys) and keys[row] == key and row in self._rows:
            with self._index.open() as handle:
                return self._index.parse(handle, row)
        return None

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, item: int) -> ConversationResult: ...

    @overload
    def __getitem__(self, item: slice) -> StoredResults: ...

    def __getitem__(self, item: int | slice) -> ConversationResult | StoredResults:
        if isinstance(item, slice):
            view = object.__new__(StoredResults)
            view._index, view._rows = self._index, self._rows[item]
            return view
        try:
            row = self._rows[item]
        except IndexError:
            raise IndexError("StoredResults index out of range") from None
        with self._index.open() as handle:
            return self._index.parse(handle, row)

    def __iter__(self) -> Iterator[ConversationResult]:
        if not self._rows:
            return
        with self._index.open() as handle:
            for row in self._rows:
                yield self._index.parse(handle, row)

    def __repr__(self) -> str:
        return f"StoredResults({str(self.path)!r}, {len(self)} results)"


def by_key(results: Iterable[ConversationResult]) -> Sequence[ConversationResult]:
    """`results` sorted by key: as they are for a `StoredResults` (still read lazily), else a list.

    (A `StoredResults` is in key order unless it is a slice with a negative step.)
    """
    if isinstance(results, StoredResults) and results._rows.step > 0:
        return results
    return sorted(results, key=lambda result: result.key)


def in_key_order(results: Iterable[ConversationResult]) -> Iterator[ConversationResult]:
    """One result per key (the last one given), sorted by key; lazily for `StoredResults`."""
    if isinstance(results, StoredResults) and results._rows.step > 0:
        return iter(results)
    latest = {result.key: result for result in results}
    return iter([latest[key] for key in sorted(latest)])


def lookup(results: Iterable[ConversationResult]) -> Callable[[Key], ConversationResult | None]:
    """Find results by key: read from disk on demand for `StoredResults`, from a dict otherwise."""
    if isinstance(results, StoredResults):
        return results.get
    return {result.key: result for result in results}.get
