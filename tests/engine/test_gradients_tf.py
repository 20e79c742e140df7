"""The backprop functions against real TensorFlow, when it is importable.

Two references: TF's own backprop ops (``tf.raw_ops.Conv2DBackpropInput``/``Filter`` and
``DepthwiseConv2dNativeBackpropInput``/``Filter``) called with the same arguments, on the
configurations TF's CPU kernels accept (they refuse dilations > 1 and grouped gradients, and
the depthwise ones unequal strides; the depthwise ones silently ignore a dilation, so those
go to the second reference); and ``tf.GradientTape`` through ``tf.nn.with_space_to_batch``
around a stride-1 ``tf.nn.conv2d`` / ``tf.nn.depthwise_conv2d`` (TF's own way of dilating)
for the dilated stride-1 ones. Depthwise with unequal strides, dilations with strides and
grouped gradients are refused by TF's CPU kernels: PyTorch checks those
(``test_gradients_torch.py``). TF's CPU kernels are NHWC only: NCHW cases
are transposed in and out.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.engine.reference import geometry
from tests.engine.test_gradients import BACKPROP, CONV2D_SEEDS, DEPTHWISE_SEEDS, gradient_case
from tests.engine.test_ops import draw_tf_case

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.tf


def to_nhwc(array: np.ndarray, data_format: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    return array if data_format == "NHWC" else array.transpose(0, 2, 3, 1)


def tf_padding(padding) -> tuple[str, list[int]]:
    if isinstance(padding, str):
        return padding, []
    (top, bottom), (left, right) = padding
    return "EXPLICIT", [0, 0, top, bottom, left, right, 0, 0]


def raw_op_supports(op: str, seed: int) -> bool:
    case = draw_tf_case(seed, op)
    window = case.window
    if window.dilations != (1, 1):
        return False
    if op == "conv2d":
        return case.filters.shape[2] == to_nhwc(case.x, case.data_format).shape[3]
    return window.strides[0] == window.strides[1]


def tape_supports(op: str, seed: int) -> bool:
    """Dilated, stride 1, not grouped, not empty: through ``tf.nn.with_space_to_batch``."""
    case = draw_tf_case(seed, op)
    channels = to_nhwc(case.x, case.data_format).shape[3]
    grouped = op == "conv2d" and case.filters.shape[2] != channels
    window = case.window
    return (
        window.dilations != (1, 1) and window.strides == (1, 1) and not grouped
        and min(window.output_hw) > 0
    )


def engine_gradients(op: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The engine's (dL/dx, dL/dw), dL/dx in NHWC."""
    case, dy, _, _ = gradient_case(seed, op)
    _, backprop_input, backprop_filter = BACKPROP[op]
    x, w = np.asarray(case.x, dtype=np.float64), np.asarray(case.filters, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    dx = backprop_input(list(x.shape), w, dy, **case.engine_kwargs)
    dw = backprop_filter(x, list(w.shape), dy, **case.engine_kwargs)
    return to_nhwc(dx, case.data_format), dw


def cases(supported) -> list[tuple[str, int]]:
    """``(op, seed)`` of the conv2d and depthwise gradient cases that ``supported`` accepts."""
    return [
        (op, seed)
        for op, seeds in (("conv2d", CONV2D_SEEDS), ("depthwise_conv2d", DEPTHWISE_SEEDS))
        for seed in seeds
        if supported(op, seed)
    ]


@pytest.mark.parametrize(("op", "seed"), cases(raw_op_supports))
def test_backprop_matches_tf_raw_ops(op: str, seed: int) -> None:
    case, dy, _, _ = gradient_case(seed, op)
    x, dy = to_nhwc(case.x, case.data_format), to_nhwc(dy, case.data_format)
    w = np.asarray(case.filters, dtype=np.float64)
    padding, explicit = tf_padding(case.window.padding)
    common = dict(
        out_backprop=dy, strides=[1, *case.window.strides, 1], padding=padding,
        explicit_paddings=explicit,
    )
    if op == "conv2d":
        theirs_input = tf.raw_ops.Conv2DBackpropInput(input_sizes=list(x.shape), filter=w, **common)
        theirs_filter = tf.raw_ops.Conv2DBackpropFilter(
            input=x, filter_sizes=list(w.shape), **common
        )
    else:
        theirs_input = tf.raw_ops.DepthwiseConv2dNativeBackpropInput(
            input_sizes=list(x.shape), filter=w, **common
        )
        theirs_filter = tf.raw_ops.DepthwiseConv2dNativeBackpropFilter(
            input=x, filter_sizes=list(w.shape), **common
        )
    mine_input, mine_filter = engine_gradients(op, seed)
    np.testing.assert_allclose(mine_input, theirs_input.numpy(), rtol=1e-10, atol=1e-10)
    if min(case.window.output_hw) == 0:
        # TF 2.21's CPU backprop-filter kernels return uninitialised memory for an empty
        # out_backprop (seen as 1e+252 values); the gradient of an empty sum is 0.
        assert not mine_filter.any()
        return
    np.testing.assert_allclose(mine_filter, theirs_filter.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("op", "seed"), cases(tape_supports))
def test_backprop_matches_tf_gradient_tape(op: str, seed: int) -> None:
    case, dy, _, _ = gradient_case(seed, op)
    x = tf.Variable(to_nhwc(case.x, case.data_format))
    w = tf.Variable(np.asarray(case.filters, dtype=np.float64))
    window = case.window
    (top, bottom, _), (left, right, _) = geometry(
        tuple(x.shape[1:3]), window.kernel_hw, window.strides, window.dilations, window.padding
    )

    def stride_one(padded, num_spatial_dims, padding):
        if op == "conv2d":
            return tf.nn.conv2d(padded, w, 1, padding)
        return tf.nn.depthwise_conv2d(padded, w, [1, 1, 1, 1], padding)

    with tf.GradientTape() as tape:
        padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
        out = tf.nn.with_space_to_batch(padded, list(window.dilations), "VALID", stride_one)
        loss = tf.reduce_sum(out * to_nhwc(dy, case.data_format))
    theirs_input, theirs_filter = tape.gradient(loss, [x, w])
    mine_input, mine_filter = engine_gradients(op, seed)
    np.testing.assert_allclose(mine_input, theirs_input.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mine_filter, theirs_filter.numpy(), rtol=1e-10, atol=1e-10)
