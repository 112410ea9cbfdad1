"""The history's rows as evalkit reads them: a run, a field's or a suite's point in a trend, facets.

`run_row` turns a stored `runs` record into a `RunRow`; every figure column a history of an older
schema lacks reads as None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evalkit.history.database import Connection, loaded_dir
from evalkit.history.figures import COVERAGE_COLUMNS, PERSONA_COLUMNS, SLOT_COLUMNS
from evalkit.results import FieldStats

__all__ = [
    "RUN_STATUSES",
    "Facets",
    "FieldTrendPoint",
    "RunRow",
    "RunStatus",
    "SuitePoint",
    "record_stats",
    "run_row",
]

RunStatus = Literal["met", "unmet", "interrupted"]
"""A run's standing: it met its gates, it did not, or it stopped before every conversation ran."""
RUN_STATUSES: tuple[RunStatus, ...] = ("met", "unmet", "interrupted")
"""Every `RunStatus`, in the order filters offer them."""


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
    slot_filling: dict[str, float | None] = field(default_factory=dict)
    """Joint and average goal accuracy, slot precision, recall and F1 (`SLOT_COLUMNS` names:
    `joint_goal_accuracy`, `average_goal_accuracy`, `slot_precision`, `slot_recall`,
    `slot_f1`); each None when not judged or recorded by a history before schema 3."""
    coverage: dict[str, float | None] = field(default_factory=dict)
    """What of its forms the run observed (`COVERAGE_COLUMNS` names: `coverage_rate`, and the
    whole numbers `coverage_covered` of `coverage_total` items); each None when the run recorded
    no form, or by a history before schema 4."""
    personas: dict[str, float | None] = field(default_factory=dict)
    """Its persona conversations' `persona_completion_rate` (submitted / conversations) and
    `persona_re_ask_rate` (re-asks per conversation; `PERSONA_COLUMNS`); each None when the run
    has none, or by a history before schema 4."""

    @property
    def status(self) -> RunStatus:
        """`interrupted`, else `met` or `unmet` (its gates)."""
        if self.interrupted:
            return "interrupted"
        return "met" if self.gates_met else "unmet"

    @property
    def suite_names(self) -> tuple[str, ...]:
        """Its suites' names, sorted."""
        return tuple(sorted({name for name, _ in self.suites}))

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


@dataclass(frozen=True)
class SuitePoint:
    """One run of a suite: the suite's own numbers in it (a run may hold several suites)."""

    run: RunRow
    """The run."""
    passed: int
    """The suite's conversations that passed in it."""
    failed: int
    """That failed."""
    errors: int
    """That could not be evaluated."""
    fields: dict[str, FieldStats]
    """The suite's per-field counts (the run's, for a run of only this suite recorded by a
    history of schema 1; else empty when unknown)."""

    @property
    def pass_rate(self) -> float | None:
        """This suite's passed / (passed + failed) in this run."""
        decided = self.passed + self.failed
        return self.passed / decided if decided else None


@dataclass(frozen=True)
class Facets:
    """The values the history's runs have, for filters to offer."""

    suites: list[str]
    """Suite names."""
    targets: list[tuple[str, str]]
    """(target key, label: name and base URL) of each target."""
    branches: list[str]
    """Git branches."""


def record_stats(record: dict[str, Any]) -> FieldStats:
    """The counts of a stored `field_stats` or `suite_fields` record."""
    return FieldStats(
        correct=record["correct"],
        wrong=record["wrong"],
        missing=record["missing"],
        unexpected=record["unexpected"],
    )


def run_row(conn: Connection, record: dict[str, Any], fields: dict[str, FieldStats]) -> RunRow:
    """A stored `runs` record (any schema version) as a `RunRow`, with its field counts."""
    return RunRow(
        run_id=record["run_id"],
        run_dir=loaded_dir(conn.location, record["run_dir"]),
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
        slot_filling={column: record.get(column) for column in SLOT_COLUMNS},
        coverage={column: record.get(column) for column in COVERAGE_COLUMNS},
        personas={column: record.get(column) for column in PERSONA_COLUMNS},
    )
