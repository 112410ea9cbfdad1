"""Observed coverage and persona figures in the history, as a team relies on them.

They are recorded per run, upgraded in place (schema 3 → 4), carried by export and import, and
shown by `evalkit history`. Every test that is not about one engine runs against both backends
(a SQLite file and a real PostgreSQL database), as in tests/test_history.py. The view's pages
are in tests/test_view.py.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evalkit.cli import main
from evalkit.errors import RunFileError
from evalkit.history import (
    HISTORY_FILE,
    HISTORY_SCHEMA_VERSION,
    export_history,
    get_run,
    import_history,
    list_runs,
    record_run,
)
from evalkit.history.database import connect
from evalkit.history.figures import (
    COVERAGE_COLUMNS,
    PERSONA_COLUMNS,
    SLOT_COLUMNS,
    WHOLE_COLUMNS,
)
from evalkit.results import RunInfo, read_run
from evalkit.results.coverage import Coverage, CoverageItem, CoverageKind, FormCoverage
from evalkit.results.figures import PersonaMetrics
from tests.test_history import history, make_run
from tests.test_history_teams import downgrade_to_schema_3

__all__ = ["history"]  # the fixture, imported to be used here

ROOT = Path(__file__).resolve().parent.parent
PERSONAS_SUITE = ROOT / "tests" / "data" / "run_fixture_personas" / "suite"
NO_COVERAGE = dict.fromkeys(COVERAGE_COLUMNS)
NO_PERSONAS = dict.fromkeys(PERSONA_COLUMNS)


def observed(covered: set[str]) -> Coverage:
    """A run's observed coverage of a five-item form (and a chunk type, which is not counted)."""
    items: list[tuple[CoverageKind, str]] = [
        ("field", "first_name"),
        ("field", "email"),
        ("option", "contact_method=email"),
        ("validation", "age:below-min"),
        ("submission", "submitted"),
        ("chunk_type", "TEXT_DATA"),
    ]
    form = FormCoverage(
        form="contact",
        items=[CoverageItem(kind=k, name=n, covered=n in covered) for k, n in items],
    )
    return Coverage(observed=True, forms=[form])


THREE_OF_FIVE = observed({"first_name", "email", "contact_method=email", "TEXT_DATA"})
"""Covered: 3 of the 5 counted items (the chunk type is shown beside, not counted): 60%."""
SIX_OF_EIGHT = PersonaMetrics(conversations=8, submitted=6, re_asks=2, with_re_ask=1)
"""6 of 8 persona conversations submitted (75%), 2 re-asks over 8 conversations (0.25)."""


def with_figures(
    info: RunInfo, coverage: Coverage | None, personas: PersonaMetrics | None
) -> RunInfo:
    summary = info.summary.model_copy(update={"coverage": coverage, "personas": personas})
    return info.model_copy(update={"summary": summary})


def record(
    root: Path,
    history: str,
    run_id: str,
    *,
    day: int,
    coverage: Coverage | None = THREE_OF_FIVE,
    personas: PersonaMetrics | None = SIX_OF_EIGHT,
) -> None:
    """The fixture run as `run_id`, recorded with these figures in its summary."""
    run_dir, info, results = make_run(root, run_id, day=day, failing=0, record=False)
    record_run(
        history,
        run_dir,
        with_figures(info, coverage, personas),
        results,
        gates_met=True,
        branch="main",
        commit=None,
    )


def test_a_run_is_recorded_with_its_coverage_and_persona_figures(
    tmp_path: Path, history: str
) -> None:
    record(tmp_path, history, "r1", day=1)

    (row,) = list_runs(history)

    assert row.coverage == {"coverage_rate": 0.6, "coverage_covered": 3, "coverage_total": 5}
    assert row.personas == pytest.approx(
        {"persona_completion_rate": 0.75, "persona_re_ask_rate": 0.25}
    )
    assert get_run(history, "r1") == row


def test_a_run_without_forms_or_personas_has_none_of_them(tmp_path: Path, history: str) -> None:
    make_run(tmp_path, "plain", day=1, history=history)  # its run.json records no form, no persona

    (row,) = list_runs(history)

    assert (row.coverage, row.personas) == (NO_COVERAGE, NO_PERSONAS)
    assert row.slot_filling["joint_goal_accuracy"] is not None  # the other figures still are


