"""Reading the history: indexed runs, the last run that met its gates, trends, outcomes, facets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from evalkit.errors import UsageError
from evalkit.history.database import Connection, loaded_dir, reader
from evalkit.history.location import Locatable
from evalkit.history.rows import (
    RUN_STATUSES,
    Facets,
    FieldTrendPoint,
    RunRow,
    RunStatus,
    SuitePoint,
    record_stats,
    run_row,
)
from evalkit.results import RUN_FILE, FieldStats

__all__ = [
    "RUN_STATUSES",
    "Facets",
    "FieldTrendPoint",
    "RunRow",
    "RunStatus",
    "SuitePoint",
    "facets",
    "field_trend",
    "get_run",
    "last_good_run",
    "list_runs",
    "parse_day",
    "run_outcomes",
    "suite_trend",
]


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


def _rows(conn: Connection, records: list[dict[str, Any]]) -> list[RunRow]:
    """Run rows with their field stats, in the order of `records`."""
    fields: dict[str, dict[str, FieldStats]] = {r["run_id"]: {} for r in records}
    if fields:
        for stat in conn.query(
            f"SELECT * FROM field_stats WHERE run_id IN ({_marks(len(fields))}) ORDER BY field",
            list(fields),
        ):
            fields[stat["run_id"]][stat["field"]] = record_stats(stat)
    return [run_row(conn, r, fields[r["run_id"]]) for r in records]


def parse_day(text: str, option: str) -> dt.date:
    """A day written `YYYY-MM-DD`; `option` names it in the error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r}: give a date as YYYY-MM-DD") from None


def _filters(
    *,
    suite: str | None,
    target: str | None,
    branch: str | None,
    status: RunStatus | None,
    since: str | None,
    until: str | None,
    include_shards: bool,
) -> tuple[str, list[object]]:
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
    if status == "interrupted":
        where.append("interrupted = 1")
    elif status is not None:
        where.append("interrupted = 0 AND gates_met = ?")
        params.append(1 if status == "met" else 0)
    if since is not None:
        where.append("started_at >= ?")
        params.append(parse_day(since, "since").isoformat())
    if until is not None:
        where.append("started_at < ?")
        params.append((parse_day(until, "until") + dt.timedelta(days=1)).isoformat())
    if not include_shards:
        where.append("shard IS NULL")
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def list_runs(
    location: Locatable,
    *,
    suite: str | None = None,
    target: str | None = None,
    branch: str | None = None,
    status: RunStatus | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
    include_shards: bool = False,
) -> list[RunRow]:
    """The most recent runs, oldest first (a trend reads left to right, top to bottom).

    Args:
        location: The history (a path or URL); a missing one has no runs (and is not created).
        suite: Only runs that ran this suite (by name).
        target: Only runs against this target: its name (`wix`, `emulator`), base URL or key.
        branch: Only runs of this git branch.
        status: Only runs that met their gates, did not, or were interrupted.
        since: Only runs started on this day (`YYYY-MM-DD`, UTC) or later.
        until: Only runs started on this day or earlier.
        limit: At most this many runs, the latest.
        include_shards: Also list the runs that are one shard of a larger run.

    Raises:
        RunFileError: It is not a history database, or one of a newer evalkit.
        UsageError: A date that is not `YYYY-MM-DD`.
    """
    clause, params = _filters(
        suite=suite,
        target=target,
        branch=branch,
        status=status,
        since=since,
        until=until,
        include_shards=include_shards,
    )
    with reader(location) as conn:
        if conn is None:
            return []
        records = conn.query(
            f"SELECT * FROM runs {clause} ORDER BY started_at DESC, run_id DESC LIMIT ?",
            [*params, max(limit, 0)],
        )
        return _rows(conn, list(reversed(records)))


def get_run(location: Locatable, run_id: str) -> RunRow | None:
    """One indexed run by its id, or None."""
    with reader(location) as conn:
        if conn is None:
            return None
        records = conn.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        return _rows(conn, records)[0] if records else None


