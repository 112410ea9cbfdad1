"""Moving a history between backends (JSON lines), and retention (`prune`).

The export is one JSON object per line: first a header (`{"evalkit_history": 1, ...}`), then one
line per run, oldest first, with its row, outcomes, field counts and per-suite field counts. Run
directories are written absolute, so the history reads the same wherever it is imported. An
import writes every run in one transaction (all or nothing), replacing runs already there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from evalkit.errors import RunFileError, UsageError
from evalkit.history.database import (
    HISTORY_SCHEMA_VERSION,
    TABLES,
    Connection,
    loaded_dir,
    reader,
    stored_dir,
    writer,
)
from evalkit.history.figures import PER_CONVERSATION_COLUMNS, WHOLE_COLUMNS, figure_columns
from evalkit.history.location import Locatable, history_location
from evalkit.history.queries import parse_day
from evalkit.history.record import write_run_rows
from evalkit.results import FieldStats
from evalkit.version import __version__

__all__ = ["EXPORT_FORMAT", "RUN_COLUMNS", "Pruned", "export_history", "import_history", "prune"]

EXPORT_FORMAT = 1
"""Version of the export's line format (independent of the database schema)."""
RUN_COLUMNS = (
    "run_id",
    "run_dir",
    "started_at",
    "finished_at",
    "evalkit_version",
    "target_name",
    "base_url",
    "framing",
    "form_ids",
    "target_key",
    "suites",
    "suite_key",
    "branch",
    "git_commit",
    "shard",
    "interrupted",
    "total",
    "passed",
    "failed",
    "errors",
    "skipped",
    "pass_rate",
    "error_rate",
    "gates_met",
)
"""The columns of a run's row, as exported; an import needs every one of them."""
_OPTIONAL = figure_columns(HISTORY_SCHEMA_VERSION)
"""The figure columns (`evalkit.history.figures`): an export holds those its history's schema
has, and an import takes any of them when present (an older export has fewer)."""
_INTEGER_MAX = 2**31 - 1
"""The largest whole number a PostgreSQL INTEGER column holds."""
_COUNTS = ("correct", "wrong", "missing", "unexpected")


def _counts(record: dict[str, Any]) -> list[int]:
    return [int(record[name]) for name in _COUNTS]


def _run_lines(conn: Connection) -> Iterator[str]:
    columns = RUN_COLUMNS + figure_columns(conn.version)
    runs = conn.query(f"SELECT {', '.join(columns)} FROM runs ORDER BY started_at, run_id")
    for run in runs:
        run_id = run["run_id"]
        run["run_dir"] = str(loaded_dir(conn.location, run["run_dir"]))
        outcomes = [
            [r["suite"], r["conversation_id"], r["repeat"], r["status"]]
            for r in conn.query(
                "SELECT suite, conversation_id, repeat, status FROM outcomes WHERE run_id = ? "
                "ORDER BY suite, conversation_id, repeat",
                (run_id,),
            )
        ]
        fields = {
            r["field"]: _counts(r)
            for r in conn.query(
                "SELECT * FROM field_stats WHERE run_id = ? ORDER BY field", (run_id,)
            )
        }
        suite_fields: dict[str, dict[str, list[int]]] = {}
        if conn.version >= 2:
            for r in conn.query(
                "SELECT * FROM suite_fields WHERE run_id = ? ORDER BY suite, field", (run_id,)
            ):
                suite_fields.setdefault(r["suite"], {})[r["field"]] = _counts(r)
        line = {"run": run, "outcomes": outcomes, "fields": fields, "suite_fields": suite_fields}
        yield json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"


def export_history(location: Locatable, out: IO[str]) -> int:
    """Write a history as JSON lines to `out`; the number of runs written.

    Raises:
        RunFileError: It is not a history database, or one of a newer evalkit.
    """
    header = {"evalkit_history": EXPORT_FORMAT, "evalkit": __version__}
    out.write(json.dumps(header, sort_keys=True) + "\n")
    count = 0
    with reader(location) as conn:
        if conn is None:
            return 0
        for line in _run_lines(conn):
            out.write(line)
            count += 1
    return count


def _stats(counts: Any, where: str) -> FieldStats:
    if not (
        isinstance(counts, list)
        and len(counts) == len(_COUNTS)
        and all(isinstance(n, int) and n >= 0 for n in counts)
    ):
        raise RunFileError(f"{where}: field counts must be four whole numbers")
    return FieldStats(**dict(zip(_COUNTS, counts, strict=True)))


