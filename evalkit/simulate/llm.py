"""The LLM-backed persona simulator: the rules decide, a chat model words the reply.

`LlmSimulator` has the rule-based `Simulator` inside it, and everything that decides what a
message does comes from there: the field asked (`find_asked`), the value given (never one the
persona lacks), declines, corrections, volunteers, and the stop rules (SUBMISSION, `max_turns`,
no progress). So `Step.asked`, `Step.answers`, the notes and the stop reason mean what they mean
for the rule-based simulator, and scoring is the same. The model is asked only for the wording:
its prompt holds the persona (values, traits), the transcript so far (the assistant's messages
as the "user" role, the person's as "assistant"; the last `PROMPT_TURNS` turns, each message
cut to `PROMPT_MESSAGE_CHARS`), the rule "never invent a value: if you are asked for something
not in your values, say you don't have it", and what the next message must convey (the
rule-based draft, values as written). The model may reword, but a reply must carry exactly
the values the draft carries, and be at most `max_reply_chars` long (see
`evalkit.simulate.wording`); else the draft is sent, with a note (the model's trouble, never
the target's failure).

The model is reached through `chat`, a plain async callable (messages in, reply text out) that
the runner builds from `evalkit.client.ChatClient`; this package does no HTTP. Replies pass
through the run's redactor, then are kept in a `ChatCache` keyed by (model, base URL, seed,
messages): a rerun that meets the same transcript asks nothing and sends the same words.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from evalkit.errors import SimulatorError
from evalkit.results import TurnTranscript
from evalkit.results.turns import assistant_text, offered_options
from evalkit.simulate.cache import ChatCache
from evalkit.simulate.simulator import Simulator, Step
from evalkit.simulate.wording import added_values, keeps_value, known_values, max_reply_chars
from evalkit.suite import Persona

__all__ = [
    "NEVER_INVENT",
    "PROMPT_MESSAGE_CHARS",
    "PROMPT_TURNS",
    "Chat",
    "LlmSimulator",
    "added_values",
    "keeps_value",
    "known_values",
    "max_reply_chars",
    "prompt_messages",
]

Chat = Callable[[list[dict[str, str]]], Awaitable[str]]
"""Ask the model: chat messages (`role`, `content`) in, the reply's text out. Raises
`evalkit.errors.SimulatorError` when there is no usable reply."""

NEVER_INVENT = (
    "Never invent a value: give only the values listed below. If you are asked for something "
    "that is not in your values, say you don't have it."
)
"""The rule every prompt states."""

_NEXT = "Your next message must say this, in your own words, keeping every value exactly as written"

PROMPT_TURNS = 20
"""The prompt shows the session's last turns, at most this many (older ones are left out)."""
PROMPT_MESSAGE_CHARS = 2_000
"""Each message of the dialogue in the prompt is cut to this many characters."""

_LEFT_OUT = "(earlier messages left out)"

_STYLES = {
    "terse": "terse: just the answer, in as few words as will do",
    "chatty": "chatty: the answer in a friendly sentence, with a little filler",
}


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _system(persona: Persona) -> str:
    lines = [
        "You are playing a person who fills in a form by chatting with the form's assistant. "
        "The assistant's messages come to you as the user's; you answer as this person, with "
        "one message and nothing else (no quotes, no notes, no explanations).",
        NEVER_INVENT,
        f"The assistant's last message ends with a note in brackets: {_NEXT.lower()}.",
        f"Who you are: {persona.name or 'a person filling in the form'}.",
        f"How you write: {_STYLES[persona.style]}.",
        "Your values:",
    ]
    for name, given in persona.values.items():
        said = f" (when asked, say exactly: {given.say})" if given.say is not None else ""
        lines.append(f"- {name}: {_value(given.value)}{said}")
    if persona.typos:
        lines.append(
            "You type carelessly: a slip or two in the words around a value (the note shows "
            "them), never in a value itself."
        )
    for name, wrong in persona.corrects.items():
        lines.append(
            f"By mistake, you first give {name} as {_value(wrong)}, and correct it in your next "
            "message."
        )
    if persona.declines:
        lines.append(
            f"You would rather not give: {', '.join(persona.declines)} (if asked, say so politely)."
        )
    return "\n".join(lines)


def _assistant_said(turn: TurnTranscript) -> str:
    """What the assistant said in a turn: its texts, and the options its select prompts offered."""
    parts = [assistant_text(turn).strip()]
    options = offered_options(turn)
    if options:
        parts.append("Options: " + ", ".join(label or value for value, label in options))
    return " ".join(p for p in parts if p) or "(the assistant said nothing)"


def _cut(text: str) -> str:
    """A message of the dialogue as the prompt shows it: at most `PROMPT_MESSAGE_CHARS`."""
    if len(text) <= PROMPT_MESSAGE_CHARS:
        return text
    return text[: PROMPT_MESSAGE_CHARS - 1] + "…"


