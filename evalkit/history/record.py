"""Recording a run in the history: one write transaction, replacing the run's rows if any."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from evalkit.history.database import TABLES, Connection, stored_dir, writer
from evalkit.history.figures import summary_figures
from evalkit.history.location import Locatable, history_location
from evalkit.metrics import add_field_verdicts
from evalkit.results import (
    ConversationResult,
    FieldStats,
    RunInfo,
    in_key_order,
    suite_key,
    target_key,
)

__all__ = ["Outcome", "record_run", "write_run_rows"]

Outcome = tuple[str, str, int, str]
"""(suite, conversation id, repeat, status) of one conversation of a run."""


def _counts(stats: FieldStats) -> tuple[int, int, int, int]:
    return (stats.correct, stats.wrong, stats.missing, stats.unexpected)


def write_run_rows(
    conn: Connection,
    row: Mapping[str, object],
    suites: Sequence[tuple[str, str]],
    outcomes: Iterable[Outcome],
    fields: Mapping[str, FieldStats],
    suite_fields: Mapping[str, Mapping[str, FieldStats]],
) -> None:
    """Replace one run's rows, inside a writer's transaction.

    `outcomes` is streamed; `suite_fields` is read only after it is exhausted, so a caller may
    fill it while the outcomes stream by.
    """
    run_id = row["run_id"]
    for table in TABLES:
        conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
    columns = ", ".join(row)
    conn.execute(
        f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
    )
    conn.executemany(
        "INSERT INTO run_suites (run_id, suite, sha256) VALUES (?, ?, ?)",
        [(run_id, name, sha) for name, sha in dict(suites).items()],
    )
    conn.executemany(
        "INSERT INTO outcomes (run_id, suite, conversation_id, repeat, status) "
        "VALUES (?, ?, ?, ?, ?)",
        ((run_id, *outcome) for outcome in outcomes),
    )
    conn.executemany(
        "INSERT INTO field_stats (run_id, field, correct, wrong, missing, unexpected) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, name, *_counts(stats)) for name, stats in fields.items()],
    )
    conn.executemany(
        "INSERT INTO suite_fields (run_id, suite, field, correct, wrong, missing, unexpected) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, suite, name, *_counts(stats))
            for suite, by_field in sorted(suite_fields.items())
            for name, stats in sorted(by_field.items())
        ],
    )


def record_run(
    location: Locatable,
    run_dir: Path,
    info: RunInfo,
    results: Sequence[ConversationResult],
    *,
    gates_met: bool,
    branch: str | None,
    commit: str | None,
) -> None:
    """Index a run in the history (creating or upgrading it first); again replaces it.

    Args:
        location: The history: a SQLite file (e.g. `reports/history.db`) or a PostgreSQL URL.
        run_dir: The run's directory.
        info: Its metadata; the counts, rates, field stats and the figures of
            `evalkit.history.figures` (slot filling, observed coverage, personas) come from
            `info.summary`.
        results: Its results, for the per-conversation outcomes and per-suite field counts.
        gates_met: Whether the run met its gates (only such runs are a `last_good_run`).
        branch: Git branch, when known (the CLI reads it from CI variables or git); None falls
            back to `info.git_branch`.
        commit: Git commit, when known; None falls back to `info.git_commit`.

    Raises:
        RunFileError: It is not a history database, one of a newer evalkit, or it stayed
            locked by other writers too long.
    """
    place = history_location(location)
    summary = info.summary
    suites = sorted((s.name, s.sha256) for s in info.suites)
    row = {
        "run_id": info.run_id,
        "run_dir": stored_dir(place, run_dir),
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
    row |= summary_figures(summary)
    by_suite: dict[str, dict[str, FieldStats]] = {}

    def outcomes() -> Iterator[Outcome]:
        # One per key, a later row winning as on read; streamed, counting each suite's fields.
        for result in in_key_order(results):
            add_field_verdicts(by_suite.setdefault(result.suite, {}), result)
            yield (*result.key, result.status)

    with writer(place) as conn:
        write_run_rows(conn, row, suites, outcomes(), summary.fields, by_suite)
