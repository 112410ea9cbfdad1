"""Runs that meet faults: restarts, deadlines, resume after a crash, a graceful stop."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from evalkit.client import RetryPolicy
from evalkit.emulator import EmulatorServer
from evalkit.loader import load_suites
from evalkit.results import RESULTS_FILE, read_run
from evalkit.runner import RunSettings, Target, run_async

ROOT = Path(__file__).resolve().parent.parent
FORMS = ROOT / "suites" / "forms"
EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
NAME = {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": "first_name", "value": "Jane"}}

ONE = """
suite: one
form: contact
conversations:
  - id: only
    turns: [{user: "I'm Jane", expect: {first_name: Jane}}]
"""


def sse(*messages: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(m).encode() + b"\n\n" for m in messages)


def stream(*messages: dict) -> httpx2.Response:
    return httpx2.Response(
        200, content=sse(*messages), headers={"content-type": "text/event-stream"}
    )


def suite_file(tmp_path: Path, text: str = ONE) -> list:
    path = tmp_path / "s.eval.yaml"
    path.write_text(text)
    return load_suites([path])


FAST = RetryPolicy(initial=0.001, maximum=0.004)


@pytest.mark.anyio
async def test_a_cut_stream_restarts_the_conversation_on_a_fresh_session(tmp_path: Path) -> None:
    sessions: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            sessions.append(f"s{len(sessions) + 1}")
            return stream({"responseChunk": EOR, "interactiveFormSession": {"id": sessions[-1]}})
        if "/s1/" in request.url.path:
            return stream({"responseChunk": NAME})  # cut: no END_OF_RESPONSE
        return stream({"responseChunk": NAME}, {"responseChunk": EOR})

    outcome = await run_async(
        suite_file(tmp_path),
        Target(name="custom", base_url="https://t.test"),
        out_root=tmp_path,
        settings=RunSettings(retry=FAST),
        transport=httpx2.MockTransport(handler),
    )
    (result,) = outcome.results
    assert result.status == "pass"
    assert result.session_id == "s2"
    (restart,) = result.restarts
    assert (restart.action, restart.turn, restart.attempt) == ("restart", 1, 1)
    assert restart.cause.startswith("truncated")


@pytest.mark.anyio
async def test_restarts_are_bounded_then_the_conversation_is_an_error(tmp_path: Path) -> None:
    creates = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal creates
        if request.url.path.endswith("create-streamed"):
            creates += 1
            return stream({"responseChunk": EOR, "interactiveFormSession": {"id": "s"}})
        return stream({"responseChunk": NAME})

    outcome = await run_async(
        suite_file(tmp_path),
        Target(name="custom", base_url="https://t.test"),
        out_root=tmp_path,
        settings=RunSettings(restarts=2, retry=FAST),
        transport=httpx2.MockTransport(handler),
    )
    (result,) = outcome.results
    assert creates == 3
    assert (result.status, result.error.kind) == ("error", "truncated")
    assert len(result.restarts) == 2
    assert result.transcript[-1].chunks[0].chunk == NAME  # the last partial turn is kept


@pytest.mark.anyio
async def test_a_stream_that_drips_forever_ends_at_the_turn_deadline(tmp_path: Path) -> None:
    class Drip(httpx2.AsyncByteStream):
        async def __aiter__(self):
            while True:
                yield sse({"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "."}}})
                await asyncio.sleep(0.05)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            return stream({"responseChunk": EOR, "interactiveFormSession": {"id": "s"}})
        return httpx2.Response(200, stream=Drip(), headers={"content-type": "text/event-stream"})

    started = time.perf_counter()
    outcome = await run_async(
        suite_file(tmp_path),
        Target(name="custom", base_url="https://t.test"),
        out_root=tmp_path,
        settings=RunSettings(turn_timeout=0.4, restarts=0, retry=FAST),
        transport=httpx2.MockTransport(handler),
    )
    elapsed = time.perf_counter() - started
    (result,) = outcome.results
    assert (result.status, result.error.kind, result.error.turn) == ("error", "timeout", 1)
    assert len(result.transcript[1].chunks) >= 3  # what dripped in is kept
    assert elapsed < 2.0


def run_cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def keys(run_dir: Path) -> list[tuple]:
    rows = (run_dir / RESULTS_FILE).read_text().splitlines()
    return [
        tuple(json.loads(r)[k] for k in ("suite", "conversation_id", "repeat"))
        for r in rows
        if r.endswith("}")
    ]


@pytest.fixture(scope="module")
def slow_emulator():
    """An emulator slow enough (20 ms per chunk) that a run can be interrupted mid-way."""
    with EmulatorServer(FORMS, chunk_delay=0.02) as server:
        yield server


def target_args(server: EmulatorServer) -> list[str]:
    return ["--base-url", server.base_url, "--form-id", f"contact={server.form_ids['contact']}"]


def summary_of(run_dir: Path) -> dict:
    info, results = read_run(run_dir)
    summary = info.summary.model_dump()
    summary.pop("latency")
    return {"summary": summary, "keys": sorted(r.key for r in results)}


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_result_with_every_conversation_once(
    tmp_path: Path, slow_emulator: EmulatorServer
) -> None:
    suite = str(ROOT / "suites" / "contact.eval.yaml")
    reference = run_cli(suite, "--out", str(tmp_path / "ref"), *target_args(slow_emulator))
    reference.communicate(timeout=120)
    (ref_dir,) = (tmp_path / "ref").iterdir()
    expected = summary_of(ref_dir)
    rng = random.Random(20261125)
    for trial in range(3):
        out = tmp_path / f"trial{trial}"
        process = run_cli(
            suite, "--out", str(out), "--concurrency", "2", *target_args(slow_emulator)
        )
        time.sleep(rng.uniform(0.4, 1.6))
        process.kill()
        process.communicate(timeout=30)
        (run_dir,) = out.iterdir()
        resumed = run_cli("--resume", str(run_dir), *target_args(slow_emulator))
        output, _ = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, output
        found = keys(run_dir)
        assert len(found) == len(set(found)), f"trial {trial}: a conversation has two rows"
        assert summary_of(run_dir) == expected, f"trial {trial}"
        assert json.loads((run_dir / "run.json").read_text())["resumed"] == 1


@pytest.mark.slow
def test_sigterm_stops_launching_writes_the_summary_and_exits_130(
    tmp_path: Path, slow_emulator: EmulatorServer
) -> None:
    suite = str(ROOT / "suites" / "contact.eval.yaml")
    process = run_cli(
        suite,
        "--out",
        str(tmp_path),
        "--concurrency",
        "1",
        "--grace",
        "5",
        *target_args(slow_emulator),
    )
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    (run_dir,) = tmp_path.iterdir()
    info, results = read_run(run_dir)
    assert info.interrupted
    assert 0 < len(results) < 20
    assert {r.status for r in results} <= {"pass"}  # in-flight work finished, none was cut
    assert f"--resume {run_dir}" in output
    assert (run_dir / "report.html").is_file()


@pytest.mark.anyio
async def test_resume_runs_only_what_has_no_row_and_retry_errors_reruns_errors(
    tmp_path: Path,
) -> None:
    two = (
        ONE
        + """  - id: second
    turns: [{user: "I'm Jane", expect: {first_name: Jane}}]
