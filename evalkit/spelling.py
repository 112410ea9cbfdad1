"""How people write values out: whole numbers in English words, ISO dates in other styles.

The one place both the persona simulator (`evalkit.simulate.phrasing`) and the robustness
variants (`evalkit.variants`) take their wording from; it needs nothing but the standard library,
so it sits at the bottom of the layers.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["ISO_DATE", "MONTHS", "number_words", "write_date"]

ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
"""A whole ISO calendar date, `2026-11-27`, with year, month and day as groups."""

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
"""The months' English names, January first."""

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def number_words(value: int) -> str:
    """An integer from -999,999 to 999,999 in English words (`32` → `thirty-two`)."""
    if value < 0:
        return "minus " + number_words(-value)
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens - 2] + (f"-{_ONES[ones]}" if ones else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")
    if value < 1_000_000:
        thousands, rest = divmod(value, 1000)
        tail = "" if not rest else (" and " if rest < 100 else " ") + number_words(rest)
        return f"{number_words(thousands)} thousand{tail}"
    return str(value)


def write_date(text: str, style: str) -> str:
    """An ISO date in another style; any other text as it is.

    Styles: `iso` (as is), `written` (27 November 2026), `us` (11/27/2026), `month-first`
    (November 27, 2026) or `dotted` (27.11.2026).
    """
    found = ISO_DATE.match(text)
    if found is None or style == "iso":
        return text
    try:
        day = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return text
    month = MONTHS[day.month - 1]
    if style == "written":
        return f"{day.day} {month} {day.year}"
    if style == "month-first":
        return f"{month} {day.day}, {day.year}"
    if style == "dotted":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.month}/{day.day}/{day.year}"
