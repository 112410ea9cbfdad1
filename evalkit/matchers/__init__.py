"""Pure comparators: one registry from matcher name to function.

A matcher takes the expected value, the actual value (or `MISSING` when the field was not
extracted) and the check's options, and returns a `MatchResult`: whether it passed, a 0–1 score,
the normalised actual value and a reason a person can act on. No I/O, no clock, no globals.

`not`, `all_of` and `any_of` combine other checks. `python: module:function` calls a function the
user wrote and marked with `custom_check` (an unmarked function, such as `os:system`, is refused:
a suite names code to run only where its author allowed it). Scoring never imports: the loader
imports a check's module when it loads the suite, and only from the suites root or a package the
user named (`evalkit.matchers.custom`). `evalkit.matchers.arguments` checks every matcher's
arguments at load time, so a suite's mistake is never scored as the target's.

Every name in `evalkit.suite.MATCHER_NAMES` has an entry here (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, time
from typing import Any

from evalkit.matchers.custom import custom_check, resolve_custom
from evalkit.matchers.values import (
    MISSING,
    MatchResult,
    Missing,
    as_float,
    as_list,
    canonical_key,
    is_number,
    no,
    normalize_text,
    ok,
    parse_date,
    parse_time,
    phone_digits,
    same,
    show,
    typed_equal,
)
from evalkit.suite import Check, StringPolicy

__all__ = [
    "MATCHERS",
    "MISSING",
    "MatchResult",
    "Missing",
    "custom_check",
    "default_matcher",
    "match",
    "normalize_text",
    "parse_date",
    "parse_time",
    "phone_digits",
    "resolve_custom",
    "show",
    "typed_equal",
]


def _equals(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if typed_equal(expected, actual):
        return ok(actual, f"equals {show(expected)}")
    kind = ""
    if type(expected) is not type(actual) and not (is_number(expected) and is_number(actual)):
        kind = f" (expected a {type(expected).__name__}, got a {type(actual).__name__})"
    return no(actual, f"expected {show(expected)}, got {show(actual)}{kind}")


def _text(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = normalize_text(expected), normalize_text(actual)
    if want == got:
        return ok(got, f"text matches {show(expected)} (ignoring case and spacing)")
    return no(got, f"expected text {show(expected)}, got {show(actual)}")


def _approx(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = as_float(expected), as_float(actual)
    if want is None:
        return no(
            actual, f"approx needs a number to compare with, the suite gives {show(expected)}"
        )
    if got is None:
        return no(actual, f"expected a number near {show(expected)}, got {show(actual)}")
    abs_tol = float(options.get("abs", 0.0))
    rel_tol = float(options.get("rel", 1e-9))
    tolerance = f"±{abs_tol:g}" if "abs" in options else f"±{rel_tol:.0%}"
    if math.isclose(got, want, abs_tol=abs_tol, rel_tol=rel_tol):
        return ok(got, f"{got:g} is within {tolerance} of {want:g}")
    return no(got, f"{got:g} is not within {tolerance} of {want:g}")


def _regex(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    flags = re.IGNORECASE if options.get("ignore_case") else 0
    text = actual if isinstance(actual, str) else show(actual)
    try:
        found = re.search(str(expected), text, flags)
    except re.error as exc:
        return no(actual, f"invalid regular expression {show(expected)}: {exc}")
    if found:
        return ok(actual, f"matches /{expected}/")
    return no(actual, f"{show(actual)} does not match /{expected}/")


def _one_of(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    choices = expected if isinstance(expected, list) else [expected]
    if any(same(choice, actual, strings) for choice in choices):
        return ok(actual, f"{show(actual)} is one of {show(choices)}")
    return no(actual, f"expected one of {show(choices)}, got {show(actual)}")


def _contains(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if isinstance(actual, list):
        if any(same(expected, item, strings) for item in actual):
            return ok(actual, f"list contains {show(expected)}")
        return no(actual, f"expected the list to contain {show(expected)}, got {show(actual)}")
    if normalize_text(expected) in normalize_text(actual):
        return ok(actual, f"contains {show(expected)}")
    return no(actual, f"expected text containing {show(expected)}, got {show(actual)}")


def _set(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want = sorted(canonical_key(v, strings) for v in as_list(expected))
    got = sorted(canonical_key(v, strings) for v in as_list(actual))
    if want == got:
        return ok(actual, f"same items as {show(expected)} (any order)")
    extra = [v for v in as_list(actual) if canonical_key(v, strings) not in want]
    lacking = [v for v in as_list(expected) if canonical_key(v, strings) not in got]
    parts = [f"missing {show(lacking)}"] if lacking else []
    parts += [f"extra {show(extra)}"] if extra else []
    detail = ", ".join(parts) or "different counts of the same items"
    return no(actual, f"expected the items {show(expected)}, got {show(actual)}: {detail}")


def _subset(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    got = {canonical_key(v, strings) for v in as_list(actual)}
    lacking = [v for v in as_list(expected) if canonical_key(v, strings) not in got]
    if not lacking:
        return ok(actual, f"includes all of {show(expected)}")
    return no(
        actual, f"expected at least {show(expected)}, got {show(actual)}: missing {show(lacking)}"
    )


def _absent(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if expected is False:
        return _present(True, actual, options, strings)
    if actual is MISSING:
        return ok(actual, "not extracted, as expected")
    return no(actual, f"expected nothing, got {show(actual)}")


def _present(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    if expected is False:
        return _absent(True, actual, options, strings)
    if actual is MISSING:
        return no(actual, "expected a value, got nothing")
    return ok(actual, f"extracted {show(actual)}")


def _date(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = parse_date(expected), parse_date(actual)
    if want is None:
        return no(actual, f"the suite's date {show(expected)} is not a date (write YYYY-MM-DD)")
    if got is None:
        return no(actual, f"expected the date {want.isoformat()}, got {show(actual)} (not a date)")
    if want == got:
        return ok(got.isoformat(), f"same date {want.isoformat()}")
    return no(got.isoformat(), f"expected the date {want.isoformat()}, got {got.isoformat()}")


def _email(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want = str(expected).strip().casefold()
    got = actual.strip().casefold() if isinstance(actual, str) else show(actual)
    if want == got:
        return ok(got, f"same address {want}")
    return no(got, f"expected the address {want}, got {show(actual)}")


def _phone(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want = phone_digits(expected)
    got = phone_digits(actual) if isinstance(actual, str | int) else ""
    if not got:
        return no(actual, f"expected the phone number {want}, got {show(actual)}")
    if want == got:
        return ok(got, f"same number {want}")
    # One side may carry the country code and the other not: compare the national part.
    short, long = sorted((want.lstrip("+"), got.lstrip("+")), key=len)
    if len(short) >= 7 and long.endswith(short) and len(long) - len(short) <= 3:
        return ok(got, f"same number {want} (country code aside)")
    return no(got, f"expected the phone number {want}, got {got}")


def _fuzzy(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    threshold = float(options.get("threshold", 0.85))
    want, got = normalize_text(expected), normalize_text(actual)
    ratio = difflib.SequenceMatcher(None, want, got).ratio()
    if ratio >= threshold:
        return ok(got, f"{ratio:.0%} similar to {show(expected)} (≥ {threshold:.0%})", ratio)
    return no(got, f"only {ratio:.0%} similar to {show(expected)} (needs {threshold:.0%})", ratio)


def _time(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    want, got = parse_time(expected), parse_time(actual)
    if want is None:
        hint = " (YAML reads unquoted 12:30 as a number: quote it)" if is_number(expected) else ""
        return no(actual, f"the suite's time {show(expected)} is not a time{hint}")
    if got is None:
        return no(actual, f"expected the time {want.isoformat()}, got {show(actual)} (not a time)")
    if want == got:
        return ok(got.isoformat(), f"same time {want.isoformat()}")
    return no(got.isoformat(), f"expected the time {want.isoformat()}, got {got.isoformat()}")


def _not(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    name, inner = match(expected, actual, strings=strings)
    if inner.passed:
        return no(inner.actual, f"expected {name} to fail, but {inner.reason}")
    return ok(inner.actual, f"not {name}: {inner.reason}")


def _all_of(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    results = [match(check, actual, strings=strings) for check in expected]
    failed = [f"{name}: {r.reason}" for name, r in results if not r.passed]
    score = min(r.score for _, r in results)
    if failed:
        return no(
            actual, f"{len(failed)} of {len(results)} checks failed: {'; '.join(failed)}", score
        )
    return ok(actual, f"all {len(results)} checks passed", score)


def _any_of(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    results = [match(check, actual, strings=strings) for check in expected]
    passed = [f"{name}: {r.reason}" for name, r in results if r.passed]
    score = max(r.score for _, r in results)
    if passed:
        return ok(actual, f"passed {passed[0]}", score)
    reasons = "; ".join(f"{name}: {r.reason}" for name, r in results)
    return no(actual, f"none of {len(results)} checks passed: {reasons}", score)


def _python(
    expected: Any, actual: Any, options: Mapping[str, Any], strings: StringPolicy
) -> MatchResult:
    try:
        function = resolve_custom(str(expected))  # imported when its suite was loaded
    except ValueError as exc:
        return no(actual, str(exc))
    try:
        outcome = function(actual, **dict(options.get("args") or {}))
    except Exception as exc:  # the user's code failed: a verdict with the reason, not a crash
        return no(actual, f"python check {expected} raised {type(exc).__name__}: {exc}")
    if isinstance(outcome, MatchResult):
        return outcome
    if isinstance(outcome, tuple) and len(outcome) == 2:
        passed, reason = bool(outcome[0]), str(outcome[1])
    else:
        passed, reason = bool(outcome), f"{expected} returned {show(outcome)}"
    return ok(actual, reason) if passed else no(actual, reason)


MatcherFn = Callable[[Any, Any, Mapping[str, Any], StringPolicy], MatchResult]
"""The signature of a comparator."""

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
        return name, no(MISSING, f"expected {show(check.value)}, got nothing (not extracted)")
    return name, MATCHERS[name](check.value, actual, check.options, strings)
