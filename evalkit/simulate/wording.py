"""What the LLM simulator's wording may say: the draft's values, and no others.

The model may reword the rules' draft, but a reply must carry exactly the values the draft
carries: every value of the draft (`keeps_value`), and no value of the persona the draft does
not give, no email, phone, number or date shape the draft does not have, and no option label or
value of the form's prompts the draft does not name (`added_values`, over `known_values`). A
draft with no value (a decline, a lack, a "yes" to a confirmation) needs a reply with no value
shape at all. A reply is also at most `max_reply_chars` long. `LlmSimulator` sends the draft
instead of a reply that breaks a rule, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from evalkit.simulate.asked import FieldHint
from evalkit.suite import Check, Persona
from evalkit.variants import protected_spans
from evalkit.variants.kinds import spelled_numbers
from evalkit.variants.spans import number_shapes

__all__ = ["MAX_OFFERED_OPTIONS", "added_values", "keeps_value", "known_values", "max_reply_chars"]

MAX_OFFERED_OPTIONS = 200
"""The options of one turn's prompts that a reply is checked against: a target decides how many
it offers, and each is looked for in the draft and the reply, so the check reads at most these
(the form's own options, when the form is known, are always read)."""


def _places(text: str, value: str) -> list[tuple[int, int]]:
    """Where `text` says `value`, as (start, end) offsets (see `keeps_value`)."""
    value = value.strip()
    if not value:
        return []
    if value.isascii() and value.isdigit() and str(int(value)) == value and int(value) < 1_000_000:
        spans = protected_spans(text, [Check(value=int(value))])  # digits or words
    elif len(value) < 2:
        found = re.finditer(rf"(?<!\w){re.escape(value)}(?!\w)", text, re.IGNORECASE)
        return [(m.start(), m.end()) for m in found]
    else:
        spans = protected_spans(text, [Check(value=value)])
    places = [(s.start, s.end) for s in spans]
    if _EMAIL.fullmatch(value):  # an address inside a longer one is another address
        places = [p for p in places if not _in_address(text, *p)]
    return places


def _in_address(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` goes on as a longer address (`mary.jane@...`, `...com.au`)."""
    before = text[start - 1] if start else ""
    return bool(re.match(r"[\w.+-]", before) or re.match(r"-|\.?\w", text[end:]))


def keeps_value(reply: str, value: str) -> bool:
    """Whether `reply` still says `value` (as the rules wrote it in the draft).

    The protected-span finder of the variants decides: ignoring case, as whole words, any run
    of spaces or hyphens between words; a whole number as digits or in words; an ISO date in
    any style evalkit writes. A one-character value is looked for as a whole word.
    """
    return not value.strip() or bool(_places(reply, value))


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGITS = re.compile(r"\d+")
_GONE = "\x00"  # what a place already read is blanked with (never a word character)


def _blank(text: str, places: Sequence[tuple[int, int]]) -> str:
    for start, end in places:
        text = text[:start] + _GONE * (end - start) + text[end:]
    return text


def _findings(text: str, values: Sequence[str], known: Sequence[str]) -> dict[str, str]:
    """The values and value shapes `text` holds besides `values`: {normal form: as written}.

    Read in this order, each place once: the draft's `values` (left out), then emails, each
    `known` value (longest first), dates, times, phone numbers and ranges, any other digits,
    numbers in words (2 and up: "one" is as often a pronoun).
    """
    text = _blank(text, [p for value in values for p in _places(text, value)])
    found: dict[str, str] = {}

    def take(kind: str, places: Sequence[tuple[int, int]], normal: Callable[[str], str]) -> None:
        nonlocal text
        for start, end in places:
            written = text[start:end]
            if _GONE not in written:
                found.setdefault(f"{kind}:{normal(written)}", written)
        text = _blank(text, places)

    take("email", [m.span() for m in _EMAIL.finditer(text)], str.casefold)
    for value in sorted(known, key=len, reverse=True):  # "Text message" before "Text"
        take("value", _places(text, value), _always(value.strip().casefold()))
    take("shape", number_shapes(text), lambda w: " ".join(re.findall(r"\w+", w.casefold())))
    # As written, less leading zeros: int() of 4,300 digits or more raises.
    take("number", [m.span() for m in _DIGITS.finditer(text)], lambda w: w.lstrip("0") or "0")
    spelled = spelled_numbers(text)
    take("number", [(start, end) for start, end, _ in spelled], lambda w: str(_spelled_value(w)))
    return found


def _always(normal: str) -> Callable[[str], str]:
    return lambda _: normal


def _spelled_value(words: str) -> int:
    return next(n for _, _, n in spelled_numbers(words))


def added_values(
    reply: str, draft: str, values: Sequence[str], known: Sequence[str] = ()
) -> list[str]:
    """What `reply` says that the rules' `draft` does not: values and value shapes, as written.

    The model may reword, but a reply must carry exactly the values the draft carries. Besides
    the draft's `values` (`Step.values`, found as `keeps_value` finds them), a reply may hold
    no `known` value (the persona's, the form's options; see `known_values`), email, number
    (digits, or words from "two" up), date, time or phone number that the draft does not hold
    too. So a draft with no value (a decline, a lack, a "yes" to a confirmation) allows a reply
    with none. A reply equal to its draft adds nothing.

    Returns:
        Each addition once, as the reply writes it, in reading order (empty: the reply is fine).
    """
    had = _findings(draft, values, known)
    return [
        written for normal, written in _findings(reply, values, known).items() if normal not in had
    ]


def _named(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def known_values(
    persona: Persona, hints: Sequence[FieldHint], offered: Sequence[tuple[str, str]] = ()
) -> list[str]:
    """The values only a draft may bring into a reply (see `added_values`).

    The persona's values (each item of a list, its `say`, the wrong value it `corrects` first)
    and each option's value and label: the form's (`hints`) and the last turn's (`offered`, the
    first `MAX_OFFERED_OPTIONS`).
    Numbers and yes/no are left out (any number is guarded anyway; yes is not a value), and so
    is an option named like a field ("Email" the option, "email" the field: "Email: jane@…"
    names the field, not the option).
    """
    fields = {_named(name) for name in persona.values} | {_named(h.target) for h in hints}
    fields |= {_named(h.label) for h in hints if h.label}
    found: dict[str, None] = {}  # ordered, and a set's cost to look up

    def add(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                add(item)
        elif not isinstance(value, bool | int | float) and value is not None:
            text = str(value).strip()
            if len(text) >= 2 and not text.isdigit():
                found.setdefault(text)

    for name, given in persona.values.items():
        add(given.value)
        add(given.say)
        if name in persona.corrects:
            add(persona.corrects[name])
    options = [o for h in hints for o in h.options] + list(offered[:MAX_OFFERED_OPTIONS])
    for value, label in options:
        for text in (value, value.replace("_", " "), label):
            if _named(text) not in fields:
                add(text)
    return list(found)


def max_reply_chars(draft: str) -> int:
    """The longest reply sent for `draft`: three times its length, and never under 300."""
    return max(3 * len(draft), 300)
