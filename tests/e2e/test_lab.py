"""The training lab in Chromium: reached from the page's visible control, trained by clicking
Train, read back as the numbers on screen and compared with the API's own answer."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo, _demo
from tests.e2e.lessons_helpers import open_lesson, open_page

pytestmark = pytest.mark.e2e
pytest.importorskip("sklearn", reason="the lab's digits need scikit-learn (the lab extra)")

TRAIN_TIMEOUT_MS = 90_000
EPOCHS = 3


def set_number(demo: Demo, label: str, value: int) -> None:
    """Type a number into the field labelled ``label``, the way a person does."""
    field = demo.page.get_by_label(label, exact=True)
    field.click()
    field.press("Control+A")
    field.type(str(value))
    field.press("Tab")


def train(demo: Demo, button: str = "Train") -> None:
    demo.page.get_by_role("button", name=button, exact=True).click()
    demo.page.wait_for_selector(
        "#lab-verdict[data-ready='true']", state="attached", timeout=TRAIN_TIMEOUT_MS)


def card_numbers(demo: Demo) -> list[dict[str, str]]:
    return demo.page.eval_on_selector_all(
        ".lab-run",
        """cards => cards.map(card => Object.fromEntries(
            [...card.querySelectorAll('dd[data-role]')].map(dd => [dd.dataset.role, dd.textContent])
            .concat([['title', card.querySelector('h3').textContent],
                     ['filters', card.querySelector('canvas').dataset.filters]])))""",
    )


def api_accuracy(demo: Demo, body: dict) -> float:
    response = httpx.post(f"{demo.base_url}/api/v1/lab/train", json=body, timeout=60)
    lines = [line for line in response.text.splitlines() if line]
    import json

    end = json.loads(lines[-1])
    assert end["event"] == "end", end
    return end["test_accuracy"]


@pytest.fixture
def small_screen(browser: object, page_server: str):
    yield from _demo(browser, page_server, 1280, 720)


def test_the_page_opens_the_lab_and_train_shows_the_servers_numbers(small_screen: Demo) -> None:
    demo = small_screen
    open_page(demo)
    demo.page.get_by_role("link", name="Training lab").click()
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    assert demo.page.url.split("?")[0].endswith("/lab")
    assert demo.page.locator(".lab-run").count() == 4
    set_number(demo, "Epochs", EPOCHS)
    train(demo)
    cards = card_numbers(demo)
    assert [card["title"] for card in cards] == [
        "1. standard conv", "2. separable, M = 1", "3. separable, pointwise fixed at ones, M = 1",
        "4. separable, M = 2",
    ]
    bodies = [
        {"first_layer": "standard"},
        {"first_layer": "separable", "channel_multiplier": 1},
        {"first_layer": "separable_fixed_pointwise", "channel_multiplier": 1},
        {"first_layer": "separable", "channel_multiplier": 2},
    ]
    shown = []
    for card, body in zip(cards, bodies, strict=True):
        accuracy = api_accuracy(demo, {**body, "channel_multiplier": body.get(
            "channel_multiplier", 1), "epochs": EPOCHS, "seed": 0, "dataset": "digits"})
        assert card["accuracy"] == f"{accuracy * 100:.1f} %"
        assert card["epoch"] == f"{EPOCHS} / {EPOCHS}"
        assert card["filters"] == "8"
        shown.append(accuracy)
    assert [card["params"] for card in cards] == ["80", "25", "25", "42"]
    assert [card["macs"] for card in cards] == ["4,608", "1,088", "1,088", "2,176"]
    # M = 1 (with or without a trained pointwise): every output filter is one pattern.
    assert [card["rank"] for card in cards][1:3] == ["1 of 8", "1 of 8"]
    assert demo.page.get_attribute("#lab-accuracy-chart", "data-points") == str(4 * EPOCHS)
    verdict = demo.page.inner_text("#lab-verdict")
    best = max(range(4), key=lambda n: shown[n])
    assert f"Best: {cards[best]['title']}, {shown[best] * 100:.1f} %" in verdict
    assert "the 8 output filters are one pattern" in verdict
    assert "#preset=seed" in demo.page.url and f"epochs={EPOCHS}" in demo.page.url
    assert demo.page.evaluate("document.documentElement.scrollWidth") <= 1280
    size = demo.page.eval_on_selector(
        ".lab-run dd[data-role='accuracy']", "node => parseFloat(getComputedStyle(node).fontSize)")
    assert size >= 20  # the number a class reads from the back
    demo.screenshot("lab-1280x720")
    demo.assert_clean()


def test_a_runs_own_settings_change_what_is_trained(demo: Demo) -> None:
    demo.page.goto(f"{demo.base_url}/lab#preset=multiplier")
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    set_number(demo, "Epochs", 2)
    first = demo.page.locator(".lab-run").first
    first.get_by_label("Layer").select_option("depthwise")
    multiplier = first.get_by_label("M", exact=True)
    multiplier.click()
    multiplier.press("Control+A")
    multiplier.type("4")
    multiplier.press("Tab")
    assert "runs=depthwise%3A4" in demo.page.url
    train(demo)
    card = card_numbers(demo)[0]
    assert card["title"] == "1. depthwise only, M = 4"
    assert card["filters"] == "4" and card["rank"] == "4 of 4"
    assert card["params"] == "40"  # 3*3*1*4 weights + 4 biases
    demo.screenshot("lab-1920x1080")
    demo.assert_clean()


def test_the_fan_in_preset_trains_the_wrong_depthwise_initialisation(demo: Demo) -> None:
    """The classic bug made visible: a second separable layer over the first layer's 8
    outputs, its depthwise kernel drawn with fan-in k*k (right) or k*k*C (wrong)."""
    demo.page.goto(f"{demo.base_url}/lab")
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    demo.page.get_by_label("Experiment").select_option(
        label="Depthwise fan-in: k·k (right) against k·k·C (the classic bug), with a second "
        "separable layer")
    set_number(demo, "Epochs", 2)
    train(demo)
    cards = card_numbers(demo)
    assert [card["title"] for card in cards] == [
        "1. standard conv + separable layer 2, fan-in k·k",
        "2. standard conv + separable layer 2, fan-in k·k·C (wrong)",
        "3. separable, M = 1 + separable layer 2, fan-in k·k",
        "4. separable, M = 1 + separable layer 2, fan-in k·k·C (wrong)",
    ]
    common = {"second_layer": "separable", "optimizer": "sgd", "learning_rate": 0.05,
              "epochs": 2, "seed": 0, "dataset": "digits"}
    right = api_accuracy(demo, {**common, "first_layer": "standard", "channel_multiplier": 1})
    wrong = api_accuracy(demo, {**common, "first_layer": "standard", "channel_multiplier": 1,
                                "depthwise_fan_in": "kh_kw_c"})
    assert [cards[0]["accuracy"], cards[1]["accuracy"]] == [
        f"{right * 100:.1f} %", f"{wrong * 100:.1f} %"]
    assert right != wrong
    assert "#preset=fan_in" in demo.page.url
    demo.assert_clean()


def test_the_chinese_lab(demo: Demo) -> None:
    demo.page.goto(f"{demo.base_url}/lab?lang=zh-CN#epochs=2")
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    assert demo.page.inner_text("h1") == "训练实验室"
    train(demo, "训练")
    verdict = demo.page.inner_text("#lab-verdict")
    assert "最好的是" in verdict
    assert not re.search(r"\b(Best|reached|points)\b", verdict)
    demo.assert_clean()


def test_lesson_4_trains_the_question_and_links_to_the_lab(demo: Demo) -> None:
    open_page(demo)
    open_lesson(demo, 4)
    demo.page.wait_for_selector(
        "[data-role='lab-numbers'][data-ready='true']", state="attached", timeout=TRAIN_TIMEOUT_MS)
    sentence = demo.page.inner_text("[data-role='lab-accuracies']")
    accuracy = api_accuracy(demo, {"first_layer": "standard"})
    assert f"standard conv: {accuracy * 100:.1f} %" in sentence
    demo.page.get_by_role(
        "link", name="Train these four networks for real in the training lab").click()
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    assert demo.page.input_value("#lab-preset") == "seed"
    demo.assert_clean()


def test_the_backward_pass_of_one_training_step_is_played_step_by_step(demo: Demo) -> None:
    import json

    demo.page.goto(f"{demo.base_url}/lab#preset=seed")
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    demo.page.get_by_role("combobox", name=re.compile(r"^Run\b")).select_option(
        label="1. standard conv")
    set_number(demo, "Training image", 7)
    demo.page.get_by_role("button", name="Show the backward pass").click()
    demo.page.wait_for_selector("#lab-backward[data-ready='true']", state="attached",
                                timeout=TIMEOUT_MS)
    for _ in range(3):
        demo.page.get_by_role("button", name="Next", exact=True).click()
    assert demo.page.inner_text("#lab-backward-counter") == "Step 4 / 136"  # 72 + 64 steps
    shown = demo.page.inner_text("#lab-backward-step output")
    # The same step from the API: one training step's request, then its backward trace.
    body = {"first_layer": "standard", "channel_multiplier": 1, "example": 7}
    step = httpx.post(f"{demo.base_url}/api/v1/lab/backward", json=body, timeout=30).json()
    trace = httpx.post(f"{demo.base_url}/api/v1/trace/backward",
                       json={**step["trace_request"], "encoding": "json", "precision": 6},
                       timeout=30).text
    chunk = next(json.loads(line) for line in trace.splitlines() if '"chunk"' in line)
    assert chunk["stage"] == "filter_gradient"
    assert shown == f"Σ = {chunk['fields']['sum'][3]:.3f}".replace("-0.000", "-0.000")
    title = demo.page.inner_text(".lab-backward-title")
    assert title.startswith("dL/dw[1, 0, 0, 0]")  # step 3: o = 0, c = 0, tap (1, 0)
    grids = demo.page.locator("#lab-backward-step table")
    assert grids.count() == 3  # input under the tap, dL/dy, products
    demo.page.get_by_role("button", name="Last step").click()
    assert demo.page.get_attribute("#lab-backward-step", "data-stage") == "input_gradient"
    demo.assert_clean()


def test_an_uploaded_mnist_is_chosen_with_the_file_chooser_and_trained(demo: Demo, tmp_path):
    import numpy as np

    rng = np.random.default_rng(2)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (48, 28, 28)).astype(np.uint8),
             y_train=rng.integers(0, 10, 48),
             x_test=rng.integers(0, 256, (16, 28, 28)).astype(np.uint8),
             y_test=rng.integers(0, 10, 16))
    demo.page.goto(f"{demo.base_url}/lab#epochs=1")
    demo.page.wait_for_selector("body[data-ready]", timeout=TIMEOUT_MS)
    with demo.page.expect_file_chooser() as chooser:
        demo.page.get_by_text("Open MNIST…").click()
    chooser.value.set_files(str(path))
    demo.page.wait_for_function(
        "() => document.querySelector('#lab-status').textContent.includes('MNIST uploaded')",
        timeout=TIMEOUT_MS)
    assert "48 training and 16 test images" in demo.page.inner_text("#lab-status")
    selected = demo.page.eval_on_selector("#lab-dataset", "s => s.selectedOptions[0].textContent")
    assert selected == "MNIST (uploaded, 48 + 16 images)"
    assert "upload=" in demo.page.url
    train(demo)
    assert [card["epoch"] for card in card_numbers(demo)] == ["1 / 1"] * 4
    # 28x28 inputs: the first layer's multiply-adds are per 28x28 image.
    assert card_numbers(demo)[0]["macs"] == f"{28 * 28 * 9 * 8:,}"
    demo.assert_clean()
