"""What a run talks to: the `Target`, and the built-in emulator started for a run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from evalkit.client import WIX_BASE_URL, Credentials, Mode
from evalkit.emulator import EmulatorServer, load_forms
from evalkit.errors import Problem, SuiteError, UsageError
from evalkit.loader import Suites
from evalkit.results import TargetInfo

__all__ = ["Target", "TargetName", "emulator_target", "forms_dirs"]

TargetName = Literal["emulator", "wix", "custom"]


@dataclass(frozen=True)
class Target:
    """What a run talks to.

    Attributes:
        name: `emulator`, `wix`, or `custom` (any server that speaks the API).
        base_url: The API root.
        mode: Streamed endpoints with a preferred framing, or `unary`.
        form_ids: Form key → form id; a key without an entry is sent as the id itself.
        credentials: Sent with every request when set; never written anywhere.
        rate_limit: Requests per minute shared by the whole run (None: unlimited). Wix documents
            200 per minute per app instance.

    Requests to every target but `wix` carry `X-Evalkit-Trace` (see
    `evalkit.protocol.TRACE_HEADER`), an opaque name of the conversation and of the request's
    place in it, which the emulator keys its seeded faults and noise on.
    """

    name: TargetName
    base_url: str = WIX_BASE_URL
    mode: Mode = "sse"
    form_ids: Mapping[str, str] = field(default_factory=dict)
    credentials: Credentials | None = None
    rate_limit: float | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"the base URL must be http(s)://host[:port], got {parts.scheme!r}")
        if parts.username or parts.password:
            # The URL is recorded in run.json, and user info would override the API key header.
            raise UsageError("put credentials in WIX_API_KEY / WIX_SITE_ID, not in the base URL")

    def info(self) -> TargetInfo:
        """The target as recorded in `run.json`: no credentials, no query string."""
        parts = urlsplit(self.base_url)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return TargetInfo(
            name=self.name, base_url=url, framing=self.mode, form_ids=dict(self.form_ids)
        )


def forms_dirs(suites: Suites, extra: Sequence[Path] = ()) -> list[Path]:
    """Where the emulator looks for forms: given directories, then `forms/` beside each suite."""
    found: list[Path] = []
    for candidate in [*extra, *(Path(s.path).parent / "forms" for s in suites)]:
        if candidate.is_dir() and candidate.resolve() not in {f.resolve() for f in found}:
            found.append(candidate)
    return found


@contextmanager
def emulator_target(
    suites: Suites,
    *,
    mode: Mode = "sse",
    forms: Sequence[Path] = (),
    form_ids: Mapping[str, str] | None = None,
    **server_options: Any,
) -> Iterator[Target]:
    """Start the built-in emulator on a free loopback port and yield a target pointing at it.

    Args:
        suites: The suites to run; their forms are looked up in `forms/` beside each suite file.
        mode: How turns are requested; for streamed modes it is also the emulator's framing.
        forms: More directories of `*.form.yaml` files, searched first.
        form_ids: Form key → the form to use instead (a key or id the emulator knows), e.g.
            `{"contact": "contact-v2"}` to run the contact suites against another configuration.
        **server_options: Passed to `EmulatorServer` (latency, faults, noise, ...).

    Raises:
        SuiteError: A suite names a form that none of the directories defines, or a form file
            is broken.
    """
    definitions = {}
    for directory in reversed(forms_dirs(suites, forms)):
        definitions.update(load_forms(directory))
    unknown = sorted({s.form for s in suites} - set(definitions))
    if unknown:
        searched = ", ".join(str(d) for d in forms_dirs(suites, forms)) or "nowhere"
        raise SuiteError(
            [
                Problem(s.path, 0, f"form {s.form!r} is not defined (searched: {searched})")
                for s in suites
                if s.form in unknown
            ]
        )
    framing = "sse" if mode == "unary" else mode
    with EmulatorServer(forms=definitions, framing=framing, **server_options) as server:
        ids = {**server.form_ids, **(form_ids or {})}
        yield Target(name="emulator", base_url=server.base_url, mode=mode, form_ids=ids)
