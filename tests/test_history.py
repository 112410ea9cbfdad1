"""The run history: indexing, trends, `--baseline last`, concurrent writers, `evalkit history`.

Every test that is not about SQLite's file itself runs against both backends: a SQLite file and
a database on a real PostgreSQL server (`tests/pgserver.py`).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import RunFileError, UsageError
from evalkit.history import (
    HISTORY_FILE,
    HISTORY_SCHEMA_VERSION,
    field_trend,
    get_run,
    last_good_run,
    list_runs,
    record_run,
    run_outcomes,
    suite_key,
    suite_trend,
    target_key,
)
from evalkit.metrics import field_stats, summarize
from evalkit.results import ConversationResult, RunInfo, read_run, write_run_info
from tests import pgserver

FIXTURE = Path(__file__).parent / "data" / "run_fixture"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def history(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty history: `history.db` under tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / HISTORY_FILE)
    return pgserver.fresh_database()


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
    history: str | Path | None = None,
) -> tuple[Path, RunInfo, list[ConversationResult]]:
    """A copy of the fixture run as `root/run_id`, with `failing` of its decided results failing.

    It is recorded in `history` (default: `root/history.db`) unless `record` is False.
    """
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
            history or root / HISTORY_FILE,
            run_dir,
            info,
            results,
            gates_met=gates_met,
            branch=branch,
            commit=f"{day:02d}" * 20,
        )
    return run_dir, info, results


@pytest.fixture
def five_runs(tmp_path: Path, history: str) -> Path:
    """Five nightly runs: pass rates 75%, 50%, 100%, 75%, 25%; the fifth did not meet its gates.

    They are recorded in `history`; their directories are under the returned folder.
    """
    for day, failing in enumerate((1, 2, 0, 1, 3), start=1):
        make_run(
            tmp_path, f"night-{day}", day=day, failing=failing, gates_met=day != 5, history=history
        )
    return tmp_path


def test_a_recorded_run_lists_with_its_numbers_fields_and_outcomes(
    tmp_path: Path, history: str
) -> None:
    run_dir, info, results = make_run(tmp_path, "r1", day=1, history=history)
    (row,) = list_runs(history)
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
    assert run_outcomes(history, "r1") == {r.key: r.status for r in results}
    assert get_run(history, "r1") == row
    assert get_run(history, "nope") is None


def test_recording_a_run_again_replaces_it(tmp_path: Path, history: str) -> None:
    run_dir, info, results = make_run(tmp_path, "r1", day=1, gates_met=False, history=history)
    fewer = results[:2]
    info = info.model_copy(update={"summary": summarize(fewer)})
    record_run(history, run_dir, info, fewer, gates_met=True, branch="main", commit=None)
    (row,) = list_runs(history)
    assert row.gates_met
    assert row.total == 2
    assert len(run_outcomes(history, "r1")) == 2
    assert set(row.fields) == set(info.summary.fields)


def test_the_database_is_versioned_in_wal_mode(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", day=1)
    with sqlite3.connect(tmp_path / HISTORY_FILE) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == HISTORY_SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _set_version(history: str, version: int) -> None:
    if history.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(history, autocommit=True) as conn:
            conn.execute("UPDATE evalkit_schema SET version = %s", (version,))
    else:
        conn = sqlite3.connect(history)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()


def test_a_history_from_a_newer_evalkit_is_refused(tmp_path: Path, history: str) -> None:
    make_run(tmp_path, "r1", day=1, history=history)
    _set_version(history, HISTORY_SCHEMA_VERSION + 1)
    with pytest.raises(RunFileError, match="newer evalkit"):
        list_runs(history)
    with pytest.raises(RunFileError, match="newer evalkit"):
        make_run(tmp_path, "r2", day=2, history=history)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / HISTORY_FILE).write_text("not sqlite at all " * 100)
    with pytest.raises(RunFileError, match="not a usable run history"):
        list_runs(tmp_path / HISTORY_FILE)


def test_reading_a_missing_history_finds_nothing_and_creates_nothing(
    tmp_path: Path, history: str
) -> None:
    assert list_runs(history) == []
    assert last_good_run(history, suite_key="x", target_key="y") is None
    assert run_outcomes(history, "r1") == {}
    assert suite_trend(history, "contact-form") == []
    assert not (tmp_path / HISTORY_FILE).exists()
    if history.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(history) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
        assert tables == (0,)


def test_list_runs_gives_the_latest_runs_oldest_first(five_runs: Path, history: str) -> None:
    assert [r.run_id for r in list_runs(history)] == [f"night-{d}" for d in range(1, 6)]
    assert [r.run_id for r in list_runs(history, limit=2)] == ["night-4", "night-5"]
    rates = [r.pass_rate for r in list_runs(history)]
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
        pytest.param({"status": "unmet"}, ["v2"], id="status-unmet"),
        pytest.param({"status": "met"}, ["main", "feature", "wix"], id="status-met"),
        pytest.param({"status": "interrupted"}, [], id="status-interrupted"),
        pytest.param({"since": "2026-03-02"}, ["feature", "v2", "wix"], id="since"),
        pytest.param({"until": "2026-03-02"}, ["main", "feature"], id="until"),
        pytest.param({}, ["main", "feature", "v2", "wix"], id="no-filter-hides-shards"),
    ],
)
def test_list_runs_filters(
    tmp_path: Path, history: str, filters: dict[str, str], expected: list[str]
) -> None:
    make_run(tmp_path, "main", day=1, history=history)
    make_run(tmp_path, "feature", day=2, branch="feature", history=history)
    make_run(tmp_path, "v2", day=3, form_id="contact-v2", gates_met=False, history=history)
    make_run(tmp_path, "shard", day=4, shard="1/2", history=history)
    run_dir, info, results = make_run(tmp_path, "wix", day=5, record=False)
    wix = info.model_copy(
        update={
            "target": info.target.model_copy(
                update={"name": "wix", "base_url": "https://www.wixapis.example"}
            ),
            "suites": [s for s in info.suites if s.name == "contact-form"],
        }
    )
    record_run(history, run_dir, wix, results, gates_met=True, branch=None, commit=None)
    assert [r.run_id for r in list_runs(history, **filters)] == expected  # type: ignore[arg-type]


def test_a_malformed_day_is_a_usage_error(history: str) -> None:
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        list_runs(history, since="yesterday")


def test_field_trend_follows_one_field_across_runs(five_runs: Path, history: str) -> None:
    points = field_trend(history, "email")
    assert [p.run_id for p in points] == [f"night-{d}" for d in range(1, 6)]
    assert all(p.stats is not None and p.stats.checked == 3 for p in points)
    assert field_trend(history, "no-such-field")[0].stats is None


def test_a_suite_trend_counts_that_suite_only(tmp_path: Path, history: str) -> None:
    """A run of two suites: each suite's trend has its own pass rate and its own fields."""
    _, _, results = make_run(tmp_path, "both", day=1, failing=2, history=history)
    (booking,) = suite_trend(history, "booking")
    (contact,) = suite_trend(history, "contact-form")
    for point, name in ((booking, "booking"), (contact, "contact-form")):
        own = [r for r in results if r.suite == name]
        assert (point.passed, point.failed, point.errors) == tuple(
            sum(r.status == s for r in own) for s in ("pass", "fail", "error")
        )
        assert point.fields == field_stats(own)
    assert booking.run.run_id == contact.run.run_id == "both"
    assert set(booking.fields) != set(contact.fields)


