"""The widget's front end in Chromium, mounted with a stand-in for anywidget's model
(tests/notebook/harness.py): it draws the page's views from the kernel's trace, its
buttons and keys drive the `step` trait, and a step set from Python redraws it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the notebook extra (anywidget) is not installed")

from app.notebook import show  # noqa: E402
from tests.chromium import in_chromium  # noqa: E402
from tests.notebook.harness import harness_html  # noqa: E402
from tests.notebook.test_widget import seed_example  # noqa: E402

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def mounted(browser: Any, widget: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: (errors.append(f"request {route.request.url}"),
                                      route.abort()))
    page.set_content(harness_html(widget))
    page.wait_for_function("window.mounted === true", timeout=20_000)
    return page


def output_row(page: Any, role_index: int) -> list[str]:
    """Row 0 of output map `role_index` in the numbers table."""
    table = page.locator(".nb-numbers table.map-table").nth(role_index)
    return [cell.inner_text() for cell in table.locator("tbody tr").first.locator("td").all()]


def test_seed_example_reads_0_36_9_27_and_the_buttons_step() -> None:
    x, w = seed_example()
    widget = show("depthwise_conv2d", x, w, strides=1, padding="VALID")
    errors: list[str] = []

    def task(browser: Any) -> None:
        from playwright.sync_api import expect

        page = mounted(browser, widget, errors)
        counter = page.locator(".nb-counter")
        expect(counter).to_have_text("Step 1 / 16")
        page.get_by_role("button", name="Step forward").click()
        expect(counter).to_have_text("Step 2 / 16")
        assert page.evaluate("window.widgetModel.get('step')") == 1
        page.keyboard.press("ArrowRight")  # keys work after a click inside the widget
        expect(counter).to_have_text("Step 3 / 16")
        page.get_by_role("button", name="Last step").click()
        expect(counter).to_have_text("Step 16 / 16")
        firsts = [output_row(page, k)[0] for k in range(4)]
        assert firsts == ["0", "36", "9", "27"]
        assert [output_row(page, k)[1] for k in range(4)] == ["0", "54", "9", "27"]
        arithmetic = page.locator(".nb-arithmetic").inner_text()
        assert "27" in arithmetic
        # Python sets the step (the trait syncs), and the widget redraws.
        page.evaluate("window.widgetModel.set('step', 5)")
        page.wait_for_function(
            "document.querySelector('.nb-counter').textContent === 'Step 6 / 16'")
        assert "54" in page.locator(".nb-arithmetic").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "notebook-widget-harness.png"), full_page=True)

    in_chromium(task)
    assert errors == []


def test_separable_draws_both_stages() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, (1, 5, 5, 3)).astype(float)
    dw = rng.integers(-2, 3, (3, 3, 3, 2)).astype(float)
    pw = rng.integers(-2, 3, (1, 1, 6, 4)).astype(float)
    widget = show("separable_conv2d", x, dw, pw, strides=1, padding="SAME")
    errors: list[str] = []

    def task(browser: Any) -> list[str]:
        page = mounted(browser, widget, errors)
        page.get_by_role("button", name="Last step").click()
        page.locator(".stage-layout.pointwise").wait_for()
        return [page.locator(".stage-layout").first.get_attribute("class") or "",
                page.locator(".nb-formula").inner_text()]

    layout, formula = in_chromium(task)
    assert "pointwise" in layout and formula
    assert errors == []
