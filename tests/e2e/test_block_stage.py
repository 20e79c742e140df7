# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""A block on the main stage, in real Chromium, reached as a user reaches it: the "Play this block
on the stage" link of /models' block view, then the player's keys after a click. The strip lists
the block's stages in order (name, shape, multiply-adds); the player steps through the whole
block; an elementwise stage shows the numbers the engine computed; every stage is readable and
on screen at 1280×720 and 1920×1080 (screenshots in test-artifacts/block-stage-*.png)."""

from __future__ import annotations

import re

import pytest

from app import engine
from app.api.blocks import BlockFields, block_input
from tests.e2e.conftest import TIMEOUT_MS, Demo, _demo
from tests.e2e.test_i18n import VISIBLE_TEXT, _english_words

pytestmark = pytest.mark.e2e

NAMES = ["expand", "expand_bn", "expand_relu6", "depthwise", "depthwise_bn", "depthwise_relu6",
         "project", "project_bn", "add"]
# /models' defaults: 4 -> 4 channels, t = 6, an 8x8 input: expand 64 pixels, 24-channel
# elementwise stages, the depthwise 24 x 64 steps, project 64, 4-channel BN and add.
STEPS = [64, 24, 24, 1536, 24, 24, 64, 4, 4]

DRAWN = """() => document.querySelector('.stage-layout') && window.convlensLegibility().grids.length
  && document.querySelector('#stage-view').dataset.drawnStep !== undefined"""

MEASURE = """() => {
  const inside = (r) => r.left >= -1 && r.top >= -1 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1;
  const view = document.querySelector('#stage-view');
  const frame = view.getBoundingClientRect();
  const inView = (r) => r.left >= frame.left - 1 && r.top >= frame.top - 1 && r.right <= frame.right + 1 && r.bottom <= frame.bottom + 1;
  const parts = [...view.querySelectorAll('.lane, .pw-side .heatmap, .pw-mix'), ...document.querySelectorAll('.block-stage-tab, #block-bar, #stage-tabs, #formula')];
  const outside = parts.filter((e) => { const r = e.getBoundingClientRect(); return !inside(r) || (view.contains(e) && !inView(r)); })
    .map((e) => e.getAttribute('aria-label') || e.id || e.textContent.slice(0, 24));
  const data = window.convlensLegibility();
  return {
    outside, grids: data.grids.map((g) => ({ label: g.label, font: g.font, numbers: g.numbers })),
    scrolls: view.scrollHeight > view.clientHeight + 1 || view.scrollWidth > view.clientWidth + 1,
    current: document.querySelector('.block-stage-tab[aria-current="step"]')?.dataset.stage,
    layout: view.querySelector('.stage-layout')?.className,
  };
}"""


def _number(value: float) -> str:
    """formatNumber's text (static/js/views/format.js): 4 significant digits, no sign."""
    return repr(float(f"{abs(value):.4g}"))


def _wait_step(demo: Demo, step: int, total: int) -> None:
    demo.wait_counter(step, total)
    demo.page.wait_for_function(
        "step => document.querySelector('#stage-view').dataset.drawnStep === String(step)",
        arg=step - 1, timeout=TIMEOUT_MS)


def _open_from_models(demo: Demo) -> None:
    page = demo.page
    page.goto(f"{demo.base_url}/models")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=TIMEOUT_MS)
    page.get_by_role("tab", name="Blocks").click()
    page.wait_for_function("() => document.body.dataset.blockReady", timeout=TIMEOUT_MS)
    link = page.get_by_role("link", name="Play this block on the stage")
    assert link.is_visible()
    link.click()
    page.wait_for_url(re.compile(r".*/#.*block=inverted_residual.*"), timeout=TIMEOUT_MS)
    demo.wait_drawn()
    page.wait_for_function(DRAWN, timeout=TIMEOUT_MS)


