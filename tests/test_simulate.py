"""Persona conversations: the suite model, the deterministic simulator, scoring, and runs."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

import evalkit
from evalkit.errors import SuiteError
from evalkit.loader import load_suites
from evalkit.results import TimedChunk, TurnTranscript
from evalkit.results.models import SimulationInfo
from evalkit.runner import RunSettings
from evalkit.scoring import score_conversation
from evalkit.simulate import FieldHint, Simulator, seed_for
from evalkit.suite import Conversation, Defaults, Persona

ROOT = Path(__file__).resolve().parents[1]


def _turn(*chunks: dict[str, Any], user: str | None = None) -> TurnTranscript:
    return TurnTranscript(
        endpoint="create" if user is None else "send-user-message",
        user=user,
        status_code=200,
        chunks=[TimedChunk(t=0.0, chunk=c) for c in chunks],
    )


def _text(text: str) -> dict[str, Any]:
    return {"chunkType": "TEXT", "textDetails": {"text": text}}


def _data(target: str, value: Any) -> dict[str, Any]:
    return {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": target, "value": value}}


def _select(target: str, *options: tuple[str, str]) -> dict[str, Any]:
    return {
        "chunkType": "SINGLE_SELECT_INPUT",
        "singleSelectInputDetails": {
            "fieldTarget": target,
            "options": [{"value": v, "label": label} for v, label in options],
        },
    }


SEPARATOR = {"chunkType": "SEPARATOR"}
SUBMISSION = {"chunkType": "SUBMISSION", "submissionDetails": {"submissionId": "0"}}


def _persona(**traits: Any) -> Persona:
    values = traits.pop(
        "values",
        {
            "first_name": "Jane",
            "email": "jane@example.com",
            "contact_method": "phone_call",
            "age": 32,
        },
    )
    return Persona.model_validate({"values": values, **traits})


# ----------------------------------------------------------------------------- the model


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.eval.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_persona_conversation_loads_with_matrix_and_vars(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        suite: personas
        form: contact
        vars: {domain: example.com}
        conversations:
          - id: "{{ who }}"
            matrix:
              - {who: jane, style: terse}
              - {who: joe, style: chatty}
            persona:
              name: "{{ who }}"
              style: "{{ style }}"
              values:
                first_name: "{{ who }}"
                email: "{{ who }}@{{ domain }}"
                phone: {value: "+1 555 010 2030", expect: {phone: "+15550102030"}}
        """,
    )
    [loaded] = load_suites([path])
    jane, joe = loaded.suite.conversations
    assert jane.turns == []
    assert jane.persona is not None
    assert joe.persona is not None
    assert joe.persona.style == "chatty"
    assert joe.persona.values["email"].value == "joe@example.com"
    phone = jane.persona.values["phone"]
    assert phone.expect is not None
    assert phone.expect.matcher == "phone"


@pytest.mark.parametrize(
    ("conversation", "message"),
    [
        (
            "{id: a, turns: [{user: hi}], persona: {values: {email: a@b.c}}}",
            "not both",
        ),
        ("{id: a, persona: {values: {email: a@b.c}, declines: [phone]}}", "declines names phone"),
        ("{id: a, persona: {values: {email: a@b.c}, style: loud}}", "terse"),
        ("{id: a}", "missing required key `turns`"),
    ],
)
def test_persona_mistakes_are_load_errors(tmp_path: Path, conversation: str, message: str) -> None:
    path = _write(tmp_path, f"suite: s\nform: contact\nconversations:\n  - {conversation}\n")
    with pytest.raises(SuiteError) as caught:
        load_suites([path])
    assert message in str(caught.value)


# ----------------------------------------------------------------------------- the simulator


def test_a_select_prompt_is_answered_by_label_or_by_value() -> None:
    ask = _turn(
        _text("How should we reach you?"), _select("contact_method", ("phone_call", "Phone call"))
    )
    by_label = Simulator(_persona(), seed=1).next_message([ask])
    by_value = Simulator(_persona(selects="value"), seed=1).next_message([ask])
    assert by_label.asked == "contact_method"
    assert "Phone call" in (by_label.utterance or "")
    assert "phone call" in (by_value.utterance or "")
    assert "Phone call" not in (by_value.utterance or "")


