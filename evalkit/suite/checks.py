"""Expectations as a suite writes them: the matcher names, their options, and `Check`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_serializer,
)

__all__ = [
    "COMPOSITE_MATCHERS",
    "MATCHER_HELP",
    "MATCHER_NAMES",
    "MATCHER_OPTIONS",
    "REPLY_MATCHERS",
    "Check",
    "Expectation",
    "MatcherName",
    "StrictModel",
    "StringPolicy",
    "UnexpectedPolicy",
    "parse_check",
]

MatcherName = Literal[
    "equals",
    "text",
    "approx",
    "regex",
    "one_of",
    "contains",
    "set",
    "subset",
    "absent",
    "present",
    "date",
    "time",
    "email",
    "phone",
    "fuzzy",
    "not",
    "all_of",
    "any_of",
    "python",
]
"""Every matcher a suite can name."""

MATCHER_NAMES: tuple[str, ...] = get_args(MatcherName)

COMPOSITE_MATCHERS: frozenset[str] = frozenset({"not", "all_of", "any_of"})
"""Matchers whose value is another expectation (`not`) or a list of them (`all_of`, `any_of`)."""

MATCHER_OPTIONS: dict[str, frozenset[str]] = {
    "approx": frozenset({"abs", "rel"}),
    "regex": frozenset({"ignore_case"}),
    "fuzzy": frozenset({"threshold"}),
    "python": frozenset({"args"}),
}
"""Options a matcher accepts beside its name; a matcher not listed takes none."""

MATCHER_HELP: dict[str, str] = {
    "equals": 'Type-aware equality: 30 equals 30.0, but not "30"; lists in order, objects by key.',
    "text": "Text equal after case folding, Unicode normalisation and collapsing whitespace.",
    "approx": "A number (or numeric text) within `abs` (absolute) or `rel` (relative) tolerance.",
    "regex": "Text matching the regular expression anywhere (re.search); `ignore_case: true`.",
    "one_of": "Equal (as a bare value compares) to one of the listed values.",
    "contains": "A list holding the value, or text containing it (case-insensitive).",
    "set": "The same items as the list, in any order.",
    "subset": "At least the listed items, in any order.",
    "absent": "`true`: the field was not extracted (a null value counts as extracted).",
    "present": "`true`: the field was extracted, whatever its value.",
    "date": "The same calendar date: ISO text, written dates, datetimes (quote YYYY-MM-DD).",
    "time": "The same time of day: `14:30`, `2:30 pm`, `14:30:00`, or a datetime's time.",
    "email": "The same address, ignoring case and surrounding spaces.",
    "phone": "The same digits (+ kept); a missing country code of up to 3 digits is tolerated.",
    "fuzzy": "Normalised text at least `threshold` similar (default 0.85, difflib ratio).",
    "not": "Passes when the expectation it holds fails.",
    "all_of": "Passes when every expectation in the list passes.",
    "any_of": "Passes when at least one expectation in the list passes.",
    "python": "`module:function` decorated with @evalkit.custom_check, called as "
    "function(actual, **args); returns a bool, (bool, reason) or a MatchResult.",
}
"""One line per matcher: what passes. The reason messages are described in the README."""

REPLY_MATCHERS: frozenset[str] = frozenset(
    {"contains", "regex", "text", "fuzzy", "equals", "not", "all_of", "any_of", "python"}
)
"""Matchers that make sense on the assistant's reply text."""

_PYTHON_SPEC = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
)

UnexpectedPolicy = Literal["fail", "warn", "ignore"]
"""What an extracted field that a turn did not expect does to the verdict."""

StringPolicy = Literal["normalized", "exact"]
"""How a bare string expectation is compared: case/whitespace-normalised, or exactly."""


class StrictModel(BaseModel):
    """Base of the input models: unknown keys are errors, field docstrings are schema help."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Check(StrictModel):
    """One expectation: a matcher, its expected value and its options."""

    matcher: MatcherName | None = None
    """The matcher; None for a bare value, compared with the default matcher for its type."""
    value: Any = None
    """The expected value (for `absent` / `present`: `true`)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Matcher options, e.g. `abs` for `approx`."""

    @model_serializer
    def _as_written(self) -> Any:
        """Serialise as a suite spells it: a bare value, or `{matcher: value, **options}`."""
        if self.matcher is None:
            return {"equals": self.value} if isinstance(self.value, dict) else self.value
        value = self.value
        if isinstance(value, Check):
            value = value._as_written()
        elif isinstance(value, list) and self.matcher in COMPOSITE_MATCHERS:
            value = [v._as_written() if isinstance(v, Check) else v for v in value]
        return {self.matcher: value, **self.options}


def parse_check(raw: Any) -> Any:
    """Turn the YAML spelling of an expectation into the fields of a `Check`.

    Args:
        raw: A bare value, or a mapping with exactly one matcher name as a key.

    Returns:
        A mapping for `Check` validation (an existing `Check` is returned as is).

    Raises:
        ValueError: The mapping names no matcher, several, or an option the matcher does not take.
    """
    if isinstance(raw, Check):
        return raw
    if not isinstance(raw, dict) or not raw:
        return {"matcher": None, "value": raw}
    names = [k for k in raw if k in MATCHER_NAMES]
    if len(names) != 1:
        found = f"found {', '.join(map(str, names))}" if names else "found none"
        raise ValueError(
            f"a mapping expectation names exactly one matcher ({found}); valid matchers: "
            f"{', '.join(MATCHER_NAMES)}. To expect an object value, write {{equals: {{...}}}}"
        )
    name = names[0]
    options = {k: v for k, v in raw.items() if k != name}
    allowed = MATCHER_OPTIONS.get(name, frozenset())
    unknown = sorted(str(k) for k in options if k not in allowed)
    if unknown:
        valid = ", ".join(sorted(allowed)) if allowed else "none"
        raise ValueError(
            f"matcher {name!r} does not take {', '.join(unknown)}; its options: {valid}"
        )
    value = raw[name]
    if name == "not":
        value = _nested(value)
    elif name in COMPOSITE_MATCHERS:
        if not isinstance(value, list) or not value:
            raise ValueError(f"{name} takes a non-empty list of expectations, got {value!r}")
        value = [_nested(item) for item in value]
    elif name == "python":
        if not isinstance(value, str) or not _PYTHON_SPEC.fullmatch(value):
            raise ValueError(f"python takes `module:function`, got {value!r}")
        if not isinstance(options.get("args", {}), dict):
            raise ValueError("python's `args` must be a mapping of keyword arguments")
    return {"matcher": name, "value": value, "options": options}


def _nested(raw: Any) -> Check:
    """An expectation inside a composite, validated now so that its errors surface with it."""
    return Check.model_validate(parse_check(raw))


Expectation = Annotated[
    Check,
    BeforeValidator(parse_check),
    WithJsonSchema({"$comment": "evalkit:Expectation"}),
]
"""A `Check` as written in YAML (the schema export points the marker at `$defs/Expectation`)."""