def test_evalkit_run_records_what_it_observed_of_its_form_and_personas(tmp_path: Path) -> None:
    """Three of the four people fill in the contact form; the fourth declines the email it needs."""
    suites = tmp_path / "suites"
    shutil.copytree(ROOT / "suites" / "forms", suites / "forms")
    shutil.copy(PERSONAS_SUITE / "personas-fixture.eval.yaml", suites)
    out = tmp_path / "reports"

    result = CliRunner().invoke(main, ["run", str(suites), "--out", str(out)])

    assert result.exit_code == 1, result.output  # the declining persona fails
    (row,) = list_runs(out / HISTORY_FILE)
    info, _ = read_run(row.run_dir)
    assert info.summary.coverage is not None
    assert info.summary.personas is not None
    overall = info.summary.coverage.overall
    assert row.coverage == {
        "coverage_rate": overall.rate,
        "coverage_covered": overall.covered,
        "coverage_total": overall.total,
    }
    assert 0 < overall.covered < overall.total
    assert row.personas == {
        "persona_completion_rate": 6 / 8,  # 2 repeats each: the decliner never submits
        "persona_re_ask_rate": info.summary.personas.re_ask_rate,
    }


def test_a_schema_3_history_is_read_exported_then_upgraded_by_the_next_writer(
    tmp_path: Path, history: str
) -> None:
    record(tmp_path, history, "old", day=1)
    downgrade_to_schema_3(history)

    (old,) = list_runs(history)  # a reader takes the older schema as it is
    assert (old.coverage, old.personas) == (NO_COVERAGE, NO_PERSONAS)
    assert old.slot_filling["slot_f1"] is not None  # schema 3 kept those
    export = io.StringIO()
    export_history(history, export)
    assert "coverage_rate" not in export.getvalue()
    copy = str(tmp_path / "copy.db")
    import_history(copy, io.StringIO(export.getvalue()))  # an export of schema 3 imports
    assert [(r.run_id, r.coverage) for r in list_runs(copy)] == [("old", NO_COVERAGE)]

    record(tmp_path, history, "new", day=2)

    old, new = list_runs(history)
    assert (old.coverage, old.personas) == (NO_COVERAGE, NO_PERSONAS)
    assert new.coverage["coverage_total"] == 5
    assert new.personas["persona_completion_rate"] == 0.75
    with connect(history, read_only=True) as conn:
        assert conn.query("SELECT COUNT(*) AS n FROM runs WHERE coverage_total IS NULL") == [
            {"n": 1}
        ]
    if not history.startswith("postgresql://"):
        with sqlite3.connect(history) as raw:
            assert raw.execute("PRAGMA user_version").fetchone()[0] == HISTORY_SCHEMA_VERSION == 4


def test_the_figures_survive_export_and_import(tmp_path: Path, history: str) -> None:
    record(tmp_path, history, "r1", day=1)
    record(tmp_path, history, "r2", day=2, coverage=None, personas=None)
    out = io.StringIO()
    export_history(history, out)
    target = str(tmp_path / "copy.db")

    import_history(target, io.StringIO(out.getvalue()))

    assert [(r.coverage, r.personas) for r in list_runs(target)] == [
        (r.coverage, r.personas) for r in list_runs(history)
    ]
    assert list_runs(target)[0].coverage["coverage_covered"] == 3
    older = [json.loads(line) for line in out.getvalue().splitlines()]
    for column in (*COVERAGE_COLUMNS, *PERSONA_COLUMNS, *SLOT_COLUMNS):  # an export before them
        del older[1]["run"][column]
    import_history(target, io.StringIO("".join(json.dumps(line) + "\n" for line in older)))
    r1, _ = list_runs(target)
    assert (r1.coverage, r1.personas) == (NO_COVERAGE, NO_PERSONAS)


def _export_with(tmp: Path, column: str, value: Any) -> str:
    """An export of one recorded run, with `column` of its row set to `value`."""
    source = str(tmp / "source.db")
    if not Path(source).exists():
        record(tmp, source, "r1", day=1)
    out = io.StringIO()
    export_history(source, out)
    header, line = out.getvalue().splitlines()
    data = json.loads(line)
    data["run"][column] = value
    return f"{header}\n{json.dumps(data)}\n"


