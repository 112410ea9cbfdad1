"""Whatever JSON a target sends, a run stores it, scores it, reads it back and renders it.

Arbitrary JSON values (any code point, lone surrogates included; NaN and the infinities; integers
of thousands of digits; deep nesting; long strings) go into every slot of a turn's chunks, framed
every way the decoder reads, encoded as ASCII JSON (surrogates escaped: valid JSON) or as raw
UTF-8 (surrogates then make invalid UTF-8), cut into arbitrary pieces. The turn runs through the
real client (`httpx2.MockTransport`), `run_conversation` (decoder, scoring, error handling), the
`results.jsonl` writer and `read_run`; a smaller sample also through both reports, JUnit and the
history. Nothing may raise, an error may only be a `protocol` one for a reason the body gives,
and what is read back is what was written: the value itself, or its visible replacement with a
warning.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.client import FormsClient, Limits, RetryPolicy
from evalkit.history import record_run
from evalkit.junit import write_junit
from evalkit.loader import load_suites
from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.results import ConversationResult, ResultsWriter, RunInfo, TargetInfo, read_run
from evalkit.results.files import write_run_info
from evalkit.runner import RunSettings, Target
from evalkit.runner.conversation import WorkItem, run_conversation
from evalkit.stream import MAX_DEPTH

SUITE = """
suite: prop
form: contact
defaults: {unexpected_fields: warn}
conversations:
  - id: c
    no_errors: true
    submitted: false
    turns:
      - user: "Jane Doe, thirty, jane@example.com"
        expect:
          f_equals: {equals: {a: 1}}
          f_text: Jane
          f_approx: {approx: 30, abs: 1}
          f_regex: {regex: "^J", ignore_case: true}
          f_one_of: {one_of: [a, 1, true]}
          f_contains: {contains: a}
          f_set: {set: [a, b]}
          f_subset: {subset: [a]}
          f_absent: {absent: true}
          f_present: {present: true}
          f_date: {date: "2026-11-25"}
          f_time: {time: "14:30"}
          f_email: {email: jane@example.com}
          f_phone: {phone: "+1 555 0100"}
          f_fuzzy: {fuzzy: Jonathan, threshold: 0.8}
          f_not: {not: {equals: 1}}
          f_all: {all_of: [{present: true}, {text: x}]}
          f_any: {any_of: [{equals: 1}, {regex: a}]}
          f_list: [a, b]
          f_number: 30
          f_bool: true
        reply: {contains: hello}
        asks: f_text
        offers: [a]
    final: {f_text: Jane, f_number: 30, f_list: [a]}
"""
FIELDS = [line.split(":")[0].strip() for line in SUITE.splitlines() if line.startswith(" " * 10)]
LIMITS = Limits(message_bytes=2**16, response_bytes=2**18)  # small: long strings pass them
EOR = {"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": True}}
SESSION = {"id": "s-1", "formId": "f"}
SSE = "text/event-stream"
GREETING = (
    b"data: " + json.dumps({"responseChunk": EOR, "interactiveFormSession": SESSION}).encode()
)
GREETING += b"\n\n"
SURROGATE = re.compile("[\ud800-\udfff]")
# Each example writes a run directory: in memory where the system has it (fsync costs ms on disk).
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

# Every code point, lone surrogates included (hypothesis leaves category Cs out by default).
CHARS = st.characters(exclude_categories=())
TEXT = st.text(CHARS, max_size=12)
LONG = st.builds(lambda c, n: c * n, CHARS, st.integers(0, 40_000))
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),  # json.dumps stops at 4,300 digits
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    LONG,
)


def nest(leaf: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"k": leaf}
    return leaf


VALUES = st.one_of(
    st.recursive(
        LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=8,
    ),
    st.builds(nest, LEAVES, st.integers(0, 130), st.booleans()),
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)


def lone_surrogate(text: str) -> bool:
    return SURROGATE.search(text) is not None


def stored_form(value: Any) -> Any:
    """What the decoder keeps of a value: see `evalkit.stream`."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        return str(value)
    if isinstance(value, list):
        return [stored_form(v) for v in value]
    if isinstance(value, dict):
        return {stored_form(k): stored_form(v) for k, v in value.items()}
    return value


