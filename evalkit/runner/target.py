"""What a run talks to: the `Target`, and the built-in emulator started for a run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from evalkit.client import WIX_BASE_URL, Credentials, Mode
from evalkit.errors import Problem, SuiteError, UsageError
from evalkit.results import TargetInfo

if TYPE_CHECKING:
    from evalkit.loader import Suites

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
        forms: The emulator's extra form directories (recorded, so a resume finds the same forms).

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
    forms: tuple[str, ...] = ()

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
        auth: Literal["none", "api-key", "oauth"] = "none"
        if self.credentials is not None:
            auth = "oauth" if self.credentials.oauth else "api-key"
        return TargetInfo(
            name=self.name,
            base_url=url,
            framing=self.mode,
            form_ids=dict(self.form_ids),
            rate_limit=self.rate_limit,
            auth=auth,
            forms=list(self.forms),
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
    rate_limit: float | None = None,
    **knobs: Any,
) -> Iterator[Target]:
    """Start the built-in emulator on a free loopback port and yield a target pointing at it.

    Args:
        suites: The suites to run; their forms are looked up in `forms/` beside each suite file.
        mode: How turns are requested; for streamed modes it is also the emulator's framing.
        forms: More directories of `*.form.yaml` files, searched first.
        form_ids: Form key → the form to use instead (a key or id the emulator knows), e.g.
            `{"contact": "contact-v2"}` to run the contact suites against another configuration.
        rate_limit: Requests per minute the run keeps to (None: unlimited).
        **knobs: Fields of the emulator's `Knobs` (latency, faults, noise, ...); its framing
            is `mode`'s.

    Raises:
        SuiteError: A suite names a form that none of the directories defines, or a form file
            is broken.
    """
    from evalkit.emulator import EmulatorServer, Knobs, load_forms  # only when one is started

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
    # A streamed mode is also the emulator's framing; under `unary` it keeps its own default.
    framing = {} if mode == "unary" else {"framing": mode}
    with EmulatorServer(definitions, Knobs(**framing, **knobs)) as server:
        ids = {**server.form_ids, **(form_ids or {})}
        yield Target(
            name="emulator",
            base_url=server.base_url,
            mode=mode,
            form_ids=ids,
            rate_limit=rate_limit,
            forms=tuple(str(f) for f in forms),
        )
