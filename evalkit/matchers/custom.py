"""Checks written in Python: `@custom_check` marks them, `python: module:function` names them.

A suite names code to run, so what it may name is confined (design §5, §7):

- `import_check` (the loader, at load time) imports a module only when its file lives under the
  suites root (`roots`), or when it is in a package the user named (`packages`). Anything else is
  refused *before* it is imported: the module is located with import machinery that does not
  execute it (`FileFinder` over the roots; `importlib.util.find_spec` of a top-level name, which
  imports nothing), and a dotted name is followed one package at a time, each located before it
  runs. A name that is already a module elsewhere (`json`, a package on the Python path) is
  refused too, rather than shadowing it for the whole process.
- Modules under the roots are imported without adding the roots to `sys.path` for the process:
  each is executed from its spec and put in `sys.modules`. While one executes, the folders it was
  looked for in (the suite's, then the roots) are appended to the end of `sys.path` (this is the
  one place that touches it), so that it can import a helper module beside it; they are removed
  as soon as it has run. Python holds one module per name, so two check modules of one name in
  two roots cannot both be used: the second is refused, naming the first.
- `resolve_custom` (scoring) never imports: it finds the function in a module the loader
  imported, and refuses an unmarked function.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["custom_check", "import_check", "resolve_custom"]

_MARK = "__evalkit_check__"
F = TypeVar("F", bound=Callable[..., Any])
_LOCK = threading.RLock()
"""Held while a check module is located and imported (loading may happen in threads)."""


def custom_check(function: F) -> F:
    """Mark a function as a check a suite may name with `python: module:function`.

    The function is called as `function(actual, **args)` (`args` from the suite) and returns a
    bool, a `(passed, reason)` pair, or a `MatchResult`.
    """
    setattr(function, _MARK, True)
    return function


def _marked(spec: str, module: ModuleType) -> Callable[..., Any]:
    module_name, _, name = spec.partition(":")
    function: Callable[..., Any] | None = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{module_name!r} has no function {name!r} (python check {spec!r})")
    if not getattr(function, _MARK, False):
        raise ValueError(f"{spec} is not marked as a check; decorate it with @evalkit.custom_check")
    return function


def resolve_custom(spec: str) -> Callable[..., Any]:
    """The function a `python:` check names, from a module already imported (never imports).

    Suites are loaded before they are scored, and loading imports the check modules it allows
    (`import_check`); scoring only looks them up.

    Raises:
        ValueError: The module was not imported by loading a suite, has no such function, or the
            function is not marked with `custom_check`.
    """
    module_name = spec.partition(":")[0]
    module = sys.modules.get(module_name)
    if module is None:
        raise ValueError(
            f"module {module_name} was not loaded with a suite; python checks are imported when "
            "their suite is loaded (evalkit.load_suites), never while scoring"
        )
    return _marked(spec, module)


def _file_of(module_or_spec: Any) -> list[str]:
    """The files and folders a module (or spec) comes from: its file, or a package's folders."""
    origin = getattr(module_or_spec, "origin", None) or getattr(module_or_spec, "__file__", None)
    if origin is not None and origin not in ("built-in", "frozen") and os.path.isabs(origin):
        return [origin]
    locations = getattr(module_or_spec, "submodule_search_locations", None)
    if locations is None:
        locations = getattr(module_or_spec, "__path__", None)
    return [str(p) for p in locations or []]


def _under(paths: Sequence[str], roots: Sequence[str]) -> bool:
    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    return bool(paths) and all(inside(p) for p in paths)


def _real(paths: Sequence[str]) -> list[str]:
    return [os.path.realpath(p) for p in paths]


def _in_package(module_name: str, packages: Sequence[str]) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in packages)


def _finder(directory: str) -> importlib.machinery.FileFinder:
    """A finder for Python source files (and packages) in one folder, with no shared cache."""
    loader = (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)
    return importlib.machinery.FileFinder(directory, loader)


@contextmanager
def _importable(folders: Sequence[str]) -> Iterator[None]:
    """The folders at the end of `sys.path` while a check module runs (for its own imports)."""
    added = [f for f in folders if f not in sys.path]
    sys.path.extend(added)
    try:
        yield
    finally:
        for folder in added:
            if folder in sys.path:
                sys.path.remove(folder)


def _execute(spec: importlib.machinery.ModuleSpec, folders: Sequence[str]) -> ModuleType:
    """Run a module located under the roots, with `folders` importable while it runs."""
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        if spec.loader is not None:
            with _importable(folders):
                spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[spec.name]
        if isinstance(exc, Exception):
            raise ValueError(
                f"importing {spec.name} raised {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc
        raise
    parent, _, child = spec.name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module


def _refusal(module_name: str, shown: str) -> ValueError:
    return ValueError(
        f"module {module_name} is not under the suites root ({shown}) nor in a package named "
        "with --checks-package; it was not imported"
    )


def _import_from_roots(
    module_name: str, search: Sequence[str], roots: Sequence[str], shown: str
) -> ModuleType:
    """Import `module_name` from the folders `search`, each package located before it runs."""
    parts = module_name.split(".")
    module: ModuleType | None = None
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        loaded = sys.modules.get(name)
        if loaded is not None:
            if not _under(_file_of(loaded), roots):
                where = ", ".join(_file_of(loaded)) or "built in"
                raise ValueError(
                    f"module {name} is also the name of a module that is already imported "
                    f"({where}); give your module another name"
                )
            module = loaded
            continue
        if depth == 1:
            elsewhere = importlib.util.find_spec(name)  # top-level: imports nothing
            spec = next((s for d in search if (s := _finder(d).find_spec(name)) is not None), None)
            if spec is None:
                raise _refusal(name, shown)
            if elsewhere is not None and _real(_file_of(elsewhere)) != _real(_file_of(spec)):
                where = ", ".join(_file_of(elsewhere)) or "built in"
                raise ValueError(
                    f"module {name} is also the name of a module on the Python path ({where}); "
                    "give your module another name"
                )
        else:
            locations = getattr(module, "__path__", None) or []
            spec = next(
                (s for d in locations if (s := _finder(d).find_spec(name)) is not None), None
            )
            if spec is None:
                raise ValueError(f"cannot find module {name} under {shown}")
        if not _under(_file_of(spec), roots):
            raise _refusal(name, shown)
        module = _execute(spec, search)
    assert module is not None  # a module name has at least one part
    return module


def import_check(
    spec: str,
    *,
    search: Sequence[str],
    roots: Sequence[str],
    packages: Sequence[str] = (),
    shown: str = "",
) -> Callable[..., Any]:
    """Import the function a `python:` check names, if the suite may name it (load time).

    Args:
        spec: `module:function`.
        search: Folders a top-level module is looked for in, in order (the suite's folder, then
            its roots); each must be under `roots`.
        roots: Real paths of the folders checks may come from.
        packages: Importable packages whose modules checks may also name.
        shown: The roots as the user named them, for messages.

    Returns:
        The marked function.

    Raises:
        ValueError: The module is outside the roots and the packages (refused before importing
            it), cannot be imported, has no such function, or the function is not marked with
            `custom_check`.
    """
    module_name = spec.partition(":")[0]
    with _LOCK:
        if _in_package(module_name, packages):
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise ValueError(
                    f"cannot import {module_name!r} for python check {spec!r}: {exc}"
                ) from exc
        else:
            module = _import_from_roots(module_name, search, roots, shown or ", ".join(roots))
    return _marked(spec, module)
