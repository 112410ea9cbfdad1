"""Recording a run in the history: one write transaction, replacing the run's rows if any."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from evalkit.history.database import TABLES, connect, create_tables, stored_dir
from evalkit.results import ConversationResult, RunInfo, in_key_order, suite_key, target_key

__all__ = ["record_run"]


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
        "run_dir": stored_dir(db_path, run_dir),
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
    with connect(db_path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            create_tables(conn, db_path)
            for table in TABLES:
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
