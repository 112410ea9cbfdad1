"""Scoring: per-turn and final expectations, the unexpected-fields policy, replies, submission."""

from __future__ import annotations

from typing import Any

import pytest

from evalkit.results import TimedChunk, TurnTranscript
from evalkit.scoring import assistant_text, extracted_values, score_conversation
from evalkit.suite import Conversation, Defaults


def text_data(field: str, value: Any) -> dict[str, Any]:
    return {
        "chunkType": "TEXT_DATA",
        "textDataDetails": {"fieldTarget": field, "text": f"{field}: {value}", "value": value},
    }


def text(words: str) -> dict[str, Any]:
    return {"chunkType": "TEXT", "textDetails": {"text": words}}


def turn(*chunks: dict[str, Any], user: str | None = "hi") -> TurnTranscript:
    return TurnTranscript(
        endpoint="send-user-message-streamed",
        user=user,
        chunks=[TimedChunk(t=0.01 * i, chunk=c) for i, c in enumerate(chunks)],
    )


def conversation(**raw: Any) -> Conversation:
    return Conversation.model_validate({"id": "c1", **raw})


GREETING = turn(text("Hello! What's your name?"), user=None)


def test_turn_expectations_are_checked_against_that_turns_extractions() -> None:
    conv = conversation(
        turns=[
            {"user": "I'm Jane", "expect": {"first_name": "Jane"}},
            {"user": "jane@example.com", "expect": {"email": {"email": "jane@example.com"}}},
        ]
    )
    transcript = [
        GREETING,
        turn(text_data("first_name", "Jane")),
        turn(text_data("email", "JANE@example.com")),
    ]
    score = score_conversation(conv, Defaults(), transcript)
    assert score.status == "pass"
    assert [(f.field, f.turn, f.outcome) for f in score.fields] == [
        ("first_name", 1, "correct"),
        ("email", 2, "correct"),
    ]


def test_a_value_extracted_in_another_turn_does_not_satisfy_this_turn() -> None:
    conv = conversation(
        turns=[{"user": "a", "expect": {}}, {"user": "b", "expect": {"first_name": "Jane"}}],
        unexpected_fields="ignore",
    )
    score = score_conversation(
        conv, Defaults(), [GREETING, turn(text_data("first_name", "Jane")), turn()]
    )
    assert score.status == "fail"
    assert score.fields[0].outcome == "missing"
    assert "not extracted" in score.fields[0].reason


def test_wrong_value_is_reported_with_expected_actual_and_reason() -> None:
    conv = conversation(turns=[{"user": "x", "expect": {"age": 30}}])
    score = score_conversation(conv, Defaults(), [GREETING, turn(text_data("age", 31))])
    (verdict,) = score.fields
    assert (verdict.outcome, verdict.expected, verdict.actual, verdict.passed) == (
        "wrong",
        30,
        31,
        False,
    )
    assert verdict.reason == "expected 30, got 31"


def test_final_state_is_prefill_then_set_then_extractions_last_write_wins() -> None:
    conv = conversation(
        prefill={"source": "web", "first_name": "Jan"},
        turns=[
            {"user": "a", "set": {"source": "email"}},
            {"user": "b"},
        ],
        final={"source": "email", "first_name": "Jane", "email": "j@x.io"},
    )
    transcript = [
        turn(text_data("first_name", "Jan"), user=None),
        turn(text_data("first_name", "Jane")),
        turn(text_data("email", "j@x.io")),
    ]
    score = score_conversation(conv, Defaults(), transcript)
    assert score.status == "pass", [f.reason for f in score.fields]
    assert score.final_state == {"source": "email", "first_name": "Jane", "email": "j@x.io"}
    assert all(f.turn is None for f in score.fields)


@pytest.mark.parametrize(
    ("policy", "status", "recorded", "warnings"),
    [
        pytest.param("fail", "fail", True, 0, id="fail"),
        pytest.param("warn", "pass", True, 1, id="warn"),
        pytest.param("ignore", "pass", False, 0, id="ignore"),
    ],
)
def test_unexpected_fields_follow_the_policy(
    policy: str, status: str, recorded: bool, warnings: int
) -> None:
    conv = conversation(turns=[{"user": "x", "expect": {"first_name": "Jane"}}])
    transcript = [GREETING, turn(text_data("first_name", "Jane"), text_data("phone", "555"))]
    score = score_conversation(conv, Defaults(unexpected_fields=policy), transcript)
    assert score.status == status
    assert any(f.outcome == "unexpected" for f in score.fields) is recorded
    assert len(score.warnings) == warnings


def test_conversation_policy_overrides_the_suite_default() -> None:
    conv = conversation(unexpected_fields="fail", turns=[{"user": "x", "expect": {}}])
    score = score_conversation(
        conv, Defaults(unexpected_fields="ignore"), [GREETING, turn(text_data("a", 1))]
    )
    assert score.status == "fail"


def test_turn_without_expect_checks_nothing() -> None:
    conv = conversation(turns=[{"user": "x"}], unexpected_fields="fail")
    score = score_conversation(conv, Defaults(), [GREETING, turn(text_data("a", 1))])
    assert (score.status, score.fields) == ("pass", [])


