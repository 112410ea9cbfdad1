"""The Python API: exactly these names, typed and documented, and they work end to end."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import evalkit

ROOT = Path(__file__).resolve().parent.parent


def test_the_public_names_are_pinned() -> None:
    assert sorted(evalkit.__all__) == [
        "Comparison",
        "LoadedSuite",
        "MatchResult",
        "RunOutcome",
        "Target",
        "__version__",
        "compare",
        "custom_check",
        "load_suites",
        "render_report",
        "run",
        "run_async",
    ]
    assert all(hasattr(evalkit, name) for name in evalkit.__all__)


def test_every_public_function_is_documented_and_annotated() -> None:
    for name in evalkit.__all__:
        item = getattr(evalkit, name)
        if inspect.isfunction(item):
            assert inspect.getdoc(item), name
            assert "return" in item.__annotations__, name


def test_load_run_and_render_against_the_emulator(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "suites", tmp_path / "suites")
    suites = evalkit.load_suites(tmp_path / "suites" / "contact.eval.yaml")

    outcome = evalkit.run(suites, out_root=tmp_path / "runs")

    assert outcome.info.summary.passed == len(suites[0].suite.conversations)
    html = evalkit.render_report(outcome.run_dir)
    markdown = evalkit.render_report(outcome, format="markdown")
    assert "<html" in html
    assert "contact-form" in markdown
    again = evalkit.run(suites, out_root=tmp_path / "runs")
    comparison = evalkit.compare(outcome.run_dir, again)
    assert comparison.verdict == "no conversation changed outcome"
    assert comparison.base.decided == len(suites[0].suite.conversations)
