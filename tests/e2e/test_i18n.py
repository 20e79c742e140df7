"""English and 简体中文: the same dictionary keys, and no English left on the Chinese page.

The Chinese page may still show identifiers that are not words of either language:
API and code names, framework names, units and file formats (the allow-list below),
and any text marked ``translate="no"`` (code, shapes, formulas written as code).
"""

from __future__ import annotations

import json
import re

import pytest

from app.settings import STATIC_DIR
from tests.e2e.conftest import TIMEOUT_MS, Demo
from tests.e2e.lessons_helpers import next_step, open_lesson, open_page, wait_lesson

STRINGS = STATIC_DIR / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Identifiers the Chinese page keeps as they are: API and code names, frameworks, formats, key caps,
# padding modes, proper names. Single letters and two-letter names (x, w, out's i, j, kh...)
# are variables of the formulas and pass too.
ALLOWED = {
    "ConvLens", "TensorFlow", "TF", "Keras", "PyTorch", "MNIST", "MobileNet", "GPU", "CPU",
    "PNG", "WebM", "English", "Esc", "Home", "End", "Space", "Sobel", "SAME", "VALID", "NHWC",
    "NCHW",
    "channel_multiplier", "groups", "out_channels", "in_channels", "filters", "output",
    "conv2d", "out", "sum", "Σ_r", "dw", "pw", "kh", "kw", "di", "dj", "cg",
    # Names in formulas and code comments (the output count, Keras arguments, a PyTorch class).
    "C_out", "strides", "dilation_rate", "Conv2d", "pad_top", "pad_left",
    "SeparableConv2D", "DepthwiseConv2D", "Conv2D", "ZeroPadding2D", "count_params", "use_bias",
    "depth_multiplier", "dtype", "float32", "separable_conv2d", "depthwise_conv2d", "True", "False",
    # Names of formats, networks and the slide programs the exports are for.
    "ONNX", "Xception", "GIF", "MP4", "Google", "PowerPoint",
    # The blocks on the stage: network and layer names, and the functions of their formulas.
    "MobileNetV1", "MobileNetV2", "BatchNorm", "ReLU", "ReLU6", "max", "min",
}


def _table(language: str) -> dict[str, str]:
    return json.loads((STRINGS / f"{language}.json").read_text("utf-8"))


def test_both_dictionaries_have_the_same_keys_and_no_empty_value() -> None:
    english, chinese = _table("en"), _table("zh-CN")
    assert set(english) == set(chinese)
    assert list(english) == list(chinese), "keep both files in the same order"
    for language, table in (("en", english), ("zh-CN", chinese)):
        empty = [key for key, value in table.items() if not value.strip()]
        assert not empty, (language, empty)
    for key in english:
        assert set(PLACEHOLDER.findall(english[key])) == set(PLACEHOLDER.findall(chinese[key])), key
    assert chinese["meta.lang"] == "zh-CN" and english["meta.lang"] == "en"


def test_chinese_values_are_translated() -> None:
    """Every Chinese value that has letters in it keeps only allowed identifiers."""
    english, chinese = _table("en"), _table("zh-CN")
    for key, value in chinese.items():
        text = re.sub(r"`[^`]*`", " ", PLACEHOLDER.sub(" ", value))
        if english[key] == value and not re.search(r"[A-Za-z]{3,}", text):
            continue  # formulas, symbols and names identical in both languages
        assert not _english_words(text), (key, value)


def _english_words(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z0-9_]*", text)
    return [word for word in words if len(word) > 2 and word not in ALLOWED]


VISIBLE_TEXT = """() => {
  const skip = (el) => el.closest(
    'pre, code, [translate="no"], script, style, .visually-hidden, [hidden]');
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || skip(parent) || parent.closest('script')) continue;
    if (node.textContent.trim()) parts.push(node.textContent);
  }
  for (const el of document.querySelectorAll('[title], [aria-label], [placeholder]')) {
    if (el.closest('pre, code, [translate="no"]')) continue;
    for (const name of ['title', 'aria-label', 'placeholder'])
      if (el.getAttribute(name)) parts.push(el.getAttribute(name));
  }
  parts.push(document.title);
  return parts.join('\\n');
}"""


def _assert_no_english(demo: Demo, where: str) -> None:
    text = demo.page.evaluate(VISIBLE_TEXT)
    found = sorted(set(_english_words(text)))
    assert not found, (where, found)


@pytest.mark.e2e
def test_the_chinese_page_has_no_english_after_every_lesson(demo: Demo) -> None:
    open_page(demo, "zh-CN", "quiz=1")
    assert demo.page.get_attribute("html", "lang") == "zh-CN"
    demo.wait_drawn()
    _assert_no_english(demo, "page")
    for tab in ("numbers", "cost", "code"):
        demo.tab(tab)
        if tab == "cost":
            demo.page.wait_for_selector("#cost-chart .main-svg", timeout=TIMEOUT_MS)
        if tab == "code":
            demo.page.wait_for_selector("#panel-code[data-ready='true']", state="attached")
        _assert_no_english(demo, f"tab {tab}")
    demo.tab("arithmetic")
    for number, steps in enumerate((4, 4, 3, 4, 3, 4, 3), start=1):
        open_lesson(demo, number)
        for step in range(steps):
            if step:
                next_step(demo, number)
            if number in (2, 4):
                demo.page.wait_for_selector("#lesson-widget .main-svg", timeout=TIMEOUT_MS)
            demo.wait_drawn()
            _assert_no_english(demo, f"lesson {number} step {step + 1}")
    demo.assert_clean()


@pytest.mark.e2e
def test_the_language_switch_keeps_the_demo(demo: Demo) -> None:
    open_page(demo, "en", "lesson=2&lstep=1&op=separable&channels=3&out=4&multiplier=1")
    wait_lesson(demo, 2)
    assert demo.page.get_attribute("html", "lang") == "en"
    with demo.page.expect_navigation():
        demo.page.select_option("#language", "zh-CN")
    demo.page.wait_for_selector("body[data-ready]")
    assert "lang=zh-CN" in demo.page.url and "lesson=2" in demo.page.url
    assert demo.page.get_attribute("html", "lang") == "zh-CN"
    wait_lesson(demo, 2)
    assert "深度卷积" in demo.page.inner_text("#lesson-text")
    with demo.page.expect_navigation():
        demo.page.select_option("#language", "en")
    demo.page.wait_for_selector("body[data-ready]")
    assert demo.page.get_attribute("html", "lang") == "en"
    demo.assert_clean()


def test_unknown_language_falls_back_to_english(client_or_none: None = None) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    client = TestClient(create_app())
    for query, lang in (("?lang=zh-CN", "zh-CN"), ("?lang=xx", "en"), ("", "en")):
        page = client.get(f"/{query}").text
        assert f'<html lang="{lang}">' in page
    assert "深度可分离卷积" in client.get("/?lang=zh-CN").text