def test_last_good_run_is_the_latest_that_met_its_gates(five_runs: Path, history: str) -> None:
    info, _ = read_run(five_runs / "night-5")
    found = last_good_run(
        history, suite_key=suite_key(info.suites), target_key=target_key(info.target)
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


def test_last_good_run_skips_runs_whose_directory_is_gone_and_can_exclude(
    tmp_path: Path, history: str
) -> None:
    _, info, _ = make_run(tmp_path, "old", day=1, history=history)
    make_run(tmp_path, "gone", day=2, history=history)
    make_run(tmp_path, "current", day=3, history=history)
    shutil.rmtree(tmp_path / "gone")
    keys = {"suite_key": suite_key(info.suites), "target_key": target_key(info.target)}
    assert last_good_run(history, **keys, exclude="current") == (tmp_path / "old").resolve()
    assert last_good_run(history, **keys, branch="release") is None


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
    db_path: str | Path, runs: list[tuple[Path, RunInfo, list[ConversationResult]]]
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


def test_concurrent_writers_all_land(tmp_path: Path, history: str) -> None:
    """Shards finishing together: every writer waits its turn, none fails with 'locked'."""
    runs = [make_run(tmp_path, f"shard-{i}", day=1 + i, record=False) for i in range(8)]
    assert _record_together(history, runs) == []
    assert len(list_runs(history)) == len(runs)
    assert sum(len(run_outcomes(history, f"shard-{i}")) for i in range(8)) == 40


def test_writers_racing_to_create_a_new_history_all_land(tmp_path: Path) -> None:
    """The first records of a history: switching a new database to WAL mode races."""
    runs = [make_run(tmp_path, f"shard-{i}", day=1 + i, record=False) for i in range(6)]
    for trial in range(40):  # it lost a record in about one trial in ten
        db_path = tmp_path / f"trial-{trial}" / HISTORY_FILE
        assert _record_together(db_path, runs) == []
        assert len(list_runs(db_path)) == len(runs)


def test_writers_racing_to_create_a_new_postgresql_history_all_land(tmp_path: Path) -> None:
    """The first writers of an empty database: one creates the tables, the others wait."""
    runs = [make_run(tmp_path, f"shard-{i}", day=1 + i, record=False) for i in range(6)]
    for _ in range(3):
        url = pgserver.fresh_database()
        assert _record_together(url, runs) == []
        assert len(list_runs(url)) == len(runs)


def invoke(*args: str):
    return CliRunner().invoke(main, ["history", *args], catch_exceptions=False)


def test_history_command_prints_the_trend_of_five_runs(five_runs: Path, history: str) -> None:
    result = invoke("--history", history)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "== booking, contact-form · emulator [booking=a1b2c3d4…, contact=a1b2c3d4…]"
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


def test_history_command_keeps_unrelated_suites_apart_and_narrow(
    tmp_path: Path, history: str
) -> None:
    """Runs of other suites or targets are their own trend: no +100 points between them."""
    first, second, other = (f"2026030{d}T020000Z-3f9a1{d}" for d in (1, 3, 2))
    make_run(tmp_path, first, day=1, failing=4, history=history)  # 0%: 4 of 4 fail
    run_dir, info, results = make_run(tmp_path, other, day=2, failing=0, record=False)
    wix = info.model_copy(
        update={
            "target": info.target.model_copy(
                update={
                    "name": "wix",
                    "base_url": "https://www.wixapis.com/forms/ai/v1/interactive-form-sessions",
                    "form_ids": {
                        "contact": "0f3c1a52-7d1e-4a8e-9b7c-2f6d5e4c3b2a",
                        "booking": "5e1d9c8b-3a2f-4e6d-8c7b-1a0f9e8d7c6b",
                    },
                }
            ),
        }
    )
    record_run(history, run_dir, wix, results, gates_met=True, branch="main", commit="ab" * 20)
    make_run(tmp_path, second, day=3, failing=1, history=history)  # 75%
    output = invoke("--history", history).output
    sections = output.split("== ")[1:]
    assert [section.splitlines()[0].split(" · ")[1][:3] for section in sections] == ["wix", "emu"]
    emulator = sections[1]
    assert first in emulator
    assert second in emulator
    assert other not in emulator
    assert "+75.0" in emulator  # the second run against the first, not against the wix run
    assert "-25.0" not in output
    widest = max(len(line) for line in output.splitlines() if not line.startswith("=="))
    assert widest <= 100, output


def test_history_command_filters_and_limits(five_runs: Path, history: str) -> None:
    make_run(five_runs, "feature-run", day=6, branch="feature", history=history)
    result = invoke("--history", history, "--branch", "feature")
    assert "feature-run" in result.output
    assert "night-1" not in result.output
    result = invoke("--history", history, "--limit", "2")
    assert "night-5" in result.output
    assert "night-3" not in result.output
    result = invoke("--history", history, "--status", "unmet", "--since", "2026-03-02")
    assert "night-5" in result.output
    assert "night-4" not in result.output


def test_history_command_json(five_runs: Path, history: str) -> None:
    result = invoke("--history", history, "--format", "json", "--suite", "contact-form")
    runs = json.loads(result.output)
    assert [run["run_id"] for run in runs] == [f"night-{d}" for d in range(1, 6)]
    assert runs[0]["fields"]["email"]["accuracy"] == pytest.approx(1 / 3)
    assert runs[0]["suites"][0] == {"name": "booking", "sha256": runs[0]["suites"][0]["sha256"]}
    assert runs[4]["gates_met"] is False


def test_history_command_reads_the_output_root_by_default(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", day=1)
    assert "r1" in invoke("--out", str(tmp_path)).output


def test_history_command_without_a_history_says_so(tmp_path: Path) -> None:
    result = invoke("--out", str(tmp_path))
    assert result.exit_code == 0
    assert "does not exist yet" in result.output
    assert invoke("--out", str(tmp_path), "--format", "json").output.strip() == "[]"
