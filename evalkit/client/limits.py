"""How much of a target's answer the client reads: nothing a target sends grows memory unbounded.

Each limit ends the exchange with an `error` of kind `protocol` that names it, keeps what arrived
within it (the chunks so far, or the first bytes of an error body), and is not restarted: a target
that sends 200 MB in one message, or chunks without end, does the same on a fresh session. The
wall-clock turn deadline (`RunSettings.turn_timeout`) bounds the time, the limits the memory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from evalkit.errors import UsageError
from evalkit.stream import MESSAGE_BYTES, LimitExceeded

__all__ = ["Limits", "response_too_long", "too_many_chunks"]


@dataclass(frozen=True)
class Limits:
    """The most the client reads of one response; the defaults are far above what the API sends.

    A turn of the real service is a few kilobytes: a handful of chunks, each text at most 10,000
    characters. Each default leaves two orders of magnitude of room, and together they keep one
    conversation's transcript within tens of megabytes whatever the target does.
    """

    response_bytes: int = 4 * 2**20
    """Bytes of one response body (after content decoding): 4 MiB. Past it: `protocol` error."""
    message_bytes: int = MESSAGE_BYTES
    """Bytes of one message (an SSE event's data, one NDJSON line, one array element, a unary
    body): 1 MiB. Checked while the message arrives, so a longer one is never held whole."""
    chunks_per_turn: int = 5_000
    """Chunks of one response: 5,000. The first 5,000 are kept; the next ends the exchange."""
    error_body_bytes: int = 4 * 2**10
    """Bytes read of a non-2xx body: 4 KiB, enough for a Wix error body; the rest is not read (the
    connection is closed), and the message says so."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"limit {field.name} must be a positive integer, got {value!r}")


def response_too_long(limit: int) -> LimitExceeded:
    """The error of a response body longer than `limit` bytes."""
    return LimitExceeded(
        f"a response of more than {limit:,} bytes (the limit of bytes per response, "
        "--max-response-bytes)"
    )


def too_many_chunks(limit: int) -> LimitExceeded:
    """The error of a response of more than `limit` chunks (the first `limit` are kept)."""
    return LimitExceeded(
        f"more than {limit:,} chunks in one response (the limit of chunks per turn, "
        f"--max-chunks): the first {limit:,} are kept"
    )
