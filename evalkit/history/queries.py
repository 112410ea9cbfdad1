"""Reading the history: indexed runs, the last run that met its gates, field trends, outcomes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.history.database import loaded_dir, reader
from evalkit.results import RUN_FILE, FieldStats

__all__ = ["FieldTrendPoint", "RunRow", "field_trend", "last_good_run", "list_runs", "run_outcomes"]


@dataclass(frozen=True)
class RunRow:
    """One indexed run, as `list_runs` returns it."""

    run_id: str
    """The run."""
    run_dir: Path
    """Its directory (absolute, or as recorded when it was outside the output root)."""
    started_at: str
    """ISO-8601 UTC."""
    finished_at: str
    """ISO-8601 UTC; empty when it did not finish."""
    evalkit_version: str
    """The evalkit that made it."""
    target_name: str
    """`emulator`, `wix` or `custom`."""
    base_url: str
    """The API root."""
    framing: str
    """How the answers were framed."""
    form_ids: dict[str, str]
    """Form key → form id."""
    target_key: str
    """`evalkit.merge.target_key` of its target."""
    suites: list[tuple[str, str]]
    """(name, sha256) of each suite."""
    suite_key: str
    """`evalkit.merge.suite_key` of its suites."""
    branch: str | None
    """Git branch, when known."""
    commit: str | None
    """Git commit, when known."""
    shard: str | None
    """`i/n` for a shard of a larger run."""
    interrupted: bool
    """Stopped before every conversation ran."""
    total: int
    """Conversations (times repeats)."""
    passed: int
    """Passed."""
    failed: int
    """Failed."""
    errors: int
    """Could not be evaluated."""
    skipped: int
    """Not run."""
    pass_rate: float | None
    """passed / (passed + failed)."""
    error_rate: float | None
    """errors / total."""
    gates_met: bool
    """Whether the run met its gates (the only runs `last_good_run` picks)."""
    fields: dict[str, FieldStats] = field(default_factory=dict)
    """Per-field counts, by field name."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with each field's accuracy, precision and recall."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["run_dir"] = str(self.run_dir)
        data["suites"] = [{"name": n, "sha256": s} for n, s in self.suites]
        data["fields"] = {
            name: {
                **stats.model_dump(),
                "accuracy": stats.accuracy,
                "precision": stats.precision,
                "recall": stats.recall,
            }
            for name, stats in self.fields.items()
        }
        return data


@dataclass(frozen=True)
class FieldTrendPoint:
    """One run's counts for one field."""

    run_id: str
    """The run."""
    started_at: str
    """When it started."""
    stats: FieldStats | None
    """The field's counts in that run; None when the run did not check the field."""


def _row(db_path: Path, record: sqlite3.Row, fields: dict[str, FieldStats]) -> RunRow:
    return RunRow(
        run_id=record["run_id"],
        run_dir=loaded_dir(db_path, record["run_dir"]),
        started_at=record["started_at"],
        finished_at=record["finished_at"],
        evalkit_version=record["evalkit_version"],
        target_name=record["target_name"],
        base_url=record["base_url"],
        framing=record["framing"],
        form_ids=json.loads(record["form_ids"]),
        target_key=record["target_key"],
        suites=[(name, sha) for name, sha in json.loads(record["suites"])],
        suite_key=record["suite_key"],
        branch=record["branch"],
        commit=record["git_commit"],
        shard=record["shard"],
        interrupted=bool(record["interrupted"]),
        total=record["total"],
        passed=record["passed"],
        failed=record["failed"],
        errors=record["errors"],
        skipped=record["skipped"],
        pass_rate=record["pass_rate"],
        error_rate=record["error_rate"],
        gates_met=bool(record["gates_met"]),
        fields=fields,
    )


