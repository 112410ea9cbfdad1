"""The emulator's planted defects, and the emulator defects persona runs found (now fixed).

Planted defects make the emulator wrong in known ways; a persona suite against it must fail
exactly the people who meet one, for that reason, and pass everyone else. The runs go through
`evalkit run` against the real emulator server, as a user would run them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.emulator import Knobs, load_form
from evalkit.emulator.defects import Planted, check_defect, national_number
from evalkit.emulator.dialogue import Session, open_session, reply
from evalkit.emulator.extract import Context, extract
from evalkit.results import ConversationResult, TimedChunk, TurnTranscript, read_run
from evalkit.results.models import SimulationInfo
from evalkit.scoring import score_conversation
from evalkit.simulate import Simulator, seed_for
from evalkit.suite import Conversation, Defaults, Persona

ROOT = Path(__file__).resolve().parents[1]
CONTACT = load_form(ROOT / "suites" / "forms" / "contact.form.yaml")
DEFECTS = "drop-country-code,no-submit-when-false:newsletter,re-ask:age"

# Seven people filling in the contact form. Three meet a planted defect: an international phone
# number (drop-country-code), newsletter false (no-submit-when-false:newsletter), an age
# (re-ask:age). The others give no age, a phone without a country code, or newsletter true.
# Every one fails on a re-ask (`re_asks: fail`), so the re-ask defect is a failure, not a warning.
PEOPLE = """\
suite: defect-personas
form: contact
conversations:
  - id: terse
    persona:
      values: {first_name: Jane, email: jane@example.com, contact_method: email, newsletter: true}
      re_asks: fail
  - id: chatty-by-value
    persona:
      style: chatty
      selects: value
      values: {first_name: Omar, email: omar@example.org, contact_method: text_message,
               newsletter: true}
      re_asks: fail
  - id: national-phone
    persona:
      volunteers: 1
      values:
        first_name: Li
        phone: {value: "020 7946 0958", expect: {equals: "02079460958"}}
        email: li@example.net
        contact_method: phone_call
        newsletter: true
      re_asks: fail
  - id: international-phone
    persona:
      volunteers: 1
      values:
        first_name: Ana
        phone: {value: "+44 20 7946 0958", expect: {equals: "+442079460958"}}
        email: ana@example.com
        contact_method: phone_call
        newsletter: true
      re_asks: fail
  - id: no-newsletter
    persona:
      values: {first_name: Sam, email: sam@example.com, contact_method: email, newsletter: false}
      re_asks: fail
  - id: gives-age
    persona:
      volunteers: 1
      values: {first_name: Mia, age: 34, email: mia@example.com, contact_method: email,
               newsletter: true}
      re_asks: fail
  - id: volunteers-email
    persona:
      volunteers: 1
      values: {first_name: Ola, email: ola@example.com, contact_method: email, newsletter: true}
      re_asks: fail
