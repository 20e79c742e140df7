"""Script tags through every input the page echoes, in real Chromium: none becomes markup.

The page's free-text inputs are its URL state (string parameters, and numbers it
explains when out of range), its text fields, and an uploaded file (its name and
contents). Each gets markup that would add an element carrying ``data-xss`` or load
``/xss-probe``; afterwards no such element exists, no such request was made, no
dialog opened and no CSP refusal was logged (a refusal means markup got in).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest

from tests.chromium import in_chromium

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 20_000
MARKUP = [
    '<img src="/xss-probe" data-xss="1">',
    '"><svg data-xss="1" onload="alert(1)"></svg>',
    "</script><script data-xss=\"1\" src=\"/xss-probe\"></script>",
    "'><iframe data-xss=1 src=/xss-probe></iframe>",
]
STRING_PARAMETERS = ["kernels", "image", "input_edits", "kernel_edits", "pointwise_edits"]
NUMBER_PARAMETERS = ["seed", "height", "channels", "kh", "step", "speed", "out"]


class Watch:
    def __init__(self, browser: object, base_url: str) -> None:
        self.context = browser.new_context()
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.probes: list[str] = []
        self.dialogs: list[str] = []
        self.refusals: list[str] = []
        self.page.on("request", lambda request: (
            "xss-probe" in request.url and self.probes.append(request.url)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message),
                                               dialog.dismiss()))
        self.page.on("console", lambda message: (
            "Content Security Policy" in message.text and self.refusals.append(message.text)))
        self.base_url = base_url

    def open(self, fragment: str) -> None:
        self.page.goto(f"{self.base_url}/#{fragment}")
        self.page.wait_for_selector("body[data-ready]")

    def assert_inert(self) -> None:
        self.page.wait_for_timeout(300)  # let any pending render happen
        injected = self.page.evaluate("document.querySelectorAll('[data-xss]').length")
        assert injected == 0
        assert self.probes == [] and self.dialogs == [] and self.refusals == [], (
            self.probes, self.dialogs, self.refusals)


def watching(base_url: str, test: Callable[[Watch], None]) -> None:
    """``test(watch)`` on a fresh page of a fresh Chromium."""

    def run(browser: object) -> None:
        watched = Watch(browser, base_url)
        try:
            test(watched)
        finally:
            watched.context.close()

    in_chromium(run)


@pytest.mark.parametrize("markup", MARKUP)
def test_markup_in_the_url_state_stays_text(live_server: str, markup: str) -> None:
    def test(watch: Watch) -> None:
        value = quote(markup, safe="")
        fragment = "&".join(f"{name}={value}"
                            for name in STRING_PARAMETERS + NUMBER_PARAMETERS)
        watch.open(fragment)
        for tab in watch.page.query_selector_all("[id^='tab-']"):
            if tab.is_visible() and tab.is_enabled():
                tab.click()
                watch.assert_inert()
        watch.assert_inert()

    watching(live_server, test)


def test_markup_typed_into_every_field_stays_text(live_server: str) -> None:
    typed: list[int] = []

    def test(watch: Watch) -> None:
        watch.open("")
        fields = watch.page.query_selector_all(
            "input:not([type]), input[type='text'], input[type='search'], textarea")
        for markup in MARKUP:
            for field in fields:
                if field.is_visible() and field.is_editable():
                    field.fill(markup)
                    field.dispatch_event("change")
                    field.press("Enter")
                    typed.append(1)
        watch.assert_inert()

    watching(live_server, test)
    if not typed:
        pytest.skip("the page has no free-text field (its text enters through the URL)")


def test_an_uploaded_file_with_markup_in_its_name_and_contents_stays_text(
        live_server: str) -> None:
    uploads: list[int] = []

    def test(watch: Watch) -> None:
        watch.open("")
        if watch.page.query_selector("input[type='file']") is None:
            return
        for markup in MARKUP[:2]:
            name = markup.replace("/", "_") + ".png"
            watch.page.set_input_files("input[type='file']", files=[{
                "name": name, "mimeType": "image/png", "buffer": markup.encode() * 10,
            }])
            uploads.append(1)
            watch.assert_inert()

    watching(live_server, test)
    if not uploads:
        pytest.skip("the page has no upload")
