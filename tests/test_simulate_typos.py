"""The `typos` persona trait: keyboard slips in the words around a value, never in the value."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.results import TimedChunk, TurnTranscript
from evalkit.simulate import Simulator
from evalkit.simulate.phrasing import write_value
from evalkit.suite import Persona


def _ask(question: str) -> TurnTranscript:
    chunk = {"chunkType": "TEXT", "textDetails": {"text": question}}
    return TurnTranscript(
        endpoint="create", status_code=200, chunks=[TimedChunk(t=0.0, chunk=chunk)]
    )


def _persona(value: Any, **traits: Any) -> Persona:
    return Persona.model_validate({"values": {"the_field": value, "other": "x"}, **traits})


# What people give: emails, names, phone numbers, numbers, dates, booleans, any text at all.
VALUES = st.one_of(
    st.emails(),
    st.from_regex(r"\A[A-Z][a-z]{1,12}( [A-Z][a-z]{1,12})?\Z"),
    st.from_regex(r"\A\+?[0-9]{1,3}( [0-9]{2,4}){2,3}\Z"),
    st.integers(-999_999, 999_999),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat),
    st.booleans(),
    st.text(min_size=1, max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(
    value=VALUES,
    seed=st.integers(0, 2**48),
    style=st.sampled_from(["terse", "chatty"]),
    numbers=st.sampled_from(["digits", "words"]),
    dates=st.sampled_from(["iso", "written", "us"]),
)
def test_a_persona_with_typos_says_its_value_verbatim(
    value: Any, seed: int, style: str, numbers: str, dates: str
) -> None:
    persona = _persona(value, typos=True, style=style, numbers=numbers, dates=dates)
    written = write_value(value, numbers=numbers, dates=dates)
    asked = Simulator(persona, seed=seed).next_message([_ask("What is your the field?")])
    assert asked.answers == ("the_field",)
    assert written in (asked.utterance or "")
    # Volunteered unasked, and said wrong then corrected: the value is intact there too.
    unplaced = Simulator(persona, seed=seed).next_message([_ask("Tell me about you")])
    assert written in (unplaced.utterance or "")
    wrong = _persona(value, typos=True, style=style, corrects={"the_field": "zzz"})
    simulator = Simulator(wrong, seed=seed)
    simulator.next_message([_ask("What is your the field?")])
    fixed = simulator.next_message([_ask("What is your the field?"), _ask("Other?")])
    assert fixed.answers == ("the_field",)
    assert write_value(value) in (fixed.utterance or "")


def test_typos_change_the_words_around_the_value_seeded() -> None:
    ask = [_ask("What is your email?")]
    plain = _persona("jane@example.com", style="chatty")
    slips = _persona("jane@example.com", style="chatty", typos=True)
    said = {s: Simulator(slips, seed=s).next_message(ask).utterance or "" for s in range(40)}
    clean = {s: Simulator(plain, seed=s).next_message(ask).utterance or "" for s in range(40)}
    changed = [s for s in said if said[s] != clean[s]]
    assert len(changed) > 30  # nearly every chatty answer has a word to slip on
    for s in changed:
        assert "jane@example.com" in said[s]
        before, after = re.split(r"\s+", clean[s]), re.split(r"\s+", said[s])
        assert len(before) == len(after)  # a slip replaces a letter: no word is added or lost
        slipped = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert all(len(a) == len(b) and a[0] == b[0] for a, b in slipped)
    again = {s: Simulator(slips, seed=s).next_message(ask).utterance for s in range(40)}
    assert again == said  # the same seed and question give the same slips


def test_a_free_text_answer_and_exact_words_have_no_typos() -> None:
    notes = _persona("Please use the side entrance", style="chatty", typos=True)
    words = _persona({"value": "no", "say": "Nothing, thanks"}, style="chatty", typos=True)
    for seed in range(20):
        text = Simulator(notes, seed=seed).next_message([_ask("Any the field?")]).utterance
        said = ("Sure: {}.", "Well, {}.", "Of course. {}.")
        assert text in [s.format("Please use the side entrance") for s in said]
        exact = Simulator(words, seed=seed).next_message([_ask("Any the field?")]).utterance
        assert exact == "Nothing, thanks"
