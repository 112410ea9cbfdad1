"""Protected spans: where the values a turn expects are written in its utterance.

Each expected value (of `expect` and `final`, through the matchers that compare a value the user
says) is looked for in the text, ignoring case, as a whole word: text as written; a whole number
as digits and as words; an ISO date in every style `evalkit.spelling.write_date` writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalkit.spelling import ISO_DATE, number_words, write_date
from evalkit.suite import Check

__all__ = ["Span", "ValueForm", "protected_spans", "words_pattern"]

ValueForm = Literal["text", "number", "date"]
"""What an expected value is: a number, an ISO date, or other text."""
_VALUE_MATCHERS = frozenset(
    {None, "equals", "text", "email", "phone", "date", "time", "approx", "fuzzy", "one_of"}
    | {"contains", "set", "subset"}
)
"""Matchers whose value is text the user says (not `regex`, `not`, `absent`, `python`)."""


@dataclass(frozen=True)
class Span:
    """Where an expected value is written in an utterance."""

    start: int
    """Offset of its first character."""
    end: int
    """Offset after its last character."""
    form: ValueForm
    """What the value is: a number, an ISO date, or other text."""
    value: Any
    """The expected value (a number as a number)."""


def _values(check: Check) -> Iterator[Any]:
    """The values a check says the user gives (nothing for negations, patterns, presence)."""
    if check.matcher in ("all_of", "any_of") and isinstance(check.value, list):
        for inner in check.value:
            if isinstance(inner, Check):
                yield from _values(inner)
        return
    if check.matcher not in _VALUE_MATCHERS:
        return
    for value in check.value if isinstance(check.value, list) else [check.value]:
        if not isinstance(value, bool | Check | dict | list) and value is not None:
            yield value


def _form(value: Any) -> ValueForm | None:
    if isinstance(value, int | float):
        return "number" if float(value).is_integer() and abs(value) < 1_000_000 else None
    text = str(value).strip()
    if ISO_DATE.match(text):
        return "date"
    return "text" if len(text) >= 2 else None


def words_pattern(words: str) -> str:
    """A case-insensitive pattern for words, any run of spaces or hyphens between them."""
    parts = [re.escape(p) for p in re.split(r"[\s-]+", words.strip()) if p]
    return r"[\s-]+".join(parts)


def _patterns(value: Any, form: ValueForm) -> list[str]:
    if form == "number":
        n = int(value)
        return [
            rf"(?<![\w.]){n}(?![\w]|[.,]\d)",
            rf"(?<![\w-]){words_pattern(number_words(n))}(?![\w-])",
        ]
    text = str(value).strip()
    if form == "date":
        styles = ("iso", "written", "us", "month-first", "dotted")
        return [rf"(?<![\w/.-]){re.escape(write_date(text, s))}(?![\w/-])" for s in styles]
    return [rf"(?<!\w){words_pattern(text)}(?!\w)"]


def protected_spans(text: str, checks: Sequence[Check]) -> list[Span]:
    """Every place in `text` where a value one of `checks` expects is written, in text order."""
    spans: list[Span] = []
    for check in checks:
        for value in _values(check):
            form = _form(value)
            if form is None:
                continue
            for pattern in _patterns(value, form):
                for m in re.finditer(pattern, text, re.IGNORECASE):
                    spans.append(Span(m.start(), m.end(), form, value))
    unique = set(spans)
    outer = [  # a name inside an email (`lily` in `lily@example.com`) is the email's
        s
        for s in unique
        if not any(
            o.start <= s.start and s.end <= o.end and o.end - o.start > s.end - s.start
            for o in unique
        )
    ]
    return sorted(outer, key=lambda s: (s.start, s.end))