def test_the_models_link_plays_the_block_and_the_keys_step_through_it(demo: Demo) -> None:
    page = demo.page
    _open_from_models(demo)
    total = sum(STEPS)
    # The strip: every stage in order, its output shape and multiply-adds.
    assert page.locator(".block-stage-name").all_inner_texts() == [
        f"{n}. {name}" for n, name in enumerate(NAMES, 1)]
    block = engine.inverted_residual_block(4, 4, 6, 1, seed=0)
    costs = engine.block_costs(block, (1, 8, 8, 4))
    details = page.locator(".block-stage-detail").all_inner_texts()
    for detail, cost in zip(details, costs.stages, strict=True):
        c, h, w = cost.output_shape[3], cost.output_shape[1], cost.output_shape[2]
        assert detail == f"{c}×{h}×{w} · {cost.macs:,} MACs", detail
    _wait_step(demo, 1, total)
    assert page.locator('.block-stage-tab[aria-current="step"]').get_attribute("data-stage") == "expand"

    # The player's keys, after a click on the stage: one step, then a stage at a time.
    page.click("#stage-view")
    page.keyboard.press("ArrowRight")
    _wait_step(demo, 2, total)
    page.keyboard.press("PageDown")
    _wait_step(demo, STEPS[0] + 1, total)
    assert page.locator('.block-stage-tab[aria-current="step"]').get_attribute("data-stage") == "expand_bn"
    # BatchNorm, channel 0: the scale and the shift the engine folds from its statistics.
    scale, shift = block.stages[1].scale_shift()
    formula = page.inner_text(".block-formula")
    sign = "−" if shift[0] < 0 else "+"
    assert f"y = {_number(scale[0])} · x {sign} {_number(shift[0])}" in formula, formula
    # The arithmetic panel: x and y at (0, 0), the block's own maps.
    x = _models_default_input()
    outputs = engine.run_block(block, x)
    cells = page.locator("#arithmetic tbody tr").first.locator("td").all_inner_texts()
    expand = outputs[0].output[0, 0, 0, 0]
    normed = outputs[1].output[0, 0, 0, 0]
    assert [cell.replace("−", "-") for cell in cells] == [
        f"{'-' if expand < 0 else ''}{_number(expand)}", f"{'-' if normed < 0 else ''}{_number(normed)}"]
    page.keyboard.press("End")
    _wait_step(demo, total, total)
    assert page.locator('.block-stage-tab[aria-current="step"]').get_attribute("data-stage") == "add"
    assert "y = x + input" in page.inner_text("#formula")
    page.keyboard.press("Home")
    _wait_step(demo, 1, total)
    # A click on a stage of the strip jumps to its first step.
    page.locator('.block-stage-tab[data-stage="depthwise"]').click()
    _wait_step(demo, sum(STEPS[:3]) + 1, total)
    assert page.locator('.block-stage-tab[aria-current="step"]').get_attribute("data-stage") == "depthwise"
    # The depthwise view, one lane per channel of the expanded map it reads (4 x 6 = 24).
    assert page.locator("#stage-view .lane").count() == 24
    demo.screenshot("block-stage-from-models-1920x1080")
    demo.assert_clean()


def _models_default_input():
    """The seeded input of /models' default block (as POST /api/v1/blocks makes it)."""
    return block_input(BlockFields(block="inverted_residual", in_channels=4, out_channels=4,
                                   input_hw=8, seed=0))


# (width, height, extra state, smallest number in CSS px), as tests/e2e/test_legibility.py.
SCREENS = {"1280x720-present": (1280, 720, "present=1", 14),
           "1920x1080-present": (1920, 1080, "present=1", 18),
           "1280x720": (1280, 720, "", 11), "1920x1080": (1920, 1080, "", 11)}
