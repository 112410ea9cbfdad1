"""Where a suite may reach: the suites root its includes and `python:` checks must stay under.

A suite file's root is the folder it was found through: the directory named on the command line
(or given to `load_suites`), or the folder of a file named directly. The project's configured
suites folder (`suites` in `[tool.evalkit]` of `pyproject.toml`, or in `evalkit.toml`, the first
found walking up from the suite's folder) is a root too for the files under it, and
`LoadOptions.includes_roots` (`--includes-root DIR`) widens it. Checks may also come from the
packages a user names (`LoadOptions.checks_packages`, `--checks-package NAME`, or
`checks_packages` in the project configuration).

Every root is kept as a real path (symlinks resolved), so a path is under a root when its real
path is: a symlink inside the root that points outside it is outside.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import Problem

if TYPE_CHECKING:
    from evalkit.loader.fields import KnownForm

__all__ = [
    "CONFIG_FILES",
    "LoadOptions",
    "ProjectSettings",
    "SuiteScope",
    "is_under",
    "project_settings",
    "shown_roots",
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
    """

    includes_roots: Sequence[str | Path] = ()
    checks_packages: Sequence[str] = ()
    forms: Mapping[str, KnownForm] | None = field(default=None, repr=False)


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


@dataclass(frozen=True)
class ProjectSettings:
    """What the project configuration says about suites."""

    path: Path
    """The configuration file."""
    suites: Path | None = None
    """The configured suites folder (absolute)."""
    checks_packages: tuple[str, ...] = ()
    """Packages checks may come from."""


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


def _read_config(path: Path, table: Mapping[str, Any]) -> tuple[ProjectSettings, list[Problem]]:
    problems: list[Problem] = []
    suites = table.get("suites")
    folder: Path | None = None
    if suites is not None:
        if isinstance(suites, str) and suites.strip():
            folder = (path.parent / suites).resolve()
        else:
            problems.append(
                Problem(
                    str(path), 0, "`suites` must be a folder path (text), relative to this file"
                )
            )
    packages = table.get("checks_packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) and p for p in packages):
        problems.append(
            Problem(str(path), 0, "`checks_packages` must be a list of package names (text)")
        )
        packages = []
    return ProjectSettings(path, folder, tuple(packages)), problems


def project_settings(folder: str | Path) -> tuple[ProjectSettings | None, list[Problem]]:
    """The project configuration that applies to a folder: the first found walking up from it.

    Looks in each folder for `evalkit.toml` (its top-level keys), then for a `pyproject.toml`
    with a `[tool.evalkit]` table. Only the keys about suites are read here: `suites` and
    `checks_packages`.

    Args:
        folder: Where to start (a suite file's folder).

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
