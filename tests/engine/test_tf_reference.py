"""The engine against real TensorFlow (``tf.nn``), on the seeded configurations of test_ops.

conv2d (standard, grouped and depthwise-as-groups), depthwise_conv2d and separable_conv2d
(and its depthwise stage against ``tf.nn.depthwise_conv2d``), NHWC and NCHW, float32 and
float64 (ints as float64), strides 1-3 and unequal, dilations 1-3, SAME/VALID/explicit,
inputs smaller than the window (empty outputs). Where TF on CPU cannot compute a case
itself, the test says so and asks TF in the form it can:

- NCHW: TF's CPU kernels compute NHWC only (float64 always; float32 without oneDNN), so
  the input goes through ``tf.transpose`` to NHWC and the answer back to NCHW.
- unequal depthwise strides in float64: TF's depthwise kernel refuses them on CPU, so TF's
  grouped ``tf.nn.conv2d`` (filter ``[kh, kw, 1, C*M]``, groups = C) answers.
- an empty float32 output: oneDNN returns a wrong shape, so TF computes it in float64.
- separable with explicit pads: ``tf.nn.separable_conv2d`` takes only SAME/VALID, so the
  pads go through ``tf.pad`` first (zeros, exactly what explicit padding means).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.engine import conv2d, depthwise_conv2d, separable_conv2d_stages
from tests.engine.test_ops import (
    CONV2D_SEEDS,
    DEPTHWISE_SEEDS,
    SEPARABLE_SEEDS,
    TfCase,
    draw_tf_case,
)
from tests.references import tensorflow

tf = tensorflow()
pytestmark = pytest.mark.tf

TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def floats(array: np.ndarray) -> np.ndarray:
    return array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)


def nhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "NHWC" else x.transpose(0, 2, 3, 1)


def back(y: Any, data_format: str) -> np.ndarray:
    y = np.asarray(y)
    return y if data_format == "NHWC" else y.transpose(0, 3, 1, 2)


def tf_padding(padding: Any) -> Any:
    if isinstance(padding, str):
        return padding.upper()
    (top, bottom), (left, right) = padding
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def tf_depthwise(
    x: np.ndarray, filters: np.ndarray, case: TfCase, padding: Any = None
) -> np.ndarray:
    """TF's depthwise answer for x (N, H, W, C), in the form TF on CPU computes."""
    window = case.window
    strides = [1, *window.strides, 1]
    padding = tf_padding(window.padding) if padding is None else padding
    if window.strides[0] != window.strides[1] and x.dtype == np.float64:
        kh, kw, channels, multiplier = filters.shape
        return tf.nn.conv2d(x, filters.reshape(kh, kw, 1, channels * multiplier), strides,
                            padding, dilations=list(window.dilations)).numpy()
    return tf.nn.depthwise_conv2d(x, filters, strides, padding,
                                  dilations=list(window.dilations)).numpy()


def assert_close(mine: np.ndarray, theirs: np.ndarray, dtype: np.dtype) -> None:
    assert mine.shape == theirs.shape
    tolerance = TOLERANCE[np.dtype(dtype)]
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    np.testing.assert_allclose(mine, theirs, rtol=tolerance, atol=tolerance * scale)


def prepared(case: TfCase) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.dtype]:
    x, filters = floats(case.x), floats(case.filters)
    pointwise = None if case.pointwise is None else floats(case.pointwise)
    dtype = x.dtype
    if case.window.output_hw[0] * case.window.output_hw[1] == 0 and dtype == np.float32:
        # oneDNN's float32 kernels return a wrong shape for an empty output.
        x, filters = x.astype(np.float64), filters.astype(np.float64)
        pointwise = None if pointwise is None else pointwise.astype(np.float64)
    return nhwc(x, case.data_format), filters, pointwise, dtype


@pytest.mark.parametrize("seed", DEPTHWISE_SEEDS)
def test_depthwise_conv2d_matches_tf(seed: int) -> None:
    case = draw_tf_case(seed, "depthwise_conv2d")
    x, filters, _, dtype = prepared(case)
    theirs = back(tf_depthwise(x, filters, case), case.data_format)
    mine = depthwise_conv2d(case.x, case.filters, **case.engine_kwargs)
    assert_close(mine, theirs, dtype)


@pytest.mark.parametrize("seed", SEPARABLE_SEEDS)
def test_separable_conv2d_and_its_depthwise_stage_match_tf(seed: int) -> None:
    case = draw_tf_case(seed, "separable_conv2d")
    x, filters, pointwise, dtype = prepared(case)
    window = case.window
    padding = tf_padding(window.padding)
    if not isinstance(padding, str):
        x, padding = tf.pad(x, padding).numpy(), "VALID"
    if window.strides[0] != window.strides[1] and x.dtype == np.float64:
        # TF's separable kernel is its depthwise one: grouped conv2d, then the 1x1 conv2d.
        stage = tf_depthwise(x, filters, case, padding)
        theirs = tf.nn.conv2d(stage, pointwise, 1, "VALID").numpy()
    else:
        theirs = tf.nn.separable_conv2d(x, filters, pointwise, [1, *window.strides, 1], padding,
                                        dilations=list(window.dilations)).numpy()
    stage_mine, mine = separable_conv2d_stages(
        case.x, case.filters, case.pointwise, **case.engine_kwargs
    )
    assert_close(mine, back(theirs, case.data_format), dtype)
    x_stage, _, _, _ = prepared(case)
    assert_close(stage_mine, back(tf_depthwise(x_stage, filters, case), case.data_format), dtype)


@pytest.mark.parametrize("seed", CONV2D_SEEDS)
def test_conv2d_matches_tf(seed: int) -> None:
    case = draw_tf_case(seed, "conv2d")
    x, filters, _, dtype = prepared(case)
    window = case.window
    theirs = tf.nn.conv2d(x, filters, [1, *window.strides, 1], tf_padding(window.padding),
                          dilations=[1, *window.dilations, 1]).numpy()
    mine = conv2d(case.x, case.filters, **case.engine_kwargs)
    assert_close(mine, back(theirs, case.data_format), dtype)


def test_the_seeds_reach_every_case_the_issue_lists() -> None:
    features = set().union(*(
        draw_tf_case(seed, op).features
        for op, seeds in (("conv2d", CONV2D_SEEDS), ("depthwise_conv2d", DEPTHWISE_SEEDS),
                          ("separable_conv2d", SEPARABLE_SEEDS))
        for seed in seeds
    ))
    required = {"NHWC", "NCHW", "float32", "float64", "stride1", "stride2", "stride3",
                "stride_unequal", "dilation1", "dilation2", "dilation3", "same_odd", "valid",
                "explicit", "smaller_than_window", "grouped", "depthwise_groups", "standard",
                "dilation_with_stride"}
    assert required <= features, required - features
