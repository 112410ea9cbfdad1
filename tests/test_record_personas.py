"""`evalkit record --from-run`: a persona run becomes a scripted suite that passes where it ran."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.authoring import suite_from_run
from evalkit.cli import main
from evalkit.errors import UsageError
from evalkit.loader import load_suite
from evalkit.results import ConversationResult, FieldResult, conversation_label, read_run
from evalkit.runner import emulator_target, run_sync

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "run_fixture_personas"
SUITE = FIXTURE / "suite" / "personas-fixture.eval.yaml"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "suites" / "forms", tmp_path / "forms")
    shutil.copy(SUITE, tmp_path / "personas.eval.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(path: Path, out: Path) -> Path:
    loaded = load_suite(path)
    with emulator_target([loaded]) as target:  # the emulator's fixed order
        return run_sync([loaded], target, out_root=out).run_dir


def test_a_persona_run_with_its_failures_records_as_a_suite_that_passes_where_it_ran(
    workspace: Path,
) -> None:
    run_dir = _run(workspace / "personas.eval.yaml", workspace / "runs")
    persona_results = list(read_run(run_dir)[1])

    result = CliRunner().invoke(
        main, ["record", "--from-run", str(run_dir), "--include-failed", "-o", "rec.eval.yaml"]
    )

    assert result.exit_code == 0, result.output
    suite = load_suite(workspace / "rec.eval.yaml").suite  # it validates
    assert suite.suite == "personas-fixture-recorded"
    assert suite.form == "contact"
    by_id = {c.id: c for c in suite.conversations}
    assert sorted(by_id) == sorted(f"{r.conversation_id}-r{r.repeat}" for r in persona_results)
    for original in persona_results:
        recorded = by_id[f"{original.conversation_id}-r{original.repeat}"]
        assert recorded.persona is None
        assert [t.user for t in recorded.turns] == [t.user for t in original.transcript[1:]]
        assert recorded.submitted is original.submitted
    declined = by_id["declines-the-email-r0"]
    assert declined.submitted is False
    assert declined.final is not None
    assert "email" not in declined.final
    chatty = by_id["chatty-volunteer-r0"].turns[0]
    assert chatty.expect is not None
    assert {"first_name", "email"} <= set(chatty.expect)

    replay = list(read_run(_run(workspace / "rec.eval.yaml", workspace / "replay"))[1])
    assert [(r.conversation_id, r.status) for r in replay] == [
        (r.conversation_id, "pass") for r in replay
    ]
    assert len(replay) == len(persona_results)


def test_record_from_a_run_without_personas_is_a_usage_error(workspace: Path) -> None:
    rich = ROOT / "tests" / "data" / "run_fixture_rich"
    result = CliRunner().invoke(main, ["record", "--from-run", str(rich), "-o", "x.eval.yaml"])
    assert result.exit_code == 2
    assert "has no persona conversation" in result.output
    assert not (workspace / "x.eval.yaml").exists()


def test_record_needs_a_form_or_a_run(workspace: Path) -> None:
    result = CliRunner().invoke(main, ["record", "-o", "x.eval.yaml"])
    assert result.exit_code == 2
    assert "--form" in result.output
    assert "--from-run" in result.output


def test_record_from_a_run_takes_only_passed_personas_and_says_what_it_skipped(
    workspace: Path,
) -> None:
    """A failed conversation recorded as expectations would make its defect the expected."""
    _, stored = read_run(FIXTURE)
    results = list(stored)
    failed = [r for r in results if r.status == "fail"]
    assert [r.conversation_id for r in failed] == ["declines-the-email"] * 2

    result = CliRunner().invoke(main, ["record", "--from-run", str(FIXTURE), "-o", "rec.eval.yaml"])

    assert result.exit_code == 0, result.output
    suite = load_suite(workspace / "rec.eval.yaml").suite
    assert sorted(c.id for c in suite.conversations) == sorted(
        f"{r.conversation_id}-r{r.repeat}" for r in results if r.status == "pass"
    )
    for r in failed:
        assert (
            f"skipped {conversation_label(r.suite, r.conversation_id, r.repeat)}: it failed "
            "(submitted: no SUBMISSION arrived; expected one); --include-failed records it"
        ) in result.output

    result = CliRunner().invoke(
        main, ["record", "--from-run", str(FIXTURE), "--include-failed", "-o", "all.eval.yaml"]
    )

    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output
    everyone = load_suite(workspace / "all.eval.yaml").suite
    assert len(everyone.conversations) == len(results)


def test_a_run_whose_personas_all_failed_records_nothing_without_include_failed() -> None:
    info, stored = read_run(FIXTURE)
    failed = [r for r in stored if r.status == "fail"]

    with pytest.raises(UsageError, match=r"no persona conversation .* passed .*--include-failed"):
        suite_from_run(info, failed)

    recorded = suite_from_run(info, failed, include_failed=True)
    assert [c.id for c in recorded.suite.conversations] == [
        f"declines-the-email-r{r.repeat}" for r in failed
    ]
    assert recorded.skipped == []


def test_the_skipped_lines_name_each_conversation_as_every_other_listing_does(
    workspace: Path,
) -> None:
    """One format for a conversation run: `suite/id`, `#repeat` after the first repeat."""
    result = CliRunner().invoke(main, ["record", "--from-run", str(FIXTURE), "-o", "rec.eval.yaml"])

    assert result.exit_code == 0, result.output
    skipped = [line for line in result.output.splitlines() if line.startswith("skipped")]
    assert sorted(line.split(":")[0] for line in skipped) == [
        "skipped personas-fixture/declines-the-email",
        "skipped personas-fixture/declines-the-email#1",
    ]


HOSTILE = ["\x9b2J", "\u202egnp.exe", "\x1b]0;pwned\x07", "\x1b[2J"]


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_targets_words_in_a_skipped_reason_reach_the_terminal_inert(
    workspace: Path, payload: str
) -> None:
    """The reason quotes the failed field's reason, which quotes what the target extracted."""
    _, stored = read_run(FIXTURE)
    run_dir = workspace / "run"
    shutil.copytree(FIXTURE, run_dir)

    def hostile(r: ConversationResult) -> ConversationResult:
        if r.status != "fail":
            return r
        bad = FieldResult(
            field="email",
            turn=None,
            matcher="text",
            expected="x",
            actual=payload,
            outcome="wrong",
            passed=False,
            score=0.0,
            reason=f"expected x, got {payload}",
        )
        return r.model_copy(update={"fields": [bad], "checks": []})

    rows = [hostile(r).model_dump_json() for r in stored]
    (run_dir / "results.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["record", "--from-run", str(run_dir), "-o", "r.eval.yaml"])

    assert result.exit_code == 0, result.output
    assert "email: expected x, got" in result.output
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", result.output)
