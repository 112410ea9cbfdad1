"""Finders for dates and times in a user's message (pure functions).

Dates come back as ISO strings (`2026-03-01`), times as `HH:MM` (24-hour). Relative dates
("tomorrow", "next Friday", "in 3 days", "the 15th") are resolved against the user's date, which
the dialogue takes from the session's `clientTime` in its time zone; without it they are not found.

Numeric dates: `2026-03-01` (ISO), `15.03.2026` / `15-03-2026` (day first), `3/15/2026` (month
first, as in the US; day first when the first number cannot be a month, `15/03/2026`); a two-digit
year is in this century. Times: `15:30`, `10.30`, `14h00`, `3pm`, `3:15 p.m.`, `noon`, and spoken
times, `half past two`, `quarter to four`, `ten past nine`, `three o'clock`. A time without
`am`/`pm` is read as written (`2:30` and `half past two` are 02:30) unless a part of the day
follows: `half past two in the afternoon` is 14:30, `8 o'clock in the morning` is 08:00.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from evalkit.emulator.finders import (
    ISO_DATE,
    NUMERIC_DATE,
    Found,
    non_overlapping,
    parse_number_words,
)

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
_ORDINAL_DAY = re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(today|tomorrow|yesterday|the day after tomorrow)\b", re.IGNORECASE)
_IN_DAYS = re.compile(
    r"\bin\s+(\d{1,3}|a|one|two|three|four|five|six|seven)\s+(days?|weeks?)\b", re.IGNORECASE
)
_WEEKDAY = re.compile(
    r"\b(?:(next|this coming|this|on|coming)\s+)?"
    r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}

_HOUR_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_HOUR = rf"(1[0-2]|0?[1-9]|{_HOUR_WORDS})"
_UNIT_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_MINUTE_WORDS = (
    rf"(?:twenty|thirty|forty|fifty)(?:[\s-](?:{_UNIT_WORDS}))?|ten|eleven|twelve|thirteen|"
    rf"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|{_UNIT_WORDS}"
)
_DIGITAL = re.compile(r"(?<![\d:./])([01]?\d|2[0-3])(?::|\.|h)([0-5]\d)(?![\d:]|\.\d)")
_HOUR_AM_PM = re.compile(r"(?<![\d:./])(1[0-2]|0?[1-9])(?=\s*[ap]\.?m\.?(?!\w))", re.IGNORECASE)
_SPOKEN = re.compile(
    rf"\b(half|(?:a\s+)?quarter|[1-5]?\d|{_MINUTE_WORDS})(?:\s+minutes?)?\s+"
    rf"(past|after|to|till|before)\s+{_HOUR}(?!\w|:\d)",
    re.IGNORECASE,
)
_OCLOCK = re.compile(rf"\b{_HOUR}\s*o'?\s*clock\b", re.IGNORECASE)
_MERIDIEM = re.compile(
    r"\s*(?:([ap])\.?m\.?(?!\w)|(?:in\s+the\s+)?(morning|afternoon|evening)\b|(tonight)\b)",
    re.IGNORECASE,
)
_NAMED_TIMES = re.compile(r"\b(noon|midday|midnight)\b", re.IGNORECASE)


def find_dates(text: str, today: date | None = None, *, relative: bool = True) -> list[Found]:
    """Find dates as ISO strings.

    Understood: "2026-03-01", "15.03.2026", "3/15/2026", "15/03/26", "1 March 1990", "March 1",
    and, with `relative`, "today", "tomorrow", "in 3 days", "in 2 weeks", "Friday",
    "next Friday", "the 15th".

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
    for m in NUMERIC_DATE.finditer(text):
        first, second = int(m.group(1)), int(m.group(3))
        full_year = int(m.group(4)) + (2000 if len(m.group(4)) == 2 else 0)
        month_first = m.group(2) == "/" and first <= 12
        _add(found, m, full_year, *((first, second) if month_first else (second, first)))
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
        days = (int(count) if count.isdigit() else _SMALL[count]) * (
            7 if m.group(2).lower().startswith("week") else 1
        )
        found.append(Found((today + timedelta(days=days)).isoformat(), m.start(), m.end()))
    for m in _WEEKDAY.finditer(text):
        ahead = (_WEEKDAYS.index(m.group(2).lower()) - today.weekday()) % 7
        # "Friday" on a Friday means today; "next Friday" always means a day still to come.
        if m.group(1) and m.group(1).lower() == "next" and ahead == 0:
            ahead = 7
        found.append(Found((today + timedelta(days=ahead)).isoformat(), m.start(), m.end()))
    for m in _ORDINAL_DAY.finditer(text):
        nearest = _next_day_of_month(today, int(m.group(1)))
        if nearest is not None:
            found.append(Found(nearest.isoformat(), m.start(), m.end()))
    return found


