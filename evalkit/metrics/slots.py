"""Slot-filling metrics: joint and average goal accuracy, slot precision/recall/F1, confusion.

The figures of the dialogue-state-tracking literature (MultiWOZ/TRADE, SGD/DSTC8), computed from a
run's stored results alone, so every report, comparison and rescored run can show them. The
definitions, with which turns and fields enter, are in docs/metrics.md; in short, per result that
passed or failed:

* the **predicted state** after turn t is what `final` is judged on: the prefill sent at session
  creation and what that exchange extracted, then per turn its `set` values and its extractions,
  last write wins;
* the **expected state** starts as the prefill; per turn, the `set` values are written, then each
  expectation of the turn: an exact one (a bare value, `equals`, `text`, `set`, `date`, `time`,
  `email`, `phone`) writes its value, `absent: true` writes nothing, and any other writes its
  verdict on that turn's extraction;
* a turn is **judged** when it has at least one field verdict; its fields are those named by the
  expectations of it and every earlier turn, plus those it judged unexpected;
* each judged field gets an outcome (`SlotOutcome`) and a turn is jointly correct when every one
  is `correct` or `empty` (the SGD convention: a field empty in both states counts as right).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evalkit.matchers import MISSING, match
from evalkit.results import ConversationResult, FieldResult, FormInfo, TurnTranscript
from evalkit.results.figures import SlotCounts, SlotMetrics, SlotOutcome
from evalkit.suite import Check

__all__ = [
    "EXACT_MATCHERS",
    "NOTHING",
    "SlotTally",
    "confusion_axes",
    "slot_outcomes",
]

EXACT_MATCHERS = frozenset({"equals", "text", "set", "date", "time", "email", "phone"})
"""Matchers whose expected value is the value the state should hold (an equivalence)."""
NOTHING = "nothing"
"""The confusion table's row or column for no value."""
_SELECTS = {
    "SINGLE_SELECT_INPUT": "singleSelectInputDetails",
    "MULTI_SELECT_INPUT": "multiSelectInputDetails",
}


@dataclass(frozen=True)
class _Value:
    """An expected value, compared with the matcher that wrote it (None: the default)."""

    check: Check

    @classmethod
    def of(cls, value: Any, matcher: str | None = None) -> _Value:
        return cls(Check.model_validate({"matcher": matcher, "value": value}))


@dataclass(frozen=True)
class _Verdict:
    """A non-exact expectation's verdict, valid while the predicted value stays `state`."""

    state: Any
    outcome: SlotOutcome


_Gold = _Value | _Verdict


def _extracted(turn: TurnTranscript) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for timed in turn.chunks:
        chunk = timed.chunk
        if chunk.get("chunkType") != "TEXT_DATA":
            continue
        details = chunk.get("textDataDetails") or {}
        target = details.get("fieldTarget")
        if isinstance(target, str) and target:
            values[target] = details.get("value")
    return values


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def _judge(gold: _Gold | None, predicted: Any) -> SlotOutcome:
    if gold is None:
        return "empty" if predicted is MISSING else "unexpected"
    if isinstance(gold, _Verdict):
        if _same(predicted, gold.state):
            return gold.outcome
        return "missing" if predicted is MISSING else "wrong"
    if predicted is MISSING:
        return "missing"
    _, result = match(gold.check, predicted)
    return "correct" if result.passed else "wrong"


def _verdict_outcome(verdict: FieldResult) -> SlotOutcome:
    if verdict.passed:
        return "correct"
    return "missing" if verdict.outcome == "missing" else "wrong"


def slot_outcomes(result: ConversationResult) -> list[tuple[int, dict[str, SlotOutcome]]]:
    """The judged turns of one result, each with the outcome of each judged field.

    Args:
        result: A stored result (an `error` or `skipped` one has no judged turn).

    Returns:
        (1-based turn, field → outcome) for every judged turn, in order.
    """
    if result.status not in ("pass", "fail") or not result.transcript:
        return []
    by_turn: dict[int, list[FieldResult]] = defaultdict(list)
    for verdict in result.fields:
        if verdict.turn is not None:
            by_turn[verdict.turn].append(verdict)
    creation = result.transcript[0]
    predicted: dict[str, Any] = dict(creation.current_values or {})
    gold: dict[str, _Gold] = {f: _Value.of(v) for f, v in predicted.items()}
    predicted.update(_extracted(creation))
    named: set[str] = set()
    judged: list[tuple[int, dict[str, SlotOutcome]]] = []
    last = max([len(result.transcript) - 1, *by_turn])
    for number in range(1, last + 1):
        exchange = result.transcript[number] if number < len(result.transcript) else None
        sets = (exchange.current_values or {}) if exchange is not None else {}
        extracted = _extracted(exchange) if exchange is not None else {}
        predicted.update(sets)
        gold.update({f: _Value.of(v) for f, v in sets.items()})
        predicted.update(extracted)
        verdicts = by_turn.get(number, [])
        if not verdicts:
            continue
        outcomes: dict[str, SlotOutcome] = {}
        for verdict in verdicts:
            name = verdict.field
            if verdict.matcher == "unexpected":
                continue
            named.add(name)
            if verdict.matcher == "absent" and verdict.expected is not False:
                continue
            if verdict.matcher in EXACT_MATCHERS:
                gold[name] = _Value.of(verdict.expected, verdict.matcher)
                if name in extracted:  # the verdict judged the value the state now holds
                    outcomes[name] = _verdict_outcome(verdict)
            else:
                outcome = _verdict_outcome(verdict)
                gold[name] = _Verdict(predicted.get(name, MISSING), outcome)
        unexpected = {v.field for v in verdicts if v.matcher == "unexpected"}
        for name in sorted(named | unexpected):
            if name not in outcomes:
                outcomes[name] = _judge(gold.get(name), predicted.get(name, MISSING))
        judged.append((number, dict(sorted(outcomes.items()))))
    return judged


