"""Typed differences between two runs: each field's change gets one category.

Hand-built pairs with real transcripts (chunks as the service sends them): one table for the
category of one field at one place, one for whole conversations, then how `compare_runs` keeps
them (only pairs with a verdict on both sides) and counts them.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from evalkit.cli import main
from evalkit.cli.printing import print_comparison
from evalkit.compare import Comparison, compare_runs
from evalkit.compare_diffs import (
    CATEGORIES,
    FieldDifference,
    conversation_differences,
    field_category,
)
from evalkit.matchers import MISSING
from evalkit.metrics import summarize
from evalkit.results import (
    ConversationResult,
    ErrorInfo,
    FieldResult,
    RunInfo,
    TargetInfo,
    TimedChunk,
    TurnTranscript,
)
from evalkit.results.models import SimulationInfo

SUITES = Path(__file__).resolve().parent.parent / "suites"
GREETING = "Hi! Let's get you in touch. What's your name?"


def exchange(question: str, **extracted: Any) -> TurnTranscript:
    """One response: an acknowledgement, a separator, the question, and TEXT_DATA chunks."""
    chunks: list[dict[str, Any]] = [
        {"chunkType": "TEXT_DATA", "textDataDetails": {"fieldTarget": k, "value": v}}
        for k, v in extracted.items()
    ]
    chunks += [
        {"chunkType": "TEXT", "textDetails": {"text": "Thanks."}},
        {"chunkType": "SEPARATOR"},
        {"chunkType": "TEXT", "textDetails": {"text": question}},
    ]
    return TurnTranscript(
        endpoint="send-user-message-streamed",
        chunks=[TimedChunk(t=0.1, chunk=c) for c in chunks],
    )


def verdict(name: str, expected: Any, actual: Any, turn: int | None = 1) -> FieldResult:
    """A verdict as the scorer gives it: text matching, missing when nothing was extracted."""
    if actual is None:
        outcome = "missing"
    elif str(actual).casefold() == str(expected).casefold():
        outcome = "correct"
    else:
        outcome = "wrong"
    return FieldResult(
        field=name,
        turn=turn,
        matcher="text",
        expected=expected,
        actual=actual,
        outcome=outcome,  # type: ignore[arg-type]
        passed=outcome == "correct",
        score=1.0 if outcome == "correct" else 0.0,
        reason=outcome,
    )


def convo(
    *turns: TurnTranscript,
    fields: tuple[FieldResult, ...] = (),
    cid: str = "c",
    status: str | None = None,
) -> ConversationResult:
    """A result whose final state is what its turns extracted, last write wins."""
    final: dict[str, Any] = {}
    for turn in turns:
        for chunk in turn.chunks:
            details = chunk.chunk.get("textDataDetails")
            if isinstance(details, dict):
                final[details["fieldTarget"]] = details["value"]
    passed = all(f.passed for f in fields)
    return ConversationResult(
        suite="s",
        conversation_id=cid,
        status=status or ("pass" if passed else "fail"),  # type: ignore[arg-type]
        transcript=[exchange(GREETING), *turns],
        fields=list(fields),
        final_state=final,
        error=ErrorInfo(kind="http", message="HTTP 503") if status == "error" else None,
    )


# ----------------------------------------------------------------------------- one field


@pytest.mark.parametrize(
    ("before", "after", "before_verdict", "after_verdict", "category"),
    [
        pytest.param("a", MISSING, ("correct", True), ("missing", False), "newly missing",
                     id="extracted-then-missing"),
        pytest.param("a", MISSING, ("unexpected", True), (), "newly missing",
                     id="unexpected-no-longer-extracted"),
        pytest.param(MISSING, "a", ("missing", False), ("correct", True), "newly extracted",
                     id="missing-then-extracted"),
        pytest.param(MISSING, "a", (), ("unexpected", True), "newly extracted",
                     id="extracted-without-expectation"),
        pytest.param("a", "b", ("correct", True), ("wrong", False), "value changed",
                     id="other-value"),
        pytest.param("a", "b", ("wrong", False), ("wrong", False), "value changed",
                     id="other-value-same-verdict"),
        pytest.param(30, 30.0, ("correct", True), ("correct", True), "value changed",
                     id="type-aware: 30 is not 30.0"),
        pytest.param([1, 2], [2, 1], (), (), "value changed", id="list-order"),
        pytest.param("a", "a", ("correct", True), ("wrong", False), "expectation changed",
                     id="same-value-other-verdict"),
        pytest.param("a", "a", ("correct", True), (), "expectation changed",
                     id="expectation-removed"),
        pytest.param(MISSING, MISSING, (), ("missing", False), "expectation changed",
                     id="expectation-added-nothing-extracted"),
        pytest.param("a", "a", ("correct", True), ("correct", True), None, id="unchanged"),
        pytest.param({"k": [1]}, {"k": [1]}, (), (), None, id="unchanged-object"),
        pytest.param(MISSING, MISSING, (), (), None, id="never-there"),
    ],
)  # fmt: skip
def test_the_category_of_one_fields_change(
    before: Any,
    after: Any,
    before_verdict: tuple[object, ...],
    after_verdict: tuple[object, ...],
    category: str | None,
) -> None:
    assert field_category(before, after, before_verdict, after_verdict) == category


# ----------------------------------------------------------------------------- conversations

Row = tuple[str, str, int | None, Any, Any]
"""(category, field, turn, before, after) of one difference."""


def rows(differences: list[FieldDifference]) -> list[Row]:
    return [(d.category, d.field, d.turn, d.before, d.after) for d in differences]


ASK_EMAIL = "And your email?"


def jane(
    extracted: str | None = "Jane", expected: str = "Jane", question: str = ASK_EMAIL, **more: Any
) -> ConversationResult:
    """One turn that should extract first_name (and extracts `extracted` and `more`)."""
    values = {"first_name": extracted} if extracted is not None else {}
    turn = exchange(question, **values, **more)
    return convo(turn, fields=(verdict("first_name", expected, extracted),))


PAIRS = [
    pytest.param(jane("Jane"), jane(None), [("newly missing", "first_name", 1, "Jane", None)], 0,
                 id="newly-missing"),
    pytest.param(jane(None), jane("Jane"), [("newly extracted", "first_name", 1, None, "Jane")],
                 0, id="newly-extracted"),
    pytest.param(jane("Jane"), jane("Jan"), [("value changed", "first_name", 1, "Jane", "Jan")],
                 0, id="value-changed"),
    pytest.param(jane(expected="Jane"), jane(expected="Janet"),
                 [("expectation changed", "first_name", 1, "Jane", "Jane")], 0,
                 id="expectation-changed"),
    pytest.param(jane(), jane(question="Your email, please?"),
                 [("question changed", "", 1, ASK_EMAIL, "Your email, please?")], 1,
                 id="question-changed"),
    pytest.param(jane(age=32), jane(age=33),
                 [("value changed", "age", None, 32, 33)],  # no verdict on age: its final state
                 1, id="unchanged-field-beside-a-changed-one"),
    pytest.param(
        convo(exchange(ASK_EMAIL, first_name="Jane"), exchange("Bye", first_name="Jo"),
              fields=(verdict("first_name", "Jane", "Jane"),)),
        convo(exchange(ASK_EMAIL, first_name="Jan"), exchange("Bye", first_name="Joe"),
              fields=(verdict("first_name", "Jane", "Jan"),)),
        [("value changed", "first_name", 1, "Jane", "Jan")],  # once, where it first differs
        0,
        id="a-field-counts-once-at-its-first-difference",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("base", "cand", "expected", "unchanged"), PAIRS)
def test_a_conversations_typed_differences(
    base: ConversationResult, cand: ConversationResult, expected: list[Row], unchanged: int
) -> None:
    found = conversation_differences(base, cand)

    assert found is not None
    assert rows(found.differences) == expected
    assert found.unchanged == unchanged


def test_an_unchanged_conversation_has_no_differences() -> None:
    same = convo(
        exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "Jane", "Jane"),)
    )
    spaced = convo(
        exchange("  and YOUR   email? ", first_name="Jane"),
        fields=(verdict("first_name", "Jane", "Jane"),),
    )

    assert conversation_differences(same, same) is None
    assert conversation_differences(same, spaced) is None  # whitespace and case aside


@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_a_conversation_that_errored_on_one_side_has_no_typed_differences(side: str) -> None:
    good = convo(
        exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "Jane", "Jane"),)
    )
    errored = convo(exchange("Sorry?"), status="error")
    pair = (errored, good) if side == "baseline" else (good, errored)

    assert conversation_differences(*pair) is None


def test_a_question_names_the_field_its_prompt_asks_for() -> None:
    def asking(question: str) -> TurnTranscript:
        turn = exchange(question)
        prompt = {
            "chunkType": "SINGLE_SELECT_INPUT",
            "singleSelectInputDetails": {
                "fieldTarget": "contact_method",
                "options": [{"value": "email", "label": "Email"}],
            },
        }
        return turn.model_copy(update={"chunks": [*turn.chunks, TimedChunk(t=0.2, chunk=prompt)]})

    found = conversation_differences(
        convo(asking("How should we reach you?")), convo(asking("Email or phone?"))
    )

    assert found is not None
    assert rows(found.differences) == [
        ("question changed", "contact_method", 1, "How should we reach you?", "Email or phone?")
    ]


def test_malformed_chunks_a_target_sent_are_compared_not_crashed_on() -> None:
    broken = exchange(ASK_EMAIL, first_name="Jane")
    broken.chunks.extend(
        TimedChunk(t=0.3, chunk=c)
        for c in (
            {"chunkType": "TEXT", "textDetails": "not an object"},
            {"chunkType": "TEXT_DATA", "textDataDetails": ["nor", "this"]},
            {"chunkType": "SINGLE_SELECT_INPUT", "singleSelectInputDetails": 7},
        )
    )
    base = convo(exchange(ASK_EMAIL, first_name="Jane"))

    assert conversation_differences(base, convo(broken)) is None


def test_an_edited_expectation_keeps_both_expected_values() -> None:
    base = convo(
        exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "Jane", "Jane"),)
    )
    cand = convo(
        exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "Janet", "Jane"),)
    )

    found = conversation_differences(base, cand)

    assert found is not None
    (difference,) = found.differences
    assert (difference.before_expected, difference.after_expected) == ("Jane", "Janet")
    assert (difference.before_outcome, difference.after_outcome) == ("correct", "wrong")


def persona(question: str, name: str = "Jane") -> ConversationResult:
    """A persona conversation: the simulator's record, a final-state verdict, its own wording."""
    result = convo(
        exchange(question, first_name=name),
        fields=(verdict("first_name", "Jane", name, turn=None),),
    )
    simulation = SimulationInfo(seed=7, persona="jane", asked=[None, "email"])
    return result.model_copy(update={"simulation": simulation})


