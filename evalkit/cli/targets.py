"""The target a command's options name: the emulator, Wix, or any server that speaks the API."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import get_args

from evalkit.client import WIX_BASE_URL, Credentials, Mode
from evalkit.errors import UsageError
from evalkit.runner import Target

__all__ = ["FRAMINGS", "WIX_RATE_LIMIT", "parse_form_ids", "target_from_options"]

FRAMINGS: tuple[Mode, ...] = get_args(Mode)
"""What `--framing` accepts: a streamed framing, or `unary`."""
WIX_RATE_LIMIT = 200.0
"""Requests per minute Wix documents per app instance; the default for `--target wix`."""


def parse_form_ids(values: Sequence[str]) -> dict[str, str]:
    """`--form-id KEY=FORM_ID` values as a mapping.

    Raises:
        UsageError: A value is not `KEY=FORM_ID`.
    """
    mapping: dict[str, str] = {}
    for value in values:
        key, sep, form_id = value.partition("=")
        if not sep or not key or not form_id:
            raise UsageError(f"--form-id takes KEY=FORM_ID, got {value!r}")
        mapping[key] = form_id
    return mapping


def target_from_options(
    name: str | None,
    base_url: str | None,
    mode: Mode,
    form_ids: dict[str, str],
    rate_limit: float | None,
) -> Target | None:
    """The target the options name, or None for the emulator (which the caller starts).

    Credentials come from the environment (`WIX_API_KEY`, `WIX_SITE_ID`, or OAuth variables);
    `--target wix` gets Wix's documented rate limit unless told otherwise.

    Raises:
        UsageError: The options do not make a target (Wix without credentials, a custom target
            without a base URL, the emulator with one).
    """
    name = name or ("custom" if base_url else "emulator")
    credentials = Credentials.from_env(os.environ)
    if name == "emulator":
        if base_url:
            raise UsageError("--target emulator starts its own server; drop --base-url")
        return None
    if name == "wix" and credentials is None:
        raise UsageError(
            "--target wix needs credentials: set WIX_API_KEY (and WIX_SITE_ID for a site-level key)"
        )
    if name == "custom" and not base_url:
        raise UsageError("--target custom needs --base-url URL")
    if name == "wix" and rate_limit is None:
        rate_limit = WIX_RATE_LIMIT
    return Target(
        name="wix" if name == "wix" else "custom",
        base_url=base_url or WIX_BASE_URL,
        mode=mode,
        form_ids=form_ids,
        credentials=credentials,
        rate_limit=rate_limit or None,
    )
