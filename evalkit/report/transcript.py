"""How a transcript reads: every chunk as a typed view, the user's message with marked slices.

The slices are those the service said it extracted from (`meaningfulInput`).

Both the server-rendered failures and the browser payload are built from these views, so the two
renderings of a transcript show the same things. Chunks are untrusted and may be malformed: a view
is made for anything, never an exception.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from evalkit.protocol import ChunkType, NumberInputDetails, ResponseChunk
from evalkit.report.format import NONE, compact_json, seconds
from evalkit.results import TurnTranscript

__all__ = [
    "ChunkKind",
    "ChunkView",
    "Segment",
    "TurnView",
    "chunk_view",
    "describe_attempts",
    "turn_views",
    "user_segments",
]

ChunkKind = Literal[
    "text", "data", "select", "number", "important", "error", "submission", "end", "other"
]
"""How a chunk is drawn: each kind has its own look in the transcript."""


@dataclass(frozen=True)
class ChunkView:
    """One chunk as a transcript shows it."""

    kind: ChunkKind
    """How to draw it."""
    label: str
    """The chunk type as received (`TEXT_DATA`, …), or `malformed chunk`."""
    text: str
    """The main text: assistant text, the value as JSON, a note, an error message, an id."""
    field: str = ""
    """The field the chunk concerns, when it names one."""
    options: tuple[str, ...] = ()
    """The options of a select prompt, as their labels (or values when unlabelled)."""
    note: str = ""
    """Secondary text: the display value of an extraction, a text style, a number range."""


@dataclass(frozen=True)
class Segment:
    """A run of the user's message, marked when the service extracted a field from it."""

    text: str
    """The characters."""
    fields: tuple[str, ...] = ()
    """The fields whose `meaningfulInput` covers them (empty: unmarked)."""


@dataclass(frozen=True)
class TurnView:
    """One request/response exchange of a transcript."""

    label: str
    """`Session` for session creation, `Turn n` for the n-th user turn."""
    turn: TurnTranscript
    """The exchange as recorded."""
    chunks: list[ChunkView]
    """Its chunks, in order of arrival."""
    user: list[Segment] = field(default_factory=list)
    """The user's message in segments (empty for session creation)."""
    retries: list[str] = field(default_factory=list)
    """Attempts that failed before this exchange got its answer, in words."""


def describe_attempts(attempts: object) -> list[str]:
    """Describe recorded retries or restarts, e.g. `attempt 1: HTTP 429; retry after 0.50 s`.

    Read defensively (duck-typed): runs written before attempts were recorded have none.
    """
    described = []
    for attempt in attempts if isinstance(attempts, list) else []:
        number = getattr(attempt, "attempt", "?")
        cause = getattr(attempt, "cause", "")
        action = getattr(attempt, "action", "retry")
        wait = getattr(attempt, "wait_s", 0.0) or 0.0
        after = f" after {seconds(wait)}" if wait else ""
        described.append(f"attempt {number}: {cause}; {action}{after}")
    return described


def _describe_number(number: NumberInputDetails) -> str:
    """Describe a number prompt's accepted range, e.g. `[18, 120]`, or an empty string."""
    limit = number.range_limit
    parts = []
    if limit is not None:
        low = NONE if limit.min_inclusive_value is None else f"{limit.min_inclusive_value:g}"
        if limit.max_exclusive_value is not None:
            high = f"{limit.max_exclusive_value:g})"
        elif limit.max_inclusive_value is not None:
            high = f"{limit.max_inclusive_value:g}]"
        else:
            high = f"{NONE}]"
        parts.append(f"[{low}, {high}")
    if number.multiple_of:
        parts.append(f"multiple of {number.multiple_of:g}")
    return ", ".join(parts)


