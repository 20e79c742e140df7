"""Output size and padding: ``resolve_padding`` and what the ops make of it.

Hand-worked values first, then an exhaustive comparison with the reference's
own formula, then the rules seen through the ops: the odd SAME pad goes to the
bottom/right, explicit pads are zeros, VALID may give an empty output with the
right shape, and a negative output size is an error naming ``padding``.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from app.engine import (
    Padding2D,
    conv2d,
    depthwise_conv2d,
    effective_kernel_size,
    resolve_padding,
    separable_conv2d,
    torch_conv2d,
)
from tests.engine import reference


@pytest.mark.parametrize(
    ("kernel", "dilation", "span"), [(1, 1, 1), (1, 3, 1), (3, 1, 3), (3, 2, 5), (4, 3, 10)]
)
def test_effective_kernel_size(kernel: int, dilation: int, span: int) -> None:
    assert effective_kernel_size(kernel, dilation) == span


# (size, kernel, stride, dilation, padding) -> (before, after, output): worked by hand.
AXIS_CASES = [
    (5, 3, 1, 1, "VALID", (0, 0, 3)),
    (7, 3, 2, 1, "VALID", (0, 0, 3)),
    (8, 3, 2, 1, "VALID", (0, 0, 3)),  # the last row is never read
    (7, 3, 1, 2, "VALID", (0, 0, 3)),  # span 5
    (2, 3, 1, 1, "VALID", (0, 0, 0)),  # one short of the window: empty
    (2, 3, 2, 1, "VALID", (0, 0, 0)),
    (3, 3, 1, 1, "SAME", (1, 1, 3)),  # even total
    (4, 2, 1, 1, "SAME", (0, 1, 4)),  # odd total: the extra zero goes after
    (4, 4, 1, 1, "SAME", (1, 2, 4)),
    (5, 4, 2, 1, "SAME", (1, 2, 3)),  # out 3, total (3-1)*2 + 4 - 5 = 3
    (4, 3, 2, 1, "SAME", (0, 1, 2)),
    (6, 1, 3, 1, "SAME", (0, 0, 2)),  # (2-1)*3 + 1 - 6 < 0 clamps to 0
    (5, 3, 1, 3, "SAME", (3, 3, 5)),  # span 7
    (5, 2, 1, 3, "SAME", (1, 2, 5)),  # span 4
    (5, 3, 1, 1, (2, 0), (2, 0, 5)),
    (5, 3, 2, 1, (0, 3), (0, 3, 3)),
    (1, 3, 1, 1, (1, 1), (1, 1, 1)),
]


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "padding", "expected"), AXIS_CASES
)
def test_resolve_padding_worked_examples(
    size: int, kernel: int, stride: int, dilation: int, padding, expected: tuple[int, int, int]
) -> None:
    before, after, output = expected
    spatial = padding if isinstance(padding, str) else (padding, (0, 0))
    height_only = resolve_padding((size, 1), (kernel, 1), (stride, 1), (dilation, 1), spatial)
    assert (height_only.pad_top, height_only.pad_bottom, height_only.output_height) == expected
    spatial = padding if isinstance(padding, str) else ((0, 0), padding)
    width_only = resolve_padding((1, size), (1, kernel), (1, stride), (1, dilation), spatial)
    assert (width_only.pad_left, width_only.pad_right, width_only.output_width) == expected
    assert reference.axis_geometry(size, kernel, stride, dilation, padding) == expected


def test_resolve_padding_agrees_with_the_reference_formula_everywhere() -> None:
    """Every small axis, both modes and a few explicit pads, errors included."""
    paddings = ["SAME", "VALID", (0, 0), (1, 0), (0, 2), (2, 3)]
    for size, kernel, stride, dilation, padding in itertools.product(
        range(0, 12), range(1, 6), range(1, 4), range(1, 4), paddings
    ):
        try:
            expected = reference.axis_geometry(size, kernel, stride, dilation, padding)
        except ValueError:
            expected = None
        spatial = padding if isinstance(padding, str) else (padding, (0, 0))
        try:
            pads = resolve_padding((size, 3), (kernel, 1), (stride, 1), (dilation, 1), spatial)
        except ValueError:
            assert expected is None, (size, kernel, stride, dilation, padding)
            continue
        got = (pads.pad_top, pads.pad_bottom, pads.output_height)
        assert got == expected, (size, kernel, stride, dilation, padding)


def test_resolve_padding_lower_case_mode_means_the_same() -> None:
    args = ((5, 6), (2, 3), (2, 1), (1, 2))
    assert resolve_padding(*args, "same") == resolve_padding(*args, "SAME")
    assert resolve_padding(*args, "valid") == resolve_padding(*args, "VALID")


def test_padding2d_views() -> None:
    pads = resolve_padding((4, 5), (2, 2), (1, 2), (1, 1), "SAME")
    assert pads == Padding2D(0, 1, 0, 1, 4, 3)
    assert pads.output_shape == (4, 3)
    assert pads.as_dict() == {
        "pad_top": 0, "pad_bottom": 1, "pad_left": 0, "pad_right": 1,
        "output_height": 4, "output_width": 3,
    }


# --------------------------------------------------------------------------- through the ops


def corner_delta(kernel: int, channels: int) -> np.ndarray:
    """Depthwise filter (kernel, kernel, C, 1) reading only the window's top-left tap."""
    w = np.zeros((kernel, kernel, channels, 1))
    w[0, 0] = 1.0
    return w