def test_a_question_is_matched_to_the_field_it_names_not_to_the_acknowledgement() -> None:
    ask = _turn(_text("Thanks! I've noted your first name."), SEPARATOR, _text("And your email?"))
    step = Simulator(_persona(), seed=3).next_message([ask])
    assert step.asked == "email"
    assert step.utterance is not None
    assert "jane@example.com" in step.utterance


def test_form_labels_and_suite_phrases_place_a_question() -> None:
    ask = _turn(_text("How old are you?"))
    known = Simulator(_persona(phrases={"age": ["how old"]}), seed=3).next_message([ask])
    assert known.asked == "age"
    assert "32" in (known.utterance or "")
    hinted = Simulator(_persona(), seed=3, hints=[FieldHint("email", "E-mail address")])
    assert hinted.next_message([_turn(_text("Your e-mail address?"))]).asked == "email"


def test_numbers_in_words_and_written_dates() -> None:
    ask = _turn(_text("What is your age?"))
    assert "thirty-two" in (
        Simulator(_persona(numbers="words"), seed=0).next_message([ask]).utterance or ""
    )
    persona = _persona(values={"date": "2026-11-27"}, dates="written")
    step = Simulator(persona, seed=0).next_message([_turn(_text("Which date?"))])
    assert "27 November 2026" in (step.utterance or "")


def test_an_unplaceable_question_volunteers_the_next_value_and_notes_it() -> None:
    simulator = Simulator(_persona(), seed=5)
    step = simulator.next_message([_turn(_text("Tell me about yourself!"))])
    assert step.asked is None
    assert step.answers == ("first_name",)
    assert "first name" in (step.utterance or "")
    assert "Jane" in (step.utterance or "")
    assert simulator.notes
    assert "could not tell" in simulator.notes[0]


def test_it_never_invents_a_value_and_declines_what_it_will_not_give() -> None:
    form = [FieldHint("phone", "Phone number")]
    simulator = Simulator(_persona(declines=["age"]), seed=5, hints=form)
    lacking = simulator.next_message([_turn(_text("What is your phone number?"))])
    assert lacking.answers == ()
    assert "don't have" in (lacking.utterance or "")
    assert simulator.notes == ["turn 1: asked for phone, which the persona does not have"]
    simulator = Simulator(_persona(declines=["age"]), seed=5)
    declined = simulator.next_message([_turn(_text("What is your age?"))])
    assert declined.answers == ()
    assert "rather not" in (declined.utterance or "")


def test_volunteers_gives_further_values_in_the_first_message() -> None:
    step = Simulator(_persona(volunteers=2), seed=2).next_message(
        [_turn(_text("What's your first name?"))]
    )
    assert step.answers == ("first_name", "email", "contact_method")


def test_same_seed_and_same_text_give_the_same_utterance() -> None:
    asks = [_turn(_text(f"What is your {f}?")) for f in ("first name", "email", "age")]
    for style in ("terse", "chatty"):
        said = {
            Simulator(_persona(style=style), seed=seed_for("s", "c", 0)).next_message([a]).utterance
            for a in asks
            for _ in range(3)
        }
        assert len(said) == 3
    many = {
        Simulator(_persona(style="chatty"), seed=s).next_message(asks[:1]).utterance
        for s in range(30)
    }
    assert len(many) > 1  # the seed picks among several phrasings


def test_it_stops_at_submission_at_max_turns_and_when_nothing_progresses() -> None:
    done = Simulator(_persona(), seed=0)
    assert done.next_message([_turn(_text("Bye"), SUBMISSION)]).utterance is None
    assert done.stop == "submitted"
    capped = Simulator(_persona(max_turns=1), seed=0)
    transcript = [
        _turn(_text("Name?")),
        _turn(_data("first_name", "Jane"), _text("Email?"), user="x"),
    ]
    assert capped.next_message(transcript).utterance is None
    assert capped.stop == "max turns"
    stuck = Simulator(_persona(stall_turns=2), seed=0)
    looping = [_turn(_text("What is your email?"), user=None if i == 0 else "x") for i in range(3)]
    assert stuck.next_message(looping).utterance is None
    assert stuck.stop == "no progress"
    assert stuck.notes


# ----------------------------------------------------------------------------- scoring


