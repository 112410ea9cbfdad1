"""Non-2xx responses turned into typed errors, from the Wix error body when there is one."""

from __future__ import annotations

import httpx2

from evalkit.errors import StreamError, WixApiError
from evalkit.protocol import WixErrorBody
from evalkit.stream import parse_json

__all__ = ["api_error", "compression", "read_at_most"]


def compression(response: httpx2.Response) -> str | None:
    """The body's `Content-Encoding` when it is compressed (evalkit asks for none), else None.

    A compressed piece is expanded whole before any byte count sees it, so one small piece could
    become gigabytes: evalkit sends `Accept-Encoding: identity` and never decompresses.
    """
    encoding = response.headers.get("content-encoding", "").strip().lower()
    return encoding if encoding not in ("", "identity") else None


async def read_at_most(response: httpx2.Response, limit: int) -> tuple[bytes, bool]:
    """Read at most `limit` bytes of a body; the rest is left unread (closing drops it).

    A body that breaks while it is read counts as what arrived before the break. A compressed
    body is read as it came, never expanded (see `compression`).

    Returns:
        The bytes read, and False when the body went on past `limit`.
    """
    data = bytearray()
    pieces = response.aiter_raw() if compression(response) else response.aiter_bytes()
    try:
        async for piece in pieces:
            data += piece
            if len(data) > limit:
                return bytes(data[:limit]), False
    except httpx2.HTTPError:
        pass
    return bytes(data), True


def api_error(
    status: int, content: bytes, headers: httpx2.Headers, *, complete: bool = True
) -> WixApiError:
    """Build a typed error from a non-2xx response and its (possibly empty) Wix error body.

    Args:
        status: The HTTP status.
        content: The body, or as much of it as was read.
        headers: The response headers.
        complete: False when `content` is only the start of the body (see `read_at_most`); the
            message then says the rest was not read.
    """
    request_id = headers.get("x-wix-request-id", "")
    if 300 <= status < 400:
        location = headers.get("location", "")
        return WixApiError(status, f"redirect to {location!r} not followed", request_id=request_id)
    text = content.decode("utf-8", "replace")
    if not complete:
        return WixApiError(
            status,
            f"an error body of more than {len(content):,} bytes, not read past them "
            f"(the limit of bytes read from an error body, --max-error-body-bytes): {text!r}…",
            request_id=request_id,
        )
    try:
        parsed = WixErrorBody.model_validate(parse_json(content)[0]) if content else WixErrorBody()
    except (StreamError, ValueError):
        return WixApiError(status, f"non-JSON error body: {text!r}", request_id=request_id)
    return WixApiError(
        status,
        parsed.message,
        code=parsed.code,
        description=parsed.description,
        request_id=request_id,
        details=parsed.details,
    )
