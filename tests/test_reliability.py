"""Runs that meet faults: restarts, deadlines, resume after a crash, a graceful stop."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx2
import pytest

from evalkit.client import RetryPolicy, Secret
from evalkit.emulator import EmulatorServer, Knobs, Latency
from evalkit.loader import load_suites
from evalkit.results import RESULTS_FILE, ConversationResult, read_run
from evalkit.runner import RunSettings, Target, run_async


def run_dirs(root: Path) -> list[Path]:
    """The run directories under an output root (beside them lies `history.db`)."""
    return sorted(p for p in root.iterdir() if (p / "run.json").is_file())


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


def wait_for(condition, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "timed out waiting for the run to start"
        time.sleep(0.02)


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
    with EmulatorServer(FORMS, Knobs(latency=Latency(chunk=0.02))) as server:
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
    (ref_dir,) = run_dirs(tmp_path / "ref")
    expected = summary_of(ref_dir)
    rng = random.Random(20261125)
    for trial in range(3):
        out = tmp_path / f"trial{trial}"
        process = run_cli(
            suite, "--out", str(out), "--concurrency", "2", *target_args(slow_emulator)
        )
        wait_for(lambda out=out: any(out.glob("*/run.json")), process)  # the run has begun
        time.sleep(rng.uniform(0.0, 1.2))
        process.kill()
        process.communicate(timeout=30)
        (run_dir,) = run_dirs(out)
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
    wait_for(lambda: any(p.stat().st_size for p in tmp_path.glob("*/results.jsonl")), process)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    (run_dir,) = run_dirs(tmp_path)
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


@pytest.mark.anyio
async def test_resume_refuses_a_broken_row_before_running_anything(tmp_path: Path) -> None:
    from evalkit.errors import RunFileError

    two = ONE + '  - id: other\n    turns: [{user: "I\'m Jane"}]\n'
    suites = suite_file(tmp_path, two)
    target = Target(name="custom", base_url="https://t.test")
    requests: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request.url.path)
        return stream({"responseChunk": EOR, "interactiveFormSession": {"id": "s"}})

    transport = httpx2.MockTransport(handler)
    await run_async(suites, target, out_root=tmp_path, run_id="r", transport=transport)
    path = tmp_path / "r" / RESULTS_FILE
    rows = path.read_text(encoding="utf-8").splitlines()
    rows[0] = (
        rows[0]
        .replace('"status":"pass"', '"status":"sideways"')
        .replace('"status":"fail"', '"status":"sideways"')
    )
    assert "sideways" in rows[0]
    assert len(rows) > 1
    path.write_text("\n".join(rows[:-1]) + "\n", encoding="utf-8")  # one left to run
    before, sent = path.read_bytes(), len(requests)

    with pytest.raises(RunFileError, match=rf"{RESULTS_FILE}:1: not a result row"):
        await run_async(
            suites, target, out_root=tmp_path, run_id="r", resume=True, transport=transport
        )
    assert path.read_bytes() == before
    assert len(requests) == sent


def test_a_torn_last_line_is_dropped_before_appending(tmp_path: Path) -> None:
    from evalkit.results import drop_torn_tail

    path = tmp_path / RESULTS_FILE
    path.write_text('{"a": 1}\n{"b": 2}\n{"suite": "x", "conv')
    assert drop_torn_tail(path) == len('{"suite": "x", "conv')
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n'
    assert drop_torn_tail(path) == 0


def matrix_suite(tmp_path: Path, count: int) -> list:
    lines = ["suite: fault-matrix", "form: contact", "conversations:"]
    for i in range(count):
        lines += [
            f"  - id: c{i:03d}",
            "    turns:",
            f'      - user: "Hi, I\'m Jane Doe, jane{i}@example.com"',
            f"        expect: {{first_name: Jane, email: jane{i}@example.com}}",
            '      - user: "Text message please"',
            "        expect: {contact_method: text_message}",
        ]
    return suite_file(tmp_path, "\n".join(lines) + "\n")


@pytest.mark.slow
@pytest.mark.anyio
async def test_fault_matrix_the_run_completes_recovers_and_records_every_retry(
    tmp_path: Path,
) -> None:
    """500 conversations, 10% of requests failing across every fault kind."""
    from evalkit.emulator import Faults
    from evalkit.emulator.faults import ALL_FAULTS, BEFORE_PROCESSING

    suites = matrix_suite(tmp_path, 500)
    faults = Faults(rate=0.10, kinds=ALL_FAULTS, seed=11, retry_after=0.02, stall_seconds=30)
    settings = RunSettings(
        concurrency=24,
        turn_timeout=1.0,
        restarts=3,
        retry=RetryPolicy(initial=0.01, maximum=0.05),
    )
    with EmulatorServer(FORMS, Knobs(faults=faults)) as server:
        target = Target(name="custom", base_url=server.base_url, form_ids=server.form_ids)
        outcome = await run_async(suites, target, out_root=tmp_path / "out", settings=settings)
        injected = dict(server.fault_counts)
    assert set(injected) == set(ALL_FAULTS), injected  # every kind happened
    rows = (outcome.run_dir / RESULTS_FILE).read_text().splitlines()
    assert len(rows) == 500
    assert len({r.key for r in outcome.results}) == 500
    decided = [r for r in outcome.results if r.status in ("pass", "fail")]
    assert len(decided) >= 495, [r.error for r in outcome.results if r.error][:5]
    assert all(r.status == "pass" for r in decided)  # faults never turn into wrong verdicts
    retries = [a for r in outcome.results for a in r.all_retries()]
    restarts = [a for r in outcome.results for a in r.restarts]
    before = sum(n for kind, n in injected.items() if kind in BEFORE_PROCESSING)
    after = sum(n for kind, n in injected.items() if kind not in BEFORE_PROCESSING)
    assert len(retries) == before  # every fault before a response was retried, and recorded
    errors_after_start = sum(1 for r in outcome.results if r.status == "error")
    assert len(restarts) + errors_after_start == after
    resets = {"RemoteProtocolError", "ReadError"}  # how a closed connection surfaces
    assert {a.cause for a in retries} <= {"HTTP 429", "HTTP 500", "HTTP 503", *resets}


@pytest.mark.anyio
async def test_oauth_tokens_and_credentials_never_reach_the_run_directory(tmp_path: Path) -> None:
    from evalkit.client import Credentials
    from evalkit.report import write_reports

    token, secret, site = "tok-9f8e7d6c5b4a", "app-secret-0a1b2c3d", "site-7e6d5c4b"

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/oauth2/token":
            return httpx2.Response(200, json={"access_token": token, "expires_in": 14400})
        echoed = f"{request.headers['authorization']} {request.content.decode()}"
        text = {"chunkType": "TEXT", "textDetails": {"text": echoed}}
        session = {"id": "s", "formId": "contact"}
        return stream(
            {"responseChunk": text, "interactiveFormSession": session}, {"responseChunk": EOR}
        )

    credentials = Credentials(
        app_id="app", app_secret=Secret(secret), instance_id="inst", site_id=site
    )
    outcome = await run_async(
        suite_file(tmp_path),
        Target(name="wix", base_url="https://t.test", credentials=credentials),
        out_root=tmp_path / "out",
        transport=httpx2.MockTransport(handler),
    )
    write_reports(outcome.run_dir, outcome.info, outcome.results)
    written = "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    for value in (token, secret, site):
        assert value not in written
    assert "[REDACTED]" in written


@pytest.mark.anyio
async def test_a_resumed_run_repeats_as_it_started(tmp_path: Path) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            return stream({"responseChunk": EOR, "interactiveFormSession": {"id": "s"}})
        return stream({"responseChunk": NAME}, {"responseChunk": EOR})

    suites = suite_file(tmp_path)
    target = Target(name="custom", base_url="https://t.test")
    transport = httpx2.MockTransport(handler)
    settings = RunSettings(concurrency=1, repeat=3)
    await run_async(
        suites, target, out_root=tmp_path, run_id="r", settings=settings, transport=transport
    )
    results = tmp_path / "r" / RESULTS_FILE
    rows = results.read_text().splitlines()
    results.write_text("\n".join(rows[:-1]) + "\n")  # the last repeat was lost in a crash
    resumed = await run_async(
        suites, target, out_root=tmp_path, run_id="r", resume=True, transport=transport
    )
    assert sorted(r.repeat for r in resumed.results) == [0, 1, 2]
    assert resumed.info.repeat == 3


@pytest.mark.anyio
async def test_a_failure_to_write_a_result_stops_the_run_loudly(tmp_path: Path) -> None:
    """An I/O failure after a conversation (a full disk; here a callback) is not swallowed."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            return stream({"responseChunk": EOR, "interactiveFormSession": {"id": "s"}})
        return stream({"responseChunk": NAME}, {"responseChunk": EOR})

    def explode(result) -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await run_async(
            suite_file(tmp_path),
            Target(name="custom", base_url="https://t.test"),
            out_root=tmp_path,
            transport=httpx2.MockTransport(handler),
            on_result=explode,
        )


