"""The history database itself: its file, schema and connections, and how it stores run paths."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evalkit.errors import RunFileError

__all__ = [
    "BUSY_TIMEOUT_S",
    "HISTORY_FILE",
    "HISTORY_SCHEMA_VERSION",
    "SCHEMA",
    "TABLES",
    "connect",
    "create_tables",
    "loaded_dir",
    "reader",
    "schema_version",
    "stored_dir",
    "use_wal",
]

HISTORY_FILE = "history.db"
"""Name of the history database under the output root."""
HISTORY_SCHEMA_VERSION = 1
"""Version of the tables; a database of a newer version is refused, an older one upgraded."""
BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another to finish before giving up."""

SCHEMA = (
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
TABLES = ("outcomes", "field_stats", "run_suites", "runs")


@contextmanager
def connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A WAL-mode connection, with SQLite's failures turned into `RunFileError`s."""
    # Autocommit mode: transactions are begun explicitly, so writers take the lock up front.
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        use_wal(conn)
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


def use_wal(conn: sqlite3.Connection) -> None:
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


def schema_version(conn: sqlite3.Connection, db_path: Path) -> int:
    """The database's schema version; refuse one newer than this evalkit reads."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > HISTORY_SCHEMA_VERSION:
        raise RunFileError(
            f"{db_path}: history schema {version}; this evalkit reads up to "
            f"{HISTORY_SCHEMA_VERSION} (a newer evalkit wrote it)"
        )
    return version


def create_tables(conn: sqlite3.Connection, db_path: Path) -> None:
    """Create or upgrade the tables; call inside a write transaction."""
    if schema_version(conn, db_path) < HISTORY_SCHEMA_VERSION:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION}")


def stored_dir(db_path: Path, run_dir: Path) -> str:
    """How a run directory is stored: relative to the database's folder when under it."""
    root = db_path.resolve().parent
    resolved = run_dir.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(resolved)


def loaded_dir(db_path: Path, stored: str) -> Path:
    """A stored run directory, made absolute again."""
    path = Path(stored)
    return path if path.is_absolute() else db_path.resolve().parent / path


@contextmanager
def reader(db_path: Path) -> Iterator[sqlite3.Connection | None]:
    """A connection to an existing history, or None when there is none yet (nothing created)."""
    if not db_path.is_file():
        yield None
        return
    with connect(db_path) as conn:
        yield conn if schema_version(conn, db_path) == HISTORY_SCHEMA_VERSION else None
