"""A persona conversation's simulator in a run: the form hints it gets, and what a result keeps.

The runner plays persona conversations and `evalkit rescore` replays stored ones; both give the
simulator the same hints of the form (`hints_for`: labels, questions and options of the form
`run.json` records, found by the one form reader, `evalkit.formlookup`) and record what it did
the same way (`simulation_info`), so a replayed session is judged exactly as the run judged it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evalkit.formlookup import find_forms
from evalkit.results.models import SimulationInfo
from evalkit.scoring import fewest_turns, never_asked
from evalkit.simulate import FieldHint, LlmSimulator, Simulator
from evalkit.suite import Persona

__all__ = ["hints_for", "simulation_info"]

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
        fewest_turns=fewest_turns(persona, answers, simulator.asked),
    )


@functools.lru_cache(maxsize=64)
def _form_hints(
    directories: tuple[str, ...], key: str, form_ids: tuple[tuple[str, str], ...]
) -> tuple[FieldHint, ...]:
    found = find_forms([key], [Path(d) for d in directories], dict(form_ids))
    if key not in found:
        return ()
    form, _ = found[key]
    return tuple(
        FieldHint(
            target=f.target,
            label=f.label,
            phrases=(f.question,) if f.question else (),
            options=tuple((o.value, o.label) for o in f.options),
        )
        for f in form.fields
    )


def hints_for(
    suite_path: str | Path,
    form: str,
    forms: Sequence[str] = (),
    form_ids: Mapping[str, str] | None = None,
) -> tuple[FieldHint, ...]:
    """The hints a suite's persona conversations get: labels, questions and options of its form.

    The form is the one `run.json` records for the suite's key (`evalkit.formlookup.find_forms`:
    the first directory that defines the key, or the form `form_ids` maps it to, by key or by
    id in any case).

    Args:
        suite_path: The suite file (`forms/` beside it is searched after `forms`).
        form: The form key the suite names.
        forms: The target's form directories (`TargetInfo.forms`), searched first.
        form_ids: Form key → the form id sent (`TargetInfo.form_ids`).

    Returns:
        A hint per field of the form; none when the form is found nowhere (the persona's own
        keys and phrases still place questions).
    """
    beside = str(Path(suite_path).parent / "forms")
    directories = tuple(d for d in (*forms, beside) if Path(d).is_dir())
    return _form_hints(directories, form, tuple(sorted((form_ids or {}).items())))
