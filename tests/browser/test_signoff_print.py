"""The sign-off page printed: nothing of what was tested is clipped at the page's edge."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from evalkit.report import TrendPoint, parse_criterion, render_html, render_signoff
from evalkit.results import read_run

RICH = Path(__file__).resolve().parent.parent / "data" / "run_fixture_rich"
A4_CONTENT_PX = 688
"""The width printed on A4 inside the page's margins (210 mm - 2 x 14 mm, at 96 px an inch)."""


def test_a_printed_sign_off_shows_every_suite_hash_whole(browser: Browser, tmp_path: Path) -> None:
    info, results = read_run(RICH)
    page_file = tmp_path / "sign-off.html"
    page_file.write_text(render_signoff(info, results, [parse_criterion("failed==0")]))
    context = browser.new_context(viewport={"width": A4_CONTENT_PX, "height": 1000})
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        page.emulate_media(media="print")
        hashes = page.locator("#tested td", has_text=info.suites[0].sha256[:16])
        assert hashes.count() == len(info.suites[0:1])
        box = hashes.first.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= A4_CONTENT_PX  # inside the printed width
        widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
        assert max(widths) <= A4_CONTENT_PX, widths  # nothing overflows the page sideways
    finally:
        context.close()


def test_the_trend_chart_shows_its_y_axis_labels_whole(browser: Browser, tmp_path: Path) -> None:
    info, results = read_run(RICH)
    history = [TrendPoint("r1", "2026-03-01T02:00:00Z", 0.9), TrendPoint("r2", "x", 0.8)]
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(info, results, history=history))
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('svg[aria-label="Pass-rate trend"] text')]
                .filter(t => t.getBBox().x < t.ownerSVGElement.viewBox.baseVal.x)
                .map(t => t.textContent)"""
        )
        assert page.locator('svg[aria-label="Pass-rate trend"] text').count() == 2
        assert clipped == []  # it showed ".00%" for 100%
    finally:
        context.close()
