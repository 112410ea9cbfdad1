"""A history shared by a team, against both backends where it applies.

PostgreSQL writers from many processes, two runners, export and import, migrations, retention,
where the location comes from, and credentials kept out of every artifact and log.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import RunFileError, UsageError
from evalkit.history import (
    HISTORY_FILE,
    HISTORY_SCHEMA_VERSION,
    export_history,
    history_location,
    import_history,
    list_runs,
    prune,
    redact_url,
    run_outcomes,
    suite_trend,
)
from evalkit.history.database import SLOT_COLUMNS, connect, reader
from evalkit.history.figures import FIGURE_COLUMNS
from tests import pgserver
from tests.test_history import BACKENDS, make_run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "suites" / "contact.eval.yaml"


@pytest.fixture(params=BACKENDS)
def history(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / HISTORY_FILE)
    return pgserver.fresh_database()


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


_WRITER = """
import sys
from pathlib import Path
from tests.test_history import make_run
from evalkit.history import record_run
root, url, name = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
runs = [make_run(root, f"{name}-{i}", day=1 + i, record=False) for i in range(3)]
print("ready", flush=True)
sys.stdin.readline()  # go: every process starts writing at once
for run_dir, info, results in runs:
    record_run(url, run_dir, info, results, gates_met=True, branch=None, commit=None)
