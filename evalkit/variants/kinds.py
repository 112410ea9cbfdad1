"""The kinds of variant: each turns an utterance (and its protected spans) into edits.

An edit replaces a stretch of text; a kind proposes edits only where no protected span is
touched, except the spans of the value form it is about (`_ABOUT`). `correction` acts on a
whole conversation: one expected value is said wrong, then corrected (`correct`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from evalkit.spelling import ISO_DATE, MONTHS, number_words, write_date
from evalkit.suite import Turn, VariantKind
from evalkit.variants.spans import Span, ValueForm, number_shapes, words_pattern

__all__ = ["correct", "spelled_numbers", "vary_utterance"]

_ABOUT: dict[str, ValueForm] = {"numbers": "number", "digits": "number", "dates": "date"}
"""The kinds that rewrite the values of one form (their spans are theirs to change)."""

Edit = tuple[int, int, str]
"""Replace text[start:end] with the string."""

_KEYBOARD = (
    "q:wa w:qeas e:wrsd r:etdf t:ryfg y:tugh u:yihj i:uojk o:ipkl p:ol a:qwsz s:awedxz d:serfcx "
    "f:drtgvc g:ftyhbv h:gyujnb j:huikmn k:jiolm l:kop z:asx x:zsdc c:xdfv v:cfgb b:vghn n:bhjm "
    "m:njk"
)
_NEIGHBOURS = {pair[0]: pair[2:] for pair in _KEYBOARD.split(" ")}
"""Letters next to each letter on a QWERTY keyboard."""
_FILLERS = ("um", "uh", "like", "well", "you know", "hmm", "basically")
_CONTRACTIONS = (
    ("I am", "I'm"),
    ("it is", "it's"),
    ("that is", "that's"),
    ("what is", "what's"),
    ("do not", "don't"),
    ("does not", "doesn't"),
    ("is not", "isn't"),
    ("cannot", "can't"),
    ("I would", "I'd"),
    ("I will", "I'll"),
    ("I have", "I've"),
    ("you are", "you're"),
    ("we are", "we're"),
    ("let us", "let's"),
)
_DIGITS = re.compile(r"(?<![\w.,+@/:-])(?<!\d )\d{1,6}(?![\w@/:]|-\d|[.,]\d| \d)")
"""A whole number on its own: not part of a decimal, an email, a time, a dashed date or phone
number (`15-12-2026`, `555-0100`) or a group of digits (`20 7946`); `12-year-old` is one."""
_MONTH = "|".join(MONTHS)
_DATE_STYLES = {
    "iso": re.compile(r"(?<![\w/.-])(\d{4})-(\d{2})-(\d{2})(?![\w/-])"),
    "written": re.compile(rf"(?<!\w)(\d{{1,2}}) ({_MONTH}) (\d{{4}})(?!\w)", re.IGNORECASE),
    "month-first": re.compile(rf"(?<!\w)({_MONTH}) (\d{{1,2}}), (\d{{4}})(?!\w)", re.IGNORECASE),
    "dotted": re.compile(r"(?<![\w.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\w]|\.\d)"),
}
"""Dates the `dates` kind reads, by the style `write_date` writes them in (US dates are
ambiguous to read: 11/12/2026 is a day in November or in December)."""


@cache
def _number_phrases() -> tuple[re.Pattern[str], dict[str, int]]:
    """Number words of 0–999 (longest first; "one" alone is a pronoun as often as a number)."""
    written = [number_words(n) for n in range(2, 1000)]
    pattern = "|".join(words_pattern(w) for w in sorted(written, key=len, reverse=True))
    by_words = {re.sub(r"[\s-]+", " ", w): n for n, w in enumerate(written, start=2)}
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.IGNORECASE), by_words


def _phrase_value(words: str) -> int | None:
    return _number_phrases()[1].get(re.sub(r"[\s-]+", " ", words.lower().strip()))


def spelled_numbers(text: str) -> list[tuple[int, int, int]]:
    """Numbers of 2–999 written in words in `text`, as (start, end, value) in text order.

    "one" alone is left out: it is a pronoun ("that one") as often as a number.
    """
    found = []
    for m in _number_phrases()[0].finditer(text):
        n = _phrase_value(m.group())
        if n is not None:
            found.append((m.start(), m.end(), n))
    return found


class _Text:
    """An utterance with its protected spans: which places a kind may change."""

    def __init__(self, text: str, spans: Sequence[Span], kind: str) -> None:
        self.text = text
        self.spans = spans
        about = _ABOUT.get(kind)
        self.locked = [s for s in spans if s.form != about]
        self.own = [s for s in spans if s.form == about]

    def free(self, start: int, end: int) -> bool:
        """Whether text[start:end] touches no protected span (`start == end`: an insertion)."""
        return all(end <= s.start or start >= s.end for s in self.locked)

    def mine(self, start: int, end: int) -> bool:
        """Whether text[start:end] is free, or lies within a span this kind rewrites."""
        if any(s.start <= start and end <= s.end for s in self.own):
            return all(end <= s.start or start >= s.end for s in self.locked)
        return self.free(start, end)


def _apply(text: str, edits: Sequence[Edit]) -> str:
    chosen: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e[0], e[1])):
        if not chosen or (edit[0] >= chosen[-1][1] and edit[0] > chosen[-1][0]):
            chosen.append(edit)
    for start, end, new in reversed(chosen):
        text = text[:start] + new + text[end:]
    return text


def _pick(rng: random.Random, items: Sequence[Any], count: int) -> list[Any]:
    return rng.sample(list(items), min(count, len(items))) if items else []


def _typos(t: _Text, rng: random.Random) -> list[Edit]:
    words = [m for m in re.finditer(r"[A-Za-z]{3,}", t.text) if t.free(m.start(), m.end())]
    edits = []
    for m in _pick(rng, words, 1 + len(words) // 6):
        at = m.start() + rng.randrange(1, len(m.group()))
        letter = t.text[at]
        near = rng.choice(_NEIGHBOURS[letter.lower()])
        edits.append((at, at + 1, near.upper() if letter.isupper() else near))
    return edits


def _free_runs(t: _Text) -> list[tuple[int, int]]:
    """The stretches of text between protected spans."""
    runs, at = [], 0
    for span in sorted(t.locked, key=lambda s: s.start):
        if span.start > at:
            runs.append((at, span.start))
        at = max(at, span.end)
    if at < len(t.text):
        runs.append((at, len(t.text)))
    return runs


def _casing(t: _Text, rng: random.Random) -> list[Edit]:
    styles: list[Callable[[str], str]] = [str.lower, str.upper, str.swapcase]
    rng.shuffle(styles)
    for change in styles:  # the first style, in the copy's order, that changes anything
        edits = [(a, b, change(t.text[a:b])) for a, b in _free_runs(t)]
        edits = [(a, b, new) for a, b, new in edits if new != t.text[a:b]]
        if edits:
            return edits
    return []


def _spacing(t: _Text, rng: random.Random) -> list[Edit]:
    text = t.text
    candidates: list[Edit] = []
    for m in re.finditer(r", ", text):
        if t.free(m.start(), m.end()):
            candidates.append((m.start(), m.end(), rng.choice((",", " , ", ",  "))))
    for m in re.finditer(r"(?<=\w) (?=\w)", text):
        if t.free(m.start(), m.end()):
            candidates.append((m.start(), m.end(), "  "))
    for m in re.finditer(r"[.!?]+$", text):
        if t.free(m.start(), m.end()):
            candidates.append((m.start(), m.end(), ""))
    if t.free(len(text), len(text)):
        candidates.append((len(text), len(text), rng.choice((" !!", "...", " ?", "  "))))
    if t.free(0, 0):
        candidates.append((0, 0, " "))
    return _pick(rng, candidates, 2)


def _fillers(t: _Text, rng: random.Random) -> list[Edit]:
    starts = [m.start() for m in re.finditer(r"(?<!\S)\w", t.text) if t.free(m.start(), m.start())]
    edits = []
    for at in _pick(rng, starts, 1 + len(starts) // 10):
        filler = rng.choice(_FILLERS)
        edits.append((at, at, f"{filler.capitalize()}, " if at == 0 else f"{filler}, "))
    return edits


def _contractions(t: _Text, rng: random.Random) -> list[Edit]:
    edits: list[Edit] = []
    for long, short in _CONTRACTIONS:
        for written, other in ((long, short), (short, long)):
            pattern = rf"(?<![\w']){words_pattern(written)}(?![\w'])"
            for m in re.finditer(pattern, t.text, re.IGNORECASE):
                if t.free(m.start(), m.end()):
                    upper = m.group()[:1].isupper()
                    edits.append(
                        (m.start(), m.end(), other[:1].upper() + other[1:] if upper else other)
                    )
    return edits


def _numbers(t: _Text, rng: random.Random) -> list[Edit]:
    shapes = number_shapes(t.text)  # a date, time, phone number or range keeps its digits
    return [
        (m.start(), m.end(), number_words(int(m.group())))
        for m in _DIGITS.finditer(t.text)
        if t.mine(m.start(), m.end()) and all(m.end() <= a or m.start() >= b for a, b in shapes)
    ]


def _digits(t: _Text, rng: random.Random) -> list[Edit]:
    edits = []
    for m in _number_phrases()[0].finditer(t.text):
        n = _phrase_value(m.group())
        if n is not None and t.mine(m.start(), m.end()):
            edits.append((m.start(), m.end(), str(n)))
    return edits


def _dates(t: _Text, rng: random.Random) -> list[Edit]:
    edits = []
    for style, pattern in _DATE_STYLES.items():
        for m in pattern.finditer(t.text):
            iso = _iso(style, m)
            if iso is not None and t.mine(m.start(), m.end()):
                other = rng.choice([s for s in (*_DATE_STYLES, "us") if s != style])
                edits.append((m.start(), m.end(), write_date(iso, other)))
    return edits


def _iso(style: str, m: re.Match[str]) -> str | None:
    """The ISO date a match of one of `_DATE_STYLES` writes, or None for no real date."""
    months = [x.lower() for x in MONTHS]
    if style == "iso":
        year, month, day = m[1], m[2], m[3]
    elif style == "written":
        day, month, year = m[1], str(months.index(m[2].lower()) + 1), m[3]
    elif style == "month-first":
        month, day, year = str(months.index(m[1].lower()) + 1), m[2], m[3]
    else:  # dotted
        day, month, year = m[1], m[2], m[3]
    iso = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return iso if write_date(iso, "written") != iso else None


_KINDS: dict[str, Callable[[_Text, random.Random], list[Edit]]] = {
    "typos": _typos,
    "casing": _casing,
    "spacing": _spacing,
    "fillers": _fillers,
    "contractions": _contractions,
    "numbers": _numbers,
    "digits": _digits,
    "dates": _dates,
}


def vary_utterance(text: str, spans: Sequence[Span], kind: VariantKind, rng: random.Random) -> str:
    """One utterance perturbed by `kind` (not `correction`, which acts on a conversation).

    Args:
        text: The utterance.
        spans: Its protected spans (`protected_spans`).
        kind: The perturbation.
        rng: The copy's generator; the same state gives the same text.

    Raises:
        ValueError: `correction`, which needs the conversation (see `correct`).
    """
    if kind not in _KINDS:
        raise ValueError(f"{kind} acts on a conversation, not on one utterance")
    t = _Text(text, spans, kind)
    return _apply(text, _KINDS[kind](t, rng))


def _wrong(span: Span, written: str, rng: random.Random) -> str:
    """A plausible wrong value for a span, written the way the span is."""
    if span.form == "number":
        n = int(span.value)
        wrong = n + 1 if n < 1 or rng.random() < 0.5 else n - 1
        return number_words(wrong) if not written.strip()[:1].isdigit() else str(wrong)
    if span.form == "date":
        found = ISO_DATE.match(str(span.value).strip())
        if found and written == str(span.value).strip():
            day = int(found[3]) % 28 + 1
            return f"{found[1]}-{found[2]}-{day:02d}"
    letters = [i for i, c in enumerate(written) if c.isalpha() and c.lower() in _NEIGHBOURS]
    at = rng.choice(letters[1:] or letters) if letters else None
    if at is None:
        return written + "x"
    near = rng.choice(_NEIGHBOURS[written[at].lower()])
    return written[:at] + (near.upper() if written[at].isupper() else near) + written[at + 1 :]


def correct(turns: list[Turn], spans: list[list[Span]], rng: random.Random) -> list[str]:
    """The utterances with one expected value said wrong first, then corrected."""
    texts = [turn.user for turn in turns]
    places = [(i, s) for i, found in enumerate(spans) for s in found]
    if not places:
        return texts
    i, span = rng.choice(places)
    text = texts[i]
    written = text[span.start : span.end]
    wrong = _wrong(span, written, rng)
    said = text[: span.start] + wrong + text[span.end :]
    ending = re.search(r"[.!?]*\s*$", said)
    head = said[: ending.start()] if ending else said
    phrase = rng.choice(("sorry, I meant", "sorry, I mean", "oops, sorry, I meant"))
    texts[i] = f"{head}, {phrase} {written}"
    return texts
