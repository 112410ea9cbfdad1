"""Playwright (sync API) driving Debian's chromium, for the HTML report's browser tests.

`make browser` installs chromium when /usr/bin/chromium is missing; Playwright's own browser
download is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Module scope, not session: while the sync API's driver runs, its event loop counts as running
# in this thread, and every later test that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class Opened:
    """A page opened from a file, with every console error, page error and request it made."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def open_report(browser: Browser) -> Iterator[Callable[..., Opened]]:
    """Open an HTML file in a fresh context; wait until its script says it is ready."""
    contexts = []

    def open_file(path: Path, fragment: str = "", *, wait: bool = True, **options: Any) -> Opened:
        context = browser.new_context(viewport={"width": 1200, "height": 900}, **options)
        contexts.append(context)
        opened = Opened(context.new_page())
        opened.page.goto(path.as_uri() + (f"#{fragment}" if fragment else ""))
        if wait:
            opened.page.wait_for_selector("html[data-ready]", timeout=15_000)
        return opened

    yield open_file
    for context in contexts:
        context.close()
