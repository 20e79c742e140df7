# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""How the page presents, in Chromium (issue 9): projector themes kept in the URL,
forced colours that keep the highlights, embed mode, the phone layout, and the
setting a lesson step asks for while presenter mode hides the settings."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Demo, _demo
from tests.e2e.test_legibility import open_drawn, open_lesson_step, screen

pytestmark = pytest.mark.e2e


def luminance(rgb: str) -> float:
    parts = [float(x) for x in rgb[rgb.index("(") + 1: rgb.index(")")].split(",")[:3]]
    return (0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]) / 255


def test_dark_and_high_contrast_themes_are_chosen_in_the_page_and_kept_in_the_url(demo: Demo) -> None:
    open_drawn(demo, "")
    demo.page.get_by_role("combobox", name="Theme").select_option("dark")
    demo.wait_hash("theme=dark")
    demo.page.wait_for_selector("body[data-theme='dark']")
    demo.page.wait_for_timeout(300)
    background = demo.page.evaluate("getComputedStyle(document.querySelector('.lane')).backgroundColor")
    ink = demo.page.evaluate("getComputedStyle(document.querySelector('.heatmap-label')).color")
    assert luminance(background) < 0.2 and luminance(ink) > 0.6, (background, ink)
    demo.screenshot("theme-dark")
    demo.page.reload()
    demo.wait_drawn()
    assert demo.page.evaluate("document.body.dataset.theme") == "dark"
    assert demo.page.get_by_role("combobox", name="Theme").input_value() == "dark"
    demo.page.get_by_role("combobox", name="Theme").select_option("contrast")
    demo.wait_hash("theme=contrast")
    border = demo.page.evaluate("getComputedStyle(document.querySelector('.cursor')).borderTopWidth")
    assert float(border.rstrip("px")) >= 5
    demo.screenshot("theme-contrast")
    demo.assert_clean()


def test_presenter_in_the_dark_theme_keeps_the_formula_readable(demo: Demo) -> None:
    """Presenter mode's formula (black on white) turns light on the dark canvas."""
    open_drawn(demo, "present=1&theme=dark")
    formula = demo.page.evaluate("getComputedStyle(document.querySelector('#formula')).color")
    canvas = demo.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert luminance(canvas) < 0.2 and luminance(formula) > 0.6, (canvas, formula)
    demo.assert_clean()


def test_forced_colours_keep_the_selected_operation_and_the_current_cell(demo: Demo) -> None:
    demo.page.emulate_media(forced_colors="active")
    open_drawn(demo, "")
    found = demo.page.evaluate("""() => {
      const style = (element) => getComputedStyle(element);
      const checked = document.querySelector('.segment input:checked + span');
      const other = document.querySelector('.segment input:not(:checked) + span');
      const cursor = document.querySelector('.heatmap.output .cursor:not([hidden])');
      const probe = document.createElement('span');
      probe.style.color = 'Highlight';
      document.body.append(probe);
      const highlight = style(probe).color;
      probe.remove();
      return { checked: style(checked).backgroundColor, other: style(other).backgroundColor,
               cursor: style(cursor).borderTopColor, cursorWidth: parseFloat(style(cursor).borderTopWidth),
               tap: style(document.querySelector('.window-tap')).borderTopColor, highlight,
               forced: matchMedia('(forced-colors: active)').matches };
    }""")
    demo.screenshot("forced-colors")
    assert found["forced"], found
    assert found["checked"] != found["other"], found
    assert found["checked"] == found["highlight"], found
    assert found["cursor"] == found["highlight"] and found["cursorWidth"] >= 2, found
    assert found["tap"] == found["highlight"], found
    demo.assert_clean()


def test_embed_mode_shows_the_stage_the_player_and_the_formula_only(demo: Demo) -> None:
    demo.page.goto(f"{demo.base_url}/?embed=1#op=separable&height=5&width=5&channels=3&multiplier=1&out=4&padding=SAME")
    demo.page.wait_for_selector("body[data-ready]")
    demo.page.wait_for_function("() => document.querySelector('.stage-layout') && document.querySelector('#formula').textContent")
    for hidden in [".topbar", "#controls", ".panels", "#side"]:
        assert not demo.page.locator(hidden).is_visible(), hidden
    for shown in ["#stage-view", "#player", "#formula"]:
        assert demo.page.locator(shown).is_visible(), shown
    demo.page.get_by_role("button", name="Step forward").click()
    demo.wait_counter(2)
    demo.screenshot("embed")
    demo.assert_clean()


def test_phone_has_no_horizontal_scroll(browser: object, page_server: str) -> None:
    frames = _demo(browser, page_server, 390, 844)
    demo = next(frames)
    try:
        for query in ["", "op=grouped&height=6&width=6&channels=8&groups=4&out=4&padding=SAME",
                      "op=depthwise&height=32&width=32&channels=8&multiplier=4&kh=5&kw=5&dh=2&dw=2&quiz=1&lesson=1"]:
            open_drawn(demo, query)
            width = demo.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (query, width)
        demo.screenshot("phone-390x844")
        demo.assert_clean()
    finally:
        frames.close()


def test_presenter_shows_the_setting_the_lesson_step_asks_for(browser: object, page_server: str) -> None:
    """Lesson 2 step 3 says to change the outputs or the kernel size: presenter mode, which
    hides the settings panel, shows those fields next to the lesson text."""
    with screen(browser, page_server, 1920, 1080) as demo:
        open_lesson_step(demo, 2, 2)
        demo.page.get_by_role("button", name="Present").click()
        demo.page.wait_for_selector("body.presenting")
        field = demo.page.locator("#present-controls").get_by_label("Outputs", exact=False)
        field.wait_for()
        assert field.input_value() == "4"
        field.fill("8")
        field.press("Enter")
        demo.wait_hash("out=8")
        demo.screenshot("presenter-lesson2-controls")
        demo.assert_clean()