def odd_numbers(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) > sys.float_info.max
    if isinstance(value, list):
        return any(odd_numbers(v) for v in value)
    if isinstance(value, dict):
        return any(odd_numbers(v) for v in value.values())
    return False


def chunks(value: Any, text: str, name: str, fields: list[str]) -> list[dict[str, Any]]:
    """A turn that puts `value`, `text` and `name` in every kind of slot a chunk has."""
    data = [
        {
            "chunkType": "TEXT_DATA",
            "textDataDetails": {"fieldTarget": f, "value": value, "text": text},
            "meaningfulInput": {"startOffset": value, "length": 3},
        }
        for f in [*fields, name]
    ]
    return [
        {"chunkType": "TEXT", "textDetails": {"text": text, "style": "NORMAL"}},
        *data,
        {
            "chunkType": "IMPORTANT_TEXT",
            "importantTextDetails": {"fieldTarget": name, "text": text},
        },
        {
            "chunkType": "SINGLE_SELECT_INPUT",
            "singleSelectInputDetails": {
                "fieldTarget": name,
                "options": [{"value": name, "label": value}, value],
            },
        },
        {"chunkType": "ERROR", "errorDetails": {"messageText": value}},
        {"chunkType": name, "oddDetails": value},
        EOR,
    ]


def encode(framing: str, turn: list[dict[str, Any]], ascii_only: bool) -> tuple[bytes, str, int]:
    """The body, its content type, and its longest message in bytes (as the decoder counts)."""

    def dump(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")

    messages = [dump({"responseChunk": chunk}) for chunk in turn]
    longest = max(len(m) for m in messages)
    if framing == "sse":
        body = b"".join(b"data: " + m + b"\n\n" for m in messages)
        return body, "text/event-stream", longest + len(b"data: \n")
    if framing == "ndjson":
        return b"\n".join(messages), "application/x-ndjson", longest
    if framing == "json-array":
        return b"[" + b",".join(messages) + b"]", "application/json", longest
    body = dump({"interactiveFormSession": SESSION, "responseChunks": turn})
    return body, "application/json", len(body)


class Pieces(httpx2.AsyncByteStream):
    def __init__(self, body: bytes, cuts: list[int]) -> None:
        self.body, self.cuts = body, sorted({min(c, len(body)) for c in cuts})

    async def __aiter__(self):
        previous = 0
        for cut in [*self.cuts, len(self.body)]:
            yield self.body[previous:cut]
            previous = cut


class Harness:
    """One event loop and one client for every example; each example sets the body to send."""

    def __init__(self, item: WorkItem) -> None:
        self.item = item
        self.response: tuple[bytes, str, list[int]] = (b"", "", [])
        self.loop = asyncio.Runner()
        self.client = FormsClient(
            "http://t.test",
            transport=httpx2.MockTransport(self.handler),
            retry=RetryPolicy(retries=0),
            limits=LIMITS,
        )
        self.target = Target(name="custom", base_url="http://t.test")
        self.settings = RunSettings(restarts=0, limits=LIMITS)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("create-streamed"):
            return httpx2.Response(200, content=GREETING, headers={"content-type": SSE})
        body, content_type, cuts = self.response
        return httpx2.Response(
            200, stream=Pieces(body, cuts), headers={"content-type": content_type}
        )

    def run(self, body: bytes, content_type: str, cuts: list[int]) -> ConversationResult:
        self.response = (body, content_type, cuts)
        results: list[ConversationResult] = []

        async def main() -> None:  # returns nothing: the loop would repr a returned result
            item, settings = self.item, self.settings
            results.append(await run_conversation(self.client, self.target, item, settings))

        self.loop.run(main())
        return results[0]

    def close(self) -> None:
        self.loop.run(self.client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    path = tmp_path_factory.mktemp("suite") / "prop.eval.yaml"
    path.write_text(SUITE)
    (loaded,) = load_suites([path])
    harness = Harness(WorkItem(loaded, 0))
    yield harness
    harness.close()


def write_and_read(
    run_dir: Path, result: ConversationResult
) -> tuple[RunInfo, list[ConversationResult]]:
    info = RunInfo(
        run_id=run_dir.name,
        evalkit_version="test",
        started_at="2026-11-25T10:00:00.000Z",
        target=TargetInfo(name="custom", base_url="http://t.test", framing="sse"),
    )
    with ResultsWriter(run_dir) as writer:
        writer.write(result)
    write_run_info(run_dir, info.model_copy(update={"summary": summarize([result])}))
    info, stored = read_run(run_dir)
    return info, list(stored)


TURNS = st.tuples(
    VALUES,
    TEXT | LONG,
    st.text(CHARS, min_size=1, max_size=10),
    st.sampled_from(["sse", "ndjson", "json-array", "unary"]),
    st.booleans(),
    st.lists(st.integers(0, 3000), max_size=4),
    st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True),
)


def check(
    harness: Harness, turn: tuple[Any, ...], run_dir: Path
) -> tuple[RunInfo, list[ConversationResult]]:
    value, text, name, framing, ascii_only, cuts, fields = turn
    turn_chunks = chunks(value, text, name, fields)
    body, content_type, longest = encode(framing, turn_chunks, ascii_only)
    result = harness.run(body, content_type, cuts)

    # Why the body may not be readable: each reason is a `protocol` error, never anything else.
    invalid_utf8 = not ascii_only and any(lone_surrogate(s) for s in [text, name, *strings(value)])
    slack = 6  # containers around a value at most: body, list, chunk, details, options, option
    too_deep = depth(value) + 3 > MAX_DEPTH
    maybe_too_deep = depth(value) + slack > MAX_DEPTH
    too_big = longest > LIMITS.message_bytes or len(body) > LIMITS.response_bytes  # exact
    if result.status == "error":
        assert result.error is not None
        assert result.error.kind == "protocol", result.error
        assert invalid_utf8 or maybe_too_deep or too_big, result.error.message
    else:
        assert not invalid_utf8
        assert not too_deep
        assert not too_big
        (turn_record,) = result.transcript[1:]
        stored = turn_record.chunks[1].chunk["textDataDetails"]["value"]
        assert stored == stored_form(value)
        assert turn_record.chunks[0].chunk["textDetails"]["text"] == stored_form(text)
        surrogates = any(lone_surrogate(s) for s in [text, name, *strings(value)])
        if surrogates:
            assert any("lone surrogate" in w for w in result.warnings), result.warnings
        if odd_numbers(value):
            assert any("kept as" in w for w in result.warnings), result.warnings
        if not surrogates and not odd_numbers(value):
            assert not turn_record.warnings
    info, stored_results = write_and_read(run_dir, result)
    assert [r.model_dump() for r in stored_results] == [result.model_dump()]
    return info, stored_results


@settings(
    max_examples=970,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(turn=TURNS)
def test_any_json_a_target_sends_is_stored_scored_and_read_back(
    harness: Harness, turn: tuple[Any, ...]
) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        check(harness, turn, Path(tmp) / "run")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(turn=TURNS)
def test_any_json_a_target_sends_renders_in_every_report(
    harness: Harness, turn: tuple[Any, ...]
) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        run_dir = Path(tmp) / "run"
        info, results = check(harness, turn, run_dir)
        render_html(info, results)
        render_markdown(info, results)
        ElementTree.parse(write_junit(run_dir, info, results))  # well-formed XML
        record_run(
            Path(tmp) / "history.db",
            run_dir,
            info,
            results,
            gates_met=True,
            branch=None,
            commit=None,
        )
