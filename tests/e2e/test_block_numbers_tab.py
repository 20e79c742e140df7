# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""A block's elementwise stages as a teacher's review found them, in real Chromium: the page
opened at its URL, a stage of the strip clicked, then the player's keys (PageDown to the next
stage, → to the next step) and the visible tabs clicked. Measured: the Numbers tab on a BatchNorm,
a ReLU6 and the add stage carries the server's maps (every cell against POST /api/v1/blocks), the
quiz on the add stage asks for what the class can read (its operands in the question when the
grids are colours only) and names the add stage properly, presenter mode's strip lines and side
titles reach 14 px at 1280×720 and 18 px at 1920×1080 (English and Chinese), and a ReLU6 stage's
before and after maps carry numbers of one size; everything inside the viewport."""

from __future__ import annotations

import base64
import json
import re
import urllib.request

import numpy as np
import pytest

from tests.e2e.conftest import _demo

pytestmark = pytest.mark.e2e

CLASSROOM = "block=inverted_residual"  # 2 → 2 channels, expansion 4, 6×6
WIDE = "block=inverted_residual&block_in=4&block_out=4&block_expansion=6&block_size=8"  # /models' block
BLOCK_FIELDS = ("block", "in_channels", "out_channels", "expansion", "strides", "order",
                "activation_between", "project_activation", "fold_batch_norm", "input_hw", "seed")
DRAWN = """step => document.querySelector('.stage-layout') && window.convlensLegibility().grids.length
  && document.querySelector('#stage-view').dataset.drawnStep === String(step)"""
CURRENT = """() => ({ stage: document.querySelector('.block-stage-tab[aria-current="step"]')?.dataset.stage,
  step: Number(document.querySelector('#stage-view').dataset.drawnStep) })"""
FOCUS = "() => window.convlensLegibility().grids.filter((g) => g.focus).map((g) => ({ label: g.label, cell: g.cell, font: g.font, numbers: g.numbers, cells: g.rows * g.cols }))"
TABLES = """() => [...document.querySelectorAll('#panel-numbers table.map-table')].map((table) => ({
  role: table.dataset.role, channel: Number(table.dataset.channel), caption: table.caption.textContent,
  cells: [...table.querySelectorAll('tbody tr')].map((row) => [...row.querySelectorAll('td')].map((td) => td.dataset.value === undefined ? null : Number(td.dataset.value))),
  width: table.getBoundingClientRect().width }))"""
PANEL = """() => { const panel = document.querySelector('#panel-numbers'); const r = panel.getBoundingClientRect();
  const first = panel.querySelector('[data-role="channel-maps"]').getBoundingClientRect();
  return { chars: panel.innerText.trim().length, hidden: panel.hidden, rect: [r.left, r.top, r.right, r.bottom],
    first: [first.left, first.top, first.right], clientWidth: panel.clientWidth, scrollWidth: panel.scrollWidth,
    viewport: [innerWidth, innerHeight], pageWidth: document.documentElement.scrollWidth }; }"""
FONTS = """selector => [...document.querySelectorAll(selector)].map((e) => { const r = e.getBoundingClientRect();
  return { text: e.textContent, font: parseFloat(getComputedStyle(e).fontSize), rect: [r.left, r.top, r.right, r.bottom],
    clipped: e.scrollWidth > e.clientWidth + 1 }; })"""


class Block:
    """The block the page traced, as POST /api/v1/blocks answers for the same fields."""

    def __init__(self, base_url: str, trace_body: dict) -> None:
        fields = {name: trace_body[name] for name in BLOCK_FIELDS}
        request = urllib.request.Request(
            f"{base_url}/api/v1/blocks", data=json.dumps({**fields, "output_encoding": "base64"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        self.input = _decoded(body["input"])  # (C, H, W)
        self.outputs = {stage["name"]: _decoded(stage["output"]) for stage in body["stages"]}
        self.names = body["stage_names"]

    def input_of(self, name: str) -> np.ndarray:
        index = self.names.index(name)
        return self.input if index == 0 else self.outputs[self.names[index - 1]]


def _decoded(value: dict) -> np.ndarray:
    dtype = {"float32": "<f4", "float64": "<f8"}[value["dtype"]]
    return np.frombuffer(base64.b64decode(value["data"]), dtype=dtype).reshape(value["shape"])


def _open(demo, query: str) -> Block:
    """The page at `query`, drawn at step 0; the block it traced, from the server."""
    page = demo.page
    bodies: list[dict] = []
    page.on("request", lambda request: request.url.endswith("/api/v1/trace") and bodies.append(json.loads(request.post_data)))
    page.goto(f"{demo.base_url}/#{query}")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function(DRAWN, arg=0)
    assert bodies and bodies[0]["op"] == "block", bodies
    demo.wait_stream_done()
    return Block(demo.base_url, bodies[0])


def _language(demo, language: str) -> None:
    """The language menu set to `language`; the page (reloaded in it) drawn again."""
    page = demo.page
    page.select_option("#language", language)
    page.wait_for_function("lang => document.documentElement.lang === lang", arg=language)
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function(DRAWN, arg=0)
    demo.wait_stream_done()


def _stage_after(demo, before: str, name: str, keys: tuple[str, ...] = ()) -> int:
    """Click `before` in the strip, then the stage, then PageDown (and `keys`): `name` is drawn."""
    page = demo.page
    page.click(f'.block-stage-tab[data-stage="{before}"]')
    page.click("#stage-view")
    page.keyboard.press("PageDown")
    for key in keys:
        page.keyboard.press(key)
    page.wait_for_function(f"() => document.querySelector('.block-stage-tab[aria-current=\"step\"]')?.dataset.stage === {json.dumps(name)}")
    step = page.evaluate(CURRENT)["step"]
    page.wait_for_function(DRAWN, arg=step)
    page.wait_for_timeout(250)  # a resize settles (the stage rebuilds after 120 ms)
    return step


def _inside(rect: list[float], viewport: list[float]) -> bool:
    left, top, right, bottom = rect
    return left >= -0.5 and top >= -0.5 and right <= viewport[0] + 0.5 and bottom <= viewport[1] + 0.5


def _shown(value: float) -> float:
    """A value as the page shows it: four significant digits (views/format.js formatNumber)."""
    return float(f"{value:.4g}")


# expand_bn: BatchNorm; expand_relu6: ReLU6; add: the residual (x + the block's input).
ELEMENTWISE = (("expand", "expand_bn"), ("expand_bn", "expand_relu6"), ("project_bn", "add"))


@pytest.mark.parametrize(("query", "width", "height"), [(CLASSROOM, 1280, 720), (WIDE, 1920, 1080)])
def test_the_numbers_tab_shows_each_elementwise_stage_from_the_server(browser, page_server, query, width, height) -> None:
    frames = _demo(browser, page_server, width, height)
    demo = next(frames)
    try:
        block = _open(demo, query)
        page = demo.page
        for before, name in ELEMENTWISE:
            for channel, keys in ((0, ()), (1, ("ArrowRight",))):
                _stage_after(demo, before, name, keys)
                page.click("#tab-numbers")
                page.wait_for_selector('#panel-numbers table[data-role="output-map"]')
                panel = page.evaluate(PANEL)
                assert not panel["hidden"] and panel["chars"] > 200, (name, panel)
                assert _inside(panel["rect"], panel["viewport"]), (name, panel)
                assert _inside([*panel["first"][:2], panel["first"][2], panel["first"][1] + 1], panel["viewport"]), panel
                assert panel["scrollWidth"] <= panel["clientWidth"] + 1 and panel["pageWidth"] <= width, panel
                tables = {table["role"]: table for table in page.evaluate(TABLES) if table["role"] != "stage-output-map"}
                expected = {"input-map": block.input_of(name), "output-map": block.outputs[name]}
                if name == "add":
                    expected["residual-map"] = block.input
                assert set(tables) == set(expected), (name, list(tables))
                for role, maps in expected.items():
                    table = tables[role]
                    assert table["channel"] == channel, (name, role, table["caption"])
                    # Every cell exactly the server's value (float32, as the page received it).
                    np.testing.assert_array_equal(np.array(table["cells"], dtype=np.float64), maps[channel].astype(np.float64), err_msg=f"{name} {role}")
                    assert table["width"] <= panel["clientWidth"], (name, role, table["width"])
                written = [table for table in page.evaluate(TABLES) if table["role"] == "stage-output-map"]
                assert len(written) == block.outputs[name].shape[0], written
                np.testing.assert_array_equal(np.array(written[channel]["cells"], dtype=np.float64), block.outputs[name][channel].astype(np.float64))
                if channel + 1 < len(written):  # the channels after this step: not written yet
                    assert all(value is None for row in written[channel + 1]["cells"] for value in row)
                demo.screenshot(f"block-numbers-tab-{name}-c{channel}-{width}x{height}")
                page.keyboard.press("Escape")  # the stage again
        demo.assert_clean()
    finally:
        frames.close()


@pytest.mark.parametrize(("query", "language"), [(CLASSROOM, "en"), (WIDE, "en"), (CLASSROOM, "zh-CN")])
def test_the_quiz_on_the_add_stage_asks_what_the_class_can_read(browser, page_server, query, language) -> None:
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    try:
        block = _open(demo, query)
        page = demo.page
        if language != "en":
            _language(demo, language)
        step = _stage_after(demo, "project_bn", "add")
        page.click("#quiz-toggle")
        page.wait_for_selector("#quiz-step-question:not(:empty)")
        page.wait_for_function(DRAWN, arg=step)
        page.wait_for_timeout(300)
        demo.screenshot(f"block-quiz-add-{language}-{'wide' if query == WIDE else 'classroom'}-1280x720")
        grids = page.evaluate(FOCUS)
        assert len(grids) == 3, grids
        question = page.inner_text("#quiz-step-question")
        # The next step is channel 1: y = x + input at (0, 0).
        x = float(block.input_of("add")[1, 0, 0])
        residual = float(block.input[1, 0, 0])
        readable = all(grid["font"] >= 14 and grid["numbers"] == grid["cells"] for grid in grids)
        if not readable:  # colours only with the quiz open: the question gives the operands
            numbers = [float(text.replace("\u2212", "-")) for text in re.findall(r"(?:x|input|输入) = (\u2212?\d+(?:\.\d+)?)", question)]
            assert numbers == [_shown(x), _shown(residual)], (question, x, residual, grids)
        assert "out[0, 0, 1]" in question and "x + " in question, question
        # The shown operands' sum is accepted, as is the server's value; a wrong one is not.
        expected = float(block.outputs["add"][1, 0, 0])
        for typed, kind in ((f"{_shown(x) + _shown(residual):.4f}", "right"), (f"{expected + 0.05:.4f}", "wrong")):
            page.click('.block-stage-tab[data-stage="add"]')
            page.wait_for_function(DRAWN, arg=step)
            page.fill("#quiz-step-answer", typed)
            page.click("#quiz-step-form button[type=submit]")
            page.wait_for_function(f"() => document.querySelector('#quiz-step-feedback').dataset.kind === '{kind}'")
        params = page.inner_text("#quiz-params-question")
        if language == "en":
            assert "the block's add stage" in params and "(add)" not in params, params
        else:
            assert "add 阶段" in params and "（相加）" not in params, params
        viewport = [1280, 720]
        for selector in ("#quiz", "#quiz-step-question", "#quiz-params-question"):
            box = page.locator(selector).bounding_box()
            assert _inside([box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]], viewport), (selector, box)
        demo.assert_clean()
    finally:
        frames.close()


@pytest.mark.parametrize(("width", "height", "smallest"), [(1280, 720, 14), (1920, 1080, 18)])
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_presenter_strip_lines_and_side_titles_reach_the_back_row(browser, page_server, width, height, smallest, language) -> None:
    frames = _demo(browser, page_server, width, height)
    demo = next(frames)
    try:
        _open(demo, CLASSROOM)
        page = demo.page
        if language != "en":
            _language(demo, language)
        page.click("#present-toggle")  # the P key's button
        page.wait_for_function("() => document.body.classList.contains('presenting')")
        _stage_after(demo, "project_bn", "add")
        demo.screenshot(f"block-present-add-{language}-{width}x{height}")
        viewport = [width, height]
        details = page.evaluate(FONTS, ".block-stage-detail")
        assert len(details) == 9, details
        titles = page.evaluate(FONTS, ".stage-layout.elementwise > .pw-side > .column-title")
        assert len(titles) == 2, titles
        for item in details + titles:
            assert item["font"] >= smallest - 0.01, item
            assert _inside(item["rect"], viewport) and not item["clipped"], item
        # The focus keeps its numbers at presenter size beside the larger titles.
        for grid in page.evaluate(FOCUS):
            assert grid["numbers"] == grid["cells"] and grid["font"] >= smallest - 0.01, grid
        demo.assert_clean()
    finally:
        frames.close()


@pytest.mark.parametrize(("query", "width", "height"), [(CLASSROOM, 1280, 720), (WIDE, 1920, 1080), (CLASSROOM, 1920, 1080)])
def test_a_relu6_stage_draws_before_and_after_at_one_number_size(browser, page_server, query, width, height) -> None:
    frames = _demo(browser, page_server, width, height)
    demo = next(frames)
    try:
        _open(demo, query)
        for before, name in (("expand_bn", "expand_relu6"), ("depthwise_bn", "depthwise_relu6")):
            for keys in ((), ("ArrowRight",)):
                _stage_after(demo, before, name, keys)
                grids = demo.page.evaluate(FOCUS)
                assert len(grids) == 2, grids
                assert all(grid["numbers"] == grid["cells"] and grid["font"] >= 11 for grid in grids), (name, grids)
                assert grids[0]["font"] == grids[1]["font"], (name, grids)
        demo.screenshot(f"block-relu6-{width}x{height}")
        demo.assert_clean()
    finally:
        frames.close()
