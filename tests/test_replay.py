"""`replay_session`: a stored persona session checked against what the simulator says now.

Whatever the assistant sent (hypothesis draws its turns), a session the simulator played replays
exactly, with the same record; a session with one message changed is found at that turn.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.results import TimedChunk, TurnTranscript
from evalkit.simulate import FieldHint, Simulator, replay_session
from evalkit.suite import Persona

HINTS = (
    FieldHint("first_name", "First name"),
    FieldHint("email", "Email"),
    FieldHint("contact_method", "Contact method", options=(("email", "Email"), ("sms", "SMS"))),
    FieldHint("age", "Age"),
)
FIELDS = [h.target for h in HINTS]


def _exchange(chunks: list[dict[str, Any]], user: str | None) -> TurnTranscript:
    return TurnTranscript(
        endpoint="create" if user is None else "send-user-message",
        user=user,
        status_code=200,
        chunks=[TimedChunk(t=0.0, chunk=c) for c in chunks],
    )


_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(FIELDS).map(lambda f: f"What is your {f.replace('_', ' ')}?"),
    st.just("Shall I send it?"),
)
_chunks = st.one_of(
    _texts.map(lambda t: {"chunkType": "TEXT", "textDetails": {"text": t}}),
    st.just({"chunkType": "SEPARATOR"}),
    st.tuples(st.sampled_from(FIELDS), st.text(min_size=1, max_size=10)).map(
        lambda p: {
            "chunkType": "TEXT_DATA",
            "textDataDetails": {"fieldTarget": p[0], "value": p[1]},
        }
    ),
    st.just(
        {
            "chunkType": "SINGLE_SELECT_INPUT",
            "singleSelectInputDetails": {
                "fieldTarget": "contact_method",
                "options": [{"value": "email", "label": "Email"}, {"value": "sms", "label": "SMS"}],
            },
        }
    ),
)
_replies = st.lists(st.lists(_chunks, max_size=4), min_size=2, max_size=8)
_personas = st.builds(
    lambda style, selects, volunteers, typos, corrects, stall: Persona.model_validate(
        {
            "values": {
                "first_name": "Jane",
                "email": "jane@example.com",
                "contact_method": "sms",
                "age": 32,
            },
            "style": style,
            "selects": selects,
            "volunteers": volunteers,
            "typos": typos,
            "corrects": {"email": "jane@exmaple.com"} if corrects else {},
            "stall_turns": stall,
        }
    ),
    st.sampled_from(["terse", "chatty"]),
    st.sampled_from(["label", "value"]),
    st.integers(0, 2),
    st.booleans(),
    st.booleans(),
    st.integers(1, 4),
)


def _play(
    persona: Persona, seed: int, replies: list[list[dict[str, Any]]]
) -> tuple[Simulator, list[TurnTranscript], list[list[str]]]:
    """A session the simulator plays against these assistant turns (creation first).

    The persona's `max_turns` is the replies there are beyond the first: it stops by itself.
    """
    persona = persona.model_copy(update={"max_turns": len(replies) - 1})
    simulator = Simulator(persona, seed, HINTS)
    transcript = [_exchange(replies[0], None)]
    answers = []
    for reply in replies[1:]:
        step = simulator.next_message(transcript)
        if step.utterance is None:
            break
        transcript.append(_exchange(reply, step.utterance))
        answers.append(list(step.answers))
    else:
        assert simulator.next_message(transcript).utterance is None  # max turns
    return simulator, transcript, answers


@settings(max_examples=150, deadline=None)
@given(_personas, st.integers(0, 2**40), _replies)
def test_a_session_the_simulator_played_replays_exactly(
    persona: Persona, seed: int, replies: list[list[dict[str, Any]]]
) -> None:
    played, transcript, answers = _play(persona, seed, replies)
    again = Simulator(played.persona, seed, HINTS)
    replayed = replay_session(again, transcript)
    assert replayed.matches, replayed
    assert replayed.answers == answers
    assert (again.asked, again.notes, again.stop) == (played.asked, played.notes, played.stop)
    assert replayed.stop == played.stop


@settings(max_examples=150, deadline=None)
@given(_personas, st.integers(0, 2**40), _replies, st.data())
def test_a_changed_message_is_found_at_its_turn(
    persona: Persona, seed: int, replies: list[list[dict[str, Any]]], data: st.DataObject
) -> None:
    played, transcript, _ = _play(persona, seed, replies)
    if len(transcript) < 2:  # nothing was sent: nothing to change
        assert replay_session(Simulator(played.persona, seed, HINTS), transcript).matches
        return
    turn = data.draw(st.integers(1, len(transcript) - 1))
    original = transcript[turn].user
    assert original is not None
    changed = [*transcript]
    changed[turn] = transcript[turn].model_copy(update={"user": original + " (edited)"})
    replayed = replay_session(Simulator(played.persona, seed, HINTS), changed)
    assert (replayed.turn, replayed.sent, replayed.would) == (
        turn,
        original + " (edited)",
        original,
    )


def test_a_session_that_stopped_early_or_went_on_is_found() -> None:
    persona = Persona.model_validate({"values": {"first_name": "Jane", "age": 32}})
    got = {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": "age", "value": 32}}
    ask = [got, {"chunkType": "TEXT", "textDetails": {"text": "What is your first name?"}}]
    played, transcript, _ = _play(persona, 7, [ask, ask, ask, ask])
    assert len(transcript) == 4  # three messages, then max turns
    cut = transcript[:3]  # the stored session stopped after two
    replayed = replay_session(Simulator(played.persona, 7, HINTS), cut)
    assert (replayed.turn, replayed.sent, replayed.would) == (3, None, transcript[3].user)
    fewer = played.persona.model_copy(update={"max_turns": 2})
    replayed = replay_session(Simulator(fewer, 7, HINTS), transcript)
    assert (replayed.turn, replayed.sent, replayed.would, replayed.stop) == (
        3,
        transcript[3].user,
        None,
        "max turns",
    )
