"""The robustness table in the reports (goldens of a small run with copies)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.results import ConversationResult, RunInfo, read_run

DATA = Path(__file__).resolve().parent / "data"
RICH = DATA / "run_fixture_rich"
VARIANTS = DATA / "run_fixture_variants"
"""The rich fixture run with copies added: `name-and-email~typos-1` (failed: `first_name`
missing), `~typos-2` and `~casing-1` (passed), `~fillers-1` (errored: a timeout),
`date-relative~numbers-1` (failed: `time` missing), `submit~typos-1` (errored: HTTP 500),
`pick-a-service~casing-1` (passed; its original errored), and the summary of them all."""

Run = tuple[RunInfo, list[ConversationResult]]


def variants_run() -> Run:
    info, stored = read_run(VARIANTS)
    return info, list(stored)


@pytest.fixture
def run() -> Run:
    return variants_run()


def test_html_report_with_variants_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_variants.html", render_html(*run))


def test_markdown_report_with_variants_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_variants.md", render_markdown(*run))


def test_the_markdown_table_gives_rates_drop_interval_and_what_broke(run: Run) -> None:
    text = render_markdown(*run)
    section = text.split("## Robustness variants", 1)[1].split("\n## ", 1)[0]
    assert "| typos | 1 | 100.0% (1/1) | 2 | 50.0% (1/2) | +50.0 pts |" in section
    assert "| casing | 1 | 100.0% (1/1) | 1 | 100.0% (1/1) | +0.0 pts |" in section
    # date-relative passed once and failed once: its numbers copy failed, but broke nothing.
    assert "| numbers | 1 | 50.0% (1/2) | 1 | 0.0% (0/1) | +50.0 pts |" in section
    assert "- contact-form/name-and-email\\~typos-1: first\\_name" in section
    assert "date-relative\\~numbers-1:" not in section
    assert "| first\\_name | 100.0% (1/1) | 50.0% (1/2) | +50.0 pts |" in section


def test_the_stored_summary_is_the_one_its_results_give(run: Run) -> None:
    info, results = run
    assert info.summary == summarize(results)


def test_a_run_without_copies_shows_no_robustness_section() -> None:
    info, stored = read_run(RICH)
    results = list(stored)
    info = info.model_copy(update={"summary": summarize(results)})
    assert "Robustness" not in render_markdown(info, results)
    assert 'id="robustness"' not in render_html(info, results)


def test_the_html_section_links_each_broken_copy_to_its_conversation(run: Run) -> None:
    page = render_html(*run)
    assert '<section id="robustness">' in page
    assert '<a href="#contact-form/name-and-email~typos-1/0">' in page


def test_errored_copies_and_originals_are_counted_and_named(run: Run) -> None:
    text = render_markdown(*run)
    section = text.split("## Robustness variants", 1)[1].split("\n## ", 1)[0]
    # submit~typos-1 errored (a 500): in neither rate, counted and named.
    assert "| typos | 1 | 100.0% (1/1) | 2 | 50.0% (1/2) | +50.0 pts |" in section
    assert "| 1 | 0 / 1 |" in section
    assert (
        "Errored typos copies (the harness could not evaluate them):\n\n- booking/submit\\~typos-1"
        in section
    )
    # every fillers copy errored: the kind is listed, with no rate to compare.
    assert "| fillers | 0 | — (0/0) | 0 | — (0/0) | — | — | 0 | 0 / 1 |" in section
    # pick-a-service errored, so its casing copy pairs with nothing.
    assert "| casing | 1 | 100.0% (1/1) | 1 | 100.0% (1/1) | +0.0 pts |" in section
    assert "| 0 | 1 / 0 |" in section
    assert "Left out of the rates, their original having no decided run: 1 casing copy." in section
    page = render_html(*run)
    assert '<a href="#booking/submit~typos-1/0"><code>booking/submit~typos-1</code></a>' in page
