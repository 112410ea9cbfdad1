"""How a simulated person says a value: templates per value type, chosen by a seeded draw.

Every choice takes a `random.Random` the caller seeded, so the same seed and the same question
give the same words. Nothing here invents a value: it only writes the one it is given.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any, Literal

from evalkit.spelling import ISO_DATE, number_words, write_date
from evalkit.variants import Span, vary_utterance

__all__ = [
    "ValueKind",
    "confirming",
    "declining",
    "kind_of",
    "lacking",
    "number_words",
    "phrase",
    "with_typos",
    "write_date",
    "write_value",
]

ValueKind = Literal["name", "email", "phone", "number", "date", "boolean", "option", "text"]
"""The template family a value is said with."""

_PHONE = re.compile(r"^\+?[\d ()./-]{6,}$")

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
_CONFIRMING = ("Yes, please send it.", "Yes, that's all correct.", "Yes, go ahead.")
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
    if ISO_DATE.match(text):
        return "date"
    if _PHONE.match(text) and sum(c.isdigit() for c in text) >= 6:
        return "phone"
    if text and all(part[:1].isupper() for part in text.split()) and len(text.split()) <= 3:
        return "name"
    return "text"


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


def with_typos(
    rng: random.Random, said: str, written: str, field: str, label: str | None = None
) -> str:
    """An answer with keyboard-neighbour typos in its filler words (the `typos` variant's).

    The value as written and the field's name are protected spans: every occurrence of them is
    left exactly as it is, so the value reaches the listener verbatim.
    """
    keep = {written, (label or _label(field)).lower()}
    spans = [
        Span(m.start(), m.end(), "text", part)
        for part in keep
        if part
        for m in re.finditer(re.escape(part), said, re.IGNORECASE)
    ]
    return vary_utterance(said, spans, "typos", rng)


def lacking(rng: random.Random) -> str:
    """What a person says when asked for something they do not have."""
    return _LACKING[rng.randrange(len(_LACKING))]


def confirming(rng: random.Random) -> str:
    """What a person says when asked to confirm what they gave (all of it is right)."""
    return _CONFIRMING[rng.randrange(len(_CONFIRMING))]


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
