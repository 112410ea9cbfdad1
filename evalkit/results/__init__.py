"""Output models and the run directory: transcripts, verdicts, `results.jsonl` and `run.json`.

A run directory is the one artifact of a run; every report is a rendering of it::

    reports/<run-id>/
      results.jsonl   one ConversationResult per line, appended and flushed as each finishes
      run.json        RunInfo: versions, suite hashes, target, timings and the summary

`results.jsonl` is written so that a crash loses at most the line being written: a torn last line
is skipped on read.
"""

from __future__ import annotations

from evalkit.results.coverage import (
    Coverage,
    CoverageItem,
    FieldInfo,
    FormCoverage,
    FormInfo,
)
from evalkit.results.figures import FieldStats
from evalkit.results.files import (
    Redactor,
    ResultsWriter,
    drop_torn_tail,
    iter_results,
    read_results,
    read_run,
    redact,
    redaction_forms,
    rewrite_results,
    write_atomically,
    write_run_info,
)
from evalkit.results.identity import suite_key, target_identity, target_key
from evalkit.results.labels import conversation_label
from evalkit.results.lock import LOCK_FILE, RunLock
from evalkit.results.models import (
    RESULTS_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    Attempt,
    CheckResult,
    ConversationResult,
    ErrorInfo,
    FieldOutcome,
    FieldResult,
    RunInfo,
    Selection,
    SimulatorInfo,
    Status,
    SuiteInfo,
    Summary,
    TargetInfo,
    TimedChunk,
    TurnTranscript,
    parse_shard,
)
from evalkit.results.stored import Key, StoredResults, by_key, in_key_order, lookup

__all__ = [
    "LOCK_FILE",
    "RESULTS_FILE",
    "RUN_FILE",
    "SCHEMA_VERSION",
    "Attempt",
    "CheckResult",
    "ConversationResult",
    "Coverage",
    "CoverageItem",
    "ErrorInfo",
    "FieldInfo",
    "FieldOutcome",
    "FieldResult",
    "FieldStats",
    "FormCoverage",
    "FormInfo",
    "Key",
    "Redactor",
    "ResultsWriter",
    "RunInfo",
    "RunLock",
    "Selection",
    "SimulatorInfo",
    "Status",
    "StoredResults",
    "SuiteInfo",
    "Summary",
    "TargetInfo",
    "TimedChunk",
    "TurnTranscript",
    "by_key",
    "conversation_label",
    "drop_torn_tail",
    "in_key_order",
    "iter_results",
    "lookup",
    "parse_shard",
    "read_results",
    "read_run",
    "redact",
    "redaction_forms",
    "rewrite_results",
    "suite_key",
    "target_identity",
    "target_key",
    "write_atomically",
    "write_run_info",
]
