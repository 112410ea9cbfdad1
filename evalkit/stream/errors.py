"""What the decoder refuses, and how it quotes what it saw."""

from __future__ import annotations

from typing import Any

from evalkit.errors import StreamError, WixApiError

__all__ = [
    "HEAD",
    "InStreamError",
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


class InStreamError(WixApiError, StreamError):
    """A Wix error body sent as a message of a 200 body: the service failed after it began.

    `{"message": ..., "details": {"applicationError": {code, description, data}}}` (or a
    `validationError`) where a message of the API was due. It is the service's own answer, with
    its code and description (kind `http`, as for the same body under an error status); the
    messages before it are kept.

    Args:
        body: The error body as it arrived.
        status: The response's status (a streamed body is decoded only under a 2xx status).
    """

    def __init__(self, body: dict[str, Any], status: int = 200) -> None:
        details = body.get("details")
        details = details if isinstance(details, dict) else {}
        app = details.get("applicationError")
        app = app if isinstance(app, dict) else {}
        message = body.get("message")
        text = message if isinstance(message, str) and message else str(app.get("description", ""))
        super().__init__(
            status,
            f"an error inside the stream: {text}" if text else "an error inside the stream",
            code=str(app.get("code", "")),
            description=str(app.get("description", "")),
            details=details,
        )

    @staticmethod
    def looks_like(obj: dict[str, Any]) -> bool:
        """Whether a decoded message is a Wix error body rather than a message of the API."""
        details = obj.get("details")
        return (
            isinstance(details, dict)
            and ("applicationError" in details or "validationError" in details)
            and not {"responseChunk", "responseChunks", "interactiveFormSession"} & set(obj)
        )


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
