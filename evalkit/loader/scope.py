"""Where a suite may reach, and the project configuration every command reads.

The suites root is the folder includes and `python:` checks must stay under.

A suite file's root is the folder it was found through: the directory named on the command line
(or given to `load_suites`), or the folder of a file named directly. The project's configured
suites folder (`suites` in `[tool.evalkit]` of `pyproject.toml`, or in `evalkit.toml`, the first
found walking up from the suite's folder) is a root too for the files under it, and
`LoadOptions.includes_roots` (`--includes-root DIR`) widens it. Checks may also come from the
packages a user names (`LoadOptions.checks_packages`, `--checks-package NAME`, or
`checks_packages` in the project configuration).

Every root is kept as a real path (symlinks resolved), so a path is under a root when its real
path is: a symlink inside the root that points outside it is outside.

The project configuration (`ProjectSettings`, read by `project_settings`) also gives what every
command and the pytest plugin default to: the forms folder, the output root, the history, and the
target with its options (`[tool.evalkit]` in `pyproject.toml`, or `evalkit.toml`)::

    [tool.evalkit]
    suites = "suites"              # the suites folder (an includes/checks root)
    forms = "suites/forms"         # the emulator's forms (default: <suites>/forms)
    out = "reports"                # the output root of runs
    history = "reports/history.db" # the run history (a file, or a database URL)
    target = "emulator"            # emulator | wix | custom
    base_url = "https://..."       # for custom (or another root for wix)
    framing = "sse"                # sse | ndjson | json-array | unary
    rate_limit = 200               # requests per minute; 0 for none
    form_ids = {contact = "GUID"}  # form key -> form id sent
    emulator_profile = "emulator.yaml"  # the emulator's knobs (a profile file)
    checks_packages = ["team_checks"]

Paths are relative to the configuration file; a flag on the command line (or its
`EVALKIT_<COMMAND>_<OPTION>` variable) wins over the file. `form_folders` says where forms are
looked for: the folders given, `forms/` beside each suite and in every parent up to the project
root, then the configured forms folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import Problem
from evalkit.loader.messages import did_you_mean

if TYPE_CHECKING:
    from evalkit.loader.fields import KnownForm
    from evalkit.suite import VariantKind

__all__ = [
    "CONFIG_FILES",
    "CONFIG_KEYS",
    "FORM_FILE_SUFFIXES",
    "LoadOptions",
    "ProjectSettings",
    "SuiteScope",
    "form_folders",
    "is_under",
    "project_root",
    "project_settings",
    "shown_roots",
    "undefined_forms",
]

CONFIG_FILES = ("evalkit.toml", "pyproject.toml")
"""The project configuration, in the order looked for in each folder (a `pyproject.toml` counts
only with a `[tool.evalkit]` table)."""


@dataclass(frozen=True)
class LoadOptions:
    """What a user said about loading suites; empty where they said nothing.

    Attributes:
        includes_roots: More folders includes and `python:` checks may come from (widening the
            suites root), e.g. a shared fragments folder beside the suites.
        checks_packages: Importable packages (`team_checks`, `team.checks`) whose modules
            `python:` checks may name, wherever they are installed.
        forms: The forms known for the field check, by the form key a suite names; None: field
            names and options are not checked (see `evalkit.formcheck`).
        variants: Robustness variant kinds to derive from every scripted conversation
            (`evalkit run --variants`), instead of the kinds a suite's `variants` key names.
    """

    includes_roots: Sequence[str | Path] = ()
    checks_packages: Sequence[str] = ()
    forms: Mapping[str, KnownForm] | None = field(default=None, repr=False)
    variants: Sequence[VariantKind] = ()


@dataclass(frozen=True)
class SuiteScope:
    """The roots one suite file may reach, and the check packages it may import."""

    roots: tuple[str, ...]
    """Real paths of the folders includes and checks must stay under; the first is the root
    the file was found through (named in messages)."""
    shown: tuple[str, ...] = ()
    """The roots as the user named them, for messages (same order as `roots`)."""
    checks_packages: tuple[str, ...] = ()
    """Packages whose modules checks may name."""

    def contains(self, path: str) -> bool:
        """Whether `path` (resolved) is inside one of the roots."""
        return is_under(path, self.roots)

    def describe(self) -> str:
        """The roots as the user named them: `suites`, or `suites, ../shared`."""
        return ", ".join(self.shown or self.roots)


CONFIG_KEYS = (
    "suites",
    "forms",
    "out",
    "history",
    "target",
    "base_url",
    "framing",
    "rate_limit",
    "form_ids",
    "emulator_profile",
    "checks_packages",
)
"""The keys of the project configuration; any other is an error with a did-you-mean."""

TARGETS = ("emulator", "wix", "custom")
"""What `target` accepts (as `evalkit.runner.target.TargetName`)."""
FRAMINGS = ("sse", "ndjson", "json-array", "unary")
"""What `framing` accepts (as `evalkit.client.Mode`)."""
FORM_FILE_SUFFIXES = (".form.yaml", ".form.json")
"""The emulator's form files, `<key>.form.yaml` or a Wix `<key>.form.json` (see
`evalkit.emulator.formfiles`)."""
PROJECT_MARKERS = ("evalkit.toml", "pyproject.toml", ".git")
"""What marks a project's root folder when it has no evalkit configuration."""