# One step of each kind of stage: pointwise (expand, project), BatchNorm, depthwise, ReLU6, the
# add. The page's default block (2 -> 2 channels, t = 4: 8 wide channels, a 6x6 input) and
# MobileNetV2's t = 6 on 4 channels (24 wide channels, /models' default).
CONFIGS = {
    "classroom": ("block=inverted_residual",
                  {"expand": 3, "expand_bn": 38, "depthwise": 92, "depthwise_relu6": 350,
                   "project": 360, "add": 395}),
    "wide": ("block=inverted_residual&block_in=4&block_out=4&block_expansion=6&block_size=6",
                {"expand": 3, "expand_bn": 40, "depthwise": 200, "depthwise_relu6": 975,
                 "project": 1000, "add": 1039}),
}
CASES = [("1280x720-present", "classroom"), ("1920x1080-present", "classroom"),
         ("1280x720", "classroom"), ("1920x1080", "wide"), ("1280x720-present", "wide")]
POINTWISE = {"expand", "project"}


def open_block_step(page, url: str, step: int) -> None:
    """Open a block's URL and wait until ``step`` is drawn and the layout has settled."""
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function(DRAWN)
    page.wait_for_function(
        "step => document.querySelector('#stage-view').dataset.drawnStep === String(step)",
        arg=step)
    page.wait_for_timeout(250)  # a resize settles (the stage rebuilds after 120 ms)


@pytest.mark.parametrize(("screen", "config"), CASES)
def test_every_stage_of_the_block_is_on_screen_and_readable(browser, page_server, screen, config
                                                            ) -> None:
    width, height, extra, smallest = SCREENS[screen]
    block, stages = CONFIGS[config]
    frames = _demo(browser, page_server, width, height)
    demo = next(frames)
    try:
        for name, step in stages.items():
            query = "&".join(part for part in (block, extra, f"step={step}") if part)
            open_block_step(demo.page, f"{page_server}/#{query}", step)
            demo.screenshot(f"block-stage-{config}-{name}-{screen}")
            found = demo.page.evaluate(MEASURE)
            where = f"{name} of the {config} block at {screen}"
            assert found["current"] == name, where
            assert found["outside"] == [], f"{where}: outside the viewport {found['outside']}"
            assert not found["scrolls"], f"{where}: the stage scrolls"
            small = [(g["label"], g["font"]) for g in found["grids"] if 0 < g["font"] < smallest - 0.01]
            assert small == [], f"{where}: numbers under {smallest} px: {small}"
            # The current step's numbers are on the stage: the depthwise focus view, an
            # elementwise stage's channel before and after (a 1x1 stage's mix is the pointwise
            # view's, whose numbers are in the arithmetic panel).
            if name not in POINTWISE:
                assert any(g["numbers"] for g in found["grids"]), f"{where}: no numbers on the stage"
        demo.assert_clean()
    finally:
        frames.close()


def test_the_block_on_the_chinese_page_shows_no_english(browser, page_server) -> None:
    """Every visible string of the block's bar, strip and stages is translated; stage names
    (the API's identifiers) are marked translate="no"."""
    frames = _demo(browser, page_server, 1366, 768)
    demo = next(frames)
    try:
        for step in (0, 38, 100, 395):  # pointwise, BatchNorm, depthwise, the add
            demo.page.goto(f"{page_server}/?lang=zh-CN#block=inverted_residual&step={step}")
            demo.page.wait_for_selector("body[data-ready]")
            demo.page.wait_for_function(
                "step => document.querySelector('#stage-view').dataset.drawnStep === String(step)",
                arg=step)
            # x10, c23: a variable and its channel index (the views' captions and formulas; a
            # one-letter variable passes, as in test_i18n, its two-digit index too).
            words = [word for word in _english_words(demo.page.evaluate(VISIBLE_TEXT))
                     if not re.fullmatch(r"[a-z]\d+", word)]
            assert words == [], (step, sorted(set(words)))
        assert demo.page.inner_text(".block-bar #block-exit") == "回到单层"
        demo.assert_clean()
    finally:
        frames.close()
