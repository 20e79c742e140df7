"""Gradients of the convolutions, with TensorFlow's names, arguments and meanings.

For a loss ``L`` and ``dy = dL/d(output)`` (TF's ``out_backprop``), a grouped
convolution ``y[b,i,j,o] = Σ_{di,dj,c} x[b, s_h*i + d_h*di - pad_top, s_w*j + d_w*dj - pad_left,
g*Cg + c] * w[di,dj,c,o]`` (group ``g = o // Og``) has

- ``dL/dw[di,dj,c,o] = Σ_{b,i,j} x[b, s_h*i + d_h*di - pad_top, s_w*j + d_w*dj - pad_left,
  g*Cg + c] * dy[b,i,j,o]``: input value × output gradient, summed over output positions;
- ``dL/dx[b,h,w,g*Cg + c] = Σ_{di,dj,o in g} dy[b,i,j,o] * w[di,dj,c,o]`` over the ``(i, j)``
  whose window puts tap ``(di, dj)`` on ``(h, w)``: the transposed correlation.

Depthwise is the grouped case ``groups = C``, ``Cg = 1``, ``Og = M`` (output channel
``q*M + r``), so both formulas live once, below. The shapes are validated by the
forward op's plan (``plans.py``), so a gradient accepts exactly what the op accepts,
with the same messages, and the padding comes from ``geometry.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from app.engine import kernels
from app.engine.arguments import float_array
from app.engine.ops import depthwise_as_grouped, finite_result, from_nhwc, to_nhwc
from app.engine.plans import ConvPlan, plan_conv2d, plan_depthwise_conv2d


def _sizes(value: Any, name: str) -> tuple[int, int, int, int]:
    """TF's ``input_sizes``/``filter_sizes``: four non-negative integers."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of 4 integers") from None
    if array.shape != (4,) or array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a list of 4 integers, got {value!r}")
    sizes = tuple(int(size) for size in array)
    if min(sizes) < 0:
        raise ValueError(f"{name} must not be negative, got {list(sizes)}")
    return sizes  # type: ignore[return-value]


def _check_out_backprop(dy: np.ndarray, plan: ConvPlan) -> None:
    if tuple(dy.shape) != plan.output_shape:
        raise ValueError(
            f"out_backprop has shape {list(dy.shape)} but the convolution's output has shape "
            f"{list(plan.output_shape)} ({plan.data_format})"
        )