def list_runs(
    db_path: Path,
    *,
    suite: str | None = None,
    target: str | None = None,
    branch: str | None = None,
    limit: int = 50,
    include_shards: bool = False,
) -> list[RunRow]:
    """The most recent runs, oldest first (a trend reads left to right, top to bottom).

    Args:
        db_path: The database; a missing one has no runs (and is not created).
        suite: Only runs that ran this suite (by name).
        target: Only runs against this target: its name (`wix`, `emulator`), base URL or key.
        branch: Only runs of this git branch.
        limit: At most this many runs, the latest.
        include_shards: Also list the runs that are one shard of a larger run.

    Raises:
        RunFileError: The file is not a history database, or one of a newer evalkit.
    """
    where: list[str] = []
    params: list[object] = []
    if suite is not None:
        where.append("run_id IN (SELECT run_id FROM run_suites WHERE suite = ?)")
        params.append(suite)
    if target is not None:
        where.append("(target_name = ? OR base_url = ? OR target_key = ?)")
        params += [target, target.rstrip("/"), target]
    if branch is not None:
        where.append("branch = ?")
        params.append(branch)
    if not include_shards:
        where.append("shard IS NULL")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    with reader(db_path) as conn:
        if conn is None:
            return []
        conn.row_factory = sqlite3.Row
        records = conn.execute(
            f"SELECT * FROM runs {clause} ORDER BY started_at DESC, run_id DESC LIMIT ?",
            [*params, max(limit, 0)],
        ).fetchall()
        fields: dict[str, dict[str, FieldStats]] = {r["run_id"]: {} for r in records}
        marks = ", ".join("?" for _ in fields)
        for stat in conn.execute(
            f"SELECT * FROM field_stats WHERE run_id IN ({marks}) ORDER BY field", list(fields)
        ):
            fields[stat["run_id"]][stat["field"]] = FieldStats(
                correct=stat["correct"],
                wrong=stat["wrong"],
                missing=stat["missing"],
                unexpected=stat["unexpected"],
            )
    return [_row(db_path, r, fields[r["run_id"]]) for r in reversed(records)]


def last_good_run(
    db_path: Path,
    *,
    suite_key: str,
    target_key: str,
    branch: str | None = None,
    exclude: str | None = None,
) -> Path | None:
    """The directory of the latest run of the same suites and target that met its gates.

    That is what `--baseline last` compares with. Shards, interrupted runs, and runs whose
    directory is gone (e.g. not restored from a CI cache) are passed over.

    Args:
        db_path: The database; a missing one has no runs.
        suite_key: `suite_key(info.suites)` of the run to compare.
        target_key: `target_key(info.target)` of the run to compare.
        branch: Only runs of this git branch.
        exclude: A run id never to pick (the run being compared, when already recorded).

    Raises:
        RunFileError: The file is not a history database, or one of a newer evalkit.
    """
    sql = (
        "SELECT run_id, run_dir FROM runs WHERE suite_key = ? AND target_key = ? "
        "AND gates_met = 1 AND interrupted = 0 AND shard IS NULL"
    )
    params: list[object] = [suite_key, target_key]
    if branch is not None:
        sql += " AND branch = ?"
        params.append(branch)
    if exclude is not None:
        sql += " AND run_id != ?"
        params.append(exclude)
    with reader(db_path) as conn:
        if conn is None:
            return None
        records = conn.execute(sql + " ORDER BY started_at DESC, run_id DESC", params).fetchall()
    for _, stored in records:
        run_dir = loaded_dir(db_path, stored)
        if (run_dir / RUN_FILE).is_file():
            return run_dir
    return None


def field_trend(
    db_path: Path,
    field_name: str,
    *,
    suite: str | None = None,
    target: str | None = None,
    branch: str | None = None,
    limit: int = 50,
) -> list[FieldTrendPoint]:
    """One field's counts over the most recent runs, oldest first (filters as `list_runs`)."""
    runs = list_runs(db_path, suite=suite, target=target, branch=branch, limit=limit)
    return [FieldTrendPoint(r.run_id, r.started_at, r.fields.get(field_name)) for r in runs]


def run_outcomes(db_path: Path, run_id: str) -> dict[tuple[str, str, int], str]:
    """The status of every conversation of an indexed run, by (suite, id, repeat)."""
    with reader(db_path) as conn:
        if conn is None:
            return {}
        records = conn.execute(
            "SELECT suite, conversation_id, repeat, status FROM outcomes WHERE run_id = ? "
            "ORDER BY suite, conversation_id, repeat",
            (run_id,),
        ).fetchall()
    return {(suite, cid, repeat): status for suite, cid, repeat, status in records}
