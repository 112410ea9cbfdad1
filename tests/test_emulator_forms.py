"""Forms beyond the example: a Wix Form JSON end to end, behaviour profiles, knob profiles, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner

import evalkit
from evalkit.cli import main
from evalkit.emulator import EmulatorServer, Knobs, load_forms, load_knobs
from evalkit.emulator.app import API_ROOT
from evalkit.emulator.finders import find_numbers
from evalkit.errors import SuiteError
from evalkit.loader import load_suites
from evalkit.suite import Conversation

ROOT = Path(__file__).resolve().parent.parent
WIX_FORMS = Path(__file__).resolve().parent / "data" / "forms"
SUITE = ROOT / "suites" / "contact.eval.yaml"
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def turn(http: httpx2.Client, session: str, text: str) -> list[dict[str, Any]]:
    response = http.post(f"/{session}/send-user-message", json={"input": text})
    assert response.status_code == 200, response.text
    chunks: list[dict[str, Any]] = response.json()["responseChunks"]
    return chunks


def values(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        c["textDataDetails"]["fieldTarget"]: c["textDataDetails"]["value"]
        for c in chunks
        if c["chunkType"] == "TEXT_DATA"
    }


# ----------------------------------------------------------------------------- Wix Form JSON


def test_a_wix_form_json_file_loads_with_notes_for_what_it_cannot_ask() -> None:
    form = load_forms(WIX_FORMS)["party"]
    assert [f.target for f in form.fields][:2] == ["first_name_1", "email_1"]  # layout order
    kinds = {f.target: f.type for f in form.fields}
    assert kinds == {
        "first_name_1": "name",
        "email_1": "email",
        "guests": "number",
        "arrival": "single_select",
        "dietary": "multi_select",
        "tickets": "multi_select",
        "party_date": "date",
        "photos_ok": "boolean",
    }
    assert "utm" not in kinds  # hidden
    notes = " ".join(form.notes)
    for skipped in ("invitation", "slot", "formRules"):
        assert skipped in notes


def test_a_wix_form_runs_end_to_end_and_submits_with_a_checkout() -> None:
    with (
        EmulatorServer(WIX_FORMS) as server,
        httpx2.Client(base_url=server.base_url + API_ROOT, timeout=5) as http,
    ):
        created = http.post(
            str(http.base_url).rstrip("/"),
            json={"formId": server.form_ids["party"], "dryRun": True},
        ).json()
        session = created["interactiveFormSession"]["id"]
        first = turn(http, session, "Hi, I'm Ada, ada@example.com")
        second = turn(http, session, "We'll be four")
        prompts = [c["chunkType"] for c in second]
        third = turn(http, session, "evening please; dietary needs: vegan")
        last = turn(http, session, "one party ticket please")
    assert values(first) == {"first_name_1": "Ada", "email_1": "ada@example.com"}
    assert values(second) == {"guests": 4}
    assert "SINGLE_SELECT_INPUT" in prompts
    assert values(third) == {"arrival": "evening", "dietary": ["vegan"]}
    assert values(last) == {"tickets": ["d4c3b2a1-0000-4000-8000-00000000beef"]}
    submission = next(c for c in last if c["chunkType"] == "SUBMISSION")
    assert submission["submissionDetails"] == {"submissionId": ZERO_ID, "checkoutId": ZERO_ID}
    assert last[-1]["chunkType"] == "END_OF_RESPONSE"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("{", "invalid JSON", id="not JSON"),
        pytest.param("[]", "must hold a Form object", id="not an object"),
        pytest.param('{"formFields": []}', "no input fields", id="no fields"),
    ],
)
def test_a_broken_wix_form_file_is_a_located_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    (tmp_path / "bad.form.json").write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_forms(tmp_path)
    assert problem in str(caught.value)


# ----------------------------------------------------------------------------- behaviour profiles


def test_contact_v2_has_the_same_fields_as_contact_and_differs_only_in_behaviour() -> None:
    forms = load_forms(ROOT / "suites" / "forms")
    contact, v2 = forms["contact"], forms["contact-v2"]
    assert v2.fields == contact.fields
    assert v2.id != contact.id
    assert (contact.behaviour.number_words, v2.behaviour.number_words) == (True, False)


def uses_number_words(conversation: Conversation) -> bool:
    """A number in words: a number found with words allowed that is not found without."""
    return any(
        len(find_numbers(turn.user)) > len(find_numbers(turn.user, words=False))
        for turn in conversation.turns
    )


def test_the_contact_suite_against_contact_v2_fails_exactly_the_number_word_conversations(
    tmp_path: Path,
) -> None:
    conversations = load_suites([str(SUITE)])[0].suite.conversations
    expected = {c.id for c in conversations if uses_number_words(c)}
    # The detector agrees with the suite's own tags, so the test checks the tagged set exactly.
    assert expected == {c.id for c in conversations if "number-words" in c.tags}
    assert len(expected) >= 7
    with EmulatorServer(ROOT / "suites" / "forms") as server:
        result = CliRunner().invoke(
            main,
            [
                *("run", str(SUITE), "--target", "custom", "--base-url", server.base_url),
                *("--form-id", "contact=contact-v2", "--out", str(tmp_path)),
            ],
            catch_exceptions=False,
        )
    assert result.exit_code == 1, result.output
    rows = [
        json.loads(line)
        for line in next(tmp_path.rglob("results.jsonl")).read_text("utf-8").splitlines()
    ]
    statuses = {row["conversation_id"]: row["status"] for row in rows}
    assert len(statuses) == len(conversations)
    assert {cid for cid, status in statuses.items() if status == "fail"} == expected
    assert {cid for cid, status in statuses.items() if status != "fail"} == set(statuses) - expected
    assert all(status in ("pass", "fail") for status in statuses.values())
    report = next(tmp_path.rglob("report.md")).read_text("utf-8")
    for conversation in expected:
        assert conversation in report
    assert re.search(r"age.*(missing|absent|not extracted)", report, re.IGNORECASE | re.DOTALL)


# ----------------------------------------------------------------------------- knob profiles


def test_a_knob_profile_loads_and_its_seed_reaches_every_knob(tmp_path: Path) -> None:
    path = tmp_path / "flaky.yaml"
    path.write_text(
        "seed: 7\nframing: ndjson\nfaults: {rate: 0.1, kinds: ['429', cut], retry_after: 0.05}\n"
        "noise: {rate: 0.2, seed: 3}\nlatency: {chunk: 0.01, distribution: uniform}\n"
        "auth: {token: k}\ndebug: true\n",
        encoding="utf-8",
    )
    options = dict(load_knobs(path).seeded())
    assert options["framing"] == "ndjson"
    assert (options["faults"].seed, options["latency"].seed, options["noise"].seed) == (7, 7, 3)
    assert options["faults"].kinds == ("429", "cut")
    assert options["auth"].token == "k"
    assert dict(Knobs().seeded())["faults"].rate == 0


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [
        pytest.param("faults:\n  rate: 2\n", 2, "faults.rate", id="rate above 1"),
        pytest.param("faults: {kinds: [boom]}\n", 1, "faults.kinds", id="unknown kind"),
        pytest.param("noise: {}\nlatnecy: {}\n", 2, "latnecy", id="misspelt key"),
        pytest.param("a: &x 1\nb: *x\n", 2, "aliases", id="alias"),
        pytest.param("seed: 1\nseed: 2\n", 2, "duplicate key `seed`", id="duplicate key"),
    ],
)
def test_a_bad_profile_is_a_located_problem(
    tmp_path: Path, text: str, line: int, phrase: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_knobs(path)
    problem = caught.value.problems[0]
    assert (problem.line, phrase in problem.message) == (line, True), problem


def test_emulator_help_documents_every_knob() -> None:
    result = CliRunner().invoke(main, ["emulator", "--help"])
    assert result.exit_code == 0
    for flag in (
        "--profile", "--framing", "--seed", "--chunk-latency", "--turn-latency", "--latency",
        "--fault-rate", "--fault-kinds", "--retry-after", "--stall-seconds", "--noise-rate",
        "--noise-kinds", "--noise-field", "--auth-token", "--auth-site-id", "--debug",
        "--session-ttl", "--rate-limit", "--rate-burst",
    ):  # fmt: skip
        assert flag in result.output, flag


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        pytest.param(["--fault-kinds", "429,boom"], "boom", id="unknown fault kind"),
        pytest.param(["--auth-site-id", "s"], "--auth-token", id="site id without token"),
        pytest.param(["--fault-rate", "1.5"], "1.5", id="rate out of range"),
        pytest.param(["--rate-burst", "5"], "--rate-limit", id="burst without a limit"),
        pytest.param(["--rate-limit", "0"], "--rate-limit", id="limit not positive"),
        pytest.param(["--rate-limit", "60", "--rate-burst", "0"], "--rate-burst", id="no burst"),
    ],
)
def test_bad_emulator_flags_exit_2(args: list[str], phrase: str) -> None:
    result = CliRunner().invoke(main, ["emulator", "--port", "0", *args])
    assert result.exit_code == 2
    assert phrase in result.output


# ----------------------------------------------------------------------------- example forms


@pytest.mark.parametrize(
    ("suite", "minimum"),
    [
        pytest.param("booking.eval.yaml", 10, id="booking"),
        pytest.param("event.eval.yaml", 10, id="event"),
    ],
)
def test_an_example_suite_passes_against_its_forms_default_profile(
    tmp_path: Path, suite: str, minimum: int
) -> None:
    path = ROOT / "suites" / suite
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")
    loaded = load_suites([str(path)])
    outcome = evalkit.run(loaded, out_root=tmp_path)
    statuses = {row.conversation_id: row.status for row in outcome.results}
    assert len(statuses) == len(loaded[0].suite.conversations) >= minimum
    assert set(statuses.values()) == {"pass"}, statuses


@pytest.mark.parametrize(
    ("key", "messages", "checkout"),
    [
        pytest.param(
            "booking",
            ["A haircut on 15.12.2026 at 3pm", "Jane Doe", "jane@example.com", "nothing"],
            None,
            id="booking-no-products",
        ),
        pytest.param(
            "event",
            [
                "I'm Alex Kim, alex@example.com, 2 tickets",
                "the keynote",
                "no",
                "two day passes",
            ],
            ZERO_ID,
            id="event-products",
        ),
    ],
)
def test_an_example_form_submits_with_a_checkout_only_when_it_sells_products(
    key: str, messages: list[str], checkout: str | None
) -> None:
    with (
        EmulatorServer(ROOT / "suites" / "forms") as server,
        httpx2.Client(base_url=server.base_url + API_ROOT, timeout=5) as http,
    ):
        created = http.post(
            str(http.base_url).rstrip("/"), json={"formId": key, "dryRun": True}
        ).json()
        session = created["interactiveFormSession"]["id"]
        answers = [turn(http, session, text) for text in messages]
    assert all("SUBMISSION" not in [c["chunkType"] for c in a] for a in answers[:-1])
    submission = next(c for c in answers[-1] if c["chunkType"] == "SUBMISSION")
    expected = {"submissionId": ZERO_ID} | ({"checkoutId": checkout} if checkout else {})
    assert submission["submissionDetails"] == expected