def _conversation(**persona: Any) -> Conversation:
    return Conversation.model_validate({"id": "p", "persona": _persona(**persona)})


def test_scoring_compares_the_final_state_with_the_persona_and_expects_submission() -> None:
    transcript = [
        _turn(_text("Name?")),
        _turn(_data("first_name", "Jane"), _data("email", "JANE@example.com"), user="Jane"),
        _turn(_data("contact_method", "email"), _data("age", 32), SUBMISSION, user="phone"),
    ]
    score = score_conversation(_conversation(), Defaults(), transcript)
    verdicts = {f.field: f.outcome for f in score.fields}
    assert verdicts == {
        "first_name": "correct",
        "email": "correct",
        "contact_method": "wrong",
        "age": "correct",
    }
    assert score.status == "fail"
    assert score.submitted
    unsubmitted = score_conversation(_conversation(), Defaults(), transcript[:2])
    assert any(c.check == "submitted" and not c.passed for c in unsubmitted.checks)


def test_a_re_ask_is_a_warning_by_default_and_a_failure_when_the_suite_says() -> None:
    values = {"first_name": "Jane"}
    transcript = [
        _turn(_text("What's your first name?")),
        _turn(
            _data("first_name", "Jane"), SEPARATOR, _text("What's your first name?"), user="Jane"
        ),
        _turn(_data("first_name", "Jane"), SUBMISSION, user="Jane"),
    ]
    simulation = SimulationInfo(
        seed=1, asked=["first_name", "first_name"], answers=[["first_name"]] * 2
    )
    warned = score_conversation(_conversation(values=values), Defaults(), transcript, simulation)
    assert warned.status == "pass"
    assert any("asked for first_name again" in w for w in warned.warnings)
    strict = _conversation(values=values, re_asks="fail")
    failed = score_conversation(strict, Defaults(), transcript, simulation)
    assert failed.status == "fail"
    assert [c.reason for c in failed.checks if not c.passed] == [
        "turn 1 asked for first_name again after it was extracted"
    ]


def test_a_value_never_asked_for_is_reported_not_failed() -> None:
    transcript = [
        _turn(_text("Name?")),
        _turn(_data("first_name", "Jane"), SUBMISSION, user="Jane"),
    ]
    simulation = SimulationInfo(seed=1, asked=["first_name"], answers=[["first_name"]])
    score = score_conversation(
        _conversation(values={"first_name": "Jane", "phone": "555 0102"}),
        Defaults(),
        transcript,
        simulation,
    )
    assert score.status == "pass"
    assert [c.reason for c in score.checks if c.check == "never_asked"] == [
        "never asked for phone, so the persona did not give it"
    ]


# ----------------------------------------------------------------------------- runs

PERSONAS = """\
suite: contact-personas
form: contact
conversations:
  - id: "{{ who }}"
    matrix:
      - {who: terse-label, style: terse, selects: label, volunteers: 0, numbers: digits}
      - {who: chatty-value, style: chatty, selects: value, volunteers: 2, numbers: words}
      - {who: chatty-label, style: chatty, selects: label, volunteers: 1, numbers: digits}
    persona:
      name: "{{ who }}"
      style: "{{ style }}"
      selects: "{{ selects }}"
      volunteers: "{{ volunteers }}"
      numbers: "{{ numbers }}"
      values:
        first_name: Jane
        email: jane@example.com
        contact_method: text_message
        newsletter: true
"""


def _run(tmp_path: Path, name: str, concurrency: int = 4) -> evalkit.RunOutcome:
    suites = tmp_path / "suites"
    if not suites.exists():
        shutil.copytree(ROOT / "suites" / "forms", suites / "forms")
        (suites / "p.eval.yaml").write_text(PERSONAS, encoding="utf-8")
    return evalkit.run(
        load_suites([suites / "p.eval.yaml"]),
        out_root=tmp_path / name,
        settings=RunSettings(concurrency=concurrency),
    )


def test_personas_fill_the_contact_form_against_the_emulator(tmp_path: Path) -> None:
    outcome = _run(tmp_path, "runs")
    results = list(outcome.results)
    assert [r.status for r in results] == ["pass"] * 3, [
        (r.conversation_id, [f.reason for f in r.fields if not f.passed]) for r in results
    ]
    for result in results:
        assert result.simulation is not None
        assert result.simulation.seed == seed_for("contact-personas", result.conversation_id, 0)
        assert result.simulation.stop == "submitted"
        assert result.submitted


