"""A stored persona session replayed through the rule-based simulator.

The simulator is deterministic: the same persona, seed, form hints and assistant text give the
same utterance. `replay_session` hands a fresh `Simulator` the stored transcript one exchange at
a time, as the runner did while the session ran, and checks that each message it would send now
is the one the session sent, and that it would stop where the session stopped::

    stored: create │ user 1 ▸ reply 1 │ user 2 ▸ reply 2 │ (stopped)
    replay:   next_message(create) == user 1?  next_message(.., reply 1) == user 2?  .. None?

A match means the stored transcript is what this persona would produce against those assistant
turns, so it can be scored again (`evalkit rescore`) with the simulator's record (`answers`, and
the simulator's own `asked`, `stop` and `notes`) rebuilt from the replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evalkit.results import TurnTranscript
from evalkit.simulate.simulator import Simulator

__all__ = ["Replay", "replay_session"]


@dataclass(frozen=True)
class Replay:
    """What replaying a stored session found."""

    answers: list[list[str]] = field(default_factory=list)
    """The fields each replayed user turn gave values for (as `SimulationInfo.answers`)."""
    turn: int | None = None
    """The first user turn where the replay differs from the stored session; None: none."""
    sent: str | None = None
    """What the stored session sent at `turn` (None: it had stopped)."""
    would: str | None = None
    """What the simulator would send at `turn` now (None: it would stop)."""
    stop: str = ""
    """Why the simulator stops (where it would stop, when that is where it differs)."""

    @property
    def matches(self) -> bool:
        """Whether every message, and the stop, is the stored session's."""
        return self.turn is None


def replay_session(simulator: Simulator, transcript: Sequence[TurnTranscript]) -> Replay:
    """Replay a stored session through a fresh simulator, up to the first difference.

    Args:
        simulator: A simulator that has not played yet, made as the run made it (the persona,
            the seed the result records, the form's hints).
        transcript: The stored session: creation first, then one exchange per user turn.

    Returns:
        The fields each user turn gave, and where (if anywhere) the replay differs.
    """
    answers: list[list[str]] = []
    for seen in range(1, len(transcript) + 1):
        step = simulator.next_message(transcript[:seen])  # what the runner held at that turn
        sent = transcript[seen].user if seen < len(transcript) else None
        if step.utterance != sent:
            return Replay(answers, turn=seen, sent=sent, would=step.utterance, stop=step.stop)
        if step.utterance is None:
            return Replay(answers, stop=step.stop)
        answers.append(list(step.answers))
    return Replay(answers)  # an empty transcript: nothing was sent, nothing to differ from
