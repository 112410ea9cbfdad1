"""Rule-based, deterministic extraction of form field values from a user's message.

Pure functions, no I/O. The finders (`finders.py`, `dates.py`) each look for one kind of value and
return `Found` items (the typed value and its `[start, end)` span in the user's text); `extract`
applies them to a form in a fixed order and returns one `Extraction` per field, with the span that
becomes the chunk's `meaningfulInput`. The form's `behaviour` switches parts off (number words,
relative dates, synonyms, corrections), so two configurations of one form can differ.

Order of precedence (a span used once is not used again):

1. explicit mentions, "my <field> is <value>" (this is also how corrections name their field);
2. email addresses, then phone numbers, for fields of those types, wherever they appear; dates
   and times likewise, when the form has only one field of that type;
3. names after an introduction ("I'm Jane Doe", "my name is ...", "call me ...");
4. dates, times, selects, numbers and yes/no answers, for the field just asked (the *focus*) or
   for a field whose keywords or label appear in the message;
5. free text, for the focus when it is a text or name field and nothing more specific matched.

A message that starts like a correction ("actually", "sorry, it's ...") moves the focus to the field
filled in the previous turn, so "sorry, it's 26" replaces the age given just before.
A message that declines to answer ("I'd rather not say") has no focus: it gives the field asked
no value (not `false`, not the name "I'd Rather Not Say"); values it names elsewhere still count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from difflib import SequenceMatcher

from evalkit.emulator.dates import find_dates, find_times
from evalkit.emulator.finders import (
    NOT_NAMES,
    PARTICLES,
    TITLES,
    Found,
    Value,
    capitalise,
    find_emails,
    find_names,
    find_numbers,
    find_options,
    find_phones,
    find_yes_no,
    is_correction,
    is_declining,
    parse_number_words,
)
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
    "find_times",
    "find_yes_no",
    "is_correction",
    "is_declining",
    "parse_number_words",
]

_Span = tuple[int, int]


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


_QUOTES = str.maketrans("‘’´`“”", "''''\"\"")  # one-for-one, so spans stay valid
_EMAILISH = re.compile(
    r"[^\s,;@]{0,64}@[^\s,;]{0,255}|\b\w{1,64}\s+at\s+\w{1,64}(?:\s+dot\s+\w{1,64}){1,4}\b"
)
_FILLER = re.compile(
    r"^(?:(?:it's|it is|i'm|i am|this is|that's|that is|my name is|my name's|name's|call me|"
    r"sure|ok|okay|yes|yeah|hi|hello|hey|well|um|uh|so|just|please|actually|sorry|oops|"
    r"i meant|i mean|make it|make that)\b[\s,:!.-]*)+",
    re.IGNORECASE,
)
# A free-text answer keeps its words ("Please use the side entrance"); only an interjection set
# off by punctuation ("Sure: ...", "Well, ...") is not part of the message.
_TEXT_FILLER = re.compile(
    r"^(?:(?:sure|ok|okay|yes|yeah|hi|hello|hey|well|um|uh|oh|so)\s*[,:!.-]+\s*)+", re.IGNORECASE
)
_TITLE = re.compile(r"(?:" + "|".join(sorted(TITLES)) + r")\b\.?\s+", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[,;!?\n]|\.(?:\s|$)|\s(?:and|but)\s")
_ALL_OPTIONS = re.compile(r"\b(?:all of (?:them|those|the above)|everything)\b", re.IGNORECASE)
_CUE_GAP = re.compile(r"\s*(?:(?:number|address|is|was|:|=|-)\s*)*")  # "email is ", "phone: "


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
    # The last one: the words after it hold no other, so each is read once (not once a try).
    phrases = list(_SAID_AGAIN.finditer(text)) if form.behaviour.corrections else []
    if phrases:
        return _said_again(text, phrases[-1], form, ctx)
    run = _Run(text.translate(_QUOTES), form, ctx.today)
    focus = ctx.asked
    if form.behaviour.corrections and is_correction(run.text) and ctx.recent:
        focus = ctx.recent[-1]
    if is_declining(run.text):
        focus = None  # "I'd rather not say" answers nothing: not "no", not a name, not a note
    run.explicit_mentions()
    for field in form.fields:
        if field.type == "email" and not run.take(field, find_emails(run.text)):
            run.bad_email(field, focused=field.target == focus)
        elif field.type == "phone":
            run.take(field, find_phones(run.text))
    for field in form.fields:
        # A date or a time cannot be mistaken for another kind of value: the form's only field
        # of that type takes it wherever it is ("Friday at 3pm" while the date is asked).
        if field.type in ("date", "time") and [f.type for f in form.fields].count(field.type) == 1:
            run.take(field, run.found_for(field, run.text))
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


_SAID_AGAIN = re.compile(
    r"(?<=\S)[,;.!]?\s+(?:oops,?\s+)?(?:sorry|no|wait),?\s+i\s+mean[t]?\b[\s,:]*", re.IGNORECASE
)
"""`..., sorry, I meant`: a value said again in the same message (`extract`)."""


def _said_again(text: str, phrase: re.Match[str], form: Form, ctx: Context) -> list[Extraction]:
    """`<value>, sorry, I meant <value>`: what the words after the phrase give wins.

    They are read as the answer to a field the words before it gave a value for, the one
    written most like them first ("Berf, sorry, I meant Berg"; ties: the field asked, then the
    latest), the first the words after it make a usable value of; with none, the field asked.
    """
    before = extract(text[: phrase.start()], form, ctx)
    tail = text[phrase.end() :]

    def likeness(e: Extraction) -> tuple[float, bool, int]:
        written = text[e.start : e.start + e.length].casefold()
        alike = SequenceMatcher(None, written, tail.strip().casefold()).ratio()
        return (alike, e.target == ctx.asked, e.start)

    candidates: list[str | None] = [e.target for e in sorted(before, key=likeness, reverse=True)]
    candidates = candidates or [ctx.asked]
    tries = [(c, extract(tail, form, replace(ctx, asked=c))) for c in candidates]
    usable = [found for c, found in tries if any(e.target == c and not e.problem for e in found)]
    after = usable[0] if usable else tries[0][1]
    found = {e.target: e for e in before}
    found.update({e.target: replace(e, start=e.start + phrase.end()) for e in after})
    return sorted(found.values(), key=lambda e: (e.start, e.target))


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
                self.add(full_f, capitalise(self.text[first.start : end]), first.start, end)

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
        inside = [f for f in self.found_for(field, part) if f.start >= lo]
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

    def found_for(self, field: FormField, part: str) -> list[Found]:
        behaviour = self.form.behaviour
        if field.type in ("single_select", "multi_select"):
            return find_options(part, field, synonyms=behaviour.synonyms)
        if field.type == "number":
            return find_numbers(part, words=behaviour.number_words)
        if field.type == "boolean":
            return find_yes_no(part)
        if field.type == "date":
            return find_dates(part, self.today, relative=behaviour.relative_dates)
        if field.type == "time":
            return find_times(part)
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
        filler = (_TEXT_FILLER if field.type == "text" else _FILLER).match(self.text, lo, hi)
        lo = filler.end() if filler else lo
        title = _TITLE.match(self.text, lo, hi) if field.type == "name" else None
        lo = title.end() if title else lo  # "Dr. Anna-Maria O'Neil": the title is not the name
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
        if not 1 <= len(words) <= 4 or re.search(r"[\d@]", value) or words[0].lower() in NOT_NAMES:
            return
        last = self._name_field("last")
        surname = len(words) == 2 or all(w.lower() in PARTICLES for w in words[1:-1])
        if (
            field.name_part == "first"
            and len(words) >= 2
            and surname
            and last
            and last.target not in self.results
        ):
            second = start + value.index(words[1], len(words[0]))
            self.add(field, capitalise(words[0]), start, start + len(words[0]))
            self.add(
                last, capitalise(value[second - start :], surname=True), second, start + len(value)
            )
        else:
            self.add(field, capitalise(value), start, start + len(value))


# ----------------------------------------------------------------------------- helpers


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