def _group_matrices(dy_nhwc: np.ndarray, groups: int) -> np.ndarray:
    """dy : (N, Ho, Wo, O). Returns (G, P, Og), P = N*Ho*Wo, output channel g*Og + j."""
    n, ho, wo, out = dy_nhwc.shape
    return dy_nhwc.reshape(n * ho * wo, groups, out // groups).transpose(1, 0, 2)


def input_gradient(dy_nhwc: np.ndarray, weights: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """The transposed correlation of a grouped stage.

    dy_nhwc : (N, Ho, Wo, O); weights : (kh, kw, Cg, O). Returns dL/dx, (N, H, W, C).
    """
    kh, kw, group_in, out = weights.shape
    taps, groups = kh * kw, plan.groups
    n, (ho, wo), (height, width) = plan.batch, plan.output_hw, plan.input_hw
    channels = plan.in_channels
    pads = plan.padding
    padded = np.zeros(
        (n, height + pads.pad_top + pads.pad_bottom, width + pads.pad_left + pads.pad_right,
         channels),
        dtype=dy_nhwc.dtype,
    )
    if n * ho * wo and out and channels:
        per_group_weights = (
            weights.reshape(taps, group_in, groups, out // groups)
            .transpose(2, 3, 0, 1)
            .reshape(groups, out // groups, taps * group_in)
        )  # (G, Og, kh*kw*Cg)
        columns = np.matmul(_group_matrices(dy_nhwc, groups), per_group_weights)  # (G, P, T*Cg)
        columns = (
            columns.reshape(groups, n, ho, wo, taps, group_in)
            .transpose(1, 2, 3, 4, 0, 5)
            .reshape(n, ho, wo, taps, channels)
        )  # (N, Ho, Wo, kh*kw, C), channel g*Cg + c
        (sh, sw), (dh, dw) = plan.strides, plan.dilations
        for tap_index in range(taps):  # one strided add per tap: positions within it are distinct
            row, col = divmod(tap_index, kw)
            row, col = row * dh, col * dw
            padded[:, row : row + (ho - 1) * sh + 1 : sh, col : col + (wo - 1) * sw + 1 : sw] += (
                columns[:, :, :, tap_index]
            )
    return padded[:, pads.pad_top : pads.pad_top + height, pads.pad_left : pads.pad_left + width]


def filter_gradient(x_nhwc: np.ndarray, dy_nhwc: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """Input value × output gradient, summed over batch and output positions.

    x_nhwc : (N, H, W, C); dy_nhwc : (N, Ho, Wo, O).
    Returns dL/dw, (kh, kw, Cg, O) (for depthwise ``(kh, kw, 1, C*M)``).
    """
    (kh, kw), groups, out = plan.kernel_hw, plan.groups, plan.spatial_out_channels
    group_in, taps = plan.group_in_channels, kh * kw
    n, (ho, wo) = plan.batch, plan.output_hw
    if not (n * ho * wo and out and plan.in_channels):
        return np.zeros((kh, kw, group_in, out), dtype=x_nhwc.dtype)
    padded = kernels.pad_input(x_nhwc, plan.padding)
    columns = kernels._columns(padded, (kh, kw), plan.strides, plan.dilations, (ho, wo))
    per_group_columns = (
        columns.reshape(n * ho * wo, taps, groups, group_in)
        .transpose(2, 1, 3, 0)
        .reshape(groups, taps * group_in, n * ho * wo)
    )  # (G, kh*kw*Cg, P)
    gradient = np.matmul(per_group_columns, _group_matrices(dy_nhwc, groups))  # (G, T*Cg, Og)
    return (
        gradient.reshape(groups, taps, group_in, out // groups)
        .transpose(1, 2, 0, 3)
        .reshape(kh, kw, group_in, out)
    )  # output channel g*Og + j


def _backprop_input(
    plan_of: Callable[..., ConvPlan], input_sizes: Any, filters: Any, filter_name: str,
    out_backprop: Any, window: tuple[Any, ...],
) -> np.ndarray:
    """dL/d(input) of ``conv2d`` or ``depthwise_conv2d`` (``plan_of`` says which).

    filters : the op's filter, (kh, kw, C/groups, O) or depthwise (kh, kw, C, M)
    window : the op's (strides, padding, data_format, dilations)
    Returns shape ``input_sizes``, out_backprop's float dtype.
    """
    sizes = _sizes(input_sizes, "input_sizes")
    dy = float_array(out_backprop, "out_backprop", 4)
    w = float_array(filters, filter_name, 4, dy.dtype)
    plan = plan_of(sizes, w.shape, *window)
    _check_out_backprop(dy, plan)
    weights = w if plan.op == "conv2d" else depthwise_as_grouped(w)  # (kh, kw, Cg, O)
    with np.errstate(over="ignore", invalid="ignore"):
        gradient = finite_result(input_gradient(to_nhwc(dy, plan), weights, plan))
    return from_nhwc(np.ascontiguousarray(gradient), plan)


def _backprop_filter(
    plan_of: Callable[..., ConvPlan], input: Any, filter_sizes: Any, out_backprop: Any,
    window: tuple[Any, ...],
) -> np.ndarray:
    """dL/d(filter) of ``conv2d`` or ``depthwise_conv2d`` (``plan_of`` says which).

    window : the op's (strides, padding, data_format, dilations)
    Returns shape ``filter_sizes``, the input's float dtype.
    """
    sizes = _sizes(filter_sizes, "filter_sizes")
    x = float_array(input, "input", 4)
    dy = float_array(out_backprop, "out_backprop", 4, x.dtype)
    plan = plan_of(x.shape, sizes, *window)
    _check_out_backprop(dy, plan)
    with np.errstate(over="ignore", invalid="ignore"):
        gradient = finite_result(filter_gradient(to_nhwc(x, plan), to_nhwc(dy, plan), plan))
    return gradient.reshape(sizes)  # depthwise (kh, kw, 1, C*M) -> (kh, kw, C, M); conv2d as is


# The public functions: TF's names and parameter lists, each handing its op's plan to a
# helper above.


def conv2d_backprop_input(
    input_sizes: Any, filters: Any, out_backprop: Any, strides: Any, padding: Any,
    data_format: str | None = "NHWC", dilations: Any = None,
) -> np.ndarray:
    """``tf.raw_ops.Conv2DBackpropInput``: dL/d(input) of ``conv2d``.

    input_sizes : 4 ints, the input's shape in data_format
    filters : array-like, shape (kh, kw, C/groups, O)
    out_backprop : array-like, the output's shape (N, Ho, Wo, O) or (N, O, Ho, Wo)
    Returns shape ``input_sizes``, out_backprop's float dtype.
    """
    return _backprop_input(
        plan_conv2d, input_sizes, filters, "filters", out_backprop,
        (strides, padding, data_format, dilations),
    )


def conv2d_backprop_filter(
    input: Any, filter_sizes: Any, out_backprop: Any, strides: Any, padding: Any,
    data_format: str | None = "NHWC", dilations: Any = None,
) -> np.ndarray:
    """``tf.raw_ops.Conv2DBackpropFilter``: dL/d(filters) of ``conv2d``.

    input : array-like, shape (N, H, W, C) or (N, C, H, W)
    filter_sizes : 4 ints, (kh, kw, C/groups, O)
    out_backprop : array-like, the output's shape
    Returns shape (kh, kw, C/groups, O), the input's float dtype.
    """
    return _backprop_filter(
        plan_conv2d, input, filter_sizes, out_backprop, (strides, padding, data_format, dilations)
    )


def depthwise_conv2d_backprop_input(
    input_sizes: Any, filter: Any, out_backprop: Any, strides: Any, padding: Any,
    data_format: str | None = "NHWC", dilations: Any = None,
) -> np.ndarray:
    """``tf.nn.depthwise_conv2d_backprop_input``: dL/d(input) of ``depthwise_conv2d``.

    input_sizes : 4 ints, the input's shape in data_format
    filter : array-like, shape (kh, kw, C, M)
    out_backprop : array-like, shape (N, Ho, Wo, C*M) or (N, C*M, Ho, Wo)
    Returns shape ``input_sizes``: ``dx[..., q] = Σ_r`` of channel ``q*M + r``'s transposed
    correlation with ``filter[:, :, q, r]``.
    """
    return _backprop_input(
        plan_depthwise_conv2d, input_sizes, filter, "filter", out_backprop,
        (strides, padding, data_format, dilations),
    )


def depthwise_conv2d_backprop_filter(
    input: Any, filter_sizes: Any, out_backprop: Any, strides: Any, padding: Any,
    data_format: str | None = "NHWC", dilations: Any = None,
) -> np.ndarray:
    """``tf.nn.depthwise_conv2d_backprop_filter``: dL/d(filter) of ``depthwise_conv2d``.

    input : array-like, shape (N, H, W, C) or (N, C, H, W)
    filter_sizes : 4 ints, (kh, kw, C, M)
    out_backprop : array-like, shape (N, Ho, Wo, C*M) or NCHW
    Returns shape (kh, kw, C, M): ``dw[di,dj,q,r] = Σ_{b,i,j} x[b, s_h*i + d_h*di - pad_top,
    s_w*j + d_w*dj - pad_left, q] * dy[b,i,j,q*M+r]``.
    """
    return _backprop_filter(
        plan_depthwise_conv2d, input, filter_sizes, out_backprop,
        (strides, padding, data_format, dilations),
    )
