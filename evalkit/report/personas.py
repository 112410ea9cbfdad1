"""How a persona conversation reads in the reports, and the run-level persona figures in words.

A persona conversation shows who was simulated (name, values, traits), the order in which the
assistant asked for fields, each exchange as the assistant's question, the simulated answer and
what the target extracted that turn, and the simulator's own notes, labelled as its own. The
server-rendered HTML, the page's script (through `evalkit.report.payload`) and the Markdown all
draw from these views, so they say the same things. The run-level figures are
`evalkit.metrics.personas.persona_figures`, the words the terminal summary prints too.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalkit.metrics.personas import persona_figures
from evalkit.report.format import NONE, compact_json
from evalkit.results import ConversationResult
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
