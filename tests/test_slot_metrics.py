"""Slot-filling metrics on hand-computed examples (definitions: docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from evalkit.metrics import summarize
from evalkit.metrics.slots import SlotTally, slot_outcomes
from evalkit.results import ConversationResult, TimedChunk, TurnTranscript
from evalkit.results.coverage import FieldInfo, FormInfo
from evalkit.results.figures import SlotMetrics
from evalkit.results.models import RunInfo, SuiteInfo, Summary, TargetInfo
from evalkit.scoring import score_conversation
from evalkit.suite import Conversation, Defaults


def _exchange(
    user: str | None,
    extracted: dict[str, Any],
    sent: dict[str, Any] | None = None,
    select: str | None = None,
) -> TurnTranscript:
    chunks = [
        TimedChunk(
            t=0.0,
            chunk={"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": f, "value": v}},
        )
        for f, v in extracted.items()
    ]
    if select is not None:
        details = {"fieldTarget": select, "options": [{"value": "email", "label": "Email"}]}
        chunks.append(
            TimedChunk(
                t=0.0,
                chunk={"chunkType": "SINGLE_SELECT_INPUT", "singleSelectInputDetails": details},
            )
        )
    return TurnTranscript(
        endpoint="send-user-message" if user else "create",
        user=user,
        current_values=sent,
        chunks=chunks,
    )


@dataclass
class Case:
    """A conversation, what each turn extracted, and the figures worked out by hand."""

    turns: list[dict[str, Any]]
    """Each turn as a suite writes it, plus `got`: what the turn extracted."""
    outcomes: list[tuple[int, dict[str, str]]]
    """(turn, field → outcome) of every judged turn."""
    jga: float | None
    aga: float | None
    prf: tuple[float | None, float | None, float | None]
    prefill: dict[str, Any] = field(default_factory=dict)
    policy: str = "warn"
    created: dict[str, Any] = field(default_factory=dict)
    """What session creation extracted."""


def _result(case: Case, status: str | None = None) -> ConversationResult:
    turns = [{k: v for k, v in t.items() if k != "got"} for t in case.turns]
    conversation = Conversation.model_validate({"id": "c", "prefill": case.prefill, "turns": turns})
    transcript = [_exchange(None, case.created, case.prefill or None)]
    transcript += [_exchange(t["user"], t.get("got", {}), t.get("set") or None) for t in case.turns]
    score = score_conversation(
        conversation,
        Defaults(unexpected_fields=case.policy),
        transcript,  # type: ignore[arg-type]
    )
    return ConversationResult(
        suite="s",
        conversation_id="c",
        status=status or score.status,  # type: ignore[arg-type]
        transcript=transcript,
        fields=score.fields,
        checks=score.checks,
    )


CASES = {
    # The SGD convention: a field empty in both states is right; nothing to count for P/R/F1.
    "empty-expected-empty-extracted": Case(
        turns=[{"user": "hi", "expect": {"phone": {"absent": True}}}],
        outcomes=[(1, {"phone": "empty"})],
        jga=1.0,
        aga=None,
        prf=(None, None, None),
    ),
    # Filled but not expected: a false positive that breaks the turn (under warn or fail).
    "filled-not-expected": Case(
        turns=[
            {
                "user": "Jane, 30",
                "expect": {"first_name": "Jane"},
                "got": {"first_name": "Jane", "age": 30},
            }
        ],
        outcomes=[(1, {"age": "unexpected", "first_name": "correct"})],
        jga=0.0,
        aga=1.0,
        prf=(0.5, 1.0, 2 / 3),
    ),
    # ... and not judged at all under `unexpected_fields: ignore`.
    "filled-not-expected-ignored": Case(
        turns=[
            {
                "user": "Jane, 30",
                "expect": {"first_name": "Jane"},
                "got": {"first_name": "Jane", "age": 30},
            }
        ],
        outcomes=[(1, {"first_name": "correct"})],
        jga=1.0,
        aga=1.0,
        prf=(1.0, 1.0, 1.0),
        policy="ignore",
    ),
    # A wrong value (FP + FN), then corrected: the second turn is right.
    "wrong-then-corrected": Case(
        turns=[
            {"user": "I'm 25", "expect": {"age": 25}, "got": {"age": 52}},
            {"user": "sorry, 25", "expect": {"age": 25}, "got": {"age": 25}},
        ],
        outcomes=[(1, {"age": "wrong"}), (2, {"age": "correct"})],
        jga=0.5,
        aga=0.5,
        prf=(0.5, 0.5, 0.5),
    ),
    # A wrong value the next turn does not correct stays wrong in the state.
    "wrong-and-carried": Case(
        turns=[
            {
                "user": "Jane, I'm 25",
                "expect": {"first_name": "Jane", "age": 25},
                "got": {"first_name": "Jane", "age": 52},
            },
            {
                "user": "by email",
                "expect": {"contact_method": "email"},
                "got": {"contact_method": "email"},
            },
        ],
        outcomes=[
            (1, {"age": "wrong", "first_name": "correct"}),
            (2, {"age": "wrong", "contact_method": "correct", "first_name": "correct"}),
        ],
        jga=0.0,
        aga=3 / 5,
        prf=(3 / 5, 3 / 5, 3 / 5),
    ),
    # A value overwritten later without an expectation: wrong from then on.
    "overwritten-later": Case(
        turns=[
            {"user": "Jane", "expect": {"first_name": "Jane"}, "got": {"first_name": "Jane"}},
            {
                "user": "by email, Joan",
                "expect": {"contact_method": "email"},
                "got": {"contact_method": "email", "first_name": "Joan"},
            },
        ],
        outcomes=[
            (1, {"first_name": "correct"}),
            (2, {"contact_method": "correct", "first_name": "wrong"}),
        ],
        jga=0.5,
        aga=2 / 3,
        prf=(2 / 3, 2 / 3, 2 / 3),
    ),
    # Not extracted: missing (FN); the turn without a verdict is not judged.
    "missing-and-unjudged-turn": Case(
        turns=[
            {"user": "hello"},
            {
                "user": "Jane",
                "expect": {"first_name": "Jane", "email": "j@x.org"},
                "got": {"first_name": "Jane"},
            },
        ],
        outcomes=[(2, {"email": "missing", "first_name": "correct"})],
        jga=0.0,
        aga=0.5,
        prf=(1.0, 0.5, 2 / 3),
    ),
    # Prefill fills the expected state; a field enters only once an expectation names it.
    "prefill-not-named": Case(
        prefill={"first_name": "Maria"},
        turns=[
            {
                "user": "email",
                "expect": {"contact_method": "email"},
                "got": {"contact_method": "email"},
            }
        ],
        outcomes=[(1, {"contact_method": "correct"})],
        jga=1.0,
        aga=1.0,
        prf=(1.0, 1.0, 1.0),
    ),
    # The state is judged: a prefilled value the turn did not extract again is right (the
    # turn's verdict says missing), and `absent` keeps the prefilled value expected.
    "prefill-kept": Case(
        prefill={"first_name": "Maria", "email": "m@x.org"},
        turns=[{"user": "hi", "expect": {"first_name": "Maria", "email": {"absent": True}}}],
        outcomes=[(1, {"email": "correct", "first_name": "correct"})],
        jga=1.0,
        aga=1.0,
        prf=(1.0, 1.0, 1.0),
    ),
    # `set` writes the expected state too: an extraction that overrides it is wrong.
    "set-overridden": Case(
        turns=[
            {
                "user": "call me",
                "set": {"newsletter": False},
                "expect": {"contact_method": "phone_call"},
                "got": {"contact_method": "phone_call", "newsletter": True},
            }
        ],
        outcomes=[(1, {"contact_method": "correct", "newsletter": "wrong"})],
        jga=0.0,
        aga=0.5,
        prf=(0.5, 0.5, 0.5),
    ),
    # A non-exact matcher counts through its verdict, and keeps it while the value stays.
    "non-exact-carried": Case(
        turns=[
            {"user": "about 30", "expect": {"age": {"approx": 32, "abs": 2}}, "got": {"age": 31}},
            {"user": "j@x.org", "expect": {"email": "j@x.org"}, "got": {"email": "j@x.org"}},
            {"user": "40", "expect": {"email": {"absent": True}}, "got": {"age": 40}},
        ],
        outcomes=[
            (1, {"age": "correct"}),
            (2, {"age": "correct", "email": "correct"}),
            (3, {"age": "wrong", "email": "correct"}),
        ],
        jga=2 / 3,
        aga=4 / 5,
        prf=(4 / 5, 4 / 5, 4 / 5),
    ),
    # The worked example of docs/metrics.md, and its variant with an unexpected phone.
    "docs-worked-example": Case(
        turns=[
            {
                "user": "I'm Ana, ana@example.com, 25 years old",
                "expect": {"first_name": "Ana", "email": "ana@example.com", "age": 25},
                "got": {"first_name": "Ana", "email": "ana@example.com", "age": 52},
            },
            {"user": "sorry, it's 26", "expect": {"age": 26}, "got": {"age": 26}},
        ],
        outcomes=[
            (1, {"age": "wrong", "email": "correct", "first_name": "correct"}),
            (2, {"age": "correct", "email": "correct", "first_name": "correct"}),
        ],
        jga=0.5,
        aga=5 / 6,
        prf=(5 / 6, 5 / 6, 5 / 6),
    ),
    "docs-worked-example-with-phone": Case(
        turns=[
            {
                "user": "I'm Ana, ana@example.com, 25 years old",
                "expect": {"first_name": "Ana", "email": "ana@example.com", "age": 25},
                "got": {"first_name": "Ana", "email": "ana@example.com", "age": 52, "phone": "1"},
            },
            {"user": "sorry, it's 26", "expect": {"age": 26}, "got": {"age": 26}},
        ],
        outcomes=[
            (
                1,
                {
                    "age": "wrong",
                    "email": "correct",
                    "first_name": "correct",
                    "phone": "unexpected",
                },
            ),
            (2, {"age": "correct", "email": "correct", "first_name": "correct"}),
        ],
        jga=0.5,
        aga=5 / 6,
        prf=(5 / 7, 5 / 6, 10 / 13),
    ),
    # What session creation extracted is in the predicted state from the start.
    "extracted-at-creation": Case(
        created={"first_name": "Ann"},
        turns=[{"user": "hi", "expect": {"first_name": {"absent": True}}}],
        outcomes=[(1, {"first_name": "unexpected"})],
        jga=0.0,
        aga=None,
        prf=(0.0, None, 0.0),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hand_computed_examples(case: Case) -> None:
    result = _result(case)
    assert slot_outcomes(result) == case.outcomes
    tally = SlotTally()
    tally.add(result)
    metrics = tally.metrics()
    assert metrics is not None
    assert metrics.turns == len(case.outcomes)
    assert metrics.joint_goal_accuracy == pytest.approx(case.jga)
    assert metrics.average_goal_accuracy == pytest.approx(case.aga)
    assert (metrics.precision, metrics.recall, metrics.f1) == pytest.approx(case.prf)


def test_errors_and_turns_without_verdicts_count_nothing() -> None:
    case = CASES["wrong-then-corrected"]
    tally = SlotTally()
    tally.add(_result(case, status="error"))
    tally.add(
        _result(
            Case(
                turns=[{"user": "hi", "expect": {}}],
                outcomes=[],
                jga=None,
                aga=None,
                prf=(None, None, None),
            )
        )
    )
    assert tally.metrics() is None
    assert summarize([_result(case, status="error")]).slot_filling is None


def test_micro_figures_sum_over_conversations_and_fields() -> None:
    results = [_result(CASES["wrong-then-corrected"]), _result(CASES["filled-not-expected"])]
    summary = summarize(results)
    metrics = summary.slot_filling
    assert metrics is not None
    # Turns: 1 of 2 and 0 of 1 jointly right; slots: age wrong, age correct, first_name correct,
    # age unexpected: TP 2, FP 2 (wrong + unexpected), FN 1 (wrong).
    assert (metrics.turns, metrics.joint_correct) == (3, 1)
    assert (metrics.slots.correct, metrics.slots.wrong, metrics.slots.unexpected) == (2, 1, 1)
    assert metrics.precision == pytest.approx(2 / 4)
    assert metrics.recall == pytest.approx(2 / 3)
    assert metrics.f1 == pytest.approx(4 / 7)
    age = metrics.fields["age"]
    assert (age.correct, age.wrong, age.unexpected, age.f1) == (1, 1, 1, pytest.approx(2 / 5))


def test_the_summary_json_carries_the_figures_and_old_files_still_read() -> None:
    summary = summarize([_result(CASES["wrong-then-corrected"])])
    dumped = summary.model_dump(mode="json")
    assert dumped["slot_filling"]["joint_goal_accuracy"] == 0.5
    assert dumped["slot_filling"]["fields"]["age"]["f1"] == 0.5
    again = Summary.model_validate(dumped)
    assert again.slot_filling == summary.slot_filling
    assert Summary.model_validate({"total": 1}).slot_filling is None
    assert SlotMetrics().joint_goal_accuracy is None


def _choice_result(
    expected: Any, got: dict[str, Any], matcher_free: bool = True
) -> ConversationResult:
    conversation = Conversation.model_validate(
        {"id": "c", "turns": [{"user": "x", "expect": {"contact_method": expected}}]}
    )
    transcript = [_exchange(None, {}, select="contact_method"), _exchange("x", got)]
    score = score_conversation(conversation, Defaults(), transcript)
    return ConversationResult(
        suite="s",
        conversation_id="c",
        status=score.status,
        transcript=transcript,
        fields=score.fields,
    )


def test_confusion_of_choice_fields() -> None:
    tally = SlotTally()
    for expected, got in [
        ("email", {"contact_method": "Email"}),  # the text matcher: the same option
        ("email", {"contact_method": "phone_call"}),
        ("email", {}),
        ({"absent": True}, {"contact_method": "sms"}),
        (["yoga", "pilates"], {"contact_method": ["yoga", "running"]}),
    ]:
        tally.add(_choice_result(expected, got))
    metrics = tally.metrics()
    assert metrics is not None
    assert metrics.confusion == {
        "contact_method": {
            "email": {"email": 1, "nothing": 1, "phone_call": 1},
            "nothing": {"running": 1, "sms": 1},
            "pilates": {"nothing": 1},
            "yoga": {"yoga": 1},
        }
    }


def test_a_field_no_select_prompt_named_has_no_confusion_table() -> None:
    case = CASES["wrong-then-corrected"]
    metrics = summarize([_result(case)]).slot_filling
    assert metrics is not None
    assert metrics.confusion == {}


def _said(user: str, expected: str, extracted: str) -> ConversationResult:
    """One turn expecting `contact_method`, with no select prompt in the transcript."""
    conversation = Conversation.model_validate(
        {"id": "c", "turns": [{"user": user, "expect": {"contact_method": expected}}]}
    )
    transcript = [_exchange(None, {}), _exchange(user, {"contact_method": extracted})]
    score = score_conversation(conversation, Defaults(), transcript)
    return ConversationResult(
        suite="s",
        conversation_id="c",
        status=score.status,
        transcript=transcript,
        fields=score.fields,
    )


def _info(*forms: FormInfo) -> RunInfo:
    """A run.json that recorded `forms`."""
    return RunInfo(
        run_id="r",
        evalkit_version="0",
        started_at="2026-11-30T00:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        suites=[SuiteInfo(name="s", path="s.eval.yaml", sha256="0", form="f", conversations=1)],
        forms=list(forms),
    )


def test_a_choice_field_the_run_recorded_has_its_table_though_never_prompted() -> None:
    """A run that never showed the select still knows the field is a choice: run.json's forms."""
    result = _said("by text please", "sms", "phone_call")
    fields = [
        FieldInfo(target="contact_method", type="single_select", options=["sms", "phone_call"]),
        FieldInfo(target="first_name", type="name"),
    ]
    info = _info(FormInfo(key="f", fields=fields))

    assert summarize([result]).slot_filling.confusion == {}  # type: ignore[union-attr]
    metrics = summarize([result], info).slot_filling
    assert metrics is not None
    assert metrics.confusion == {"contact_method": {"sms": {"phone_call": 1}}}


