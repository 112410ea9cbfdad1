"""The HTML report in a real browser: opened from a file, filtered, expanded, linked, attacked."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from evalkit.report import render_html
from evalkit.results import (
    ConversationResult,
    FieldResult,
    RunInfo,
    Summary,
    TargetInfo,
    TimedChunk,
    TurnTranscript,
    read_run,
)

RICH = Path(__file__).resolve().parent.parent / "data" / "run_fixture_rich"

OpenReport = Callable[..., Any]


@pytest.fixture(scope="module")
def rich_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(*read_run(RICH)), encoding="utf-8")
    return path


def row_ids(page: Page) -> list[str]:
    return page.locator("table.conversations tbody a.conv").all_text_contents()


def test_report_opens_from_a_file_without_console_errors_or_requests(
    open_report: OpenReport, rich_html: Path
) -> None:
    opened = open_report(rich_html)

    assert opened.errors == []
    assert opened.requests == [rich_html.as_uri()]  # nothing fetched: one self-contained file
    assert len(row_ids(opened.page)) == 6
    assert "Showing 1–6 of 6 matching" in opened.page.locator(".pager .count").inner_text()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param(
            lambda p: p.uncheck("input[name=status-pass]"),
            ["date-relative", "pick-a-service", "phone-format"],
            id="status",
        ),
        pytest.param(
            lambda p: p.select_option("select[name=suite]", label="contact-form"),
            ["name-and-email", "phone-format"],
            id="suite",
        ),
        pytest.param(
            lambda p: p.select_option("select[name=tag]", label="phone"),
            ["phone-format"],
            id="tag",
        ),
        pytest.param(
            lambda p: p.select_option("select[name=field]", value="f:time"),
            ["date-relative"],
            id="failing-field",
        ),
        pytest.param(
            lambda p: p.select_option("select[name=field]", value="c:date"),
            ["date-relative", "date-relative"],
            id="checked-field",
        ),
        pytest.param(lambda p: p.check("input[name=flaky]"), ["date-relative"] * 2, id="flaky"),
        pytest.param(lambda p: p.fill("input[name=text]", "415 555"), ["phone-format"], id="text"),
        pytest.param(
            lambda p: p.fill("input[name=text]", "HAIRCUT"),
            ["date-relative", "date-relative", "pick-a-service"],
            id="text-in-transcript-case-insensitive",
        ),
        pytest.param(lambda p: p.fill("input[name=text]", "zzz-nothing"), [], id="no-match"),
    ],
)
def test_filters_change_the_visible_rows(
    open_report: OpenReport, rich_html: Path, action: Callable[[Page], None], expected: list[str]
) -> None:
    opened = open_report(rich_html)

    action(opened.page)

    opened.page.wait_for_function(
        "n => document.querySelectorAll('table.conversations tbody a.conv').length === n",
        arg=len(expected),
    )
    assert sorted(row_ids(opened.page)) == sorted(expected)
    assert opened.errors == []


def test_a_conversation_expands_to_its_transcript_and_gets_a_stable_link(
    open_report: OpenReport, rich_html: Path
) -> None:
    opened = open_report(rich_html)
    page = opened.page

    page.get_by_role("link", name="name-and-email").click()

    detail = page.locator("tr.detail")
    assert detail.count() == 1
    assert detail.locator(".turn").count() == 2
    assert detail.locator(".msg.user mark").all_text_contents() == ["Jane", "jane@example.com"]
    assert detail.locator(".chunk.data .chip").first.inner_text() == 'first_name= "Jane"'
    assert "equal after normalisation" in detail.locator("table.verdicts").inner_text()
    assert page.evaluate("location.hash") == "#contact-form/name-and-email/0"
    page.get_by_role("link", name="name-and-email").click()
    assert page.locator("tr.detail").count() == 0


def test_a_link_opens_the_conversation_even_past_the_filters(
    open_report: OpenReport, rich_html: Path
) -> None:
    opened = open_report(rich_html)
    page = opened.page
    page.uncheck("input[name=status-pass]")

    page.evaluate("location.hash = 'booking/submit/0'")

    page.wait_for_selector("tr.detail .chunk.submission")
    assert page.is_checked("input[name=status-pass]")  # filters cleared to show it
    assert page.locator("tr.open a.conv").inner_text() == "submit"


def test_a_link_to_a_failure_opens_its_server_rendered_transcript(
    open_report: OpenReport, rich_html: Path
) -> None:
    opened = open_report(rich_html, "contact-form/phone-format/0")

    article = opened.page.locator("article#contact-form\\/phone-format\\/0")
    assert article.locator("details").get_attribute("open") is not None
    assert article.locator(".retry").inner_text() == "attempt 1: HTTP 429; retry after 1.00 s"


def test_script_and_server_render_the_same_transcript(
    open_report: OpenReport, rich_html: Path
) -> None:
    page = open_report(rich_html).page
    page.locator("table.conversations a.conv", has_text="phone-format").click()
    page.locator("article#contact-form\\/phone-format\\/0 summary").click()

    def text(selector: str) -> str:
        return re.sub(r"\s+", " ", page.locator(selector).inner_text()).strip()

    server = text("article#contact-form\\/phone-format\\/0 ol.turns")
    script = text("tr.detail ol.turns")
    assert script == server
    assert "attempt 1: HTTP 429; retry after 1.00 s" in script


def test_pages_of_fifty_rows(open_report: OpenReport, tmp_path: Path) -> None:
    results = [
        ConversationResult(suite="s", conversation_id=f"c{k:03d}", status="pass")
        for k in range(120)
    ]
    info = RunInfo(
        run_id="many",
        evalkit_version="0.1.0",
        started_at="2026-03-02T02:00:00Z",
        target=TargetInfo(name="emulator", base_url="http://127.0.0.1:1", framing="sse"),
        summary=Summary(total=120, passed=120, pass_rate=1.0, error_rate=0.0),
    )
    path = tmp_path / "report.html"
    path.write_text(render_html(info, results), encoding="utf-8")
    page = open_report(path).page

    assert len(row_ids(page)) == 50
    page.click("button.next")
    page.click("button.next")

    assert row_ids(page) == [f"c{k:03d}" for k in range(100, 120)]
    assert page.locator(".pager .page").inner_text() == "page 3 of 3"
    assert page.is_disabled("button.next")


def test_without_scripts_the_summary_and_failures_still_read(
    open_report: OpenReport, rich_html: Path
) -> None:
    page = open_report(rich_html, wait=False, java_script_enabled=False).page

    assert "2 of 6 conversations failed" in page.locator(".verdict").inner_text()
    assert page.locator("article.conversation").count() == 3
    assert page.locator("svg.chart").count() == 3
    assert page.locator("#explorer-fallback").is_visible()


# ----------------------------------------------------------------------------- hostile text

XSS = [
    pytest.param("<script>window.__pwned = 1</script>", id="script-tag"),
    pytest.param("</script><script>window.__pwned = 1</script>", id="script-close"),
    pytest.param('"><img src=x onerror="window.__pwned = 1">', id="onerror-attribute"),
    pytest.param('<a href="javascript:window.__pwned = 1">go</a>', id="javascript-link"),
    pytest.param("[go](javascript:window.__pwned=1)", id="markdown-javascript-link"),
    pytest.param("![x](http://127.0.0.1:9/x.png)", id="markdown-image"),
    pytest.param('<svg onload="window.__pwned = 1"></svg>', id="svg-onload"),
]


def hostile_run(payload: str) -> tuple[RunInfo, list[ConversationResult]]:
    chunks: list[dict[str, Any]] = [
        {"chunkType": "TEXT", "textDetails": {"text": payload}},
        {
            "chunkType": "TEXT_DATA",
            "textDataDetails": {"fieldTarget": "f", "value": payload, "displayValue": payload},
            "meaningfulInput": {"startOffset": 0, "length": 5},
        },
        {"chunkType": "ERROR", "errorDetails": {"messageText": payload}},
        {
            "chunkType": "SINGLE_SELECT_INPUT",
            "singleSelectInputDetails": {"fieldTarget": "s", "options": [{"label": payload}]},
        },
        {"chunkType": payload},
    ]
    turn = TurnTranscript(
        endpoint="send-user-message-streamed",
        user=payload,
        chunks=[TimedChunk(t=0.1, chunk=c) for c in chunks],
    )
    verdict = FieldResult(
        field="f",
        turn=1,
        matcher="text",
        expected="x",
        actual=payload,
        outcome="wrong",
        passed=False,
        score=0.0,
        reason=payload,
    )
    results = [
        ConversationResult(
            suite="hostile",
            conversation_id=f"c{status}",
            status=status,  # type: ignore[arg-type]
            tags=[payload],
            source=payload,
            transcript=[turn],
            fields=[verdict],
            warnings=[payload],
        )
        for status in ("fail", "pass")
    ]
    info = RunInfo(
        run_id="hostile",
        evalkit_version="0.1.0",
        started_at="2026-03-02T02:00:00Z",
        target=TargetInfo(name="custom", base_url=payload, framing="sse"),
        summary=Summary(total=2, passed=1, failed=1, pass_rate=0.5, error_rate=0.0),
    )
    return info, results


def check_inert(open_report: OpenReport, tmp_path: Path, payload: str, bypass_csp: bool) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(*hostile_run(payload)), encoding="utf-8")
    opened = open_report(path, bypass_csp=bypass_csp)
    page = opened.page

    page.locator("a.conv", has_text="cpass").click()  # the script-drawn transcript
    page.fill("input[name=text]", payload.lower()[:12])  # search runs over the payload too
    page.locator("details").first.evaluate("d => d.open = true")  # the server-drawn one

    assert page.evaluate("window.__pwned") is None
    assert opened.dialogs == []
    assert opened.errors == []
    assert opened.requests == [path.as_uri()]
    assert page.locator("script").count() == 3
    assert page.locator("img, iframe, object, embed, main svg:not(.chart)").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert all(href.startswith("#") for href in hrefs), hrefs
    for selector in ("tr.detail .msg.user", "article .msg.user"):
        assert page.locator(selector).inner_text() == payload
    assert page.locator("tr.detail .msg.text").inner_text() == payload
    assert page.locator("tr.detail .chunk.error .ctext").inner_text() == payload


@pytest.mark.parametrize("payload", XSS)
def test_hostile_target_text_shows_as_text_by_escaping_alone(
    open_report: OpenReport, tmp_path: Path, payload: str
) -> None:
    check_inert(open_report, tmp_path, payload, bypass_csp=True)  # CSP off: escaping must hold


def test_every_hostile_text_at_once_executes_nothing_under_the_page_csp(
    open_report: OpenReport, tmp_path: Path
) -> None:
    everything = " ".join(str(param.values[0]) for param in XSS)

    check_inert(open_report, tmp_path, everything, bypass_csp=False)


def test_a_printed_report_shows_the_closed_transcripts_of_its_failures(
    open_report: OpenReport, rich_html: Path
) -> None:
    opened = open_report(rich_html)
    transcript = opened.page.locator("article.conversation details ol.turns").first
    assert not transcript.is_visible()
    opened.page.emulate_media(media="print")
    assert transcript.is_visible()
    assert opened.page.locator("article.conversation details").first.get_attribute("open") is None
