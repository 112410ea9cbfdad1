"""Finders: pure functions that look for one kind of value in a user's message.

Each `find_*` function returns `Found` items (the typed value and its `[start, end)` span in the
text), in text order; `extract.py` decides which field each goes to. Dates and times are in
`dates.py`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from evalkit.emulator.forms import FormField

__all__ = [
    "ISO_DATE",
    "NOT_NAMES",
    "NUMERIC_DATE",
    "PARTICLES",
    "TITLES",
    "Found",
    "Value",
    "capitalise",
    "find_emails",
    "find_names",
    "find_numbers",
    "find_options",
    "find_phones",
    "find_yes_no",
    "is_correction",
    "is_declining",
    "non_overlapping",
    "parse_number_words",
]

Value = str | int | float | bool | list[str]
"""A field value as `TEXT_DATA.value` carries it."""


class Found(NamedTuple):
    """A value found in a text, with its `[start, end)` span."""

    value: Value
    start: int
    end: int


# ----------------------------------------------------------------------------- patterns


def _words(text: str) -> list[str]:
    return text.split()


_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
# Bounded repeats keep these linear on a 10,000-character message with no "@" in it.
_PHONE = re.compile(r"(?<![\w@+.])\+?\(?\d[\d ().\-]{5,22}\d(?![\w@])")
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
NUMERIC_DATE = re.compile(r"(?<![\d./-])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-]|[.-]\d)")
"""`15.03.2026`, `15-03-26` (day first) and `3/15/2026` (month first), as `dates.py` reads them;
a full stop may end the sentence after one (`1.2.3.4` is still no date)."""
_DIGITS = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|[.,]\d)")
_UNITS = _words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = _words("twenty thirty forty fifty sixty seventy eighty ninety")
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, "hundred", "thousand", "dozen"])
_WORDS = re.compile(
    rf"\b(?:half\s+a\s+|an?\s+)?(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b",
    re.IGNORECASE,
)
_YES = (
    "yes|yeah|yep|yup|sure|of course|ok|okay|i agree|agree|agreed|absolutely|definitely|"
    "please do|sign me up|count me in|go ahead|why not|i do|certainly|true|yes please"
)
_NO = (
    "no|nope|nah|no thanks|no thank you|not really|not interested|i don't|i do not|don't|"
    "do not|never|decline|i decline|i disagree|disagree|false|no way|not now|rather not|"
    "i'd rather not|unsubscribe"
)
_POLARITY = {p: True for p in _YES.split("|")} | {p: False for p in _NO.split("|")}
_YES_NO = re.compile(
    r"(?<![\w'])("
    + "|".join(sorted(map(re.escape, _POLARITY), key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"^\W*(?:actually|sorry|oops|correction|wait|scratch that|i meant|i mean|make (?:it|that)|"
    r"change (?:it|that) to)\b",
    re.IGNORECASE,
)
_DECLINING = re.compile(
    r"\b(?:(?:rather|prefer(?:red)?)\s+not\s+(?:to\s+)?(?:say|share|tell|answer|disclose|give)|"
    r"(?:won't|will\s+not|can't|cannot|don't\s+want\s+to)\s+(?:say|share|tell|disclose)|"
    r"no\s+comment|(?:that's|that\s+is)\s+private|skip\s+(?:this|that|it)(?:\s+one)?)\b",
    re.IGNORECASE,
)
_NAME_WORD = r"[^\W\d_]+(?:(?:-|['’](?!s\b))[^\W\d_]+)*"
"""A word of a name: letters joined by hyphens or apostrophes ("Anna-Maria", "O'Neil")."""
TITLES = frozenset(_words("dr mr mrs ms mx miss prof sir"))
"""Titles before a name: they are not part of it."""
PARTICLES = frozenset(
    _words("van von der den de del della da di du la le ter ten dos das bin ibn al")
)
"""Particles that belong to the surname after them ("van der Berg", "de la Cruz")."""
_TITLE = r"(?:(?i:" + "|".join(sorted(TITLES)) + r")\.?\s+)?"
_SURNAME = r"(?:(?i:" + "|".join(sorted(PARTICLES)) + rf")\s+)*{_NAME_WORD}"
_NAME_CUE_ANY = re.compile(
    rf"\b(?:my name is|my name's|name's|name is|call me|you can call me)\s+{_TITLE}({_NAME_WORD})"
    rf"(?:\s+({_SURNAME}))?",
    re.IGNORECASE,
)
_NAME_CUE_CAPS = re.compile(
    rf"\b(?:[Ii]'m|[Ii] am|[Tt]his is)\s+{_TITLE}({_NAME_WORD})(?:\s+({_SURNAME}))?"
)
NOT_NAMES = frozenset(
    _words(
        "a an the at on in from and or but here interested not so very really just also happy fine "
        "good great ok okay sure sorry looking trying available over under about into to with by "
        "back glad going writing calling reaching still new ready free busy yes no thanks thank "
        "currently actually pretty quite always never married single retired age aged years old "
        "your you my me it this that there is was"
    )
)


# ----------------------------------------------------------------------------- finders


def find_emails(text: str) -> list[Found]:
    """Find well-formed email addresses."""
    return [Found(m.group(), m.start(), m.end()) for m in _EMAIL.finditer(text)]


def find_phones(text: str) -> list[Found]:
    """Find phone numbers (7–15 digits): `+` and digits with a country code, else digits."""
    found = []
    for m in _PHONE.finditer(text):
        raw = m.group()
        # "+44 (0)20 ...": the (0) is dialled only inside the country, so E.164 drops it.
        digits = re.sub(r"\D", "", raw.replace("(0)", "") if raw.startswith("+") else raw)
        if not 7 <= len(digits) <= 15 or _has_date(raw):
            continue
        if raw.startswith("+"):
            digits = "+" + digits
        elif digits.startswith("00") and len(digits) > 10:
            digits = "+" + digits[2:]
        found.append(Found(digits, m.start(), m.end()))
    return found


def _has_date(raw: str) -> bool:
    """Whether a phone-like run of digits holds a date ("15.03.2026", "2026-03-15 10:30")."""
    if ISO_DATE.search(raw) is not None:
        return True
    for m in NUMERIC_DATE.finditer(raw):
        first, second = int(m.group(1)), int(m.group(3))
        if 1 <= min(first, second) <= 12 and 1 <= max(first, second) <= 31:
            return True
    return False


def parse_number_words(words: str) -> int | None:
    """Read a number written in words: "twenty-five", "one hundred and five", "a dozen".

    Returns:
        The number, or None when the words are not a number.
    """
    tokens = [t for t in re.split(r"[\s-]+", words.lower().strip()) if t and t != "and"]
    if tokens[:3] == ["half", "a", "dozen"]:
        return 6 if len(tokens) == 3 else None
    total = current = 0
    seen = False
    for i, token in enumerate(tokens):
        if token in ("a", "an"):
            if i != 0 or len(tokens) == 1 or tokens[1] not in ("hundred", "thousand", "dozen"):
                return None
        elif token in _UNITS:
            current += _UNITS.index(token)
        elif token in _TENS:
            current += (_TENS.index(token) + 2) * 10
        elif token == "hundred":
            current = max(current, 1) * 100
        elif token == "thousand":
            total, current = total + max(current, 1) * 1000, 0
        elif token == "dozen":
            current = max(current, 1) * 12
        else:
            return None
        seen = seen or token not in ("a", "an")
    return total + current if seen else None


def find_numbers(text: str, *, words: bool = True) -> list[Found]:
    """Find numbers written in digits ("25", "1,200", "2.5") or in words, in text order.

    Args:
        text: The text.
        words: Whether numbers in words count ("twenty-five", "a dozen").
    """
    found = []
    for m in _DIGITS.finditer(text):
        raw = m.group().replace(",", "")
        value: int | float = float(raw) if "." in raw else int(raw)
        found.append(Found(value, m.start(), m.end()))
    for m in _WORDS.finditer(text) if words else ():
        number = parse_number_words(m.group())
        if number is not None:
            found.append(Found(number, m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def find_yes_no(text: str) -> list[Found]:
    """Find yes/no answers ("sure", "I agree", "no thanks"), longest phrase first, in text order."""
    found = [
        Found(_POLARITY[m.group(1).lower()], m.start(), m.end()) for m in _YES_NO.finditer(text)
    ]
    if not found and text.strip().lower().strip(".!") in ("y", "n"):
        start = text.lower().index(text.strip().lower()[0])
        found = [Found(text.strip().lower().startswith("y"), start, start + 1)]
    return found


def find_options(text: str, field: FormField, *, synonyms: bool = True) -> list[Found]:
    """Find a select field's options named by value, label or synonym; the value is option value.

    Args:
        text: The text.
        field: The select field.
        synonyms: Whether an option's synonyms name it too.
    """
    candidates: list[Found] = []
    for option in field.options:
        extra = option.synonyms if synonyms else []
        phrases = {option.value, option.value.replace("_", " "), option.label, *extra}
        for phrase in {p.strip().lower() for p in phrases if p.strip()}:
            # A plural names the option too: "two day passes", "texts".
            plural = r"(?:e?s)?" if phrase[-1:].isalpha() else ""
            pattern = r"(?<!\w)" + re.escape(phrase).replace(r"\ ", r"\s+") + plural + r"(?!\w)"
            candidates += [
                Found(option.value, m.start(), m.end())
                for m in re.finditer(pattern, text, re.IGNORECASE)
            ]
    return non_overlapping(candidates)


def find_names(text: str) -> list[tuple[Found, Found | None]]:
    """Find names after an introduction: (first name, surname when one follows).

    A title before the name is not part of it ("Dr. Anna-Maria O'Neil" → "Anna-Maria",
    "O'Neil"); a surname keeps its particles ("Jan van der Berg" → "Jan", "van der Berg").
    """
    found = []
    for regex in (_NAME_CUE_ANY, _NAME_CUE_CAPS):
        for m in regex.finditer(text):
            word = m.group(1).lower()
            if word in NOT_NAMES or word in TITLES or (regex is _NAME_CUE_CAPS and _lower(m, 1)):
                continue
            first = Found(capitalise(m.group(1)), m.start(1), m.end(1))
            last = None
            if m.group(2) and m.group(2).lower() not in NOT_NAMES and not _lower(m, 2, m.group(1)):
                last = Found(capitalise(m.group(2), surname=True), m.start(2), m.end(2))
            found.append((first, last))
    return sorted(found, key=lambda pair: pair[0].start)


def is_declining(text: str) -> bool:
    """Whether a message declines to answer ("I'd rather not say", "I'd prefer not to share").

    Declining is not "no": it gives no value. "I'd rather not" alone, to a yes/no question, is
    a polite no and is not declining.
    """
    return _DECLINING.search(text) is not None


def is_correction(text: str) -> bool:
    """Whether a message starts like a correction ("actually, ...", "sorry, it's ...")."""
    return _CORRECTION.match(text) is not None


def non_overlapping(found: list[Found]) -> list[Found]:
    """Keep the longest match at each position and drop matches that overlap a kept one."""
    kept: list[Found] = []
    for item in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if all(item.start >= k.end or item.end <= k.start for k in kept):
            kept.append(item)
    return kept


def capitalise(name: str, *, surname: bool = False) -> str:
    """Capitalise the words of a name that are all lower case ("jane doe" → "Jane Doe").

    Each part of a hyphenated word is capitalised ("anna-maria" → "Anna-Maria"); a particle
    after the first word keeps its case ("ludwig van beethoven" → "Ludwig van Beethoven").

    Args:
        name: The name as written.
        surname: Whether it is a surname alone, whose first word may be a particle too.
    """
    words = name.split()
    return " ".join(
        word
        if not word.islower() or ((number or surname) and word in PARTICLES)
        else "-".join(part[:1].upper() + part[1:] for part in word.split("-"))
        for number, word in enumerate(words)
    )


def _lower(m: re.Match[str], group: int, previous: str | None = None) -> bool:
    """A word that must be capitalised (after a capitalised first name, or after "I'm") is not.

    Of a surname, the word after its particles is the one that must be ("van der Berg").
    """
    word = m.group(group).split()[-1]
    needs_caps = previous is None or previous[:1].isupper()
    return needs_caps and not word[:1].isupper()