def test_a_persona_conversations_question_wording_is_not_compared() -> None:
    # A persona's turns are not scripted: exchange n of one run need not be exchange n of the
    # other, so wording side by side is noise (two seeds of a persona suite: hundreds of them).
    assert conversation_differences(persona(ASK_EMAIL), persona("Your email, please?")) is None

    found = conversation_differences(persona(ASK_EMAIL), persona("Your email, please?", "Jo"))

    assert found is not None
    assert rows(found.differences) == [("value changed", "first_name", None, "Jane", "Jo")]


def test_a_scripted_conversation_against_a_persona_one_is_not_compared_by_wording() -> None:
    scripted = convo(exchange(ASK_EMAIL, first_name="Jane"))

    assert conversation_differences(scripted, persona("Your email, please?")) is not None
    found = conversation_differences(scripted, persona("Your email, please?"))
    assert found is not None
    assert "question changed" not in {d.category for d in found.differences}


@pytest.mark.parametrize(
    ("base", "cand", "reworded"),
    [
        pytest.param(jane(), jane(question="Your email, please?"), True, id="still-passing"),
        pytest.param(jane(expected="Janet"), jane(expected="Janet", question="Email?"), False,
                     id="still-failing: its failure leads"),
        pytest.param(jane(), jane("Jan", question="Email?"), False, id="with-a-field-change"),
    ],
)  # fmt: skip
def test_only_a_still_passing_conversation_with_only_new_wording_is_reworded(
    base: ConversationResult, cand: ConversationResult, reworded: bool
) -> None:
    found = conversation_differences(base, cand)

    assert found is not None
    assert found.reworded_only is reworded


