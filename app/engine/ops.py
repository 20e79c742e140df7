"""The convolution ops, with TF's and PyTorch's argument names and meanings."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine import kernels, plans
from app.engine.arguments import float_array


def to_nhwc(x: np.ndarray, plan: plans.ConvPlan) -> np.ndarray:
    """x : (N, H, W, C) or (N, C, H, W) per ``plan.data_format``. Returns (N, H, W, C)."""
    return x if plan.data_format == "NHWC" else x.transpose(0, 2, 3, 1)


def from_nhwc(y: np.ndarray, plan: plans.ConvPlan) -> np.ndarray:
    """y : (N, H, W, C). Returns a contiguous array in ``plan.data_format``."""
    return y if plan.data_format == "NHWC" else np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def spatial_stage(x_nhwc: np.ndarray, weights: np.ndarray, plan: plans.ConvPlan) -> np.ndarray:
    """The grouped (or depthwise) stage of a plan.

    x_nhwc : (N, H, W, C); weights : (kh, kw, C/groups, spatial_out_channels).
    Returns (N, Ho, Wo, spatial_out_channels).
    """
    sliding = kernels.Sliding(plan.kernel_hw, plan.strides, plan.dilations, plan.output_hw)
    with np.errstate(over="ignore", invalid="ignore"):
        out = kernels.convolve(x_nhwc, plan.padding, weights, plan.groups, sliding)
    return finite_result(out)


def finite_result(out: np.ndarray) -> np.ndarray:
    """``out`` unchanged, or a ValueError when finite inputs overflowed the dtype."""
    if not np.isfinite(out).all():
        advice = ", or use float64" if out.dtype == np.float32 else ""
        raise ValueError(
            f"input: the result overflows {out.dtype.name} (finite inputs, but the sums exceed "
            f"its range); scale the input or the weights down{advice}"
        )
    return out


def depthwise_as_grouped(depthwise_filter: np.ndarray) -> np.ndarray:
    """(kh, kw, C, M) -> (kh, kw, 1, C*M); output channel q*M + r."""
    kh, kw, channels, multiplier = depthwise_filter.shape
    return depthwise_filter.reshape(kh, kw, 1, channels * multiplier)


def _input_and_filters(input: Any, **filters: Any) -> list[np.ndarray]:
    """``[input, *filters]`` as 4-D float arrays, the filters in the input's dtype; each
    named by its argument in errors."""
    x = float_array(input, "input", 4)
    return [x, *(float_array(value, name, 4, x.dtype) for name, value in filters.items())]


# The TF ops' signatures are TF's own (tests/engine/test_exports.py pins them; the trace and
# the API bind requests to them), so they are written out, not shared.
def conv2d(input: Any, filters: Any, strides: Any, padding: Any,
           data_format: str | None = "NHWC", dilations: Any = None) -> np.ndarray:
    """``tf.nn.conv2d``: cross-correlation, grouped when C is a multiple of the filter depth.

    input : array-like, shape (N, H, W, C) for NHWC or (N, C, H, W) for NCHW
    filters : array-like, shape (kh, kw, C/groups, O)
    strides, dilations : int, or list of 1, 2 or 4 ints (4 in data_format order)
    padding : "SAME", "VALID" or the explicit 4x2 list
    Returns shape (N, Ho, Wo, O) or (N, O, Ho, Wo), the input's float dtype.
    """
    x, w = _input_and_filters(input, filters=filters)
    plan = plans.plan_conv2d(x.shape, w.shape, strides, padding, data_format, dilations)
    return from_nhwc(spatial_stage(to_nhwc(x, plan), w, plan), plan)


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any,
                     data_format: str | None = None, dilations: Any = None) -> np.ndarray:
    """``tf.nn.depthwise_conv2d``.

    input : array-like, shape (N, H, W, C) or (N, C, H, W)
    filter : array-like, shape (kh, kw, C, M), M = channel_multiplier
    Returns shape (N, Ho, Wo, C*M) (or NCHW); output channel ``q*M + r`` comes
    from input channel ``q`` and ``filter[:, :, q, r]``.
    """
    x, w = _input_and_filters(input, filter=filter)
    plan = plans.plan_depthwise_conv2d(x.shape, w.shape, strides, padding, data_format, dilations)
    return from_nhwc(spatial_stage(to_nhwc(x, plan), depthwise_as_grouped(w), plan), plan)


def separable_conv2d_stages(input: Any, depthwise_filter: Any, pointwise_filter: Any,
                            strides: Any, padding: Any, data_format: str | None = None,
                            dilations: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``separable_conv2d`` returning ``(depthwise_output, output)``, both in data_format."""
    x, dw, pw = _input_and_filters(
        input, depthwise_filter=depthwise_filter, pointwise_filter=pointwise_filter
    )
    plan = plans.plan_separable_conv2d(
        x.shape, dw.shape, pw.shape, strides, padding, data_format, dilations
    )
    intermediate = spatial_stage(to_nhwc(x, plan), depthwise_as_grouped(dw), plan)
    with np.errstate(over="ignore", invalid="ignore"):
        output = finite_result(kernels.pointwise(intermediate, pw[0, 0]))
    return from_nhwc(intermediate, plan), from_nhwc(output, plan)


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any,
                     padding: Any, data_format: str | None = None,
                     dilations: Any = None) -> np.ndarray:
    """``tf.nn.separable_conv2d``: depthwise, then a 1x1 stride-1 VALID conv.

    input : array-like, shape (N, H, W, C) or (N, C, H, W)
    depthwise_filter : array-like, shape (kh, kw, C, M)
    pointwise_filter : array-like, shape (1, 1, C*M, O); no ``C*M <= O`` check (TF 2.x)
    Returns shape (N, Ho, Wo, O) or (N, O, Ho, Wo).
    """
    return separable_conv2d_stages(
        input, depthwise_filter, pointwise_filter, strides, padding, data_format, dilations
    )[1]


def torch_conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> np.ndarray:
    """``torch.nn.functional.conv2d``.

    input : array-like, shape (N, C, H, W) or unbatched (C, H, W)
    weight : array-like, shape (O, C/groups, kh, kw)
    bias : array-like, shape (O,), or None
    padding : int, pair, "valid" or "same" (stride 1 only)
    Returns shape (N, O, Ho, Wo) (or (O, Ho, Wo) for an unbatched input).
    """
    try:
        ndim = np.ndim(input)
    except ValueError:  # ragged nested lists: float_array names the problem
        ndim = 4
    if ndim not in (3, 4):
        raise ValueError(
            f"input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {list(np.shape(input))}"
        )
    x = float_array(input, "input", ndim)
    unbatched = ndim == 3
    if unbatched:
        x = x[None]  # (1, C, H, W)
    w = float_array(weight, "weight", 4, x.dtype)
    plan = plans.plan_torch_conv2d(x.shape, w.shape, stride, padding, dilation, groups)
    b = None
    if bias is not None:
        b = float_array(bias, "bias", 1, x.dtype)
        plans.check_bias_shape(plan, b.shape)
    out = spatial_stage(to_nhwc(x, plan), w.transpose(2, 3, 1, 0), plan)  # (N, Ho, Wo, O)
    if b is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            out = finite_result(out + b)
    out = from_nhwc(out, plan)
    return out[0] if unbatched else out