"""


def test_six_processes_recording_into_one_postgresql_history_all_land(tmp_path: Path) -> None:
    url = pgserver.fresh_database()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path / f"job{n}"), url, f"job{n}"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    for proc in procs:  # go, all at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert pgserver.PASSWORD not in out + err
    runs = list_runs(url, limit=100)
    assert len(runs) == 18
    assert {r.run_id for r in runs} == {f"job{n}-{i}" for n in range(6) for i in range(3)}
    assert all(len(run_outcomes(url, r.run_id)) == 5 for r in runs)


def _files_text(*roots: Path) -> str:
    return "".join(
        path.read_text(encoding="utf-8", errors="replace")
        for root in roots
        for path in root.rglob("*")
        if path.is_file()
    )


def test_two_runners_share_one_postgresql_history_and_keep_its_password_secret(
    tmp_path: Path,
) -> None:
    """Runner A records (URL from the environment); runner B, elsewhere, compares with it."""
    url = pgserver.fresh_database()
    first, second = tmp_path / "runner-a" / "reports", tmp_path / "runner-b" / "reports"
    a = invoke("run", str(EXAMPLE), "--out", str(first), env={"EVALKIT_HISTORY_URL": url})
    assert a.exit_code == 0, a.output
    b = invoke("run", str(EXAMPLE), "--out", str(second), "--history", url, "--baseline", "last")
    assert b.exit_code == 0, b.output
    (run_a,) = [p for p in first.iterdir() if p.is_dir()]
    assert f"baseline: {run_a.resolve()}" in b.output
    assert "verdict: no conversation changed outcome" in b.output
    assert not (first / HISTORY_FILE).exists()
    assert not (second / HISTORY_FILE).exists()
    assert [r.run_dir.parent for r in list_runs(url)] == [first.resolve(), second.resolve()]
    listing = invoke("history", "--history", url)
    lines = listing.output.splitlines()
    assert [line.split()[-1] for line in lines if line[:2] in ("#1", "#2")] == ["met", "met"]
    # Nothing written or printed carries the password; a failing connection neither.
    wrong = url.replace(pgserver.PASSWORD, "not-" + pgserver.PASSWORD[::-1])
    refused = invoke("history", "--history", wrong)
    assert refused.exit_code == 2
    assert "password authentication failed" in refused.output
    assert "evalkit:***@" in refused.output
    for text in (a.output, b.output, listing.output, refused.output, _files_text(first, second)):
        assert pgserver.PASSWORD not in text
        assert pgserver.PASSWORD[::-1] not in text


def test_a_location_never_shows_its_password() -> None:
    place = history_location("postgresql://me:p%40ss@db.example:5432/h?password=other&ssl=1")
    assert str(place) == "postgresql://me:***@db.example:5432/h?password=***&ssl=1"
    assert "p%40ss" not in repr(place)
    assert place.scrub("failed for p@ss and other") == "failed for *** and ***"
    assert redact_url("postgres://u@h/d") == "postgres://u@h/d"


@pytest.mark.parametrize(
    ("given", "engine", "path"),
    [
        ("reports/h.db", "sqlite", "reports/h.db"),
        ("sqlite:///reports/h.db", "sqlite", "reports/h.db"),
        ("sqlite:////srv/h.db", "sqlite", "/srv/h.db"),
        ("postgresql://u@db/evalkit", "postgresql", None),
        ("postgres://u@db/evalkit", "postgresql", None),
    ],
)
def test_history_locations(given: str, engine: str, path: str | None) -> None:
    place = history_location(given)
    assert place.engine == engine
    assert place.path == (Path(path) if path else None)


@pytest.mark.parametrize("given", ["mysql://u@h/d", "postgresql:///nohost", "sqlite://h.db"])
def test_a_location_of_another_kind_is_a_usage_error(given: str) -> None:
    with pytest.raises(UsageError):
        history_location(given)


def test_the_location_comes_from_the_flag_the_environment_or_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.evalkit]\nhistory = "team/history.db"\n')
    (tmp_path / "sub").mkdir()
    make_run(tmp_path / "runs", "configured", day=1, history=tmp_path / "team" / HISTORY_FILE)
    make_run(tmp_path / "runs", "from-env", day=2, history=tmp_path / "env.db")
    make_run(tmp_path / "runs", "from-flag", day=3, history=tmp_path / "flag.db")
    monkeypatch.chdir(tmp_path / "sub")
    assert "configured" in invoke("history").output
    env = {"EVALKIT_HISTORY_URL": str(tmp_path / "env.db")}
    assert "from-env" in invoke("history", env=env).output
    assert "from-flag" in invoke("history", "--history", str(tmp_path / "flag.db"), env=env).output
    bad = invoke("history", "--history", "mysql://x@y/z")
    assert bad.exit_code == 2
    assert "unknown kind" in bad.output


def _history_output(location: str) -> tuple[str, str]:
    table = invoke("history", "--history", location, "--shards", "--limit", "50").output
    data = invoke("history", "--history", location, "--shards", "--format", "json").output
    return table, data


def test_a_history_exported_from_sqlite_and_imported_into_postgresql_reads_the_same(
    tmp_path: Path,
) -> None:
    sqlite_db = tmp_path / HISTORY_FILE
    for day, failing in enumerate((1, 2, 0, 1, 3), start=1):
        make_run(tmp_path, f"night-{day}", day=day, failing=failing, gates_met=day != 5)
    make_run(tmp_path, "shard", day=6, shard="1/2", branch="feature", form_id="v2")
    export = tmp_path / "history.jsonl"
    exported = invoke("history", "--history", str(sqlite_db), "export", str(export))
    assert exported.exit_code == 0
    url = pgserver.fresh_database()
    imported = invoke("history", "import", str(export), "--history", url)
    assert imported.exit_code == 0, imported.output
    assert "imported 6 run(s)" in imported.output
    assert pgserver.PASSWORD not in imported.output
    assert _history_output(url) == _history_output(str(sqlite_db))
    assert run_outcomes(url, "night-3") == run_outcomes(sqlite_db, "night-3")
    assert suite_trend(url, "booking") == suite_trend(sqlite_db, "booking")
    # And back: PostgreSQL to a new SQLite file, line for line the same export.
    again = tmp_path / "again.jsonl"
    invoke("history", "--history", url, "export", str(again))
    lines, again_lines = export.read_text().splitlines(), again.read_text().splitlines()
    assert lines[1:] == again_lines[1:]


def test_an_import_is_all_or_nothing(tmp_path: Path, history: str) -> None:
    make_run(tmp_path, "kept", day=1, history=history)
    good = tmp_path / "good.jsonl"
    with good.open("w", encoding="utf-8") as out:
        export_history(history, out)
    lines = good.read_text().splitlines()
    line = json.loads(lines[1])
    line["run"]["run_id"] = "new"
    broken = [lines[0], json.dumps(line), '{"run": {"run_id": "x", "evil; DROP": 1}}']
    source = tmp_path / "broken.jsonl"
    source.write_text("\n".join(broken) + "\n")
    with source.open(encoding="utf-8") as text, pytest.raises(RunFileError, match=":3: run"):
        import_history(history, text, name=str(source))
    assert [r.run_id for r in list_runs(history)] == ["kept"]
    (tmp_path / "not.jsonl").write_text('{"hello": 1}\n')
    with (tmp_path / "not.jsonl").open() as text, pytest.raises(RunFileError, match="header"):
        import_history(history, text)


def downgrade_to_schema_3(history: str) -> None:
    """What a history written by the evalkit of schema 3 looks like: no coverage, no personas."""
    added = FIGURE_COLUMNS[4]
    if history.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(history, autocommit=True) as conn:
            for column in added:
                conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
            conn.execute("UPDATE evalkit_schema SET version = 3")
    else:
        conn = sqlite3.connect(history)
        for column in added:
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 3")
        conn.commit()
        conn.close()


def downgrade_to_schema_2(history: str) -> None:
    """What a history written by the evalkit of schema 2 looks like: no slot-filling columns."""
    downgrade_to_schema_3(history)
    if history.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(history, autocommit=True) as conn:
            for column in SLOT_COLUMNS:
                conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
            conn.execute("UPDATE evalkit_schema SET version = 2")
    else:
        conn = sqlite3.connect(history)
        for column in SLOT_COLUMNS:
            conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
        conn.close()


def _downgrade_to_schema_1(history: str) -> None:
    """What a history written by the evalkit of schema 1 looks like."""
    downgrade_to_schema_2(history)
    if history.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(history, autocommit=True) as conn:
            conn.execute("DROP TABLE suite_fields")
            conn.execute("DROP INDEX outcomes_by_suite")
            conn.execute("UPDATE evalkit_schema SET version = 1")
    else:
        conn = sqlite3.connect(history)
        conn.execute("DROP TABLE suite_fields")
        conn.execute("DROP INDEX outcomes_by_suite")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
        conn.close()


def test_a_schema_1_history_is_read_then_upgraded_by_the_next_writer(
    tmp_path: Path, history: str
) -> None:
    make_run(tmp_path, "old", day=1, history=history)
    _downgrade_to_schema_1(history)
    (old,) = suite_trend(history, "booking")
    assert old.fields == {}  # a run of two suites recorded by schema 1: no per-suite counts
    assert old.passed + old.failed + old.errors == 3
    make_run(tmp_path, "new", day=2, history=history)
    with connect(history) as conn:
        assert conn.query("SELECT COUNT(*) AS n FROM suite_fields")[0]["n"] > 0
    old, new = suite_trend(history, "booking")
    assert old.fields == {}
    assert new.fields
    if not history.startswith("postgresql://"):
        with sqlite3.connect(history) as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == HISTORY_SCHEMA_VERSION


def test_prune_keeps_the_latest_runs_and_each_baseline(tmp_path: Path, history: str) -> None:
    for day, gates in enumerate((True, True, True, True, False), start=1):
        make_run(tmp_path, f"night-{day}", day=day, gates_met=gates, history=history)
    make_run(tmp_path, "other-form", day=1, form_id="v2", history=history)
    dry = prune(history, keep=1, dry_run=True)
    assert dry.removed == ["night-1", "night-2", "night-3"]
    assert len(list_runs(history)) == 6
    result = invoke("history", "prune", "--keep", "1", "--history", history)
    assert result.exit_code == 0
    assert "forgot 3 run(s)" in result.output
    # night-5 is the latest; night-4 the latest that met its gates (`--baseline last`).
    assert [r.run_id for r in list_runs(history)] == ["other-form", "night-4", "night-5"]
    assert run_outcomes(history, "night-1") == {}
    assert (tmp_path / "night-1").is_dir()  # the run directories are not touched
    assert prune(history, before="2026-03-05").removed == []  # what is left is protected
    with pytest.raises(UsageError):
        prune(history)


def test_a_postgresql_history_without_the_driver_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from evalkit.history import list_runs\n"
        "try:\n    list_runs('postgresql://u@127.0.0.1:1/x')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "UsageError" in done.stdout
    assert "evalkit[postgres]" in done.stdout


def test_importing_evalkit_and_its_history_does_not_load_the_driver() -> None:
    code = "import sys, evalkit, evalkit.history, evalkit.pipeline; print('psycopg' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_postgresql_reader_session_cannot_write(tmp_path: Path) -> None:
    url = pgserver.fresh_database()
    make_run(tmp_path, "r1", day=1, history=url)
    with reader(url) as conn:
        assert conn is not None
        with pytest.raises(Exception, match="read-only"):
            conn.execute("DELETE FROM runs")
    assert [r.run_id for r in list_runs(url)] == ["r1"]
