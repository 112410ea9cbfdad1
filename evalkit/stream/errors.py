"""What the decoder refuses, and how it quotes what it saw."""

from __future__ import annotations

from evalkit.errors import StreamError

__all__ = [
    "HEAD",
    "LimitExceeded",
    "NotAStream",
    "PermanentStreamError",
    "message_too_long",
    "preview",
]

HEAD = 64
"""Bytes of a body quoted when it is not what was expected."""


class PermanentStreamError(StreamError):
    """A body that a fresh session would not change: the runner does not restart for it.

    Other stream errors (a cut, a malformed message) may be a flaky target's and are worth a
    restart; a body of the wrong kind, or one past a limit, comes back the same.
    """


class NotAStream(PermanentStreamError):
    """The body is not a stream of the API's messages at all: HTML, gRPC, nothing."""


class LimitExceeded(PermanentStreamError):
    """The target sent more than a limit allows (bytes per message or response, chunks)."""


def message_too_long(limit: int) -> LimitExceeded:
    """The error of a message longer than `limit` bytes."""
    return LimitExceeded(
        f"a message of more than {limit:,} bytes (the limit of bytes per message, "
        "--max-message-bytes)"
    )


def preview(data: bytes | bytearray, size: int = HEAD) -> str:
    """Quote the first `size` bytes of `data` escaped (as a Python bytes literal), safe to show.

    Args:
        data: The bytes.
        size: How many to quote; an ellipsis says when there were more.
    """
    shown = repr(bytes(data[:size]))
    return shown + ("…" if len(data) > size else "")