def test_same_puts_the_odd_pad_at_the_bottom_right() -> None:
    """A 2x2 top-left delta under SAME: pad_top = pad_left = 0, so out == x exactly.

    Had the odd zero gone to the top/left, the output would be shifted by one.
    """
    x = np.arange(1.0, 1 + 2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    out = depthwise_conv2d(x, corner_delta(2, 3), [1, 1], "SAME")
    np.testing.assert_array_equal(out, x)
    # The bottom-right tap reads the zero row/column at the bottom/right.
    w = np.zeros((2, 2, 3, 1))
    w[1, 1] = 1.0
    out = depthwise_conv2d(x, w, 1, "SAME")
    np.testing.assert_array_equal(out[:, :-1, :-1], x[:, 1:, 1:])
    assert not out[:, -1].any() and not out[:, :, -1].any()


def test_same_asymmetry_with_stride_in_every_op() -> None:
    """In 5, kernel 4, stride 2: pads (1, 2), output 3, on both axes."""
    x = np.arange(25.0).reshape(1, 5, 5, 1)
    w = corner_delta(4, 1)
    expected = np.pad(x, ((0, 0), (1, 2), (1, 2), (0, 0)))[:, 0:5:2, 0:5:2]  # taps at 0, 2, 4
    np.testing.assert_array_equal(depthwise_conv2d(x, w, 2, "SAME"), expected)
    np.testing.assert_array_equal(conv2d(x, w, 2, "SAME"), expected)
    np.testing.assert_array_equal(
        separable_conv2d(x, w, np.ones((1, 1, 1, 1)), 2, "SAME"), expected
    )
    # PyTorch 'same' (stride 1) pads like TF SAME: kernel 2 pads (0, 1).
    weight = np.zeros((1, 1, 2, 2))
    weight[0, 0, 0, 0] = 1.0
    np.testing.assert_array_equal(
        torch_conv2d(x.transpose(0, 3, 1, 2), weight, padding="same"), x.transpose(0, 3, 1, 2)
    )


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_explicit_padding_is_zero_padding_then_valid(data_format: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 5, 3))
    w = rng.standard_normal((3, 2, 3, 2))
    (top, bottom), (left, right) = (2, 0), (1, 3)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    expected = depthwise_conv2d(padded, w, [1, 2], "VALID")
    if data_format == "NHWC":
        padding = [[0, 0], [top, bottom], [left, right], [0, 0]]
        got = depthwise_conv2d(x, w, [1, 2], padding, data_format)
    else:
        padding = [[0, 0], [0, 0], [top, bottom], [left, right]]
        got = depthwise_conv2d(x.transpose(0, 3, 1, 2), w, [1, 2], padding, data_format)
        got = got.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("input_shape", "kernel", "strides", "output_hw"),
    [
        ((2, 2, 5, 3), (3, 3), 1, (0, 3)),  # height one short of the window
        ((1, 4, 2, 2), (2, 3), 1, (3, 0)),
        ((3, 3, 3, 1), (5, 5), 3, (0, 0)),  # two short, but the stride is 3
        ((1, 1, 1, 2), (2, 2), [1, 1], (0, 0)),
        # TF truncates toward zero: (1 - 4 + 2) / 2 = -0.5 -> 0 (issue 10's example).
        ((1, 1, 1, 1), (4, 4), 2, (0, 0)),
        ((1, 2, 7, 1), (5, 3), [3, 2], (0, 3)),  # (2 - 5 + 3) / 3 = 0; (7 - 3 + 2) / 2 = 3
        ((1, 1, 6, 2), (4, 1), [3, 1], (0, 6)),  # (1 - 4 + 3) / 3 = 0
        ((1, 2, 6, 2), (5, 1), [3, 1], (0, 6)),  # (2 - 5 + 3) / 3 = 0, a window 3 too big
        ((1, 1, 6, 2), (5, 1), [3, 1], (0, 6)),  # (1 - 5 + 3) / 3 = -1/3 -> 0
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_valid_smaller_than_the_window_gives_an_empty_output(
    input_shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    strides,
    output_hw: tuple[int, int],
    dtype: type,
) -> None:
    n, h, w, c = input_shape
    multiplier, out_channels = 2, 5
    x = np.ones(input_shape, dtype=dtype)
    depthwise = np.ones((*kernel, c, multiplier), dtype=dtype)
    pointwise = np.ones((1, 1, c * multiplier, out_channels), dtype=dtype)
    out = depthwise_conv2d(x, depthwise, strides, "VALID")
    assert out.shape == (n, *output_hw, c * multiplier) and out.dtype == dtype
    out = depthwise_conv2d(x.transpose(0, 3, 1, 2), depthwise, strides, "VALID", "NCHW")
    assert out.shape == (n, c * multiplier, *output_hw) and out.dtype == dtype
    out = separable_conv2d(x, depthwise, pointwise, strides, "VALID")
    assert out.shape == (n, *output_hw, out_channels) and out.dtype == dtype
    out = conv2d(x, np.ones((*kernel, c, out_channels)), strides, "VALID")
    assert out.shape == (n, *output_hw, out_channels) and out.dtype == dtype


@pytest.mark.parametrize(
    ("height", "width", "kernel", "dilation", "axis", "span", "padded"),
    [
        (1, 5, 3, 1, "height", 3, 1),  # (1 - 3 + 1) < 0
        (5, 2, 3, 2, "width", 5, 2),
        (9, 1, 4, 1, "width", 4, 1),
    ],
)
def test_negative_output_size_is_an_error_naming_padding(
    height: int, width: int, kernel: int, dilation: int, axis: str, span: int, padded: int
) -> None:
    x = np.ones((1, height, width, 2))
    w = np.ones((kernel, kernel, 2, 1))
    message = (
        f"padding: the {axis} window spans {span} (kernel {kernel}, dilation {dilation}) but "
        f"the padded input is only {padded}; the output size would be negative "
        f"(({padded} - {span} + 1) / 1, truncated toward zero as TF does)"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        depthwise_conv2d(x, w, 1, "VALID", dilations=dilation)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        conv2d(x, w, 1, "VALID", dilations=dilation)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        resolve_padding((height, width), (kernel, kernel), (1, 1), (dilation, dilation), "VALID")


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "output"),
    [
        (1, 4, 2, 0),  # numerator -1: truncated to 0 (TF eager), not an error
        (1, 4, 3, 0),  # -0, -1/3, ... all 0
        (1, 5, 3, 0),  # numerator -1
        (2, 6, 3, 0),  # numerator -1
        (3, 4, 2, 0),  # numerator 1
        (4, 4, 2, 1),
    ],
)
def test_valid_output_size_truncates_toward_zero_like_tf(
    size: int, kernel: int, stride: int, output: int
) -> None:
    pads = resolve_padding((size, size), (kernel, kernel), (stride, stride), (1, 1), "VALID")
    assert pads.output_shape == (output, output)
    explicit = resolve_padding((size - 1, size), (kernel, kernel), (stride, stride), (1, 1),
                               ((1, 0), (0, 0)))
    assert explicit.output_shape == (output, output)


@pytest.mark.parametrize(("size", "kernel", "stride"), [(1, 4, 1), (1, 5, 2), (1, 7, 3)])
def test_a_negative_quotient_stays_an_error(size: int, kernel: int, stride: int) -> None:
    # (1 - 4 + 1) / 1 = -2, (1 - 5 + 2) / 2 = -1, (1 - 7 + 3) / 3 = -1: TF refuses these too.
    with pytest.raises(ValueError, match="^padding: the height window .* would be negative"):
        resolve_padding((size, size), (kernel, kernel), (stride, stride), (1, 1), "VALID")
