"""Rule-based, deterministic extraction of form field values from a user's message.

Pure functions, no I/O. Each `find_*` function looks for one kind of value and returns `Found`
items (the typed value and its `[start, end)` span in the user's text); `extract` applies them to
a form in a fixed order and returns one `Extraction` per field, with the span that becomes the
chunk's `meaningfulInput`.

Order of precedence (a span used once is not used again):

1. explicit mentions, "my <field> is <value>" (this is also how corrections name their field);
2. email addresses, then phone numbers, for fields of those types, wherever they appear;
3. names after an introduction ("I'm Jane Doe", "my name is ...", "call me ...");
4. dates, selects, numbers and yes/no answers, for the field just asked (the *focus*) or for a
   field whose keywords or label appear in the message;
5. free text, for the focus when it is a text or name field and nothing more specific matched.

A message that starts like a correction ("actually", "sorry, it's ...") moves the focus to the field
filled in the previous turn, so "sorry, it's 26" replaces the age given just before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from evalkit.emulator.forms import Form, FormField

__all__ = [
    "Context",
    "Extraction",
    "Found",
    "Value",
    "extract",
    "find_dates",
    "find_emails",
    "find_names",
    "find_numbers",
    "find_options",
    "find_phones",
    "find_yes_no",
    "is_correction",
    "parse_number_words",
]

Value = str | int | float | bool | list[str]
"""A field value as `TEXT_DATA.value` carries it."""


_Span = tuple[int, int]


class Found(NamedTuple):
    """A value found in a text, with its `[start, end)` span."""

    value: Value
    start: int
    end: int


@dataclass(frozen=True)
class Extraction:
    """A value extracted for one field, or a rejected attempt at one.

    Attributes:
        target: The field's target.
        value: The typed value (for a rejected attempt: the text that was rejected).
        start: 0-based start of the span in the user's text.
        length: Length of the span.
        problem: Why the value cannot be used (e.g. not an email address), or None.
    """

    target: str
    value: Value
    start: int
    length: int
    problem: str | None = None


@dataclass(frozen=True)
class Context:
    """What the conversation knows besides the message.

    Attributes:
        asked: The target of the field the assistant asked for last.
        recent: Targets filled in the previous turn, for corrections.
        today: The user's date (from `clientTime`), for relative dates.
    """

    asked: str | None = None
    recent: tuple[str, ...] = ()
    today: date | None = None


# ----------------------------------------------------------------------------- patterns


def _words(text: str) -> list[str]:
    return text.split()


_QUOTES = str.maketrans("‘’´`“”", "''''\"\"")  # one-for-one, so spans stay valid
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
# Bounded repeats keep these linear on a 10,000-character message with no "@" in it.
_EMAILISH = re.compile(
    r"[^\s,;@]{0,64}@[^\s,;]{0,255}|\b\w{1,64}\s+at\s+\w{1,64}(?:\s+dot\s+\w{1,64}){1,4}\b"
)
_PHONE = re.compile(r"(?<![\w@+.])\+?\(?\d[\d ().\-]{5,22}\d(?![\w@])")
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
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
_NAME_WORD = r"[^\W\d_][^\W\d_'\-]*"
_NAME_CUE_ANY = re.compile(
    rf"\b(?:my name is|my name's|name's|name is|call me|you can call me)\s+({_NAME_WORD})"
    rf"(?:\s+({_NAME_WORD}))?",
    re.IGNORECASE,
)
_NAME_CUE_CAPS = re.compile(
    rf"\b(?:[Ii]'m|[Ii] am|[Tt]his is)\s+({_NAME_WORD})(?:\s+({_NAME_WORD}))?"
)
_NOT_NAMES = frozenset(
    _words(
        "a an the at on in from and or but here interested not so very really just also happy fine "
        "good great ok okay sure sorry looking trying available over under about into to with by "
        "back glad going writing calling reaching still new ready free busy yes no thanks thank "
        "currently actually pretty quite always never married single retired age aged years old "
        "your you my me it this that there is was"
    )
)
_FILLER = re.compile(
    r"^(?:(?:it's|it is|i'm|i am|this is|that's|that is|my name is|my name's|name's|call me|"
    r"sure|ok|okay|yes|yeah|hi|hello|hey|well|um|uh|so|just|please|actually|sorry|oops|"
    r"i meant|i mean|make it|make that)\b[\s,:!.-]*)+",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,;!?\n]|\.(?:\s|$)|\s(?:and|but)\s")
_MONTH_NAMES = _words("jan feb mar apr may jun jul aug sep oct nov dec")
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DMY = re.compile(rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\.?,?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_MDY = re.compile(rf"\b({_MONTH})\.?\s+{_DAY},?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(today|tomorrow|yesterday)\b", re.IGNORECASE)
_ALL_OPTIONS = re.compile(r"\b(?:all of (?:them|those|the above)|everything)\b", re.IGNORECASE)
_CUE_GAP = re.compile(r"\s*(?:(?:number|address|is|was|:|=|-)\s*)*")  # "email is ", "phone: "


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
        if not 7 <= len(digits) <= 15 or _ISO_DATE.fullmatch(raw.strip()):
            continue
        if raw.startswith("+"):
            digits = "+" + digits
        elif digits.startswith("00") and len(digits) > 10:
            digits = "+" + digits[2:]
        found.append(Found(digits, m.start(), m.end()))
    return found


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


def find_numbers(text: str) -> list[Found]:
    """Find numbers written in digits ("25", "1,200", "2.5") or in words, in text order."""
    found = []
    for m in _DIGITS.finditer(text):
        raw = m.group().replace(",", "")
        value: int | float = float(raw) if "." in raw else int(raw)
        found.append(Found(value, m.start(), m.end()))
    for m in _WORDS.finditer(text):
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


def find_options(text: str, field: FormField) -> list[Found]:
    """Find a select field's options named by value, label or synonym; the value is option value."""
    candidates: list[Found] = []
    for option in field.options:
        phrases = {option.value, option.value.replace("_", " "), option.label, *option.synonyms}
        for phrase in {p.strip().lower() for p in phrases if p.strip()}:
            pattern = r"(?<!\w)" + re.escape(phrase).replace(r"\ ", r"\s+") + r"(?!\w)"
            candidates += [
                Found(option.value, m.start(), m.end())
                for m in re.finditer(pattern, text, re.IGNORECASE)
            ]
    return _non_overlapping(candidates)


