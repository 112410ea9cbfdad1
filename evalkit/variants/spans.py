"""Protected spans: where the values a turn expects are written in its utterance.

Each expected value (of `expect` and `final`, through the matchers that compare a value the user
says) is looked for in the text, ignoring case, as a whole word: text as written; a whole number
as digits and as words (not inside a date, time or range); an ISO date in every shape the
emulator reads one (which includes every style `evalkit.spelling.write_date` writes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalkit.spelling import ISO_DATE, number_words
from evalkit.suite import Check

__all__ = ["Span", "ValueForm", "number_shapes", "protected_spans", "words_pattern"]

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
            rf"(?<![\w.:/+-]){n}(?![\w:/]|-\d|[.,]\d)",
            rf"(?<![\w-]){words_pattern(number_words(n))}(?![\w-])",
        ]
    text = str(value).strip()
    if form == "date":
        return _date_patterns(text)
    return [rf"(?<!\w){words_pattern(text)}(?!\w)"]


_MONTH_NAMES = [
    "jan(?:uary)?",
    "feb(?:ruary)?",
    "mar(?:ch)?",
    "apr(?:il)?",
    "may",
    "june?",
    "july?",
    "aug(?:ust)?",
    "sep(?:t(?:ember)?)?",
    "oct(?:ober)?",
    "nov(?:ember)?",
    "dec(?:ember)?",
]
"""Each month's name as the emulator reads it (full or short), January first."""


def _date_patterns(iso: str) -> list[str]:
    """An ISO date in every shape the emulator reads one (`evalkit.emulator.dates`).

    ISO (`2026-12-15`, `2026-12-5`); day first with `.`, `-` or `/` and a four- or two-digit
    year (`15-12-2026`, `15.12.26`); month first with `/` (`12/15/2026`); a month's name
    before or after the day, short or full, with an ordinal, `of`, a comma, with or without
    the year (`15th of December, 2026`, `Dec. 15`).
    """
    found = ISO_DATE.match(iso)
    if found is None:
        return [rf"(?<![\w/.-]){re.escape(iso)}(?![\w/-])"]
    year, month, day = found[1], int(found[2]), int(found[3])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return [rf"(?<![\w/.-]){re.escape(iso)}(?![\w/-])"]
    d, m, y = f"0?{day}", f"0?{month}", f"(?:{year}|{year[2:]})"
    name = rf"(?:{_MONTH_NAMES[month - 1]})\.?"
    ordinal = rf"{d}(?:st|nd|rd|th)?"
    with_year = rf"(?:,?\s+{year})?"
    shapes = [
        rf"{year}-{m}-{d}",
        rf"{d}([./-]){m}\1{y}",
        rf"{m}/{d}/{y}",
        rf"{ordinal}\s+(?:of\s+)?{name}{with_year}",
        rf"{name}\s+{ordinal}{with_year}",
    ]
    return [rf"(?<![\w/.-]){shape}(?![\w/-]|\.\d)" for shape in shapes]


_SHAPES = re.compile(
    r"(?<![\w.])(?:"
    + "|".join(
        [
            r"\d{4}-\d{1,2}-\d{1,2}",  # ISO dates
            r"\d{1,2}([./-])\d{1,2}\1(?:\d{4}|\d{2})",  # 15.12.2026, 15-12-26, 3/15/2026
            rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{'|'.join(_MONTH_NAMES)})\b\.?"
            r"(?:,?\s+\d{4})?",  # 15 December 2026, 15th of Dec
            rf"(?:{'|'.join(_MONTH_NAMES)})\b\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
            r"(?:,?\s+\d{4})?",  # December 15, 2026
            r"\d{1,2}(?::|\.|h)\d{2}",  # times: 12:30, 10.30, 14h00
            r"\d{1,2}\s*[ap]\.?m\b\.?",  # 3pm, 3 p.m.
            r"\+?\(?\d[\d ().-]{5,22}\d",  # phone numbers
            r"\d+(?:\s*[-–]\s*\d+)+",  # ranges and dashed numbers: 9-5, 555-0100
        ]
    )
    + r")(?!\w)",
    re.IGNORECASE,
)


def number_shapes(text: str) -> list[tuple[int, int]]:
    """Where digits are part of a date, time, phone number or range: left alone by `numbers`.

    Dates in every shape the emulator reads (`15-12-2026`, `15 December 2026`, `Dec. 15`),
    times (`12:30`, `10.30`, `14h00`, `3 p.m.`), phone numbers (`+44 20 7946 0958`) and ranges
    or dashed numbers (`9-5`, `555-0100`), as (start, end) offsets in text order.
    """
    return [(m.start(), m.end()) for m in _SHAPES.finditer(text)]


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
