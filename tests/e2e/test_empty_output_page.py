"""The page with a window larger than the input (issue 10): TF eager truncates the VALID
output size toward zero, so the answer is an empty output, not an error. The page must
load it, say the output is empty, and throw nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_a_window_larger_than_the_input_gives_an_empty_stage(demo) -> None:
    # Height 3, kernel 7, stride 3, VALID: (3 - 7 + 3) / 3 = -1/3, truncated to 0 rows
    # (the API refused this before; TF eager answers an empty output).
    demo.page.goto(f"{demo.base_url}/#op=depthwise&height=3&width=5&kh=7&kw=3&sh=3&sw=1"
                   "&padding=VALID")
    demo.page.wait_for_selector("body[data-ready]")
    message = demo.page.get_by_text("This configuration has an empty output").first
    message.wait_for(state="visible")
    assert demo.page.get_by_text("No steps").first.is_visible()
    demo.screenshot("empty-output")
    demo.assert_clean()
