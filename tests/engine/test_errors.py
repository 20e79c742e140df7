"""Every ``ValueError`` the ops raise, with its message.

The messages are a contract: the API forwards them to a student, and they
start with the name of the argument at fault. Each case is matched from the
start of the message (``^``), most of them in full (``$``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from app.engine import (
    conv2d,
    depthwise_conv2d,
    plan_conv2d,
    plan_depthwise_conv2d,
    plan_torch_conv2d,
    resolve_padding,
    separable_conv2d,
    separable_conv2d_stages,
    torch_conv2d,
)

X = np.ones((1, 5, 5, 4))  # NHWC, C = 4
X_NCHW = np.ones((1, 4, 5, 5))
DEPTHWISE = np.ones((3, 3, 4, 2))  # M = 2
POINTWISE = np.ones((1, 1, 8, 3))
FILTERS = np.ones((3, 3, 4, 6))
WEIGHT = np.ones((6, 4, 3, 3))
NHWC_PADS = "[[0, 0], [top, bottom], [left, right], [0, 0]]"
NCHW_PADS = "[[0, 0], [0, 0], [top, bottom], [left, right]]"


def depthwise(**overrides: Any) -> Callable[[], Any]:
    kwargs: dict[str, Any] = {
        "input": X, "filter": DEPTHWISE, "strides": 1, "padding": "SAME", **overrides
    }
    return lambda: depthwise_conv2d(**kwargs)


def separable(**overrides: Any) -> Callable[[], Any]:
    kwargs: dict[str, Any] = {
        "input": X, "depthwise_filter": DEPTHWISE, "pointwise_filter": POINTWISE,
        "strides": 1, "padding": "SAME", **overrides,
    }
    return lambda: separable_conv2d(**kwargs)


def standard(**overrides: Any) -> Callable[[], Any]:
    kwargs: dict[str, Any] = {
        "input": X, "filters": FILTERS, "strides": 1, "padding": "SAME", **overrides
    }
    return lambda: conv2d(**kwargs)


def torch(**overrides: Any) -> Callable[[], Any]:
    kwargs: dict[str, Any] = {"input": X_NCHW, "weight": WEIGHT, **overrides}
    return lambda: torch_conv2d(**kwargs)


def with_value(array: np.ndarray, value: float, dtype: type = np.float64) -> np.ndarray:
    array = array.astype(dtype)
    array.flat[array.size // 2] = value
    return array


def full(message: str) -> str:
    return "^" + re.escape(message) + "$"


def starts(message: str) -> str:
    return "^" + re.escape(message)


CASES = [
    # ---- shapes: wrong number of dimensions
    pytest.param(
        depthwise(input=np.ones((5, 5, 4))), full("input must be 4-D, got shape [5, 5, 4]"),
        id="input-3d",
    ),
    pytest.param(
        depthwise(filter=np.ones((3, 3, 4))), full("filter must be 4-D, got shape [3, 3, 4]"),
        id="filter-3d",
    ),
    pytest.param(
        standard(filters=np.ones((3, 3))), full("filters must be 4-D, got shape [3, 3]"),
        id="filters-2d",
    ),
    pytest.param(
        separable(depthwise_filter=np.ones((3, 3, 4, 2, 1))),
        full("depthwise_filter must be 4-D, got shape [3, 3, 4, 2, 1]"),
        id="depthwise-filter-5d",
    ),
    pytest.param(
        separable(pointwise_filter=np.ones((8, 3))),
        full("pointwise_filter must be 4-D, got shape [8, 3]"),
        id="pointwise-filter-2d",
    ),
    pytest.param(
        torch(weight=np.ones((6, 4, 3))), full("weight must be 4-D, got shape [6, 4, 3]"),
        id="torch-weight-3d",
    ),
    pytest.param(torch(input=np.ones((5, 5))), starts("input must be"), id="torch-input-2d"),
    pytest.param(
        torch(bias=np.ones((1, 6))), full("bias must be 1-D, got shape [1, 6]"), id="bias-2d",
    ),
    pytest.param(
        lambda: plan_depthwise_conv2d((1, 5, 5), (3, 3, 4, 2), 1, "SAME"),
        full("input must be 4-D, got shape [1, 5, 5]"),
        id="plan-input-3d",
    ),
    pytest.param(
        lambda: plan_conv2d((1, -5, 5, 4), (3, 3, 4, 6), 1, "SAME"),
        full("input has a negative dimension: [1, -5, 5, 4]"),
        id="plan-negative-dimension",
    ),
    pytest.param(
        depthwise(filter=np.ones((0, 3, 4, 1))),
        full("filter must have a kernel of at least 1x1, got 0x3"),
        id="filter-empty-kernel",
    ),
    pytest.param(
        torch(weight=np.ones((6, 4, 3, 0))),
        full("weight must have a kernel of at least 1x1, got 3x0"),
        id="weight-empty-kernel",
    ),
    # ---- values
    pytest.param(
        depthwise(input=[[1, 2], [3]]), full("input must be a rectangular array of numbers"),
        id="input-ragged",
    ),
    pytest.param(
        depthwise(input=np.full((1, 5, 5, 4), "a")),
        full("input must be a rectangular array of numbers"),
        id="input-strings",
    ),
    pytest.param(
        depthwise(input=X.astype(complex)), full("input must be real numbers, got complex values"),
        id="input-complex",
    ),
    # ---- non-finite numbers, in every array argument
    pytest.param(
        depthwise(input=with_value(X, np.nan)),
        full("input must contain only finite numbers (no NaN or infinity)"),
        id="input-nan",
    ),
    pytest.param(
        depthwise(input=with_value(X, np.inf, np.float32)),
        full("input must contain only finite numbers (no NaN or infinity)"),
        id="input-inf-float32",
    ),
    pytest.param(
        depthwise(filter=with_value(DEPTHWISE, -np.inf)),
        full("filter must contain only finite numbers (no NaN or infinity)"),
        id="filter-inf",
    ),
    pytest.param(
        separable(depthwise_filter=with_value(DEPTHWISE, np.nan)),
        full("depthwise_filter must contain only finite numbers (no NaN or infinity)"),
        id="depthwise-filter-nan",
    ),
    pytest.param(
        separable(pointwise_filter=with_value(POINTWISE, np.inf)),
        full("pointwise_filter must contain only finite numbers (no NaN or infinity)"),
        id="pointwise-filter-inf",
    ),
    pytest.param(
        standard(filters=with_value(FILTERS, np.nan)),
        full("filters must contain only finite numbers (no NaN or infinity)"),
        id="filters-nan",
    ),
    pytest.param(
        standard(filters=np.full((3, 3, 4, 6), 1e300), input=X.astype(np.float32)),
        full("filters has values too large for float32"),
        id="filters-overflow-to-float32",
    ),
    pytest.param(
        torch(weight=with_value(WEIGHT, np.nan)),
        full("weight must contain only finite numbers (no NaN or infinity)"),
        id="weight-nan",
    ),
    pytest.param(
        torch(bias=[0.0, 1.0, np.inf, 0.0, 0.0, 0.0]),
        full("bias must contain only finite numbers (no NaN or infinity)"),
        id="bias-inf",
    ),
    # ---- channel counts
    pytest.param(
        depthwise(filter=np.ones((3, 3, 3, 1))),
        full("filter has in_channels=3 but input has 4 channels"),
        id="filter-channels",
    ),
    pytest.param(
        depthwise(input=X_NCHW, filter=np.ones((3, 3, 3, 1)), data_format="NCHW"),
        full("filter has in_channels=3 but input has 4 channels"),
        id="filter-channels-nchw",
    ),
    pytest.param(
        separable(depthwise_filter=np.ones((3, 3, 3, 2))),
        full("depthwise_filter has in_channels=3 but input has 4 channels"),
        id="depthwise-filter-channels",
    ),
    pytest.param(
        depthwise(filter=np.ones((3, 3, 4, 0))),
        full("filter must have a channel_multiplier of at least 1"),
        id="filter-multiplier-0",
    ),
    pytest.param(
        standard(filters=np.ones((3, 3, 3, 6))),
        full(
            "filters has in_channels=3 but input has 4 channels; the input depth must be a "
            "multiple of the filter's in-depth (equal for a standard convolution)"
        ),
        id="filters-channels",
    ),
    pytest.param(
        standard(input=np.ones((1, 5, 5, 0)), filters=np.ones((3, 3, 1, 2))),
        starts("filters has in_channels=1 but input has 0 channels"),
        id="filters-channels-empty-input",
    ),
    pytest.param(
        standard(filters=np.ones((3, 3, 2, 3))),
        full(
            "filters has out_channels=3, which must be a positive multiple of the number of "
            "groups (2 = 4 input channels / 2 per group)"
        ),
        id="filters-out-channels-groups",
    ),
    # ---- pointwise filter
    pytest.param(
        separable(pointwise_filter=np.ones((1, 1, 7, 3))),
        full(
            "pointwise_filter has in_channels=7 but the depthwise stage gives 4 channels x "
            "channel_multiplier 2 = 8"
        ),
        id="pointwise-depth",
    ),
    pytest.param(
        separable(pointwise_filter=np.ones((3, 3, 8, 3))),
        full("pointwise_filter must be [1, 1, C*M, O], got a 3x3 kernel"),
        id="pointwise-kernel",
    ),
    pytest.param(
        separable(pointwise_filter=np.ones((1, 1, 8, 0))),
        full("pointwise_filter must have at least 1 output channel"),
        id="pointwise-no-outputs",
    ),
    # ---- dilations with strides (TF's rule for depthwise and separable)
    pytest.param(
        depthwise(strides=2, dilations=2),
        full(
            "dilations: depthwise_conv2d does not allow dilations > 1 together with strides > 1 "
            "(strides=[2, 2], dilations=[2, 2]); TF documents this rule but only warns, then "
            "applies the stride on the dilated sub-grids, which is not a dilated strided "
            "convolution (fewer, different outputs). For that, use conv2d with the filter "
            "reshaped to [kh, kw, 1, C*M] (groups = C, output channel q*M + r)"
        ),
        id="depthwise-dilation-stride",
    ),
    pytest.param(
        separable(strides=[1, 2], dilations=[2, 1]),
        full(
            "dilations: separable_conv2d does not allow dilations > 1 together with strides > 1 "
            "(strides=[1, 2], dilations=[2, 1]); TF documents this rule but only warns, then "
            "applies the stride on the dilated sub-grids, which is not a dilated strided "
            "convolution (fewer, different outputs). For that, use conv2d with the "
            "depthwise_filter reshaped to [kh, kw, 1, C*M] (groups = C, output channel q*M + r) "
            "then the pointwise conv2d"
        ),
        id="separable-dilation-stride",
    ),
    pytest.param(
        depthwise(
            input=X_NCHW, data_format="NCHW", strides=[1, 1, 1, 3], dilations=[1, 1, 2, 1]
        ),
        starts("dilations: depthwise_conv2d does not allow"),
        id="depthwise-dilation-stride-nchw",
    ),
    # ---- TF padding
    pytest.param(
        depthwise(padding="FULL"),
        full("padding must be 'SAME', 'VALID' or an explicit 4x2 list, got 'FULL'"),
        id="padding-string",
    ),
    pytest.param(
        depthwise(padding=3), full(f"padding must be 'SAME', 'VALID' or {NHWC_PADS}, got 3"),
        id="padding-int",
    ),
    pytest.param(
        depthwise(input=X_NCHW, data_format="NCHW", padding=None),
        full(f"padding must be 'SAME', 'VALID' or {NCHW_PADS}, got None"),
        id="padding-none-nchw",
    ),
    pytest.param(
        depthwise(padding=[[0, 0], [1, 1], [1, 1]]),
        full(f"padding as a list must be 4 pairs, {NHWC_PADS} for NHWC"),
        id="padding-three-pairs",
    ),
    pytest.param(
        depthwise(padding=[[0, 0], [1, 1, 1], [1, 1], [0, 0]]),
        full(f"padding as a list must be 4 pairs, {NHWC_PADS} for NHWC"),
        id="padding-triple",
    ),
    pytest.param(
        depthwise(padding=[[0, 0], [1.5, 1], [1, 1], [0, 0]]),
        full("padding must contain only integers, got [[0, 0], [1.5, 1], [1, 1], [0, 0]]"),
        id="padding-float",
    ),
    pytest.param(
        depthwise(padding=[[0, 0], [-1, 1], [1, 1], [0, 0]]),
        full("padding must not be negative, got [[0, 0], [-1, 1], [1, 1], [0, 0]]"),
        id="padding-negative",
    ),
    pytest.param(
        depthwise(padding=[[1, 0], [1, 1], [1, 1], [0, 0]]),
        full(
            f"padding in the batch and channel dimensions must be [0, 0] ({NHWC_PADS} for NHWC), "
            "got [[1, 0], [1, 1], [1, 1], [0, 0]]"
        ),
        id="padding-batch",
    ),
    pytest.param(
        separable(padding=[[0, 0], [1, 1], [1, 1], [0, 2]]),
        starts("padding in the batch and channel dimensions must be [0, 0]"),
        id="padding-channel",
    ),
    pytest.param(
        depthwise(input=X_NCHW, data_format="NCHW", padding=[[0, 0], [1, 1], [1, 1], [0, 0]]),
        full(
            f"padding in the batch and channel dimensions must be [0, 0] ({NCHW_PADS} for NCHW), "
            "got [[0, 0], [1, 1], [1, 1], [0, 0]]"
        ),
        id="padding-nhwc-list-for-nchw",
    ),
    pytest.param(
        lambda: resolve_padding((5, 5), (3, 3), (1, 1), (1, 1), "FULL"),
        full("padding must be 'SAME', 'VALID' or explicit pads, got 'FULL'"),
        id="resolve-padding-string",
    ),
    pytest.param(
        depthwise(input=np.ones((1, 1, 5, 4)), padding="VALID"),
        full(
            "padding: the height window spans 3 (kernel 3, dilation 1) but the padded input is "
            "only 1; the output size would be negative ((1 - 3 + 1) / 1, truncated toward zero "
            "as TF does)"
        ),
        id="negative-output-size",
    ),
    # ---- data_format
    pytest.param(
        depthwise(data_format="NCWH"), full("data_format must be 'NHWC' or 'NCHW', got 'NCWH'"),
        id="data-format",
    ),
    pytest.param(
        standard(data_format=4), full("data_format must be 'NHWC' or 'NCHW', got 4"),
        id="data-format-int",
    ),
    # ---- strides and dilations
    pytest.param(
        depthwise(strides=[2, 1, 1, 1]),
        full(
            "strides must be 1 in the batch and channel dimensions ([1, h, w, 1] for NHWC), "
            "got [2, 1, 1, 1]"
        ),
        id="strides-batch-nhwc",
    ),
    pytest.param(
        depthwise(strides=[1, 1, 1, 2]),
        starts("strides must be 1 in the batch and channel dimensions ([1, h, w, 1] for NHWC)"),
        id="strides-channel-nhwc",
    ),
    pytest.param(
        standard(input=X_NCHW, data_format="NCHW", strides=[1, 2, 1, 1]),
        full(
            "strides must be 1 in the batch and channel dimensions ([1, 1, h, w] for NCHW), "
            "got [1, 2, 1, 1]"
        ),
        id="strides-channel-nchw",
    ),
    pytest.param(
        separable(dilations=[1, 2, 2, 2]),
        starts("dilations must be 1 in the batch and channel dimensions"),
        id="dilations-channel",
    ),
    pytest.param(
        depthwise(strides=[1, 1, 1]), full("strides must have 1, 2 or 4 entries, got 3"),
        id="strides-three",
    ),
    pytest.param(
        depthwise(strides=0), full("strides must be positive integers, got 0"), id="strides-zero",
    ),
    pytest.param(
        standard(dilations=[0, 1]), full("dilations must be positive integers, got [0, 1]"),
        id="dilations-zero",
    ),
    pytest.param(
        depthwise(strides=[1, 1.5]), full("strides must contain only integers, got [1, 1.5]"),
        id="strides-float",
    ),
    pytest.param(
        depthwise(strides="2"),
        full("strides must be an int or a list of 1, 2 or 4 ints, got '2'"),
        id="strides-string",
    ),
    pytest.param(
        depthwise(strides=True),
        full("strides must be an int or a list of 1, 2 or 4 ints, got True"),
        id="strides-bool",
    ),
    # ---- PyTorch arguments
    pytest.param(
        torch(weight=np.ones((3, 1, 3, 3)), groups=3),
        full("groups=3 must divide the input's 4 channels"),
        id="torch-groups-input",
    ),
    pytest.param(
        torch(weight=np.ones((3, 2, 3, 3)), groups=2),
        full("groups=2 must divide the weight's out_channels=3"),
        id="torch-groups-output",
    ),
    pytest.param(
        torch(weight=np.ones((4, 3, 3, 3)), groups=2),
        full("weight has in_channels=3 but input has 4 channels / groups=2 = 2 per group"),
        id="torch-weight-channels",
    ),
    pytest.param(torch(groups=0), full("groups must be a positive integer, got 0"), id="groups-0"),
    pytest.param(
        torch(groups=1.0), full("groups must be a positive integer, got 1.0"), id="groups-float",
    ),
    pytest.param(
        torch(padding="same", stride=2),
        full("padding='same' is not supported for strided convolutions (stride > 1)"),
        id="torch-same-strided",
    ),
    pytest.param(
        torch(padding="same", stride=(1, 2)),
        full("padding='same' is not supported for strided convolutions (stride > 1)"),
        id="torch-same-strided-width",
    ),
    pytest.param(
        torch(padding="full"),
        full("padding must be 'same', 'valid', an int or a pair, got 'full'"),
        id="torch-padding-string",
    ),
    pytest.param(
        torch(padding=-1), full("padding must be non-negative, got -1"), id="torch-padding-neg",
    ),
    pytest.param(torch(stride=0), full("stride must be positive, got 0"), id="torch-stride-0"),
    pytest.param(
        torch(stride=(1, 2, 3)), full("stride must be an int or a pair of ints, got 3 entries"),
        id="torch-stride-three",
    ),
    pytest.param(
        torch(stride=1.5), full("stride must be an int or a pair of ints, got 1.5"),
        id="torch-stride-float",
    ),
    pytest.param(
        torch(dilation=[1, "a"]), full("dilation must contain only integers, got [1, 'a']"),
        id="torch-dilation-string",
    ),
    pytest.param(
        torch(bias=[1.0, 2.0]), full("bias has 2 values but weight has out_channels=6"),
        id="torch-bias-length",
    ),
    pytest.param(
        torch(input=np.ones((1, 4, 2, 5))),
        full(
            "padding: the padded input (2x5) is smaller than the dilated kernel; PyTorch "
            "refuses an empty output"
        ),
        id="torch-empty-output",
    ),
    pytest.param(
        torch(input=np.ones((1, 4, 5, 5)), dilation=3),
        starts("padding: the height window spans 7 (kernel 3, dilation 3)"),
        id="torch-negative-output",
    ),
    pytest.param(
        lambda: plan_torch_conv2d((1, 4, 5, 5), (6, 2, 3, 3), groups=2, padding="same", stride=2),
        full("padding='same' is not supported for strided convolutions (stride > 1)"),
        id="plan-torch-same-strided",
    ),
]


@pytest.mark.parametrize(("call", "message"), CASES)
def test_value_error_message(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_stages_validate_like_the_op() -> None:
    message = full("pointwise_filter must have at least 1 output channel")
    with pytest.raises(ValueError, match=message):
        separable_conv2d_stages(X, DEPTHWISE, np.ones((1, 1, 8, 0)), 1, "SAME")


@pytest.mark.parametrize(
    "call",
    [
        standard(strides=2, dilations=2),
        standard(strides=[1, 3], dilations=[2, 1], padding="VALID"),
        torch(stride=2, dilation=2, padding=2),
        torch(stride=(2, 1), dilation=(1, 2)),
    ],
    ids=["conv2d", "conv2d-mixed", "torch", "torch-mixed"],
)
def test_dilations_with_strides_are_allowed_for_conv2d_and_torch(
    call: Callable[[], np.ndarray],
) -> None:
    assert call().size > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda x: depthwise_conv2d(x, np.full((3, 3, 2, 1), 10.0, np.float32), 1, "SAME"),
        lambda x: conv2d(x, np.full((3, 3, 2, 4), 10.0, np.float32), 1, "VALID"),
        lambda x: separable_conv2d(
            x, np.ones((1, 1, 2, 1), np.float32), np.full((1, 1, 2, 3), 3e38, np.float32),
            1, "VALID",
        ),
        lambda x: torch_conv2d(
            x.transpose(0, 3, 1, 2), np.ones((2, 2, 1, 1), np.float32),
            bias=np.full(2, 3.4e38, np.float32),
        ),
    ],
    ids=["depthwise", "conv2d", "separable-pointwise", "torch-bias"],
)
def test_a_result_that_overflows_float32_is_an_error_not_inf(call) -> None:
    x = np.full((1, 4, 4, 2), 3e37, dtype=np.float32)  # finite, but 9 taps x 10 overflow
    with pytest.raises(ValueError, match=r"^input: the result overflows float32"):
        call(x)
