"""The persona simulator: a deterministic, rule-based user who answers what is asked.

`Simulator.next_message` reads the transcript so far and returns the next utterance (or why it
stops); `seed_for` derives a conversation's seed from its key. See `evalkit.simulate.simulator`.
`LlmSimulator` decides the same way and has a chat model word each message, with a `ChatCache`
of replies on disk (see `evalkit.simulate.llm`); what its wording may say (the draft's values,
and no others) is `evalkit.simulate.wording`. `replay_session` checks a stored session
against what the rule-based simulator would send now (see `evalkit.simulate.replay`).
"""

from evalkit.simulate.asked import Asked, FieldHint, find_asked
from evalkit.simulate.cache import ChatCache
from evalkit.simulate.llm import NEVER_INVENT, Chat, LlmSimulator, prompt_messages
from evalkit.simulate.replay import Replay, replay_session
from evalkit.simulate.simulator import Simulator, Step, seed_for

__all__ = [
    "NEVER_INVENT",
    "Asked",
    "Chat",
    "ChatCache",
    "FieldHint",
    "LlmSimulator",
    "Replay",
    "Simulator",
    "Step",
    "find_asked",
    "prompt_messages",
    "replay_session",
    "seed_for",
]