def _next_day_of_month(today: date, day: int) -> date | None:
    """The first date on or after today whose day of the month is `day` ("the 15th")."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:  # "the 31st" in a 30-day month: the next month that has one
            candidate = today - timedelta(days=1)
        if candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def find_times(text: str) -> list[Found]:
    """Find times of day as `HH:MM` (24-hour).

    Understood: "10:30", "10.30", "14h00", "3pm", "3:15 p.m.", "noon", "midnight", "half past
    two", "quarter to four", "ten past nine", "three o'clock", each optionally followed by a part
    of the day ("in the afternoon") that moves a 12-hour time after noon.

    Returns:
        The times, in text order.
    """
    found: list[Found] = []
    for m in _DIGITAL.finditer(text):
        _add_time(found, text, m.start(), m.end(), int(m.group(1)), int(m.group(2)))
    for m in _HOUR_AM_PM.finditer(text):
        _add_time(found, text, m.start(), m.end(), int(m.group(1)), 0)
    for m in _OCLOCK.finditer(text):
        _add_time(found, text, m.start(), m.end(), _hour(m.group(1)), 0)
    for m in _SPOKEN.finditer(text):
        hour, minutes = _hour(m.group(3)), _minutes(m.group(1))
        if minutes is None or not 0 < minutes < 60:
            continue
        if m.group(2).lower() in ("to", "till", "before"):
            hour, minutes = (hour - 1) or 12, 60 - minutes
        _add_time(found, text, m.start(), m.end(), hour, minutes)
    for m in _NAMED_TIMES.finditer(text):
        value = "00:00" if m.group(1).lower() == "midnight" else "12:00"
        found.append(Found(value, m.start(), m.end()))
    return non_overlapping(found)


def _add_time(found: list[Found], text: str, start: int, end: int, hour: int, minute: int) -> None:
    """Add a time, applying an "am"/"pm" or a part of the day written after it."""
    marker = _MERIDIEM.match(text, end)
    if marker is not None:
        am_pm, part, tonight = marker.group(1), marker.group(2), marker.group(3)
        afternoon = (am_pm or "").lower() == "p" or tonight is not None
        afternoon = afternoon or (part or "").lower() in ("afternoon", "evening")
        if 0 < hour <= 12:  # "15:00 pm" is 15:00: the marker adds nothing
            hour = hour % 12 + (12 if afternoon else 0)
        end = marker.end()
    found.append(Found(f"{hour:02d}:{minute:02d}", start, end))


def _hour(word: str) -> int:
    return int(word) if word.isdigit() else _HOUR_WORDS.split("|").index(word.lower()) + 1


def _minutes(words: str) -> int | None:
    words = words.lower()
    if words == "half":
        return 30
    if words.endswith("quarter"):
        return 15
    return int(words) if words.isdigit() else parse_number_words(words)


def _add(found: list[Found], m: re.Match[str], year: int, month: int, day: int) -> None:
    try:
        found.append(Found(date(year, month, day).isoformat(), m.start(), m.end()))
    except ValueError:  # "February 30": not a date, so not extracted
        return
