"""The runner end to end: the example suite against the emulator, and scripted faulty targets.

The emulator runs on a real loopback port, in every framing; the faulty targets are scripted with
httpx2.MockTransport, and their failures must become `error` results.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from evalkit.client import Credentials, RetryPolicy
from evalkit.loader import index_suites, load_suites
from evalkit.results import read_run
from evalkit.runner import (
    RunSettings,
    Target,
    emulator_target,
    plan,
    planned_keys,
    run_async,
    run_sync,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "suites" / "contact.eval.yaml"


def verdicts(results) -> dict:
    """What must not depend on the framing: per conversation, the status and every field verdict."""
    return {
        r.conversation_id: (
            r.status,
            [(f.field, f.turn, f.outcome, json.dumps(f.actual, sort_keys=True)) for f in r.fields],
            r.final_state,
            r.submitted,
        )
        for r in results
    }


def test_every_framing_and_the_unary_endpoints_give_the_same_values_and_verdicts(
    tmp_path: Path,
) -> None:
    suites = load_suites([EXAMPLE])
    seen = {}
    framings = {}
    for mode in ("sse", "ndjson", "json-array", "unary"):
        with emulator_target(suites, mode=mode) as target:
            outcome = run_sync(suites, target, out_root=tmp_path / mode)
        seen[mode] = verdicts(outcome.results)
        framings[mode] = {t.framing for r in outcome.results for t in r.transcript}
        assert outcome.info.summary.total == len(suites[0].suite.conversations)
    assert framings == {
        "sse": {"sse"},
        "ndjson": {"ndjson"},
        "json-array": {"json-array"},
        "unary": {"json"},
    }
    assert seen["sse"] == seen["ndjson"] == seen["json-array"] == seen["unary"]
    assert all(status == "pass" for status, *_ in seen["sse"].values())


def test_run_directory_holds_every_result_and_the_metadata(tmp_path: Path) -> None:
    suites = load_suites([EXAMPLE])
    with emulator_target(suites) as target:
        outcome = run_sync(suites, target, out_root=tmp_path, run_id="run-1")
    info, results = read_run(tmp_path / "run-1")
    assert info == outcome.info
    assert [r.key for r in results] == sorted(r.key for r in outcome.results)
    assert info.suites[0].sha256 == suites[0].sha256
    assert info.suites[0].path == suites[0].path
    assert info.target.name == "emulator"
    assert info.target.framing == "sse"
    assert info.finished_at >= info.started_at
    first = results[0]
    assert first.source.startswith(f"{suites[0].path}:")
    assert first.transcript[0].endpoint == "create-streamed"
    assert first.transcript[0].first_chunk_s is not None
    assert all(t.complete for t in first.transcript)
    assert info.summary.latency["turn_p50"] > 0


SUITE = """
suite: faults
form: contact
conversations:
  - id: first
    turns: [{user: "hello", expect: {first_name: Jane}}]
  - id: second
    turns: [{user: "hello", expect: {first_name: Jane}}]
  - id: third
    turns: [{user: "hello", expect: {first_name: Jane}}]
