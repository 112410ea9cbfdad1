"""Checks written in Python: `@custom_check` marks them, `python: module:function` finds them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["custom_check", "resolve_custom"]

_MARK = "__evalkit_check__"
F = TypeVar("F", bound=Callable[..., Any])


def custom_check(function: F) -> F:
    """Mark a function as a check a suite may name with `python: module:function`.

    The function is called as `function(actual, **args)` (`args` from the suite) and returns a
    bool, a `(passed, reason)` pair, or a `MatchResult`.
    """
    setattr(function, _MARK, True)
    return function


def resolve_custom(spec: str) -> Callable[..., Any]:
    """Import the function a `python:` check names.

    Raises:
        ValueError: The module or function does not exist, or is not marked with `custom_check`.
    """
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} for python check {spec!r}: {exc}") from exc
    function: Callable[..., Any] | None = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"{module_name!r} has no function {name!r} (python check {spec!r})")
    if not getattr(function, _MARK, False):
        raise ValueError(f"{spec} is not marked as a check; decorate it with @evalkit.custom_check")
    return function
