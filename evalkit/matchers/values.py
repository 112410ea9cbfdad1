"""What comparators compare with: the result type, MISSING, and value normalisation and parsing."""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final

from evalkit.suite import StringPolicy

__all__ = [
    "MISSING",
    "MatchResult",
    "Missing",
    "as_float",
    "as_list",
    "canonical_key",
    "is_number",
    "no",
    "normalize_text",
    "ok",
    "parse_date",
    "parse_time",
    "phone_digits",
    "same",
    "show",
    "typed_equal",
]


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


def show(value: Any) -> str:
    """Render a value compactly for a reason message."""
    if value is MISSING:
        return "nothing"
    return json.dumps(value, ensure_ascii=False, default=str)


def ok(actual: Any, reason: str, score: float = 1.0) -> MatchResult:
    """A passing result."""
    return MatchResult(True, score, actual, reason)


def no(actual: Any, reason: str, score: float = 0.0) -> MatchResult:
    """A failing result."""
    return MatchResult(False, score, actual, reason)


def normalize_text(value: Any) -> str:
    """Case-fold, Unicode-normalise (NFKC) and collapse whitespace."""
    text = value if isinstance(value, str) else show(value)
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_number(value: Any) -> bool:
    """Whether a value is a JSON number (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def typed_equal(expected: Any, actual: Any) -> bool:
    """Equality that respects JSON types: 30 == 30.0, but "30" != 30 and True != 1."""
    if is_number(expected) and is_number(actual):
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


def canonical_key(value: Any, strings: StringPolicy) -> str:
    """A canonical key for set comparisons."""
    if isinstance(value, str):
        return "s:" + (normalize_text(value) if strings == "normalized" else value)
    if is_number(value):
        return f"n:{float(value)!r}"
    return "j:" + json.dumps(value, sort_keys=True, default=str)


def same(expected: Any, actual: Any, strings: StringPolicy) -> bool:
    """Equality of two values, strings normalised when the policy says so."""
    if isinstance(expected, str) and isinstance(actual, str) and strings == "normalized":
        return normalize_text(expected) == normalize_text(actual)
    return typed_equal(expected, actual)


def as_float(value: Any) -> float | None:
    """A number, or a numeric string (thousands separators allowed), as a float; else None."""
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def as_list(value: Any) -> list[Any]:
    """A list as is; any other value as a one-item list."""
    return value if isinstance(value, list) else [value]


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


def phone_digits(value: Any) -> str:
    """Digits of a phone number, with a leading + kept: "+1 (555) 010-2030" → "+15550102030"."""
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    return ("+" + digits) if text.startswith(("+", "00")) and digits else digits


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