def test_two_runs_with_one_seed_send_identical_utterances(tmp_path: Path) -> None:
    def utterances(outcome: evalkit.RunOutcome) -> list[list[str | None]]:
        return [[t.user for t in r.transcript] for r in outcome.results]

    assert utterances(_run(tmp_path, "one", 1)) == utterances(_run(tmp_path, "two", 8))


# ----------------------------------------------------------------------------- shuffled order

CONTACT_PEOPLE: dict[str, dict[str, Any]] = {
    "terse-label": {"values": {"first_name": "Jane", "email": "jane@example.com",
                               "contact_method": "phone_call", "newsletter": False}},
    "chatty-value": {"style": "chatty", "selects": "value",
                     "values": {"first_name": "Omar", "email": "omar@example.org",
                                "contact_method": "text_message", "newsletter": True}},
    "volunteer": {"volunteers": 2,
                  "values": {"first_name": "Li", "email": "li@example.net",
                             "contact_method": "email", "newsletter": True}},
    "chatty-volunteer": {"style": "chatty", "volunteers": 1,
                         "values": {"first_name": "Ana", "email": "ana@example.com",
                                    "contact_method": "phone_call", "newsletter": False}},
    "value-terse": {"selects": "value",
                    "values": {"first_name": "Sam", "email": "sam@example.com",
                               "contact_method": "email", "newsletter": False}},
}  # fmt: skip


def _wire(chunks: list[Any]) -> TurnTranscript:
    return _turn(*(c.wire() for c in chunks))


def _shuffled(who: str, repeat: int) -> Any:
    from evalkit.emulator.dialogue import Session
    from evalkit.emulator.formfiles import load_form

    form = load_form(ROOT / "suites" / "forms" / "contact.form.yaml")
    return Session(f"{who}-{repeat}", form, ask_order="shuffled", seed=7, key=f"{who}.{repeat}")


def _converse(session: Any, say: Any) -> list[TurnTranscript]:
    """Drive the emulator's dialogue in-process; `say(transcript)` gives the next message."""
    from evalkit.emulator.dialogue import open_session, reply

    transcript = [_wire(open_session(session, None))]
    while (text := say(transcript)) is not None:
        record = _wire(reply(session, text, None))
        transcript.append(record.model_copy(update={"user": text}))
    return transcript


def test_personas_pass_every_repeat_against_shuffled_order_where_scripts_fail_some() -> None:
    orders: set[tuple[str | None, ...]] = set()
    scripted_failures = 0
    for who, traits in CONTACT_PEOPLE.items():
        persona = _persona(**traits)
        conversation = Conversation.model_validate({"id": who, "persona": persona})
        for repeat in range(20):
            simulator = Simulator(persona, seed=seed_for("contact", who, repeat))

            def simulated(transcript: list[TurnTranscript], sim: Simulator = simulator) -> Any:
                return sim.next_message(transcript).utterance

            transcript = _converse(_shuffled(who, repeat), simulated)
            info = SimulationInfo(seed=simulator.seed, asked=simulator.asked)
            score = score_conversation(conversation, Defaults(), transcript, info)
            assert score.status == "pass", (who, repeat, [t.user for t in transcript], score)
            orders.add(tuple(simulator.asked))

            # The same person as a fixed-order script: the form's order, one value a turn, then
            # a "yes" to the summing-up a shuffled session asks to confirm before it submits.
            values = traits["values"]
            script = [str(v).lower() if isinstance(v, bool) else str(v) for v in values.values()]
            script = ["yes" if s == "true" else "no" if s == "false" else s for s in script]
            script.append("yes")
            written = Conversation.model_validate(
                {
                    "id": who,
                    "turns": [{"user": text} for text in script],
                    "final": values,
                    "submitted": True,
                }
            )
            queue = iter(script)
            fixed = _converse(_shuffled(who, repeat), lambda _t, q=queue: next(q, None))
            scripted_failures += score_conversation(written, Defaults(), fixed).status == "fail"
    assert len(orders) > 5  # sessions really ask in different orders
    assert 0 < scripted_failures < 100, scripted_failures


