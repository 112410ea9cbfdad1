"""The persona simulator: a deterministic, rule-based user who answers what is asked.

`Simulator.next_message` reads the transcript so far and returns the next utterance (or why it
stops); `seed_for` derives a conversation's seed from its key. See `evalkit.simulate.simulator`.
"""

from evalkit.simulate.asked import Asked, FieldHint, find_asked
from evalkit.simulate.simulator import Simulator, Step, seed_for

__all__ = ["Asked", "FieldHint", "Simulator", "Step", "find_asked", "seed_for"]
