"""Persona conversations in the reports: the persona, question → answer → extracted, figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from evalkit.report import render_html, render_markdown
from evalkit.report.payload import details_entry
from evalkit.report.views import conversation_view
from evalkit.results import ConversationResult, RunInfo, read_run

FIXTURE = Path(__file__).resolve().parent / "data" / "run_fixture_personas"

Run = tuple[RunInfo, list[ConversationResult]]


@pytest.fixture
def run() -> Run:
    info, stored = read_run(FIXTURE)
    return info, list(stored)


def _one(run: Run, cid: str, repeat: int = 0) -> ConversationResult:
    return next(r for r in run[1] if (r.conversation_id, r.repeat) == (cid, repeat))


def test_html_report_of_a_persona_run_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_personas.html", render_html(*run))


def test_markdown_report_of_a_persona_run_matches_golden(
    run: Run, golden: Callable[[str, str], None]
) -> None:
    golden("report_personas.md", render_markdown(*run))


def test_the_markdown_puts_each_answer_next_to_the_question_it_answered(run: Run) -> None:
    text = render_markdown(*run)
    assert "**Persona:** declines the email (simulated user, seed 235165869203033)" in text
    assert "- **Asked, in order:** first\\_name → contact\\_method → newsletter → email" in text
    assert (
        "| 1 | What's your first name? (for first\\_name) | It's Ana (gives first\\_name) "
        '| first\\_name = "Ana" |'
    ) in text
    assert "| 4 | Could you tell me your email? (for email) | I'd rather not say. | — |" in text
    assert "- **Traits:** style terse · selects label · numbers digits · dates iso" in text
    # The simulator's trouble is labelled as its own, never as the target's.
    assert (
        "- **Simulator note** (the simulated user's own trouble, not the target's): turn 5: "
        "nothing extracted for 2 turns in a row; stopped"
    ) in text
    # Every verdict of the persona, the passing ones too, and the failing check.
    assert "| final | email | correct | absent | true | null | not extracted, as expected |" in text
    assert "| conversation | submitted | no SUBMISSION arrived; expected one |" in text


def test_the_markdown_lists_the_run_level_figures(run: Run) -> None:
    text = render_markdown(*run)
    section = text.split("## Persona conversations", 1)[1].split("\n## ", 1)[0]
    assert "| completion rate | 75.0% (6 of 8 submitted, 95% CI 40.9%–92.9%) |" in section
    assert (
        "| turns to complete | median 5 (min 4, p90 6, max 6); beyond the fewest possible: "
        "median 0, max 0; 6 at the fewest |"
    ) in section
    assert "| re-asks | 0 per conversation; 0.0% of conversations had any (0 in all) |" in section
    assert "| pass^2 | 75.0% (all 2 repeats pass" in section
    assert "| never asked | contact\\_method (1), last\\_name (2), newsletter (1) |" in section


def test_a_scripted_run_shows_no_persona_section() -> None:
    info, stored = read_run(FIXTURE.parent / "run_fixture_rich")
    results = list(stored)
    assert "Persona" not in render_markdown(info, results)
    page = render_html(info, results)
    assert 'id="personas"' not in page
    assert 'class="persona"' not in page


def test_the_html_renders_the_persona_of_a_failure_and_the_figures(run: Run) -> None:
    page = render_html(*run)
    assert '<a href="#personas">Personas</a>' in page
    assert '<section id="personas">' in page
    article = page.split(
        '<article class="conversation fail" id="personas-fixture/declines-the-email/0">'
    )[1]
    article = article.split("</article>", 1)[0]
    assert "<h4>Persona: declines the email" in article
    assert "<th>The assistant asked</th><th>The persona answered</th>" in article
    notes = 'Simulator notes</b> <span class="muted">(the simulated user\'s own trouble'
    assert notes in article


def test_the_script_gets_the_same_persona_view(run: Run) -> None:
    view = conversation_view(_one(run, "corrects-the-email"), flaky=False)
    entry = details_entry(view)
    persona = entry["p"]
    assert persona["n"] == "corrects the email"
    assert persona["o"] == ["newsletter", "contact_method", "email", "first_name"]
    assert persona["q"][2] == [
        3,
        "Could you tell me your email?",
        "email",
        "li@exmaple.net",
        ["email"],
        [["email", '"li@exmaple.net"']],
    ]
    assert persona["q"][3][3] == "Sorry, my mistake. My email is li@example.net."
    assert persona["q"][3][5] == [["email", '"li@example.net"']]
    assert 'corrects email as "li@exmaple.net"' in persona["tr"]
    scripted = read_run(FIXTURE.parent / "run_fixture_rich")[1]
    assert "p" not in details_entry(conversation_view(next(iter(scripted)), flaky=False))


def test_hostile_persona_text_stays_text_in_both_reports(run: Run) -> None:
    hostile = '<img src=x onerror="alert(1)"> | ![i](http://e/x.png)'
    info, results = run
    first = results[0]
    assert first.simulation is not None
    transcript = [first.transcript[0], first.transcript[1].model_copy(update={"user": hostile})]
    simulation = first.simulation.model_copy(
        update={"persona": hostile, "notes": [hostile], "values": {"first_name": hostile}}
    )
    changed = first.model_copy(
        update={"transcript": transcript, "simulation": simulation, "status": "fail"}
    )
    page = render_html(info, [changed, *results[1:]])
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=" in page
    text = render_markdown(info, [changed, *results[1:]])
    assert "<img" not in text
    assert "![i](http://e/x.png)" not in text
