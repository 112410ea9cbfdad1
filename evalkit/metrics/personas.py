"""Run-level figures of persona conversations: completion, turns, re-asks, accuracy, pass^k.

Computed from a run's stored results alone (each persona result carries `simulation`), in the
same pass as the rest of the summary; the definitions are in docs/metrics.md. In short, over
the persona conversations that passed or failed (errors measure nothing):

* **completion rate**: the share whose form was submitted, with its Wilson 95% interval;
* **turns to complete**: the user turns of the submitted ones (min, median, p90, max), and the
  turns beyond the fewest possible where the result records that number;
* **re-asks**: fields asked again after they were extracted (the `re_ask` checks), per
  conversation, and the share of conversations with any;
* **per-field accuracy**: the final-state verdicts of the persona conversations, per field;
* **pass^k**: over the repeats of each persona conversation, as the summary's;
* **never asked**: per field, the conversations in which its value was never asked for.

`persona_figures` says them in words, once: the reports' "Persona conversations" table and the
terminal summary's `personas:` lines are its rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from evalkit.metrics.rates import (
    RepeatTally,
    add_field_verdicts,
    percentile,
    repeat_stats,
    wilson,
)
from evalkit.results import ConversationResult, FieldStats
from evalkit.results.figures import PersonaMetrics

__all__ = ["PersonaTally", "persona_figures", "spread"]


def spread(values: Sequence[float]) -> dict[str, float]:
    """`{min, median, p90, max}` of some values (empty for none)."""
    if not values:
        return {}
    return {
        "min": float(min(values)),
        "median": round(percentile(values, 50), 6),
        "p90": round(percentile(values, 90), 6),
        "max": float(max(values)),
    }


class PersonaTally:
    """The persona figures of a run, counted a result at a time (scripted results are skipped)."""

    def __init__(self) -> None:
        self._repeats = RepeatTally()
        self._fields: dict[str, FieldStats] = {}
        self._never: Counter[str] = Counter()
        self._turns: list[float] = []
        self._extra: list[float] = []
        self._conversations = 0
        self._submitted = 0
        self._re_asks = 0
        self._with_re_ask = 0

    def add(self, result: ConversationResult) -> None:
        """Count one result, if it is a persona conversation that passed or failed."""
        simulation = result.simulation
        if simulation is None or result.status not in ("pass", "fail"):
            return
        self._repeats.add(result)
        add_field_verdicts(self._fields, result)
        self._never.update(simulation.never_asked)
        self._conversations += 1
        re_asks = sum(1 for check in result.checks if check.check == "re_ask")
        self._re_asks += re_asks
        self._with_re_ask += 1 if re_asks else 0
        if result.submitted:
            self._submitted += 1
            turns = sum(1 for turn in result.transcript if turn.user is not None)
            self._turns.append(turns)
            if simulation.fewest_turns is not None:
                self._extra.append(max(0, turns - simulation.fewest_turns))

    def metrics(self) -> PersonaMetrics | None:
        """The figures, or None when no persona conversation passed or failed."""
        if not self._conversations:
            return None
        stats = repeat_stats(self._repeats.stats())
        repeats = {key: stats[key] for key in ("k", "pass_hat_k", "pass_hat_k_ci") if key in stats}
        return PersonaMetrics(
            conversations=self._conversations,
            submitted=self._submitted,
            completion_ci=wilson(self._submitted, self._conversations),
            turns=spread(self._turns),
            extra_turns=spread(self._extra),
            at_fewest=sum(1 for extra in self._extra if extra == 0),
            re_asks=self._re_asks,
            with_re_ask=self._with_re_ask,
            fields=dict(sorted(self._fields.items())),
            never_asked=dict(sorted(self._never.items())),
            **repeats,
        )


def _number(value: float) -> str:
    return f"{value:g}"


def _interval(ci: tuple[float, float] | None) -> str:
    return f", 95% CI {ci[0]:.1%}–{ci[1]:.1%}" if ci else ""


def persona_figures(metrics: PersonaMetrics) -> list[tuple[str, str]]:
    """The run-level persona figures as (name, value in words), in the order they are listed.

    The one wording of these figures: the reports show the rows as a table, the terminal
    summary as `personas: <name> <value>` lines. Rates are the model's own properties.
    """
    rate = metrics.completion_rate or 0.0
    rows = [
        (
            "completion rate",
            f"{rate:.1%} ({metrics.submitted} of {metrics.conversations} submitted"
            f"{_interval(metrics.completion_ci)})",
        )
    ]
    turns = metrics.turns
    if turns:
        line = (
            f"median {_number(turns['median'])} (min {_number(turns['min'])}, "
            f"p90 {_number(turns['p90'])}, max {_number(turns['max'])})"
        )
        extra = metrics.extra_turns
        if extra:
            line += (
                f"; beyond the fewest possible: median {_number(extra['median'])}, "
                f"max {_number(extra['max'])}; {metrics.at_fewest} at the fewest"
            )
        rows.append(("turns to complete", line))
    rows.append(
        (
            "re-asks",
            f"{_number(round(metrics.re_ask_rate or 0.0, 3))} per conversation; "
            f"{metrics.re_ask_share or 0.0:.1%} of conversations had any "
            f"({metrics.re_asks} in all)",
        )
    )
    if metrics.k > 1 and metrics.pass_hat_k is not None:
        rows.append(
            (
                f"pass^{metrics.k}",
                f"{metrics.pass_hat_k:.1%} (all {metrics.k} repeats pass"
                f"{_interval(metrics.pass_hat_k_ci)})",
            )
        )
    never = ", ".join(f"{name} ({count})" for name, count in metrics.never_asked.items())
    rows.append(("never asked", never or "none: every value was asked for or volunteered"))
    return rows
