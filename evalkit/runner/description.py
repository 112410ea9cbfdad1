"""The target description: built from options in one place, kept in `run.json`, opened for a run.

A description (`evalkit.results.TargetInfo`) says what a run talks to without any secret: kind,
base URL, framing, form-id map, rate limit, the kind of authentication, and the emulator's form
directories. Every entry point builds it with `describe_target` from the options a user gave
(the CLI's flags, the pytest plugin's, `record`'s), and `open_target` turns it into a live
`Target`: credentials are read from the environment only then, and the emulator is started.

A resumed run takes its description from `run.json` (`resumed_target`), so it can only go on
against what it started with; an option that says otherwise is refused, naming both values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from evalkit.client import WIX_BASE_URL, Credentials, Mode
from evalkit.errors import UsageError
from evalkit.loader import Suites
from evalkit.loader.scope import ProjectSettings, form_folders
from evalkit.results import TargetInfo
from evalkit.runner.target import Target, TargetName, emulator_target

__all__ = [
    "FRAMINGS",
    "TARGET_KINDS",
    "WIX_RATE_LIMIT",
    "TargetOptions",
    "describe_target",
    "open_target",
    "parse_form_ids",
    "project_options",
    "resumed_target",
]

FRAMINGS: tuple[Mode, ...] = get_args(Mode)
"""What a framing option accepts: a streamed framing, or `unary`."""
TARGET_KINDS: tuple[TargetName, ...] = get_args(TargetName)
"""What a target option accepts."""
WIX_RATE_LIMIT = 200.0
"""Requests per minute Wix documents per app instance; the default for the `wix` target."""


@dataclass(frozen=True)
class TargetOptions:
    """What a user said about the target; None (or empty) where they said nothing.

    Attributes:
        kind: `emulator`, `wix` or `custom`; by default `custom` with a base URL, else `emulator`.
        base_url: The API root of a `custom` target (or another root for `wix`).
        framing: Streamed endpoints with this framing, or `unary` (default `sse`).
        form_ids: Form key → form id sent.
        rate_limit: Requests per minute; 0 for none (default: 200 for `wix`, else none).
        forms: The emulator's extra form directories.
        flag: How each option is spelt where the user gave it, for messages (`--target` for the
            CLI, `--evalkit-target` for the plugin): a prefix put before the option's name.
    """

    kind: TargetName | None = None
    base_url: str | None = None
    framing: Mode | None = None
    form_ids: Mapping[str, str] = field(default_factory=dict)
    rate_limit: float | None = None
    forms: Sequence[Path] = ()
    flag: str = "--"


def project_options(
    options: TargetOptions,
    project: ProjectSettings | None,
    suites: Sequence[str | Path] = (),
    *,
    start: str | Path | None = None,
) -> TargetOptions:
    """The options a user gave, with the project configuration's where they gave none.

    The target, base URL, framing and rate limit come from the configuration when not given
    (its base URL only for a target that is not the emulator); its form ids sit under the ones
    given. For the emulator, `forms` becomes every existing folder forms are looked for in
    (`evalkit.loader.scope.form_folders`: the ones given, `forms/` beside each suite and its
    parents up to the project root, the configured forms folder).

    Args:
        options: What the user gave (flags).
        project: The project configuration, if any.
        suites: The suite files to run (or, for `record`, the file it writes).
        start: Where forms are looked for when there is no suite (the working folder).
    """
    kind = options.kind
    base_url = options.base_url
    if project is not None:
        kind = kind or (project.target if project.target in TARGET_KINDS else None)
        if base_url is None and (kind or "custom") != "emulator":
            base_url = project.base_url
    framing = options.framing
    if framing is None and project is not None and project.framing in FRAMINGS:
        framing = project.framing
    rate_limit = options.rate_limit
    if rate_limit is None and project is not None:
        rate_limit = project.rate_limit
    forms = list(options.forms)
    if (kind or ("custom" if base_url else "emulator")) == "emulator":
        found = form_folders(suites, project, given=options.forms, start=start)
        forms = [folder for folder in found if folder.is_dir()]
    return TargetOptions(
        kind=kind,
        base_url=base_url,
        framing=framing,
        form_ids={**(project.form_ids if project else {}), **options.form_ids},
        rate_limit=rate_limit,
        forms=forms,
        flag=options.flag,
    )


def parse_form_ids(values: Sequence[str], *, option: str = "--form-id") -> dict[str, str]:
    """`KEY=FORM_ID` values as a mapping.

    Raises:
        UsageError: A value is not `KEY=FORM_ID`.
    """
    mapping: dict[str, str] = {}
    for value in values:
        key, sep, form_id = value.partition("=")
        if not sep or not key or not form_id:
            raise UsageError(f"{option} takes KEY=FORM_ID, got {value!r}")
        mapping[key] = form_id
    return mapping


def _auth(credentials: Credentials | None) -> Literal["none", "api-key", "oauth"]:
    if credentials is None:
        return "none"
    return "oauth" if credentials.oauth else "api-key"


def describe_target(options: TargetOptions, environ: Mapping[str, str]) -> TargetInfo:
    """The description of the target the options name.

    The environment is read only to know which kind of credentials there are (`WIX_API_KEY`
    with `WIX_SITE_ID`, or the OAuth variables); the description never holds them.

    Raises:
        UsageError: The options do not make a target: Wix without credentials, a custom target
            without a base URL, the emulator with one.
    """
    flag = options.flag
    kind = options.kind or ("custom" if options.base_url else "emulator")
    framing: Mode = options.framing or "sse"
    if kind == "emulator":
        if options.base_url:
            raise UsageError(f"{flag}target emulator starts its own server; drop {flag}base-url")
        return TargetInfo(
            name="emulator",
            base_url="",
            framing=framing,
            form_ids=dict(options.form_ids),
            rate_limit=options.rate_limit or None,
            forms=[str(path) for path in options.forms],
        )
    credentials = Credentials.from_env(environ)
    if kind == "wix" and credentials is None:
        raise UsageError(
            f"{flag}target wix needs credentials: set WIX_API_KEY (and WIX_SITE_ID for a "
            "site-level key), or WIX_APP_ID, WIX_APP_SECRET and WIX_INSTANCE_ID for OAuth"
        )
    if kind == "custom" and not options.base_url:
        raise UsageError(f"{flag}target custom needs {flag}base-url URL")
    rate_limit = options.rate_limit
    if kind == "wix" and rate_limit is None:
        rate_limit = WIX_RATE_LIMIT
    description = TargetInfo(
        name=kind,
        base_url=options.base_url or WIX_BASE_URL,
        framing=framing,
        form_ids=dict(options.form_ids),
        rate_limit=rate_limit or None,
        auth=_auth(credentials),
    )
    Target(name=kind, base_url=description.base_url)  # the URL is checked before anything runs
    return description


def _stored_rate_limit(stored: TargetInfo) -> float | None:
    # A run.json written before the rate limit was recorded ran Wix at its documented limit.
    if "rate_limit" not in stored.model_fields_set and stored.name == "wix":
        return WIX_RATE_LIMIT
    return stored.rate_limit


def resumed_target(stored: TargetInfo, options: TargetOptions) -> TargetInfo:
    """The description a resumed run goes on with: the one in its `run.json`.

    Args:
        stored: The target recorded in the run being resumed.
        options: What the user gave now; anything given must agree with `stored`.

    Raises:
        UsageError: An option contradicts the stored description (the message names both).
    """
    flag = options.flag
    stored = stored.model_copy(update={"rate_limit": _stored_rate_limit(stored)})
    conflicts: list[str] = []
    if options.kind is not None and options.kind != stored.name:
        conflicts.append(f"{flag}target {options.kind} (the run used {stored.name})")
    if options.base_url is not None and (
        stored.name == "emulator" or options.base_url.rstrip("/") != stored.base_url.rstrip("/")
    ):
        used = "the built-in emulator" if stored.name == "emulator" else stored.base_url
        conflicts.append(f"{flag}base-url {options.base_url} (the run used {used})")
    if options.framing is not None and options.framing != stored.framing:
        conflicts.append(f"{flag}framing {options.framing} (the run used {stored.framing})")
    for key, form_id in sorted(options.form_ids.items()):
        if stored.form_ids.get(key, key) != form_id:
            conflicts.append(
                f"{flag}form-id {key}={form_id} (the run used "
                f"{key}={stored.form_ids.get(key, key)})"
            )
    if options.rate_limit is not None and (options.rate_limit or None) != stored.rate_limit:
        used = "none" if stored.rate_limit is None else f"{stored.rate_limit:g}"
        conflicts.append(f"{flag}rate-limit {options.rate_limit:g} (the run used {used})")
    forms = [str(path) for path in options.forms]
    if forms and forms != stored.forms:
        conflicts.append(f"{flag}forms {', '.join(forms)} (the run used {stored.forms or 'none'})")
    if conflicts:
        raise UsageError(
            "a resumed run goes on against the target it started with; drop " + "; ".join(conflicts)
        )
    return stored


def _credentials(description: TargetInfo, environ: Mapping[str, str]) -> Credentials | None:
    if description.auth == "none":
        return None
    credentials = Credentials.from_env(environ)
    if _auth(credentials) != description.auth:
        wanted = (
            "WIX_API_KEY (and WIX_SITE_ID)"
            if description.auth == "api-key"
            else "WIX_APP_ID, WIX_APP_SECRET and WIX_INSTANCE_ID"
        )
        raise UsageError(
            f"the target {description.name} ({description.base_url}) was described with "
            f"{description.auth} credentials: set {wanted}; nothing was sent"
        )
    return credentials


@contextmanager
def open_target(
    description: TargetInfo,
    suites: Suites,
    environ: Mapping[str, str],
    **emulator_options: Any,
) -> Iterator[Target]:
    """The live target a description names, for as long as the block runs.

    Credentials are read from `environ` now; the emulator is started on a free loopback port
    (and stopped after the block) for the forms of `suites`.

    Args:
        description: What to open (from `describe_target` or `resumed_target`).
        suites: The suites to run: the emulator serves their forms.
        environ: Where credentials are read from (`os.environ` for the CLI).
        **emulator_options: Passed on to the emulator (latency, faults, noise, ...).

    Raises:
        UsageError: The credentials the description needs are not in `environ`.
        SuiteError: A suite names a form the emulator's directories do not define.
    """
    mode: Mode = description.framing if description.framing in FRAMINGS else "sse"
    if description.name == "emulator":
        with emulator_target(
            suites,
            mode=mode,
            forms=[Path(path) for path in description.forms],
            form_ids=description.form_ids,
            rate_limit=description.rate_limit,
            **emulator_options,
        ) as target:
            yield target
        return
    name: TargetName = "wix" if description.name == "wix" else "custom"
    yield Target(
        name=name,
        base_url=description.base_url,
        mode=mode,
        form_ids=description.form_ids,
        credentials=_credentials(description, environ),
        rate_limit=description.rate_limit,
    )
