"""The run history: indexing, trends, `--baseline last`, concurrent writers, `evalkit history`."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import RunFileError
from evalkit.history import (
    HISTORY_FILE,
    HISTORY_SCHEMA_VERSION,
    field_trend,
    last_good_run,
    list_runs,
    record_run,
    run_outcomes,
    suite_key,
    target_key,
)
from evalkit.metrics import summarize
from evalkit.results import ConversationResult, RunInfo, read_run, write_run_info

FIXTURE = Path(__file__).parent / "data" / "run_fixture"


def make_run(
    root: Path,
    run_id: str,
    *,
    day: int,
    failing: int = 1,
    gates_met: bool = True,
    branch: str | None = "main",
    form_id: str | None = None,
    sha: str | None = None,
    base_url: str | None = None,
    shard: str | None = None,
    interrupted: bool = False,
    record: bool = True,
) -> tuple[Path, RunInfo, list[ConversationResult]]:
    """A copy of the fixture run as `root/run_id`, with `failing` of its decided results failing."""
    info, results = read_run(FIXTURE)
    decided = [r for r in results if r.status in ("pass", "fail")]
    flipped = {r.key: ("fail" if i < failing else "pass") for i, r in enumerate(decided)}
    results = [r.model_copy(update={"status": flipped.get(r.key, r.status)}) for r in results]
    target = info.target
    if form_id is not None:
        target = target.model_copy(update={"form_ids": {**target.form_ids, "contact": form_id}})
    if base_url is not None:
        target = target.model_copy(update={"base_url": base_url})
    suites = info.suites
    if sha is not None:
        suites = [suites[0].model_copy(update={"sha256": sha}), *suites[1:]]
    started = f"2026-03-{day:02d}T02:00:00.000000Z"
    info = info.model_copy(
        update={
            "run_id": run_id,
            "started_at": started,
            "finished_at": started.replace("02:00:00", "02:00:09"),
            "target": target,
            "suites": suites,
            "shard": shard,
            "interrupted": interrupted,
            "summary": summarize(results),
        }
    )
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text(
        "".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8"
    )
    write_run_info(run_dir, info)
    if record:
        record_run(
            root / HISTORY_FILE,
            run_dir,
            info,
            results,
            gates_met=gates_met,
            branch=branch,
            commit=f"{day:02d}" * 20,
        )
    return run_dir, info, results


@pytest.fixture
def five_runs(tmp_path: Path) -> Path:
    """Five nightly runs: pass rates 75%, 50%, 100%, 75%, 25%; the fifth did not meet its gates."""
    for day, failing in enumerate((1, 2, 0, 1, 3), start=1):
        make_run(tmp_path, f"night-{day}", day=day, failing=failing, gates_met=day != 5)
    return tmp_path


def test_a_recorded_run_lists_with_its_numbers_fields_and_outcomes(tmp_path: Path) -> None:
    run_dir, info, results = make_run(tmp_path, "r1", day=1)
    db = tmp_path / HISTORY_FILE
    (row,) = list_runs(db)
    assert row.run_id == "r1"
    assert row.run_dir == run_dir.resolve()
    assert (row.total, row.passed, row.failed, row.errors) == (5, 3, 1, 1)
    assert row.pass_rate == pytest.approx(0.75)
    assert row.error_rate == pytest.approx(0.2)
    assert row.gates_met
    assert (row.branch, row.commit) == ("main", "01" * 20)
    assert row.suites == sorted((s.name, s.sha256) for s in info.suites)
    assert row.suite_key == suite_key(info.suites)
    assert row.target_key == target_key(info.target)
    assert row.fields["email"].model_dump() == info.summary.fields["email"].model_dump()
    assert run_outcomes(db, "r1") == {r.key: r.status for r in results}


def test_recording_a_run_again_replaces_it(tmp_path: Path) -> None:
    run_dir, info, results = make_run(tmp_path, "r1", day=1, gates_met=False)
    db = tmp_path / HISTORY_FILE
    fewer = results[:2]
    info = info.model_copy(update={"summary": summarize(fewer)})
    record_run(db, run_dir, info, fewer, gates_met=True, branch="main", commit=None)
    (row,) = list_runs(db)
    assert row.gates_met
    assert row.total == 2
    assert len(run_outcomes(db, "r1")) == 2
    assert set(row.fields) == set(info.summary.fields)


def test_the_database_is_versioned_in_wal_mode(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", day=1)
    with sqlite3.connect(tmp_path / HISTORY_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == HISTORY_SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_history_from_a_newer_evalkit_is_refused(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", day=1)
    conn = sqlite3.connect(tmp_path / HISTORY_FILE)
    conn.execute(f"PRAGMA user_version = {HISTORY_SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RunFileError, match="newer evalkit"):
        list_runs(tmp_path / HISTORY_FILE)
    with pytest.raises(RunFileError, match="newer evalkit"):
        make_run(tmp_path, "r2", day=2)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).write_text("not sqlite at all " * 100)
    with pytest.raises(RunFileError, match="not a usable run history"):
        list_runs(tmp_path / HISTORY_FILE)


def test_reading_a_missing_history_finds_nothing_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / HISTORY_FILE
    assert list_runs(db) == []
    assert last_good_run(db, suite_key="x", target_key="y") is None
    assert run_outcomes(db, "r1") == {}
    assert not db.exists()


def test_list_runs_gives_the_latest_runs_oldest_first(five_runs: Path) -> None:
    db = five_runs / HISTORY_FILE
    assert [r.run_id for r in list_runs(db)] == [f"night-{d}" for d in range(1, 6)]
    assert [r.run_id for r in list_runs(db, limit=2)] == ["night-4", "night-5"]
    rates = [r.pass_rate for r in list_runs(db)]
    assert rates == pytest.approx([0.75, 0.5, 1.0, 0.75, 0.25])


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"suite": "booking"}, ["main", "feature", "v2"], id="suite"),
        pytest.param({"suite": "contact-form"}, ["main", "feature", "v2", "wix"], id="suite-2"),
        pytest.param({"suite": "no-such-suite"}, [], id="unknown-suite"),
        pytest.param({"branch": "feature"}, ["feature"], id="branch"),
        pytest.param({"target": "emulator"}, ["main", "feature", "v2"], id="target-name"),
        pytest.param({"target": "https://www.wixapis.example/"}, ["wix"], id="target-url"),
        pytest.param({}, ["main", "feature", "v2", "wix"], id="no-filter-hides-shards"),
    ],
)
def test_list_runs_filters(tmp_path: Path, filters: dict[str, str], expected: list[str]) -> None:
    make_run(tmp_path, "main", day=1)
    make_run(tmp_path, "feature", day=2, branch="feature")
    make_run(tmp_path, "v2", day=3, form_id="contact-v2")
    make_run(tmp_path, "shard", day=4, shard="1/2")
    run_dir, info, results = make_run(tmp_path, "wix", day=5, record=False)
    wix = info.model_copy(
        update={
            "target": info.target.model_copy(
                update={"name": "wix", "base_url": "https://www.wixapis.example"}
            ),
            "suites": [s for s in info.suites if s.name == "contact-form"],
        }
    )
    record_run(
        tmp_path / HISTORY_FILE, run_dir, wix, results, gates_met=True, branch=None, commit=None
    )
    assert [r.run_id for r in list_runs(tmp_path / HISTORY_FILE, **filters)] == expected


def test_field_trend_follows_one_field_across_runs(five_runs: Path) -> None:
    points = field_trend(five_runs / HISTORY_FILE, "email")
    assert [p.run_id for p in points] == [f"night-{d}" for d in range(1, 6)]
    assert all(p.stats is not None and p.stats.checked == 3 for p in points)
    assert field_trend(five_runs / HISTORY_FILE, "no-such-field")[0].stats is None


def test_last_good_run_is_the_latest_that_met_its_gates(five_runs: Path) -> None:
    info, _ = read_run(five_runs / "night-5")
    found = last_good_run(
        five_runs / HISTORY_FILE,
        suite_key=suite_key(info.suites),
        target_key=target_key(info.target),
    )
    assert found == (five_runs / "night-4").resolve()


@pytest.mark.parametrize(
    ("newer", "picked"),
    [
        pytest.param({"gates_met": False}, "base", id="gates-unmet"),
        pytest.param({"form_id": "contact-v2"}, "base", id="another-form"),
        pytest.param({"sha": "0" * 64}, "base", id="another-suite-version"),
        pytest.param({"shard": "1/4"}, "base", id="a-shard"),
        pytest.param({"interrupted": True}, "base", id="interrupted"),
        pytest.param({"base_url": "http://127.0.0.1:50000"}, "newer", id="emulator-port-ignored"),
        pytest.param({"branch": "feature"}, "newer", id="any-branch"),
        pytest.param({}, "newer", id="same-configuration"),
    ],
)
def test_last_good_run_matches_suites_and_target(
    tmp_path: Path, newer: dict[str, object], picked: str
) -> None:
    _, info, _ = make_run(tmp_path, "base", day=1)
    make_run(tmp_path, "newer", day=2, **newer)  # type: ignore[arg-type]
    found = last_good_run(
        tmp_path / HISTORY_FILE,
        suite_key=suite_key(info.suites),
        target_key=target_key(info.target),
    )
    assert found == (tmp_path / picked).resolve()


def test_last_good_run_skips_runs_whose_directory_is_gone_and_can_exclude(tmp_path: Path) -> None:
    _, info, _ = make_run(tmp_path, "old", day=1)
    make_run(tmp_path, "gone", day=2)
    make_run(tmp_path, "current", day=3)
    shutil.rmtree(tmp_path / "gone")
    keys = {"suite_key": suite_key(info.suites), "target_key": target_key(info.target)}
    db = tmp_path / HISTORY_FILE
    assert last_good_run(db, **keys, exclude="current") == (tmp_path / "old").resolve()
    assert last_good_run(db, **keys, branch="release") is None


def test_a_restored_output_root_still_finds_its_runs(tmp_path: Path) -> None:
    """CI restores `reports/` elsewhere: run directories are stored relative to the database."""
    _, info, _ = make_run(tmp_path / "a" / "reports", "r1", day=1)
    shutil.copytree(tmp_path / "a" / "reports", tmp_path / "b" / "reports")
    shutil.rmtree(tmp_path / "a")
    found = last_good_run(
        tmp_path / "b" / "reports" / HISTORY_FILE,
        suite_key=suite_key(info.suites),
        target_key=target_key(info.target),
    )
    assert found == (tmp_path / "b" / "reports" / "r1").resolve()


def _record_together(
    db_path: Path, runs: list[tuple[Path, RunInfo, list[ConversationResult]]]
) -> list[BaseException]:
    """Record every run from its own thread, all starting at once; return what they raised."""
    barrier = threading.Barrier(len(runs))
    errors: list[BaseException] = []

    def write(run_dir: Path, info: RunInfo, results: list[ConversationResult]) -> None:
        barrier.wait()
        try:
            record_run(db_path, run_dir, info, results, gates_met=True, branch=None, commit=None)
        except BaseException as exc:  # collected and re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=run) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_writers_all_land(tmp_path: Path) -> None:
    """Shards finishing together: every writer waits its turn, none fails with 'locked'."""
    runs = [make_run(tmp_path, f"shard-{i}", day=1 + i, record=False) for i in range(8)]
    assert _record_together(tmp_path / HISTORY_FILE, runs) == []
    assert len(list_runs(tmp_path / HISTORY_FILE)) == len(runs)
    assert sum(len(run_outcomes(tmp_path / HISTORY_FILE, f"shard-{i}")) for i in range(8)) == 40


def test_writers_racing_to_create_a_new_history_all_land(tmp_path: Path) -> None:
    """The first records of a history: switching a new database to WAL mode races."""
    runs = [make_run(tmp_path, f"shard-{i}", day=1 + i, record=False) for i in range(6)]
    for trial in range(40):  # it lost a record in about one trial in ten
        db_path = tmp_path / f"trial-{trial}" / HISTORY_FILE
        assert _record_together(db_path, runs) == []
        assert len(list_runs(db_path)) == len(runs)


def invoke(*args: str):
    return CliRunner().invoke(main, ["history", *args], catch_exceptions=False)


def test_history_command_prints_the_trend_of_five_runs(five_runs: Path) -> None:
    result = invoke("--out", str(five_runs))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    runs = [line for line in lines if line[:2] in {f"#{n}" for n in range(1, 10)}]
    assert [line.split()[0] for line in runs] == ["#1", "#2", "#3", "#4", "#5"]
    assert [line.split()[3] for line in runs] == [f"night-{d}" for d in range(1, 6)]
    for line, rate, delta in zip(
        runs,
        ["75.0%", "50.0%", "100.0%", "75.0%", "25.0%"],
        ["", "-25.0", "+50.0", "-25.0", "-50.0"],
        strict=True,
    ):
        assert f" {rate} " in line
        assert delta in line
    assert runs[-1].rstrip().endswith("UNMET")
    header = next(line for line in lines if line.startswith("field accuracy"))
    assert header.split()[2:7] == ["#1", "#2", "#3", "#4", "#5"]
    first_name = next(line for line in lines if line.startswith("first_name"))
    assert first_name.split()[1:6] == ["100.0%"] * 5


def test_history_command_filters_and_limits(five_runs: Path) -> None:
    make_run(five_runs, "feature-run", day=6, branch="feature")
    result = invoke("--out", str(five_runs), "--branch", "feature")
    assert "feature-run" in result.output
    assert "night-1" not in result.output
    result = invoke("--out", str(five_runs), "--limit", "2")
    assert "night-5" in result.output
    assert "night-3" not in result.output


def test_history_command_json(five_runs: Path) -> None:
    result = invoke("--out", str(five_runs), "--format", "json", "--suite", "contact-form")
    runs = json.loads(result.output)
    assert [run["run_id"] for run in runs] == [f"night-{d}" for d in range(1, 6)]
    assert runs[0]["fields"]["email"]["accuracy"] == pytest.approx(1 / 3)
    assert runs[0]["suites"][0] == {"name": "booking", "sha256": runs[0]["suites"][0]["sha256"]}
    assert runs[4]["gates_met"] is False


def test_history_command_without_a_history_says_so(tmp_path: Path) -> None:
    result = invoke("--out", str(tmp_path))
    assert result.exit_code == 0
    assert "does not exist yet" in result.output
    assert invoke("--out", str(tmp_path), "--format", "json").output.strip() == "[]"
