"""JUnit XML: the golden rendering, the schema CI systems validate against, hostile target text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from evalkit.junit import JUNIT_FILE, to_junit_xml, write_junit, xml_escape_visible
from evalkit.results import (
    CheckResult,
    ConversationResult,
    ErrorInfo,
    FieldResult,
    RunInfo,
    TimedChunk,
    TurnTranscript,
    read_run,
)

DATA = Path(__file__).parent / "data"
SCHEMA = etree.XMLSchema(etree.parse(str(DATA / "junit" / "junit.xsd")))
HOSTILE = "bell\x07 nul\x00 esc\x1b del\x7f lone\ud800 noncharacter\ufffe <b>&amp;</b> \"'"


def fixture_run(name: str = "run_fixture") -> tuple[RunInfo, list[ConversationResult]]:
    return read_run(DATA / name)


def strict_parse(text: str) -> etree._Element:
    """Parse as a CI system would: libxml2 without recovery, then validate against the XSD."""
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    root = etree.fromstring(text.encode("utf-8"), parser)
    SCHEMA.assertValid(root)
    return root


def hostile_results() -> list[ConversationResult]:
    """A fail, an error and a skip whose every text field carries XML-illegal characters."""
    turn = TurnTranscript(
        endpoint="send-user-message-streamed",
        user=f"user says {HOSTILE}",
        status_code=200,
        chunks=[
            TimedChunk(t=0.1, chunk={"chunkType": "TEXT", "textDetails": {"text": HOSTILE}}),
            TimedChunk(
                t=0.2,
                chunk={
                    "chunkType": "TEXT_DATA",
                    "textDataDetails": {"fieldTarget": "email", "value": HOSTILE},
                },
            ),
        ],
    )
    fail = ConversationResult(
        suite="contact-form",
        conversation_id="hostile",
        source="suites/contact.eval.yaml:40",
        status="fail",
        transcript=[turn],
        fields=[
            FieldResult(
                field="email",
                turn=1,
                matcher="email",
                expected="a@example.com",
                actual=HOSTILE,
                outcome="wrong",
                passed=False,
                score=0.0,
                reason=f"expected a@example.com, got {HOSTILE}",
            )
        ],
        checks=[CheckResult(check="reply", turn=1, passed=False, reason=f"said {HOSTILE}")],
        warnings=[HOSTILE],
        duration_s=0.5,
    )
    error = ConversationResult(
        suite="contact-form",
        conversation_id="hostile-error",
        source="suites/contact.eval.yaml:50",
        status="error",
        error=ErrorInfo(kind="protocol", message=f"bad chunk {HOSTILE}", turn=1),
        transcript=[turn],
        duration_s=0.25,
    )
    skipped = ConversationResult(
        suite="contact-form",
        conversation_id="not-run",
        source="suites/contact.eval.yaml:60",
        status="skipped",
        warnings=["skipped: the run was stopped"],
    )
    return [fail, error, skipped]


def test_the_fixture_run_renders_as_the_golden_file(golden) -> None:
    info, results = fixture_run()
    golden("junit.xml", to_junit_xml(info, results))


@pytest.mark.parametrize(
    "results",
    [
        pytest.param(fixture_run()[1], id="fixture"),
        pytest.param(fixture_run("run_fixture_rich")[1], id="rich-fixture"),
        pytest.param(hostile_results(), id="hostile-text"),
        pytest.param([], id="no-results"),
    ],
)
def test_the_document_validates_and_every_count_matches_its_testcases(
    results: list[ConversationResult],
) -> None:
    info, _ = fixture_run()
    root = strict_parse(to_junit_xml(info, results))
    cases = root.findall("testsuite/testcase")
    assert int(root.get("tests")) == len(cases) == len(results)
    assert int(root.get("failures")) == len(root.findall("testsuite/testcase/failure"))
    assert int(root.get("errors")) == len(root.findall("testsuite/testcase/error"))
    for suite in root.findall("testsuite"):
        children = suite.findall("testcase")
        assert int(suite.get("tests")) == len(children)
        for kind, attribute in (
            ("failure", "failures"),
            ("error", "errors"),
            ("skipped", "skipped"),
        ):
            assert int(suite.get(attribute)) == len(suite.findall(f"testcase/{kind}"))
        assert suite.get("timestamp") == info.started_at


def test_hostile_target_text_is_escaped_visibly_and_parses_with_both_strict_parsers() -> None:
    info, _ = fixture_run()
    text = to_junit_xml(info, hostile_results())
    strict_parse(text)
    root = ET.fromstring(text)  # expat is strict too
    failure = root.find("testsuite/testcase[@name='hostile']/failure")
    assert failure is not None
    message = failure.get("message")
    assert "#x07" in message
    assert "#x00" in message
    assert "#xD800" in message
    assert '<b>&amp;</b> "' in message  # markup characters survive as text
    assert "\x07" not in text
    assert "\x00" not in text
    out = root.find("testsuite/testcase[@name='hostile']/system-out")
    assert out is not None
    assert "assistant: bell#x07" in out.text
    error = root.find("testsuite/testcase[@name='hostile-error']/error")
    assert error is not None
    assert error.get("type") == "protocol"
    assert error.get("message").startswith("protocol: bad chunk bell#x07")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40))
def test_any_actual_value_round_trips_as_its_visible_escape(value: str) -> None:
    info, results = fixture_run()
    failing = next(r for r in results if r.status == "fail")
    field = failing.fields[0].model_copy(update={"actual": value, "reason": value})
    hostile = failing.model_copy(update={"fields": [field], "checks": []})
    root = strict_parse(to_junit_xml(info, [hostile]))
    message = root.find("testsuite/testcase/failure").get("message")
    assert message.endswith(": " + xml_escape_visible(value))


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        pytest.param("\x07", "#x07", id="bell"),
        pytest.param("a\x00b", "a#x00b", id="nul"),
        pytest.param("\x7f", "#x7F", id="del"),
        pytest.param("\ud83d", "#xD83D", id="lone-surrogate"),
        pytest.param("\ufffe\uffff", "#xFFFE#xFFFF", id="noncharacters"),
        pytest.param("tab\tnewline\ncr\r", "tab\tnewline\ncr\r", id="whitespace-kept"),
        pytest.param("é 日本 🙂 <&>", "é 日本 🙂 <&>", id="legal-text-kept"),
    ],
)
def test_xml_escape_visible(text: str, escaped: str) -> None:
    assert xml_escape_visible(text) == escaped


def test_a_testcase_names_its_repeat_source_and_duration() -> None:
    info, results = fixture_run()
    root = strict_parse(to_junit_xml(info, results))
    repeat = root.find("testsuite/testcase[@name='date-relative[1]']")
    first = root.find("testsuite/testcase[@name='date-relative']")
    assert repeat is not None
    assert first is not None
    assert repeat.attrib == {
        "classname": "booking",
        "name": "date-relative[1]",
        "file": "suites/booking.eval.yaml",
        "line": "15",
        "time": "1.080",
    }


def test_failure_message_and_text_name_expected_actual_and_reason() -> None:
    info, results = fixture_run()
    root = strict_parse(to_junit_xml(info, results))
    failure = root.find("testsuite/testcase[@name='phone-and-newsletter']/failure")
    message = failure.get("message")
    assert (
        'email (turn 1, wrong): expected {"email": "sam@example.org"}, got "sam@example.com"'
        in (message)
    )
    assert "phone (turn 1, missing)" in message
    assert "got null" in message
    assert "reply (turn 1): reply does not contain 'phone number'" in message
    assert '  actual:   "sam@example.com"' in failure.text
    assert "reason:   not extracted in this turn" in failure.text


def test_a_skipped_conversation_is_a_skipped_testcase() -> None:
    info, _ = fixture_run()
    root = strict_parse(to_junit_xml(info, hostile_results()))
    skipped = root.find("testsuite/testcase[@name='not-run']/skipped")
    assert skipped is not None
    assert skipped.get("message") == "skipped: the run was stopped"


def test_properties_carry_the_run_target_and_version() -> None:
    info, results = fixture_run()
    root = strict_parse(to_junit_xml(info, results))
    for suite in root.findall("testsuite"):
        props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
        assert props["run_id"] == info.run_id
        assert props["target"] == "emulator"
        assert props["evalkit_version"] == info.evalkit_version
        assert props["suite_sha256"] in {s.sha256 for s in info.suites}


def test_write_junit_puts_junit_xml_in_the_run_directory(tmp_path: Path) -> None:
    info, results = fixture_run()
    path = write_junit(tmp_path, info, results)
    assert path == tmp_path / JUNIT_FILE
    assert path.read_text(encoding="utf-8") == to_junit_xml(info, results)
    assert [p.name for p in tmp_path.iterdir()] == [JUNIT_FILE]
