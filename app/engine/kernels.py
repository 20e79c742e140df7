"""Vectorised compute kernels, NHWC only. Private: the ops in ``ops.py`` call these.

Every convolution here is a grouped convolution of an already padded input:
group ``g`` reads input channels ``[g*Cg, (g+1)*Cg)`` and writes output
channels ``[g*Og, (g+1)*Og)``. Depthwise is ``groups == C``, ``Cg == 1``,
``Og == M``, and the output channel ``q*M + r`` falls out of that order.

Three implementations, chosen by shape (see ``benchmarks/engine.py``):

- shifted-view accumulation for depthwise with many channels: one multiply-add
  per kernel tap over the whole output, the tap's weights pre-tiled to a full
  output row so the inner loop runs over ``Wo*C*M`` contiguous values;
- strided im2col times a block-diagonal weight, one matmul, for depthwise with
  few channels or stride > 1;
- strided im2col times per-group weights (one batched matmul) for standard and
  grouped convolution.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from app.engine.geometry import Padding2D

# Depthwise with at least this many output channels (C*M) and stride 1 uses the
# shifted-view kernel; below it, im2col with a block-diagonal weight wins.
SHIFTED_MIN_CHANNELS = 8


def pad_input(x: np.ndarray, padding: Padding2D) -> np.ndarray:
    """Zero-pad the spatial axes.

    x : ndarray, shape (N, H, W, C)
    Returns shape (N, H + pad_top + pad_bottom, W + pad_left + pad_right, C).
    """
    if not (padding.pad_top or padding.pad_bottom or padding.pad_left or padding.pad_right):
        return x
    return np.pad(
        x,
        ((0, 0), (padding.pad_top, padding.pad_bottom), (padding.pad_left, padding.pad_right),
         (0, 0)),
    )


def window_view(
    padded: np.ndarray,
    kernel_hw: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """Read-only view of every kernel window.

    padded : ndarray, shape (N, Hp, Wp, C)
    Returns a view of shape (N, Ho, Wo, C, kh, kw):
    ``view[n, i, j, c, di, dj] = padded[n, s_h*i + d_h*di, s_w*j + d_w*dj, c]``.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_hw, strides, dilations, output_hw
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    windows = sliding_window_view(padded, span, axis=(1, 2))  # (N, Hp-eh+1, Wp-ew+1, C, eh, ew)
    return windows[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, :, ::dh, ::dw]


