"""`evalkit view` in chromium, over a PostgreSQL history.

The runs, every filter, a trend, a comparison, down to a transcript, no console errors, and
hostile text inert on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser

from evalkit.history import history_location, record_run
from evalkit.metrics import summarize
from evalkit.results import SuiteInfo, write_run_info
from evalkit.view import ViewServer, ViewSettings
from tests import pgserver
from tests.browser.conftest import Opened
from tests.browser.test_report_browser import XSS, hostile_run
from tests.test_history_figures import record
from tests.test_view import BASE_ID, CAND_ID, FEATURE, GONE, GOOD, STOPPED, WIX, build_history

LATEST_FIRST = [GONE, STOPPED, WIX, FEATURE, GOOD, CAND_ID, BASE_ID]
EVERYTHING = " ".join(str(param.values[0]) for param in XSS)


@pytest.fixture(scope="module")
def view_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = pgserver.fresh_database()
    build_history(tmp_path_factory.mktemp("view") / "runs", url)
    with ViewServer(ViewSettings(history_location(url))) as server:
        yield server.url


def _record_hostile(root: Path, history: str, payload: str) -> str:
    """A run in which every string the history keeps is the payload; its run id."""
    info, results = hostile_run(payload)
    results = [
        r.model_copy(
            update={
                "suite": payload,
                "conversation_id": payload + r.conversation_id,
                "fields": [f.model_copy(update={"field": payload}) for f in r.fields],
            }
        )
        for r in results
    ]
    run_id = payload + " run"
    info = info.model_copy(
        update={
            "run_id": run_id,
            "suites": [
                SuiteInfo(name=payload, path=payload, sha256=payload, form="f", conversations=2)
            ],
            "target": info.target.model_copy(update={"form_ids": {payload: payload}}),
            "summary": summarize(results),
            "finished_at": "2026-03-02T02:00:09Z",
        }
    )
    run_dir = root / "hostile"
    run_dir.mkdir(parents=True)
    (run_dir / "results.jsonl").write_text(
        "".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8"
    )
    write_run_info(run_dir, info)
    record_run(history, run_dir, info, results, gates_met=False, branch=payload, commit=payload)
    return run_id


@pytest.fixture(scope="module")
def hostile_view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url = pgserver.fresh_database()
    run_id = _record_hostile(tmp_path_factory.mktemp("hostile"), url, EVERYTHING)
    with ViewServer(ViewSettings(history_location(url))) as server:
        yield server.url, run_id


@pytest.fixture
def open_view(browser: Browser) -> Iterator[Callable[..., Opened]]:
    """Open a page of the view in a fresh context, recording errors, requests and dialogs."""
    contexts = []

    def open_url(url: str, **options: Any) -> Opened:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        contexts.append(context)
        opened = Opened(context.new_page())
        opened.page.goto(url)
        return opened

    yield open_url
    for context in contexts:
        context.close()


def shown_runs(opened: Opened) -> list[str]:
    return opened.page.locator("table.runs a.run").all_inner_texts()


def only_the_view(opened: Opened, base: str) -> None:
    """Nothing went wrong, and nothing was asked of anyone but the view."""
    assert opened.errors == [], opened.requests
    assert opened.dialogs == []
    assert all(url.startswith(base) for url in opened.requests), opened.requests


def test_the_runs_list_latest_first_without_console_errors(
    open_view: Callable[..., Opened], view_url: str
) -> None:
    opened = open_view(view_url)
    assert shown_runs(opened) == LATEST_FIRST
    statuses = opened.page.locator("table.runs .badge").all_inner_texts()
    assert statuses[:4] == ["met", "interrupted", "met", "unmet"]
    assert opened.page.locator("script").count() == 0
    only_the_view(opened, view_url)


FILTERS = [
    ("suite", "booking", [GONE, STOPPED, FEATURE, GOOD, CAND_ID, BASE_ID]),
    ("target", "wix", [WIX]),
    ("branch", "feature/x", [FEATURE]),
    ("status", "unmet", [FEATURE]),
    ("status", "interrupted", [STOPPED]),
    ("since", "2026-03-05", [GONE, STOPPED, WIX]),
    ("until", "2026-03-02", [CAND_ID, BASE_ID]),
]


def test_each_filter(open_view: Callable[..., Opened], view_url: str) -> None:
    opened = open_view(view_url)
    page = opened.page
    for field, value, expected in FILTERS:
        if field in ("since", "until"):
            page.fill(f"input[name={field}]", value)
        elif field == "target":
            option = page.locator("select[name=target] option", has_text=value)
            page.select_option("select[name=target]", value=option.get_attribute("value"))
        else:
            page.select_option(f"select[name={field}]", value=value)
        with page.expect_navigation():
            page.locator("form.filters button").click()
        assert shown_runs(opened) == expected, (field, value)
        assert page.input_value(f"[name={field}]") != ""  # the filter stays shown
        with page.expect_navigation():
            page.locator("form.filters a", has_text="clear").click()
        assert shown_runs(opened) == LATEST_FIRST
    only_the_view(opened, view_url)


def test_a_suite_trend_with_its_fields(open_view: Callable[..., Opened], view_url: str) -> None:
    opened = open_view(view_url)
    page = opened.page
    page.locator("a", has_text="booking").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Trend of booking"
    chart = page.locator("svg.chart").first
    tips = chart.locator("circle title").all_text_contents()
    assert [tip.split(":")[0] for tip in tips] == list(
        reversed(LATEST_FIRST[:2] + LATEST_FIRST[3:])
    )
    assert chart.locator("path").get_attribute("d").startswith("M")
    fields = page.locator("table.fields tbody tr td:first-child").all_inner_texts()
    assert "date" in fields
    assert "email" not in fields  # a contact-form field: not this suite's
    only_the_view(opened, view_url)


def test_two_runs_compared_as_evalkit_compare_renders_them(
    open_view: Callable[..., Opened], view_url: str
) -> None:
    opened = open_view(view_url)
    page = opened.page
    page.check(f"input[name=base][value='{BASE_ID}']")
    page.check(f"input[name=candidate][value='{CAND_ID}']")
    page.locator("form#compare button").click()
    page.wait_for_selector("html[data-ready]")
    verdicts = page.locator("header .verdict").all_inner_texts()
    assert verdicts[0].endswith("1 regression, 1 fix, p = 1: within noise")
    assert page.locator("#regressions-list + table a", has_text="phone-and-newsletter").count() == 1
    only_the_view(opened, view_url)


def test_from_a_run_down_to_a_transcript(open_view: Callable[..., Opened], view_url: str) -> None:
    opened = open_view(view_url)
    page = opened.page
    page.locator("a.run", has_text=CAND_ID).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(f"Run {CAND_ID}")
    page.locator("a.transcript", has_text="phone-and-newsletter").click()
    page.wait_for_selector("html[data-ready]")
    assert page.evaluate("location.hash") == "#contact-form/phone-and-newsletter/0"
    article = page.locator("article#contact-form\\/phone-and-newsletter\\/0")
    assert article.locator("details").get_attribute("open") is not None
    assert article.is_visible()
    assert article.locator(".msg.user").count() > 0
    only_the_view(opened, view_url)


def test_a_run_whose_directory_is_gone_still_shows_its_numbers(
    open_view: Callable[..., Opened], view_url: str
) -> None:
    opened = open_view(f"{view_url}run?{urlencode({'id': GONE})}")
    page = opened.page
    assert "not reachable from here" in page.locator("dl.facts").inner_text()
    assert page.locator("table.conversations tbody tr").count() == 5
    assert page.locator("a.transcript, a.report").count() == 0
    only_the_view(opened, view_url)


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["csp", "escaping-alone"])
def test_hostile_text_is_inert_on_every_page(
    open_view: Callable[..., Opened], hostile_view: tuple[str, str], bypass_csp: bool
) -> None:
    base, run_id = hostile_view
    pages = [
        ("", False),
        ("?" + urlencode({"suite": EVERYTHING}), False),
        ("run?" + urlencode({"id": run_id}), False),
        ("trend?" + urlencode({"suite": EVERYTHING}), False),
        ("report?" + urlencode({"id": run_id}), True),
        ("compare?" + urlencode({"base": run_id, "candidate": run_id}), True),
    ]
    opened = open_view(base, bypass_csp=bypass_csp)
    page = opened.page
    for path, report in pages:
        page.goto(base + path)
        if report:
            page.wait_for_selector("html[data-ready]")
        assert page.evaluate("window.__pwned") is None, path
        only_the_view(opened, base)
        assert page.locator("img, iframe, object, embed, svg:not(.chart) svg").count() == 0
        hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
        assert all(href.startswith(("/", "#")) for href in hrefs), (path, hrefs)
        if not report:
            assert page.locator("script").count() == 0, path
            assert page.locator("svg:not(.chart)").count() == 0, path
    page.goto(base)
    assert EVERYTHING in page.locator("table.runs").inner_text()
    page.goto(base + "run?" + urlencode({"id": run_id}))
    cells = page.locator("table.conversations a.transcript").all_inner_texts()
    assert cells == [EVERYTHING + "cfail", EVERYTHING + "cpass"]


def test_a_run_page_shows_its_coverage_and_persona_cards(
    open_view: Callable[..., Opened], tmp_path: Path
) -> None:
    url = pgserver.fresh_database()
    record(tmp_path, url, "figures", day=1)  # 3 of 5 items observed; 6 of 8 submitted
    with ViewServer(ViewSettings(history_location(url))) as server:
        opened = open_view(f"{server.url}run?{urlencode({'id': 'figures'})}")
        page = opened.page
        cards = page.locator(".cards.coverage .card, .cards.personas .card")
        assert [card.inner_text().split("\n") for card in cards.all()] == [
            ["60.0%", "coverage observed"],
            ["3 of 5", "items covered"],
            ["75.0%", "persona completion"],
            ["0.25", "re-asks per conversation"],
        ]
        assert all(card.is_visible() for card in cards.all())
        only_the_view(opened, server.url)
