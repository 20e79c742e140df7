"""Classroom features in Chromium: presenter mode, quiz mode, PNG and WebM export."""

from __future__ import annotations

import struct

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo
from tests.e2e.lessons_helpers import ask, open_lesson, open_page, wait_lesson

pytestmark = pytest.mark.e2e

SEED = ("op=depthwise&source=ramp&height=4&width=4&channels=2&kh=3&kw=3&kernels=0,2,1,3"
        "&multiplier=2&padding=VALID")


def _visible(demo: Demo, selector: str) -> bool:
    return demo.page.is_visible(selector)


def test_presenter_mode_is_driven_from_the_keyboard(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 1)
    demo.wait_drawn()
    demo.page.locator("body").focus()
    demo.page.keyboard.press("p")
    demo.page.wait_for_selector("body.presenting")
    demo.wait_hash("present=1")
    for hidden in (".topbar", "#controls", ".panels", "#player"):
        assert not _visible(demo, hidden), hidden
    assert _visible(demo, "#stage") and _visible(demo, "#lesson-text")
    # Large type: the lesson text is bigger than outside presenter mode.
    size = demo.page.eval_on_selector("#lesson-text",
                                      "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 24
    # Arrows step the player; Page Down / Page Up walk the lesson (a clicker's buttons).
    demo.page.keyboard.press("ArrowRight")
    demo.wait_hash("step=1")
    demo.page.keyboard.press("PageDown")
    demo.wait_hash("lstep=1", "step=4")
    demo.page.keyboard.press("PageDown")
    demo.wait_hash("lstep=2", "step=8")
    demo.page.keyboard.press("PageUp")
    demo.wait_hash("lstep=1", "step=4")
    demo.page.keyboard.press(" ")
    demo.page.wait_for_selector("#play[aria-pressed='true']", state="attached")
    demo.page.keyboard.press(" ")
    demo.page.keyboard.press("Escape")
    demo.page.wait_for_selector("body:not(.presenting)")
    demo.wait_hash("present=0")
    assert _visible(demo, ".topbar") and _visible(demo, "#player")
    # The button does the same, and a URL with present=1 reopens in presenter mode.
    demo.page.click("#present-toggle")
    demo.page.wait_for_selector("body.presenting")
    demo.page.reload()
    demo.page.wait_for_selector("body.presenting[data-ready]")
    wait_lesson(demo, 1)
    demo.assert_clean()


def _question(demo: Demo) -> str:
    return demo.page.inner_text("#quiz-step-question")


def test_quiz_accepts_the_right_value_and_rejects_a_wrong_one(demo: Demo) -> None:
    open_page(demo, hash_=f"{SEED}&quiz=1&step=3")
    demo.wait_drawn()
    demo.wait_stream_done()
    demo.wait_counter(4, 16)
    # The next step (5) is out[0, 0, 1] = 36 in DESIGN.md's seed example; the API agrees.
    x = [[[[j + 1, 1] for j in range(4)] for _ in range(4)]]
    w = [[[[0, 2], [1, 3]] for _ in range(3)] for _ in range(3)]
    answer = ask(demo, "tf/depthwise_conv2d",
                 {"input": x, "filter": w, "strides": 1, "padding": "VALID"})
    assert answer["output"][0][0][0][1] == 36
    demo.page.wait_for_function(
        "() => document.querySelector('#quiz-step-question').textContent.includes('out[0, 0, 1]')",
        timeout=TIMEOUT_MS)
    assert "Step 5" in _question(demo)
    demo.page.fill("#quiz-step-answer", "35")
    demo.page.click("#quiz-step-check")
    assert demo.page.get_attribute("#quiz-step-feedback", "data-kind") == "wrong"
    demo.wait_counter(4, 16)  # nothing revealed
    demo.page.fill("#quiz-step-answer", "not a number")
    demo.page.click("#quiz-step-check")
    assert demo.page.get_attribute("#quiz-step-feedback", "data-kind") == "problem"
    demo.page.fill("#quiz-step-answer", "36")
    demo.page.press("#quiz-step-answer", "Enter")
    demo.page.wait_for_selector("#quiz-step-feedback[data-kind='right']")
    demo.wait_counter(5, 16)  # the sum is revealed: the player moved to that step
    assert demo.page.inner_text("#arithmetic").count("36") >= 1
    demo.page.wait_for_function(
        "() => document.querySelector('#quiz-step-question').textContent.includes('out[0, 1, 1]')")
    # The parameter count, checked against /api/v1/costs: 3×3×2×2 = 36 weights.
    costs = ask(demo, "costs", {"input_hw": 4, "in_channels": 2, "out_channels": 4,
                                "kernel_hw": 3, "channel_multiplier": 2, "padding": "VALID"})
    assert costs["costs"]["depthwise"]["weights"] == 36
    demo.page.fill("#quiz-params-answer", "72")
    demo.page.click("#quiz-params-check")
    demo.page.wait_for_selector("#quiz-params-feedback[data-kind='wrong']")
    demo.page.fill("#quiz-params-answer", "36")
    demo.page.click("#quiz-params-check")
    demo.page.wait_for_selector("#quiz-params-feedback[data-kind='right']")
    # Q toggles quiz mode.
    demo.page.locator("body").focus()
    demo.page.keyboard.press("q")
    demo.page.wait_for_selector("#quiz", state="hidden")
    demo.wait_hash("quiz=0")
    demo.assert_clean()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_export_is_an_image_of_the_stage(demo: Demo, tmp_path) -> None:
    open_page(demo, hash_=SEED + "&step=5")
    demo.wait_drawn()
    with demo.page.expect_download(timeout=TIMEOUT_MS) as download:
        demo.page.click("#export-png")
    path = tmp_path / "stage.png"
    download.value.save_as(path)
    assert download.value.suggested_filename == "convlens-step-6.png"
    data = path.read_bytes()
    width, height = _png_size(data)
    # The stage bar (formula, legends) and the stage: tests/e2e/test_export.py compares pixels.
    box = demo.page.evaluate("""() => {
      const a = document.querySelector('.stage-bar').getBoundingClientRect();
      const b = document.querySelector('#stage').getBoundingClientRect();
      return {width: Math.ceil(Math.max(a.right, b.right)) - Math.floor(Math.min(a.left, b.left)),
              height: Math.ceil(Math.max(a.bottom, b.bottom)) - Math.floor(Math.min(a.top, b.top))};
    }""")
    assert (width, height) == (box["width"], box["height"])
    assert len(data) > 5_000  # not a blank image: grids, numbers and labels
    demo.page.wait_for_selector("#export-status:has-text('PNG')", state="attached")
    demo.assert_clean()


def test_webm_export_records_a_run(demo: Demo, tmp_path) -> None:
    open_page(demo, hash_=SEED + "&step=12")
    demo.wait_drawn()
    demo.wait_stream_done()
    if not demo.page.evaluate("() => typeof MediaRecorder !== 'undefined'"
                              " && MediaRecorder.isTypeSupported('video/webm')"):
        pytest.skip("this Chromium cannot record WebM")
    with demo.page.expect_download(timeout=60_000) as download:
        demo.page.click("#export-webm")
    path = tmp_path / "run.webm"
    download.value.save_as(path)
    data = path.read_bytes()
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a Matroska/WebM file
    assert len(data) > 1_000
    # The whole run (16 steps) was recorded (test_export.py checks its frames and timing),
    # and the player is back at the step it was on.
    demo.wait_counter(13, 16)
    demo.assert_clean()