FROM_0_TO_1 = "{} must be a number from 0 to 1 or null"


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("coverage_total", 2.5, "coverage_total must be a whole number ≥ 0 or null"),
        ("coverage_covered", -1, "coverage_covered must be a whole number ≥ 0 or null"),
        ("coverage_covered", True, "coverage_covered must be a whole number ≥ 0 or null"),
        ("coverage_total", 2**31, "coverage_total must be a whole number ≥ 0 or null"),
        ("coverage_rate", "60%", "coverage_rate must be a number from 0 to 1 or null"),
        ("coverage_rate", 1.5, "coverage_rate must be a number from 0 to 1 or null"),
        ("persona_completion_rate", [0.75], FROM_0_TO_1.format("persona_completion_rate")),
        ("persona_completion_rate", 5.0, FROM_0_TO_1.format("persona_completion_rate")),
        ("persona_re_ask_rate", False, "persona_re_ask_rate must be a number ≥ 0 or null"),
        ("persona_re_ask_rate", float("inf"), "persona_re_ask_rate must be a number ≥ 0 or null"),
        ("slot_f1", -0.5, "slot_f1 must be a number from 0 to 1 or null"),
        ("joint_goal_accuracy", 1.0001, FROM_0_TO_1.format("joint_goal_accuracy")),
    ],
)
def test_an_import_refuses_a_figure_of_the_wrong_kind(
    tmp_path: Path, column: str, value: Any, says: str
) -> None:
    text = _export_with(tmp_path, column, value)
    target = str(tmp_path / "target.db")
    record(tmp_path, target, "kept", day=3)

    with pytest.raises(RunFileError, match=f"<input>:2: {says}"):
        import_history(target, io.StringIO(text))

    assert [r.run_id for r in list_runs(target)] == ["kept"]  # all or nothing


def test_re_asks_per_conversation_are_not_a_fraction_and_import_above_one(tmp_path: Path) -> None:
    text = _export_with(tmp_path, "persona_re_ask_rate", 5.0)
    target = str(tmp_path / "target.db")

    import_history(target, io.StringIO(text))

    (row,) = list_runs(target)
    assert row.personas["persona_re_ask_rate"] == 5.0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
)


@settings(max_examples=40, deadline=None)
@example(column="coverage_total", value=2**63)  # past SQLite's INTEGER: refused, not a crash
@example(column="coverage_rate", value=1)
@given(
    column=st.sampled_from([*COVERAGE_COLUMNS, *PERSONA_COLUMNS]),
    value=JSON_VALUES,
)
def test_any_value_in_a_figure_column_imports_as_given_or_is_refused(
    column: str, value: Any
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        text = _export_with(tmp, column, value)
        target = str(tmp / "target.db")
        refused: RunFileError | None = None
        try:
            import_history(target, io.StringIO(text))
        except RunFileError as error:
            refused = error
        rows = list_runs(target)
    if refused is not None:
        assert f"<input>:2: {column} must be" in str(refused)
        assert value is not None
        assert rows == []
        return
    stored = {**rows[0].coverage, **rows[0].personas}[column]
    assert stored == value  # a count stays whole; a rate given as 1 reads 1.0
    assert value is None or isinstance(stored, int if column in WHOLE_COLUMNS else float)


def test_evalkit_history_shows_coverage_and_persona_figures_per_run(
    tmp_path: Path, history: str
) -> None:
    four_of_five = observed({"first_name", "email", "contact_method=email", "submitted"})
    all_eight = PersonaMetrics(conversations=8, submitted=8)
    record(tmp_path, history, "r1", day=1)
    record(tmp_path, history, "r2", day=2, coverage=four_of_five, personas=all_eight)
    record(tmp_path, history, "r3", day=3, coverage=None, personas=None)

    output = CliRunner().invoke(main, ["history", "--history", history]).output
    data = json.loads(
        CliRunner().invoke(main, ["history", "--history", history, "--format", "json"]).output
    )

    lines = output.splitlines()

    def table(title: str) -> list[list[str]]:
        header = next(line for line in lines if line.startswith(title + " "))
        assert header.split()[1:] == ["#1", "#2", "#3", "Δ", "pts"]
        start = lines.index(header) + 2
        return [re.split(r"\s{2,}", line.strip()) for line in lines[start : start + 2]]

    assert table("coverage") == [
        ["observed", "60.0%", "80.0%", "—", "+20.0"],
        ["items covered", "3/5", "4/5", "—"],
    ]
    assert table("personas") == [
        ["completion", "75.0%", "100.0%", "—", "+25.0"],
        ["re-asks per conv.", "0.25", "0.00", "—"],
    ]
    assert [run["coverage"] for run in data] == [
        {"coverage_rate": 0.6, "coverage_covered": 3, "coverage_total": 5},
        {"coverage_rate": 0.8, "coverage_covered": 4, "coverage_total": 5},
        NO_COVERAGE,
    ]
    assert [run["personas"] for run in data] == [
        {"persona_completion_rate": 0.75, "persona_re_ask_rate": 0.25},
        {"persona_completion_rate": 1.0, "persona_re_ask_rate": 0.0},
        NO_PERSONAS,
    ]


def test_evalkit_history_leaves_out_figures_no_run_recorded(tmp_path: Path, history: str) -> None:
    make_run(tmp_path, "plain", day=1, history=history)

    output = CliRunner().invoke(main, ["history", "--history", history]).output

    assert "slot filling" in output
    assert not [line for line in output.splitlines() if line.startswith(("coverage", "personas"))]
