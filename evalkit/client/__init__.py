"""The HTTP client of the Interactive Form Sessions API: the only package that imports httpx2.

`FormsClient` creates sessions and sends user messages, streamed or unary, and returns for every
exchange a `TurnTranscript`: each chunk with its arrival time, the framing seen, the time to the
first chunk, the total time, and the retries it took. Both kinds of endpoint go through the same
streaming read and the same sans-IO decoder (`evalkit.stream`).

Failures become `TargetError`s: a non-2xx answer is a `WixApiError` carrying the Wix error body's
code; a connection problem or timeout is a `TargetError` of kind `transport` or `timeout`; a body
that cannot be decoded is a `StreamError`. What arrived before a failure is attached as
`error.partial`. Redirects are never followed and TLS verification stays on. `Limits` bounds what
is read of every response.
"""

from __future__ import annotations

from evalkit.client.auth import Credentials, Secret
from evalkit.client.limits import Limits
from evalkit.client.retry import RetryPolicy, retry_after
from evalkit.client.session import ACCEPT, API_PATH, WIX_BASE_URL, FormsClient, Mode

__all__ = [
    "ACCEPT",
    "API_PATH",
    "WIX_BASE_URL",
    "Credentials",
    "FormsClient",
    "Limits",
    "Mode",
    "RetryPolicy",
    "Secret",
    "retry_after",
]
