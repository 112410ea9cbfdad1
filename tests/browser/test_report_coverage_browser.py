"""The coverage section of the HTML report in a real browser: shown, its gaps listed, inert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalkit.emulator import load_form
from evalkit.metrics import summarize
from evalkit.report import render_html
from evalkit.results import read_run
from evalkit.runner.forms import form_info

ROOT = Path(__file__).resolve().parent.parent.parent
RICH = ROOT / "tests" / "data" / "run_fixture_rich"

OpenReport = Callable[..., Any]


def _page(tmp_path: Path, source: str = "suites/forms/contact.form.yaml") -> tuple[Path, Any]:
    info, stored = read_run(RICH)
    results = list(stored)
    contact = load_form(ROOT / "suites" / "forms" / "contact.form.yaml")
    info = info.model_copy(update={"forms": [form_info("contact", contact, source)]})
    info = info.model_copy(update={"summary": summarize(results, info)})
    path = tmp_path / "report.html"
    path.write_text(render_html(info, results), encoding="utf-8")
    return path, info.summary.coverage


def test_the_coverage_section_shows_every_item_not_observed(
    open_report: OpenReport, tmp_path: Path
) -> None:
    path, coverage = _page(tmp_path)
    opened = open_report(path)
    assert opened.errors == []
    opened.page.locator("nav a[href='#coverage']").click()
    section = opened.page.locator("#coverage")
    assert section.is_visible()
    assert "Coverage" in section.locator("h2").inner_text()
    (form,) = coverage.forms
    rows = section.locator("table.coverage tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == [k.replace("_", " ") for k in form.kinds]
    listed = section.locator("ul.uncovered li")
    assert listed.count() == len(form.uncovered) > 0
    # The kind is a badge (drawn in capitals); the item's name is as the form spells it.
    shown = [listed.nth(n).locator("code").inner_text() for n in range(listed.count())]
    assert shown == [i.name for i in form.uncovered]
    kinds = [listed.nth(n).locator(".badge").inner_text().lower() for n in range(listed.count())]
    assert kinds == [i.kind.replace("_", " ") for i in form.uncovered]
    assert "interests=running" in shown
    for number in range(listed.count()):
        assert listed.nth(number).is_visible()
    assert "suites/forms/contact.form.yaml" in section.inner_text()


def test_a_hostile_form_source_stays_text(open_report: OpenReport, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    path, _ = _page(tmp_path, source=hostile)
    opened = open_report(path)
    assert opened.errors == []
    assert opened.dialogs == []
    assert hostile in opened.page.locator("#coverage table.coverage caption").inner_text()
    assert opened.page.locator("#coverage img").count() == 0
