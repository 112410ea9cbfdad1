"""The run directory on disk: `results.jsonl` appended crash-safely, and `run.json`."""

from __future__ import annotations

import gc
import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from evalkit.errors import RunFileError
from evalkit.results.models import (
    RESULTS_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    ConversationResult,
    RunInfo,
    TurnTranscript,
)
from evalkit.results.stored import StoredResults, parse_row

__all__ = [
    "Redactor",
    "ResultsWriter",
    "drop_torn_tail",
    "iter_results",
    "read_results",
    "read_run",
    "redact",
    "redaction_forms",
    "rewrite_results",
    "write_atomically",
    "write_run_info",
]


MIN_SECRET_LENGTH = 4
"""A shorter "secret" would redact ordinary words; it is not looked for."""


def redaction_forms(secrets: Iterable[str]) -> list[str]:
    """Every spelling of each secret that may appear in JSON text: as is and JSON-escaped."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH:
            forms.update({secret, json.dumps(secret)[1:-1]})
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text` by `[REDACTED]`."""
    for secret in secrets:
        text = text.replace(secret, "[REDACTED]")
    return text


class Redactor:
    """The one path between a result and anything evalkit writes or prints: no secret passes.

    Args:
        secrets: Values that must never reach a file or a terminal (API keys, tokens, the site
            id), or a callable giving them; it is asked again at every use, since OAuth tokens
            appear while a run goes on. Each is replaced by `[REDACTED]` wherever it appears,
            as is and JSON-escaped, in case a target echoed one back.
    """

    def __init__(self, secrets: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        self._secrets = secrets if callable(secrets) else list(secrets)

    def _values(self) -> list[str]:
        return list(self._secrets() if callable(self._secrets) else self._secrets)

    def forms(self) -> list[str]:
        """Every spelling of every secret known now, longest first."""
        return redaction_forms(self._values())

    def text(self, text: str) -> str:
        """`text` with every secret replaced."""
        return redact(text, self.forms())

    def transcript(self, turns: list[TurnTranscript]) -> None:
        """Redact, in place, every secret the chunks of a turn spell out, even split across them.

        A target may echo a key over two chunks (`"IST.ab"`, `"cd…"`); a text joined from them
        later (a reply check's reason, a report) would rebuild it. So the strings found at one
        place in a turn's chunks (every `textDetails.text`, say) are read as one text, in
        order, and every character of every occurrence is replaced where it stands: each string
        that holds part of a secret shows `[REDACTED]` for that part. Done before scoring, so
        nothing derived sees a secret.
        """
        secrets = [secret for secret in self._values() if len(secret) >= MIN_SECRET_LENGTH]
        if not secrets:
            return
        for turn in turns:
            places: dict[tuple[str | int, ...], list[_Place]] = {}
            for timed in turn.chunks:
                _strings(timed.chunk, (), places)
            for run in places.values():
                _redact_run(run, secrets)

    def row(self, result: ConversationResult) -> str:
        """The `results.jsonl` line of a result (without its newline), redacted."""
        return self.text(result.model_dump_json())

    def result(self, result: ConversationResult) -> ConversationResult:
        """The result as it would be stored: every string in it redacted."""
        return ConversationResult.model_validate_json(self.row(result))


_Place = tuple[dict[str, Any] | list[Any], str | int, str]
"""A string in a JSON value: its container, its key there, and the string."""


def _strings(
    value: Any, path: tuple[str | int, ...], places: dict[tuple[str | int, ...], list[_Place]]
) -> None:
    """Every string in a JSON value, in document order, grouped by its path.

    List indexes are left out of a path, so the strings of a list's items are one run.
    """
    items: Iterable[tuple[str | int, Any]]
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        where = (*path, key) if isinstance(value, dict) else path
        if isinstance(item, str):
            places.setdefault(where, []).append((value, key, item))
        elif isinstance(item, dict | list):
            _strings(item, where, places)


def _redact_run(run: list[_Place], secrets: list[str]) -> None:
    """Blank every secret in the strings of `run`, read as one text in their order."""
    joined = "".join(text for _, _, text in run)
    spans = [(at, at + len(secret)) for secret in secrets for at in _occurrences(joined, secret)]
    if not spans:
        return
    offset = 0
    for holder, key, text in run:
        end = offset + len(text)
        cut = [(max(a, offset) - offset, min(b, end) - offset) for a, b in spans]
        cut = [(a, b) for a, b in cut if a < b]
        if cut:
            holder[key] = _blank(text, cut)  # type: ignore[index]
        offset = end


def _occurrences(text: str, secret: str) -> Iterator[int]:
    start = text.find(secret)
    while start >= 0:
        yield start
        start = text.find(secret, start + 1)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each span (overlapping ones merged) replaced by `[REDACTED]`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, at = [], 0
    for start, end in merged:
        out += [text[at:start], "[REDACTED]"]
        at = end
    out.append(text[at:])
    return "".join(out)


class ResultsWriter:
    """Appends one result per line to `results.jsonl`, flushed: a crash loses at most one line.

    Args:
        run_dir: The run directory (created if needed).
        secrets: Values that must never reach the file (API keys, tokens), a callable giving
            them, or a `Redactor`; each is replaced by `[REDACTED]` wherever it appears in a
            row, in case a target echoed one back.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        secrets: Iterable[str] | Callable[[], Iterable[str]] | Redactor = (),
    ) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / RESULTS_FILE
        self._redactor = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
        drop_torn_tail(self.path)  # appending after a torn line would corrupt the next row
        self._file: IO[str] = self.path.open("a", encoding="utf-8")

    def write(self, result: ConversationResult) -> None:
        """Append one result and flush it to the operating system."""
        self._file.write(self._redactor.row(result) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Flush to disk and close."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drop_torn_tail(path: Path) -> int:
    """Cut a `results.jsonl` back to its last complete line; return the bytes removed.

    A process killed while writing leaves a last line without its newline; it is not a result.
    """
    if not path.is_file():
        return 0
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return 0
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        handle.truncate(keep)
        return size - keep


def rewrite_results(run_dir: Path, keep: Callable[[ConversationResult], bool]) -> int:
    """Atomically rewrite `results.jsonl` with the rows `keep` accepts; return how many went.

    Rows are streamed from the old file to the new one, one at a time.
    """
    path = run_dir / RESULTS_FILE
    dropped = 0

    def kept() -> Iterator[str]:
        nonlocal dropped
        for result in StoredResults(path):
            if keep(result):
                yield result.model_dump_json() + "\n"
            else:
                dropped += 1

    write_atomically(path, kept())
    return dropped


def iter_results(path: Path) -> Iterator[ConversationResult]:
    """Yield the rows of a `results.jsonl` in file order, skipping a torn (incomplete) last line.

    Lines end at a newline byte only: model text may hold other line breaks (U+2028, NEL).

    Raises:
        RunFileError: The file cannot be read, or a line other than the last is not a row.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        number = 0
        while True:
            paused = gc.isenabled()
            gc.disable()  # reading and parsing, as `StoredResults` does (see there why)
            try:
                line = handle.readline()
                number += 1
                if not line:
                    return
                if not line.strip():
                    continue
                try:
                    result = parse_row(line, path, number)
                except RunFileError:
                    if not line.endswith(b"\n"):
                        return  # a torn last line: the process died while writing it
                    raise
            finally:
                if paused:
                    gc.enable()
            yield result


def read_results(run_dir: Path) -> list[ConversationResult]:
    """Read every result of a run directory into a list, sorted by (suite, id, repeat).

    One result per key (a later row replaces an earlier one); a missing `results.jsonl` (a run
    that died before its first result) reads as no results. For a large run prefer
    `read_run`, whose results are read from disk as they are used.
    """
    return list(StoredResults(run_dir / RESULTS_FILE))


def write_atomically(path: Path, parts: Iterable[str]) -> None:
    """Write `parts` to `path` as they come, through a temporary file renamed at the end.

    Readers see the old file or the whole new one, never half of it; if `parts` fails, the
    temporary file is removed and the old file stays.
    """
    # A name of its own: two writers of one file never share (and break) a temporary file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for part in parts:
                out.write(part)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def write_run_info(run_dir: Path, info: RunInfo) -> None:
    """Write `run.json` atomically (to a temporary file, then renamed)."""
    write_atomically(
        run_dir / RUN_FILE, [json.dumps(info.model_dump(mode="json"), indent=2) + "\n"]
    )


def read_run(run_dir: Path) -> tuple[RunInfo, StoredResults]:
    """Read a run directory: its metadata, and its results sorted by (suite, id, repeat).

    The results are indexed, not parsed: each is read from `results.jsonl` when it is used, so
    a run of any size reads in flat memory (see `StoredResults`).

    Raises:
        RunFileError: The directory, `run.json` or `results.jsonl` is missing or unreadable, a
            row has no key, or the run was written by an incompatible evalkit. (A row broken
            past its key raises the same error, with its `file:line`, when it is read.)
    """
    info_path = run_dir / RUN_FILE
    if not info_path.is_file():
        raise RunFileError(f"{run_dir}: not a run directory (no {RUN_FILE})")
    try:
        info = RunInfo.model_validate_json(info_path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise RunFileError(f"{info_path}: cannot read run metadata: {exc}") from exc
    if info.schema_version != SCHEMA_VERSION:
        raise RunFileError(
            f"{info_path}: schema_version {info.schema_version}; "
            f"this evalkit reads {SCHEMA_VERSION}"
        )
    return info, StoredResults(run_dir / RESULTS_FILE)
