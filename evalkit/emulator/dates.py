"""Finders for dates and times in a user's message (pure functions).

Dates come back as ISO strings (`2026-03-01`), times as `HH:MM` (24-hour). Relative dates
("tomorrow", "next Friday", "in 3 days") are resolved against the user's date, which the dialogue
takes from the session's `clientTime` in its time zone; without it they are not found.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from evalkit.emulator.finders import ISO_DATE, Found, non_overlapping

__all__ = ["find_dates", "find_times"]

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DMY = re.compile(rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\.?,?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_MDY = re.compile(rf"\b({_MONTH})\.?\s+{_DAY},?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_DOTTED = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d.])")  # 15.03.2026: D.M.Y
_SLASHED = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")  # 3/15/2026: M/D/Y
_RELATIVE = re.compile(r"\b(today|tomorrow|yesterday|the day after tomorrow)\b", re.IGNORECASE)
_IN_DAYS = re.compile(r"\bin\s+(\d{1,3}|a|one|two|three|four|five|six|seven)\s+days?\b", re.I)
_WEEKDAY = re.compile(
    r"\b(?:(next|this|on|coming)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_CLOCK = re.compile(
    r"(?<![\d:.])([01]?\d|2[0-3])(?::|\.|h)([0-5]\d)(?:\s*([ap])\.?m\.?)?(?![\d:])"
    r"|(?<![\d:.])(1[0-2]|0?[1-9])\s*([ap])\.?m\.?(?!\w)",
    re.IGNORECASE,
)
_NAMED_TIMES = re.compile(r"\b(noon|midday|midnight)\b", re.IGNORECASE)


def find_dates(text: str, today: date | None = None, *, relative: bool = True) -> list[Found]:
    """Find dates as ISO strings.

    Understood: "2026-03-01", "15.03.2026", "3/15/2026", "1 March 1990", "March 1", and, with
    `relative`, "today", "tomorrow", "in 3 days", "Friday", "next Friday".

    Args:
        text: The text.
        today: The user's date; a date without a year, and a relative date, need it.
        relative: Whether relative dates count.

    Returns:
        The dates, in text order, longest match first where two overlap.
    """
    found: list[Found] = []
    for m in ISO_DATE.finditer(text):
        _add(found, m, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in _DOTTED.finditer(text):
        _add(found, m, int(m.group(3)), int(m.group(2)), int(m.group(1)))
    for m in _SLASHED.finditer(text):
        _add(found, m, int(m.group(3)), int(m.group(1)), int(m.group(2)))
    for regex, day_group, month_group in ((_DMY, 1, 2), (_MDY, 2, 1)):
        for m in regex.finditer(text):
            year = int(m.group(3)) if m.group(3) else (today.year if today else None)
            if year is not None:
                month = _MONTH_NAMES.index(m.group(month_group)[:3].lower()) + 1
                _add(found, m, year, month, int(m.group(day_group)))
    if today is not None and relative:
        found += _relative(text, today)
    return non_overlapping(found)


def _relative(text: str, today: date) -> list[Found]:
    found = []
    shifts = {"today": 0, "tomorrow": 1, "yesterday": -1, "the day after tomorrow": 2}
    for m in _RELATIVE.finditer(text):
        day = today + timedelta(days=shifts[m.group(1).lower()])
        found.append(Found(day.isoformat(), m.start(), m.end()))
    for m in _IN_DAYS.finditer(text):
        count = m.group(1).lower()
        days = int(count) if count.isdigit() else _SMALL[count]
        found.append(Found((today + timedelta(days=days)).isoformat(), m.start(), m.end()))
    for m in _WEEKDAY.finditer(text):
        ahead = (_WEEKDAYS.index(m.group(2).lower()) - today.weekday()) % 7
        # "Friday" on a Friday means today; "next Friday" always means a day still to come.
        if m.group(1) and m.group(1).lower() == "next" and ahead == 0:
            ahead = 7
        found.append(Found((today + timedelta(days=ahead)).isoformat(), m.start(), m.end()))
    return found


def find_times(text: str) -> list[Found]:
    """Find times of day as `HH:MM`: "10:30", "3pm", "3:15 p.m.", "14h00", "noon".

    Returns:
        The times, in text order.
    """
    found = []
    for m in _CLOCK.finditer(text):
        if m.group(1) is not None:
            hour, minute, half = int(m.group(1)), int(m.group(2)), m.group(3)
        else:
            hour, minute, half = int(m.group(4)), 0, m.group(5)
        if half is not None:
            if hour > 12:
                continue
            hour = hour % 12 + (12 if half.lower() == "p" else 0)
        found.append(Found(f"{hour:02d}:{minute:02d}", m.start(), m.end()))
    for m in _NAMED_TIMES.finditer(text):
        value = "00:00" if m.group(1).lower() == "midnight" else "12:00"
        found.append(Found(value, m.start(), m.end()))
    return non_overlapping(found)


def _add(found: list[Found], m: re.Match[str], year: int, month: int, day: int) -> None:
    try:
        found.append(Found(date(year, month, day).isoformat(), m.start(), m.end()))
    except ValueError:  # "February 30": not a date, so not extracted
        return