@dataclass(frozen=True)
class ProjectSettings:
    """What the project configuration says: folders, and the defaults of every command.

    Paths are absolute (resolved against the configuration file's folder); None (or empty)
    where the file says nothing.
    """

    path: Path
    """The configuration file."""
    suites: Path | None = None
    """The configured suites folder (absolute)."""
    checks_packages: tuple[str, ...] = ()
    """Packages checks may come from."""
    forms: Path | None = None
    """The forms folder (default: `forms` in the suites folder, when that is configured)."""
    out: Path | None = None
    """The output root of runs."""
    history: str | None = None
    """The run history: a file (made absolute) or a database URL."""
    target: str | None = None
    """The default target: `emulator`, `wix` or `custom`."""
    base_url: str | None = None
    """The default API root."""
    framing: str | None = None
    """The default framing."""
    rate_limit: float | None = None
    """The default rate limit (requests per minute; 0 for none)."""
    form_ids: Mapping[str, str] = field(default_factory=dict)
    """Form key → form id, under the ones given on a command line."""
    emulator_profile: Path | None = None
    """A profile of the emulator's knobs."""

    @property
    def root(self) -> Path:
        """The project's root folder: the configuration file's."""
        return self.path.resolve().parent

    @property
    def forms_folder(self) -> Path | None:
        """The forms folder: configured, or `forms` in the configured suites folder."""
        if self.forms is not None:
            return self.forms
        return self.suites / "forms" if self.suites is not None else None


def is_under(path: str, roots: Iterable[str]) -> bool:
    """Whether the real path of `path` is one of `roots` or inside one (roots are real paths)."""
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def shown_roots(roots: Iterable[str | Path]) -> tuple[str, ...]:
    """Folders as a user would read them: relative to the working folder when inside it."""
    shown: list[str] = []
    for root in roots:
        text = os.fspath(root)
        relative = os.path.relpath(text) if os.path.isabs(text) else os.path.normpath(text)
        shown.append(text if relative.startswith("..") and os.path.isabs(text) else relative)
    return tuple(shown)


def _problem(path: Path, message: str) -> Problem:
    return Problem(str(path), 0, message)


def _folder(path: Path, table: Mapping[str, Any], key: str, problems: list[Problem]) -> Path | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return (path.parent / value).resolve()
    what = "a file path" if key == "emulator_profile" else "a folder path"
    problems.append(_problem(path, f"`{key}` must be {what} (text), relative to this file"))
    return None


def _choice(
    path: Path,
    table: Mapping[str, Any],
    key: str,
    choices: tuple[str, ...],
    problems: list[Problem],
) -> str | None:
    value = table.get(key)
    if value is None or value in choices:
        return value
    problems.append(
        _problem(
            path,
            f"`{key}` is one of {', '.join(choices)}, not {value!r}{did_you_mean(value, choices)}",
        )
    )
    return None


