"""Slot-filling metrics in the reports and comparisons (goldens of a run that has them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.compare import compare_runs
from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.report.comparison import comparison_view
from evalkit.results import ConversationResult, RunInfo, read_run

RICH = Path(__file__).resolve().parent / "data" / "run_fixture_rich"
CONFUSION = {
    "contact_method": {
        "email": {"email": 3, "phone_call": 1},
        "nothing": {"text_message": 1},
        "text_message": {"nothing": 1, "text_message": 2},
    }
}

Run = tuple[RunInfo, list[ConversationResult]]


def _with_slots(hostile: bool = False) -> Run:
    info, stored = read_run(RICH)
    results = list(stored)
    slots = summarize(results).slot_filling
    assert slots is not None
    confusion = CONFUSION
    if hostile:
        confusion = {"<script>alert(1)</script>|x": {"![i](http://e/x.png)": {"<b>": 1}}}
    slots = slots.model_copy(update={"confusion": confusion})
    summary = info.summary.model_copy(update={"slot_filling": slots})
    return info.model_copy(
        update={"summary": summary, "rescored_from": "20261125-101500-aaaaaa"}
    ), results


@pytest.fixture
def run() -> Run:
    return _with_slots()


def test_html_report_with_slot_metrics_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_slots.html", render_html(*run))


def test_markdown_report_with_slot_metrics_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_slots.md", render_markdown(*run))


def test_the_markdown_shows_the_figures_next_to_the_pass_rate(run: Run) -> None:
    text = render_markdown(*run)
    head = text.split("## ", 1)[0]
    assert "**Slot filling:** joint goal accuracy 50.0% (2 of 4 turns)" in head
    assert "average goal accuracy 71.4%, slot precision 83.3%, recall 71.4%, F1 76.9%" in head
    assert "## Slot filling" in text
    assert "| Expected | email | phone\\_call | text\\_message | nothing |" in text
    assert "| Rescored from | 20261125-101500-aaaaaa" in text
    # Every row of the confusion table has as many cells as its header.
    table = text.split("**contact\\_method**", 1)[1].split("\n\n")[1].splitlines()
    assert len({len(re.sub(r"\\.", "", line).split("|")) for line in table}) == 1


def test_the_html_shows_cards_table_and_confusion(run: Run) -> None:
    page = render_html(*run)
    assert '<a href="#slots">Slot filling</a>' in page
    assert "joint goal accuracy" in page
    assert '<section id="slots">' in page
    assert "<caption><code>contact_method</code>: expected option" in page


def test_a_run_without_slot_metrics_shows_none() -> None:
    info, results = read_run(RICH)
    assert info.summary.slot_filling is None
    assert "Slot filling" not in render_markdown(info, list(results))
    assert 'id="slots"' not in render_html(info, list(results))


def test_hostile_field_and_option_names_stay_text() -> None:
    info, results = _with_slots(hostile=True)
    page = render_html(info, results)
    assert "<script>alert(1)</script>|x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page
    text = render_markdown(info, results)
    assert "![i](http://e/x.png)" not in text
    assert "<b>" not in text


def test_comparisons_put_the_figures_side_by_side(run: Run) -> None:
    info, results = run
    plain, _ = read_run(RICH)  # its run.json predates the figures: they come from the results
    comparison = compare_runs(plain, results, info, results)
    assert comparison.base.slot_filling == comparison.candidate.slot_filling
    assert comparison.candidate.slot_filling is not None
    assert comparison.candidate.slot_filling["joint_goal_accuracy"] == 0.5
    view = comparison_view(comparison)
    assert view.slots[0] == ("Joint goal accuracy", "50.0%", "50.0%", "0.0")
    assert view.slots[4] == ("Slot F1", "76.9%", "76.9%", "0.0")
    # Over the paired conversations only: a conversation missing from the baseline is not in.
    fewer = compare_runs(plain, results[1:], info, results)
    assert fewer.candidate.slot_filling == fewer.base.slot_filling
    text = render_markdown(info, results, comparison=view)
    assert "Slot filling (the same paired conversations): Joint goal accuracy 50.0% → 50.0%" in text
    page = render_html(info, results, comparison=view)
    assert "<tr><th>Slot F1</th><td>76.9% → 76.9%" in page


def test_a_comparison_without_judged_turns_shows_no_figures(run: Run) -> None:
    info, results = run
    errors = [r.model_copy(update={"status": "error"}) for r in results]
    comparison = compare_runs(info, errors, info, errors)
    assert comparison.base.slot_filling is None
    assert comparison_view(comparison).slots == []
