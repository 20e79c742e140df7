"""Playwright fixtures: Debian's Chromium driving the page served by a real uvicorn.

Every request the page makes is checked: anything not addressed to the app's
own origin is recorded and refused, and each test asserts that none happened.
Console errors (a CSP refusal included) and uncaught exceptions are recorded too.
Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Demo:
    """The page under test, and what it did that it should not have."""

    page: object
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def open(self, query: str = "") -> None:
        """Load the page with a state hash and wait until step ``step`` is drawn."""
        self.page.goto(f"{self.base_url}/#{query}" if query else f"{self.base_url}/")
        self.wait_drawn()

    def wait_drawn(self) -> None:
        self.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
        self.page.wait_for_selector("#arithmetic [data-role]", timeout=TIMEOUT_MS)

    def counter(self) -> tuple[int, int]:
        text = self.page.inner_text("#step-counter")
        match = re.search(r"(\d+)\s*/\s*(\d+)", text)
        assert match, text
        return int(match.group(1)), int(match.group(2))

    def wait_counter(self, step: int, total: int | None = None) -> None:
        pattern = rf"Step {step} / {total}" if total is not None else rf"Step {step} /"
        self.page.wait_for_function(
            "pattern => new RegExp(pattern).test("
            "document.querySelector('#step-counter').textContent)",
            arg=pattern, timeout=TIMEOUT_MS,
        )

    def wait_hash(self, *parts: str) -> None:
        """Wait until the URL's hash holds every one of ``parts``."""
        self.page.wait_for_function(
            "parts => parts.every(part => location.hash.includes(part))",
            arg=list(parts), timeout=TIMEOUT_MS,
        )

    def wait_stream_done(self) -> None:
        self.page.wait_for_selector(
            "#stream-progress[data-done='true']", state="attached", timeout=TIMEOUT_MS)

    def tab(self, name: str) -> None:
        self.page.click(f"#tab-{name}")
        self.page.wait_for_selector(f"#panel-{name}:not([hidden])", timeout=TIMEOUT_MS)

    def hash(self) -> str:
        """The URL's state, written at once (the page throttles URL updates)."""
        self.page.wait_for_function(
            "() => location.hash.includes('step=')", timeout=TIMEOUT_MS
        )
        return self.page.evaluate("location.hash")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        assert self.outside_requests == [], self.outside_requests
        assert self.console_errors == [], self.console_errors


def _demo(browser: object, base_url: str, width: int, height: int) -> Iterator[Demo]:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    demo = Demo(page=None, base_url=base_url)

    def guard(route: object) -> None:
        url = route.request.url
        if url.startswith(base_url + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            demo.outside_requests.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda message: (
        message.type == "error" and demo.console_errors.append(message.text)))
    page.on("pageerror", lambda error: demo.console_errors.append(f"uncaught: {error}"))
    demo.page = page
    try:
        yield demo
    finally:
        context.close()


@contextlib.contextmanager
def screen(browser: object, base_url: str, width: int, height: int) -> Iterator[Demo]:
    """A page of its own at ``width`` x ``height``, closed on leaving (for tests that try
    several screen sizes or need a second page)."""
    yield from _demo(browser, base_url, width, height)


@pytest.fixture(scope="session")
def page_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """The shared ``live_server`` (tests/conftest.py) when there is one, else our own uvicorn."""
    try:
        yield request.getfixturevalue("live_server")
        return
    except pytest.FixtureLookupError:
        pass
    import socket
    import threading
    import time

    import uvicorn

    from app.main import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def demo(browser: object, page_server: str) -> Iterator[Demo]:
    """A fresh browser context at 1920×1080 on the live server."""
    yield from _demo(browser, page_server, 1920, 1080)


@pytest.fixture
def laptop_demo(browser: object, page_server: str) -> Iterator[Demo]:
    """A fresh browser context at 1366×768."""
    yield from _demo(browser, page_server, 1366, 768)