def _history(path: Path, value: object, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(_problem(path, "`history` must be a file path or a database URL (text)"))
        return None
    return value if "://" in value else str((path.parent / value).resolve())


def _rate_limit(path: Path, value: object, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(_problem(path, "`rate_limit` must be requests per minute (0 for none)"))
        return None
    return float(value)


def _form_ids(path: Path, value: object, problems: list[Problem]) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict) and all(isinstance(v, str) and v for v in value.values()):
        return {str(key): str(form_id) for key, form_id in value.items()}
    problems.append(_problem(path, '`form_ids` must be a table of form key = "form id"'))
    return {}


def _read_config(path: Path, table: Mapping[str, Any]) -> tuple[ProjectSettings, list[Problem]]:
    problems = [
        _problem(
            path,
            f"unknown key `{key}`{did_you_mean(key, CONFIG_KEYS)}; known: {', '.join(CONFIG_KEYS)}",
        )
        for key in table
        if key not in CONFIG_KEYS
    ]
    packages = table.get("checks_packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) and p for p in packages):
        problems.append(_problem(path, "`checks_packages` must be a list of package names (text)"))
        packages = []
    base_url = table.get("base_url")
    if base_url is not None and not (isinstance(base_url, str) and base_url.strip()):
        problems.append(_problem(path, "`base_url` must be a URL (text)"))
        base_url = None
    settings = ProjectSettings(
        path,
        suites=_folder(path, table, "suites", problems),
        checks_packages=tuple(packages),
        forms=_folder(path, table, "forms", problems),
        out=_folder(path, table, "out", problems),
        history=_history(path, table.get("history"), problems),
        target=_choice(path, table, "target", TARGETS, problems),
        base_url=base_url,
        framing=_choice(path, table, "framing", FRAMINGS, problems),
        rate_limit=_rate_limit(path, table.get("rate_limit"), problems),
        form_ids=_form_ids(path, table.get("form_ids"), problems),
        emulator_profile=_folder(path, table, "emulator_profile", problems),
    )
    return settings, problems


def project_settings(folder: str | Path) -> tuple[ProjectSettings | None, list[Problem]]:
    """The project configuration that applies to a folder: the first found walking up from it.

    Looks in each folder for `evalkit.toml` (its top-level keys), then for a `pyproject.toml`
    with a `[tool.evalkit]` table (`CONFIG_KEYS`; an unknown key is a problem).

    Args:
        folder: Where to start (a suite file's folder, or a command's working folder).

    Returns:
        The settings (None without a configuration), and the problems of a broken one.
    """
    here = Path(os.path.realpath(folder))
    for directory in (here, *here.parents):
        for name in CONFIG_FILES:
            path = directory / name
            if not path.is_file():
                continue
            relative = Path(os.path.relpath(path))
            shown = path if relative.parts[:1] == ("..",) else relative
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                return None, [Problem(str(shown), 0, f"cannot read the configuration: {exc}")]
            if name == "pyproject.toml":
                tool = data.get("tool")
                table = tool.get("evalkit") if isinstance(tool, dict) else None
                if not isinstance(table, dict):
                    continue
            else:
                table = data
            return _read_config(shown, table)
    return None, []


def project_root(folder: str | Path, settings: ProjectSettings | None = None) -> Path | None:
    """The root folder of the project a folder is in.

    The configuration file's folder when there is one; else the nearest folder, walking up,
    that holds an `evalkit.toml`, a `pyproject.toml` or a `.git`; else None.
    """
    if settings is not None:
        return settings.root
    here = Path(os.path.realpath(folder))
    for directory in (here, *here.parents):
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return directory
    return None


def _upward(folder: Path, root: Path | None) -> list[Path]:
    """`folder` and its parents up to `root` (just `folder` when it is not under `root`)."""
    here = Path(os.path.realpath(folder))
    if root is None or not is_under(str(here), [str(root)]):
        return [here]
    chain = [here]
    while chain[-1] != root and chain[-1] != chain[-1].parent:
        chain.append(chain[-1].parent)
    return chain


def form_folders(
    suites: Iterable[str | Path],
    settings: ProjectSettings | None,
    *,
    given: Sequence[Path] = (),
    start: str | Path | None = None,
) -> list[Path]:
    """Where forms are looked for, in order (the first folder that defines a key wins).

    The folders given (`--forms`), then `forms/` beside each suite file and in every parent up
    to the project root (`project_root`; without a project, or for a file outside it, beside
    the file only), then the configured forms folder (without one, `suites/forms` in the
    project root: the layout of evalkit's examples). With no suite file (the emulator, or
    `record`), the walk starts at `start` (the working folder).

    Args:
        suites: The suite files (or, for `record`, the file to write).
        settings: The project configuration, if any.
        given: Folders named on the command line, looked in first.
        start: Where the walk starts without suites (default: the working folder).

    Returns:
        Every candidate folder once, whether or not it exists (`undefined_forms` names them all
        when a form is not found; keep the existing ones to load).
    """
    folders = [Path(os.path.abspath(f)) for f in given]
    starts = [Path(os.path.abspath(os.path.dirname(os.fspath(s)) or ".")) for s in suites]
    if not starts:
        starts = [Path(os.path.abspath(start or "."))]
    for here in starts:
        root = project_root(here, settings) or (
            Path.cwd().resolve() if is_under(str(here), [str(Path.cwd().resolve())]) else None
        )
        folders += [folder / "forms" for folder in _upward(here, root)]
    configured = settings.forms_folder if settings is not None else None
    if configured is None:  # the layout evalkit's own examples have: suites/forms
        roots = sorted({root for here in starts if (root := project_root(here)) is not None})
        configured = roots[0] / "suites" / "forms" if roots else None
    if configured is not None:
        folders.append(configured)
    unique: dict[str, Path] = {}
    for folder in folders:
        unique.setdefault(os.path.realpath(folder), folder)
    return list(unique.values())


def undefined_forms(
    suites: Iterable[tuple[str, str]], folders: Sequence[Path], *, hint: str = ""
) -> list[Problem]:
    """A problem for each suite whose form no folder defines, saying where it looked.

    Args:
        suites: (path, form key) of each suite.
        folders: Where forms are looked for (`form_folders`).
        hint: Said after where it looked, e.g. how to name another folder.
    """
    defined: set[str] = set()
    for folder in folders:
        if folder.is_dir():
            for suffix in FORM_FILE_SUFFIXES:
                defined |= {p.name.removesuffix(suffix) for p in folder.glob(f"*{suffix}")}
    looked = ", ".join(
        f"{shown}{'' if folder.is_dir() else ' (no such folder)'}"
        for shown, folder in zip(shown_roots(folders), folders, strict=True)
    )
    return [
        Problem(
            path,
            0,
            f"form {form!r} is not defined: no {form}.form.yaml or {form}.form.json in "
            f"{looked or 'no folder'}{did_you_mean(form, defined)}{hint}",
        )
        for path, form in suites
        if form not in defined
    ]
