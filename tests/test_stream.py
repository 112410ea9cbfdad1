"""The sans-IO decoder: every framing, every byte boundary, and what counts as broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.errors import StreamError
from evalkit.protocol import ResponseChunk
from evalkit.stream import StreamDecoder, decode_body, normalize_message

STREAMS = Path(__file__).parent / "data" / "streams"

# (file, content type sent with it, framing the decoder must report)
RECORDED = [
    pytest.param("turn.sse", "text/event-stream; charset=utf-8", "sse", id="sse"),
    pytest.param("turn.sse", None, "sse", id="sse-sniffed"),
    pytest.param("turn.ndjson", "application/x-ndjson", "ndjson", id="ndjson"),
    pytest.param("turn.ndjson", "application/json", "ndjson", id="ndjson-sniffed"),
    pytest.param("turn.json-array", "application/json", "json-array", id="json-array"),
    pytest.param("turn.unary.json", "application/json", "json", id="unary"),
    pytest.param("turn.wrapped.ndjson", None, "ndjson", id="wrapped-in-result"),
]


def expected_messages() -> list[dict]:
    body = json.loads((STREAMS / "turn.unary.json").read_text(encoding="utf-8"))
    messages: list[dict] = [{"responseChunk": c} for c in body["responseChunks"]]
    messages[0]["interactiveFormSession"] = body["interactiveFormSession"]
    return messages


def decode_in_pieces(body: bytes, content_type: str | None, cuts: list[int]) -> tuple[str, list]:
    decoder = StreamDecoder(content_type)
    out: list = []
    previous = 0
    for cut in [*cuts, len(body)]:
        out += decoder.feed(body[previous:cut])
        previous = cut
    out += decoder.close()
    return decoder.framing, out


@pytest.mark.parametrize(("name", "content_type", "framing"), RECORDED)
def test_recorded_body_decodes_to_the_same_messages_at_every_split_point(
    name: str, content_type: str | None, framing: str
) -> None:
    body = (STREAMS / name).read_bytes()
    expected = expected_messages()
    for cut in range(len(body) + 1):
        seen, messages = decode_in_pieces(body, content_type, [cut])
        assert messages == expected, f"split at byte {cut}"
        assert seen == framing


@pytest.mark.parametrize(("name", "content_type", "framing"), RECORDED)
def test_recorded_body_decodes_when_fed_one_byte_at_a_time(
    name: str, content_type: str | None, framing: str
) -> None:
    body = (STREAMS / name).read_bytes()
    seen, messages = decode_in_pieces(body, content_type, list(range(1, len(body))))
    assert messages == expected_messages()
    assert seen == framing


@given(st.lists(st.integers(min_value=0, max_value=1600), max_size=6))
def test_any_set_of_split_points_gives_the_same_messages(cuts: list[int]) -> None:
    for name in ("turn.sse", "turn.json-array", "turn.unary.json"):
        body = (STREAMS / name).read_bytes()
        points = sorted({min(c, len(body)) for c in cuts})
        assert decode_in_pieces(body, None, points)[1] == expected_messages()


def test_unknown_chunk_type_and_fields_are_kept() -> None:
    _, messages = decode_body((STREAMS / "turn.ndjson").read_bytes())
    chunk = ResponseChunk.model_validate(messages[5]["responseChunk"])
    assert chunk.chunk_type == "HOLOGRAM"
    assert chunk.known_type is None
    assert chunk.model_extra == {"hologramDetails": {"beam": 1}}


def test_messages_arrive_as_soon_as_they_are_complete() -> None:
    decoder = StreamDecoder("text/event-stream")
    first = b'data: {"responseChunk": {"chunkType": "TEXT"}}\n\n'
    assert decoder.feed(first + b'data: {"responseChunk"') == [
        {"responseChunk": {"chunkType": "TEXT"}}
    ]
    assert decoder.feed(b': {"chunkType": "END_OF_RESPONSE"}}\n\n') == [
        {"responseChunk": {"chunkType": "END_OF_RESPONSE"}}
    ]


def test_multi_line_sse_data_is_joined() -> None:
    body = b'data: {"responseChunk":\ndata:  {"chunkType": "TEXT"}}\n\n'
    assert decode_body(body, "text/event-stream")[1] == [{"responseChunk": {"chunkType": "TEXT"}}]


def test_sse_last_event_without_blank_line_still_counts() -> None:
    assert decode_body(b'data: {"chunkType": "TEXT"}', "text/event-stream")[1] == [
        {"responseChunk": {"chunkType": "TEXT"}}
    ]


def test_bare_chunks_are_wrapped() -> None:
    body = b'{"chunkType": "TEXT"}\n{"chunkType": "END_OF_RESPONSE"}\n'
    framing, messages = decode_body(body)
    assert framing == "ndjson"
    assert [m["responseChunk"]["chunkType"] for m in messages] == ["TEXT", "END_OF_RESPONSE"]


def test_empty_body_has_no_messages() -> None:
    assert decode_body(b"") == ("unknown", [])
    assert decode_body(b"  \n", "application/json") == ("unknown", [])


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        pytest.param(
            b'{"responseChunk": {"chunkType": "TE', None, "truncated", id="cut-mid-object"
        ),
        pytest.param(b'[{"responseChunk": {}}, {"respo', None, "truncated", id="cut-mid-array"),
        pytest.param(b"data: {not json}\n\n", "text/event-stream", "protocol", id="sse-not-json"),
        pytest.param(b'{"a": 1}\nnull\n', "application/x-ndjson", "protocol", id="ndjson-scalar"),
        pytest.param(b"[1, 2]", "application/json", "protocol", id="array-of-scalars"),
        pytest.param(b"[{}] {}", None, "protocol", id="data-after-array"),
        pytest.param(b'{"error": {"message": "quota"}}', None, "protocol", id="error-in-stream"),
        pytest.param(b'data: "just a string"\n\n', None, "protocol", id="sse-scalar"),
    ],
)
def test_broken_bodies_raise_a_stream_error_of_the_right_kind(
    body: bytes, content_type: str | None, kind: str
) -> None:
    with pytest.raises(StreamError) as info:
        decode_body(body, content_type)
    assert info.value.kind == kind


def test_unary_body_without_chunks_still_yields_the_session() -> None:
    assert normalize_message({"interactiveFormSession": {"id": "s"}, "responseChunks": []}) == [
        {"interactiveFormSession": {"id": "s"}}
    ]


def test_sse_done_sentinel_and_comments_are_ignored() -> None:
    body = b": hello\n\ndata: [DONE]\n\ndata: {}\n\n"
    assert decode_body(body, "text/event-stream")[1] == [{}]
