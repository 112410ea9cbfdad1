"""Non-2xx responses turned into typed errors, from the Wix error body when there is one."""

from __future__ import annotations

import json

import httpx2

from evalkit.errors import WixApiError
from evalkit.protocol import WixErrorBody

__all__ = ["api_error"]


def api_error(status: int, content: bytes, headers: httpx2.Headers) -> WixApiError:
    """Build a typed error from a non-2xx response and its (possibly empty) Wix error body."""
    request_id = headers.get("x-wix-request-id", "")
    try:
        parsed = WixErrorBody.model_validate(json.loads(content)) if content else WixErrorBody()
    except ValueError:
        text = content[:200].decode("utf-8", "replace")
        return WixApiError(status, f"non-JSON error body: {text!r}", request_id=request_id)
    if 300 <= status < 400:
        location = headers.get("location", "")
        return WixApiError(status, f"redirect to {location!r} not followed", request_id=request_id)
    return WixApiError(
        status,
        parsed.message,
        code=parsed.code,
        description=parsed.description,
        request_id=request_id,
        details=parsed.details,
    )