def _typed_view(chunk: ResponseChunk) -> ChunkView | None:
    """The view of a chunk whose type is known and whose details are present."""
    kind = chunk.chunk_type
    if kind == ChunkType.TEXT and chunk.text_details:
        return ChunkView("text", kind, chunk.text_details.text, note=chunk.text_details.style)
    if kind == ChunkType.TEXT_DATA and chunk.text_data_details:
        data = chunk.text_data_details
        value = compact_json(data.value)
        display = data.display_value if data.display_value not in ("", value) else ""
        return ChunkView("data", kind, value, field=data.field_target, note=display)
    select = chunk.single_select_input_details or chunk.multi_select_input_details
    if select:
        options = tuple(option.label or option.value for option in select.options)
        custom = select.allowed_custom_value
        note = f"or a custom value: {custom.description}" if custom else ""
        return ChunkView("select", kind, "", field=select.field_target, options=options, note=note)
    if chunk.number_input_details:
        number = chunk.number_input_details
        return ChunkView(
            "number", kind, "", field=number.field_target, note=_describe_number(number)
        )
    if chunk.important_text_details:
        important = chunk.important_text_details
        return ChunkView("important", kind, important.text, field=important.field_target)
    if chunk.error_details:
        return ChunkView("error", kind, chunk.error_details.message_text)
    if chunk.submission_details:
        return ChunkView("submission", kind, chunk.submission_details.submission_id)
    if chunk.end_of_response_details:
        success = chunk.end_of_response_details.success
        return ChunkView("end", kind, "success" if success else "not successful")
    for details in (chunk.file_upload_details, chunk.signature_details):
        if details:
            return ChunkView("other", kind, "", field=details.field_target)
    return None


def _parse(raw: dict[str, Any]) -> ResponseChunk | None:
    """The chunk as the wire model, or None when it does not fit it."""
    try:
        return ResponseChunk.model_validate(raw)
    except ValidationError:
        return None


def _view(raw: dict[str, Any], chunk: ResponseChunk | None) -> ChunkView:
    if chunk is None:
        kind = raw.get("chunkType")
        return ChunkView("other", str(kind) if kind else "malformed chunk", compact_json(raw))
    view = _typed_view(chunk)
    if view is not None:
        return view
    details = {k: v for k, v in raw.items() if k != "chunkType"}
    return ChunkView("other", chunk.chunk_type, compact_json(details) if details else "")


def chunk_view(raw: dict[str, Any]) -> ChunkView:
    """Turn a chunk as received into what the transcript shows; never fails on odd input."""
    return _view(raw, _parse(raw))


def _meaningful_spans(chunks: list[ResponseChunk | None], size: int) -> list[tuple[int, int, str]]:
    """(start, end, field) of every chunk's `meaningfulInput`, clipped to the message."""
    spans = []
    for chunk in chunks:
        marked = chunk.meaningful_input if chunk is not None else None
        if chunk is None or marked is None or marked.length <= 0:
            continue
        start = min(max(marked.start_offset, 0), size)
        end = min(start + marked.length, size)
        name = chunk.text_data_details.field_target if chunk.text_data_details else ""
        if end > start:
            spans.append((start, end, name or chunk.chunk_type))
    return spans


def user_segments(message: str, chunks: list[dict[str, Any]]) -> list[Segment]:
    """Split the user's message into runs, marking those some chunk's `meaningfulInput` covers.

    Offsets count Python characters (code points); the spec does not say whether the service
    counts UTF-16 units, which differ only outside the Basic Multilingual Plane. Overlapping
    slices are merged into runs that name every field covering them.

    Args:
        message: The user's message.
        chunks: The chunks of the response to it, as received.

    Returns:
        The runs, in order; their texts join to the message.
    """
    return _segments(message, [_parse(c) for c in chunks])


def _segments(message: str, chunks: list[ResponseChunk | None]) -> list[Segment]:
    spans = _meaningful_spans(chunks, len(message))
    cuts = sorted({0, len(message)} | {s for s, _, _ in spans} | {e for _, e, _ in spans})
    segments: list[Segment] = []
    for start, end in itertools.pairwise(cuts):
        names = tuple(sorted({n for s, e, n in spans if s <= start and end <= e}))
        if segments and segments[-1].fields == names:
            segments[-1] = Segment(segments[-1].text + message[start:end], names)
        else:
            segments.append(Segment(message[start:end], names))
    return segments


def turn_views(transcript: list[TurnTranscript]) -> list[TurnView]:
    """The views of a conversation's exchanges, labelled `Session` and `Turn 1..n`."""
    views = []
    number = 0
    for turn in transcript:
        raw = [c.chunk for c in turn.chunks]
        parsed = [_parse(c) for c in raw]  # once per chunk: validation is most of the cost
        if turn.user is None and turn.endpoint.startswith("create"):
            label = "Session"
        else:
            number += 1
            label = f"Turn {number}"
        user = _segments(turn.user, parsed) if turn.user is not None else []
        retries = describe_attempts(getattr(turn, "retries", []))
        chunks = [_view(r, p) for r, p in zip(raw, parsed, strict=True)]
        views.append(TurnView(label, turn, chunks, user, retries))
    return views
