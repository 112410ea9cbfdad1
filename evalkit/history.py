"""The run history: an index of every run in SQLite (`history.db` under the output root).

Each run directory stays the artifact; the index holds what trends and `--baseline last` need
without reading every directory again:

    runs         one row per run: when, target, suites (with a key of their versions), git branch
                 and commit, counts, pass and error rates, whether its gates were met
    run_suites   (run, suite name, sha256): to filter by suite
    outcomes     (run, suite, conversation id, repeat) → status
    field_stats  (run, field) → correct, wrong, missing, unexpected

The schema version is the database's `PRAGMA user_version`; the tables are created on first use.
Writes happen in one `BEGIN IMMEDIATE` transaction on a WAL-mode database with a busy timeout, so
shards finishing at once on one machine queue up instead of failing. Recording a run again
replaces its rows. Run directories under the database's folder are stored relative to it, so a
`reports/` folder restored on another machine (a CI cache) still finds its runs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import RunFileError
from evalkit.merge import suite_key, target_key
from evalkit.results import RUN_FILE, ConversationResult, FieldStats, RunInfo, in_key_order

__all__ = [
    "HISTORY_FILE",
    "HISTORY_SCHEMA_VERSION",
    "FieldTrendPoint",
    "RunRow",
    "field_trend",
    "last_good_run",
    "list_runs",
    "record_run",
    "run_outcomes",
    "suite_key",
    "target_key",
]

HISTORY_FILE = "history.db"
"""Name of the history database under the output root."""
HISTORY_SCHEMA_VERSION = 1
"""Version of the tables; a database of a newer version is refused, an older one upgraded."""
BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another to finish before giving up."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        run_dir TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        evalkit_version TEXT NOT NULL,
        target_name TEXT NOT NULL,
        base_url TEXT NOT NULL,
        framing TEXT NOT NULL,
        form_ids TEXT NOT NULL,
        target_key TEXT NOT NULL,
        suites TEXT NOT NULL,
        suite_key TEXT NOT NULL,
        branch TEXT,
        git_commit TEXT,
        shard TEXT,
        interrupted INTEGER NOT NULL,
        total INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        pass_rate REAL,
        error_rate REAL,
        gates_met INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS runs_by_key ON runs (suite_key, target_key, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_by_time ON runs (started_at)",
    """CREATE TABLE IF NOT EXISTS run_suites (
        run_id TEXT NOT NULL, suite TEXT NOT NULL, sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, suite)
    )""",
    """CREATE TABLE IF NOT EXISTS outcomes (
        run_id TEXT NOT NULL, suite TEXT NOT NULL, conversation_id TEXT NOT NULL,
        repeat INTEGER NOT NULL, status TEXT NOT NULL,
        PRIMARY KEY (run_id, suite, conversation_id, repeat)
    )""",
    """CREATE TABLE IF NOT EXISTS field_stats (
        run_id TEXT NOT NULL, field TEXT NOT NULL, correct INTEGER NOT NULL,
        wrong INTEGER NOT NULL, missing INTEGER NOT NULL, unexpected INTEGER NOT NULL,
        PRIMARY KEY (run_id, field)
    )""",
)
_TABLES = ("outcomes", "field_stats", "run_suites", "runs")


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


@contextmanager
def _connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    # Autocommit mode: transactions are begun explicitly, so writers take the lock up front.
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        _use_wal(conn)
        yield conn
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise RunFileError(f"{db_path}: not a usable run history: {exc}") from exc
        raise RunFileError(
            f"{db_path}: still locked by another writer after {BUSY_TIMEOUT_S:.0f} s"
        ) from exc
    except sqlite3.DatabaseError as exc:
        raise RunFileError(f"{db_path}: not a usable run history: {exc}") from exc
    finally:
        conn.close()


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the database to WAL mode, waiting out other connections doing the same.

    Switching a new database's journal mode takes an exclusive lock, and SQLite reports "database
    is locked" at once, without its busy timeout, to the others that try it meanwhile: shards
    finishing together on a fresh history lost their record one time in ten.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _version(conn: sqlite3.Connection, db_path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > HISTORY_SCHEMA_VERSION:
        raise RunFileError(
            f"{db_path}: history schema {version}; this evalkit reads up to "
            f"{HISTORY_SCHEMA_VERSION} (a newer evalkit wrote it)"
        )
    return version


def _create(conn: sqlite3.Connection, db_path: Path) -> None:
    """Create or upgrade the tables; call inside a write transaction."""
    if _version(conn, db_path) < HISTORY_SCHEMA_VERSION:
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION}")


def _stored_dir(db_path: Path, run_dir: Path) -> str:
    root = db_path.resolve().parent
    resolved = run_dir.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(resolved)


def _loaded_dir(db_path: Path, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else db_path.resolve().parent / path


def record_run(
    db_path: Path,
    run_dir: Path,
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    gates_met: bool,
    branch: str | None,
    commit: str | None,
) -> None:
    """Index a run in the history (creating the database on first use); again replaces it.

    Args:
        db_path: The database, e.g. `reports/history.db`.
        run_dir: The run's directory.
        info: Its metadata; the counts, rates and field stats come from `info.summary`.
        results: Its results, for the per-conversation outcomes.
        gates_met: Whether the run met its gates (only such runs are a `last_good_run`).
        branch: Git branch, when known (the CLI reads it from CI variables or git); None falls
            back to `info.git_branch`.
        commit: Git commit, when known; None falls back to `info.git_commit`.

    Raises:
        RunFileError: The file is not a history database, or one of a newer evalkit.
    """
    summary = info.summary
    suites = sorted((s.name, s.sha256) for s in info.suites)
    row = {
        "run_id": info.run_id,
        "run_dir": _stored_dir(db_path, run_dir),
        "started_at": info.started_at,
        "finished_at": info.finished_at,
        "evalkit_version": info.evalkit_version,
        "target_name": info.target.name,
        "base_url": info.target.base_url,
        "framing": info.target.framing,
        "form_ids": json.dumps(info.target.form_ids, sort_keys=True),
        "target_key": target_key(info.target),
        "suites": json.dumps(suites),
        "suite_key": suite_key(info.suites),
        "branch": branch if branch is not None else info.git_branch,
        "git_commit": commit if commit is not None else info.git_commit,
        "shard": info.shard,
        "interrupted": int(info.interrupted),
        "total": summary.total,
        "passed": summary.passed,
        "failed": summary.failed,
        "errors": summary.errors,
        "skipped": summary.skipped,
        "pass_rate": summary.pass_rate,
        "error_rate": summary.error_rate,
        "gates_met": int(gates_met),
    }
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _connect(db_path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _create(conn, db_path)
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (info.run_id,))
            columns = ", ".join(row)
            marks = ", ".join(f":{name}" for name in row)
            conn.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", row)
            conn.executemany(
                "INSERT INTO run_suites VALUES (?, ?, ?)",
                [(info.run_id, name, sha) for name, sha in dict(suites).items()],
            )
            conn.executemany(  # one per key, a later row winning as on read; streamed
                "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?)",
                ((info.run_id, *r.key, r.status) for r in in_key_order(results)),
            )
            conn.executemany(
                "INSERT INTO field_stats VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (info.run_id, name, s.correct, s.wrong, s.missing, s.unexpected)
                    for name, s in summary.fields.items()
                ],
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextmanager
def _reader(db_path: Path) -> Iterator[sqlite3.Connection | None]:
    """A connection to an existing history, or None when there is none yet (nothing created)."""
    if not db_path.is_file():
        yield None
        return
    with _connect(db_path) as conn:
        yield conn if _version(conn, db_path) == HISTORY_SCHEMA_VERSION else None


def _row(db_path: Path, record: sqlite3.Row, fields: dict[str, FieldStats]) -> RunRow:
    return RunRow(
        run_id=record["run_id"],
        run_dir=_loaded_dir(db_path, record["run_dir"]),
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
    with _reader(db_path) as conn:
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
    with _reader(db_path) as conn:
        if conn is None:
            return None
        records = conn.execute(sql + " ORDER BY started_at DESC, run_id DESC", params).fetchall()
    for _, stored in records:
        run_dir = _loaded_dir(db_path, stored)
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
    with _reader(db_path) as conn:
        if conn is None:
            return {}
        records = conn.execute(
            "SELECT suite, conversation_id, repeat, status FROM outcomes WHERE run_id = ? "
            "ORDER BY suite, conversation_id, repeat",
            (run_id,),
        ).fetchall()
    return {(suite, cid, repeat): status for suite, cid, repeat, status in records}
