# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""Readable at any size, measured in Chromium (issue 9).

The page exposes what it draws: ``window.convlensLegibility()`` (static/js/views/
legibility.js) lists every grid with its drawn cell and number size and the box of
every text on the stage, canvas numbers included. For each scenario and screen:

- every lane of the current stage lies inside the viewport (and the stage does not scroll);
- every number drawn is at least the size a back row reads (14 px at 1280×720 presenter,
  18 px at 1920×1080 presenter); a grid too small for that carries colours only, and then
  the focus view shows the current window and kernel with numbers of that size;
- no two text boxes overlap.

Screenshots of each scenario go to ``test-artifacts/legibility-*.png``.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Demo, screen

pytestmark = pytest.mark.e2e

SCENARIOS = {
    "seed": "",
    "separable-depthwise": "op=separable&height=8&width=8&channels=3&multiplier=2&out=4",
    # 8×8 VALID 3×3 -> 6×6 maps, C·M = 6: the pointwise stage starts at step 216.
    "separable-pointwise": "op=separable&height=8&width=8&channels=3&multiplier=2&out=4&step=216",
    "grouped": "op=grouped&height=6&width=6&channels=8&groups=4&out=4&padding=SAME",
    "large": "op=depthwise&height=32&width=32&channels=8&multiplier=4&kh=5&kw=5&dh=2&dw=2",
}
# (width, height, extra state, smallest number in CSS px)
SCREENS = {
    "1280x720-present": (1280, 720, "present=1", 14),
    "1920x1080-present": (1920, 1080, "present=1", 18),
    "1366x768-quiz-lesson": (1366, 768, "quiz=1&lesson=1", 11),
}

MEASURE = """() => {
  const view = document.querySelector('#stage-view');
  const frame = view.getBoundingClientRect();
  const inside = (r) => r.left >= -1 && r.top >= -1 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1
    && r.left >= frame.left - 1 && r.top >= frame.top - 1 && r.right <= frame.right + 1 && r.bottom <= frame.bottom + 1;
  const lanes = [...view.querySelectorAll('.lane, .pw-side .heatmap, .pw-mix')];
  const outside = lanes.filter((e) => !inside(e.getBoundingClientRect())).map((e) => e.getAttribute('aria-label') || e.textContent.slice(0, 20));
  const data = window.convlensLegibility();
  const active = view.querySelector('.lane.active .heatmap.input canvas');
  const texts = data.texts;
  const overlaps = [];
  for (let a = 0; a < texts.length; a++) {
    for (let b = a + 1; b < texts.length; b++) {
      const p = texts[a].rect, q = texts[b].rect;
      const w = Math.min(p.x + p.width, q.x + q.width) - Math.max(p.x, q.x);
      const h = Math.min(p.y + p.height, q.y + q.height) - Math.max(p.y, q.y);
      if (w > 1 && h > 1) overlaps.push([texts[a].text, texts[b].text]);
    }
  }
  return {
    lanes: lanes.length, outside, overlaps: overlaps.slice(0, 5),
    scrolls: view.scrollHeight > view.clientHeight + 1 || view.scrollWidth > view.clientWidth + 1,
    grids: data.grids, activeFont: active ? Number(active.dataset.font) : null,
    stage: document.querySelector('.stage-tab[aria-current="step"]')?.dataset.stage,
    texts: texts.map((x) => ({ text: x.text, font: x.font, source: x.source })),
  };
}"""


def open_drawn(demo: Demo, query: str) -> None:
    demo.page.goto(f"{demo.base_url}/#{query}")
    demo.page.wait_for_selector("body[data-ready]")
    demo.page.wait_for_function(
        "() => document.querySelector('.stage-layout') && window.convlensLegibility().grids.length"
        " && !document.querySelector('#stage-status:not([hidden])')?.textContent.trim()"
    )
    demo.page.wait_for_timeout(250)  # a resize settles (the stage rebuilds after 120 ms)