"""


def _run(tmp_path: Path, name: str, *flags: str) -> dict[str, ConversationResult]:
    suites = tmp_path / "suites"
    if not suites.exists():
        shutil.copytree(ROOT / "suites" / "forms", suites / "forms")
        (suites / "people.eval.yaml").write_text(PEOPLE, encoding="utf-8")
    out = tmp_path / name
    args = ["run", str(suites / "people.eval.yaml"), "--out", str(out), *flags]
    outcome = CliRunner().invoke(main, args, catch_exceptions=False)
    assert outcome.exit_code in (0, 1), outcome.output
    (run_dir,) = [p for p in out.iterdir() if (p / "run.json").is_file()]
    return {r.conversation_id: r for r in read_run(run_dir)[1]}


def _reasons(result: ConversationResult) -> list[str]:
    failed = [f"{f.field}: {f.reason}" for f in result.fields if not f.passed]
    return failed + [f"{c.check}: {c.reason}" for c in result.checks if not c.passed]


@pytest.mark.parametrize("order", ["form", "shuffled"])
def test_planted_defects_fail_exactly_the_personas_that_meet_them(
    tmp_path: Path, order: str
) -> None:
    clean = _run(tmp_path, "clean", "--emulator-ask-order", order)
    assert len(clean) == 7
    assert {who: r.status for who, r in clean.items()} == dict.fromkeys(clean, "pass"), {
        who: _reasons(r) for who, r in clean.items()
    }

    planted = _run(
        tmp_path, "planted", "--emulator-ask-order", order, "--emulator-defects", DEFECTS
    )
    failed = {who: _reasons(r) for who, r in planted.items() if r.status != "pass"}
    assert sorted(failed) == ["gives-age", "international-phone", "no-newsletter"], failed
    assert all(r.status == "pass" for who, r in planted.items() if who not in failed)
    assert failed["international-phone"] == ['phone: expected "+442079460958", got "2079460958"']
    assert failed["no-newsletter"] == ["submitted: no SUBMISSION arrived; expected one"]
    [re_ask] = failed["gives-age"]
    assert re_ask.startswith("re_ask: turn ")
    assert re_ask.endswith("asked for age again after it was extracted")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("drop-country-code", "drop-country-code"),
        (" re-ask:age ", "re-ask:age"),
        ("no-submit-when-false:newsletter", "no-submit-when-false:newsletter"),
    ],
)
def test_a_defect_is_written_name_then_field(written: str, expected: str) -> None:
    assert check_defect(written) == expected


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("drop-everything", "unknown defect 'drop-everything'"),
        ("re-ask", "re-ask names a field"),
        ("re-ask:", "re-ask names a field"),
        ("no-submit-when-false:1x", "no-submit-when-false names a field"),
        ("drop-country-code:phone", "drop-country-code names no field"),
    ],
)
def test_a_wrong_defect_says_what_is_wrong(written: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_defect(written)


def test_a_bad_defect_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    suite = ROOT / "suites" / "contact-personas.eval.yaml"
    args = ["run", str(suite), "--out", str(tmp_path), "--emulator-defects", "re-ask"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "--defects" in result.output
    assert "re-ask names a field" in result.output
    assert not list(tmp_path.iterdir())  # nothing ran


def test_a_profile_plants_defects_like_the_flag(tmp_path: Path) -> None:
    from evalkit.emulator import load_knobs

    profile = tmp_path / "emulator.yaml"
    profile.write_text('defects: [drop-country-code, "re-ask:age"]\n', encoding="utf-8")
    assert load_knobs(profile) == Knobs(defects=("drop-country-code", "re-ask:age"))


@pytest.mark.parametrize(
    ("phone", "national"),
    [
        ("+442079460958", "2079460958"),  # two-digit code
        ("+15550102030", "5550102030"),  # one-digit code (North America)
        ("+74951234567", "4951234567"),  # one-digit code (Russia)
        ("+3531234567", "1234567"),  # three-digit code (Ireland)
        ("+4915112345678", "15112345678"),  # two-digit code (Germany)
        ("02079460958", "02079460958"),  # no country code: nothing to drop
        ("+", "+"),
    ],
)
def test_drop_country_code_keeps_the_national_number(phone: str, national: str) -> None:
    assert national_number(phone) == national


# ----------------------------------------------------------------------------- found defects


def _wire(chunks: list[Any], user: str | None = None) -> TurnTranscript:
    return TurnTranscript(
        endpoint="create" if user is None else "send-user-message",
        user=user,
        status_code=200,
        chunks=[TimedChunk(t=0.0, chunk=c.wire()) for c in chunks],
    )


def _converse(session: Session, simulator: Simulator) -> list[TurnTranscript]:
    """Drive the emulator's dialogue in-process with a simulated person."""
    transcript = [_wire(open_session(session, None))]
    while (text := simulator.next_message(transcript).utterance) is not None:
        transcript.append(_wire(reply(session, text, None), user=text))
    return transcript