def last_good_run(
    location: Locatable,
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
        location: The history; a missing one has no runs.
        suite_key: `suite_key(info.suites)` of the run to compare.
        target_key: `target_key(info.target)` of the run to compare.
        branch: Only runs of this git branch.
        exclude: A run id never to pick (the run being compared, when already recorded).

    Raises:
        RunFileError: It is not a history database, or one of a newer evalkit.
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
    with reader(location) as conn:
        if conn is None:
            return None
        records = conn.query(sql + " ORDER BY started_at DESC, run_id DESC", params)
        for record in records:
            run_dir = loaded_dir(conn.location, record["run_dir"])
            if (run_dir / RUN_FILE).is_file():
                return run_dir
    return None


def field_trend(
    location: Locatable,
    field_name: str,
    *,
    suite: str | None = None,
    target: str | None = None,
    branch: str | None = None,
    limit: int = 50,
) -> list[FieldTrendPoint]:
    """One field's counts over the most recent runs, oldest first (filters as `list_runs`)."""
    runs = list_runs(location, suite=suite, target=target, branch=branch, limit=limit)
    return [FieldTrendPoint(r.run_id, r.started_at, r.fields.get(field_name)) for r in runs]


def suite_trend(
    location: Locatable,
    suite: str,
    *,
    target: str | None = None,
    branch: str | None = None,
    limit: int = 50,
) -> list[SuitePoint]:
    """A suite's own pass rate and field counts over the most recent runs that ran it.

    A run may hold several suites: the numbers are this suite's conversations only (from the
    stored outcomes and per-suite field counts), so runs of other suites never move its trend.

    Args:
        location: The history.
        suite: The suite's name.
        target: Only runs against this target (as `list_runs`).
        branch: Only runs of this git branch.
        limit: At most this many runs, the latest.

    Returns:
        One point per run, oldest first.
    """
    runs = list_runs(location, suite=suite, target=target, branch=branch, limit=limit)
    if not runs:
        return []
    ids = [run.run_id for run in runs]
    counts: dict[str, dict[str, int]] = {run_id: {} for run_id in ids}
    fields: dict[str, dict[str, FieldStats]] = {run_id: {} for run_id in ids}
    with reader(location) as conn:
        assert conn is not None
        for record in conn.query(
            "SELECT run_id, status, COUNT(*) AS n FROM outcomes "
            f"WHERE suite = ? AND run_id IN ({_marks(len(ids))}) GROUP BY run_id, status",
            [suite, *ids],
        ):
            counts[record["run_id"]][record["status"]] = int(record["n"])
        if conn.version >= 2:
            for record in conn.query(
                "SELECT * FROM suite_fields "
                f"WHERE suite = ? AND run_id IN ({_marks(len(ids))}) ORDER BY field",
                [suite, *ids],
            ):
                fields[record["run_id"]][record["field"]] = record_stats(record)
    points = []
    for run in runs:
        own = fields[run.run_id]
        if not own and run.suite_names == (suite,):
            own = dict(run.fields)  # recorded before per-suite counts: the run is the suite
        tally = counts[run.run_id]
        points.append(
            SuitePoint(run, tally.get("pass", 0), tally.get("fail", 0), tally.get("error", 0), own)
        )
    return points


def run_outcomes(location: Locatable, run_id: str) -> dict[tuple[str, str, int], str]:
    """The status of every conversation of an indexed run, by (suite, id, repeat)."""
    with reader(location) as conn:
        if conn is None:
            return {}
        records = conn.query(
            "SELECT suite, conversation_id, repeat, status FROM outcomes WHERE run_id = ? "
            "ORDER BY suite, conversation_id, repeat",
            (run_id,),
        )
    return {(r["suite"], r["conversation_id"], r["repeat"]): r["status"] for r in records}


def facets(location: Locatable) -> Facets:
    """The suites, targets and branches the history's runs have (for a view's filters)."""
    with reader(location) as conn:
        if conn is None:
            return Facets([], [], [])
        suites = [r["suite"] for r in conn.query("SELECT DISTINCT suite FROM run_suites")]
        targets = {
            r["target_key"]: _target_label(r)
            for r in conn.query(
                "SELECT target_key, target_name, base_url, form_ids FROM runs "
                "ORDER BY started_at DESC, run_id DESC"
            )
        }
        branches = [
            r["branch"]
            for r in conn.query("SELECT DISTINCT branch FROM runs WHERE branch IS NOT NULL")
        ]
    return Facets(
        sorted(suites), sorted(targets.items(), key=lambda kv: (kv[1], kv[0])), sorted(branches)
    )


def _target_label(record: dict[str, Any]) -> str:
    """A target in words: its name, the base URL when not the emulator's, its form ids."""
    forms: dict[str, str] = json.loads(record["form_ids"])
    place = "" if record["target_name"] == "emulator" else f" {record['base_url']}"
    ids = ", ".join(f"{key}={value}" for key, value in sorted(forms.items()))
    return f"{record['target_name']}{place}" + (f" [{ids}]" if ids else "")
