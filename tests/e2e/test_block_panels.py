# ruff: noqa: E501  (JavaScript measured in the page reads best on one line)
"""The panels while a block is on the stage, in real Chromium, used as a user uses them: the Cost
tab shows the block's costs (per stage weights, multiply-adds, activation memory, arithmetic
intensity; the block against the standard convolution it replaces), the numbers the engine's
block_costs computed; screenshots at 1280×720 and 1920×1080 in test-artifacts/."""

from __future__ import annotations

import pytest

from app import engine
from tests.e2e.conftest import TIMEOUT_MS, _demo

pytestmark = pytest.mark.e2e

# The page's default block (core/state.js): 2 -> 2 channels, t = 4, a 6x6 input, seed 0.
BLOCK = "block=inverted_residual"
COSTS = engine.block_costs(engine.inverted_residual_block(2, 2, 4, 1, seed=0), (1, 6, 6, 2))

READ_TABLE = """() => [...document.querySelectorAll('#cost-table tbody tr')].map((row) => ({
  stage: row.dataset.stage, cells: [...row.querySelectorAll('th, td')].map((cell) => cell.innerText.trim()),
}))"""


def _memory(n: int) -> str:
    return f"{n:,} B" if n < 1024 else f"{n / 1024:.1f} kB"


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_the_cost_tab_shows_the_blocks_costs(browser, page_server, width, height) -> None:
    frames = _demo(browser, page_server, width, height)
    demo = next(frames)
    try:
        demo.open(BLOCK)
        demo.page.get_by_role("tab", name="Cost").click()
        demo.page.wait_for_selector("#cost-table[data-ready='true'] [data-role='block-cost-table']",
                                    timeout=TIMEOUT_MS)
        rows = demo.page.evaluate(READ_TABLE)
        assert [row["stage"] for row in rows] == [
            *(stage.name for stage in COSTS.stages), "block", "standard", "ratio"]
        for row, stage in zip(rows, COSTS.stages, strict=False):
            _, h, w, c = stage.output_shape
            assert row["cells"][2:] == [
                f"{c}×{h}×{w}", f"{stage.weights + stage.biases:,}", f"{stage.macs:,}",
                _memory(stage.activation_bytes), f"{stage.arithmetic_intensity:.2f}"], row
        block, standard, ratio = rows[-3:]
        assert block["cells"][3:] == [
            f"{COSTS.weights + COSTS.biases:,}", f"{COSTS.macs:,}", _memory(COSTS.activation_bytes),
            f"{COSTS.arithmetic_intensity:.2f}"]
        assert standard["cells"][3:5] == [f"{COSTS.standard_weights:,}", f"{COSTS.standard_macs:,}"]
        assert ratio["cells"][3:5] == [f"{100 * COSTS.to_standard_weights:.1f} %",
                                       f"{100 * COSTS.to_standard_macs:.1f} %"]
        # Not the single layer's table: its rows name the separable layer's parts.
        assert demo.page.locator("#cost-table [data-layer]").count() == 0
        demo.page.wait_for_selector("#cost-chart .main-svg", timeout=TIMEOUT_MS)
        demo.page.wait_for_timeout(300)
        demo.screenshot(f"block-cost-tab-{width}x{height}")
        # Back to one layer: the single layer's table again.
        demo.page.get_by_role("button", name="Back to one layer").click()
        demo.page.wait_for_selector("#cost-table [data-layer='separable']", timeout=TIMEOUT_MS)
        demo.assert_clean()
    finally:
        frames.close()


