"""A persona conversation's simulator in a run: the form hints it gets, and what a result keeps.

The runner plays persona conversations and `evalkit rescore` replays stored ones; both give the
simulator the same hints of the form (`hints_for`: labels, questions and options, read from the
form files the emulator would serve) and record what it did the same way (`simulation_info`),
so a replayed session is judged exactly as the run judged it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import SuiteError
from evalkit.results.models import SimulationInfo
from evalkit.scoring import fewest_turns, never_asked
from evalkit.simulate import FieldHint, LlmSimulator, Simulator
from evalkit.suite import Persona

__all__ = ["form_hints", "hints_for", "simulation_info"]

_TRAITS = {"style", "selects", "numbers", "dates", "volunteers", "declines", "corrects"}


def simulation_info(
    persona: Persona,
    seed: int,
    simulator: Simulator | LlmSimulator | None = None,
    answers: Sequence[Sequence[str]] | None = None,
) -> SimulationInfo:
    """What a result records of the persona and of what its simulator did (if it ran).

    Args:
        persona: The persona played.
        seed: The conversation's seed.
        simulator: The simulator, once it has played (None: the persona only, as an error
            result before any message records it).
        answers: The fields each user turn gave values for.
    """
    about: dict[str, Any] = {
        "seed": seed,
        "persona": persona.name,
        "values": {name: given.value for name, given in persona.values.items()},
        "traits": persona.model_dump(mode="json", include=_TRAITS),
    }
    if simulator is None or answers is None:
        return SimulationInfo(**about)
    return SimulationInfo(
        **about,
        asked=list(simulator.asked),
        answers=[list(answer) for answer in answers],
        stop=simulator.stop,
        notes=list(simulator.notes),
        never_asked=never_asked(persona, answers),
        fewest_turns=fewest_turns(persona, answers),
    )


@functools.lru_cache(maxsize=64)
def form_hints(directories: tuple[str, ...], key: str) -> tuple[FieldHint, ...]:
    """What the simulator may know of a form: labels, questions and options of its fields.

    Args:
        directories: Where form files are looked for, in order.
        key: The form's key, or its id.

    Returns:
        A hint per field of the first form found; none when the form is found nowhere or a
        file is broken (the persona's own keys and phrases still place questions).
    """
    from evalkit.emulator.formfiles import load_forms  # only persona conversations need it

    for directory in directories:
        try:
            forms = load_forms(Path(directory))
        except SuiteError:
            continue
        form = forms.get(key) or next((f for f in forms.values() if f.id == key), None)
        if form is not None:
            return tuple(
                FieldHint(
                    target=f.target,
                    label=f.label,
                    phrases=(f.question,) if f.question else (),
                    options=tuple((o.value, o.label) for o in f.options),
                )
                for f in form.fields
            )
    return ()


def hints_for(
    suite_path: str | Path,
    form: str,
    forms: Sequence[str] = (),
    form_ids: Mapping[str, str] | None = None,
) -> tuple[FieldHint, ...]:
    """The hints a suite's persona conversations get, as the runner gives them.

    Args:
        suite_path: The suite file (`forms/` beside it is searched after `forms`).
        form: The form key the suite names.
        forms: The target's form directories (`TargetInfo.forms`), searched first.
        form_ids: Form key → the form id sent (`TargetInfo.form_ids`).
    """
    beside = str(Path(suite_path).parent / "forms")
    directories = tuple(d for d in (*forms, beside) if Path(d).is_dir())
    return form_hints(directories, (form_ids or {}).get(form, form))