# ----------------------------------------------------------------------------- compare_runs


def run(run_id: str, results: list[ConversationResult]) -> tuple[RunInfo, list[ConversationResult]]:
    info = RunInfo(
        run_id=run_id,
        evalkit_version="0",
        started_at="2026-11-25T00:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        summary=summarize(results),
    )
    return info, results


def test_compare_runs_keeps_typed_differences_of_paired_verdicts_only_and_counts_them() -> None:
    def named(cid: str, result: ConversationResult) -> ConversationResult:
        return result.model_copy(update={"conversation_id": cid})

    right = convo(
        exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "Jane", "Jane"),)
    )
    lost = convo(exchange(ASK_EMAIL), fields=(verdict("first_name", "Jane", None),))
    errored = convo(exchange("Sorry?"), status="error")
    base = run(
        "a",
        [named("changed", right), named("errs", right), named("gone", right), named("same", right)],
    )
    cand = run("b", [named("changed", lost), named("errs", errored), named("new", lost),
                     named("same", right)])  # fmt: skip

    comparison = compare_runs(*base, *cand)

    assert [c.label for c in comparison.differences] == ["s/changed"]
    (changed,) = comparison.differences
    assert (changed.base, changed.candidate) == ("pass", "fail")
    assert list(comparison.difference_counts) == list(CATEGORIES)
    assert comparison.difference_counts == {
        "newly missing": 1,
        "newly extracted": 0,
        "value changed": 0,
        "expectation changed": 0,
        "question changed": 0,
    }
    dumped = comparison.model_dump(mode="json")  # `evalkit compare --json` carries them
    assert dumped["differences"][0]["differences"][0]["category"] == "newly missing"


