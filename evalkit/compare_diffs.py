"""Typed differences between two runs: what changed in a paired conversation, field by field.

`evalkit.compare.compare_runs` pairs conversations by (suite, id, repeat); for every pair with a
verdict on both sides (pass or fail: an error or a skip says nothing about the fields), this
module names each field's change with one category (docs/metrics.md, "Typed differences"):

* `newly missing`: the baseline extracted a value, the candidate extracted none;
* `newly extracted`: the baseline extracted none, the candidate did;
* `value changed`: both extracted a value, and they differ (type-aware: `30` is not `"30"`);
* `expectation changed`: the same value (or none on both sides) with another verdict: the
  expectation was edited, added or removed;
* `question changed`: the assistant's question (its words after the last separator) in one
  exchange both transcripts hold differs, whitespace and case aside. Scripted conversations
  only: a persona conversation (either side played by the simulator) is not compared by
  wording, since its turns follow what the target asked and its words are drawn per seed, so
  exchange n of one run need not be exchange n of the other. What the target asked a persona
  for is in the persona figures (never asked, re-asks, turns).

A field is compared where either run judged it (each user turn with a verdict on it, in order),
then in the final state; its first difference is its change, at that turn (None: the final
state). Exchange numbers are the transcript's: 0 is session creation, n the n-th user turn.
Everything here is pure: two results in, a list of differences out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.matchers import MISSING
from evalkit.results import (
    ConversationResult,
    FieldOutcome,
    FieldResult,
    Status,
    conversation_label,
)
from evalkit.scoring import extracted_values, prompted_fields
from evalkit.simulate.asked import question_text

__all__ = [
    "CATEGORIES",
    "Category",
    "ConversationDifferences",
    "FieldDifference",
    "category_counts",
    "conversation_differences",
    "field_category",
]

Category = Literal[
    "newly missing", "newly extracted", "value changed", "expectation changed", "question changed"
]
"""How one field (or one exchange's question) changed between two runs."""
CATEGORIES: tuple[Category, ...] = (
    "newly missing",
    "newly extracted",
    "value changed",
    "expectation changed",
    "question changed",
)
"""Every category, in the order the reports count them."""


class DiffModel(BaseModel):
    """Base of the difference models."""

    model_config = ConfigDict(use_attribute_docstrings=True, frozen=True)


class FieldDifference(DiffModel):
    """One field's change (or one exchange's question) in a paired conversation."""

    category: Category
    """What kind of change."""
    field: str
    """The field target; for a question, the field its prompt names (empty when none does)."""
    turn: int | None
    """The exchange where it first differs: 0 session creation, n the n-th user turn; None for
    the final state."""
    before: Any = None
    """The baseline's value (None: not extracted) or, for a question, its words; text longer
    than `SHOWN_CHARS` is cut there, ending in `…`."""
    after: Any = None
    """The candidate's value or question (cut the same way)."""
    before_outcome: FieldOutcome | None = None
    """The baseline's verdict on the field there (None: no verdict)."""
    after_outcome: FieldOutcome | None = None
    """The candidate's verdict there."""
    before_expected: Any = None
    """What the baseline expected there (None: no expectation)."""
    after_expected: Any = None
    """What the candidate expected there."""

    @property
    def where(self) -> str:
        """Where it first differs, in words: `greeting`, `turn N`, or `final`."""
        if self.turn is None:
            return "final"
        return "greeting" if self.turn == 0 else f"turn {self.turn}"


class ConversationDifferences(DiffModel):
    """A paired conversation (and repeat) with a verdict in both runs that changed."""

    suite: str
    """The suite's name."""
    conversation_id: str
    """The conversation's id."""
    repeat: int
    """The repeat."""
    base: Status
    """Its status in the baseline."""
    candidate: Status
    """Its status in the candidate."""
    differences: list[FieldDifference] = Field(default_factory=list)
    """Each changed field once, and each changed question, by exchange then field (final last)."""
    unchanged: int = 0
    """Fields compared that did not change."""

    @property
    def label(self) -> str:
        """`suite/id`, with `#repeat` when repeated."""
        return conversation_label(self.suite, self.conversation_id, self.repeat)

    @property
    def reworded_only(self) -> bool:
        """Passed in both runs and only a question's wording changed: counted, listed compactly."""
        return (
            self.base == self.candidate == "pass"
            and bool(self.differences)
            and all(d.category == "question changed" for d in self.differences)
        )


def _same(a: Any, b: Any) -> bool:
    """Type-aware equality, recursively (`30` ≠ `30.0` ≠ `"30"`; `True` ≠ `1`)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def field_category(
    before: Any, after: Any, before_verdict: tuple[object, ...], after_verdict: tuple[object, ...]
) -> Category | None:
    """The category of one field's change at one place, or None when it did not change.

    Args:
        before: The baseline's value there, or `evalkit.matchers.MISSING`.
        after: The candidate's value there, or `MISSING`.
        before_verdict: Anything that identifies the baseline's verdict there (e.g. outcome and
            pass), empty for none.
        after_verdict: The same for the candidate.
    """
    if before is MISSING and after is not MISSING:
        return "newly extracted"
    if before is not MISSING and after is MISSING:
        return "newly missing"
    if before is not MISSING and not _same(before, after):
        return "value changed"
    return None if before_verdict == after_verdict else "expectation changed"


def _verdict(verdicts: Sequence[FieldResult]) -> FieldResult | None:
    """The verdict of a field at one place: its first failing one, else its last one."""
    failing = [v for v in verdicts if not v.passed]
    return failing[0] if failing else (verdicts[-1] if verdicts else None)


def _signature(verdict: FieldResult | None) -> tuple[object, ...]:
    return () if verdict is None else (verdict.outcome, verdict.passed)


SHOWN_CHARS = 200
"""The most characters of one side of a difference kept (a question, a text value): a target
can send 60 KB in one chunk, and every report and the terminal show each difference."""


def _cut(value: Any) -> Any:
    """`value` as kept for showing: text, or a list or mapping's JSON, cut to `SHOWN_CHARS`."""
    text = value if isinstance(value, str) else None
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    if text is not None and len(text) > SHOWN_CHARS:
        return text[: SHOWN_CHARS - 1] + "…"
    return value


