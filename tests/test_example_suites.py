"""The shipped example suites, as `make demo` runs them: every conversation passes, no warnings.

Issue 14 saw the demo carry five "unexpected email" warnings: the `age-words-*` conversations
introduce the user with an email address the turn did not expect, though the emulator rightly
extracts it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.results import read_run

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_runs_the_example_suites_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # as `make demo` runs: from the project, with its configuration
    outcome = CliRunner().invoke(
        main,
        ["run", "suites/", "--target", "emulator", "--out", str(tmp_path)],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    (run_dir,) = [p for p in tmp_path.iterdir() if (p / "run.json").is_file()]
    info, results = read_run(run_dir)
    warnings = [f"{r.suite}/{r.conversation_id}: {w}" for r in results for w in r.warnings]
    assert warnings == []
    assert info.summary.passed == info.summary.total > 0
