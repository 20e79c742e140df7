"""Quiz and keyboard, as a teacher uses them (issue 9): real clicks, then keys.

A clicker sends PageDown / PageUp / → / ← / Space; after a mouse click on an
operation, a tab or a button those keys must drive the player, not the control.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo

pytestmark = pytest.mark.e2e

SEED = ("op=depthwise&source=ramp&height=4&width=4&channels=2&kh=3&kw=3&kernels=0,2,1,3"
        "&multiplier=2&padding=VALID")


def _checked_op(demo: Demo) -> str:
    return demo.page.eval_on_selector("input[name=op]:checked", "input => input.value")


def _playing(demo: Demo) -> bool:
    return demo.page.get_attribute("#play", "aria-pressed") == "true"


def _wait_playing(demo: Demo, playing: bool) -> None:
    demo.page.wait_for_selector(f"#play[aria-pressed='{str(playing).lower()}']", state="attached")


def _open_quiz(demo: Demo) -> object:
    """The seed example, all its steps received, with the quiz turned on by its button."""
    demo.open(SEED)
    demo.wait_stream_done()
    page = demo.page
    page.get_by_role("button", name="Quiz").click()
    page.wait_for_selector("#quiz:not([hidden])")
    return page


def test_quiz_turned_on_at_step_1_asks_at_once_and_its_buttons_answer(demo: Demo) -> None:
    page = _open_quiz(demo)
    question = page.inner_text("#quiz-step-question")
    assert "Step 2" in question and "out[0, 1, 0]" in question, question
    assert page.is_enabled("#quiz-step-answer")
    page.fill("#quiz-step-answer", "1")
    page.locator("#quiz-step-form").get_by_role("button", name="Check").click()
    page.wait_for_selector("#quiz-step-feedback[data-kind='wrong']")
    page.locator("#quiz-step-form").get_by_role("button", name="Show me").click()
    page.wait_for_selector("#quiz-step-feedback[data-kind='revealed']")
    assert "out[0, 1, 0] = 0" in page.inner_text("#quiz-step-feedback")
    demo.wait_counter(2, 16)
    demo.assert_clean()


def test_a_wrong_weight_count_names_no_missing_button(demo: Demo) -> None:
    page = _open_quiz(demo)
    form = page.locator("#quiz-params-form")
    page.fill("#quiz-params-answer", "12")
    form.get_by_role("button", name="Check").click()
    page.wait_for_selector("#quiz-params-feedback[data-kind='wrong']")
    message = page.inner_text("#quiz-params-feedback")
    assert "12" in message, message
    # Any button the message names by its label is a button of this form.
    labels = {label.strip() for label in form.get_by_role("button").all_inner_texts()}
    named = set(re.findall(r"[“\"]([^”\"]+)[”\"]", message))
    assert named <= labels, (named, labels)
    assert "Show me" not in message
    demo.assert_clean()


def test_old_answers_go_when_the_operation_changes(demo: Demo) -> None:
    page = _open_quiz(demo)
    page.get_by_role("button", name="Step forward").click()  # a question whatever the step rule
    demo.wait_counter(2, 16)
    page.fill("#quiz-step-answer", "1")
    page.locator("#quiz-step-form").get_by_role("button", name="Check").click()
    page.wait_for_selector("#quiz-step-feedback[data-kind='wrong']")
    page.fill("#quiz-params-answer", "12")
    page.locator("#quiz-params-form").get_by_role("button", name="Check").click()
    page.wait_for_selector("#quiz-params-feedback[data-kind='wrong']")
    page.fill("#quiz-step-answer", "7")
    page.get_by_role("radio", name="Standard").click()
    demo.wait_hash("op=standard")
    page.wait_for_function(
        "() => !document.querySelector('#quiz-step-feedback').textContent"
        " && !document.querySelector('#quiz-params-feedback').textContent"
        " && !document.querySelector('#quiz-step-answer').value"
        " && !document.querySelector('#quiz-params-answer').value", timeout=TIMEOUT_MS)
    demo.wait_stream_done()
    assert "Step 3: what is out[1, 0, 0]?" in page.inner_text("#quiz-step-question")
    demo.assert_clean()


def test_after_clicking_an_operation_the_clicker_keys_drive_the_player(demo: Demo) -> None:
    demo.open(SEED)
    demo.wait_stream_done()
    page = demo.page
    keyboard = page.keyboard
    page.get_by_role("radio", name="Separable").click()
    demo.wait_hash("op=separable")
    demo.wait_stream_done()
    demo.wait_counter(1, 20)
    keyboard.press("ArrowRight")
    demo.wait_counter(2, 20)
    keyboard.press("ArrowLeft")
    demo.wait_counter(1, 20)
    assert _checked_op(demo) == "separable"
    # The clicker's Page Down / Page Up jump between the depthwise and pointwise stages.
    keyboard.press("PageDown")
    demo.wait_counter(17, 20)
    keyboard.press("PageUp")
    demo.wait_counter(1, 20)
    keyboard.press(" ")
    _wait_playing(demo, True)
    keyboard.press(" ")
    _wait_playing(demo, False)
    assert _checked_op(demo) == "separable"
    demo.assert_clean()


def test_after_clicking_a_tab_a_button_or_a_menu_the_keys_drive_the_player(demo: Demo) -> None:
    demo.open(f"{SEED}&op=separable")
    demo.wait_stream_done()
    page = demo.page
    keyboard = page.keyboard
    # A panel tab (ARIA tabs): clicked, it shows its panel; → then steps, the tab stays.
    page.get_by_role("tab", name="Numbers").click()
    page.wait_for_selector("#panel-numbers:not([hidden])")
    keyboard.press("ArrowRight")
    demo.wait_counter(2, 20)
    assert page.get_attribute("#tab-numbers", "aria-selected") == "true"
    # A button (the quiz toggle, a stage tab): Space plays instead of pressing it again.
    page.get_by_role("button", name="Quiz").click()
    page.wait_for_selector("#quiz:not([hidden])")
    keyboard.press(" ")
    _wait_playing(demo, True)
    keyboard.press(" ")
    _wait_playing(demo, False)
    assert page.is_visible("#quiz")
    page.get_by_role("button", name="2. Pointwise").click()
    demo.wait_counter(17, 20)
    keyboard.press("ArrowRight")
    demo.wait_counter(18, 20)
    keyboard.press("PageUp")
    demo.wait_counter(1, 20)
    # A menu chosen with the mouse: the keys come back to the player too.
    page.click("#param-speed")
    page.select_option("#param-speed", "1")
    keyboard.press("ArrowRight")
    demo.wait_counter(2, 20)
    assert page.input_value("#param-speed") == "1"
    # A field the user types in keeps its arrows, but the clicker's Page Down still works.
    page.click("#param-seed")
    keyboard.press("ArrowRight")
    keyboard.press("PageDown")
    demo.wait_counter(17, 20)
    demo.assert_clean()
