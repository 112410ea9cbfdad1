"""Comparison views in a real browser: the compare report's and the matrix's links, hostile text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalkit.compare import compare_matrix, compare_runs
from evalkit.compare_diffs import CATEGORIES
from evalkit.report import comparison_view, render_html, write_matrix_reports, write_reports
from evalkit.results import ConversationResult, RunInfo, read_run
from tests.browser.test_report_browser import XSS, hostile_run

DATA = Path(__file__).resolve().parent.parent / "data"
BASE = DATA / "run_fixture_base"
CAND = DATA / "run_fixture"

OpenReport = Callable[..., Any]


@pytest.fixture(scope="module")
def compare_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (base_info, base), (info, results) = read_run(BASE), read_run(CAND)
    view = comparison_view(compare_runs(base_info, base, info, results))
    path = tmp_path_factory.mktemp("compare") / "compare.html"
    path.write_text(render_html(info, results, comparison=view), encoding="utf-8")
    return path


def test_comparison_report_opens_without_console_errors(
    open_report: OpenReport, compare_html: Path
) -> None:
    opened = open_report(compare_html)

    assert opened.errors == []
    assert opened.requests == [compare_html.as_uri()]
    verdicts = opened.page.locator("header .verdict").all_inner_texts()
    assert verdicts[0].endswith("1 regression, 1 fix, p = 1: within noise")


def test_a_regression_link_jumps_to_the_failed_conversation(
    open_report: OpenReport, compare_html: Path
) -> None:
    page = open_report(compare_html).page

    page.locator("#regressions-list + table a", has_text="phone-and-newsletter").click()

    assert page.evaluate("location.hash") == "#contact-form/phone-and-newsletter/0"
    article = page.locator("article#contact-form\\/phone-and-newsletter\\/0")
    assert article.locator("details").get_attribute("open") is not None
    assert article.is_visible()
    top = article.evaluate("a => a.getBoundingClientRect().top")
    assert -2 < top < 100  # scrolled to it


def test_a_fix_link_opens_the_passing_conversation_in_the_table(
    open_report: OpenReport, compare_html: Path
) -> None:
    page = open_report(compare_html).page
    page.uncheck("input[name=status-pass]")

    page.locator("#fixes + table a").click()

    page.wait_for_selector("tr.open a.conv")
    assert page.locator("tr.open a.conv").inner_text() == "date-relative"
    assert page.locator("tr.detail .turn").count() > 0


def test_the_counts_per_category_are_seen_first_and_lead_to_the_list(
    open_report: OpenReport, compare_html: Path
) -> None:
    page = open_report(compare_html).page
    counts = page.locator("#typed-differences")

    shown = {
        name: counts.locator(f'td[data-category="{name}"]').inner_text() for name in CATEGORIES
    }
    assert shown == {
        "newly missing": "1",
        "newly extracted": "2",
        "value changed": "2",
        "expectation changed": "0",
        "question changed": "0",
    }
    assert counts.is_visible()

    def top(selector: str) -> float:
        return float(page.locator(selector).evaluate("e => e.getBoundingClientRect().top"))

    assert top("#typed-differences") < top("#regressions-list") < top("#value-diffs")
    counts.locator("a").click()
    assert page.evaluate("location.hash") == "#value-diffs"
    rows = page.locator(".diff tr[data-category]")
    assert rows.first.is_visible()
    categories = rows.evaluate_all("rows => rows.map(r => r.dataset.category)")
    assert sorted(categories) == sorted(
        ["newly extracted"] * 2 + ["value changed"] * 2 + ["newly missing"]
    )


def test_a_matrix_status_opens_that_conversation_in_its_configurations_report(
    open_report: OpenReport, tmp_path: Path
) -> None:
    runs: list[tuple[str, RunInfo, list[ConversationResult]]] = []
    for label, source in (("v1", BASE), ("v2", CAND)):
        info, results = read_run(source)
        (tmp_path / label).mkdir()
        write_reports(tmp_path / label, info, results)
        runs.append((label, info, results))
    paths = write_matrix_reports(tmp_path, compare_matrix(runs), runs)
    opened = open_report(paths["html"], wait=False)
    page = opened.page

    page.locator("#disagreements tr.disagree", has_text="phone-and-newsletter").locator("a").nth(
        1
    ).click()

    page.wait_for_selector("html[data-ready]")
    assert page.url.endswith("/v2/report.html#contact-form/phone-and-newsletter/0")
    article = page.locator("article#contact-form\\/phone-and-newsletter\\/0")
    assert article.locator("details").get_attribute("open") is not None
    assert opened.errors == []


def test_hostile_text_in_a_comparison_and_a_matrix_executes_nothing(
    open_report: OpenReport, tmp_path: Path
) -> None:
    payload = " ".join(str(param.values[0]) for param in XSS)
    info, results = hostile_run(payload)
    silent = [t.model_copy(update={"chunks": []}) for t in results[0].transcript]
    base = [
        r.model_copy(
            update={
                "status": "pass",
                "final_state": {"f": payload, payload: payload},
                "transcript": silent,  # so the payload is also a question that changed
            }
        )
        for r in results
    ]
    base_info = info.model_copy(update={"run_id": "base"})
    view = comparison_view(compare_runs(base_info, base, info, results))
    assert view.regressions
    assert [r for d in view.diffs for r in d.rows if r.category == "question changed"]
    compare = tmp_path / "compare.html"
    compare.write_text(render_html(info, results, comparison=view), encoding="utf-8")
    runs = [("v1", base_info, base), ("v2", info, results)]
    matrix = write_matrix_reports(tmp_path, compare_matrix(runs), runs)["html"]

    for path, wait in ((compare, True), (matrix, False)):
        for bypass_csp in (True, False):  # escaping alone must hold; so must the CSP
            opened = open_report(path, wait=wait, bypass_csp=bypass_csp)
            page = opened.page
            if wait:
                page.locator("#regressions-list + table a").click()
            assert page.evaluate("window.__pwned") is None
            assert opened.dialogs == []
            assert opened.errors == []
            assert opened.requests == [path.as_uri()]
            assert page.locator("img, iframe, object, embed, main svg:not(.chart)").count() == 0
            hrefs = page.eval_on_selector_all(
                "a[href]", "links => links.map(a => a.getAttribute('href'))"
            )
            assert not [h for h in hrefs if ":" in h], hrefs
            assert payload in page.locator("main").inner_text()