"""

EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}


def sse(*messages: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(m).encode() + b"\n\n" for m in messages)


@pytest.mark.anyio
async def test_a_failing_target_makes_error_results_and_the_run_goes_on(tmp_path: Path) -> None:
    """Three conversations: one passes, one gets a 500, one a stream cut before END_OF_RESPONSE."""
    (tmp_path / "faults.eval.yaml").write_text(SUITE)
    suites = load_suites([tmp_path / "faults.eval.yaml"])
    sessions = iter(["s-first", "s-second", "s-third"])

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            session = {"id": next(sessions), "formId": "contact"}
            return httpx2.Response(
                200,
                content=sse({"responseChunk": EOR, "interactiveFormSession": session}),
                headers={"content-type": "text/event-stream"},
            )
        if "s-second" in request.url.path:
            return httpx2.Response(500, json={"message": "boom", "details": {}})
        value = {
            "chunkType": "TEXT_DATA",
            "textDataDetails": {"fieldTarget": "first_name", "value": "Jane"},
        }
        messages = [{"responseChunk": value}]
        if "s-first" in request.url.path:
            messages.append({"responseChunk": EOR})
        return httpx2.Response(
            200, content=sse(*messages), headers={"content-type": "text/event-stream"}
        )

    outcome = await run_async(
        suites,
        Target(name="custom", base_url="https://target.test"),
        out_root=tmp_path,
        settings=RunSettings(concurrency=1, restarts=0, retry=RetryPolicy(retries=0)),
        transport=httpx2.MockTransport(handler),
    )
    by_id = {r.conversation_id: r for r in outcome.results}
    assert by_id["first"].status == "pass"
    second, third = by_id["second"], by_id["third"]
    assert (second.status, second.error.kind, second.error.status, second.error.turn) == (
        "error",
        "http",
        500,
        1,
    )
    assert (third.status, third.error.kind, third.error.turn) == ("error", "truncated", 1)
    assert third.transcript[1].chunks[0].chunk["chunkType"] == "TEXT_DATA"  # nothing lost
    assert third.fields == []  # an error is not scored: it is neither a pass nor a fail
    summary = outcome.info.summary
    assert (summary.passed, summary.failed, summary.errors) == (1, 0, 2)
    assert summary.pass_rate == 1.0
    assert summary.error_rate == pytest.approx(2 / 3)
    assert len((outcome.run_dir / "results.jsonl").read_text().splitlines()) == 3


@pytest.mark.anyio
async def test_a_secret_echoed_by_the_target_never_reaches_the_run_directory(
    tmp_path: Path,
) -> None:
    canary = "IST.canary-7f3a9c1e-secret"
    (tmp_path / "faults.eval.yaml").write_text(SUITE)
    suites = load_suites([tmp_path / "faults.eval.yaml"])

    def handler(request: httpx2.Request) -> httpx2.Response:
        echoed = request.headers["authorization"]
        if request.url.path.endswith("create-streamed"):
            text = {"chunkType": "TEXT", "textDetails": {"text": f"your key is {echoed}"}}
            session = {"id": "s", "formId": "contact"}
            return httpx2.Response(
                200,
                content=sse(
                    {"responseChunk": text, "interactiveFormSession": session},
                    {"responseChunk": EOR},
                ),
                headers={"content-type": "text/event-stream"},
            )
        return httpx2.Response(401, json={"message": f"bad key {echoed}", "details": {}})

    credentials = Credentials.from_env({"WIX_API_KEY": canary, "WIX_SITE_ID": "site"})
    outcome = await run_async(
        suites,
        Target(name="wix", base_url="https://target.test", credentials=credentials),
        out_root=tmp_path / "out",
        transport=httpx2.MockTransport(handler),
    )
    assert {r.status for r in outcome.results} == {"error"}
    written = "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert canary not in written
    assert "[REDACTED]" in written


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        pytest.param("https://user:pw@target.test", "not in the base URL", id="user-info"),
        pytest.param("ftp://target.test", "http(s)", id="scheme"),
        pytest.param("target.test", "http(s)", id="no-scheme"),
    ],
)
def test_a_bad_base_url_is_refused_without_echoing_it(url: str, phrase: str) -> None:
    from evalkit.errors import UsageError

    with pytest.raises(UsageError, match="base URL") as info:
        Target(name="custom", base_url=url)
    assert phrase in str(info.value)
    assert "pw" not in str(info.value)


def test_concurrency_must_be_positive(tmp_path: Path) -> None:
    from evalkit.errors import UsageError

    with pytest.raises(UsageError, match="concurrency"):
        RunSettings(concurrency=0)


@pytest.mark.anyio
async def test_hostile_model_text_shows_as_text_in_the_reports(tmp_path: Path) -> None:
    """What a target says travels from the stream to the HTML report escaped, never as markup."""
    from evalkit.report import write_reports

    payloads = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>']
    (tmp_path / "faults.eval.yaml").write_text(SUITE)
    suites = load_suites([tmp_path / "faults.eval.yaml"])

    def handler(request: httpx2.Request) -> httpx2.Response:
        session = {"id": "s", "formId": "contact"}
        said = {"chunkType": "TEXT", "textDetails": {"text": f"Hello {payloads[0]}"}}
        value = {
            "chunkType": "TEXT_DATA",
            "textDataDetails": {"fieldTarget": "first_name", "value": payloads[1]},
        }
        return httpx2.Response(
            200,
            content=sse(
                {"responseChunk": said, "interactiveFormSession": session},
                {"responseChunk": value},
                {"responseChunk": EOR},
            ),
            headers={"content-type": "text/event-stream"},
        )

    outcome = await run_async(
        suites,
        Target(name="custom", base_url="https://target.test"),
        out_root=tmp_path,
        transport=httpx2.MockTransport(handler),
    )
    assert {r.status for r in outcome.results} == {"fail"}  # first_name is the payload, not Jane
    paths = write_reports(outcome.run_dir, outcome.info, outcome.results)
    html = paths["html"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html  # shown, as text
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "<script>" not in markdown
    assert "<img" not in markdown


def test_suite_files_run_as_loaded_suites_do_and_are_read_when_their_turn_comes(
    tmp_path: Path,
) -> None:
    loaded = load_suites([ROOT / "suites"])
    files = index_suites([ROOT / "suites"])
    assert [(f.name, f.sha256, f.form) for f in files] == [
        (s.name, s.sha256, s.form) for s in loaded
    ]
    assert [len(f.conversations) for f in files] == [len(s.suite.conversations) for s in loaded]
    assert list(planned_keys(files)) == [item.key for item in plan(loaded)]
    with emulator_target(loaded) as target:
        a = run_sync(loaded, target, out_root=tmp_path, run_id="loaded")
        b = run_sync(files, target, out_root=tmp_path, run_id="files")
    assert a.info.suites == b.info.suites
    assert verdicts(a.results) == verdicts(b.results)


def test_suites_edited_during_a_run_run_as_they_were_validated(tmp_path: Path) -> None:
    first, second, fragment = (
        tmp_path / "a.eval.yaml",
        tmp_path / "b.eval.yaml",
        tmp_path / "more.yaml",
    )
    first.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    second.write_text(SUITE + "  - include: more.yaml\n", encoding="utf-8")
    fragment.write_text('- id: included\n  turns: [{user: "hello"}]\n', encoding="utf-8")
    files = index_suites([first, second])
    # Edited (as by a `git pull`) after validation, before the run reaches them.
    second.write_text(SUITE.replace("id: third", "id: fourth"), encoding="utf-8")
    fragment.write_text("this is not a suite fragment any more", encoding="utf-8")

    with emulator_target(files, forms=[ROOT / "suites" / "forms"]) as target:
        outcome = run_sync(files, target, out_root=tmp_path / "runs", run_id="r")

    ran = {key[1] for key in outcome.results.result_keys() if key[0] == "faults"}
    assert ran == {"first", "second", "third", "included"}
    assert outcome.info.suites[1].sha256 == files[1].sha256


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["custom", "wix"])
async def test_every_request_but_those_to_wix_names_its_conversation_opaquely(
    tmp_path: Path, name: str
) -> None:
    """`X-Evalkit-Trace`: digest.session.exchange.attempt; a retry counts up, Wix gets none."""
    (tmp_path / "one.eval.yaml").write_text(SUITE)
    suites = load_suites([tmp_path / "one.eval.yaml"])
    traces: list[str | None] = []
    failed_once: set[str] = set()

    def handler(request: httpx2.Request) -> httpx2.Response:
        traces.append(request.headers.get("X-Evalkit-Trace"))
        if request.url.path.endswith("create-streamed") and "first" not in failed_once:
            failed_once.add("first")
            return httpx2.Response(503, json={"message": "", "details": {}})
        session = {"id": f"s{len(traces)}", "formId": "contact"}
        return httpx2.Response(
            200,
            content=sse({"responseChunk": EOR, "interactiveFormSession": session}),
            headers={"content-type": "text/event-stream"},
        )

    await run_async(
        suites,
        Target(name=name, base_url="https://target.test"),
        out_root=tmp_path,
        settings=RunSettings(concurrency=1, retry=RetryPolicy(initial=0.001, maximum=0.002)),
        transport=httpx2.MockTransport(handler),
    )
    if name == "wix":
        assert traces == [None] * 7
        return
    assert all(t is not None for t in traces)
    parts = [t.split(".") for t in traces if t is not None]
    assert [p[1:] for p in parts] == [
        ["1", "0", "1"],  # the first creation got a 503...
        ["1", "0", "2"],  # ...and its retry counts up
        ["1", "1", "1"],
        ["1", "0", "1"],  # the next conversation
        ["1", "1", "1"],
        ["1", "0", "1"],
        ["1", "1", "1"],
    ]
    digests = [p[0] for p in parts]
    assert all(len(d) == 16 and int(d, 16) >= 0 for d in digests)
    assert len(set(digests)) == 3  # one per conversation, and no suite or id in it
    assert not any("faults" in t or "first" in t for t in traces if t is not None)
