"""How a persona conversation reads in the reports, and the run-level persona figures in words.

A persona conversation shows who was simulated (name, values, traits), the order in which the
assistant asked for fields, each exchange as the assistant's question, the simulated answer and
what the target extracted that turn, and the simulator's own notes, labelled as its own. The
server-rendered HTML, the page's script (through `evalkit.report.payload`) and the Markdown all
draw from these views, so they say the same things.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.report.format import NONE, compact_json, percent
from evalkit.results import ConversationResult
from evalkit.results.models import PersonaMetrics
from evalkit.scoring import extracted_values
from evalkit.simulate.asked import question_text

__all__ = ["Exchange", "PersonaView", "persona_figures", "persona_view"]

_TRAIT_ORDER = ("style", "selects", "numbers", "dates", "volunteers", "declines", "corrects")


@dataclass(frozen=True)
class Exchange:
    """One user turn of a persona conversation: the question it answered, and what came of it."""

    turn: int
    """The 1-based user turn."""
    question: str
    """What the assistant said last before it (its question), or a dash."""
    asked: str
    """The field the simulator took the question to ask for, or a dash when it could not tell."""
    answer: str
    """The simulated user's message."""
    gave: tuple[str, ...]
    """The fields the message gave values for, as the simulator meant it."""
    extracted: tuple[tuple[str, str], ...]
    """(field, value as compact JSON) the target extracted in reply to the message."""


@dataclass(frozen=True)
class PersonaView:
    """A persona conversation as the reports show it."""

    name: str
    """The persona's name (or the conversation id when it has none)."""
    seed: int
    """The simulator's seed."""
    values: tuple[tuple[str, str], ...]
    """(field, value as compact JSON) the persona gives."""
    traits: str
    """How the persona talks, in one line (`style terse · selects label · ...`)."""
    order: tuple[str, ...]
    """The fields the assistant asked for, in the order first asked (as the simulator read it)."""
    exchanges: tuple[Exchange, ...]
    """Every user turn."""
    stop: str
    """Why the simulator stopped, in words, with the turns taken and the fewest possible."""
    never_asked: tuple[str, ...]
    """Values the persona never gave: not asked for, not volunteered."""
    notes: tuple[str, ...]
    """The simulator's own trouble, never the target's."""


def _trait(name: str, value: object) -> str:
    if isinstance(value, list):
        return f"{name} {', '.join(str(v) for v in value)}"
    if isinstance(value, dict):
        return f"{name} " + ", ".join(f"{k} as {compact_json(v)}" for k, v in value.items())
    return f"{name} {value}"


def _traits(traits: dict[str, object]) -> str:
    known = [k for k in _TRAIT_ORDER if k in traits] + sorted(set(traits) - set(_TRAIT_ORDER))
    shown = [_trait(k, traits[k]) for k in known if traits[k] not in ([], {}, None, "")]
    return " · ".join(shown) or NONE


def persona_view(result: ConversationResult) -> PersonaView | None:
    """The persona view of a result, or None for a scripted conversation."""
    simulation = result.simulation
    if simulation is None:
        return None
    transcript = result.transcript
    asked = simulation.asked
    exchanges: list[Exchange] = []
    for number in range(1, len(transcript)):
        said = transcript[number].user
        if said is None:
            continue
        field = asked[number - 1] if number - 1 < len(asked) else None
        gave = simulation.answers[number - 1] if number - 1 < len(simulation.answers) else []
        got = extracted_values(transcript[number])
        exchanges.append(
            Exchange(
                turn=number,
                question=question_text(transcript[number - 1]) or NONE,
                asked=field or NONE,
                answer=said,
                gave=tuple(gave),
                extracted=tuple((k, compact_json(v)) for k, v in got.items()),
            )
        )
    order = tuple(dict.fromkeys(field for field in asked if field is not None))
    turns = len(exchanges)
    stop = f"{simulation.stop or 'stopped'} after {turns} user turn{'' if turns == 1 else 's'}"
    if simulation.fewest_turns is not None:
        stop += f" (the fewest possible: {simulation.fewest_turns})"
    return PersonaView(
        name=simulation.persona or result.conversation_id,
        seed=simulation.seed,
        values=tuple((k, compact_json(v)) for k, v in simulation.values.items()),
        traits=_traits(simulation.traits),
        order=order,
        exchanges=tuple(exchanges),
        stop=stop,
        never_asked=tuple(simulation.never_asked),
        notes=tuple(simulation.notes),
    )


def _number(value: float | None) -> str:
    return NONE if value is None else f"{value:g}"


def persona_figures(metrics: PersonaMetrics) -> list[tuple[str, str]]:
    """The run-level persona figures as (name, value in words), in the order reports list them."""
    ci = metrics.completion_ci
    interval = f", 95% CI {percent(ci[0])}–{percent(ci[1])}" if ci else ""
    rows = [
        (
            "completion rate",
            f"{percent(metrics.completion_rate)} ({metrics.submitted} of "
            f"{metrics.conversations} submitted{interval})",
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
            f"{percent(metrics.re_ask_share)} of conversations had any ({metrics.re_asks} in all)",
        )
    )
    if metrics.k > 1 and metrics.pass_hat_k is not None:
        hat = metrics.pass_hat_k_ci
        hat_interval = f", 95% CI {percent(hat[0])}–{percent(hat[1])}" if hat else ""
        rows.append(
            (
                f"pass^{metrics.k}",
                f"{percent(metrics.pass_hat_k)} (all {metrics.k} repeats pass{hat_interval})",
            )
        )
    never = ", ".join(f"{name} ({count})" for name, count in metrics.never_asked.items())
    rows.append(("never asked", never or "none: every value was asked for or volunteered"))
    return rows