def test_a_regression_without_field_changes_is_kept_with_no_differences() -> None:
    base = convo(
        exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "Jane", "Jane"),)
    )
    cand = base.model_copy(update={"status": "fail"})  # a reply check failed, say

    found = conversation_differences(base, cand)

    assert found is not None
    assert (found.base, found.candidate, found.differences, found.unchanged) == (
        "pass",
        "fail",
        [],
        1,
    )


# ----------------------------------------------------------------------------- CLI


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.output


@pytest.mark.slow
def test_two_emulator_runs_print_and_render_the_counts_per_category_first(tmp_path: Path) -> None:
    """contact, then contact-v2 (it misreads number words) with one expectation edited."""
    suites = tmp_path / "suites"
    shutil.copytree(SUITES / "forms", suites / "forms")
    suite = suites / "contact.eval.yaml"
    text = (SUITES / "contact.eval.yaml").read_text(encoding="utf-8")
    suite.write_text(text, encoding="utf-8")
    invoke("run", str(suite), "--out", str(tmp_path / "a"))
    (base_dir,) = (tmp_path / "a").glob("2*")
    edited = text.replace("          last_name: Doe\n", "          last_name: Dough\n", 1)
    assert edited != text
    suite.write_text(edited, encoding="utf-8")

    output = invoke(
        "run", str(suite), "--out", str(tmp_path / "b"), "--form-id", "contact=contact-v2",
        "--baseline", str(base_dir),
    )  # fmt: skip

    counts = (
        "typed differences: newly missing 7, newly extracted 0, value changed 0, "
        "expectation changed 1, question changed 0"
    )
    lines = output.splitlines()
    summary = next(n for n, line in enumerate(lines) if line.startswith("25 conversations: "))
    assert lines[summary + 1].startswith("slot filling: JGA ")  # next to the pass rate
    start = lines.index(counts)
    assert lines[start + 1].startswith("baseline  ")  # the counts lead the comparison
    listed = lines[lines.index("Typed differences (conversation, then each change: old → new):") :]
    assert "  contact-form/name-and-email (pass → fail)" in listed
    assert '    expectation changed last_name (turn 1): "Doe" (correct) → "Doe" (wrong)' in listed
    assert "    newly missing age (turn 1): 32 → —" in listed

    (cand_dir,) = (tmp_path / "b").glob("2*")
    html, md = tmp_path / "compare.html", tmp_path / "compare.md"
    output = invoke(
        "compare", str(base_dir), str(cand_dir), "--html", str(html), "--markdown", str(md)
    )
    assert output.splitlines()[0] == counts
    document = md.read_text(encoding="utf-8")
    section = document[document.index("## Against baseline") :]
    assert section.index("newly missing **7**") < section.index("### Regressions (8)")
    assert "| expectation changed | turn 1 | last\\_name |" in section
    page = html.read_text(encoding="utf-8")
    section = page[page.index('<section id="regressions">') :]
    assert section.index('data-category="expectation changed">1<') < section.index("Regressions")


