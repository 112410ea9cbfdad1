"""Run-level persona figures: completion, turns, re-asks, accuracy, pass^k, never asked."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from evalkit.cli.printing import print_summary
from evalkit.loader import load_suites
from evalkit.metrics import summarize
from evalkit.metrics.personas import PersonaTally, spread
from evalkit.results import ConversationResult, read_run
from evalkit.results.models import CheckResult, FieldResult, SimulationInfo, TurnTranscript
from evalkit.runner import emulator_target, run_sync
from evalkit.scoring import fewest_turns
from evalkit.simulate.asked import asks_to_confirm
from evalkit.suite import Persona

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "run_fixture_personas"


def _result(
    cid: str = "p",
    repeat: int = 0,
    *,
    status: str = "pass",
    submitted: bool = True,
    turns: int = 3,
    fewest: int | None = 3,
    re_asks: int = 0,
    never: tuple[str, ...] = (),
    persona: bool = True,
    email: str = "correct",
) -> ConversationResult:
    transcript = [TurnTranscript(endpoint="create")] + [
        TurnTranscript(endpoint="send-user-message", user=f"message {n}") for n in range(turns)
    ]
    checks = [
        CheckResult(check="re_ask", turn=n + 1, passed=True, reason="asked again")
        for n in range(re_asks)
    ]
    fields = [
        FieldResult(
            field="email",
            turn=None,
            matcher="email",
            outcome=email,
            passed=email == "correct",
            score=1.0 if email == "correct" else 0.0,
            reason="",
        )
    ]
    simulation = (
        SimulationInfo(seed=1, never_asked=list(never), fewest_turns=fewest) if persona else None
    )
    data: dict[str, Any] = {
        "suite": "s",
        "conversation_id": cid,
        "repeat": repeat,
        "status": status,
        "transcript": transcript,
        "checks": checks,
        "fields": fields,
        "submitted": submitted,
        "simulation": simulation,
    }
    return ConversationResult.model_validate(data)


def _figures(*results: ConversationResult) -> Any:
    tally = PersonaTally()
    for result in results:
        tally.add(result)
    return tally.metrics()


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([_result(persona=False)], None, id="scripted-only-gives-none"),
        pytest.param([_result(status="error")], None, id="errors-measure-nothing"),
        pytest.param(
            [_result("a"), _result("b", submitted=False, status="fail"), _result("c")],
            {"conversations": 3, "submitted": 2, "completion_rate": 2 / 3},
            id="completion-is-submitted-over-persona-conversations",
        ),
        pytest.param(
            [_result("a"), _result("b", status="error"), _result("c", persona=False)],
            {"conversations": 1, "submitted": 1, "completion_rate": 1.0},
            id="errors-and-scripted-are-left-out",
        ),
        pytest.param(
            [
                _result("a", turns=2, fewest=2),
                _result("b", turns=5, fewest=3),
                _result("c", turns=4),
            ],
            {
                "turns": {"min": 2.0, "median": 4.0, "p90": 4.8, "max": 5.0},
                "extra_turns": {"min": 0.0, "median": 1.0, "p90": 1.8, "max": 2.0},
                "at_fewest": 1,
            },
            id="turns-to-complete-and-beyond-the-fewest",
        ),
        pytest.param(
            [_result("a", turns=9, submitted=False, status="fail"), _result("b", turns=2)],
            {"turns": {"min": 2.0, "median": 2.0, "p90": 2.0, "max": 2.0}},
            id="turns-count-only-completed-conversations",
        ),
        pytest.param(
            [_result("a", fewest=None, turns=4)],
            {"turns": {"min": 4.0, "median": 4.0, "p90": 4.0, "max": 4.0}, "extra_turns": {}},
            id="older-results-without-the-fewest",
        ),
        pytest.param(
            [_result("a", re_asks=2), _result("b"), _result("c", re_asks=1), _result("d")],
            {"re_asks": 3, "with_re_ask": 2, "re_ask_rate": 0.75, "re_ask_share": 0.5},
            id="re-asks-per-conversation-and-share-with-any",
        ),
        pytest.param(
            [_result("a", email="correct"), _result("b", email="wrong", status="fail")],
            {"fields": {"email": {"correct": 1, "wrong": 1, "missing": 0, "unexpected": 0}}},
            id="per-field-accuracy",
        ),
        pytest.param(
            [_result("a", never=("phone", "age")), _result("b", never=("phone",))],
            {"never_asked": {"age": 1, "phone": 2}},
            id="never-asked-per-field",
        ),
        pytest.param(
            [
                _result("a", 0),
                _result("a", 1),
                _result("b", 0),
                _result("b", 1, status="fail", submitted=False),
            ],
            {"k": 2, "pass_hat_k": 0.5},
            id="pass-hat-k-across-repeats",
        ),
    ],
)
def test_persona_figures(
    results: list[ConversationResult], expected: dict[str, Any] | None
) -> None:
    figures = _figures(*results)
    if expected is None:
        assert figures is None
        return
    dumped = figures.model_dump(mode="json")
    for key, value in expected.items():
        if key == "fields":
            assert dumped[key] == value
        else:
            assert dumped[key] == pytest.approx(value), key


def test_completion_has_a_wilson_interval() -> None:
    figures = _figures(*[_result(str(n)) for n in range(9)], _result("x", submitted=False))
    assert figures.completion_ci == pytest.approx((0.5958, 0.9821), abs=1e-4)


def test_spread_of_nothing_is_empty() -> None:
    assert spread([]) == {}


def test_the_summary_of_a_persona_run_carries_the_figures_and_run_json_stores_them() -> None:
    info, stored = read_run(FIXTURE)
    figures = summarize(stored).personas
    assert figures is not None
    assert figures == info.summary.personas
    assert (figures.conversations, figures.submitted) == (8, 6)
    assert figures.never_asked == {"contact_method": 1, "last_name": 2, "newsletter": 1}
    assert figures.k == 2
    assert figures.pass_hat_k == pytest.approx(0.75)


def test_a_scripted_run_has_no_persona_figures() -> None:
    _, stored = read_run(FIXTURE.parent / "run_fixture_rich")
    assert summarize(stored).personas is None


def test_the_terminal_summary_says_the_persona_figures_in_the_reports_words() -> None:
    from evalkit.metrics.personas import persona_figures
    from evalkit.report.personas import persona_figures as reported

    info, stored = read_run(FIXTURE)
    figures = info.summary.personas
    assert figures is not None
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=300, color_system=None), info, stored)
    lines = [line for line in buffer.getvalue().splitlines() if line.startswith("personas: ")]
    assert lines == [f"personas: {name} {words}" for name, words in persona_figures(figures)]
    assert reported is persona_figures  # the reports' rows are the same words
    assert lines[0] == "personas: completion rate 75.0% (6 of 8 submitted, 95% CI 40.9%–92.9%)"
    assert "personas: never asked contact_method (1), last_name (2), newsletter (1)" in lines
    scripted, results = read_run(FIXTURE.parent / "run_fixture_rich")
    buffer = io.StringIO()
    print_summary(Console(file=buffer, width=300, color_system=None), scripted, results)
    assert "personas:" not in buffer.getvalue()


# ------------------------------------------------------------------------ the fewest possible
_FOUR = {"values": {"a": "1", "b": "2", "c": "3", "d": "4"}}


@pytest.mark.parametrize(
    ("traits", "answers", "asked", "fewest"),
    [
        pytest.param({}, [["a"], ["b"], ["c"], ["d"]], ["a", "b", "c", "d"], 4, id="one-a-value"),
        pytest.param(
            {},
            [["a"], ["b"], ["c"], ["d"], []],
            ["a", "b", "c", "d", None],
            5,
            id="a-confirmation-the-target-asked-is-a-turn",
        ),
        pytest.param(
            {},
            [["a"], ["b"], ["c"], ["d"], [], []],
            ["a", "b", "c", "d", None, None],
            5,
            id="asking-to-confirm-twice-is-the-targets-extra-turn",
        ),
        pytest.param(
            {"volunteers": 1},
            [["a", "b"], ["c"], ["d"], []],
            ["a", "c", "d", None],
            4,
            id="volunteered-values-need-no-turn",
        ),
        pytest.param(
            {"corrects": {"b": "x"}},
            [["a"], ["b"], ["b"], ["c"], ["d"], []],
            ["a", "b", "c", "c", "d", None],
            6,
            id="a-correction-is-a-message-of-its-own",
        ),
        pytest.param(
            {"corrects": {"b": "x"}, "volunteers": 1},
            [["a", "b"], ["c"], ["d"]],
            ["a", "c", "d"],
            3,
            id="a-volunteered-value-is-never-said-wrong",
        ),
        pytest.param(
            {"declines": ["d"]},
            [["a"], ["b"], ["c"], []],
            ["a", "b", "c", "d"],
            3,
            id="a-decline-is-not-a-confirmation",
        ),
        pytest.param({"corrects": {"b": "x"}}, None, None, 5, id="no-record-counts-corrections"),
        pytest.param({"declines": ["d"]}, None, None, 3, id="no-record-leaves-out-declines"),
    ],
)
def test_the_fewest_possible_turns(
    traits: dict[str, Any],
    answers: list[list[str]] | None,
    asked: list[str | None] | None,
    fewest: int,
) -> None:
    persona = Persona.model_validate({**_FOUR, **traits})
    assert fewest_turns(persona, answers, asked) == fewest


def test_personas_that_answer_optimally_take_the_fewest_turns_against_shuffled_order(
    tmp_path: Path,
) -> None:
    """Shuffled sessions sum up and ask to confirm; a correction is a message: both are needed."""
    shutil.copytree(ROOT / "suites" / "forms", tmp_path / "forms")
    shutil.copy(FIXTURE / "suite" / "personas-fixture.eval.yaml", tmp_path / "p.eval.yaml")
    suites = load_suites([tmp_path / "p.eval.yaml"])
    with emulator_target(suites, ask_order="shuffled", seed=11) as target:
        run_dir = run_sync(suites, target, out_root=tmp_path / "runs").run_dir
    info, stored = read_run(run_dir)
    submitted = [r for r in stored if r.submitted]
    assert len(submitted) == 6  # all but the person who declines the required email
    for result in submitted:
        assert result.simulation is not None
        turns = len(result.transcript) - 1
        assert turns == result.simulation.fewest_turns, result.conversation_id
        confirmations = [
            n for n, turn in enumerate(result.transcript[:-1]) if asks_to_confirm(turn)
        ]
        assert len(confirmations) == 1, result.conversation_id
        simulation = result.simulation
        gave_nothing_unasked = [
            n
            for n, (asked, gave) in enumerate(
                zip(simulation.asked, simulation.answers, strict=True)
            )
            if asked is None and not gave
        ]
        assert gave_nothing_unasked == confirmations  # how the record shows a confirmation
    figures = info.summary.personas
    assert figures is not None
    assert (figures.at_fewest, figures.extra_turns["max"]) == (6, 0.0)
