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


def case(case_id: str, call: Callable[[], Any], message: str, *, whole: bool = True) -> Any:
    """One row of the table: ``call`` raises a ValueError whose message is ``message``, the
    whole of it, or (``whole=False``) its start."""
    return pytest.param(call, full(message) if whole else starts(message), id=case_id)


FINITE = "must contain only finite numbers (no NaN or infinity)"


CASES = [
    # ---- shapes: wrong number of dimensions
    case("input-3d", depthwise(input=np.ones((5, 5, 4))), "input must be 4-D, got shape [5, 5, 4]"),
    case("filter-3d", depthwise(filter=np.ones((3, 3, 4))),
         "filter must be 4-D, got shape [3, 3, 4]"),
    case("filters-2d", standard(filters=np.ones((3, 3))), "filters must be 4-D, got shape [3, 3]"),
    case("depthwise-filter-5d", separable(depthwise_filter=np.ones((3, 3, 4, 2, 1))),
         "depthwise_filter must be 4-D, got shape [3, 3, 4, 2, 1]"),
    case("pointwise-filter-2d", separable(pointwise_filter=np.ones((8, 3))),
         "pointwise_filter must be 4-D, got shape [8, 3]"),
    case("torch-weight-3d", torch(weight=np.ones((6, 4, 3))),
         "weight must be 4-D, got shape [6, 4, 3]"),
    case("torch-input-2d", torch(input=np.ones((5, 5))), "input must be", whole=False),
    case("bias-2d", torch(bias=np.ones((1, 6))), "bias must be 1-D, got shape [1, 6]"),
    case("plan-input-3d", lambda: plan_depthwise_conv2d((1, 5, 5), (3, 3, 4, 2), 1, "SAME"),
         "input must be 4-D, got shape [1, 5, 5]"),
    case("plan-negative-dimension", lambda: plan_conv2d((1, -5, 5, 4), (3, 3, 4, 6), 1, "SAME"),
         "input has a negative dimension: [1, -5, 5, 4]"),
    case("filter-empty-kernel", depthwise(filter=np.ones((0, 3, 4, 1))),
         "filter must have a kernel of at least 1x1, got 0x3"),
    case("weight-empty-kernel", torch(weight=np.ones((6, 4, 3, 0))),
         "weight must have a kernel of at least 1x1, got 3x0"),
    # ---- values
    case("input-ragged", depthwise(input=[[1, 2], [3]]),
         "input must be a rectangular array of numbers"),
    case("input-strings", depthwise(input=np.full((1, 5, 5, 4), "a")),
         "input must be a rectangular array of numbers"),
    case("input-complex", depthwise(input=X.astype(complex)),
         "input must be real numbers, got complex values"),
    # ---- non-finite numbers, in every array argument
    case("input-nan", depthwise(input=with_value(X, np.nan)),
         f"input {FINITE}"),
    case("input-inf-float32", depthwise(input=with_value(X, np.inf, np.float32)),
         f"input {FINITE}"),
    case("filter-inf", depthwise(filter=with_value(DEPTHWISE, -np.inf)),
         f"filter {FINITE}"),
    case("depthwise-filter-nan", separable(depthwise_filter=with_value(DEPTHWISE, np.nan)),
         f"depthwise_filter {FINITE}"),
    case("pointwise-filter-inf", separable(pointwise_filter=with_value(POINTWISE, np.inf)),
         f"pointwise_filter {FINITE}"),
    case("filters-nan", standard(filters=with_value(FILTERS, np.nan)),
         f"filters {FINITE}"),
    case("filters-overflow-to-float32",
         standard(filters=np.full((3, 3, 4, 6), 1e300), input=X.astype(np.float32)),
         "filters has values too large for float32"),
    case("weight-nan", torch(weight=with_value(WEIGHT, np.nan)),
         f"weight {FINITE}"),
    case("bias-inf", torch(bias=[0.0, 1.0, np.inf, 0.0, 0.0, 0.0]),
         f"bias {FINITE}"),
    # ---- channel counts
    case("filter-channels", depthwise(filter=np.ones((3, 3, 3, 1))),
         "filter has in_channels=3 but input has 4 channels"),
    case("filter-channels-nchw",
         depthwise(input=X_NCHW, filter=np.ones((3, 3, 3, 1)), data_format="NCHW"),
         "filter has in_channels=3 but input has 4 channels"),
    case("depthwise-filter-channels", separable(depthwise_filter=np.ones((3, 3, 3, 2))),
         "depthwise_filter has in_channels=3 but input has 4 channels"),
    case("filter-multiplier-0", depthwise(filter=np.ones((3, 3, 4, 0))),
         "filter must have a channel_multiplier of at least 1"),
    case("filters-channels", standard(filters=np.ones((3, 3, 3, 6))),
         "filters has in_channels=3 but input has 4 channels; the input depth must be a "
         "multiple of the filter's in-depth (equal for a standard convolution)"),
    case("filters-channels-empty-input",
         standard(input=np.ones((1, 5, 5, 0)), filters=np.ones((3, 3, 1, 2))),
         "filters has in_channels=1 but input has 0 channels", whole=False),
    case("filters-out-channels-groups", standard(filters=np.ones((3, 3, 2, 3))),
         "filters has out_channels=3, which must be a positive multiple of the number of "
         "groups (2 = 4 input channels / 2 per group)"),
    # ---- pointwise filter
    case("pointwise-depth", separable(pointwise_filter=np.ones((1, 1, 7, 3))),
         "pointwise_filter has in_channels=7 but the depthwise stage gives 4 channels x "
         "channel_multiplier 2 = 8"),
    case("pointwise-kernel", separable(pointwise_filter=np.ones((3, 3, 8, 3))),
         "pointwise_filter must be [1, 1, C*M, O], got a 3x3 kernel"),
    case("pointwise-no-outputs", separable(pointwise_filter=np.ones((1, 1, 8, 0))),
         "pointwise_filter must have at least 1 output channel"),
    # ---- dilations with strides (TF's rule for depthwise and separable)
    case("depthwise-dilation-stride", depthwise(strides=2, dilations=2),
         "dilations: depthwise_conv2d does not allow dilations > 1 together with strides > 1 "
         "(strides=[2, 2], dilations=[2, 2]); TF documents this rule but only warns, then "
         "applies the stride on the dilated sub-grids, which is not a dilated strided "
         "convolution (fewer, different outputs). For that, use conv2d with the filter "
         "reshaped to [kh, kw, 1, C*M] (groups = C, output channel q*M + r)"),
    case("separable-dilation-stride", separable(strides=[1, 2], dilations=[2, 1]),
         "dilations: separable_conv2d does not allow dilations > 1 together with strides > 1 "
         "(strides=[1, 2], dilations=[2, 1]); TF documents this rule but only warns, then "
         "applies the stride on the dilated sub-grids, which is not a dilated strided "
         "convolution (fewer, different outputs). For that, use conv2d with the "
         "depthwise_filter reshaped to [kh, kw, 1, C*M] (groups = C, output channel q*M + r) "
         "then the pointwise conv2d"),
    case("depthwise-dilation-stride-nchw",
         depthwise(input=X_NCHW, data_format="NCHW", strides=[1, 1, 1, 3], dilations=[1, 1, 2, 1]),
         "dilations: depthwise_conv2d does not allow", whole=False),
    # ---- TF padding
    case("padding-string", depthwise(padding="FULL"),
         "padding must be 'SAME', 'VALID' or an explicit 4x2 list, got 'FULL'"),
    case("padding-int", depthwise(padding=3),
         f"padding must be 'SAME', 'VALID' or {NHWC_PADS}, got 3"),
    case("padding-none-nchw", depthwise(input=X_NCHW, data_format="NCHW", padding=None),
         f"padding must be 'SAME', 'VALID' or {NCHW_PADS}, got None"),
    case("padding-three-pairs", depthwise(padding=[[0, 0], [1, 1], [1, 1]]),
         f"padding as a list must be 4 pairs, {NHWC_PADS} for NHWC"),
    case("padding-triple", depthwise(padding=[[0, 0], [1, 1, 1], [1, 1], [0, 0]]),
         f"padding as a list must be 4 pairs, {NHWC_PADS} for NHWC"),
    case("padding-float", depthwise(padding=[[0, 0], [1.5, 1], [1, 1], [0, 0]]),
         "padding must contain only integers, got [[0, 0], [1.5, 1], [1, 1], [0, 0]]"),
    case("padding-negative", depthwise(padding=[[0, 0], [-1, 1], [1, 1], [0, 0]]),
         "padding must not be negative, got [[0, 0], [-1, 1], [1, 1], [0, 0]]"),
    case("padding-batch", depthwise(padding=[[1, 0], [1, 1], [1, 1], [0, 0]]),
         f"padding in the batch and channel dimensions must be [0, 0] ({NHWC_PADS} for NHWC), "
         "got [[1, 0], [1, 1], [1, 1], [0, 0]]"),
    case("padding-channel", separable(padding=[[0, 0], [1, 1], [1, 1], [0, 2]]),
         "padding in the batch and channel dimensions must be [0, 0]", whole=False),
    case("padding-nhwc-list-for-nchw",
         depthwise(input=X_NCHW, data_format="NCHW", padding=[[0, 0], [1, 1], [1, 1], [0, 0]]),
         f"padding in the batch and channel dimensions must be [0, 0] ({NCHW_PADS} for NCHW), "
         "got [[0, 0], [1, 1], [1, 1], [0, 0]]"),
    case("resolve-padding-string", lambda: resolve_padding((5, 5), (3, 3), (1, 1), (1, 1), "FULL"),
         "padding must be 'SAME', 'VALID' or explicit pads, got 'FULL'"),
    case("negative-output-size", depthwise(input=np.ones((1, 1, 5, 4)), padding="VALID"),
         "padding: the height window spans 3 (kernel 3, dilation 1) but the padded input is "
         "only 1; the output size would be negative ((1 - 3 + 1) / 1, truncated toward zero "
         "as TF does)"),
    # ---- data_format
    case("data-format", depthwise(data_format="NCWH"),
         "data_format must be 'NHWC' or 'NCHW', got 'NCWH'"),
    case("data-format-int", standard(data_format=4), "data_format must be 'NHWC' or 'NCHW', got 4"),
    # ---- strides and dilations
    case("strides-batch-nhwc", depthwise(strides=[2, 1, 1, 1]),
         "strides must be 1 in the batch and channel dimensions ([1, h, w, 1] for NHWC), "
         "got [2, 1, 1, 1]"),
    case("strides-channel-nhwc", depthwise(strides=[1, 1, 1, 2]),
         "strides must be 1 in the batch and channel dimensions ([1, h, w, 1] for NHWC)",
         whole=False),
    case("strides-channel-nchw", standard(input=X_NCHW, data_format="NCHW", strides=[1, 2, 1, 1]),
         "strides must be 1 in the batch and channel dimensions ([1, 1, h, w] for NCHW), "
         "got [1, 2, 1, 1]"),
    case("dilations-channel", separable(dilations=[1, 2, 2, 2]),
         "dilations must be 1 in the batch and channel dimensions", whole=False),
    case("strides-three", depthwise(strides=[1, 1, 1]),
         "strides must have 1, 2 or 4 entries, got 3"),
    case("strides-zero", depthwise(strides=0), "strides must be positive integers, got 0"),
    case("dilations-zero", standard(dilations=[0, 1]),
         "dilations must be positive integers, got [0, 1]"),
    case("strides-float", depthwise(strides=[1, 1.5]),
         "strides must contain only integers, got [1, 1.5]"),
    case("strides-string", depthwise(strides="2"),
         "strides must be an int or a list of 1, 2 or 4 ints, got '2'"),
    case("strides-bool", depthwise(strides=True),
         "strides must be an int or a list of 1, 2 or 4 ints, got True"),
    # ---- PyTorch arguments
    case("torch-groups-input", torch(weight=np.ones((3, 1, 3, 3)), groups=3),
         "groups=3 must divide the input's 4 channels"),
    case("torch-groups-output", torch(weight=np.ones((3, 2, 3, 3)), groups=2),
         "groups=2 must divide the weight's out_channels=3"),
    case("torch-weight-channels", torch(weight=np.ones((4, 3, 3, 3)), groups=2),
         "weight has in_channels=3 but input has 4 channels / groups=2 = 2 per group"),
    case("groups-0", torch(groups=0), "groups must be a positive integer, got 0"),
    case("groups-float", torch(groups=1.0), "groups must be a positive integer, got 1.0"),
    case("torch-same-strided", torch(padding="same", stride=2),
         "padding='same' is not supported for strided convolutions (stride > 1)"),
    case("torch-same-strided-width", torch(padding="same", stride=(1, 2)),
         "padding='same' is not supported for strided convolutions (stride > 1)"),
    case("torch-padding-string", torch(padding="full"),
         "padding must be 'same', 'valid', an int or a pair, got 'full'"),
    case("torch-padding-neg", torch(padding=-1), "padding must be non-negative, got -1"),
    case("torch-stride-0", torch(stride=0), "stride must be positive, got 0"),
    case("torch-stride-three", torch(stride=(1, 2, 3)),
         "stride must be an int or a pair of ints, got 3 entries"),
    case("torch-stride-float", torch(stride=1.5),
         "stride must be an int or a pair of ints, got 1.5"),
    case("torch-dilation-string", torch(dilation=[1, "a"]),
         "dilation must contain only integers, got [1, 'a']"),
    case("torch-bias-length", torch(bias=[1.0, 2.0]),
         "bias has 2 values but weight has out_channels=6"),
    case("torch-empty-output", torch(input=np.ones((1, 4, 2, 5))),
         "padding: the padded input (2x5) is smaller than the dilated kernel; PyTorch "
         "refuses an empty output"),
    case("torch-negative-output", torch(input=np.ones((1, 4, 5, 5)), dilation=3),
         "padding: the height window spans 7 (kernel 3, dilation 3)", whole=False),
    case("plan-torch-same-strided",
         lambda: plan_torch_conv2d((1, 4, 5, 5), (6, 2, 3, 3), groups=2, padding="same", stride=2),
         "padding='same' is not supported for strided convolutions (stride > 1)"),
]


@pytest.mark.parametrize(("call", "message"), CASES)
def test_value_error_message(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_integer_groups_are_groups() -> None:
    x = np.arange(1 * 4 * 5 * 5, dtype=np.float64).reshape(1, 4, 5, 5)
    weight = np.ones((6, 2, 3, 3))
    assert np.array_equal(torch_conv2d(x, weight, groups=np.int64(2)),
                          torch_conv2d(x, weight, groups=2))
    with pytest.raises(ValueError, match="groups must be a positive integer, got np.False_"):
        torch_conv2d(x, weight, groups=np.False_)


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
