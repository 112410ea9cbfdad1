"""Pure comparators: one registry from matcher name to function.

A matcher takes the expected value, the actual value (or `MISSING` when the field was not
extracted) and the check's options, and returns a `MatchResult`: whether it passed, a 0–1 score,
the normalised actual value and a reason a person can act on. No I/O, no clock, no globals.

`not`, `all_of` and `any_of` combine other checks. `python: module:function` calls a function the
user wrote and marked with `custom_check` (an unmarked function, such as `os:system`, is refused:
a suite names code to run only where its author allowed it).

Every name in `evalkit.suite.MATCHER_NAMES` has an entry here (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
import enum
import importlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final, TypeVar

from evalkit.suite import Check, StringPolicy

__all__ = [
    "MATCHERS",
    "MISSING",
    "MatchResult",
    "Missing",
    "custom_check",
    "default_matcher",
    "match",
    "resolve_custom",
    "show",
]

_MARK = "__evalkit_check__"
F = TypeVar("F", bound=Callable[..., Any])


class Missing(enum.Enum):
    """The type of `MISSING`: the field was not extracted at all (distinct from a `null` value)."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = Missing.MISSING


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one comparison."""

    passed: bool
    """Whether the actual value satisfies the expectation."""
    score: float
    """0–1; 1 for a pass, a similarity for fuzzy comparisons, 0 otherwise."""
    actual: Any
    """The actual value after the matcher's normalisation (MISSING when not extracted)."""
    reason: str
    """Why, in words."""


MatcherFn = Callable[[Any, Any, Mapping[str, Any], StringPolicy], MatchResult]


def show(value: Any) -> str:
    """Render a value compactly for a reason message."""
    if value is MISSING:
        return "nothing"
    return json.dumps(value, ensure_ascii=False, default=str)


def _ok(actual: Any, reason: str, score: float = 1.0) -> MatchResult:
    return MatchResult(True, score, actual, reason)


def _no(actual: Any, reason: str, score: float = 0.0) -> MatchResult:
    return MatchResult(False, score, actual, reason)


def normalize_text(value: Any) -> str:
    """Case-fold, Unicode-normalise (NFKC) and collapse whitespace."""
    text = value if isinstance(value, str) else show(value)
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def typed_equal(expected: Any, actual: Any) -> bool:
    """Equality that respects JSON types: 30 == 30.0, but "30" != 30 and True != 1."""
    if _is_number(expected) and _is_number(actual):
        return bool(expected == actual)
    if type(expected) is not type(actual) and not (
        isinstance(expected, str) and isinstance(actual, str)
    ):
        return False
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(map(typed_equal, expected, actual))
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(
            typed_equal(v, actual[k]) for k, v in expected.items()
        )
    return bool(expected == actual)


def _key(value: Any, strings: StringPolicy) -> str:
    """A canonical key for set comparisons."""
    if isinstance(value, str):
        return "s:" + (normalize_text(value) if strings == "normalized" else value)
    if _is_number(value):
        return f"n:{float(value)!r}"
    return "j:" + json.dumps(value, sort_keys=True, default=str)


def _same(expected: Any, actual: Any, strings: StringPolicy) -> bool:
    if isinstance(expected, str) and isinstance(actual, str) and strings == "normalized":
        return normalize_text(expected) == normalize_text(actual)
    return typed_equal(expected, actual)


