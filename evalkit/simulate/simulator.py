"""The deterministic persona simulator: answer what the assistant asks, from the persona only.

One `Simulator` plays one session. `next_message(transcript)` reads the latest assistant turn,
finds the field it asks for (see `find_asked`), and says the persona's value for it with a
template drawn from a generator seeded by the conversation's seed, the turn number and the
assistant's words: the same seed and the same assistant text give the same utterance, whatever
else runs at the same time. It never invents a value: asked for a field the persona lacks, it
says it has none. Asked to confirm what it gave before the form is sent ("Shall I send it?"),
it says yes (after the correction it owes, if any). With `typos`, the words around a value get
keyboard slips; the value never does. Trouble of its own (a question it cannot place) is a note,
never the target's failure.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from evalkit.results import TurnTranscript
from evalkit.simulate import phrasing
from evalkit.simulate.asked import (
    Asked,
    FieldHint,
    asks_to_confirm,
    extracted,
    find_asked,
    question_text,
    submitted,
)
from evalkit.suite import Persona, PersonaValue

__all__ = ["Simulator", "Step", "seed_for"]


def seed_for(suite: str, conversation_id: str, repeat: int) -> int:
    """The simulator's seed for one conversation and repeat (stable across runs and machines)."""
    key = f"{suite}\x1f{conversation_id}\x1f{repeat}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:6], "big")


@dataclass(frozen=True)
class Step:
    """What the simulator does next."""

    utterance: str | None
    """The message to send, or None to stop."""
    answers: tuple[str, ...] = ()
    """The fields the message gives values for."""
    asked: str | None = None
    """The field the assistant's turn asked for, as the simulator understood it."""
    stop: str = ""
    """Why it stops (when `utterance` is None)."""
    values: tuple[str, ...] = ()
    """Each value the message gives, as written in it (a list's items one by one, a `say`
    whole): what a rewording of the message must keep."""


