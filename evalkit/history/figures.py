"""The run-level figures a history keeps beside a run's counts and rates, and where they come from.

Each group maps columns of `runs` to the summary's names of the figures they hold:

- slot filling (schema 3): `Summary.slot_filling` (joint and average goal accuracy, slot
  precision, recall and F1);
- coverage (schema 4): `Summary.coverage.overall`, what of its forms the run observed (the rate,
  and the items covered of how many; chunk types not counted, as in docs/coverage.md);
- personas (schema 4): `Summary.personas` (completion rate, re-asks per conversation).

A column is NULL when the run had no such figure (no turn judged, no form recorded, no persona
conversation), or when it was recorded by a history before the schema that added the column.
"""

from __future__ import annotations

from types import MappingProxyType

from evalkit.results import Summary

__all__ = [
    "COVERAGE_COLUMNS",
    "FIGURE_COLUMNS",
    "PERSONA_COLUMNS",
    "PER_CONVERSATION_COLUMNS",
    "SLOT_COLUMNS",
    "WHOLE_COLUMNS",
    "figure_columns",
    "summary_figures",
]

SLOT_COLUMNS = {
    "joint_goal_accuracy": "joint_goal_accuracy",
    "average_goal_accuracy": "average_goal_accuracy",
    "slot_precision": "precision",
    "slot_recall": "recall",
    "slot_f1": "f1",
}
"""Columns of `runs` (schema 3) holding the slot-filling figures → their `SlotMetrics` names."""
COVERAGE_COLUMNS = {
    "coverage_rate": "rate",
    "coverage_covered": "covered",
    "coverage_total": "total",
}
"""Columns of `runs` (schema 4) holding the observed coverage → their `KindCount` names (of
`Summary.coverage.overall`)."""
PERSONA_COLUMNS = {
    "persona_completion_rate": "completion_rate",
    "persona_re_ask_rate": "re_ask_rate",
}
"""Columns of `runs` (schema 4) holding the persona figures → their `PersonaMetrics` names."""
FIGURE_COLUMNS = MappingProxyType(
    {3: tuple(SLOT_COLUMNS), 4: (*COVERAGE_COLUMNS, *PERSONA_COLUMNS)}
)
"""Schema version → the figure columns its migration added to `runs`."""
WHOLE_COLUMNS = frozenset({"coverage_covered", "coverage_total"})
"""The figure columns holding whole numbers (items counted); the others hold rates."""
PER_CONVERSATION_COLUMNS = frozenset({"persona_re_ask_rate"})
"""The figure columns holding a mean per conversation (re-asks), which can exceed 1; every other
figure column that is not whole is a fraction, from 0 to 1."""


def figure_columns(version: int) -> tuple[str, ...]:
    """The figure columns a history of this schema version has, in the order they were added."""
    return tuple(
        column
        for added, columns in FIGURE_COLUMNS.items()
        if added <= version
        for column in columns
    )


def summary_figures(summary: Summary) -> dict[str, float | None]:
    """Every figure column's value for a run with this summary (None where it has none)."""
    coverage = summary.coverage.overall if summary.coverage is not None else None
    groups = (
        (SLOT_COLUMNS, summary.slot_filling),
        (COVERAGE_COLUMNS, coverage),
        (PERSONA_COLUMNS, summary.personas),
    )
    return {
        column: getattr(source, name) if source is not None else None
        for columns, source in groups
        for column, name in columns.items()
    }