def _equals(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if typed_equal(expected, actual):
        return _ok(actual, f"equals {show(expected)}")
    kind = ""
    if type(expected) is not type(actual) and not (_is_number(expected) and _is_number(actual)):
        kind = f" (expected a {type(expected).__name__}, got a {type(actual).__name__})"
    return _no(actual, f"expected {show(expected)}, got {show(actual)}{kind}")


def _text(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = normalize_text(expected), normalize_text(actual)
    if want == got:
        return _ok(got, f"text matches {show(expected)} (ignoring case and spacing)")
    return _no(got, f"expected text {show(expected)}, got {show(actual)}")


def _as_float(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def _approx(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = _as_float(expected), _as_float(actual)
    if want is None:
        return _no(
            actual, f"approx needs a number to compare with, the suite gives {show(expected)}"
        )
    if got is None:
        return _no(actual, f"expected a number near {show(expected)}, got {show(actual)}")
    abs_tol = float(options.get("abs", 0.0))
    rel_tol = float(options.get("rel", 1e-9))
    tolerance = f"±{abs_tol:g}" if "abs" in options else f"±{rel_tol:.0%}"
    if math.isclose(got, want, abs_tol=abs_tol, rel_tol=rel_tol):
        return _ok(got, f"{got:g} is within {tolerance} of {want:g}")
    return _no(got, f"{got:g} is not within {tolerance} of {want:g}")


def _regex(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    flags = re.IGNORECASE if options.get("ignore_case") else 0
    text = actual if isinstance(actual, str) else show(actual)
    try:
        found = re.search(str(expected), text, flags)
    except re.error as exc:
        return _no(actual, f"invalid regular expression {show(expected)}: {exc}")
    if found:
        return _ok(actual, f"matches /{expected}/")
    return _no(actual, f"{show(actual)} does not match /{expected}/")


def _one_of(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    choices = expected if isinstance(expected, list) else [expected]
    if any(_same(choice, actual, strings) for choice in choices):
        return _ok(actual, f"{show(actual)} is one of {show(choices)}")
    return _no(actual, f"expected one of {show(choices)}, got {show(actual)}")


def _contains(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if isinstance(actual, list):
        if any(_same(expected, item, strings) for item in actual):
            return _ok(actual, f"list contains {show(expected)}")
        return _no(actual, f"expected the list to contain {show(expected)}, got {show(actual)}")
    if normalize_text(expected) in normalize_text(actual):
        return _ok(actual, f"contains {show(expected)}")
    return _no(actual, f"expected text containing {show(expected)}, got {show(actual)}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _set(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want = sorted(_key(v, strings) for v in _as_list(expected))
    got = sorted(_key(v, strings) for v in _as_list(actual))
    if want == got:
        return _ok(actual, f"same items as {show(expected)} (any order)")
    extra = [v for v in _as_list(actual) if _key(v, strings) not in want]
    lacking = [v for v in _as_list(expected) if _key(v, strings) not in got]
    parts = [f"missing {show(lacking)}"] if lacking else []
    parts += [f"extra {show(extra)}"] if extra else []
    detail = ", ".join(parts) or "different counts of the same items"
    return _no(actual, f"expected the items {show(expected)}, got {show(actual)}: {detail}")


def _subset(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    got = {_key(v, strings) for v in _as_list(actual)}
    lacking = [v for v in _as_list(expected) if _key(v, strings) not in got]
    if not lacking:
        return _ok(actual, f"includes all of {show(expected)}")
    return _no(
        actual, f"expected at least {show(expected)}, got {show(actual)}: missing {show(lacking)}"
    )


def _absent(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if expected is False:
        return _present(True, actual, options, strings)
    if actual is MISSING:
        return _ok(actual, "not extracted, as expected")
    return _no(actual, f"expected nothing, got {show(actual)}")


def _present(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if expected is False:
        return _absent(True, actual, options, strings)
    if actual is MISSING:
        return _no(actual, "expected a value, got nothing")
    return _ok(actual, f"extracted {show(actual)}")


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%B %d, %Y",
    "%b %d, %Y",
)


def parse_date(value: Any) -> date | None:
    """Read a date from ISO text or a written-out date (a datetime's date part counts)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value  # an unquoted YAML date in a suite
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _date(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = parse_date(expected), parse_date(actual)
    if want is None:
        return _no(actual, f"the suite's date {show(expected)} is not a date (write YYYY-MM-DD)")
    if got is None:
        return _no(actual, f"expected the date {want.isoformat()}, got {show(actual)} (not a date)")
    if want == got:
        return _ok(got.isoformat(), f"same date {want.isoformat()}")
    return _no(got.isoformat(), f"expected the date {want.isoformat()}, got {got.isoformat()}")


def _email(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want = str(expected).strip().casefold()
    got = actual.strip().casefold() if isinstance(actual, str) else show(actual)
    if want == got:
        return _ok(got, f"same address {want}")
    return _no(got, f"expected the address {want}, got {show(actual)}")


def phone_digits(value: Any) -> str:
    """Digits of a phone number, with a leading + kept: "+1 (555) 010-2030" → "+15550102030"."""
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    return ("+" + digits) if text.startswith(("+", "00")) and digits else digits


def _phone(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want = phone_digits(expected)
    got = phone_digits(actual) if isinstance(actual, str | int) else ""
    if not got:
        return _no(actual, f"expected the phone number {want}, got {show(actual)}")
    if want == got:
        return _ok(got, f"same number {want}")
    # One side may carry the country code and the other not: compare the national part.
    short, long = sorted((want.lstrip("+"), got.lstrip("+")), key=len)
    if len(short) >= 7 and long.endswith(short) and len(long) - len(short) <= 3:
        return _ok(got, f"same number {want} (country code aside)")
    return _no(got, f"expected the phone number {want}, got {got}")


def _fuzzy(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    threshold = float(options.get("threshold", 0.85))
    want, got = normalize_text(expected), normalize_text(actual)
    ratio = difflib.SequenceMatcher(None, want, got).ratio()
    if ratio >= threshold:
        return _ok(got, f"{ratio:.0%} similar to {show(expected)} (≥ {threshold:.0%})", ratio)
    return _no(got, f"only {ratio:.0%} similar to {show(expected)} (needs {threshold:.0%})", ratio)


_TIME = re.compile(
    r"^(\d{1,2})(?:[:.h](\d{2}))?(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$", re.IGNORECASE
)


def parse_time(value: Any) -> time | None:
    """Read a time of day: `14:30`, `14:30:00`, `2:30 pm`, `2pm`, `14h30`, or a datetime's time."""
    if isinstance(value, datetime):
        return value.time().replace(tzinfo=None)
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if "T" in text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).time()
        except ValueError:
            return None
    found = _TIME.match(text)
    if found is None or (found.group(2) is None and found.group(4) is None):
        return None  # a bare number is not a time
    hour, minute, second = (int(g) if g else 0 for g in found.group(1, 2, 3))
    suffix = (found.group(4) or "").lower().replace(".", "")
    if suffix and not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if suffix == "pm" else 0) if suffix else hour
    try:
        return time(hour, minute, second)
    except ValueError:
        return None


def _time(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = parse_time(expected), parse_time(actual)
    if want is None:
        hint = " (YAML reads unquoted 12:30 as a number: quote it)" if _is_number(expected) else ""
        return _no(actual, f"the suite's time {show(expected)} is not a time{hint}")
    if got is None:
        return _no(actual, f"expected the time {want.isoformat()}, got {show(actual)} (not a time)")
    if want == got:
        return _ok(got.isoformat(), f"same time {want.isoformat()}")
    return _no(got.isoformat(), f"expected the time {want.isoformat()}, got {got.isoformat()}")


def _not(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    name, inner = match(expected, actual, strings=strings)
    if inner.passed:
        return _no(inner.actual, f"expected {name} to fail, but {inner.reason}")
    return _ok(inner.actual, f"not {name}: {inner.reason}")


def _all_of(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    results = [match(check, actual, strings=strings) for check in expected]
    failed = [f"{name}: {r.reason}" for name, r in results if not r.passed]
    score = min(r.score for _, r in results)
    if failed:
        return _no(
            actual, f"{len(failed)} of {len(results)} checks failed: {'; '.join(failed)}", score
        )
    return _ok(actual, f"all {len(results)} checks passed", score)


def _any_of(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    results = [match(check, actual, strings=strings) for check in expected]
    passed = [f"{name}: {r.reason}" for name, r in results if r.passed]
    score = max(r.score for _, r in results)
    if passed:
        return _ok(actual, f"passed {passed[0]}", score)
    reasons = "; ".join(f"{name}: {r.reason}" for name, r in results)
    return _no(actual, f"none of {len(results)} checks passed: {reasons}", score)


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


def _python(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    try:
        function = resolve_custom(str(expected))
        outcome = function(actual, **dict(options.get("args") or {}))
    except Exception as exc:  # the user's code failed: a verdict with the reason, not a crash
        return _no(actual, f"python check {expected} raised {type(exc).__name__}: {exc}")
    if isinstance(outcome, MatchResult):
        return outcome
    if isinstance(outcome, tuple) and len(outcome) == 2:
        passed, reason = bool(outcome[0]), str(outcome[1])
    else:
        passed, reason = bool(outcome), f"{expected} returned {show(outcome)}"
    return _ok(actual, reason) if passed else _no(actual, reason)


MATCHERS: Mapping[str, MatcherFn] = {
    "equals": _equals,
    "text": _text,
    "approx": _approx,
    "regex": _regex,
    "one_of": _one_of,
    "contains": _contains,
    "set": _set,
    "subset": _subset,
    "absent": _absent,
    "present": _present,
    "date": _date,
    "time": _time,
    "email": _email,
    "phone": _phone,
    "fuzzy": _fuzzy,
    "not": _not,
    "all_of": _all_of,
    "any_of": _any_of,
    "python": _python,
}
"""Matcher name → comparator."""

_NEEDS_VALUE = frozenset(MATCHERS) - {"absent", "present", "not", "all_of", "any_of"}


def default_matcher(value: Any, strings: StringPolicy) -> str:
    """Matcher for a bare value: text for strings (exact: equals), set for lists, else equals."""
    if isinstance(value, str):
        return "text" if strings == "normalized" else "equals"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    if isinstance(value, list):
        return "set"
    return "equals"


def match(
    check: Check, actual: Any, *, strings: StringPolicy = "normalized"
) -> tuple[str, MatchResult]:
    """Compare an actual value (or MISSING) with a check.

    Args:
        check: The expectation.
        actual: The extracted value, or `MISSING`.
        strings: How bare strings compare.

    Returns:
        The matcher's name and its result.
    """
    name = check.matcher or default_matcher(check.value, strings)
    if actual is MISSING and name in _NEEDS_VALUE:
        return name, _no(MISSING, f"expected {show(check.value)}, got nothing (not extracted)")
    return name, MATCHERS[name](check.value, actual, check.options, strings)
