"""The history database itself: connections to either engine, the versioned schema, run paths.

One code path serves SQLite and PostgreSQL: every statement is written in the SQL both accept,
with `?` placeholders (turned into `%s` for psycopg), and `Connection` hides the two drivers'
differences (rows come back as dicts). The engines differ only where they must:

- **Writers queue.** SQLite: `BEGIN IMMEDIATE` on a WAL-mode file with a busy timeout.
  PostgreSQL: each write transaction first takes one transaction-scoped advisory lock, so
  writers from many CI jobs at once run one after the other (the first one also creates the
  tables, with no race on `CREATE TABLE`), waiting at most `BUSY_TIMEOUT_S`.
- **The schema version** is SQLite's `PRAGMA user_version`, or the one row of the
  `evalkit_schema` table in PostgreSQL. `MIGRATIONS[n]` brings version n to n + 1; a writer
  applies the missing ones in its transaction. Readers take any version up to this evalkit's
  (queries check `Connection.version` before using a newer table) and refuse a newer one.
- **Readers never write**: nothing is created for them, and a PostgreSQL reader's session is
  read-only (`default_transaction_read_only`).

psycopg is imported only when a PostgreSQL history is opened, so SQLite users need nothing more.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalkit.errors import RunFileError, UsageError
from evalkit.history.figures import SLOT_COLUMNS
from evalkit.history.location import HISTORY_FILE, HistoryLocation, Locatable, history_location

__all__ = [
    "BUSY_TIMEOUT_S",
    "HISTORY_FILE",
    "HISTORY_SCHEMA_VERSION",
    "MIGRATIONS",
    "SLOT_COLUMNS",
    "TABLES",
    "Connection",
    "connect",
    "loaded_dir",
    "reader",
    "stored_dir",
    "use_wal",
    "writer",
]

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another to finish before giving up."""
CONNECT_TIMEOUT_S = 10
"""How long connecting to a PostgreSQL server may take."""
_ADVISORY_LOCK = 0x6576616C6B6974  # "evalkit": the one lock every history writer takes

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs, their suites, per-conversation outcomes, per-field counts.
    (
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
            pass_rate DOUBLE PRECISION,
            error_rate DOUBLE PRECISION,
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
    ),
    # 2: per-suite field counts (a suite's field trend), and outcomes by suite (its pass rate).
    (
        """CREATE TABLE IF NOT EXISTS suite_fields (
            run_id TEXT NOT NULL, suite TEXT NOT NULL, field TEXT NOT NULL,
            correct INTEGER NOT NULL, wrong INTEGER NOT NULL, missing INTEGER NOT NULL,
            unexpected INTEGER NOT NULL,
            PRIMARY KEY (run_id, suite, field)
        )""",
        "CREATE INDEX IF NOT EXISTS outcomes_by_suite ON outcomes (suite, run_id)",
    ),
    # 3: the run's slot-filling figures (NULL for runs recorded before, or with none judged).
    (
        "ALTER TABLE runs ADD COLUMN joint_goal_accuracy DOUBLE PRECISION",
        "ALTER TABLE runs ADD COLUMN average_goal_accuracy DOUBLE PRECISION",
        "ALTER TABLE runs ADD COLUMN slot_precision DOUBLE PRECISION",
        "ALTER TABLE runs ADD COLUMN slot_recall DOUBLE PRECISION",
        "ALTER TABLE runs ADD COLUMN slot_f1 DOUBLE PRECISION",
    ),
    # 4: the run's observed coverage and persona figures (NULL for runs recorded before, or
    # with no form recorded / no persona conversation).
    (
        "ALTER TABLE runs ADD COLUMN coverage_rate DOUBLE PRECISION",
        "ALTER TABLE runs ADD COLUMN coverage_covered INTEGER",
        "ALTER TABLE runs ADD COLUMN coverage_total INTEGER",
        "ALTER TABLE runs ADD COLUMN persona_completion_rate DOUBLE PRECISION",
        "ALTER TABLE runs ADD COLUMN persona_re_ask_rate DOUBLE PRECISION",
    ),
)
"""`MIGRATIONS[n]`: the statements that bring a history from schema version n to n + 1."""
HISTORY_SCHEMA_VERSION = len(MIGRATIONS)
"""Version of the tables; a database of a newer version is refused, an older one upgraded."""
TABLES = ("outcomes", "field_stats", "suite_fields", "run_suites", "runs")
"""Every table with a `run_id`, children first (deleting a run empties them in this order)."""


