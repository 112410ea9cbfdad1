"""Persona conversations are treated like scripted ones by JUnit, merge, compare and the plugin."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# pytester's in-process runs drop the modules first imported inside them (see
# tests/test_pytest_plugin.py): load evalkit's API here once.
import evalkit.api  # noqa: F401
from evalkit.compare import compare_runs
from evalkit.junit import to_junit_xml
from evalkit.merge import merge_runs
from evalkit.metrics import summarize
from evalkit.results import CheckResult, ConversationResult, RunInfo, read_run, write_run_info

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "run_fixture_personas"
SUITE = FIXTURE / "suite" / "personas-fixture.eval.yaml"


def _fixture() -> tuple[RunInfo, list[ConversationResult]]:
    info, stored = read_run(FIXTURE)
    return info, list(stored)


def _write(
    run_dir: Path, info: RunInfo, results: list[ConversationResult], **update: object
) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text(
        "".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8"
    )
    summary = summarize(results)
    write_run_info(
        run_dir, info.model_copy(update={"run_id": run_dir.name, "summary": summary, **update})
    )
    return run_dir


def test_junit_gives_a_failing_persona_its_reasons_and_its_simulated_messages() -> None:
    info, results = _fixture()
    root = ET.fromstring(to_junit_xml(info, results))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert len(cases) == len(results)
    failed = next(c for name, c in cases.items() if name and "declines-the-email" in name)
    failure = failed.find("failure")
    assert failure is not None
    assert "submitted" in (failure.get("message") or "") + (failure.text or "")
    assert "no SUBMISSION arrived; expected one" in (failure.text or "")
    out = failed.findtext("system-out") or ""
    assert "I'd rather not say." in out
    passed = next(c for name, c in cases.items() if name and "terse-by-label" in name)
    assert passed.find("failure") is None


def test_merging_shards_of_a_persona_run_keeps_the_simulation_and_the_figures(
    tmp_path: Path,
) -> None:
    info, results = _fixture()
    first = _write(tmp_path / "a", info, results[::2], shard="1/2")
    second = _write(tmp_path / "b", info, results[1::2], shard="2/2")

    merged = merge_runs([first, second], tmp_path / "merged")

    _, merged_results = read_run(tmp_path / "merged")
    assert [r.simulation for r in merged_results] == [r.simulation for r in results]
    assert merged.summary.personas == info.summary.personas
    assert merged.summary.personas is not None


def test_a_comparison_pairs_persona_conversations_and_names_why_one_regressed() -> None:
    info, results = _fixture()
    re_ask = CheckResult(check="re_ask", turn=2, passed=False, reason="asked for email again")
    broken = results[0].model_copy(
        update={"status": "fail", "checks": [*results[0].checks, re_ask]}
    )
    candidate = [broken, *results[1:]]
    comparison = compare_runs(info, results, info, candidate)
    (regression,) = comparison.regressions
    assert (regression.conversation_id, regression.repeat) == (
        results[0].conversation_id,
        results[0].repeat,
    )
    assert any("asked for email again" in reason for reason in regression.reasons)


def test_the_pytest_plugin_runs_persona_conversations_as_items(pytester: pytest.Pytester) -> None:
    shutil.copytree(ROOT / "suites" / "forms", pytester.path / "forms")
    shutil.copy(SUITE, pytester.path / "personas.eval.yaml")

    result = pytester.runpytest_subprocess("-p", "no:randomly")

    result.assert_outcomes(passed=6, failed=2)
    result.stdout.fnmatch_lines(["*personas-fixture/declines-the-email failed*", "*submitted*"])