def _parsed_run(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
        raise RunFileError(f"{where}: not a run of an evalkit history export")
    run: dict[str, Any] = data["run"]
    if not set(RUN_COLUMNS) <= set(run) <= {*RUN_COLUMNS, *_OPTIONAL}:
        unknown = sorted(set(run) - {*RUN_COLUMNS, *_OPTIONAL})
        missing = sorted(set(RUN_COLUMNS) - set(run))
        raise RunFileError(f"{where}: run columns differ (unknown {unknown}, missing {missing})")
    if not isinstance(run["run_id"], str) or not run["run_id"]:
        raise RunFileError(f"{where}: a run needs a run_id")
    for column in _OPTIONAL:
        _check_figure(column, run.get(column), where)
    return run


def _check_figure(column: str, value: object, where: str) -> None:
    """A figure column's value: null, a count, a rate from 0 to 1, or re-asks ≥ 0.

    A count fits both engines' INTEGER; re-asks per conversation are any finite number ≥ 0.
    """
    whole = column in WHOLE_COLUMNS
    fraction = not whole and column not in PER_CONVERSATION_COLUMNS
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        fits = False
    elif whole:
        fits = isinstance(value, int) and 0 <= value <= _INTEGER_MAX
    else:
        fits = math.isfinite(value) and 0 <= value <= (1 if fraction else math.inf)
    if not fits:
        kind = (
            "a whole number ≥ 0"
            if whole
            else "a number from 0 to 1"
            if fraction
            else "a number ≥ 0"
        )
        raise RunFileError(f"{where}: {column} must be {kind} or null")


def _lines(source: IO[str], name: str) -> Iterator[tuple[str, Any]]:
    for number, text in enumerate(source, start=1):
        if not text.strip():
            continue
        where = f"{name}:{number}"
        try:
            yield where, json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunFileError(f"{where}: not JSON: {exc.msg}") from None


def import_history(location: Locatable, source: IO[str], *, name: str = "<input>") -> int:
    """Read an export into a history (created if need be); the number of runs imported.

    Every run is written in one transaction: a broken line leaves the history as it was. A run
    already in the history is replaced.

    Args:
        location: The history to write.
        source: The export, as `export_history` wrote it.
        name: What to call the source in messages.

    Raises:
        RunFileError: The source is not an export (with its line), or the history is unusable.
    """
    place = history_location(location)
    lines = _lines(source, name)
    first = next(lines, None)
    if first is None or not isinstance(first[1], dict) or "evalkit_history" not in first[1]:
        raise RunFileError(f"{name}: not an evalkit history export (no header line)")
    if first[1]["evalkit_history"] != EXPORT_FORMAT:
        raise RunFileError(
            f"{name}: export format {first[1]['evalkit_history']}; this evalkit reads "
            f"{EXPORT_FORMAT}"
        )
    count = 0
    with writer(place) as conn:
        for where, data in lines:
            run = _parsed_run(data, where)
            try:
                suites = [(str(n), str(s)) for n, s in json.loads(run["suites"])]
                run["run_dir"] = stored_dir(place, Path(str(run["run_dir"])))
                outcomes = [(str(s), str(c), int(r), str(t)) for s, c, r, t in data["outcomes"]]
                fields = {str(k): _stats(v, where) for k, v in data.get("fields", {}).items()}
                per_suite = {
                    str(suite): {str(k): _stats(v, where) for k, v in by_field.items()}
                    for suite, by_field in data.get("suite_fields", {}).items()
                }
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise RunFileError(
                    f"{where}: not a run of an evalkit history export: {exc}"
                ) from exc
            row = {column: run.get(column) for column in (*RUN_COLUMNS, *_OPTIONAL)}
            write_run_rows(conn, row, suites, outcomes, fields, per_suite)
            count += 1
    return count


@dataclass(frozen=True)
class Pruned:
    """What `prune` removed (or would remove)."""

    removed: list[str]
    """The run ids removed, oldest first."""
    kept: int
    """The runs left."""


def prune(
    location: Locatable,
    *,
    keep: int | None = None,
    before: str | None = None,
    dry_run: bool = False,
) -> Pruned:
    """Forget old runs: beyond the latest `keep` of each suites and target, or started before a day.

    Runs are grouped by what they ran against what (suites at their versions, target; shards
    apart), so a suite run weekly keeps its trend while a nightly one is trimmed. The latest
    run of each group that met its gates is always kept: it is that group's `--baseline last`.
    Run directories are not touched.

    Args:
        location: The history.
        keep: Keep this many latest runs of each group (at least 1).
        before: Forget runs started before this day (`YYYY-MM-DD`, UTC).
        dry_run: Say what would go, remove nothing.

    Raises:
        UsageError: Neither `keep` nor `before`, `keep` below 1, or a malformed day.
        RunFileError: The history is unusable.
    """
    if keep is None and before is None:
        raise UsageError("say what to keep: --keep N and/or --before YYYY-MM-DD")
    if keep is not None and keep < 1:
        raise UsageError("--keep must be at least 1")
    if before is not None:
        before = parse_day(before, "--before").isoformat()
    place = history_location(location)
    with reader(place) as conn:
        if conn is None:
            return Pruned([], 0)
    with writer(place) as conn:
        runs = conn.query(
            "SELECT run_id, started_at, suite_key, target_key, shard, gates_met, interrupted "
            "FROM runs ORDER BY started_at DESC, run_id DESC"
        )
        seen: dict[tuple[str, str, bool], int] = {}
        baselines: set[tuple[str, str, bool]] = set()
        removed: list[str] = []
        for run in runs:
            group = (run["suite_key"], run["target_key"], run["shard"] is None)
            seen[group] = seen.get(group, 0) + 1
            good = bool(run["gates_met"]) and not run["interrupted"] and group[2]
            if good and group not in baselines:
                baselines.add(group)
                continue
            too_many = keep is not None and seen[group] > keep
            too_old = before is not None and run["started_at"] < before
            if too_many or too_old:
                removed.append(run["run_id"])
        if not dry_run:
            for start in range(0, len(removed), 500):
                chunk = removed[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for table in TABLES:
                    conn.execute(f"DELETE FROM {table} WHERE run_id IN ({marks})", chunk)
    return Pruned(list(reversed(removed)), len(runs) - len(removed))
