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

from evalkit.history.database import HISTORY_FILE, HISTORY_SCHEMA_VERSION
from evalkit.history.queries import (
    FieldTrendPoint,
    RunRow,
    field_trend,
    last_good_run,
    list_runs,
    run_outcomes,
)
from evalkit.history.record import record_run
from evalkit.results import suite_key, target_key

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