def test_absent_field_that_arrives_counts_as_unexpected() -> None:
    conv = conversation(turns=[{"user": "x", "expect": {"phone": {"absent": True}}}])
    score = score_conversation(conv, Defaults(), [GREETING, turn(text_data("phone", "555"))])
    assert score.fields[0].outcome == "unexpected"
    assert score.status == "fail"


def test_reply_check_reads_the_assistant_text_of_that_turn() -> None:
    conv = conversation(
        turns=[
            {"user": "x", "reply": {"contains": "email"}},
            {"user": "y", "reply": {"regex": "phone"}},
        ]
    )
    transcript = [GREETING, turn(text("What is your Email?")), turn(text("Thanks"))]
    score = score_conversation(conv, Defaults(), transcript)
    assert [c.passed for c in score.checks] == [True, False]
    assert score.status == "fail"


@pytest.mark.parametrize(
    ("expected", "chunks", "passes"),
    [
        pytest.param(
            True, [{"chunkType": "SUBMISSION", "submissionDetails": {}}], True, id="yes-yes"
        ),
        pytest.param(True, [], False, id="yes-no"),
        pytest.param(False, [], True, id="no-no"),
        pytest.param(False, [{"chunkType": "SUBMISSION"}], False, id="no-yes"),
    ],
)
def test_submitted_check(expected: bool, chunks: list[dict[str, Any]], passes: bool) -> None:
    conv = conversation(turns=[{"user": "x"}], submitted=expected)
    score = score_conversation(conv, Defaults(), [GREETING, turn(*chunks)])
    assert score.checks[0].passed is passes
    assert score.submitted is bool(chunks)


def test_short_transcript_scores_missing_turns_as_empty() -> None:
    conv = conversation(
        turns=[{"user": "x", "expect": {"a": 1}}, {"user": "y", "expect": {"b": 2}}]
    )
    score = score_conversation(conv, Defaults(), [GREETING, turn(text_data("a", 1))])
    assert [f.outcome for f in score.fields] == ["correct", "missing"]


def test_extraction_helpers_ignore_other_chunks_and_keep_the_last_value() -> None:
    record = turn(
        text("Got it."),
        text_data("a", 1),
        {
            "chunkType": "IMPORTANT_TEXT",
            "importantTextDetails": {"fieldTarget": "a", "text": "Check a."},
        },
        text_data("a", 2),
        {"chunkType": "TEXT_DATA", "textDataDetails": {}},
    )
    assert extracted_values(record) == {"a": 2}
    assert assistant_text(record) == "Got it. Check a."


def select(field: str, *options: tuple[str, str]) -> dict[str, Any]:
    return {
        "chunkType": "SINGLE_SELECT_INPUT",
        "singleSelectInputDetails": {
            "fieldTarget": field,
            "options": [{"value": v, "label": label} for v, label in options],
        },
    }


METHOD = select("contact_method", ("email", "Email"), ("phone_call", "Phone call"))


@pytest.mark.parametrize(
    ("raw_turn", "chunks", "passes", "phrase"),
    [
        pytest.param({"asks": "contact_method"}, [METHOD], True, "for contact_method", id="asks"),
        pytest.param({"asks": "email"}, [METHOD], False, "expected email", id="asks-another-field"),
        pytest.param(
            {"asks": "first_name"},
            [text("What's your first name?")],
            False,
            "plain text names none",
            id="asks-in-plain-text",
        ),
        pytest.param(
            {"asks": "age"},
            [{"chunkType": "IMPORTANT_TEXT", "importantTextDetails": {"fieldTarget": "age"}}],
            True,
            "",
            id="asks-by-important-text",
        ),
        pytest.param(
            {"offers": ["Phone call", "email"]}, [METHOD], True, "offered Email", id="offers"
        ),
        pytest.param(
            {"offers": ["sms"]}, [METHOD], False, "missing sms", id="offers-missing-option"
        ),
    ],
)
def test_prompt_checks(
    raw_turn: dict[str, Any], chunks: list[dict[str, Any]], passes: bool, phrase: str
) -> None:
    conv = conversation(turns=[{"user": "hi", **raw_turn}])

    score = score_conversation(conv, Defaults(), [GREETING, turn(*chunks)])

    assert [(c.check, c.turn, c.passed) for c in score.checks] == [
        (next(iter(raw_turn)), 1, passes)
    ]
    assert phrase in score.checks[0].reason
    assert score.status == ("pass" if passes else "fail")


@pytest.mark.parametrize(
    ("chunks", "passes", "phrase"),
    [
        pytest.param([text("ok")], True, "no ERROR chunk", id="clean"),
        pytest.param(
            [{"chunkType": "ERROR", "errorDetails": {"messageText": "I didn't get that"}}],
            False,
            'turn 1: ERROR "I didn\'t get that"',
            id="error-chunk",
        ),
        pytest.param(
            [{"chunkType": "END_OF_RESPONSE", "endOfResponseDetails": {"success": False}}],
            False,
            "END_OF_RESPONSE success false",
            id="unsuccessful-end",
        ),
    ],
)
def test_no_errors_check(chunks: list[dict[str, Any]], passes: bool, phrase: str) -> None:
    conv = conversation(turns=[{"user": "hi"}], no_errors=True)

    score = score_conversation(conv, Defaults(), [GREETING, turn(*chunks)])

    assert [(c.check, c.passed) for c in score.checks] == [("no_errors", passes)]
    assert phrase in score.checks[0].reason