def find_names(text: str) -> list[tuple[Found, Found | None]]:
    """Find names after an introduction: (first word, following word when it is a name too)."""
    found = []
    for regex in (_NAME_CUE_ANY, _NAME_CUE_CAPS):
        for m in regex.finditer(text):
            if m.group(1).lower() in _NOT_NAMES or (regex is _NAME_CUE_CAPS and _lower(m, 1)):
                continue
            first = Found(_capitalise(m.group(1)), m.start(1), m.end(1))
            last = None
            if m.group(2) and m.group(2).lower() not in _NOT_NAMES and not _lower(m, 2, m.group(1)):
                last = Found(_capitalise(m.group(2)), m.start(2), m.end(2))
            found.append((first, last))
    return sorted(found, key=lambda pair: pair[0].start)


def find_dates(text: str, today: date | None = None) -> list[Found]:
    """Find dates as ISO strings: "2026-03-01", "1 March 1990", "March 1", "tomorrow".

    A date without a year, and a relative date, need `today`; without it they are not found.
    """
    found: list[Found] = []
    for m in _ISO_DATE.finditer(text):
        _add_date(found, m, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for regex, day_group, month_group in ((_DMY, 1, 2), (_MDY, 2, 1)):
        for m in regex.finditer(text):
            year = int(m.group(3)) if m.group(3) else (today.year if today else None)
            if year is not None:
                month = _MONTH_NAMES.index(m.group(month_group)[:3].lower()) + 1
                _add_date(found, m, year, month, int(m.group(day_group)))
    if today is not None:
        for m in _RELATIVE.finditer(text):
            shift = {"today": 0, "tomorrow": 1, "yesterday": -1}[m.group(1).lower()]
            day = today + timedelta(days=shift)
            found.append(Found(day.isoformat(), m.start(), m.end()))
    return _non_overlapping(found)


def is_correction(text: str) -> bool:
    """Whether a message starts like a correction ("actually, ...", "sorry, it's ...")."""
    return _CORRECTION.match(text) is not None


# ----------------------------------------------------------------------------- extract


def extract(text: str, form: Form, context: Context | None = None) -> list[Extraction]:
    """Extract every field value a message gives, in the order they appear in the message.

    Args:
        text: The user's message.
        form: The form being filled in.
        context: The field just asked, the fields filled last turn, the user's date.

    Returns:
        At most one extraction per field, sorted by position; rejected attempts carry a `problem`.
    """
    ctx = context or Context()
    run = _Run(text.translate(_QUOTES), form, ctx.today)
    focus = ctx.asked
    if is_correction(run.text) and ctx.recent:
        focus = ctx.recent[-1]
    run.explicit_mentions()
    for field in form.fields:
        if field.type == "email" and not run.take(field, find_emails(run.text)):
            run.bad_email(field, focused=field.target == focus)
        elif field.type == "phone":
            run.take(field, find_phones(run.text))
    run.names()
    for field in form.fields:
        if field.target in run.results:
            continue
        cues = run.cues(field)
        if field.target == focus or cues:
            run.typed(field, 0, len(run.text), cues, focused=field.target == focus)
    focus_field = form.field(focus) if focus else None
    if focus_field is not None and focus_field.target not in run.results:
        run.free_text(focus_field)
    return sorted(run.results.values(), key=lambda e: (e.start, e.target))


class _Run:
    """The state of one `extract` call: the text, spans already used, and results so far."""

    def __init__(self, text: str, form: Form, today: date | None) -> None:
        self.text = text
        self.form = form
        self.today = today
        self.taken: list[_Span] = []
        self.results: dict[str, Extraction] = {}

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.taken)

    def add(
        self, field: FormField, value: Value, start: int, end: int, problem: str | None = None
    ) -> None:
        self.results[field.target] = Extraction(field.target, value, start, end - start, problem)
        self.taken.append((start, end))

    def take(self, field: FormField, found: Iterable[Found]) -> bool:
        """Give the field the first free value; its own name just before the value is used up."""
        for item in found:
            if field.target not in self.results and self.free(item.start, item.end):
                self.add(field, item.value, item.start, item.end)
                for start, end in self.cues(field):
                    # "my email is x": "email" names the field; it must not also pick an option.
                    if end <= item.start and _CUE_GAP.fullmatch(self.text, end, item.start):
                        self.taken.append((start, end))
                return True
        return False

    def bad_email(self, field: FormField, *, focused: bool) -> None:
        """Reject an attempt at an email address: anything with "@"; "x at y dot z" when asked."""
        for m in _EMAILISH.finditer(self.text):
            if self.free(*m.span()) and ("@" in m.group() or focused):
                problem = f"{m.group()!r} is not a valid email address"
                self.add(field, m.group(), m.start(), m.end(), problem)
                return

    def cues(self, field: FormField) -> list[_Span]:
        phrases = {p.strip().lower() for p in [field.label, *field.keywords] if p.strip()}
        spans = []
        for phrase in phrases:
            pattern = r"(?<!\w)" + re.escape(phrase).replace(r"\ ", r"\s+") + r"(?!\w)"
            spans += [m.span() for m in re.finditer(pattern, self.text, re.IGNORECASE)]
        return sorted(spans)

    def explicit_mentions(self) -> None:
        for field in self.form.fields:
            phrases = {p.lower() for p in [field.label, field.target.replace("_", " ")]}
            alternation = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
            pattern = rf"\bmy\s+(?:{alternation})\s*(?:is|was|'s|:|=)\s*"
            for m in re.finditer(pattern, self.text, re.IGNORECASE):
                end = _clause_end(self.text, m.end(), keep_dots=field.type == "email")
                if field.target in self.results:
                    break
                self.typed(field, m.end(), end, [], focused=True)
                if field.target not in self.results:
                    self.free_text(field, m.end(), end)
                if field.target in self.results:
                    self.taken.append(m.span())

    def names(self) -> None:
        first_f, last_f, full_f = (self._name_field(p) for p in ("first", "last", "full"))
        for first, last in find_names(self.text):
            if not self.free(first.start, (last or first).end):
                continue
            if first_f is not None and first_f.target not in self.results:
                self.add(first_f, first.value, first.start, first.end)
                if last is not None and last_f is not None and last_f.target not in self.results:
                    self.add(last_f, last.value, last.start, last.end)
            elif full_f is not None and full_f.target not in self.results:
                end = (last or first).end
                self.add(full_f, _capitalise(self.text[first.start : end]), first.start, end)

    def _name_field(self, part: str) -> FormField | None:
        return next(
            (f for f in self.form.fields if f.type == "name" and (f.name_part or "full") == part),
            None,
        )

    def typed(
        self, field: FormField, lo: int, hi: int, cues: list[_Span], *, focused: bool
    ) -> None:
        """Extract a value of the field's own type from `text[lo:hi]`."""
        part = self.text[:hi]
        inside = [f for f in self._found_for(field, part) if f.start >= lo]
        inside = [f for f in inside if self.free(f.start, f.end)]
        if field.type == "multi_select" and inside:
            values = list(dict.fromkeys(str(f.value) for f in inside))
            self.add(field, values, inside[0].start, inside[-1].end)
        elif field.type == "multi_select" and focused and (m := _ALL_OPTIONS.search(part, lo)):
            self.add(field, [o.value for o in field.options], m.start(), m.end())
        elif field.type == "boolean" and not focused:
            self._cued_boolean(field, cues)
        elif focused:
            self.take(field, inside)
        else:
            # Not asked but mentioned: take the value nearest to a mention ("... prefer a call").
            near = [f for f in inside if field.type != "number" or _distance(f, cues) <= 20]
            self.take(field, sorted(near, key=lambda f: _distance(f, cues)))

    def _found_for(self, field: FormField, part: str) -> list[Found]:
        if field.type in ("single_select", "multi_select"):
            return find_options(part, field)
        if field.type == "number":
            return find_numbers(part)
        if field.type == "boolean":
            return find_yes_no(part)
        if field.type == "date":
            return find_dates(part, self.today)
        if field.type == "email":
            return find_emails(part)
        if field.type == "phone":
            return find_phones(part)
        return []

    def _cued_boolean(self, field: FormField, cues: list[_Span]) -> None:
        for cue_start, cue_end in cues:
            lo = _clause_start(self.text, cue_start)
            hi = _clause_end(self.text, cue_end)
            answers = [f for f in find_yes_no(self.text[:hi]) if f.start >= lo]
            answer = next((f for f in answers if self.free(f.start, f.end)), None)
            start = min(cue_start, answer.start) if answer else cue_start
            end = max(cue_end, answer.end) if answer else cue_end
            if self.free(start, end):
                self.add(field, bool(answer.value) if answer else True, start, end)
                return

    def free_text(self, field: FormField, lo: int = 0, hi: int | None = None) -> None:
        """Give the focus field what is left of the message (first clause, if others matched)."""
        hi = len(self.text) if hi is None else hi
        if field.type == "phone" and not self.results and re.search(r"\d", self.text[lo:hi]):
            start, end = _trimmed(self.text, lo, hi)
            problem = f"{self.text[start:end]!r} is not a valid phone number"
            self.add(field, self.text[start:end], start, end, problem)
            return
        custom = field.type in ("single_select", "multi_select") and field.custom_option
        if field.type not in ("text", "name") and not custom:
            return
        filler = _FILLER.match(self.text, lo, hi)
        lo = filler.end() if filler else lo
        if self.results or field.type != "text":
            hi = min(hi, _clause_end(self.text, lo))
        start, end = _trimmed(self.text, lo, hi)
        value = self.text[start:end]
        answers = find_yes_no(value)
        if not value or not self.free(start, end) or (answers and answers[0].end == len(value)):
            return  # nothing left, or only "yes"/"no": not a name or a message
        if field.type == "name":
            self._free_name(field, value, start)
        elif field.type == "multi_select":
            self.add(field, [value], start, end)
        else:
            self.add(field, value, start, end)

    def _free_name(self, field: FormField, value: str, start: int) -> None:
        words = value.split()
        if not 1 <= len(words) <= 4 or re.search(r"[\d@]", value) or words[0].lower() in _NOT_NAMES:
            return
        last = self._name_field("last")
        if (
            field.name_part == "first"
            and len(words) == 2
            and last
            and last.target not in self.results
        ):
            second = start + value.index(words[1], len(words[0]))
            self.add(field, _capitalise(words[0]), start, start + len(words[0]))
            self.add(last, _capitalise(words[1]), second, second + len(words[1]))
        else:
            self.add(field, _capitalise(value), start, start + len(value))