def test_the_code_tab_shows_the_blocks_keras_and_pytorch_code(browser, page_server) -> None:
    """The Code tab in block mode: the server's block code (the snippets run in
    tests/api/test_block_code_run.py), Keras and PyTorch; no tf.nn button."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    fields = {"block": "inverted_residual", "in_channels": 2, "out_channels": 2, "expansion": 4,
              "strides": 1, "order": "depthwise_first", "activation_between": "none",
              "project_activation": "linear", "fold_batch_norm": False, "input_hw": 6, "seed": 0}
    expected = TestClient(create_app()).post("/api/v1/blocks/code", json=fields).json()
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    try:
        demo.open(BLOCK)
        demo.page.get_by_role("tab", name="Code").click()
        demo.page.wait_for_selector("#panel-code[data-ready='true']", timeout=TIMEOUT_MS)
        assert not demo.page.get_by_role("button", name="TensorFlow").is_visible()
        assert demo.page.inner_text("#code-text") == expected["pytorch"]
        demo.page.get_by_role("button", name="Keras").click()
        assert demo.page.inner_text("#code-text") == expected["keras"]
        assert "[1, 6, 6, 2]" in demo.page.inner_text("#code-status")
        demo.screenshot("block-code-tab-1280x720")
        demo.page.get_by_role("button", name="Back to one layer").click()
        demo.page.wait_for_function(
            "() => document.querySelector('#panel-code').dataset.ready === 'true'"
            " && !document.querySelector('#code-text').textContent.includes('keras.Model(')",
            timeout=TIMEOUT_MS)
        assert demo.page.get_by_role("button", name="TensorFlow").is_visible()
        demo.assert_clean()
    finally:
        frames.close()


def test_the_quiz_asks_for_the_parameters_of_the_current_stage(browser, page_server) -> None:
    """Quiz mode with a block on the stage: the weights question names the current stage and
    takes its parameter count (weights, biases, BatchNorm's scale and shift), block_costs'."""
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    page = demo.page
    by_name = {stage.name: stage for stage in COSTS.stages}
    try:
        demo.open(BLOCK)
        page.get_by_role("button", name="Quiz").click()
        question = page.locator("#quiz-params-question")
        answer = page.locator("#quiz-params-answer")
        assert question.is_visible()
        for name in ("expand", "depthwise", "depthwise_bn", "depthwise_relu6", "project"):
            page.locator(f'.block-stage-tab[data-stage="{name}"]').click()
            page.wait_for_function(
                "name => document.querySelector('#quiz-params-question').textContent"
                ".includes(`stage ${name} (`)", arg=name, timeout=TIMEOUT_MS)
            expected = by_name[name].weights + by_name[name].biases
            answer.fill(str(expected + 1))
            page.locator("#quiz-params-check").click()
            assert page.inner_text("#quiz-params-feedback").startswith("Not quite"), name
            answer.fill(str(expected))
            page.locator("#quiz-params-check").click()
            assert page.inner_text("#quiz-params-feedback") == f"Right! {expected} parameters.", name
        assert "layer have" not in question.inner_text()  # not the single layer's question
        demo.screenshot("block-quiz-1280x720")
        # Back to one layer: the layer's question again.
        page.get_by_role("button", name="Back to one layer").click()
        page.wait_for_function(
            "() => document.querySelector('#quiz-params-question').textContent.includes('layer have')",
            timeout=TIMEOUT_MS)
        demo.assert_clean()
    finally:
        frames.close()


def test_the_wide_blocks_stages_fit_a_1280x720_screen(browser, page_server) -> None:
    """MobileNetV2's t = 6 on 4 channels (24 wide channels) at 1280×720, not presenting: every
    stage, the project stage's 24-row mix too (views/pointwise.js), inside the stage, nothing
    scrolling, no number under 11 px (tests/e2e/test_block_stage.py's measure)."""
    from tests.e2e.test_block_stage import CONFIGS, MEASURE, open_block_step

    block, stages = CONFIGS["wide"]
    frames = _demo(browser, page_server, 1280, 720)
    demo = next(frames)
    try:
        for name, step in stages.items():
            open_block_step(demo.page, f"{page_server}/#{block}&step={step}", step)
            demo.screenshot(f"block-stage-wide-{name}-1280x720")
            found = demo.page.evaluate(MEASURE)
            assert found["current"] == name
            assert found["outside"] == [], f"{name}: outside the viewport {found['outside']}"
            assert not found["scrolls"], f"{name}: the stage scrolls"
            small = [(g["label"], g["font"]) for g in found["grids"] if 0 < g["font"] < 10.99]
            assert small == [], f"{name}: numbers under 11 px: {small}"
        demo.assert_clean()
    finally:
        frames.close()


def test_the_block_panels_on_the_chinese_page_show_no_english(browser, page_server) -> None:
    """The block's Cost tab (its table, note and chart) and quiz question in zh-CN: no English
    beyond what test_i18n allows (stage names are identifiers, marked translate="no")."""
    from tests.e2e.test_i18n import VISIBLE_TEXT, _english_words

    frames = _demo(browser, page_server, 1366, 768)
    demo = next(frames)
    try:
        demo.page.goto(f"{page_server}/?lang=zh-CN#{BLOCK}&quiz=1")
        demo.wait_drawn()
        demo.page.click("#tab-cost")
        demo.page.wait_for_selector("#cost-table[data-ready='true'] [data-role='block-cost-table']",
                                    timeout=TIMEOUT_MS)
        demo.page.wait_for_selector("#cost-chart .main-svg", timeout=TIMEOUT_MS)
        demo.page.wait_for_function(
            "() => document.querySelector('#quiz-params-question').dataset.stage === 'expand'",
            timeout=TIMEOUT_MS)
        demo.screenshot("block-cost-tab-zh-CN-1366x768")
        english = _english_words(demo.page.evaluate(VISIBLE_TEXT))
        assert english == [], english
        demo.assert_clean()
    finally:
        frames.close()