@dataclass
class Simulator:
    """A simulated user for one session.

    Attributes:
        persona: Who it plays.
        seed: The conversation's seed (`seed_for`).
        hints: What is known of the form's fields (labels, options); the persona's fields are
            always known by their keys.
    """

    persona: Persona
    seed: int
    hints: Sequence[FieldHint] = ()
    given: list[str] = field(default_factory=list)
    """Fields it has given values for, in order."""
    asked: list[str | None] = field(default_factory=list)
    """The field each assistant turn asked for (session creation first), as understood."""
    notes: list[str] = field(default_factory=list)
    """Its own trouble: questions it could not place, fields it could not give."""
    stop: str = ""
    """Why it stopped, once it has."""
    corrected: list[str] = field(default_factory=list)
    """Fields whose wrong value it has said (and will correct, or has corrected)."""
    _pending: str | None = None
    _written: list[str] = field(default_factory=list, init=False, repr=False)  # Step.values

    def _known(self) -> list[FieldHint]:
        known = {h.target: h for h in self.hints}
        for name in self.persona.values:
            known.setdefault(name, FieldHint(target=name))
        return list(known.values())

    def _rng(self, turn: int, text: str) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}\x1f{turn}\x1f{text}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def _labels(self, name: str, asked: Asked) -> dict[str, str] | None:
        options = asked.options if asked.field == name and asked.options else ()
        if not options:
            hint = next((h for h in self.hints if h.target == name), None)
            options = hint.options if hint else ()
        if not options:
            return None
        if self.persona.selects == "value":
            return {value: value.replace("_", " ") for value, _ in options}
        return {value: label or value for value, label in options}

    def _say(
        self,
        rng: random.Random,
        name: str,
        asked: Asked,
        *,
        volunteered: bool = False,
        wrong: bool = False,
        correcting: bool = False,
    ) -> str:
        given: PersonaValue = self.persona.values[name]
        if given.say is not None and not wrong:
            self._written.append(given.say)
            return given.say
        labels = self._labels(name, asked)
        value = self.persona.corrects[name] if wrong else given.value
        written = phrasing.write_value(
            value, numbers=self.persona.numbers, dates=self.persona.dates, labels=labels
        )
        self._written.extend(
            phrasing.write_value(
                v, numbers=self.persona.numbers, dates=self.persona.dates, labels=labels
            )
            for v in (value if isinstance(value, list) else [value])
        )
        hint = next((h for h in self.hints if h.target == name), None)
        label = hint.label if hint and hint.label else None
        kind = phrasing.kind_of(given.value, options=labels is not None)
        if correcting:
            said = phrasing.correction(rng, written, name, label)
        elif volunteered:
            said = phrasing.with_label(rng, written, name, label)
        else:
            chatty = self.persona.style == "chatty"
            said = phrasing.phrase(rng, kind, written, name, chatty=chatty, label=label)
        if self.persona.typos and kind != "text":  # free text is all value: written as is
            said = phrasing.with_typos(rng, said, written, name, label)
        return said

    def _next_unasked(self) -> list[str]:
        return [
            n for n in self.persona.values if n not in self.given and n not in self.persona.declines
        ]

    def _halt(self, why: str) -> Step:
        self.stop = why
        return Step(None, stop=why)

    def next_message(self, transcript: Sequence[TurnTranscript]) -> Step:
        """The next user message, from the transcript so far (session creation first).

        Args:
            transcript: Every exchange of this session so far; the last is the turn to answer.

        Returns:
            The message and what it answers, or a `Step` with no utterance and why it stops.
        """
        self._written = []
        if not transcript:
            return self._halt("no session")
        last = transcript[-1]
        turn = len(transcript)
        if any(submitted(t) for t in transcript):
            return self._halt("submitted")
        stalled = 0
        for exchange in reversed(transcript[1:]):
            if extracted(exchange):
                break
            stalled += 1
        if stalled >= self.persona.stall_turns:
            self.notes.append(
                f"turn {turn - 1}: nothing extracted for {stalled} turns in a row; stopped"
            )
            return self._halt("no progress")
        if turn - 1 >= self.persona.max_turns:
            return self._halt("max turns")
        text = question_text(last)
        rng = self._rng(turn, text)
        asked = find_asked(last, self._known(), self.persona.phrases)
        self.asked.append(asked.field)
        parts: list[str] = []
        answers: list[str] = []
        name = asked.field
        if self._pending is not None:  # the correction is a message of its own
            fixing, self._pending = self._pending, None
            right = self._say(rng, fixing, asked, correcting=True)
            return Step(right, answers=(fixing,), asked=name, values=tuple(self._written))
        if name is not None and name in self.persona.corrects and name not in self.corrected:
            self.corrected.append(name)
            self._pending = name
            wrong = self._say(rng, name, asked, wrong=True)
            if name not in self.given:
                self.given.append(name)
            return Step(wrong, answers=(name,), asked=name, values=tuple(self._written))
        if name is not None and name in self.persona.declines:
            parts.append(phrasing.declining(rng))
        elif name is not None and name not in self.persona.values:
            parts.append(phrasing.lacking(rng))
            self.notes.append(f"turn {turn}: asked for {name}, which the persona does not have")
        elif name is not None:
            parts.append(self._say(rng, name, asked))
            answers.append(name)
        elif asks_to_confirm(last):  # what it gave is right (a correction went first)
            return Step(phrasing.confirming(rng), asked=None)
        else:
            pending = self._next_unasked()
            if not pending:
                self.notes.append(
                    f"turn {turn}: could not tell what the assistant asked for "
                    f"({text[:120]!r}) and has nothing left to give"
                )
                return self._halt("nothing to say")
            self.notes.append(
                f"turn {turn}: could not tell what the assistant asked for ({text[:120]!r}); "
                f"volunteered {pending[0]}"
            )
            parts.append(self._say(rng, pending[0], asked, volunteered=True))
            answers.append(pending[0])
        if turn == 1 and self.persona.volunteers:
            extra = [n for n in self._next_unasked() if n not in answers]
            for other in extra[: self.persona.volunteers]:
                parts.append(self._say(rng, other, asked, volunteered=True))
                answers.append(other)
        for answered in answers:
            if answered not in self.given:
                self.given.append(answered)
        return Step(
            phrasing.join(parts), answers=tuple(answers), asked=name, values=tuple(self._written)
        )