def _options(value: Any) -> list[str] | None:
    """A value as the options it names, or None when it is not an option (or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


class SlotTally:
    """The slot-filling metrics of a run, counted a result at a time (`evalkit.metrics`)."""

    def __init__(self, forms: Iterable[FormInfo] = ()) -> None:
        """Start counting.

        Args:
            forms: The forms `run.json` recorded. Confusion tables are keyed by field name
                across them, so a name is a choice field when it is a select in every form
                that has it; a name a select prompt of a transcript names is one too, unless
                a recorded form has it as another kind of field (its text would fill a table).
        """
        kinds: dict[str, set[bool]] = defaultdict(set)
        for form in forms:
            for f in form.fields:
                kinds[f.target].add(f.is_select)
        self._metrics = SlotMetrics()
        self._choices = {name for name, seen in kinds.items() if seen == {True}}
        self._not_choices = {name for name, seen in kinds.items() if False in seen}
        self._confusion: dict[str, dict[str, dict[str, int]]] = {}

    def add(self, result: ConversationResult) -> None:
        """Count one result (an `error` or `skipped` one counts nothing)."""
        turns = slot_outcomes(result)
        if not turns:
            return
        metrics = self._metrics
        for _, outcomes in turns:
            metrics.turns += 1
            metrics.joint_correct += all(o in ("correct", "empty") for o in outcomes.values())
            for name, outcome in outcomes.items():
                metrics.slots.add(outcome)
                metrics.fields.setdefault(name, SlotCounts()).add(outcome)
        for turn in result.transcript:
            for timed in turn.chunks:
                key = _SELECTS.get(str(timed.chunk.get("chunkType")))
                target = (timed.chunk.get(key) or {}).get("fieldTarget") if key else None
                if isinstance(target, str) and target and target not in self._not_choices:
                    self._choices.add(target)
        for verdict in result.fields:
            if verdict.turn is not None:
                self._confuse(verdict)

    def _confuse(self, verdict: FieldResult) -> None:
        if verdict.matcher == "unexpected" or (
            verdict.matcher == "absent" and verdict.expected is not False
        ):
            expected: list[str] | None = []
        elif verdict.matcher in ("equals", "text", "set"):
            expected = _options(verdict.expected)
        else:
            return
        actual = [] if verdict.outcome == "missing" else _options(verdict.actual)
        if expected is None or actual is None:
            return
        if verdict.passed and verdict.matcher != "unexpected":
            actual = list(expected)  # the matcher said they are the same option(s)
        table = self._confusion.setdefault(verdict.field, {})
        pairs = [(e, e) for e in expected if e in actual]
        if len(expected) <= 1 and len(actual) <= 1 and not pairs:
            pairs = [(expected[0] if expected else NOTHING, actual[0] if actual else NOTHING)]
        else:
            pairs += [(e, NOTHING) for e in expected if e not in actual]
            pairs += [(NOTHING, a) for a in actual if a not in expected]
        for row, column in pairs:
            cells = table.setdefault(row, {})
            cells[column] = cells.get(column, 0) + 1

    def metrics(self) -> SlotMetrics | None:
        """The figures; None when no turn was judged."""
        if not self._metrics.turns:
            return None
        confusion = {
            name: {row: dict(sorted(cells.items())) for row, cells in sorted(table.items())}
            for name, table in sorted(self._confusion.items())
            if name in self._choices
        }
        return self._metrics.model_copy(
            update={"fields": dict(sorted(self._metrics.fields.items())), "confusion": confusion}
        )


def confusion_axes(table: Mapping[str, Mapping[str, int]]) -> tuple[list[str], list[str]]:
    """The rows and columns of a confusion table, options sorted and `nothing` last."""
    rows = sorted(table, key=lambda r: (r == NOTHING, r))
    columns = sorted(
        {c for cells in table.values() for c in cells}, key=lambda c: (c == NOTHING, c)
    )
    return rows, columns
