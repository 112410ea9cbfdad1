"""The coverage a run observed, in its reports (goldens of a run that records its forms)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.emulator import load_form
from evalkit.metrics import summarize
from evalkit.report import render_html, render_markdown
from evalkit.results import ConversationResult, RunInfo, read_run
from evalkit.runner.forms import form_info

ROOT = Path(__file__).resolve().parent.parent
RICH = ROOT / "tests" / "data" / "run_fixture_rich"

Run = tuple[RunInfo, list[ConversationResult]]


def with_forms(run_dir: Path = RICH) -> Run:
    """A stored run as a run now records it: its forms in `run.json`, coverage in its summary."""
    info, stored = read_run(run_dir)
    results = list(stored)
    forms = [
        form_info(key, load_form(ROOT / "suites" / "forms" / f"{key}.form.yaml"), source)
        for key, source in (
            ("booking", "suites/forms/booking.form.yaml"),
            ("contact", "suites/forms/contact.form.yaml"),
        )
    ]
    info = info.model_copy(update={"forms": forms})
    return info.model_copy(update={"summary": summarize(results, info)}), results


@pytest.fixture
def run() -> Run:
    return with_forms()


def test_the_observed_coverage_is_what_the_fixture_transcripts_show(run: Run) -> None:
    coverage = run[0].summary.coverage
    assert coverage is not None
    contact = next(f for f in coverage.forms if f.form == "contact")
    covered = {i.label for i in contact.items if i.covered and i.kind != "chunk_type"}
    extracted = {
        (c.chunk["textDataDetails"]["fieldTarget"], str(c.chunk["textDataDetails"]["value"]))
        for r in run[1]
        if r.suite == "contact-form"
        for t in r.transcript
        for c in t.chunks
        if c.chunk.get("chunkType") == "TEXT_DATA"
    }
    form = load_form(ROOT / "suites" / "forms" / "contact.form.yaml")
    options = {f"{f.target}={o.value}" for f in form.fields for o in f.options}
    expected = {f"field {t}" for t, _ in extracted if form.field(t) is not None}
    expected |= {f"option {t}={v}" for t, v in extracted if f"{t}={v}" in options}
    assert covered == expected
    assert contact.count("validation").total == 0  # a run observes no validation path


def test_html_report_with_coverage_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_coverage.html", render_html(*run))


def test_markdown_report_with_coverage_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_coverage.md", render_markdown(*run))


def test_both_reports_list_every_item_not_observed_with_its_form_file(run: Run) -> None:
    coverage = run[0].summary.coverage
    assert coverage is not None
    html, markdown = render_html(*run), render_markdown(*run)
    assert '<section id="coverage">' in html
    assert "## Coverage" in markdown
    for form in coverage.forms:
        assert f"Not observed, from <code>{form.source}</code>" in html
        for item in form.uncovered:
            assert f"<code>{item.name}</code>" in html
            shown = item.name.replace("_", "\\_")
            assert f"- {item.kind.replace('_', ' ')} {shown}\n" in markdown


def test_a_run_that_records_no_form_has_no_coverage_section() -> None:
    info, stored = read_run(RICH)
    assert info.summary.coverage is None
    assert 'id="coverage"' not in render_html(info, list(stored))
    assert "## Coverage" not in render_markdown(info, list(stored))