def prompt_messages(
    persona: Persona, transcript: Sequence[TurnTranscript], draft: str
) -> list[dict[str, str]]:
    """The chat messages that ask for the person's next message.

    Args:
        persona: Who the model plays.
        transcript: The session so far (session creation first); each later turn's `user` is
            what the person said.
        draft: What the next message must convey (the rule-based simulator's words).

    Returns:
        A system message, then the dialogue: the assistant's turns as `user`, the person's as
        `assistant`; the last one carries the note on what to say. The dialogue is bounded,
        whatever a target sends: only the last `PROMPT_TURNS` turns (the first kept one says
        that earlier messages were left out), each message cut to `PROMPT_MESSAGE_CHARS`
        characters (the note is never cut).
    """
    messages = [{"role": "system", "content": _system(persona)}]
    first = max(0, len(transcript) - PROMPT_TURNS)
    for number, turn in enumerate(transcript[first:], start=first):
        if number > first and turn.user:
            messages.append({"role": "assistant", "content": _cut(turn.user)})
        said = _cut(_assistant_said(turn))
        if number == first and first:
            said = f"{_LEFT_OUT} {said}"
        if number == len(transcript) - 1:
            said = f"{said}\n\n[{_NEXT}: «{draft}»]"
        messages.append({"role": "user", "content": said})
    return messages


def _tidy(reply: str) -> str:
    """The reply as a message: outer space and one pair of wrapping quotes removed."""
    text = reply.strip()
    for left, right in (('"', '"'), ("“", "”"), ("«", "»")):
        if len(text) > 1 and text.startswith(left) and text.endswith(right):
            return text[1:-1].strip()
    return text


def _identity(text: str) -> str:
    return text


@dataclass
class LlmSimulator:
    """A simulated user for one session whose words come from a chat model.

    Attributes:
        rules: The rule-based simulator that decides what each message does (and keeps the
            asked fields, the given ones, the notes and the stop reason).
        chat: Asks the model (see `Chat`).
        cache: Where replies are kept by (model, base URL, seed, messages); None asks every
            time.
        redact: The run's redactor (text in, text out): every reply passes through it before
            it is cached or sent, so a secret the model echoes goes nowhere.
    """

    rules: Simulator
    chat: Chat
    cache: ChatCache | None = None
    redact: Callable[[str], str] = _identity

    @property
    def asked(self) -> list[str | None]:
        """The field each assistant turn asked for, as understood (as `Simulator.asked`)."""
        return self.rules.asked

    @property
    def notes(self) -> list[str]:
        """The simulator's own trouble, cache warnings and overruled wordings included."""
        return self.rules.notes

    @property
    def stop(self) -> str:
        """Why it stopped, once it has."""
        return self.rules.stop

    async def next_message(self, transcript: Sequence[TurnTranscript]) -> Step:
        """The next user message, from the transcript so far (session creation first).

        The model's wording is sent only if it is at most `max_reply_chars` long and carries
        exactly the values the rules' draft carries (`keeps_value` for each of them, and nothing
        `added_values` finds); else the draft is sent, with a note: a model that drops, changes
        or invents a value is the simulator's trouble, never the target's failure.

        Raises:
            SimulatorError: The model gave no usable reply (the conversation is the
                simulator's error, not the target's).
        """
        step = self.rules.next_message(transcript)
        if step.utterance is None:
            return step
        turn = len(transcript)
        messages = prompt_messages(self.rules.persona, transcript, step.utterance)
        reply = _tidy(await self._ask(messages, turn))
        if not reply:
            raise SimulatorError(f"turn {turn}: the model's reply was empty")
        trouble = self._trouble(reply, step, transcript)
        if trouble:
            self.rules.notes.append(
                f"turn {turn}: the model's wording {trouble} ({reply[:120]!r}); "
                "the rules' words were sent instead"
            )
            return step
        return replace(step, utterance=reply)

    def _trouble(self, reply: str, step: Step, transcript: Sequence[TurnTranscript]) -> str:
        """What keeps `reply` from being sent for `step` ("" when nothing does)."""
        draft = step.utterance or ""
        if len(reply) > max_reply_chars(draft):
            return f"was too long ({len(reply)} characters for a draft of {len(draft)})"
        dropped = [value for value in step.values if not keeps_value(reply, value)]
        if dropped:
            return "dropped " + ", ".join(repr(value) for value in dropped)
        known = known_values(self.rules.persona, self.rules.hints, offered_options(transcript[-1]))
        added = added_values(reply, draft, step.values, known)
        if added:
            return "added " + ", ".join(repr(value) for value in added)
        return ""

    async def _ask(self, messages: list[dict[str, str]], turn: int) -> str:
        if self.cache is None:
            return self.redact(await self.chat(messages))
        found = self.cache.get(messages)
        if found.reply is not None:
            return self.redact(found.reply)
        if found.problem:
            self.rules.notes.append(
                f"turn {turn}: a simulator cache entry was ignored ({found.problem}); "
                "asked the model again"
            )
        reply = self.redact(await self.chat(messages))
        problem = self.cache.put(messages, reply)
        if problem:
            self.rules.notes.append(f"turn {turn}: the model's reply was not cached ({problem})")
        return reply
