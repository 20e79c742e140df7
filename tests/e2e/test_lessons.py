"""The seven lessons in Chromium: each opens its configuration, walks its steps, and
every number it shows is the API's answer to the question the page asked."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo
from tests.e2e.lessons_helpers import (
    ask,
    flat,
    next_step,
    open_lesson,
    open_page,
    record_api,
    values,
    wait_lesson,
)

pytestmark = pytest.mark.e2e


def open_recorded_lesson(demo: Demo, number: int) -> dict[str, list[dict]]:
    """Lesson ``number`` opened on a fresh page, every API request it makes recorded."""
    asked = record_api(demo)
    open_page(demo)
    open_lesson(demo, number)
    return asked


def test_lesson1_channel_multiplier_numbers_and_steps(demo: Demo) -> None:
    asked = open_recorded_lesson(demo, 1)
    demo.wait_counter(1, 16)
    answer = ask(demo, "tf/depthwise_conv2d", asked["tf/depthwise_conv2d"][-1])
    assert values(demo, "[data-role='multiplier-map'] td[data-value]") == answer["output"][0][0][0]
    assert answer["output"][0][0][0] == [0, 36, 9, 27]  # DESIGN.md's seed example
    mapping = demo.page.eval_on_selector_all(
        "[data-role='multiplier-map'] td[translate='no']", "cells => cells.map(c => c.textContent)")
    assert mapping == ["0·2 + 0 = 0", "0·2 + 1 = 1", "1·2 + 0 = 2", "1·2 + 1 = 3"]
    # The steps move the player: map q·M + r = 1 starts at step 5, map 2 at step 9.
    next_step(demo, 1)
    demo.wait_counter(5, 16)
    # The table follows the player: step 5 fills output channel 1 = 0·2 + 1.
    demo.page.wait_for_selector("[data-role='multiplier-map'] tr.current[data-channel='1']")
    next_step(demo, 1)
    demo.wait_counter(9, 16)
    demo.wait_hash("lesson=1", "lstep=2")
    assert "1·2 + 0" in demo.page.inner_text("#lesson-text")
    demo.assert_clean()


def test_lesson2_costs_108_vs_39_and_the_sweeps(demo: Demo) -> None:
    asked = open_recorded_lesson(demo, 2)
    table = "[data-role='lesson-costs']"
    weights = {layer: values(demo, f"{table} tr[data-layer='{layer}'] td[data-value]")[0]
               for layer in ("standard", "depthwise", "pointwise", "separable")}
    assert weights == {"standard": 108, "depthwise": 27, "pointwise": 12, "separable": 39}
    current = next(body for body in asked["costs"] if "sweep" not in body)
    costs = ask(demo, "costs", current)["costs"]
    for layer in weights:
        assert values(demo, f"{table} tr[data-layer='{layer}'] td[data-value]") == [
            costs[layer]["weights"], costs[layer]["macs"]]
    ratio = values(demo, "[data-role='ratio'] [data-value]")[0]
    assert ratio == costs["separable_to_standard_macs"] == pytest.approx(1 / 4 + 1 / 9)
    assert "1/4 + 1/9" in demo.page.inner_text("[data-role='ratio']")
    # Both sweeps are drawn (plotly) from the API's sweep answers.
    for role in ("sweep-channels", "sweep-kernel"):
        demo.page.wait_for_selector(f"[data-role='{role}'] .main-svg", timeout=TIMEOUT_MS)
    sweeps = [body for body in asked["costs"] if "sweep" in body]
    assert {body["sweep"]["parameter"] for body in sweeps} == {"out_channels", "kernel_hw"}
    # The live panel follows the configuration: 8 outputs.
    demo.page.fill("#param-out", "8")
    demo.page.wait_for_function(
        "() => document.querySelector(\"[data-role='lesson-costs'] tr[data-layer='standard'] "
        "td[data-value]\")?.dataset.value === '216'", timeout=TIMEOUT_MS)
    assert "not always faster" in demo.page.inner_text(".lesson-note")
    demo.assert_clean()


def test_lesson3_equivalent_kernel_and_equal_outputs(demo: Demo) -> None:
    asked = open_recorded_lesson(demo, 3)
    pair = ask(demo, "factorize", asked["factorize"][-1])
    kernel = np.array(pair["equivalent_kernel"])  # [kh, kw, C, O]
    shown = values(demo, "[data-role='equivalent-kernel'] td")
    assert shown == flat([kernel[:, :, c, 0].tolist() for c in range(kernel.shape[2])])
    separable = ask(demo, "tf/separable_conv2d", asked["tf/separable_conv2d"][-1])
    standard = ask(demo, "tf/conv2d", asked["tf/conv2d"][-1])
    np.testing.assert_allclose(separable["output"], standard["output"], atol=1e-9)
    assert values(demo, "[data-role='separable-output'] td") == flat(
        np.array(separable["output"])[0, :, :, 0].tolist())
    assert values(demo, "[data-role='standard-output'] td") == flat(
        np.array(standard["output"])[0, :, :, 0].tolist())
    assert demo.page.get_attribute(".lesson-verdict", "data-equal") == "true"
    demo.assert_clean()


def test_lesson4_mnist_m1_error_against_m(demo: Demo) -> None:
    asked = open_recorded_lesson(demo, 4)
    demo.page.wait_for_selector("[data-role='error-chart'] .main-svg", timeout=TIMEOUT_MS)
    fit = ask(demo, "factorize", asked["factorize"][-1])
    errors = json.loads(demo.page.get_attribute("[data-role='error-chart']", "data-errors"))
    assert errors == [entry["relative_error"] for entry in fit["errors"]]
    assert errors[0] > 0.3 and errors[-1] == pytest.approx(0, abs=1e-12)
    assert values(demo, "[data-role='m1-error']") == [fit["approximation"]["relative_error"]]
    assert values(demo, "[data-role='approx-kernel'] td")[:9] == flat(
        np.array(fit["approximation"]["approximation"])[:, :, 0, 0].tolist())
    # Another bank: the chart and the fit follow, still the API's numbers.
    before = demo.page.get_attribute("[data-role='error-chart']", "data-errors")
    demo.page.select_option("#bank-select", "random")
    demo.page.wait_for_function(
        "before => document.querySelector(\"[data-role='error-chart']\").dataset.errors !== before",
        arg=before, timeout=TIMEOUT_MS)
    fit = ask(demo, "factorize", asked["factorize"][-1])
    errors = json.loads(demo.page.get_attribute("[data-role='error-chart']", "data-errors"))
    assert errors == [entry["relative_error"] for entry in fit["errors"]]
    # The last step raises channel_multiplier to 3 on the page.
    for _ in range(3):
        next_step(demo, 4)
    demo.wait_hash("multiplier=3", "lstep=3")
    demo.assert_clean()


def test_lesson5_fewer_outputs_than_depthwise_maps(demo: Demo) -> None:
    asked = open_recorded_lesson(demo, 5)
    verdict = "[data-role='accepted']"
    assert demo.page.get_attribute(verdict, "data-o") == "2"
    assert demo.page.get_attribute(verdict, "data-cm") == "6"
    answer = ask(demo, "tf/separable_conv2d", asked["tf/separable_conv2d"][-1])
    assert answer["shape"] == [1, 3, 3, 2] and answer["depthwise_shape"] == [1, 3, 3, 6]
    shapes = demo.page.eval_on_selector_all("[data-role='shapes'] td",
                                            "c => c.map(x => x.textContent)")
    assert shapes[2:] == ["[1, 3, 3, 6]", "[1, 1, 6, 2]", "[1, 3, 3, 2]"]
    demo.assert_clean()


def _set_groups(demo: Demo, groups: int) -> None:
    demo.page.eval_on_selector(
        "#groups-slider",
        "(slider, groups) => { const c = +document.querySelector('#param-channels').value;"
        " const o = +document.querySelector('#param-out').value; const list = [];"
        " for (let g = 1; g <= c; g++) if (c % g === 0 && o % g === 0) list.push(g);"
        " slider.value = String(list.indexOf(groups));"
        " slider.dispatchEvent(new Event('input', {bubbles: true})); }", groups)
    demo.page.wait_for_selector(f".lesson-groups[data-groups='{groups}'][data-pending='false']",
                                state="attached", timeout=TIMEOUT_MS)


@pytest.mark.parametrize(("channels", "out", "groups_list"), [(4, 4, (1, 2, 4)), (6, 6, (3, 6))])
def test_lesson6_groups_slider_connectivity(demo: Demo, channels: int, out: int,
                                            groups_list: tuple[int, ...]) -> None:
    asked = open_recorded_lesson(demo, 6)
    if channels != 4:
        demo.page.fill("#param-channels", str(channels))
        demo.page.fill("#param-out", str(out))
        demo.wait_hash(f"channels={channels}", f"out={out}")
    for groups in groups_list:
        _set_groups(demo, groups)
        demo.wait_hash(f"groups={groups}")
        matrix = demo.page.eval_on_selector_all(
            "[data-role='connectivity'] tbody tr",
            "rows => rows.map(r => Array.from(r.querySelectorAll('td'), c => +c.dataset.on))")
        per_in, per_out = channels // groups, out // groups
        assert matrix == [[int(c // per_in == o // per_out) for c in range(channels)]
                          for o in range(out)]
        assert demo.page.inner_text("[data-role='tf-shape']") == f"(3, 3, {per_in}, {out})"
        assert demo.page.inner_text("[data-role='torch-shape']") == f"({out}, {per_in}, 3, 3)"
        answer = ask(demo, "lessons/groups", asked["lessons/groups"][-1])
        assert answer["groups"] == groups
        rows = {method: values(demo, f"[data-role='methods'] tr[data-method='{method}'] td")
                for method in answer["outputs"]}
        i = int(demo.page.get_attribute("[data-role='methods']", "data-i"))
        j = int(demo.page.get_attribute("[data-role='methods']", "data-j"))
        assert (i, j) == (3, 3)  # the middle of the 6×6 SAME output
        for method, shown in rows.items():
            assert shown == answer["outputs"][method][0][i][j], method
        assert len({tuple(row) for row in rows.values()}) == 1
        assert values(demo, "[data-role='difference']") == [0.0]
    demo.assert_clean()


def test_lesson7_one_kernel_for_every_channel(demo: Demo) -> None:
    asked = open_recorded_lesson(demo, 7)
    body = asked["lessons/shared_kernel"][-1]
    answer = ask(demo, "lessons/shared_kernel", body)
    assert answer["shared"] is True and answer["max_abs_difference"] == 0
    assert values(demo, "[data-role='shared-kernel'] td") == flat(answer["kernel"])
    plain = ask(demo, "tf/depthwise_conv2d", body)
    outputs = demo.page.locator("[data-role='shared-output']")
    for channel in range(3):
        shown = [float(v) for v in outputs.nth(channel).locator("td").evaluate_all(
            "cells => cells.map(c => c.dataset.value)")]
        assert shown == flat(np.array(plain["output"])[0, :, :, channel].tolist())
    assert demo.page.get_attribute("[data-role='shared-difference']", "data-value") == "0"
    assert "groups=C" in demo.page.inner_text(".lesson-code")
    next_step(demo, 7)
    demo.wait_counter(37, 108)
    next_step(demo, 7)
    assert demo.page.is_disabled("#lesson-next")  # the last step of the last lesson
    demo.assert_clean()


def test_past_a_lessons_last_step_comes_the_next_lesson(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 5)
    next_step(demo, 5)
    next_step(demo, 5)
    assert demo.page.inner_text("#lesson-next").startswith("Next lesson")
    demo.page.click("#lesson-next")
    wait_lesson(demo, 6)
    demo.wait_hash("lesson=6", "lstep=0", "op=grouped")
    demo.assert_clean()


def test_code_panel_pytorch_snippet_reproduces_the_page(demo: Demo) -> None:
    pytest.importorskip("torch")
    open_page(demo, hash_="op=separable&source=ramp&height=5&width=5&channels=3&kh=3&kw=3"
              "&multiplier=1&out=4&kernels=identity,edge_x,laplacian&pointwise=random&padding=SAME")
    demo.wait_drawn()
    demo.tab("code")
    demo.page.wait_for_selector("#panel-code[data-ready='true']", state="attached",
                                timeout=TIMEOUT_MS)
    snippet = demo.page.inner_text("#code-text")
    assert "torch" in snippet and "import" in snippet
    for flavour, library in (("tf", "import tensorflow"), ("keras", "import keras")):
        demo.page.click(f"[data-flavour='{flavour}']")
        assert library in demo.page.inner_text("#code-text")
    demo.page.click("[data-flavour='pytorch']")
    assert demo.page.inner_text("#code-text") == snippet
    demo.page.click("#code-copy")
    demo.page.wait_for_function(
        "() => document.querySelector('#code-status').textContent.includes('Copied')")
    script = (snippet + "\nimport json as _j, numpy as _np\n"
              "print(_j.dumps(_np.asarray(output).tolist()))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    output = np.array(json.loads(run.stdout.strip().splitlines()[-1]))  # [1, H, W, O]
    # The page's own numbers: the finished output maps in the Numbers tab.
    demo.page.keyboard.press("End")
    demo.wait_stream_done()
    demo.tab("numbers")
    demo.page.wait_for_selector("#numbers pre[data-role='output-tensor'][data-stage='pointwise']")
    for k in range(4):
        rows = demo.page.eval_on_selector(
            f"#numbers table[data-role='output-map'][data-channel='{k}']",
            "t => Array.from(t.tBodies[0].rows, r => Array.from(r.cells).slice(1)"
            ".map(c => +c.dataset.value))")
        np.testing.assert_allclose(output[0, :, :, k], rows, rtol=1e-6, atol=1e-6)
    demo.assert_clean()


def test_a_lesson_reopens_from_its_url(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 2)
    next_step(demo, 2)
    demo.page.wait_for_function("() => location.hash.includes('lstep=1')")
    url = demo.page.url
    demo.page.goto("about:blank")
    demo.page.goto(url)
    wait_lesson(demo, 2)
    assert demo.page.get_attribute("#lesson-text", "data-step") == "1"
    assert "39" in demo.page.inner_text("#lesson-text")


def test_a_lesson_waits_for_its_operation_and_restores_it(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 3)
    demo.page.check("#operations input[value='depthwise']")
    demo.page.wait_for_selector("#lesson-mismatch:not([hidden])")
    assert "Separable" in demo.page.inner_text("#lesson-mismatch")
    assert demo.page.is_hidden("#lesson-widget")
    demo.page.click("#lesson-restore")
    wait_lesson(demo, 3)
    demo.wait_hash("op=separable", "lesson=3")
    assert demo.page.is_hidden("#lesson-mismatch")
    assert demo.page.get_attribute(".lesson-verdict", "data-equal") == "true"
    demo.assert_clean()