def test_a_correction_after_the_last_answer_still_counts_under_shuffled_order() -> None:
    """A correction of the last answer is heard before the submission.

    Found by persona runs: when the mistyped email was the last field asked, the emulator
    submitted at once, and the person's correction came too late (2 of 10 repeats failed).
    """
    persona = Persona.model_validate(
        {
            "values": {
                "first_name": "Omar",
                "email": "omar@example.org",
                "contact_method": "email",
                "newsletter": True,
            },
            "corrects": {"email": "omar@exmaple.org"},
            "phrases": {"newsletter": ["newsletter"]},
        }
    )
    conversation = Conversation.model_validate({"id": "corrects", "persona": persona})
    asked_last = 0
    for repeat in range(20):
        simulator = Simulator(persona, seed=seed_for("contact", "corrects", repeat))
        session = Session(f"s{repeat}", CONTACT, ask_order="shuffled", seed=7, key=f"c.{repeat}")
        transcript = _converse(session, simulator)
        info = SimulationInfo(seed=simulator.seed, asked=simulator.asked)
        score = score_conversation(conversation, Defaults(), transcript, info)
        assert score.status == "pass", (repeat, [t.user for t in transcript], score.fields)
        assert score.final_state["email"] == "omar@example.org"
        fields_asked = [a for a in simulator.asked if a is not None]
        asked_last += fields_asked[-1] == "email"
    assert asked_last > 0  # the case that used to fail is among these repeats


def test_a_shuffled_session_sums_up_and_waits_for_a_yes_before_it_submits() -> None:
    session = Session("s", CONTACT, ask_order="shuffled", seed=1, key="k")
    open_session(session, {"first_name": "Jane", "contact_method": "email", "newsletter": True})
    summed = _wire(reply(session, "jane@exmaple.com", None), user="x")
    texts = [c.chunk.get("textDetails", {}).get("text", "") for c in summed.chunks]
    assert any("Email: jane@exmaple.com" in t for t in texts)
    assert not session.submitted
    no = _wire(reply(session, "no", None), user="no")
    assert "What would you like to change?" in str(no.chunks)
    fixed = reply(session, "Sorry, my email is jane@example.com", None)
    assert session.values["email"] == "jane@example.com"
    assert not session.submitted
    assert any("jane@example.com" in str(c.wire()) for c in fixed)
    reply(session, "Yes, please send it.", None)
    assert session.submitted


@pytest.mark.parametrize(
    "asked", ["newsletter", "first_name", "last_name", "interests", "age", "contact_method"]
)
@pytest.mark.parametrize(
    "text",
    [
        "I'd rather not say.",
        "I'd rather not say, sorry.",
        "I'd prefer not to share that.",
        "I would rather not tell you",
        "No comment.",
    ],
)
def test_declining_to_answer_gives_no_value(asked: str, text: str) -> None:
    """Declining is not "no": it gives nothing.

    Found by persona runs: "I'd rather not say" was read as newsletter: false (and as a first
    name "I'd Rather Not Say", a note, a custom interest).
    """
    assert extract(text, CONTACT, Context(asked=asked)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'd rather not", {"newsletter": False}),  # to a yes/no question: a polite no
        ("no", {"newsletter": False}),
        ("I'd rather not say, but my email is a@example.com", {"email": "a@example.com"}),
    ],
)
def test_a_polite_no_is_still_no_and_values_beside_a_decline_still_count(
    text: str, expected: dict[str, Any]
) -> None:
    found = extract(text, CONTACT, Context(asked="newsletter"))
    assert {e.target: e.value for e in found} == expected


def test_the_emulator_acknowledges_a_decline_and_keeps_the_field_unset() -> None:
    session = Session("s", CONTACT)
    open_session(
        session, {"first_name": "Jane", "email": "j@example.com", "contact_method": "email"}
    )
    answer = [c.wire() for c in reply(session, "I'd rather not say.", None)]
    assert "newsletter" not in session.values
    assert "No problem." in str(answer)
    assert "didn't quite catch" not in str(answer)


def test_defects_are_off_by_default() -> None:
    assert Planted.of(Knobs().defects) == Planted()
    session = Session("s", CONTACT)
    open_session(
        session, {"first_name": "Jane", "email": "j@example.com", "contact_method": "email"}
    )
    reply(session, "no, and my phone is +44 20 7946 0958", None)
    assert session.values["phone"] == "+442079460958"
    assert session.submitted
