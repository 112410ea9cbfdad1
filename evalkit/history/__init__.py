"""The run history: an index of every run, in SQLite (the default) or PostgreSQL (for teams).

Each run directory stays the artifact; the index holds what trends and `--baseline last` need
without reading every directory again:

    runs          one row per run: when, target, suites (with a key of their versions), git branch
                  and commit, counts, pass and error rates, whether its gates were met; slot-
                  filling figures (schema 3), observed coverage and persona completion and
                  re-asks (schema 4): `evalkit.history.figures`
    run_suites    (run, suite name, sha256): to filter by suite
    outcomes      (run, suite, conversation id, repeat) → status
    field_stats   (run, field) → correct, wrong, missing, unexpected
    suite_fields  (run, suite, field) → the same counts, per suite (schema 2)

Where it lives is a `HistoryLocation`: `history.db` under the output root by default, any file
path, or a `postgresql://` URL shared by every CI job (`--history`, `EVALKIT_HISTORY_URL`, or
`history` in the project configuration). Both engines run the same SQL through one small
connection type; the schema is versioned and upgraded by the first writer. Writers queue (a
`BEGIN IMMEDIATE` on a WAL-mode file, or an advisory lock), so shards and CI jobs finishing at
once all land. Recording a run again replaces its rows. In a SQLite history, run directories
under the database's folder are stored relative to it, so a `reports/` folder restored on
another machine (a CI cache) still finds its runs; in PostgreSQL they are stored absolute.
A URL's password never reaches a message, a report or a log: locations print as `shown`.
"""

from evalkit.history.database import HISTORY_SCHEMA_VERSION, MIGRATIONS
from evalkit.history.location import (
    HISTORY_ENV,
    HISTORY_FILE,
    HistoryLocation,
    Locatable,
    configured_history,
    history_location,
    redact_url,
)
from evalkit.history.queries import (
    RUN_STATUSES,
    Facets,
    FieldTrendPoint,
    RunRow,
    RunStatus,
    SuitePoint,
    facets,
    field_trend,
    get_run,
    last_good_run,
    list_runs,
    run_outcomes,
    suite_trend,
)
from evalkit.history.record import record_run
from evalkit.history.transfer import Pruned, export_history, import_history, prune
from evalkit.results import suite_key, target_key

__all__ = [
    "HISTORY_ENV",
    "HISTORY_FILE",
    "HISTORY_SCHEMA_VERSION",
    "MIGRATIONS",
    "RUN_STATUSES",
    "Facets",
    "FieldTrendPoint",
    "HistoryLocation",
    "Locatable",
    "Pruned",
    "RunRow",
    "RunStatus",
    "SuitePoint",
    "configured_history",
    "export_history",
    "facets",
    "field_trend",
    "get_run",
    "history_location",
    "import_history",
    "last_good_run",
    "list_runs",
    "prune",
    "record_run",
    "redact_url",
    "run_outcomes",
    "suite_key",
    "suite_trend",
    "target_key",
]