"""
    )
    suites = suite_file(tmp_path, two)
    sent: list[str] = []
    fail_second = True

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            body = json.loads(request.content)
            sent.append(body["formId"])
            session = f"s{len(sent)}"
            return stream({"responseChunk": EOR, "interactiveFormSession": {"id": session}})
        if fail_second and request.url.path.startswith("/forms/ai/v1/interactive-form-sessions/s2"):
            return httpx2.Response(400, json={"message": "nope"})
        return stream({"responseChunk": NAME}, {"responseChunk": EOR})

    target = Target(name="custom", base_url="https://t.test")
    settings = RunSettings(concurrency=1, retry=FAST)
    first = await run_async(
        suites,
        target,
        out_root=tmp_path,
        run_id="r",
        settings=settings,
        transport=httpx2.MockTransport(handler),
    )
    assert [r.status for r in first.results] == ["pass", "error"]
    again = await run_async(
        suites,
        target,
        out_root=tmp_path,
        run_id="r",
        resume=True,
        settings=settings,
        transport=httpx2.MockTransport(handler),
    )
    assert len(sent) == 2  # nothing without a row: nothing ran
    assert again.info.resumed == 1
    fail_second = False
    fixed = await run_async(
        suites,
        target,
        out_root=tmp_path,
        run_id="r",
        resume=True,
        retry_errors=True,
        settings=settings,
        transport=httpx2.MockTransport(handler),
    )
    assert len(sent) == 3  # only the error ran again
    assert [r.status for r in fixed.results] == ["pass", "pass"]
    assert len((tmp_path / "r" / RESULTS_FILE).read_text().splitlines()) == 2


@pytest.mark.anyio
async def test_resume_refuses_suites_that_changed(tmp_path: Path) -> None:
    from evalkit.errors import UsageError

    suites = suite_file(tmp_path)
    target = Target(name="custom", base_url="https://t.test")

    def handler(request: httpx2.Request) -> httpx2.Response:
        return stream({"responseChunk": EOR, "interactiveFormSession": {"id": "s"}})

    await run_async(
        suites, target, out_root=tmp_path, run_id="r", transport=httpx2.MockTransport(handler)
    )
    changed = suite_file(tmp_path, ONE.replace("Jane", "Janet"))
    with pytest.raises(UsageError, match="suites differ"):
        await run_async(changed, target, out_root=tmp_path, run_id="r", resume=True)


def test_a_torn_last_line_is_dropped_before_appending(tmp_path: Path) -> None:
    from evalkit.results import drop_torn_tail

    path = tmp_path / RESULTS_FILE
    path.write_text('{"a": 1}\n{"b": 2}\n{"suite": "x", "conv')
    assert drop_torn_tail(path) == len('{"suite": "x", "conv')
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n'
    assert drop_torn_tail(path) == 0