def test_the_runner_gives_the_simulator_the_form_so_its_questions_need_no_phrases(
    tmp_path: Path,
) -> None:
    suites = tmp_path / "suites"
    shutil.copytree(ROOT / "suites" / "forms", suites / "forms")
    (suites / "b.eval.yaml").write_text(
        textwrap.dedent(
            """\
            suite: booking-hints
            form: booking
            conversations:
              - id: alex
                persona:
                  values:
                    service: colour
                    date: {value: "2026-12-03", expect: {date: "2026-12-03"}}
                    time: {value: "10:00", expect: {time: "10:00"}}
                    name: Alex Morgan
                    email: alex@example.com
                    notes: {value: nothing, say: "Nothing, thanks", expect: {present: true}}
            """
        ),
        encoding="utf-8",
    )
    outcome = evalkit.run(load_suites([suites / "b.eval.yaml"]), out_root=tmp_path / "runs")
    [result] = list(outcome.results)
    assert result.simulation is not None
    assert result.simulation.notes == []
    assert result.simulation.asked == ["service", "date", "time", "name", "email", "notes"]
    assert result.status == "pass"


def test_a_correction_gives_the_wrong_value_once_then_fixes_it_in_its_own_message() -> None:
    simulator = Simulator(_persona(corrects={"email": "jane@exmaple.com"}), seed=4)
    first = simulator.next_message([_turn(_text("What's your email?"))])
    assert first.utterance is not None
    assert "jane@exmaple.com" in first.utterance
    asked_next = _turn(_data("email", "jane@exmaple.com"), SEPARATOR, _text("Your age?"), user="x")
    fix = simulator.next_message([_turn(_text("What's your email?")), asked_next])
    assert fix.answers == ("email",)
    assert "jane@example.com" in (fix.utterance or "")
    again = simulator.next_message([_turn(_text("What's your email?"))])
    assert "jane@example.com" in (again.utterance or "")  # corrected once, not every time


def test_a_correction_needs_a_value_the_persona_gives() -> None:
    with pytest.raises(ValueError, match="corrects names phone"):
        _persona(corrects={"phone": "555"})


def test_over_http_shuffled_sessions_ask_in_their_own_orders_and_personas_still_pass(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from evalkit.cli import main
    from evalkit.results import read_run

    args = ["run", str(ROOT / "suites" / "contact-personas.eval.yaml"), "--repeat", "10"]
    args += ["--emulator-ask-order", "shuffled", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)

    (run_dir,) = [p for p in tmp_path.iterdir() if (p / "run.json").is_file()]
    results = list(read_run(run_dir)[1])
    assert len(results) == 50  # five personas, ten repeats each
    # corrects-the-email included: a shuffled session asks to confirm before it submits, so a
    # correction of the last answer still counts (tests/test_simulate_defects.py).
    assert all(r.status == "pass" for r in results), result.output
    orders = {tuple(r.simulation.asked) for r in results if r.simulation is not None}
    assert len(orders) > 1  # the emulator's app hands each session its own order


def test_two_shuffled_runs_at_concurrency_8_send_byte_identical_utterances(tmp_path: Path) -> None:
    """Every example persona, 4 repeats, sessions in their own orders, 8 at a time: twice."""
    from click.testing import CliRunner

    from evalkit.cli import main
    from evalkit.results import read_run

    def utterances(name: str) -> dict[tuple[str, str, int], list[str | None]]:
        args = ["run", *(str(p) for p in sorted((ROOT / "suites").glob("*-personas.eval.yaml")))]
        args += ["--emulator-ask-order", "shuffled", "--repeat", "4", "--concurrency", "8"]
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        (run_dir,) = [p for p in (tmp_path / name).iterdir() if (p / "run.json").is_file()]
        results = read_run(run_dir)[1]
        return {
            (r.suite, r.conversation_id, r.repeat): [t.user for t in r.transcript] for r in results
        }

    first, second = utterances("one"), utterances("two")
    assert len(first) == 44  # eleven personas, four repeats each
    assert first == second
    assert len({tuple(u) for u in first.values()}) > 11  # repeats were asked in other orders