def open_lesson_step(demo: Demo, lesson: int, steps: int) -> None:
    """The page opened, lesson ``lesson`` chosen in its menu, then "Next →" pressed ``steps``
    times, as a user does (no waiting between the presses)."""
    demo.page.goto(f"{demo.base_url}/")
    demo.page.wait_for_selector("body[data-ready]")
    demo.page.select_option("#lesson-select", str(lesson))
    for _ in range(steps):
        demo.page.get_by_role("button", name="Next →").click()


# At 1366×768 the settings, lesson and quiz panels leave the stage about 666 × 350 px: grouped
# C=8, G=4 and the 32×32×8 M=4 stage draw compact lanes (colours only) beside a focus view.
CASES = [pytest.param(name, screen_name) for screen_name in SCREENS for name in SCENARIOS]


@pytest.mark.parametrize(("scenario", "screen_name"), CASES)
def test_every_lane_on_screen_every_number_readable_no_text_overlaps(
    browser: object, page_server: str, scenario: str, screen_name: str
) -> None:
    width, height, extra, smallest = SCREENS[screen_name]
    with screen(browser, page_server, width, height) as demo:
        for name, query in [(scenario, SCENARIOS[scenario])]:
            open_drawn(demo, "&".join(part for part in (query, extra) if part))
            demo.screenshot(f"legibility-{name}-{screen_name}")
            found = demo.page.evaluate(MEASURE)
            where = f"{name} at {screen_name}"
            assert found["stage"] == ("pointwise" if name.endswith("pointwise") else
                                      "standard" if name == "grouped" else "depthwise"), where
            assert found["lanes"] > 0, where
            assert found["outside"] == [], f"{where}: lanes outside the viewport {found['outside']}"
            assert not found["scrolls"], f"{where}: the stage scrolls"
            grids = found["grids"]
            small = [(g["label"], g["font"]) for g in grids if 0 < g["font"] < smallest - 0.01]
            assert small == [], f"{where}: numbers under {smallest} px: {small}"
            # Numbers in HTML on the stage and its bar (legend ticks, the focus view's sum) too.
            html = [(x["text"], x["font"]) for x in found["texts"]
                    if x["source"] == "html" and re.fullmatch(r"[−\-]?[\d.,]+%?", x["text"]) and x["font"] < smallest - 0.01]
            assert html == [], f"{where}: numbers under {smallest} px: {html}"
            focus = [g for g in grids if g["focus"]]
            if found["activeFont"] == 0 or name.endswith("pointwise"):
                # The grids carry colours only: the focus view carries the window and kernel numbers.
                assert focus, f"{where}: no focus view while the grids have no numbers"
                # The window and kernel (pointwise: z and the 1×1 weights) carry numbers; the sums
                # row may be colours only when its values are too wide (the panel lists them).
                carried = [g for g in focus if g["role"] != "sums"]
                assert carried and all(g["font"] >= smallest and g["numbers"] > 0 for g in carried), (where, focus)
            else:
                assert found["activeFont"] >= smallest, where
            assert found["overlaps"] == [], f"{where}: text boxes overlap {found['overlaps']}"
        demo.assert_clean()


def test_presenter_fills_the_screen_with_large_labels_and_an_uncut_formula(demo: Demo) -> None:
    """1920×1080 presenter: the stage fills the screen; labels, legends and formula grow; nothing is cut."""
    open_drawn(demo, "op=separable&height=5&width=5&channels=3&multiplier=1&out=4&padding=SAME&present=1")
    found = demo.page.evaluate("""() => {
      const stage = document.querySelector('#stage-view').getBoundingClientRect();
      const layout = document.querySelector('.stage-layout').getBoundingClientRect();
      const formula = document.querySelector('#formula');
      const size = (selector) => parseFloat(getComputedStyle(document.querySelector(selector)).fontSize);
      return { fill: Math.max(layout.height / stage.height, layout.width / stage.width),
               label: size('.heatmap-label'), legend: size('.legend'),
               cut: formula.scrollHeight > formula.clientHeight + 1 || formula.scrollWidth > formula.clientWidth + 1,
               formulaSize: size('#formula'), formula: formula.textContent };
    }""")
    demo.screenshot("presenter-1920x1080")
    assert found["fill"] > 0.8, found
    assert found["label"] >= 18, found
    assert found["legend"] >= 15, found
    assert found["formulaSize"] >= 16, found
    assert not found["cut"], found
    demo.assert_clean()


