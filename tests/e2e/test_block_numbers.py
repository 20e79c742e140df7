# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""A block's numbers on the stage, in real Chromium, as a teacher opens it (the URL, then the
player's keys after a click on the stage): the 1×1 stages' mix carries numbers (a short form when
the block's small weights do not fit at four digits), an elementwise stage's channel before and
after carries numbers (at least 14 px at 1920×1080), the arithmetic table stays inside the
viewport, and a block's input is named x, not z (z is the depthwise output in the lessons)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import _demo

pytestmark = pytest.mark.e2e

DRAWN = """step => document.querySelector('.stage-layout') && window.convlensLegibility().grids.length
  && document.querySelector('#stage-view').dataset.drawnStep === String(step)"""
FOCUS = """() => window.convlensLegibility().grids.filter((g) => g.focus).map((g) => ({ label: g.label, cell: g.cell, font: g.font, numbers: g.numbers }))"""
TABLE = """() => { const table = document.querySelector('#arithmetic table'); if (!table) return null;
  const r = table.getBoundingClientRect(); return { right: r.right, left: r.left, width: innerWidth, head: table.querySelector('thead').innerText }; }"""
CLASSROOM = "block=inverted_residual"
WIDE = "block=inverted_residual&block_in=4&block_out=4&block_expansion=6&block_size=8"


def _open(demo, query: str, step: int, keys: tuple[str, ...] = ()) -> None:
    """The page at `query`, then `keys` pressed after a click on the stage; drawn at `step`."""
    page = demo.page
    page.goto(f"{demo.base_url}/#{query}")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function(DRAWN, arg=0)
    if keys:
        page.click("#stage-view")
        for key in keys:
            page.keyboard.press(key)
    page.wait_for_function(DRAWN, arg=step)
    page.wait_for_timeout(250)  # a resize settles (the stage rebuilds after 120 ms)


# At 1280×720 the expand stage's mix is 42 px a cell (pointwise.js gives the mix a third of the
# width): "−2.7" needs 43 px at 14 px, so there only project is measured.
@pytest.mark.parametrize(("width", "height", "smallest", "stages"), [
    (1920, 1080, 18, ("expand", "project")), (1280, 720, 14, ("project",))])
def test_the_1x1_stages_mix_shows_numbers_in_presenter_mode(browser, page_server, width, height, smallest, stages) -> None:
    frames = _demo(browser, page_server, width, height)
    demo = next(frames)
    try:
        # Step 0 is expand; six Page Downs reach project (expand_bn, …, depthwise_relu6, project).
        for name, keys in (("expand", ()), ("project", ("PageDown",) * 6)):
            if name not in stages:
                continue
            _open(demo, f"{CLASSROOM}&present=1", 0 if not keys else 356, keys)
            assert demo.page.locator('.block-stage-tab[aria-current="step"]').get_attribute("data-stage") == name
            demo.screenshot(f"block-numbers-{name}-{width}x{height}-present")
            grids = demo.page.evaluate(FOCUS)
            assert len(grids) == 3, grids
            for grid in grids:
                assert grid["numbers"] > 0 and grid["font"] >= smallest - 0.01, (name, grid)
        demo.assert_clean()
    finally:
        frames.close()


def test_the_elementwise_channel_and_the_arithmetic_table_fit_a_laptop(browser, page_server) -> None:
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    try:
        # The opening expand stage: 25 columns of products were cut off on the right.
        _open(demo, WIDE, 0)
        table = demo.page.evaluate(TABLE)
        assert table and table["left"] >= 0 and table["right"] <= table["width"] + 1, table
        demo.screenshot("block-numbers-expand-1280x720")
        # expand_relu6, channel 0 (two Page Downs): its channel before and after carry numbers.
        _open(demo, WIDE, 64 + 24, ("PageDown", "PageDown"))
        demo.screenshot("block-numbers-relu6-1280x720")
        grids = demo.page.evaluate(FOCUS)
        assert len(grids) == 2, grids
        for grid in grids:
            assert grid["numbers"] == 64 and grid["font"] >= 11, grid
        demo.assert_clean()
    finally:
        frames.close()


def test_elementwise_numbers_are_14px_at_1920(browser, page_server) -> None:
    frames = _demo(browser, page_server, 1920, 1080)
    demo = next(frames)
    try:
        # project_bn and add of the /models block (seven and eight Page Downs).
        for keys, step in ((("PageDown",) * 7, 64 + 24 * 4 + 1536 + 64), (("PageDown",) * 8, 64 + 24 * 4 + 1536 + 64 + 4)):
            _open(demo, WIDE, step, keys)
            demo.screenshot(f"block-numbers-elementwise-{len(keys)}-1920x1080")
            grids = demo.page.evaluate(FOCUS)
            assert len(grids) >= 2, grids
            for grid in grids:
                assert grid["numbers"] == 64 and grid["font"] >= 14, grid
        demo.assert_clean()
    finally:
        frames.close()


def test_a_blocks_1x1_stage_names_its_input_x(browser, page_server) -> None:
    frames = _demo(browser, page_server, 1920, 1080)
    demo = next(frames)
    try:
        _open(demo, WIDE, 0)
        page = demo.page
        formula = page.inner_text("#formula")
        assert "x[0, 0, c]" in formula and "z[" not in formula, formula
        head = demo.page.evaluate(TABLE)["head"]
        assert "x[0, 0, c]" in head and "z[" not in head, head
        labels = page.locator(".pw-mix .heatmap .heatmap-label").all_inner_texts()
        assert "Vector x" in labels and not any("Vector z" in label for label in labels), labels
        assert page.locator(".pw-inputs .column-title").inner_text().lower().startswith("the maps it mixes")
        demo.assert_clean()
    finally:
        frames.close()