def _value(value: Any) -> Any:
    return None if value is MISSING else _cut(value)


class _Side:
    """One result, indexed for the comparison: verdicts by (turn, field), extractions by turn."""

    def __init__(self, result: ConversationResult) -> None:
        self.result = result
        self.verdicts: dict[tuple[int | None, str], list[FieldResult]] = {}
        for verdict in result.fields:
            self.verdicts.setdefault((verdict.turn, verdict.field), []).append(verdict)
        self.extracted = [extracted_values(turn) for turn in result.transcript]

    def value(self, turn: int | None, name: str) -> Any:
        if turn is None:
            return self.result.final_state.get(name, MISSING)
        if turn < len(self.extracted):
            return self.extracted[turn].get(name, MISSING)
        # No transcript for that turn (a hand-built result): what its verdict saw.
        verdict = _verdict(self.verdicts.get((turn, name), []))
        return MISSING if verdict is None or verdict.actual is None else verdict.actual

    def names(self) -> set[str]:
        return set(self.result.final_state) | {name for _, name in self.verdicts}


def _field_difference(base: _Side, cand: _Side, name: str) -> FieldDifference | None:
    turns = {t for side in (base, cand) for t, n in side.verdicts if n == name and t is not None}
    for turn in [*sorted(turns), None]:
        before, after = base.value(turn, name), cand.value(turn, name)
        bv = _verdict(base.verdicts.get((turn, name), []))
        cv = _verdict(cand.verdicts.get((turn, name), []))
        category = field_category(before, after, _signature(bv), _signature(cv))
        if category is not None:
            return FieldDifference(
                category=category,
                field=name,
                turn=turn,
                before=_value(before),
                after=_value(after),
                before_outcome=bv.outcome if bv else None,
                after_outcome=cv.outcome if cv else None,
                before_expected=bv.expected if bv and bv.outcome != "unexpected" else None,
                after_expected=cv.expected if cv and cv.outcome != "unexpected" else None,
            )
    return None


def _said(text: str) -> str:
    return " ".join(text.split()).casefold()


def _question_differences(base: _Side, cand: _Side) -> list[FieldDifference]:
    if base.result.simulation is not None or cand.result.simulation is not None:
        return []  # a persona's exchanges do not line up across runs (module docstring)
    b, c = base.result.transcript, cand.result.transcript
    found: list[FieldDifference] = []
    for turn in range(min(len(b), len(c))):  # an exchange one side lacks is not compared
        before, after = question_text(b[turn]), question_text(c[turn])
        if _said(before) == _said(after):
            continue
        asks = prompted_fields(c[turn]) + prompted_fields(b[turn])
        found.append(
            FieldDifference(
                category="question changed",
                field=asks[0] if asks else "",
                turn=turn,
                before=_cut(before),
                after=_cut(after),
            )
        )
    return found


def conversation_differences(
    base: ConversationResult, cand: ConversationResult
) -> ConversationDifferences | None:
    """The typed differences of one paired conversation.

    Args:
        base: Its baseline result.
        cand: Its candidate result (same suite, id and repeat).

    Returns:
        The differences, or None when either side has no verdict (an error or a skip: nothing
        to compare) or nothing changed (statuses, fields and questions all the same).
    """
    if base.status not in ("pass", "fail") or cand.status not in ("pass", "fail"):
        return None
    b, c = _Side(base), _Side(cand)
    names = sorted(b.names() | c.names())
    fields = [d for name in names if (d := _field_difference(b, c, name)) is not None]
    differences = sorted(
        [*fields, *_question_differences(b, c)],
        key=lambda d: (
            d.turn is None,
            d.turn or 0,
            d.category != "question changed",
            d.field,
        ),
    )
    if not differences and base.status == cand.status:
        return None
    return ConversationDifferences(
        suite=cand.suite,
        conversation_id=cand.conversation_id,
        repeat=cand.repeat,
        base=base.status,
        candidate=cand.status,
        differences=differences,
        unchanged=len(names) - len(fields),
    )


def category_counts(conversations: Sequence[ConversationDifferences]) -> dict[Category, int]:
    """How many changes of each category, every category present, in `CATEGORIES` order."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for conversation in conversations:
        for difference in conversation.differences:
            counts[difference.category] += 1
    return counts
