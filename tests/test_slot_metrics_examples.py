"""The slot-filling figures docs/metrics.md quotes are those of the example suite today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.report.format import percent
from evalkit.results import read_run

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "metrics.md"


def _quoted() -> dict[str, list[str]]:
    """The rows of the doc's table of the example suite: form → cells."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| `(contact(?:-v2)?)` \|(.*)\|$", line)
        if found:
            rows[found[1]] = [cell.strip() for cell in found[2].split("|")]
    return rows


@pytest.mark.parametrize("form", ["contact", "contact-v2"])
def test_the_figures_quoted_in_the_docs_are_measured(form: str, tmp_path: Path) -> None:
    suite = str(ROOT / "suites" / "contact.eval.yaml")
    args = ["run", suite, "--form-id", f"contact={form}", "--out", str(tmp_path)]
    CliRunner().invoke(main, args, catch_exceptions=False)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    s = read_run(run_dir)[0].summary
    slots = s.slot_filling
    assert slots is not None
    measured = [
        f"{percent(s.pass_rate)} ({s.passed}/{s.passed + s.failed})",
        str(slots.turns),
        f"{percent(slots.joint_goal_accuracy)} ({slots.joint_correct}/{slots.turns})",
        f"{percent(slots.average_goal_accuracy)} ({slots.slots.correct}/"
        f"{slots.slots.correct + slots.slots.wrong + slots.slots.missing})",
        percent(slots.precision),
        percent(slots.recall),
        percent(slots.f1),
    ]
    assert _quoted()[form] == measured
