"""Labels that mislead, and demo data that hides the point (issue 9), read off the page.

One kernel notation everywhere (the formula's w[di, dj, c, o]: w[:, :, q, r] for a
depthwise kernel, w[:, :, c, o] for a standard one), the output count named so it
cannot read as zero, the depthwise maps of a separable convolution called z as in
its formula, a formula that names the stride, the dilation and the padding, clear
messages, the preset menu after a hand edit, Chinese code comments, and lessons
whose data shows work in every lane. One test per defect.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo
from tests.e2e.lessons_helpers import next_step, open_lesson, open_page, values
from tests.e2e.test_i18n import _english_words

pytestmark = pytest.mark.e2e

SEED = ("op=depthwise&source=ramp&height=4&width=4&channels=2&kh=3&kw=3&kernels=0,2,1,3"
        "&multiplier=2&padding=VALID")
STANDARD = ("op=standard&source=ramp&height=5&width=5&channels=2&kh=3&kw=3&out=3"
            "&kernels=edge_x,edge_y,ones&padding=VALID")
SEPARABLE = ("op=separable&source=ramp&height=5&width=5&channels=3&kh=3&kw=3&multiplier=1"
             "&out=4&kernels=identity,edge_x,laplacian&pointwise=random&padding=SAME")

CAPTIONS = "els => els.map(e => e.textContent.trim()).filter(Boolean)"


def _captions(demo: Demo, selector: str) -> list[str]:
    return demo.page.eval_on_selector_all(selector, CAPTIONS)


def _zero_like_o(text: str) -> list[str]:
    """A count written "O" (reads 0 in monospace): an O standing alone, not in a word."""
    return re.findall(r"(?<![A-Za-z_])O(?![A-Za-z_])", text)


def _open(demo: Demo, query: str) -> object:
    demo.open(query)
    demo.wait_stream_done()
    return demo.page


# ------------------------------------------------------------------ labels


def test_depthwise_kernels_are_written_w_of_all_all_q_r_everywhere(demo: Demo) -> None:
    page = _open(demo, SEED)
    stage = _captions(demo, ".heatmap.kernel figcaption")
    assert stage == ["w[:, :, 0, 0]", "w[:, :, 0, 1]", "w[:, :, 1, 0]", "w[:, :, 1, 1]"], stage
    assert _captions(demo, "#kernel-preset-list label") == stage
    assert "w[:, :, 0, 0]" in page.inner_text("#arithmetic")
    assert "w[di, dj, 0, 0]" in page.inner_text("#formula")
    demo.assert_clean()


def test_standard_kernels_are_written_input_then_output_as_the_formula(demo: Demo) -> None:
    page = _open(demo, f"{STANDARD}&step=10")  # out[0, 1, 1]: output channel 1
    assert _captions(demo, ".heatmap.kernel figcaption") == ["w[:, :, 0, 1]", "w[:, :, 1, 1]"]
    assert _captions(demo, "#kernel-preset-list label") == [f"w[:, :, :, {o}]" for o in range(3)]
    assert "w[di, dj, c, 1]" in page.inner_text("#formula")
    demo.assert_clean()


def test_the_output_count_cannot_read_as_zero(demo: Demo) -> None:
    page = _open(demo, f"{SEPARABLE}&step=80")
    assert page.get_by_label("Outputs C_out").input_value() == "4"
    matrix = page.inner_text(".pw-mix .matrix figcaption")
    assert "C·M × C_out" in matrix, matrix
    assert not _zero_like_o(page.inner_text("#controls") + matrix)
    open_lesson(demo, 2)
    for _ in range(2):
        next_step(demo, 2)
    text = page.inner_text("#lesson-text")
    assert "1/C_out + 1/(kh·kw)" in text and not _zero_like_o(text), text
    demo.assert_clean()


def test_the_pointwise_stage_calls_the_depthwise_maps_z_as_its_formula(demo: Demo) -> None:
    page = _open(demo, f"{SEPARABLE}&step=80")
    maps = _captions(demo, ".pw-inputs .heatmap figcaption")
    assert maps == ["z 0 = 0·1+0", "z 1 = 1·1+0", "z 2 = 2·1+0"], maps
    assert _captions(demo, ".pw-outputs .heatmap figcaption") == [f"out {k}" for k in range(4)]
    assert "z[1, 0, c]" in page.inner_text("#formula")
    # The same maps in the depthwise stage are z too (they are not the layer's outputs).
    page.keyboard.press("Home")
    demo.wait_counter(1, 100)
    assert _captions(demo, ".heatmap.output figcaption")[0] == "z 0 = 0·1+0"
    assert "z[0, 0, 0]" in page.inner_text("#arithmetic")
    demo.assert_clean()


def test_a_sum_without_bias_is_one_number_not_sum_27_out_27(demo: Demo) -> None:
    page = _open(demo, f"{STANDARD}&step=19")  # out[0, 1, 2], the all-ones filter
    total = page.inner_text("#arithmetic .arith-total")
    assert page.locator("#arithmetic .arith-total output").count() == 1, total
    assert "Sum" not in total and "out[0, 1, 2]" in total, total
    value = page.eval_on_selector("#arithmetic .arith-total output", "o => o.textContent")
    assert value != "0" and total.replace("out[0, 1, 2]", "").count(value) == 1, total
    demo.assert_clean()


def test_the_formula_names_the_stride_the_dilation_and_the_padding(demo: Demo) -> None:
    page = _open(demo, SEED)
    formula = page.inner_text("#formula")
    expected = "out[0, 0, 0·2+0 = 0] = Σ x[s·0 + d·di − p, s·0 + d·dj − p, 0]"
    assert formula.startswith(expected), formula
    assert "stride s = 1 · dilation d = 1 · pad p = 0" in formula, formula
    # Per axis when the axes differ.
    page = _open(demo, f"{STANDARD}&sh=2&sw=1&step=7")  # out[0, 1, 1]
    formula = page.inner_text("#formula")
    assert "x[sh·0 + dh·di − pt, sw·1 + dw·dj − pl, c] · w[di, dj, c, 1]" in formula, formula
    assert "stride sh, sw = 2, 1 · dilation dh, dw = 1, 1 · pad pt, pl = 0, 0" in formula, formula
    demo.assert_clean()


def test_an_empty_or_fractional_height_is_explained_without_nan(demo: Demo) -> None:
    page = _open(demo, SEED)
    height = page.get_by_label("Height", exact=True)
    height.fill("")
    page.wait_for_function("() => document.querySelector('#problem-height').textContent")
    empty = page.inner_text("#problem-height")
    assert "NaN" not in empty and "empty" in empty and "3" in empty and "64" in empty, empty
    height.fill("2.5")
    page.wait_for_function(
        "() => document.querySelector('#problem-height').textContent.includes('2.5')")
    assert "NaN" not in page.inner_text("#problem-height")
    demo.assert_clean()


def test_a_hand_edited_kernel_is_custom_and_its_note_is_not_an_error(demo: Demo) -> None:
    page = _open(demo, SEED)
    # Click a kernel cell, type a value, press Set value.
    kernel = page.locator(".heatmap.kernel canvas").nth(1)
    box = kernel.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 6, box["y"] + box["height"] / 6)
    # The editor counts kernels the way the stage names them: w[:, :, 0, 1] is 0·M + 1.
    assert page.inner_text("#edit-slice-label") == "Kernel # (q·M + r)"
    assert page.input_value("#edit-slice") == "1"
    page.fill("#edit-value", "5")
    page.get_by_role("button", name="Set value").click()
    page.wait_for_function(
        "() => document.querySelector('#edit-problem').textContent.includes('5')")
    colours = page.evaluate("""() => {
      const probe = document.createElement('p');
      probe.className = 'problem';
      probe.textContent = 'x';
      document.querySelector('#controls-form').append(probe);
      const colours = [getComputedStyle(document.querySelector('#edit-problem')).color,
                       getComputedStyle(probe).color];
      probe.remove();
      return colours;
    }""")
    assert colours[0] != colours[1], colours
    page.wait_for_function(
        "() => document.querySelector('#kernel-preset-1').value === 'custom'", timeout=TIMEOUT_MS)
    assert page.eval_on_selector(
        "#kernel-preset-1", "s => s.selectedOptions[0].textContent") == "Custom"
    assert page.input_value("#kernel-preset-0") == "0"  # the other kernels keep their presets
    # Choosing a preset again replaces the hand edit.
    page.select_option("#kernel-preset-1", "ones")
    demo.wait_hash("kernels=0,ones,1,3")
    assert "kernel_edits=" not in page.evaluate("location.hash")
    demo.assert_clean()


# ------------------------------------------------------------------ Chinese

FITS = """sel => {
  const style = getComputedStyle(sel);
  const context = document.createElement('canvas').getContext('2d');
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const text = context.measureText(sel.selectedOptions[0].textContent).width;
  const pads = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  const room = sel.clientWidth - pads - 20;
  return [sel.selectedOptions[0].textContent, Math.round(text), Math.round(room)];
}"""


def _code_comments(text: str) -> list[str]:
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line]


def test_chinese_lesson_code_has_chinese_comments(demo: Demo) -> None:
    open_page(demo, "zh-CN")
    open_lesson(demo, 7)
    page = demo.page
    comments = _code_comments("\n".join(page.locator("#lesson-widget pre code").all_inner_texts()))
    assert len(comments) >= 4, comments
    assert not [c for c in comments if _english_words(c)], comments
    assert any("平铺" in c for c in comments), comments
    open_lesson(demo, 6)
    page.click("#lesson-widget summary")
    comments = _code_comments(page.inner_text("#lesson-widget pre code"))
    assert comments and not [c for c in comments if _english_words(c)], comments
    demo.assert_clean()


def test_chinese_code_tab_has_chinese_comments(demo: Demo) -> None:
    open_page(demo, "zh-CN", f"{SEPARABLE}&sh=2&sw=2")
    demo.wait_drawn()
    page = demo.page
    demo.tab("code")
    for flavour in ("tf", "keras", "pytorch"):
        page.click(f"[data-flavour='{flavour}']")
        page.wait_for_selector("#panel-code[data-ready='true']", state="attached")
        comments = _code_comments(page.inner_text("#code-text"))
        assert comments, flavour
        assert not [c for c in comments if _english_words(c)], (flavour, comments)
        assert not _zero_like_o(" ".join(comments)), comments
    demo.screenshot("h9c-zh-code")
    demo.assert_clean()


def test_chinese_kernel_preset_names_are_not_cut(demo: Demo) -> None:
    open_page(demo, "zh-CN", "op=depthwise&channels=3&multiplier=2"
              "&kernels=edge_x,edge_y,identity,laplacian,random,sharpen")
    demo.wait_drawn()
    selects = demo.page.locator("#kernel-preset-list select").all()
    assert len(selects) == 6
    for select in selects:
        name, width, room = select.evaluate(FITS)
        assert width <= room, (name, width, room)
    demo.assert_clean()


# ------------------------------------------------------------------ demo data


def test_the_seed_example_says_why_its_first_lane_is_zero(demo: Demo) -> None:
    page = _open(demo, SEED)
    note = page.inner_text("#arithmetic [data-role='zero-kernel']")
    assert "w[:, :, 0, 0]" in note and "out 0" in note and "seed example" in note, note
    page.keyboard.press("End")
    demo.wait_counter(16, 16)
    assert page.locator("#arithmetic [data-role='zero-kernel']").count() == 0
    demo.assert_clean()


def test_lesson3_equivalent_kernel_is_not_mostly_zeros(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 3)
    kernel = values(demo, "[data-role='equivalent-kernel'] td")
    assert len(kernel) == 27
    zeros = sum(1 for v in kernel if v == 0)
    assert zeros <= 27 // 4, (zeros, kernel)
    demo.assert_clean()


def test_lesson4_has_no_blank_output(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 4)
    next_step(demo, 4)
    demo.wait_counter(200, 200)
    demo.wait_stream_done()
    demo.tab("numbers")
    page = demo.page
    page.wait_for_selector("#numbers [data-role='output-tensor'][data-stage='pointwise']")
    for k in range(4):
        table = f"#numbers table[data-role='output-map'][data-channel='{k}']"
        cells = values(demo, f"{table} td[data-value]")
        assert len(cells) == 100 and any(v != 0 for v in cells), k
    demo.screenshot("h9c-lesson4-outputs")
    demo.assert_clean()
