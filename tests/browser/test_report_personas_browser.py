"""A persona run's HTML report in a real browser: figures, persona view, question → answer pairs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalkit.report import render_html
from evalkit.results import read_run

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "run_fixture_personas"

OpenReport = Callable[..., Any]


@pytest.fixture
def persona_html(tmp_path: Path) -> Path:
    info, stored = read_run(FIXTURE)
    path = tmp_path / "report.html"
    path.write_text(render_html(info, list(stored)), encoding="utf-8")
    return path


def test_the_persona_figures_show_and_their_link_reaches_them(
    open_report: OpenReport, persona_html: Path
) -> None:
    opened = open_report(persona_html)
    page = opened.page
    assert opened.errors == []
    assert opened.requests == [persona_html.as_uri()]
    page.locator("nav a[href='#personas']").click()
    section = page.locator("#personas")
    assert section.is_visible()
    cards = section.locator(".cards").inner_text()
    assert "75.0%" in cards
    assert "completion rate" in cards
    figures = section.locator("table.kv").inner_text()
    assert "never asked" in figures
    assert "last_name (2)" in figures


def test_an_expanded_persona_conversation_shows_question_answer_pairs(
    open_report: OpenReport, persona_html: Path
) -> None:
    opened = open_report(persona_html)
    page = opened.page
    page.locator("table.conversations a.conv", has_text="corrects-the-email").first.click()
    box = page.locator("tr.detail .persona")
    assert box.is_visible()
    assert "Persona: corrects the email" in box.locator("h4").inner_text()
    rows = box.locator("table.qa tbody tr")
    assert rows.count() == 6  # four values, the correction, and the yes to the summing-up
    third = rows.nth(2).locator("td").all_inner_texts()
    assert third == [
        "3",
        "Could you tell me your email? (for email)",
        "li@exmaple.net (gives email)",
        'email = "li@exmaple.net"',
    ]
    assert "Sorry, my mistake. My email is li@example.net." in rows.nth(3).inner_text()
    assert "Shall I submit it?" in rows.nth(5).inner_text()
    assert box.locator("table.verdicts").count() == 1
    assert opened.errors == []


def test_script_and_server_render_the_same_persona_view(
    open_report: OpenReport, persona_html: Path
) -> None:
    page = open_report(persona_html).page
    anchor = "article#personas-fixture\\/declines-the-email\\/0"
    page.locator(f"{anchor} summary").click()
    link = page.locator("table.conversations a.conv[href='#personas-fixture/declines-the-email/0']")
    link.click()

    def text(selector: str) -> str:
        return re.sub(r"\s+", " ", page.locator(selector).inner_text()).strip()

    server = text(f"{anchor} .persona")
    script = text("tr.detail .persona")
    assert script == server
    assert "Simulator notes (the simulated user's own trouble, not the target's)" in script
    assert "I'd rather not say." in script
