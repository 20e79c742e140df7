"""/docs (Swagger UI) and /redoc (ReDoc) in Chromium with every request outside the app blocked.

On a classroom network without internet the docs must still render every operation:
their scripts, styles and fonts come from the app (app/web/docs.py), under the docs' CSP.
The ``demo`` fixture refuses and records any request not addressed to the app, and
records console errors (a CSP refusal is one).
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo

pytestmark = pytest.mark.e2e


def _operations(base_url: str) -> list[tuple[str, str]]:
    with urllib.request.urlopen(f"{base_url}/openapi.json", timeout=10) as answer:
        spec = json.load(answer)
    return [(method.upper(), path) for path, item in spec["paths"].items()
            for method in item if method in {"get", "post", "put", "delete", "patch"}]


def test_swagger_ui_renders_every_operation_offline(demo: Demo) -> None:
    operations = _operations(demo.base_url)
    assert len(operations) >= 10
    page = demo.page
    page.goto(f"{demo.base_url}/docs")
    page.wait_for_selector(".opblock", timeout=TIMEOUT_MS)
    shown = page.eval_on_selector_all(
        ".opblock",
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent.trim(),"
        " b.querySelector('.opblock-summary-path').getAttribute('data-path')])")
    assert sorted(map(tuple, shown)) == sorted(operations)
    # Its stylesheet applied (the app's copy): the method badges are coloured boxes.
    badge = page.locator(".opblock-post .opblock-summary-method").first
    colour = badge.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("", "rgba(0, 0, 0, 0)")
    # An operation opens with its example, and "Try it out" runs it against the app.
    page.get_by_role("button", name="/api/v1/tf/depthwise_conv2d", exact=False).first.click()
    block = page.locator("#operations-tf-tf_depthwise_conv2d, .opblock.is-open").first
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    status_cell = ".live-responses-table .response .response-col_status"
    page.wait_for_selector(f".opblock.is-open {status_cell}", timeout=TIMEOUT_MS)
    status = block.locator(status_cell).first.inner_text()
    assert status.strip() == "200"
    demo.screenshot("docs-swagger-ui-offline")
    demo.assert_clean()


def test_redoc_renders_every_operation_offline(demo: Demo) -> None:
    operations = _operations(demo.base_url)
    page = demo.page
    page.goto(f"{demo.base_url}/redoc")
    page.wait_for_selector("[data-section-id^='operation/']", timeout=TIMEOUT_MS)
    count = page.eval_on_selector_all("[data-section-id^='operation/']", "e => e.length")
    assert count == len(operations)
    demo.screenshot("docs-redoc-offline")
    demo.assert_clean()
