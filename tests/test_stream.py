"""The sans-IO decoder: every framing, every byte boundary, and what counts as broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evalkit.errors import StreamError
from evalkit.protocol import ResponseChunk
from evalkit.stream import (
    LimitExceeded,
    NotAStream,
    StreamDecoder,
    decode_body,
    normalize_message,
    parse_json,
)

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


# ----------------------------------------------------------------------------- hostile bodies


def test_a_lone_surrogate_is_kept_escaped_with_a_warning() -> None:
    body = b'data: {"chunkType": "TEXT", "textDetails": {"text": "a\\ud800b", "\\udfff": 1}}\n\n'
    decoder = StreamDecoder("text/event-stream")
    (message,) = decoder.feed(body) + decoder.close()
    details = message["responseChunk"]["textDetails"]
    assert details == {"text": "a\\ud800b", "\\udfff": 1}
    json.dumps(message).encode("utf-8")  # storable
    assert len(decoder.warnings) == 2
    assert all("lone surrogate" in w for w in decoder.warnings)


def test_a_surrogate_pair_is_one_character_and_no_warning() -> None:
    decoder = StreamDecoder()
    (message,) = decoder.feed(b'{"chunkType": "TEXT", "text": "\\ud83d\\ude00"}\n')
    assert message["responseChunk"]["text"] == "\U0001f600"
    assert decoder.warnings == []


@pytest.mark.parametrize(
    ("token", "kept"),
    [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("1e999", "1e999"),
        ("-1.5e400", "-1.5e400"),
        ("9" * 400, "9" * 400),
        ("9" * 5000, "9" * 5000),
    ],
)
def test_numbers_json_cannot_hold_are_kept_as_text_with_a_warning(token: str, kept: str) -> None:
    decoder = StreamDecoder()
    body = b'{"chunkType": "TEXT_DATA", "textDataDetails": {"value": ' + token.encode() + b"}}"
    (message,) = decoder.feed(body) + decoder.close()
    assert message["responseChunk"]["textDataDetails"]["value"] == kept
    (warning,) = decoder.warnings
    assert "kept as" in warning
    assert len(warning) < 200


def test_numbers_a_double_holds_are_numbers() -> None:
    body = b'{"v": [1e308, -1e-400, ' + b"9" * 300 + b", 12345678901234567890]}"
    _, (message,) = decode_body(body)
    assert message["v"] == [1e308, -0.0, int("9" * 300), 12345678901234567890]


def test_a_repeated_oddity_gives_one_warning() -> None:
    body = b"".join(b'data: {"v": NaN}\n\n' for _ in range(100))
    decoder = StreamDecoder()
    assert len(decoder.feed(body)) == 100
    assert len(decoder.warnings) == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"[" * 100_000, "application/x-ndjson", id="ndjson"),
        pytest.param(b"[" + b"[" * 100_000, "application/json", id="array"),
        pytest.param(b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\n", None, id="sse"),
        pytest.param(b"data: " + b"[" * 65 + b"]" * 65 + b"\n\n", None, id="sse-65"),
        pytest.param(b"{" + b'"a":[' * 64 + b"]" * 64 + b"}", None, id="ndjson-65"),
    ],
)
def test_json_nested_too_deep_is_a_protocol_error(body: bytes, content_type: str | None) -> None:
    with pytest.raises(StreamError, match="nested deeper than 64") as info:
        decode_body(body, content_type)
    assert info.value.kind == "protocol"


def test_json_nested_64_deep_is_accepted() -> None:
    value: object = {}
    for _ in range(63):
        value = {"a": value}
    text = json.dumps(value).encode()
    assert decode_body(text)[1] == [value]
    assert decode_body(b"data: " + text + b"\n\n")[1] == [value]
    assert decode_body(b"[" + text + b"]")[1] == [value]


def test_messages_before_a_too_deep_one_are_delivered_first() -> None:
    decoder = StreamDecoder("application/x-ndjson")
    assert decoder.feed(b'{"chunkType": "TEXT"}\n' + b"[" * 1000) == [
        {"responseChunk": {"chunkType": "TEXT"}}
    ]
    with pytest.raises(StreamError, match="nested deeper"):
        decoder.close()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'data: {"text": "' + b"a" * 2000 + b'"}\n\n', None, id="sse-event"),
        pytest.param(b'data: {"text": "' + b"a" * 2000, None, id="sse-line-never-ends"),
        pytest.param(b'data: "a"\n' * 400 + b"\n", "text/event-stream", id="sse-many-lines"),
        pytest.param(b'{"text": "' + b"a" * 2000 + b'"}\n', None, id="ndjson-complete"),
        pytest.param(b'{"text": "' + b"a" * 2000, None, id="ndjson-open"),
        pytest.param(b'[{"text": "' + b"a" * 2000 + b'"}]', None, id="array"),
    ],
)
def test_a_message_past_the_limit_is_refused(body: bytes, content_type: str | None) -> None:
    with pytest.raises(LimitExceeded, match="a message of more than 1,000 bytes") as info:
        decode_body(body, content_type, max_message_bytes=1000)
    assert info.value.kind == "protocol"


def test_a_huge_message_is_refused_while_it_arrives() -> None:
    decoder = StreamDecoder("text/event-stream", max_message_bytes=1000)
    decoder.feed(b'data: {"text": "')
    refused_at = None
    for piece in range(100):
        try:
            decoder.feed(b"a" * 100)
        except LimitExceeded:
            refused_at = piece
            break
    assert refused_at is not None
    assert refused_at <= 10  # refused within a piece of the limit: never held whole


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param(
            "text/event-stream", b'data: {"a": 1}\n\ndata: {"b": "caf\xe9"}\n\n', id="sse"
        ),
        pytest.param("application/x-ndjson", b'{"a": 1}\n{"b": "caf\xe9"}\n', id="ndjson"),
        pytest.param("application/json", b'[{"a": 1}, {"b": "caf\xe9"}]', id="array"),
    ],
)
def test_invalid_utf8_is_a_protocol_error_after_the_messages_before_it(
    content_type: str, body: bytes
) -> None:
    decoder = StreamDecoder(content_type)
    assert decoder.feed(body) == [{"a": 1}]
    with pytest.raises(StreamError, match=r"invalid UTF-8 .*caf\\xe9") as info:
        decoder.close()
    assert info.value.kind == "protocol"


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        pytest.param(b"<!DOCTYPE html><html>", "text/html", "neither JSON nor", id="html"),
        pytest.param(b"<html>", "text/event-stream", "though the content type", id="html-sse"),
        pytest.param(b"\x00\x00\x00\x00\x07\n\x05hello", "application/grpc", "neither", id="grpc"),
        pytest.param(b"<html>", "application/x-ndjson", "NDJSON must", id="html-ndjson"),
        pytest.param(b"Internal error", None, "neither JSON nor", id="text"),
        pytest.param(b"  \n\tdatabase down", None, "neither JSON nor", id="almost-a-field"),
    ],
)
def test_a_body_that_is_not_a_stream_is_refused_at_once_quoting_it(
    body: bytes, content_type: str | None, why: str
) -> None:
    with pytest.raises(NotAStream, match=why) as info:
        StreamDecoder(content_type).feed(body)
    message = str(info.value)
    assert repr(body[:20])[:-1] in message
    assert (repr(content_type) if content_type else "content type none") in message
    assert info.value.kind == "protocol"


@pytest.mark.parametrize(
    "body",
    [b": hi\n\n", b"event: x\ndata: {}\n\n", b"id: 1\n\n", b"retry: 5\n\n", b"\r\ndata:{}\r\n\r\n"],
)
def test_every_way_an_sse_stream_may_begin_is_accepted(body: bytes) -> None:
    decoder = StreamDecoder()
    for byte in range(len(body)):
        decoder.feed(body[byte : byte + 1])
    decoder.close()
    assert decoder.framing == "sse"


def test_the_end_of_the_body_completes_the_last_event_or_raises() -> None:
    decoder = StreamDecoder("text/event-stream")
    assert decoder.feed(b'data: {"a": 1}\ndata: x') == []
    with pytest.raises(StreamError, match="malformed JSON"):
        decoder.close()  # the last event is both data lines: not JSON
    decoder = StreamDecoder("text/event-stream")
    assert decoder.feed(b'data: {"a": 1}\n\r') == []  # the CR may be half of a CRLF
    assert decoder.close() == [{"a": 1}]
    decoder.check()  # nothing went wrong


def test_blank_space_before_the_first_message_is_not_held() -> None:
    decoder = StreamDecoder()
    for _ in range(100):
        decoder.feed(b" " * 10_000)
    assert len(decoder._pending) == 0
    assert decoder.feed(b'{"a": 1}') == [{"a": 1}]


def test_parse_json_keeps_what_it_can_and_says_so() -> None:
    value, warnings = parse_json(b'{"m": "\\udc80", "n": NaN}')
    assert value == {"m": "\\udc80", "n": "NaN"}
    assert len(warnings) == 2
    with pytest.raises(StreamError, match="malformed JSON"):
        parse_json(b"{")