def _fingerprint(results: Iterable[ConversationResult]) -> list[tuple[object, ...]]:
    """What a run's outcome is, timings left out: verdicts, values, sessions, retries, chunks.

    How a closed connection surfaces (which exception, where a broken stream is noticed) is the
    network's timing, not the emulator's decision, so retries and restarts are compared by when
    they happened and, for HTTP errors, by status.
    """

    def cause(text: str) -> str:
        return text if text.startswith("HTTP ") else "connection closed"

    return [
        (
            r.key,
            r.status,
            r.session_id,
            [(f.field, f.turn, f.outcome, json.dumps(f.actual)) for f in r.fields],
            [(a.turn, a.attempt, cause(a.cause), a.action) for a in r.all_retries()],
            [(a.turn, a.attempt) for a in r.restarts],
            [[c.chunk for c in turn.chunks] for turn in r.transcript],
        )
        for r in results
    ]


@pytest.mark.anyio
async def test_seeded_faults_and_noise_repeat_exactly_at_any_concurrency(tmp_path: Path) -> None:
    """Requests arrive in a different order each time; the trace header keys every decision."""
    from evalkit.emulator import Faults, Noise

    suites = load_suites([ROOT / "suites" / "contact.eval.yaml"])
    faults = Faults(
        rate=0.15, kinds=("429", "500", "503", "reset", "cut", "malformed"), seed=5, retry_after=0
    )
    noise = Noise(rate=0.1, seed=5)
    settings = RunSettings(concurrency=8, turn_timeout=5.0, restarts=4, retry=FAST, repeat=3)
    runs = []
    for number in range(2):
        with EmulatorServer(FORMS, Knobs(faults=faults, noise=noise)) as server:
            target = Target(name="custom", base_url=server.base_url, form_ids=server.form_ids)
            outcome = await run_async(
                suites, target, out_root=tmp_path / str(number), settings=settings
            )
            runs.append(_fingerprint(outcome.results))
    assert runs[0] == runs[1]
    results = list(outcome.results)
    assert any(r.all_retries() for r in results)
    assert any(r.restarts for r in results)
    assert any(r.status == "fail" for r in results)  # the noise changed some values
    repeats: dict[str, set[str]] = {}  # and repeats of one conversation got different noise
    for r in results:
        repeats.setdefault(r.conversation_id, set()).add(r.status)
    assert any(len(statuses) > 1 for statuses in repeats.values())


@pytest.mark.anyio
async def test_two_runs_of_one_suite_can_share_an_emulator(tmp_path: Path) -> None:
    """Both runs name the same conversations alike: their sessions must still be apart."""
    suites = load_suites([ROOT / "suites" / "contact.eval.yaml"])
    settings = RunSettings(concurrency=4)
    with EmulatorServer(FORMS) as server:
        target = Target(name="custom", base_url=server.base_url, form_ids=server.form_ids)
        first, second = await asyncio.gather(
            run_async(suites, target, out_root=tmp_path / "a", settings=settings),
            run_async(suites, target, out_root=tmp_path / "b", settings=settings),
        )
    for outcome in (first, second):
        assert outcome.info.summary.failed == outcome.info.summary.errors == 0
    ids = [r.session_id for outcome in (first, second) for r in outcome.results]
    assert len(set(ids)) == len(ids)
