"""Matcher arguments checked when a suite is loaded, so a suite's mistake is never a verdict.

`{date: "2026-13-45"}` or `{approx: "four"}` can never pass: scored, they would fail and lower the
target's pass rate for a mistake of the suite. `argument_problem` says what is wrong with one
check's own value and options (composites are checked through their inner checks, which the
loader walks); the loader reports it at the line of the expectation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from evalkit.matchers.values import (
    as_float,
    is_number,
    parse_date,
    parse_time,
    phone_digits,
    show,
)
from evalkit.suite import Check

__all__ = ["argument_problem"]


def _number(value: Any) -> bool:
    return is_number(value) and math.isfinite(float(value))


def _date(value: Any, options: dict[str, Any]) -> str | None:
    if parse_date(value) is None:
        return f"date takes a date (YYYY-MM-DD, or written out: 4 May 2026), got {show(value)}"
    return None


def _time(value: Any, options: dict[str, Any]) -> str | None:
    if parse_time(value) is None:
        hint = " (YAML reads unquoted 12:30 as a number: quote it)" if is_number(value) else ""
        return f"time takes a time of day (14:30, 2:30 pm), got {show(value)}{hint}"
    return None


def _approx(value: Any, options: dict[str, Any]) -> str | None:
    number = as_float(value)
    if number is None or not math.isfinite(number):
        return f"approx takes a number, got {show(value)}"
    for name in ("abs", "rel"):
        if name in options and not (_number(options[name]) and options[name] >= 0):
            return f"approx's `{name}` must be a number ≥ 0, got {show(options[name])}"
    return None


def _regex(value: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(value, str):
        return f"regex takes a regular expression (text), got {show(value)}"
    try:
        re.compile(value)
    except re.error as exc:
        return f"regex takes a regular expression: {show(value)} is not one ({exc})"
    if not isinstance(options.get("ignore_case", False), bool):
        return f"regex's `ignore_case` must be true or false, got {show(options['ignore_case'])}"
    return None


def _fuzzy(value: Any, options: dict[str, Any]) -> str | None:
    threshold = options.get("threshold", 0.85)
    if not (_number(threshold) and 0 <= threshold <= 1):
        return (
            f"fuzzy's `threshold` must be a number from 0 to 1 (0.85 is 85%), got {show(threshold)}"
        )
    return None


def _flag(name: str) -> Callable[[Any, dict[str, Any]], str | None]:
    def check(value: Any, options: dict[str, Any]) -> str | None:
        return None if isinstance(value, bool) else f"{name} takes true or false, got {show(value)}"

    return check


def _email(value: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(value, str) or "@" not in value.strip()[1:-1]:
        return f"email takes an address with an @, got {show(value)}"
    return None


def _phone(value: Any, options: dict[str, Any]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int) or not phone_digits(value):
        return f"phone takes a number with digits, got {show(value)}"
    return None


def _one_of(value: Any, options: dict[str, Any]) -> str | None:
    if not isinstance(value, list) or not value:
        return f"one_of takes a non-empty list of values, got {show(value)}"
    return None


_CHECKS: dict[str, Callable[[Any, dict[str, Any]], str | None]] = {
    "date": _date,
    "time": _time,
    "approx": _approx,
    "regex": _regex,
    "fuzzy": _fuzzy,
    "absent": _flag("absent"),
    "present": _flag("present"),
    "email": _email,
    "phone": _phone,
    "one_of": _one_of,
}


def argument_problem(check: Check) -> str | None:
    """What is wrong with a check's expected value or options, or None when nothing is.

    Only the check itself is looked at: the checks inside `not`, `all_of` and `any_of` are
    checks of their own (the loader walks them). Matchers whose value can be anything
    (`equals`, `text`, `contains`, `set`, `subset`) and bare values have no arguments to check.

    Args:
        check: One expectation, as validated.

    Returns:
        The problem in words (`date takes a date ..., got "2026-13-45"`), or None.
    """
    rule = _CHECKS.get(check.matcher or "")
    return rule(check.value, dict(check.options)) if rule is not None else None
