"""The slot-filling section of the HTML report in a real browser: shown, linked, inert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalkit.metrics import summarize
from evalkit.report import render_html
from evalkit.results import read_run

RICH = Path(__file__).resolve().parent.parent / "data" / "run_fixture_rich"

OpenReport = Callable[..., Any]


def _page(tmp_path: Path, confusion: dict[str, dict[str, dict[str, int]]]) -> Path:
    info, stored = read_run(RICH)
    results = list(stored)
    slots = summarize(results).slot_filling
    assert slots is not None
    slots = slots.model_copy(update={"confusion": confusion})
    info = info.model_copy(
        update={"summary": info.summary.model_copy(update={"slot_filling": slots})}
    )
    path = tmp_path / "report.html"
    path.write_text(render_html(info, results), encoding="utf-8")
    return path


def test_the_slot_section_shows_and_its_link_reaches_it(
    open_report: OpenReport, tmp_path: Path
) -> None:
    confusion = {"contact_method": {"email": {"email": 3, "phone_call": 1}}}
    opened = open_report(_page(tmp_path, confusion))
    page = opened.page
    assert opened.errors == []
    cards = page.locator("#summary .cards").inner_text()
    assert "joint goal accuracy" in cards
    assert "50.0%" in cards
    page.locator("nav a[href='#slots']").click()
    section = page.locator("#slots")
    assert section.is_visible()
    assert "Slot filling" in section.locator("h2").inner_text()
    cells = section.locator("table.confusion tbody tr").first.locator("td").all_inner_texts()
    assert cells == ["3", "1"]


def test_hostile_names_in_the_slot_section_stay_text(
    open_report: OpenReport, tmp_path: Path
) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    opened = open_report(_page(tmp_path, {hostile: {"<script>alert(2)</script>": {hostile: 1}}}))
    assert opened.errors == []
    assert opened.dialogs == []
    caption = opened.page.locator("#slots table.confusion caption").inner_text()
    assert hostile in caption
    assert opened.page.locator("#slots img").count() == 0
