"""The robustness section of the HTML report in a real browser: shown, inert, linked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalkit.report import render_html
from evalkit.results import read_run

OpenReport = Callable[..., Any]
VARIANTS = Path(__file__).resolve().parent.parent / "data" / "run_fixture_variants"


def _page(tmp_path: Path) -> Path:
    """The report of the small run with copies the goldens are made from."""
    info, stored = read_run(VARIANTS)
    path = tmp_path / "report.html"
    path.write_text(render_html(info, list(stored)), encoding="utf-8")
    return path


def test_the_robustness_table_shows_without_console_errors(
    open_report: OpenReport, tmp_path: Path
) -> None:
    opened = open_report(_page(tmp_path))
    page = opened.page
    assert opened.errors == []
    assert opened.dialogs == []
    section = page.locator("#robustness")
    assert section.is_visible()
    table = section.locator("table.robustness")
    assert table.is_visible()
    kinds = table.locator("tbody tr td:first-child").all_inner_texts()
    assert kinds == ["typos", "casing", "fillers", "numbers"]  # fillers: its one copy errored
    first = table.locator("tbody tr").first.locator("td").all_inner_texts()
    assert first[5] == "+50.0 pts"
    assert section.locator("table.robustness-fields").count() == 3


def test_a_broken_copy_links_to_its_failure(open_report: OpenReport, tmp_path: Path) -> None:
    opened = open_report(_page(tmp_path))
    page = opened.page
    link = page.locator("#robustness ul.robustness-broken a")
    assert link.all_inner_texts() == ["contact-form/name-and-email~typos-1"]
    link.click()
    assert page.evaluate("location.hash") == "#contact-form/name-and-email~typos-1/0"
    opened_details = page.evaluate(
        "document.getElementById('contact-form/name-and-email~typos-1/0')"
        ".querySelector('details').open"
    )
    assert opened_details is True
    assert opened.errors == []
