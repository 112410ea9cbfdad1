"""Targets that misbehave: a small hostile server on loopback, and what a run makes of each body.

The server is plain `http.server` in a thread. A conversation picks its hostile answer by the form
id it is run against (the target maps the suite's form key to a scenario name): session creation
is always well formed and names the scenario as the session id, and the user turn then gets the
scenario's body. Endless bodies end when the client goes away, or after a bounded amount.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evalkit.client import Limits, RetryPolicy
from evalkit.junit import write_junit
from evalkit.loader import load_suites
from evalkit.report import render_html, render_markdown
from evalkit.results import ConversationResult, read_run
from evalkit.runner import RunSettings, Target, run_async

pytestmark = pytest.mark.anyio

EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
NAME = {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": "first_name", "value": "Jane"}}
SUITE = """
suite: hostile
form: contact
conversations:
  - id: only
    turns: [{user: "I'm Jane", expect: {first_name: Jane}}]
"""
FAST = RetryPolicy(initial=0.01, maximum=0.02)
ENDLESS_CAP = 256 * 2**20  # an endless body still ends here, so a broken test cannot hang
SSE = "text/event-stream"


def event(message: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(message).encode() + b"\n\n"


def text_chunk(text: str) -> dict[str, Any]:
    return {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": text}}}


Writer = Callable[[bytes], None]
Scenario = tuple[int, str | None, Callable[[Writer], None]]


def endless(piece: bytes) -> Callable[[Writer], None]:
    def write(out: Writer) -> None:
        sent = 0
        while sent < ENDLESS_CAP:
            out(piece)
            sent += len(piece)

    return write


def body(data: bytes) -> Callable[[Writer], None]:
    return lambda out: out(data)


def huge_message(out: Writer) -> None:
    out(b'data: {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "')
    block = b"a" * 2**16
    for _ in range(200 * 2**20 // len(block)):
        out(block)
    out(b'"}}}\n\n' + event({"responseChunk": EOR}))


def drip(out: Writer) -> None:
    for _ in range(10_000):
        out(event(text_chunk("." * 1000)))
        time.sleep(0.001)


SCENARIOS: dict[str, Scenario] = {
    "surrogate": (
        200,
        SSE,
        body(
            b'data: {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "\\ud800"}}}'
            b"\n\n" + event({"responseChunk": NAME}) + event({"responseChunk": EOR})
        ),
    ),
    "error-endless": (500, "text/plain", endless(b"x" * 2**16)),
    "endless-text": (200, SSE, endless(event(text_chunk("hello")) * 100)),
    "endless-comments": (200, SSE, endless(b": keep-alive\n" * 1000)),
    "huge-message": (200, SSE, huge_message),
    "drip": (200, SSE, drip),
    "deep-ndjson": (
        200,
        "application/x-ndjson",
        body(json.dumps({"responseChunk": NAME}).encode() + b"\n" + b"[" * 100_000),
    ),
    "deep-sse": (
        200,
        SSE,
        body(event({"responseChunk": NAME}) + b"data: " + b"[" * 100_000 + b"]" * 100_000),
    ),
    "html": (
        200,
        "text/html; charset=utf-8",
        body(b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body></body></html>"),
    ),
    "html-as-sse": (200, SSE, body(b"<html><body>Bad gateway</body></html>")),
    "grpc": (200, "application/grpc", body(b"\x00\x00\x00\x00\x07\n\x05hello")),
    "empty": (200, SSE, body(b"")),
    "bad-utf8": (
        200,
        SSE,
        body(
            event({"responseChunk": NAME})
            + b'data: {"responseChunk": {"chunkType": "TEXT", "textDetails": {"text": "caf\xe9"}}}'
            + b"\n\n"
            + event({"responseChunk": EOR})
        ),
    ),
}


class Hostile(BaseHTTPRequestHandler):
    """Answers session creation well, and the user turn with the scenario's body."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path.endswith("/create-streamed"):
            scenario = request["formId"]
            self.server.creates.append(scenario)  # type: ignore[attr-defined]
            session = {"id": scenario, "formId": scenario}
            greeting = event({"responseChunk": EOR, "interactiveFormSession": session})
            self._answer(200, SSE, body(greeting))
            return
        scenario = self.path.split("/")[-2]
        self._answer(*SCENARIOS[scenario])

    def _answer(self, status: int, content_type: str | None, write: Callable[[Writer], None]):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped
            write(self.wfile.write)


@pytest.fixture(scope="module")
def hostile() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    server.creates = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def run_one(
    tmp_path: Path, server: ThreadingHTTPServer, scenario: str, **settings: Any
) -> ConversationResult:
    (tmp_path / "s.eval.yaml").write_text(SUITE)
    host, port = server.server_address[:2]
    target = Target(name="custom", base_url=f"http://{host}:{port}", form_ids={"contact": scenario})
    settings.setdefault("retry", FAST)
    outcome = await run_async(
        load_suites([tmp_path / "s.eval.yaml"]),
        target,
        out_root=tmp_path / "runs",
        settings=RunSettings(**settings),
    )
    info, results = read_run(outcome.run_dir)  # every row reads back
    (result,) = results
    # Whatever the target sent, the reports render and JUnit is written.
    render_html(info, results)
    render_markdown(info, results)
    write_junit(outcome.run_dir, info, results)
    return result


