"""Credentials: the API key or an app's OAuth client credentials, and the tokens they earn.

Secrets live in `Secret`, which prints as `***`; they are revealed only to build request headers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from evalkit.client.errors import api_error, read_at_most
from evalkit.errors import StreamError, TargetError, UsageError
from evalkit.stream import parse_json

__all__ = ["Credentials", "Secret", "Tokens"]

_TOKEN_BYTES = 16 * 2**10  # the most read of a token (or token error) response


class Secret:
    """A credential: prints as `***` everywhere; `reveal()` is called only to build headers."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the request header and nothing else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class Credentials:
    """How requests authenticate: an API key, or an app's OAuth client credentials.

    API key: `Authorization: <key>` plus `wix-site-id: <site id>`. OAuth: the client exchanges
    the app id, secret and instance id for an access token (`POST /oauth2/token`, valid 4 hours),
    refreshes it before it expires, and sends it as `Authorization: <token>`.
    """

    api_key: Secret | None = None
    """The API key."""
    site_id: str | None = None
    """The site the key acts on; sent as `wix-site-id`."""
    app_id: str | None = None
    """OAuth: the app's id (`client_id`)."""
    app_secret: Secret | None = None
    """OAuth: the app's secret (`client_secret`)."""
    instance_id: str | None = None
    """OAuth: the app instance (the site's installation of the app)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Credentials | None:
        """Read the API key or the OAuth app variables; None when neither is set.

        `WIX_API_KEY` (with `WIX_SITE_ID`) wins; otherwise `WIX_APP_ID`, `WIX_APP_SECRET` and
        `WIX_INSTANCE_ID` must all be set.

        Raises:
            UsageError: Only some of the OAuth variables are set.
        """
        value = {name: environ.get(name, "").strip() for name in _ENV_NAMES}
        if value["WIX_API_KEY"]:
            return cls(api_key=Secret(value["WIX_API_KEY"]), site_id=value["WIX_SITE_ID"] or None)
        app = [value[n] for n in ("WIX_APP_ID", "WIX_APP_SECRET", "WIX_INSTANCE_ID")]
        if not any(app):
            return None
        if not all(app):
            raise UsageError("OAuth needs all of WIX_APP_ID, WIX_APP_SECRET and WIX_INSTANCE_ID")
        return cls(app_id=app[0], app_secret=Secret(app[1]), instance_id=app[2])

    @property
    def oauth(self) -> bool:
        """Whether requests use OAuth access tokens rather than an API key."""
        return self.api_key is None and self.app_secret is not None

    def headers(self) -> dict[str, str]:
        """The fixed authentication headers (for OAuth the token is added per request)."""
        headers: dict[str, str] = {}
        if self.api_key is not None:
            headers["Authorization"] = self.api_key.reveal()
        if self.site_id:
            headers["wix-site-id"] = self.site_id
        return headers

    def secrets(self) -> list[str]:
        """Every value to keep out of artifacts: the key or app secret, and the site id."""
        values = [s.reveal() for s in (self.api_key, self.app_secret) if s is not None]
        return values + ([self.site_id] if self.site_id else [])


_ENV_NAMES = ("WIX_API_KEY", "WIX_SITE_ID", "WIX_APP_ID", "WIX_APP_SECRET", "WIX_INSTANCE_ID")


class Tokens:
    """OAuth access tokens for one client: fetched on first use, refreshed a minute early."""

    def __init__(self, credentials: Credentials, token_url: str) -> None:
        self._credentials = credentials
        self._url = token_url
        self._token: Secret | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.issued: list[Secret] = []

    async def header(self, http: httpx2.AsyncClient) -> str:
        """The `Authorization` value: a valid access token, fetched or refreshed as needed.

        Raises:
            TargetError: The token could not be obtained (the message never holds the secret).
        """
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires - 60:
                await self._fetch(http)
            assert self._token is not None
            return self._token.reveal()

    async def _fetch(self, http: httpx2.AsyncClient) -> None:
        credentials = self._credentials
        assert credentials.app_secret is not None
        body = {
            "grant_type": "client_credentials",
            "client_id": credentials.app_id,
            "client_secret": credentials.app_secret.reveal(),
            "instance_id": credentials.instance_id,
        }
        request = http.build_request("POST", self._url, json=body, headers={"Authorization": ""})
        try:
            response = await http.send(request, stream=True)
            try:  # a token answer is a few hundred bytes: read no more than a few kilobytes
                content, whole = await read_at_most(response, _TOKEN_BYTES)
            finally:
                await response.aclose()
        except httpx2.HTTPError as exc:
            raise TargetError(f"OAuth token request failed: {type(exc).__name__}") from None
        if not response.is_success:
            raise api_error(response.status_code, content, response.headers, complete=whole)
        try:
            data: Any = parse_json(content)[0] if whole else {}
            token, lifetime = str(data["access_token"]), float(data.get("expires_in", 14400))
        except (StreamError, ValueError, KeyError, TypeError, AttributeError):
            raise TargetError("OAuth token response has no access_token", kind="protocol") from None
        self._token = Secret(token)
        self.issued.append(self._token)
        self._expires = time.monotonic() + lifetime
