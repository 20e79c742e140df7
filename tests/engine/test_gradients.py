"""The engine's backprop functions against their loop twin, the forward op and finite differences.

Configurations are ``test_ops.py``'s seeded ones (so they cover the same axes: strides 1-3
and unequal, SAME odd/even, VALID, explicit pads, dilations, groups, M 1-4, NHWC/NCHW,
batch 1-3, float32/float64/int, kernels 1x1 to 7x7, empty outputs); ``out_backprop`` is
drawn from the same seed. ``gold`` from ``gradient_reference.py``, ``mine`` from the engine.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from app.engine import (
    conv2d,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    depthwise_conv2d,
    depthwise_conv2d_backprop_filter,
    depthwise_conv2d_backprop_input,
)
from tests.engine import gradient_reference
from tests.engine.test_ops import TfCase, assert_matches, draw_tf_case, random_values

CONV2D_SEEDS = range(35)
DEPTHWISE_SEEDS = range(50)

BACKPROP = {
    "conv2d": (conv2d, conv2d_backprop_input, conv2d_backprop_filter),
    "depthwise_conv2d": (
        depthwise_conv2d, depthwise_conv2d_backprop_input, depthwise_conv2d_backprop_filter,
    ),
}
GOLD = {
    "conv2d": (
        gradient_reference.conv2d_backprop_input, gradient_reference.conv2d_backprop_filter,
    ),
    "depthwise_conv2d": (
        gradient_reference.depthwise_conv2d_backprop_input,
        gradient_reference.depthwise_conv2d_backprop_filter,
    ),
}


def output_shape(case: TfCase, out_channels: int) -> tuple[int, ...]:
    batch = case.x.shape[0]
    ho, wo = case.window.output_hw
    if case.data_format == "NHWC":
        return (batch, ho, wo, out_channels)
    return (batch, out_channels, ho, wo)


@functools.cache
def gradient_case(seed: int, op: str):
    """``(case, out_backprop, gold_input_gradient, gold_filter_gradient)``."""
    case = draw_tf_case(seed, op)
    out_channels = case.filters.shape[3] * (1 if op == "conv2d" else case.filters.shape[2])
    kind = "int" if case.x.dtype.kind == "i" else case.x.dtype.name
    dy = random_values(np.random.default_rng([seed, 7]), output_shape(case, out_channels), kind)
    window = case.window
    args = (window.strides, window.padding, case.data_format, window.dilations)
    gold_input, gold_filter = GOLD[op]
    return (
        case, dy,
        gold_input(case.x.shape, case.filters, dy, *args),
        gold_filter(case.x, case.filters.shape, dy, *args),
    )


@pytest.mark.parametrize(
    ("op", "seed"),
    [("conv2d", seed) for seed in CONV2D_SEEDS]
    + [("depthwise_conv2d", seed) for seed in DEPTHWISE_SEEDS],
)
def test_backprop_matches_the_loop_twin(op: str, seed: int) -> None:
    case, dy, gold_input, gold_filter = gradient_case(seed, op)
    _, backprop_input, backprop_filter = BACKPROP[op]
    mine_input = backprop_input(list(case.x.shape), case.filters, dy, **case.engine_kwargs)
    mine_filter = backprop_filter(case.x, list(case.filters.shape), dy, **case.engine_kwargs)
    assert_matches(mine_input, gold_input, dy.dtype)
    assert_matches(mine_filter, gold_filter, case.x.dtype)


@pytest.mark.parametrize(
    ("op", "seed"),
    [("conv2d", seed) for seed in CONV2D_SEEDS[:12]]
    + [("depthwise_conv2d", seed) for seed in DEPTHWISE_SEEDS[:12]],
)
def test_backprop_is_the_adjoint_of_the_forward_op(op: str, seed: int) -> None:
    """``<conv(x, w), dy> = <x, dL/dx> = <w, dL/dw>``: the gradients of the op we ship."""
    case, dy, _, _ = gradient_case(seed, op)
    x, w, dy = (np.asarray(a, dtype=np.float64) for a in (case.x, case.filters, dy))
    forward, backprop_input, backprop_filter = BACKPROP[op]
    loss = np.sum(forward(x, w, **case.engine_kwargs) * dy)
    dx = backprop_input(list(x.shape), w, dy, **case.engine_kwargs)
    dw = backprop_filter(x, list(w.shape), dy, **case.engine_kwargs)
    np.testing.assert_allclose(np.sum(x * dx), loss, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(np.sum(w * dw), loss, rtol=1e-10, atol=1e-9)


FINITE_DIFFERENCE_CASES = [
    ("conv2d", dict(strides=[2, 1], padding="SAME", dilations=None), (2, 5, 6, 4), (3, 2, 2, 4)),
    ("conv2d", dict(strides=1, padding=[[0, 0], [1, 0], [2, 1], [0, 0]], dilations=2),
     (1, 6, 5, 3), (2, 3, 3, 2)),
    ("depthwise_conv2d", dict(strides=[1, 2, 2, 1], padding="SAME", dilations=None),
     (2, 5, 5, 2), (3, 3, 2, 3)),
    ("depthwise_conv2d", dict(strides=1, padding="VALID", dilations=[2, 1]),
     (1, 6, 5, 3), (2, 2, 3, 2)),
]


def _central_difference(function, point: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """dL/d(point) of a scalar function, one coordinate at a time (small shapes only)."""
    gradient = np.zeros_like(point)
    for index in np.ndindex(point.shape):
        saved = point[index]
        point[index] = saved + step
        upper = function(point)
        point[index] = saved - step
        lower = function(point)
        point[index] = saved
        gradient[index] = (upper - lower) / (2 * step)
    return gradient


@pytest.mark.parametrize(("op", "kwargs", "x_shape", "w_shape"), FINITE_DIFFERENCE_CASES)
def test_backprop_agrees_with_finite_differences_of_a_nonlinear_loss(
    op: str, kwargs: dict, x_shape: tuple, w_shape: tuple
) -> None:
    """L = Σ tanh(conv(x, w)) * t, so dy = (1 - tanh²) * t differs per position."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape) * 0.5
    forward, backprop_input, backprop_filter = BACKPROP[op]
    target = rng.standard_normal(forward(x, w, **kwargs).shape)

    def loss(x_value: np.ndarray, w_value: np.ndarray) -> float:
        return float(np.sum(np.tanh(forward(x_value, w_value, **kwargs)) * target))

    dy = (1 - np.tanh(forward(x, w, **kwargs)) ** 2) * target
    np.testing.assert_allclose(
        backprop_input(list(x_shape), w, dy, **kwargs),
        _central_difference(lambda value: loss(value, w), x.copy()), rtol=1e-6, atol=1e-7,
    )
    np.testing.assert_allclose(
        backprop_filter(x, list(w_shape), dy, **kwargs),
        _central_difference(lambda value: loss(x, value), w.copy()), rtol=1e-6, atol=1e-7,
    )