async def test_a_lone_surrogate_is_kept_escaped_with_a_warning(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    result = await run_one(tmp_path, hostile, "surrogate")
    assert result.status == "pass"
    turn = result.transcript[1]
    assert turn.chunks[0].chunk["textDetails"]["text"] == "\\ud800"
    assert any("surrogate" in w for w in turn.warnings)
    assert any(w.startswith("turn 1: ") and "surrogate" in w for w in result.warnings)


async def test_an_endless_error_body_is_read_only_in_part(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    result = await run_one(tmp_path, hostile, "error-endless")
    assert result.error is not None
    assert (result.status, result.error.kind, result.error.status) == ("error", "http", 500)
    assert "xxxx" in result.error.message
    assert "not read" in result.error.message
    assert len(result.error.message) < 6000
    assert len(result.transcript[1].retries) == 3


async def test_an_endless_stream_of_valid_chunks_stops_at_the_chunk_limit(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    limits = Limits(chunks_per_turn=500)
    result = await run_one(tmp_path, hostile, "endless-text", limits=limits)
    assert result.error is not None
    assert (result.status, result.error.kind, result.error.turn) == ("error", "protocol", 1)
    assert "500 chunks" in result.error.message
    assert len(result.transcript[1].chunks) == 500  # what arrived within the limit is kept
    assert result.restarts == []  # a restart would only meet the same runaway stream


async def test_a_body_of_nothing_but_comments_stops_at_the_response_limit(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    limits = Limits(response_bytes=2**20)
    result = await run_one(tmp_path, hostile, "endless-comments", limits=limits)
    assert result.error is not None
    assert (result.error.kind, result.error.turn) == ("protocol", 1)
    assert "1,048,576 bytes" in result.error.message
    assert result.restarts == []


async def test_one_huge_message_stops_at_the_message_limit(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    result = await run_one(tmp_path, hostile, "huge-message")
    assert result.error is not None
    assert (result.error.kind, result.error.turn) == ("protocol", 1)
    assert "a message of more than 1,048,576 bytes" in result.error.message
    assert result.restarts == []


async def test_the_turn_deadline_cancels_a_read_that_never_pauses(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    limits = Limits(chunks_per_turn=10**9, response_bytes=10**12)
    result = await run_one(tmp_path, hostile, "drip", limits=limits, turn_timeout=1.0, restarts=0)
    assert result.error is not None
    assert (result.error.kind, result.error.turn) == ("timeout", 1)
    assert result.transcript[1].chunks  # what arrived before the deadline is kept
    # "timeout", not "truncated": the deadline cut the read, or the drip (10 s) would have ended.


@pytest.mark.parametrize("scenario", ["deep-ndjson", "deep-sse"])
async def test_json_nested_too_deep_is_a_protocol_error_with_the_partial_turn(
    tmp_path: Path, hostile: ThreadingHTTPServer, scenario: str
) -> None:
    result = await run_one(tmp_path, hostile, scenario, restarts=0)
    assert result.error is not None
    assert (result.error.kind, result.error.turn) == ("protocol", 1)
    assert "nested deeper than 64" in result.error.message
    assert result.transcript[1].chunks[0].chunk == NAME


@pytest.mark.parametrize(
    ("scenario", "seen"),
    [
        ("html", ["HTTP 200", "text/html", "<!DOCTYPE html>"]),
        ("html-as-sse", ["HTTP 200", "text/event-stream", "<html><body>Bad gateway"]),
        ("grpc", ["HTTP 200", "application/grpc", "\\x00\\x00\\x00\\x00\\x07\\n\\x05hello"]),
        ("empty", ["HTTP 200", "text/event-stream", "empty"]),
    ],
)
async def test_a_body_that_is_not_a_stream_is_a_protocol_error_and_not_restarted(
    tmp_path: Path, hostile: ThreadingHTTPServer, scenario: str, seen: list[str]
) -> None:
    before = hostile.creates.count(scenario)  # type: ignore[attr-defined]
    result = await run_one(tmp_path, hostile, scenario)
    assert result.error is not None
    assert (result.status, result.error.kind, result.error.turn) == ("error", "protocol", 1)
    for text in seen:
        assert text in result.error.message
    assert result.restarts == []
    assert hostile.creates.count(scenario) - before == 1  # type: ignore[attr-defined]
    assert result.transcript[1].status_code == 200


async def test_invalid_utf8_in_an_sse_stream_is_a_protocol_error_with_the_partial_turn(
    tmp_path: Path, hostile: ThreadingHTTPServer
) -> None:
    result = await run_one(tmp_path, hostile, "bad-utf8", restarts=0)
    assert result.error is not None
    assert (result.status, result.error.kind, result.error.turn) == ("error", "protocol", 1)
    assert "invalid UTF-8" in result.error.message
    assert "caf\\xe9" in result.error.message
    assert result.transcript[1].chunks[0].chunk == NAME
