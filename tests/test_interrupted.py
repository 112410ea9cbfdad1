"""Runs that are interrupted or shared.

One writer per run directory, finishing is not cut short, and a killed run is reported (and
repaired) from the rows it has.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.results import LOCK_FILE, RunLock, read_run, write_atomically
from evalkit.runner import deferred_signals

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "suites" / "contact.eval.yaml"


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    assert invoke("run", str(EXAMPLE), "--out", str(out)).exit_code == 0
    (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
    return run_dir


def killed_copy(run_dir: Path, into: Path, rows: int) -> Path:
    """The run as a kill -9 leaves it: its first rows, and run.json as written at the start."""
    copy = into / run_dir.name
    copy.mkdir()
    lines = (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (copy / "results.jsonl").write_text("".join(lines[:rows]), encoding="utf-8")
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    info.update(finished_at="", summary={})
    (copy / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return copy


def test_report_of_a_killed_run_renders_its_rows_and_says_it_is_incomplete(
    finished_run: Path, tmp_path: Path
) -> None:
    run_dir = killed_copy(finished_run, tmp_path, 7)

    result = invoke("report", str(run_dir))

    assert result.exit_code == 0, result.output
    assert "7 conversations: 7 passed" in result.output
    assert "incomplete: interrupted after 7 conversation(s)" in result.output
    info, results = read_run(run_dir)  # repaired: the next reader sees the same counts
    assert (info.summary.total, info.interrupted, len(results)) == (7, True, 7)
    for name in ("report.html", "report.md"):
        text = (run_dir / name).read_text(encoding="utf-8")
        assert "incomplete run, all 7 evaluated conversations passed so far" in text, name


def test_a_repaired_killed_run_is_finished_by_resume(finished_run: Path, tmp_path: Path) -> None:
    run_dir = killed_copy(finished_run, tmp_path, 7)
    assert invoke("report", str(run_dir)).exit_code == 0

    resumed = invoke("run", "--resume", str(run_dir))

    assert resumed.exit_code == 0, resumed.output
    info, results = read_run(run_dir)
    assert (info.summary.total, info.interrupted) == (len(results), False)
    assert len(results) == len(read_run(finished_run)[1])


@pytest.fixture
def holder(finished_run: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the run directory until its standard input closes."""
    code = (
        "import sys; from pathlib import Path; from evalkit.results import RunLock\n"
        f"with RunLock(Path({str(finished_run)!r})):\n"
        "    print('held', flush=True); sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    yield process
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=30)
    process.stdout.close()


def test_a_run_directory_another_process_writes_is_refused_naming_it(
    finished_run: Path, holder: subprocess.Popen[str]
) -> None:
    before = (finished_run / "results.jsonl").read_bytes()

    resumed = invoke("run", "--resume", str(finished_run), "--retry-errors")
    reported = invoke("report", str(finished_run))

    for result in (resumed, reported):
        assert result.exit_code == 2
        assert f"being written by another evalkit (process {holder.pid})" in result.output
    assert (finished_run / "results.jsonl").read_bytes() == before


def test_the_lock_goes_with_its_holder(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == f"{os.getpid()}\n"
    with RunLock(tmp_path):  # released, and a file left by a killed holder is no lock
        pass


def test_two_writers_of_one_file_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    first_started, second_done = threading.Event(), threading.Event()

    def slow_parts() -> Iterator[str]:
        yield "first, "
        first_started.set()
        assert second_done.wait(10)
        yield "whole"

    writer = threading.Thread(target=write_atomically, args=(target, slow_parts()))
    writer.start()
    assert first_started.wait(10)
    write_atomically(target, ["second, whole"])  # meanwhile: it must not touch the first's file
    assert target.read_text() == "second, whole"
    second_done.set()
    writer.join(10)
    assert target.read_text() == "first, whole"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_signals_while_finishing_are_held_until_the_block_ends() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with deferred_signals() as held:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert held == [signal.SIGTERM, signal.SIGINT]
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_sigterm_while_the_run_finishes_leaves_every_artifact_and_exits_130(
    tmp_path: Path,
) -> None:
    # The step summary is the pipeline's last step; a FIFO holds it there until the test reads.
    fifo = tmp_path / "summary.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "runs"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(fifo)}
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", str(EXAMPLE), "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        while not (out / "history.db").exists():  # recorded: finishing is at its last step
            assert process.poll() is None, process.communicate()[0]
            threading.Event().wait(0.05)
        process.send_signal(signal.SIGTERM)
        with fifo.open(encoding="utf-8") as summary:  # let the pipeline go on
            written = summary.read()
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert written.startswith("# evalkit report")
    assert process.returncode == 130, output
    assert "interrupted while finishing: the artifacts above are complete" in output
    (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
    for name in ("results.jsonl", "run.json", "report.html", "report.md", "junit.xml"):
        assert (run_dir / name).is_file(), name
    assert not read_run(run_dir)[0].interrupted
