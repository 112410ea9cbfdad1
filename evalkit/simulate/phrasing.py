"""How a simulated person says a value: templates per value type, chosen by a seeded draw.

Every choice takes a `random.Random` the caller seeded, so the same seed and the same question
give the same words. Nothing here invents a value: it only writes the one it is given.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

__all__ = [
    "ValueKind",
    "declining",
    "kind_of",
    "lacking",
    "number_words",
    "phrase",
    "write_date",
    "write_value",
]

ValueKind = Literal["name", "email", "phone", "number", "date", "boolean", "option", "text"]
"""The template family a value is said with."""

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_PHONE = re.compile(r"^\+?[\d ()./-]{6,}$")
_MONTHS = (
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
_ONES = tuple(
    [
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
    ]
)
_TENS = tuple(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])

# {v}: the value as written; {label}: the field's name in words.
_TERSE: dict[ValueKind, tuple[str, ...]] = {
    "name": ("{v}", "{v}", "It's {v}"),
    "email": ("{v}", "It's {v}", "{v}"),
    "phone": ("{v}", "My number is {v}", "{v}"),
    "number": ("{v}", "{v}", "{v}"),
    "date": ("{v}", "{v}", "On {v}"),
    "boolean": ("{v}", "{v}"),
    "option": ("{v}", "{v}", "{v}, please"),
    "text": ("{v}", "{v}"),
}
_CHATTY: dict[ValueKind, tuple[str, ...]] = {
    "name": ("Sure! My {label} is {v}.", "Of course, my {label} is {v}.", "I'm {v}, hello!"),
    "email": (
        "Sure, my email is {v}.",
        "You can write to me at {v}, thanks!",
        "Of course, it's {v}.",
    ),
    "phone": (
        "Sure, my phone number is {v}.",
        "You can call me on {v}.",
        "Of course, it's {v}.",
    ),
    "number": ("Sure, it's {v}.", "That would be {v}.", "{v}, I think. Yes, {v}."),
    "date": ("That would be {v}.", "Let's say {v}.", "Sure: {v}."),
    "boolean": ("{v}, thanks for asking.", "Hmm, {v}."),
    "option": ("I'd go with {v}, please.", "{v} would be great.", "Let's do {v}."),
    "text": ("Sure: {v}.", "Well, {v}.", "Of course. {v}."),
}
_WITH_LABEL = ("and my {label} is {v}", "my {label} is {v}", "also, my {label} is {v}")
_CORRECTING = (
    "Sorry, I got that wrong: my {label} is {v}.",
    "Oops, correction: my {label} is actually {v}.",
    "Sorry, my mistake. My {label} is {v}.",
)
_LACKING = ("I don't have one.", "I don't have that, sorry.", "I don't have one, sorry.")
_DECLINING = ("I'd rather not say.", "I'd prefer not to share that.", "I'd rather not say, sorry.")


def kind_of(value: Any, options: bool = False) -> ValueKind:
    """The template family for a value (`options`: the field is a select)."""
    if options:
        return "option"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "option"
    text = str(value)
    if "@" in text and " " not in text.strip():
        return "email"
    if _ISO_DATE.match(text):
        return "date"
    if _PHONE.match(text) and sum(c.isdigit() for c in text) >= 6:
        return "phone"
    if text and all(part[:1].isupper() for part in text.split()) and len(text.split()) <= 3:
        return "name"
    return "text"


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
    """An ISO date written `iso` (as is), `written` (27 November 2026) or `us` (11/27/2026)."""
    found = _ISO_DATE.match(text)
    if found is None or style == "iso":
        return text
    try:
        day = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return text
    if style == "written":
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{day.month}/{day.day}/{day.year}"


def write_value(
    value: Any,
    *,
    numbers: str = "digits",
    dates: str = "iso",
    labels: dict[str, str] | None = None,
) -> str:
    """The value in words: numbers as digits or words, dates in a style, options by label.

    Args:
        value: The persona's value.
        numbers: `digits` or `words` (whole numbers only; others stay digits).
        dates: `iso`, `written` or `us`.
        labels: Option value → the words to say it with (its label, or the value itself).
    """
    if isinstance(value, list):
        parts = [write_value(v, numbers=numbers, dates=dates, labels=labels) for v in value]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        whole = float(value).is_integer() and abs(value) < 1_000_000
        if numbers == "words" and whole:
            return number_words(int(value))
        return str(int(value)) if whole else str(value)
    text = str(value)
    if labels and text in labels:
        return labels[text]
    return write_date(text, dates)


def _label(field: str) -> str:
    return field.replace("_", " ").replace("-", " ")


def phrase(
    rng: random.Random,
    kind: ValueKind,
    written: str,
    field: str,
    *,
    chatty: bool,
    label: str | None = None,
) -> str:
    """One answer for one value, the template drawn from `rng`."""
    family = (_CHATTY if chatty else _TERSE)[kind]
    template = family[rng.randrange(len(family))]
    return template.format(v=written, label=(label or _label(field)).lower())


def with_label(rng: random.Random, written: str, field: str, label: str | None = None) -> str:
    """A volunteered value, named so the listener knows which field it is."""
    template = _WITH_LABEL[rng.randrange(len(_WITH_LABEL))]
    return template.format(v=written, label=(label or _label(field)).lower())


def correction(rng: random.Random, written: str, field: str, label: str | None = None) -> str:
    """A message that corrects a value said before."""
    template = _CORRECTING[rng.randrange(len(_CORRECTING))]
    return template.format(v=written, label=(label or _label(field)).lower())


def lacking(rng: random.Random) -> str:
    """What a person says when asked for something they do not have."""
    return _LACKING[rng.randrange(len(_LACKING))]


def declining(rng: random.Random) -> str:
    """What a person says when asked for something they would rather not give."""
    return _DECLINING[rng.randrange(len(_DECLINING))]


def join(parts: Sequence[str]) -> str:
    """Sentences of one message joined: `Jane, and my email is jane@example.com`."""
    return (
        ", ".join(p.rstrip(".") for p in parts[:-1])
        + (", " if len(parts) > 1 else "")
        + (parts[-1])
    )
