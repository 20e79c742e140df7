"""The model view and the block view (/models) in real Chromium, clicked the way a user clicks:
the shipped model's layers, stepping through a layer against the API's numbers, an upload
through the file chooser, a bad file, the inverted-residual lesson, 简体中文."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo

pytest.importorskip("onnxruntime", reason="onnxruntime (the models extra) is not installed")
pytest.importorskip("onnx", reason="onnx (the models extra) is not installed")

from app.models import SHIPPED_MODEL, SHIPPED_MODEL_INFO  # noqa: E402
from tests.models import onnx_builders as build  # noqa: E402

pytestmark = pytest.mark.e2e
CARD = json.loads(SHIPPED_MODEL_INFO.read_text())


def _open(demo: Demo, query: str = "") -> None:
    demo.page.goto(f"{demo.base_url}/models{query}")
    demo.page.wait_for_selector("body[data-ready]", state="attached", timeout=TIMEOUT_MS)


def _wait_run(demo: Demo, previous: str | None = None) -> None:
    demo.page.wait_for_function(
        "previous => document.body.dataset.runReady && document.body.dataset.runReady !== previous",
        arg=previous, timeout=TIMEOUT_MS)


def test_the_shipped_model_and_stepping_through_a_layer(demo: Demo) -> None:
    page = demo.page
    _open(demo)
    _wait_run(demo)
    rows = page.locator("#layer-table tbody tr")
    assert rows.count() == 5
    assert page.locator("#layer-table tbody tr td:nth-child(2)").all_inner_texts() == [
        "standard", "depthwise", "pointwise", "depthwise", "pointwise"]
    assert "98.3 %" in page.inner_text("#model-summary")
    previous = page.evaluate("document.body.dataset.runReady")
    page.get_by_role("button", name="block2.depthwise").click()
    _wait_run(demo, previous)
    assert page.inner_text("#layer-title") == "block2.depthwise"
    assert page.locator("#layer-kernels canvas").count() == 32  # one 3x3 kernel per output
    assert page.locator("#layer-stats tbody tr").count() == 33  # all + 32 channels
    previous = page.evaluate("document.body.dataset.runReady")
    page.get_by_label("Input", exact=True).select_option(label="digit 3 (a test image)")
    _wait_run(demo, previous)
    previous = page.evaluate("document.body.dataset.runReady")
    page.get_by_role("tabpanel", name="Your model").get_by_label(
        "Output channel", exact=True).fill("5")
    page.get_by_role("tabpanel", name="Your model").get_by_label(
        "Output channel", exact=True).press("Enter")
    _wait_run(demo, previous)
    assert page.inner_text("#run-verdict").startswith("ConvLens = onnxruntime for this layer")
    for _ in range(3):
        page.get_by_role("button", name="Next", exact=True).click()
    assert page.inner_text("#step-label") == "Position 4 / 16: (i, j) = (0, 3)"
    demo.wait_hash("layer=block2.depthwise", "channel=5", "pos=3", "input=digit-3")
    # The number on the screen is the API's: the same run, asked directly.
    image = np.array(CARD["samples"][3]["image"])[None, None].tolist()
    answer = httpx.post(f"{demo.base_url}/api/v1/models/run", files={
        "model": ("m.onnx", SHIPPED_MODEL.read_bytes())}, data={
        "layer": "block2.depthwise", "input": json.dumps(image), "channel": "5"}).json()
    line = page.locator("#sum-line")
    assert float(line.get_attribute("data-value")) == answer["steps"]["output"][3]
    assert float(line.get_attribute("data-reference")) == answer["steps"]["reference"][3]
    shown = page.locator(".number-table").nth(2).locator("td").all_inner_texts()  # products
    assert len(shown) == 9 and shown[0] == "0"  # the window's first row is padding
    demo.screenshot("models-layer-1920")
    demo.assert_clean()


def test_an_upload_through_the_file_chooser_and_a_bad_file(demo: Demo, tmp_path) -> None:
    page = demo.page
    _open(demo)
    _wait_run(demo)  # the shipped model's first run, so that the next one is the upload's
    path = tmp_path / "mobilenet_v2_blocks.onnx"
    path.write_bytes(build.mobilenet_v2_blocks().SerializeToString())
    previous = page.evaluate("document.body.dataset.runReady")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Open an ONNX file…").click()
    chooser.value.set_files(str(path))
    _wait_run(demo, previous)
    assert "mobilenet_v2_blocks.onnx" in page.inner_text("#model-summary")
    assert page.locator("#layer-table tbody tr").count() == 7
    assert page.locator("#run-input option").all_inner_texts() == [
        "photo: house", "photo: fruit", "photo: mountains", "random (seeded)"]
    assert page.inner_text("#run-verdict").startswith("ConvLens = onnxruntime")
    # The user's own photo, through the file chooser: resampled in the page to 3x16x16.
    photo = tmp_path / "house.png"
    photo.write_bytes(httpx.get(f"{demo.base_url}/api/v1/presets/photos/house.png").content)
    previous = page.evaluate("document.body.dataset.runReady")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Open a photo…").click()
    chooser.value.set_files(str(photo))
    _wait_run(demo, previous)
    assert page.locator("#run-input option:checked").inner_text() == "your photo: house.png"
    assert page.inner_text("#run-verdict").startswith("ConvLens = onnxruntime")
    bad = tmp_path / "photo.onnx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Open an ONNX file…").click()
    chooser.value.set_files(str(bad))
    page.wait_for_selector("#model-error:not([hidden])", timeout=TIMEOUT_MS)
    assert "not an ONNX model, or it is truncated" in page.inner_text("#model-error")
    # The refused upload is the one console line: Chromium logs every 4xx answer.
    assert demo.outside_requests == []
    assert [line for line in demo.console_errors if "status of 422" not in line] == []
    assert len(demo.console_errors) == 1


def test_the_inverted_residual_lesson(laptop_demo: Demo) -> None:
    demo = laptop_demo
    page = demo.page
    _open(demo)
    page.get_by_role("tab", name="Blocks").click()
    page.wait_for_selector("body[data-block-ready]", state="attached", timeout=TIMEOUT_MS)
    assert page.locator("#block-stages > li").count() == 10  # the input + 9 stages
    lesson_next = page.locator("#lesson-next")
    for expected in ("Stage 1 / 9: expand", "Stage 3 / 9: expand_relu6"):
        lesson_next.click()
        page.wait_for_function(
            "text => document.querySelector('#stage-label').textContent === text",
            arg=expected, timeout=TIMEOUT_MS)
    assert page.inner_text("#lesson-step") == "Step 2 / 4"
    lesson_next.click()
    page.wait_for_function("() => document.querySelector('#stage-label').textContent"
                           ".endsWith('project_relu6')", timeout=TIMEOUT_MS)
    demo.wait_hash("proj=relu6", "lesson=3")
    api = httpx.post(f"{demo.base_url}/api/v1/blocks", json={
        "block": "inverted_residual", "project_activation": "relu6"}).json()
    zeros = next(s for s in api["stages"] if s["name"] == "project_relu6")["zero_fraction"]
    assert f"{zeros * 100:.0f} % of the narrow output become 0" in page.inner_text("#lesson-text")
    assert page.get_by_label("After project").input_value() == "relu6"
    demo.screenshot("models-lesson-1366")
    lesson_next.click()
    page.wait_for_function("() => document.querySelector('#stage-label').textContent"
                           ".endsWith(': add')", timeout=TIMEOUT_MS)
    page.get_by_label("Fold BatchNorm into the convolutions").check()
    page.wait_for_function("() => document.querySelectorAll('#block-stages > li').length === 7",
                           timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Next stage").click()
    assert "fold=1" in page.evaluate("location.hash")
    demo.assert_clean()


def test_the_chinese_page(demo: Demo) -> None:
    page = demo.page
    _open(demo, "?lang=zh-CN")
    _wait_run(demo)
    assert page.inner_text("h1") == "真实网络"
    assert page.get_by_role("button", name="打开 ONNX 文件…").is_visible()
    assert page.inner_text("#run-verdict").startswith("该层 ConvLens = onnxruntime")
    page.get_by_role("tab", name="模块").click()
    page.wait_for_selector("body[data-block-ready]", state="attached", timeout=TIMEOUT_MS)
    assert page.inner_text("#lesson-title") == "倒残差：为什么先扩展，为什么最后是线性的"
    demo.assert_clean()


def test_stepping_inside_a_stage_of_a_block(demo: Demo) -> None:
    page = demo.page
    _open(demo, "#view=blocks")
    page.wait_for_selector("body[data-block-ready]", state="attached", timeout=TIMEOUT_MS)
    panel = page.get_by_role("tabpanel", name="Blocks")
    panel.get_by_role("button", name="depthwise", exact=True).click()
    page.wait_for_selector("body[data-steps-ready]", state="attached", timeout=TIMEOUT_MS)
    assert page.inner_text("#stage-label") == "Stage 4 / 9: depthwise"
    previous = page.evaluate("document.body.dataset.stepsReady")
    panel.get_by_label("Output channel", exact=True).fill("5")
    panel.get_by_label("Output channel", exact=True).press("Enter")
    page.wait_for_function("() => location.hash.includes('bch=5')", timeout=TIMEOUT_MS)
    page.wait_for_function("previous => document.body.dataset.stepsReady !== previous",
                           arg=previous, timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.querySelector('#bstep-label').textContent"
                           ".startsWith('Position 1 / 64')", timeout=TIMEOUT_MS)
    for _ in range(9):
        panel.get_by_role("button", name="Next position").click()
    assert page.inner_text("#bstep-label") == "Position 10 / 64: (i, j) = (1, 1)"
    answer = httpx.post(f"{demo.base_url}/api/v1/blocks", json={
        "block": "inverted_residual", "step_stage": "depthwise", "channel": 5}).json()
    value = float(page.locator("#bstep-sum").get_attribute("data-value"))
    assert value == answer["steps"]["output"][9]
    window = page.locator("#bstep-detail .number-table").first.locator("td").all_inner_texts()
    assert len(window) == 9
    demo.wait_hash("stage=4", "bch=5", "bpos=9")
    demo.assert_clean()