class Connection:
    """An open history, either engine: statements with `?` placeholders, rows as dicts."""

    def __init__(self, location: HistoryLocation, raw: Any, version: int = 0) -> None:
        self.location = location
        """Where the history is."""
        self.raw = raw
        """The driver's connection (`sqlite3.Connection` or `psycopg.Connection`)."""
        self.version = version
        """The schema version found (readers), or made (writers)."""

    @property
    def postgres(self) -> bool:
        """Whether this is a PostgreSQL history."""
        return self.location.engine == "postgresql"

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def query(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        """Run a query; its rows as dicts."""
        cursor = self.raw.execute(self._sql(sql), tuple(params))
        if self.postgres:
            return list(cursor.fetchall())
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run a statement."""
        self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run a statement once per row (rows may be a generator: they are streamed)."""
        if self.postgres:
            with self.raw.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)
        else:
            self.raw.executemany(sql, rows)


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch a SQLite database to WAL mode, waiting out other connections doing the same.

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


@contextmanager
def _sqlite(location: HistoryLocation, *, read_only: bool) -> Iterator[Connection]:
    assert location.path is not None
    try:
        # Autocommit mode: transactions are begun explicitly, so writers take the lock up front.
        raw = sqlite3.connect(location.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise RunFileError(f"{location}: cannot open the run history: {exc}") from exc
    try:
        if not read_only:
            use_wal(raw)
        yield Connection(location, raw)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise RunFileError(f"{location}: not a usable run history: {exc}") from exc
        raise RunFileError(
            f"{location}: still locked by another writer after {BUSY_TIMEOUT_S:.0f} s"
        ) from exc
    except sqlite3.DatabaseError as exc:
        raise RunFileError(f"{location}: not a usable run history: {exc}") from exc
    finally:
        raw.close()


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg.rows
    except ImportError as exc:
        raise UsageError(
            "a PostgreSQL history needs the driver: pip install 'evalkit[postgres]'"
        ) from exc
    return psycopg


@contextmanager
def _postgres(location: HistoryLocation, *, read_only: bool) -> Iterator[Connection]:
    psycopg = _psycopg()
    try:
        raw = psycopg.connect(
            location.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name="evalkit",
            row_factory=psycopg.rows.dict_row,
        )
    except psycopg.Error as exc:
        raise RunFileError(f"{location}: cannot connect: {location.scrub(str(exc))}") from None
    try:
        if read_only:
            raw.execute("SET default_transaction_read_only = on")
        else:
            raw.execute(f"SET lock_timeout = '{int(BUSY_TIMEOUT_S * 1000)}ms'")
        yield Connection(location, raw)
    except psycopg.errors.LockNotAvailable as exc:
        raise RunFileError(
            f"{location}: still locked by another writer after {BUSY_TIMEOUT_S:.0f} s"
        ) from exc
    except psycopg.Error as exc:
        message = location.scrub(str(exc).strip())
        raise RunFileError(f"{location}: not a usable run history: {message}") from None
    finally:
        raw.close()


@contextmanager
def connect(location: Locatable, *, read_only: bool = False) -> Iterator[Connection]:
    """A connection to a history, with either driver's failures turned into `RunFileError`s.

    Args:
        location: The history.
        read_only: A reader's connection: a PostgreSQL session refuses writes, and a SQLite
            file is not switched to WAL mode.

    Raises:
        RunFileError: It cannot be opened or used (a message without the URL's password).
        UsageError: A PostgreSQL history without the driver installed.
    """
    place = history_location(location)
    opener = _postgres if place.engine == "postgresql" else _sqlite
    with opener(place, read_only=read_only) as conn:
        yield conn


def _version(conn: Connection) -> int:
    if conn.postgres:
        (row,) = conn.query("SELECT to_regclass('evalkit_schema') IS NOT NULL AS present")
        if not row["present"]:
            return 0
        rows = conn.query("SELECT MAX(version) AS version FROM evalkit_schema")
        return int(rows[0]["version"] or 0)
    return int(conn.raw.execute("PRAGMA user_version").fetchone()[0])


def _checked_version(conn: Connection) -> int:
    version = _version(conn)
    if version > HISTORY_SCHEMA_VERSION:
        raise RunFileError(
            f"{conn.location}: history schema {version}; this evalkit reads up to "
            f"{HISTORY_SCHEMA_VERSION} (a newer evalkit wrote it)"
        )
    return version


def _migrate(conn: Connection) -> None:
    """Bring the schema to `HISTORY_SCHEMA_VERSION`; inside the writer's transaction."""
    version = _checked_version(conn)
    if version == HISTORY_SCHEMA_VERSION:
        conn.version = version
        return
    for statements in MIGRATIONS[version:]:
        for statement in statements:
            conn.execute(statement)
    if conn.postgres:
        conn.execute("CREATE TABLE IF NOT EXISTS evalkit_schema (version INTEGER NOT NULL)")
        conn.execute("DELETE FROM evalkit_schema")
        conn.execute("INSERT INTO evalkit_schema (version) VALUES (?)", (HISTORY_SCHEMA_VERSION,))
    else:
        conn.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION}")
    conn.version = HISTORY_SCHEMA_VERSION


