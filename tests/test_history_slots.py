"""The slot-filling figures in the history: recorded per run, upgraded in place, shown in trends.

Every test runs against both backends (a SQLite file and a real PostgreSQL database), as in
tests/test_history.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.history import export_history, get_run, import_history, list_runs, record_run
from evalkit.history.database import SLOT_COLUMNS
from evalkit.results.figures import SlotMetrics
from tests.test_history import history, make_run
from tests.test_history_teams import downgrade_to_schema_2

__all__ = ["history"]  # the fixture, imported to be used here

FIGURES = {
    "joint_goal_accuracy": 0.4,
    "average_goal_accuracy": 0.75,
    "slot_precision": 9 / 13,
    "slot_recall": 0.75,
    "slot_f1": 0.72,
}
"""The fixture run's figures by hand: 2 of its 5 judged turns jointly right; 9 correct, 2 wrong,
2 unexpected, 1 missing slot: P = 9/13, R = 9/12, F1 = 18/25 (docs/metrics.md)."""


def figures(metrics: SlotMetrics | None) -> dict[str, float | None]:
    return {column: getattr(metrics, name, None) for column, name in SLOT_COLUMNS.items()}


def test_a_run_is_recorded_with_its_slot_figures(tmp_path: Path, history: str) -> None:
    _, info, _ = make_run(tmp_path, "r1", day=1, failing=0, history=history)

    (row,) = list_runs(history)

    assert figures(info.summary.slot_filling) == pytest.approx(FIGURES)
    assert row.slot_filling == pytest.approx(FIGURES)
    assert get_run(history, "r1") == row


def test_a_run_with_no_judged_turn_has_no_slot_figures(tmp_path: Path, history: str) -> None:
    run_dir, info, results = make_run(tmp_path, "r1", day=1, record=False)
    bare = info.model_copy(
        update={"summary": info.summary.model_copy(update={"slot_filling": None})}
    )

    record_run(history, run_dir, bare, results, gates_met=True, branch=None, commit=None)

    (row,) = list_runs(history)
    assert row.slot_filling == dict.fromkeys(SLOT_COLUMNS)


def test_a_schema_2_history_is_read_then_upgraded_by_the_next_writer(
    tmp_path: Path, history: str
) -> None:
    make_run(tmp_path, "old", day=1, history=history)
    downgrade_to_schema_2(history)

    (old,) = list_runs(history)  # a reader takes the older schema as it is
    assert old.slot_filling == dict.fromkeys(SLOT_COLUMNS)
    make_run(tmp_path, "new", day=2, history=history)

    old, new = list_runs(history)
    assert old.slot_filling == dict.fromkeys(SLOT_COLUMNS)
    assert new.slot_filling == pytest.approx(FIGURES)


def test_the_slot_figures_survive_export_and_import(tmp_path: Path, history: str) -> None:
    make_run(tmp_path, "r1", day=1, history=history)
    out = io.StringIO()
    export_history(history, out)
    target = str(tmp_path / "copy.db")

    import_history(target, io.StringIO(out.getvalue()))

    (row,) = list_runs(target)
    assert row.slot_filling == pytest.approx(FIGURES)
    older = [json.loads(line) for line in out.getvalue().splitlines()]
    for column in SLOT_COLUMNS:  # an export of an evalkit before them still imports
        del older[1]["run"][column]
    import_history(target, io.StringIO("".join(json.dumps(line) + "\n" for line in older)))
    (row,) = list_runs(target)
    assert row.slot_filling == dict.fromkeys(SLOT_COLUMNS)


def test_evalkit_history_shows_the_slot_figures_per_run(tmp_path: Path, history: str) -> None:
    make_run(tmp_path, "r1", day=1, history=history)
    make_run(tmp_path, "r2", day=2, history=history)

    output = CliRunner().invoke(main, ["history", "--history", history]).output
    data = json.loads(
        CliRunner().invoke(main, ["history", "--history", history, "--format", "json"]).output
    )

    lines = output.splitlines()
    header = next(line for line in lines if line.startswith("slot filling"))
    assert header.split()[2:5] == ["#1", "#2", "Δ"]
    table = lines[lines.index(header) + 2 : lines.index(header) + 7]
    assert [line.split()[-3:] for line in table] == [
        ["40.0%", "40.0%", "±0.0"],
        ["75.0%", "75.0%", "±0.0"],
        ["69.2%", "69.2%", "±0.0"],
        ["75.0%", "75.0%", "±0.0"],
        ["72.0%", "72.0%", "±0.0"],
    ]
    assert [line.split("  ")[0] for line in table] == [
        "JGA", "AGA", "slot precision", "slot recall", "slot F1",
    ]  # fmt: skip
    assert data[0]["slot_filling"] == pytest.approx(FIGURES)