def tap_view(
    padded: np.ndarray,
    tap: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """The input values one kernel tap ``(di, dj)`` meets at every output position.

    padded : ndarray, shape (N, Hp, Wp, C)
    Returns a view of shape (N, Ho, Wo, C).
    """
    (di, dj), (sh, sw), (dh, dw), (ho, wo) = tap, strides, dilations, output_hw
    row, col = di * dh, dj * dw
    return padded[:, row : row + (ho - 1) * sh + 1 : sh, col : col + (wo - 1) * sw + 1 : sw, :]


def grouped_conv(
    padded: np.ndarray,
    weights: np.ndarray,
    groups: int,
    strides: tuple[int, int],
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """Grouped cross-correlation of a padded input.

    padded : ndarray, shape (N, Hp, Wp, C), C = groups * Cg
    weights : ndarray, shape (kh, kw, Cg, O), O a multiple of groups
    Returns shape (N, Ho, Wo, O), dtype of ``padded``.
    """
    n, _, _, channels = padded.shape
    kh, kw, _, out_channels = weights.shape
    ho, wo = output_hw
    if n == 0 or ho == 0 or wo == 0 or out_channels == 0:
        return np.zeros((n, ho, wo, out_channels), dtype=padded.dtype)
    if groups == channels and weights.shape[2] == 1:
        multiplier = out_channels // channels
        depthwise = weights.reshape(kh, kw, channels, multiplier)
        if strides == (1, 1) and channels * multiplier >= SHIFTED_MIN_CHANNELS:
            return _depthwise_shifted(padded, depthwise, dilations, output_hw)
        return _depthwise_block_diagonal(padded, depthwise, strides, dilations, output_hw)
    return _grouped_im2col(padded, weights, groups, strides, dilations, output_hw)


def _depthwise_shifted(
    padded: np.ndarray,
    weights: np.ndarray,
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """Stride-1 depthwise by shifted-view accumulation.

    padded : (N, Hp, Wp, C); weights : (kh, kw, C, M). Returns (N, Ho, Wo, C*M).
    """
    kh, kw, channels, multiplier = weights.shape
    if multiplier > 1:
        padded = np.repeat(padded, multiplier, axis=3)  # (N, Hp, Wp, C*M), channel q*M + r
    n, ho, wo = padded.shape[0], output_hw[0], output_hw[1]
    width = channels * multiplier
    # (kh*kw, Wo*C*M): each tap's weights repeated along a whole output row.
    tiled = np.tile(weights.reshape(kh * kw, width), (1, wo))
    accumulator = np.empty((n, ho, wo * width), dtype=padded.dtype)
    product = np.empty_like(accumulator)
    for tap_index in range(kh * kw):
        tap = divmod(tap_index, kw)
        rows = tap_view(padded, tap, (1, 1), dilations, output_hw).reshape(n, ho, wo * width)
        if tap_index == 0:
            np.multiply(rows, tiled[0], out=accumulator)
        else:
            np.multiply(rows, tiled[tap_index], out=product)
            accumulator += product
    return accumulator.reshape(n, ho, wo, width)


def _depthwise_block_diagonal(
    padded: np.ndarray,
    weights: np.ndarray,
    strides: tuple[int, int],
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """Depthwise as one matmul: im2col times a block-diagonal weight.

    padded : (N, Hp, Wp, C); weights : (kh, kw, C, M). Returns (N, Ho, Wo, C*M).
    """
    kh, kw, channels, multiplier = weights.shape
    n, (ho, wo) = padded.shape[0], output_hw
    windows = window_view(padded, (kh, kw), strides, dilations, output_hw)  # (N,Ho,Wo,C,kh,kw)
    columns = windows.reshape(n * ho * wo, channels * kh * kw)  # copy; column q*kh*kw + t
    block = np.zeros((channels, kh * kw, channels, multiplier), dtype=padded.dtype)
    diagonal = np.arange(channels)
    block[diagonal, :, diagonal, :] = weights.reshape(kh * kw, channels, multiplier).transpose(
        1, 0, 2
    )  # (C, kh*kw, M) on the diagonal
    out = columns @ block.reshape(channels * kh * kw, channels * multiplier)  # (N*Ho*Wo, C*M)
    return out.reshape(n, ho, wo, channels * multiplier)


def _grouped_im2col(
    padded: np.ndarray,
    weights: np.ndarray,
    groups: int,
    strides: tuple[int, int],
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """Standard/grouped conv: im2col per group, one (batched) matmul.

    padded : (N, Hp, Wp, C); weights : (kh, kw, Cg, O). Returns (N, Ho, Wo, O).
    """
    kh, kw, group_channels, out_channels = weights.shape
    n, (ho, wo) = padded.shape[0], output_hw
    group_out = out_channels // groups
    depth = group_channels * kh * kw
    windows = window_view(padded, (kh, kw), strides, dilations, output_hw)  # (N,Ho,Wo,C,kh,kw)
    columns = windows.reshape(n * ho * wo, groups, depth)  # copy; (P, G, Cg*kh*kw)
    # (G, Cg*kh*kw, Og), rows ordered (c, di, dj) like the columns.
    per_group = (
        weights.reshape(kh, kw, group_channels, groups, group_out)
        .transpose(3, 2, 0, 1, 4)
        .reshape(groups, depth, group_out)
    )
    if groups == 1:
        out = columns[:, 0, :] @ per_group[0]  # (P, O)
    else:
        out = np.matmul(columns.transpose(1, 0, 2), per_group)  # (G, P, Og)
        out = out.transpose(1, 0, 2)  # (P, G, Og), channel g*Og + j
    return out.reshape(n, ho, wo, out_channels)


def pointwise(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1×1 stride-1 convolution as one matmul.

    x : (N, H, W, K); weights : (K, O). Returns (N, H, W, O).
    """
    n, h, w, depth = x.shape
    return (x.reshape(n * h * w, depth) @ weights).reshape(n, h, w, weights.shape[1])