def test_float32_stays_float32_and_layouts_agree() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    dy = rng.standard_normal((2, 3, 3, 6)).astype(np.float32)
    nhwc = depthwise_conv2d_backprop_input(x.shape, w, dy, [1, 2, 2, 1], "SAME")
    nchw = depthwise_conv2d_backprop_input(
        [2, 3, 5, 5], w, dy.transpose(0, 3, 1, 2), [1, 1, 2, 2], "SAME", data_format="NCHW"
    )
    assert nhwc.dtype == np.float32 and nchw.shape == (2, 3, 5, 5)
    np.testing.assert_allclose(nchw.transpose(0, 2, 3, 1), nhwc, rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: conv2d_backprop_input([1, 4, 4], np.ones((3, 3, 1, 1)), np.ones((1, 2, 2, 1)),
                                       1, "VALID"), "input_sizes must be a list of 4 integers"),
        (lambda: conv2d_backprop_input([1, 4.5, 4, 1], np.ones((3, 3, 1, 1)),
                                       np.ones((1, 2, 2, 1)), 1, "VALID"), "input_sizes"),
        (lambda: conv2d_backprop_input([1, 4, 4, 1], np.ones((3, 3, 1, 1)), np.ones((1, 3, 2, 1)),
                                       1, "VALID"), "out_backprop has shape [1, 3, 2, 1] but"),
        (lambda: conv2d_backprop_filter(np.ones((1, 4, 4, 2)), [3, 3, 3, 1],
                                        np.ones((1, 2, 2, 1)), 1, "VALID"), "filters has in_ch"),
        (lambda: depthwise_conv2d_backprop_filter(np.ones((1, 4, 4, 2)), [3, 3, 2, -1],
                                                  np.ones((1, 2, 2, 2)), 1, "VALID"),
         "filter_sizes must not be negative"),
        (lambda: depthwise_conv2d_backprop_input([1, 6, 6, 1], np.ones((3, 3, 1, 1)),
                                                 np.ones((1, 3, 3, 1)), 2, "SAME", dilations=2),
         "dilations: depthwise_conv2d does not allow"),
    ],
)
def test_bad_arguments_name_the_field(call, message: str) -> None:
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)