def test_zoom_buttons_and_keys_scale_the_stage(demo: Demo) -> None:
    open_drawn(demo, "present=1")
    cell = lambda: demo.page.evaluate("Number(document.querySelector('.lane .heatmap.input canvas').dataset.cell)")  # noqa: E731
    label = lambda: demo.page.evaluate("parseFloat(getComputedStyle(document.querySelector('.heatmap-label')).fontSize)")  # noqa: E731
    before, before_label = cell(), label()
    demo.page.locator('[data-zoom="-1"]').click()
    demo.wait_hash("zoom=0.8")
    demo.page.wait_for_function(
        "before => Number(document.querySelector('.lane .heatmap.input canvas').dataset.cell) < before", arg=before)
    assert label() < before_label
    assert demo.page.inner_text("#zoom-value") == "80%"
    demo.page.keyboard.press("+")
    demo.page.keyboard.press("+")
    demo.wait_hash("zoom=1.25")
    assert label() > before_label
    # Zoomed past the screen, the stage pages through its lanes; the page follows the player.
    demo.page.keyboard.press("+")
    demo.page.keyboard.press("+")
    demo.wait_hash("zoom=2")
    demo.page.wait_for_selector(".pager")
    assert "Lanes 1–1 of 2" in demo.page.inner_text(".pager")
    demo.page.locator(".pager-next").click()
    demo.page.wait_for_function("() => document.querySelector('.pager-text').textContent.includes('2–2')")
    demo.wait_counter(9)
    demo.screenshot("presenter-zoom-pager")
    demo.assert_clean()


def test_kernels_scale_with_the_inputs_and_the_quiz_keeps_inputs_readable(
    browser: object, page_server: str
) -> None:
    with screen(browser, page_server, 1366, 768) as demo:
        open_drawn(demo, "quiz=1")
        found = demo.page.evaluate("""() => {
          const box = (selector) => document.querySelector(selector).getBoundingClientRect();
          const input = box('.lane .heatmap.input canvas');
          const kernel = document.querySelector('.lane .heatmap.kernel canvas') ? box('.lane .heatmap.kernel canvas') : box('.focus-view .focus-window canvas');
          const window = document.querySelector('.focus-view .focus-window canvas');
          const font = Number(document.querySelector('.lane .heatmap.input canvas').dataset.font);
          const inLane = Boolean(document.querySelector('.lane .heatmap.kernel canvas'));
          return { input: input.width / 4, kernel: inLane ? kernel.width / 3 : input.width / 4, font,
                   focusFont: window ? Number(window.dataset.font) : 0 };
        }""")
        demo.screenshot("quiz-1366x768")
        assert abs(found["input"] - found["kernel"]) < 0.5, found
        assert max(found["font"], found["focusFont"]) >= 11, found
        demo.assert_clean()


def test_large_depthwise_shows_all_eight_lanes(demo: Demo) -> None:
    open_drawn(demo, SCENARIOS["large"])
    found = demo.page.evaluate("""() => [...document.querySelectorAll('.lane')].filter((lane) => {
      const r = lane.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
    }).length""")
    assert found == 8
    demo.assert_clean()


def test_grouped_lesson_step_keeps_every_group_on_screen(browser: object, page_server: str) -> None:
    """Lesson 6 step 3 (G = 4) at 1366×768 with its panel: every group beside the others, none below the fold."""
    with screen(browser, page_server, 1366, 768) as demo:
        open_lesson_step(demo, 6, 2)
        demo.wait_hash("groups=4")
        demo.page.wait_for_function("() => document.querySelectorAll('.std-inputs .group').length === 4")
        demo.page.wait_for_timeout(300)
        groups = demo.page.evaluate("""() => [...document.querySelectorAll('.std-inputs .group')].map((g) => {
          const r = g.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
        demo.screenshot("lesson6-step3-1366x768")
        assert all(top >= 0 and bottom <= 768 and right <= 1366 for _, top, right, bottom in groups), groups
        # The width is used: the groups stand side by side, not in one tall column.
        assert len({round(left) for left, _, _, _ in groups}) > 1, groups
        demo.assert_clean()
