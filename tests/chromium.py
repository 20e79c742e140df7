"""Debian's Chromium for every browser test: one path, one set of launch flags.

Never `playwright install`: the tests drive the distribution's /usr/bin/chromium.
The flags keep it off the network (the machines' network is closed; background
services would fail) and headless as root.

``in_chromium`` runs a browser test in a thread of its own:

Playwright's sync API refuses to start where an asyncio loop runs, and another
suite's session-wide Playwright (tests/e2e) leaves one in the main thread; so each
browser test here runs its body in a fresh thread with its own Playwright.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.threads import in_fresh_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
T = TypeVar("T")


def in_chromium(task: Callable[[Any], T]) -> T:
    """``task(browser)`` in a fresh thread with its own Chromium; its result or its error."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")

    def with_browser() -> T:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                return task(browser)
            finally:
                browser.close()

    return in_fresh_thread(with_browser, name="chromium")