# ----------------------------------------------------------------------------- helpers


def _non_overlapping(found: list[Found]) -> list[Found]:
    """Keep the longest match at each position and drop matches that overlap a kept one."""
    kept: list[Found] = []
    for item in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if all(item.start >= k.end or item.end <= k.start for k in kept):
            kept.append(item)
    return kept


def _add_date(found: list[Found], m: re.Match[str], year: int, month: int, day: int) -> None:
    try:
        found.append(Found(date(year, month, day).isoformat(), m.start(), m.end()))
    except ValueError:  # "February 30": not a date, so not extracted
        return


def _capitalise(name: str) -> str:
    return " ".join(w[:1].upper() + w[1:] if w.islower() else w for w in name.split())


def _lower(m: re.Match[str], group: int, previous: str | None = None) -> bool:
    """A word that must be capitalised (after a capitalised first name, or after "I'm") is not."""
    word = m.group(group)
    needs_caps = previous is None or previous[:1].isupper()
    return needs_caps and not word[:1].isupper()


def _clause_start(text: str, pos: int) -> int:
    starts = [m.end() for m in _CLAUSE_END.finditer(text, 0, pos)]
    return starts[-1] if starts else 0


def _clause_end(text: str, pos: int, *, keep_dots: bool = False) -> int:
    for m in _CLAUSE_END.finditer(text, pos):
        if not (keep_dots and m.group().startswith(".") and m.end() < len(text)):
            return m.start()
    return len(text)


def _trimmed(text: str, lo: int, hi: int) -> tuple[int, int]:
    while lo < hi and (text[lo].isspace() or text[lo] in ",:;-\"'"):
        lo += 1
    while hi > lo and (text[hi - 1].isspace() or text[hi - 1] in ".,!?;:\"'"):
        hi -= 1
    return lo, hi


def _distance(found: Found, cues: list[_Span]) -> int:
    return min((max(s - found.end, found.start - e, 0) for s, e in cues), default=0)