def printed(comparison: Comparison) -> str:
    """What `evalkit compare` prints of a comparison, as a terminal would receive it."""
    buffer = io.StringIO()
    print_comparison(Console(file=buffer, width=400, color_system=None), comparison)
    return buffer.getvalue()


ESCAPES = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;pwned\x07",  # set the window title
    "\x1b[31mred\x1b[0m",  # colour
    "\x9b2J",  # the same through the 8-bit CSI (C1)
    "line\rover\x08\x00",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_targets_control_characters_never_reach_the_terminal(payload: str) -> None:
    base = convo(exchange(ASK_EMAIL, first_name="Jane"), fields=(verdict("first_name", "J", "J"),))
    cand = convo(
        exchange(f"Email? {payload}", first_name=f"Jane{payload}"),
        fields=(verdict("first_name", "J", f"J{payload}"),),  # the reason quotes the value
    )

    output = printed(compare_runs(*run("a", [base]), *run("b", [cand])))

    # Shown as escapes (`\x1b[2J`), never sent: no control character but the line ends.
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", output), repr(output)
    assert "Email?" in output


def test_still_passing_conversations_with_only_new_wording_are_counted_not_listed() -> None:
    def named(cid: str, result: ConversationResult) -> ConversationResult:
        return result.model_copy(update={"conversation_id": cid})

    reworded = [named(f"w{k}", jane(question="Your email, please?")) for k in range(30)]
    base = run("a", [named("lost", jane()), *(named(f"w{k}", jane()) for k in range(30))])
    cand = run("b", [named("lost", jane(None)), *reworded])

    lines = printed(compare_runs(*base, *cand)).splitlines()

    assert (
        "typed differences: newly missing 1, newly extracted 0, value changed 0, "
        "expectation changed 0, question changed 30" in lines
    )
    start = lines.index("Typed differences (conversation, then each change: old → new):")
    listed = lines[start:]
    assert listed[1:3] == [
        "  s/lost (pass → fail)",
        '    newly missing first_name (turn 1): "Jane" → —',
    ]
    assert listed[3] == (
        "  30 still-passing conversations changed only a question's wording "
        "(e.g. s/w0, s/w1, s/w10 and 27 more)"
    )


def test_a_huge_question_is_cut_where_the_difference_is_built_and_printed_cut() -> None:
    huge = "Your email? " + "x" * 60_000
    base = jane(question=ASK_EMAIL)
    cand = jane(question=huge)

    found = conversation_differences(base, cand)

    assert found is not None
    (question,) = found.differences
    assert question.category == "question changed"
    assert isinstance(question.after, str)
    assert len(question.after) <= 200
    assert question.after.startswith("Your email? xxx")
    assert question.after.endswith("…")
    assert question.before == ASK_EMAIL  # a short question is kept whole
    output = printed(compare_runs(*run("a", [base]), *run("b", [cand])))
    assert len(output) < 2_000, len(output)


def test_a_huge_extracted_value_is_cut_too() -> None:
    found = conversation_differences(jane("Jane"), jane("J" * 60_000))

    assert found is not None
    (value,) = found.differences
    assert value.category == "value changed"
    assert isinstance(value.after, str)
    assert len(value.after) <= 200
    assert value.after.endswith("…")


def test_a_huge_list_or_mapping_value_is_cut_as_its_json_text() -> None:
    hobbies = ["x" * 60_000, "y" * 60_000]
    found = conversation_differences(
        jane("Jane"), jane("Jane", hobbies=hobbies, prefs={"a": hobbies})
    )

    assert found is not None
    shown = {d.field: d.after for d in found.differences}
    assert set(shown) == {"hobbies", "prefs"}
    for after in shown.values():
        assert isinstance(after, str)
        assert len(after) <= 200
        assert after.startswith(('["xxx', '{"a"'))
        assert after.endswith("…")
    small = conversation_differences(jane("Jane"), jane("Jane", hobbies=["chess"]))
    assert small is not None
    assert [d.after for d in small.differences] == [["chess"]]  # small values stay as they are