@contextmanager
def writer(location: Locatable) -> Iterator[Connection]:
    """One write transaction on a history, created or upgraded first; committed on success.

    Writers queue: SQLite's `BEGIN IMMEDIATE`, or PostgreSQL's advisory lock.

    Raises:
        RunFileError: It cannot be used, or another writer held it past `BUSY_TIMEOUT_S`.
    """
    place = history_location(location)
    if place.path is not None:
        place.path.parent.mkdir(parents=True, exist_ok=True)
    with connect(place) as conn:
        if conn.postgres:
            with conn.raw.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_LOCK,))
                _migrate(conn)
                yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            _migrate(conn)
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.raw.in_transaction:
                conn.execute("ROLLBACK")
            raise


@contextmanager
def reader(location: Locatable) -> Iterator[Connection | None]:
    """A read-only connection to an existing history, or None when there is none (yet).

    Nothing is created: a missing SQLite file, or a PostgreSQL database without evalkit's
    tables, is a history with no runs.

    Raises:
        RunFileError: It cannot be used, or a newer evalkit wrote it.
    """
    place = history_location(location)
    if place.path is not None and not place.path.is_file():
        yield None
        return
    with connect(place, read_only=True) as conn:
        conn.version = _checked_version(conn)
        yield conn if conn.version > 0 else None


def stored_dir(location: Locatable, run_dir: Path) -> str:
    """How a run directory is stored: relative to a SQLite file's folder when under it.

    In a PostgreSQL history, shared by many machines, it is stored absolute.
    """
    place = history_location(location)
    resolved = run_dir.resolve()
    if place.path is None:
        return str(resolved)
    root = place.path.resolve().parent
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(resolved)


def loaded_dir(location: Locatable, stored: str) -> Path:
    """A stored run directory, made absolute again."""
    path = Path(stored)
    place = history_location(location)
    if path.is_absolute() or place.path is None:
        return path
    return place.path.resolve().parent / path