def test_a_text_field_sharing_its_name_with_another_forms_select_has_no_table() -> None:
    """A confusion table only for a name that is a select wherever a recorded form has it.

    Tables are keyed by field name; `contact_method` is free text in the form this suite ran.
    """
    result = _said("by text please", "sms", "text me")
    select = FieldInfo(target="contact_method", type="single_select", options=["sms", "call"])
    text = FieldInfo(target="contact_method", type="text")
    chosen = FieldInfo(target="plan", type="single_select", options=["a", "b"])

    mixed = _info(FormInfo(key="f", fields=[text]), FormInfo(key="g", fields=[select, chosen]))
    metrics = summarize([result], mixed).slot_filling
    assert metrics is not None
    assert metrics.confusion == {}
    both = _info(FormInfo(key="f", fields=[select]), FormInfo(key="g", fields=[select, chosen]))
    metrics = summarize([result], both).slot_filling
    assert metrics is not None
    assert metrics.confusion == {"contact_method": {"sms": {"text me": 1}}}

    # The select form's own conversation shows its prompt: still no table for free text.
    prompted = _choice_result("email", {"contact_method": "email"}).model_copy(
        update={"conversation_id": "g-c"}
    )
    metrics = summarize([result, prompted], mixed).slot_filling
    assert metrics is not None
    assert metrics.confusion == {}
