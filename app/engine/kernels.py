"""Vectorised compute kernels, NHWC only. Private: the ops in ``ops.py`` call these.

Every convolution here is a grouped convolution of an already padded input:
group ``g`` reads input channels ``[g*Cg, (g+1)*Cg)`` and writes output
channels ``[g*Og, (g+1)*Og)``. Depthwise is ``groups == C``, ``Cg == 1``,
``Og == M``, and the output channel ``q*M + r`` falls out of that order.

Three implementations, chosen by shape (see ``benchmarks/engine.py``, README "How the
engine is fast"):

- shifted-view accumulation for depthwise with ``C*M >= 2``: one multiply-add
  per kernel tap over the output, the tap's weights pre-tiled to a full
  output row so the inner loop runs over ``Wo*C*M`` contiguous values; stride
  > 1 reads contiguous rows too, from a polyphase split of the input; a large
  output goes in bands of rows that stay in cache across the ``kh*kw`` sweeps;
- im2col times a block-diagonal weight for a single-channel depthwise
  (``C*M == 1``) and for teaching sizes (``C <= 4``, small im2col), where the
  per-tap loop's overhead dominates;
- im2col times per-group weights (one batched matmul) for standard and
  grouped convolution.

Small columns (teaching sizes), and larger standard conv with few input channels or grouped
conv with few per group, come from the wide-row im2col: the input padded channels first,
each tap's values one long contiguous run of the flattened planes, in cache-sized bands of
output rows (``convolve`` chooses the padding's layout, ``_wide_rows_matmul``). Other large
ones from the NHWC padding: with stride 1 along the height, im2col is taken along the width
only (a row band, ``kh`` times smaller) and the kernel's rows become ``kh`` matmuls summed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from app.engine.geometry import Padding2D

# Depthwise with at least this many output channels (C*M) uses the shifted-view
# kernel; below it, im2col with a block-diagonal weight wins (benchmarks/engine.py).
SHIFTED_MIN_CHANNELS = 2
# Teaching sizes (C <= 4, im2col gathered in one go) go the block-diagonal way too: its
# C-fold wasted multiply-adds cost less than the shifted kernel's 2*kh*kw ufunc calls
# (32x32x3, M=2: 28 us against 45 us). Larger C: the waste wins.
BLOCK_DIAGONAL_MAX_CHANNELS = 4
# im2col by one gather when the columns are small (teaching sizes): there the nine strided
# tap copies cost more in call overhead than in bytes (48 us against 15 us for 32x32x3, 3x3).
GATHER_MAX_ELEMENTS = 1 << 17
# The shifted kernel sweeps its output once per tap. Past the caches each sweep waits on
# memory, so an output larger than this goes in bands of about this many bytes, each band
# swept by every tap while it is in cache (112x112x32, 3x3: 1.2 ms against 2.5 ms).
SHIFTED_BAND_BYTES = 1 << 18
# im2col along the width only, then one matmul per kernel row, from this many im2col
# values (32x32x4, 5x5 depthwise: 102 400 values, 187 us against 411 us for the full im2col).
ROW_BAND_MIN_ELEMENTS = 1 << 16
# Standard, grouped and block-diagonal depthwise conv take the wide-row im2col (channels
# first, ``_wide_rows_matmul``) while its columns hold at most this many values (1 MB in
# float64): 32x32x3 -> 8, 3x3 in 19 us against 40 us for the gather and its matmul.
WIDE_ROWS_MAX_ELEMENTS = 1 << 17
# Larger standard conv with at most this many input channels takes it too (float64, one
# thread, A/B at load 4-6): 224x224x3 -> 16, 3x3: 2.2 ms against 4.6 ms for the NHWC row
# bands; 112x112x8 -> 16: 1.1 against 1.9 ms. With more channels the NHWC copies' C-long
# runs are quicker: 56x56x64 -> 64: 8.6 against 6.3 ms; 112x112x32 stride 2: 5.3 against
# 2.9 ms.
WIDE_ROWS_MAX_CHANNELS = 8
# Larger grouped conv with at most this many channels per group (the NHWC path copies its
# im2col twice): 32x32x16 -> 16, 2 groups: 150 against 385 us; 56x56x64 -> 64, 2 groups:
# 3.8 against 8.9 ms, 8 groups 2.3 against 7.2 ms; 56x56x128, 2 groups: 19 against 32 ms;
# 28x28x256, 2 groups (128 per group): 18 against 15 ms, so not there.
WIDE_ROWS_MAX_GROUP_CHANNELS = 64
# The wide-row im2col goes in bands of output rows whose columns hold at most this many
# values (512 KB in float64: each band copied, then multiplied while in cache): 224x224x3 ->
# 16: 2.2 ms in bands of 2^16 values, 3.2 ms in bands of 2^17, 3.3 ms in bands of 2^21;
# 48x48x6 -> 12 (129 600 values): 149 us in two bands, 233 us in one.
WIDE_ROWS_BAND_ELEMENTS = 1 << 16


class Sliding(NamedTuple):
    """How a kernel slides over a padded input; every field is a (height, width) pair.

    Tap ``(di, dj)`` at output position ``(i, j)`` reads padded row ``s_h*i + d_h*di``
    and column ``s_w*j + d_w*dj``; ``output_hw`` is ``Padding2D.output_shape``.
    """

    kernel_hw: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    output_hw: tuple[int, int]


def pad_input(
    x: np.ndarray, padding: Padding2D, channels_first: bool = False, spare_rows: int = 0
) -> np.ndarray:
    """Zero-pad the spatial axes (zeros + one slice copy: ``np.pad`` costs 15x more here).

    x : ndarray, shape (N, H, W, C)
    Returns shape (N, Hp, Wp, C), Hp = H + pad_top + pad_bottom, Wp = W + pad_left + pad_right;
    with ``channels_first`` a new C-contiguous array of shape (N, C, Hp + spare_rows, Wp), the
    spare rows zeros below the padded image.
    """
    n, h, w, c = x.shape
    if not channels_first and not (
            padding.pad_top or padding.pad_bottom or padding.pad_left or padding.pad_right):
        return x
    hp, wp = h + padding.pad_top + padding.pad_bottom, w + padding.pad_left + padding.pad_right
    rows = slice(padding.pad_top, padding.pad_top + h)
    columns = slice(padding.pad_left, padding.pad_left + w)
    if channels_first:
        padded = np.zeros((n, c, hp + spare_rows, wp), dtype=x.dtype)
        padded[:, :, rows, columns] = x.transpose(0, 3, 1, 2)
        return padded
    padded = np.zeros((n, hp, wp, c), dtype=x.dtype)
    padded[:, rows, columns] = x
    return padded


def window_view(
    padded: np.ndarray,
    kernel_hw: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    output_hw: tuple[int, int],
) -> np.ndarray:
    """Read-only view of every kernel window (the fields of ``Sliding``, positionally).

    padded : ndarray, shape (N, Hp, Wp, C)
    Returns a view of shape (N, Ho, Wo, C, kh, kw):
    ``view[n, i, j, c, di, dj] = padded[n, s_h*i + d_h*di, s_w*j + d_w*dj, c]``.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_hw, strides, dilations, output_hw
    if ho == 0 or wo == 0:  # an empty output: the input may be smaller than the window
        return np.empty((padded.shape[0], ho, wo, padded.shape[3], kh, kw), padded.dtype)
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    windows = sliding_window_view(padded, span, axis=(1, 2))  # (N, Hp-eh+1, Wp-ew+1, C, eh, ew)
    return windows[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, :, ::dh, ::dw]


def tap_view(padded: np.ndarray, tap: tuple[int, int], sliding: Sliding) -> np.ndarray:
    """The input values one kernel tap ``(di, dj)`` meets at every output position.

    padded : ndarray, shape (N, Hp, Wp, C)
    Returns a view of shape (N, Ho, Wo, C).
    """
    (di, dj), (sh, sw), (dh, dw), (ho, wo) = tap, *sliding[1:]
    row, col = di * dh, dj * dw
    return padded[:, row : row + (ho - 1) * sh + 1 : sh, col : col + (wo - 1) * sw + 1 : sw, :]


def convolve(
    x: np.ndarray, padding: Padding2D, weights: np.ndarray, groups: int, sliding: Sliding
) -> np.ndarray:
    """Grouped cross-correlation of an unpadded input: the padding's layout is chosen by
    shape, channels first for the wide-row im2col (``_uses_wide_rows``), else NHWC.

    x : ndarray, shape (N, H, W, C), C = groups * Cg
    weights : ndarray, shape (kh, kw, Cg, O), O a multiple of groups
    Returns shape (N, Ho, Wo, O), C-contiguous, dtype of ``x``.
    """
    wide = _uses_wide_rows(x.shape, padding, weights.shape, groups, sliding)
    # Wide: one spare zero row, for the last taps' wide rows run past the last padded row.
    padded = pad_input(x, padding, channels_first=wide, spare_rows=1 if wide else 0)
    return grouped_conv(padded, weights, groups, sliding, channels_first=wide)


def grouped_conv(
    padded: np.ndarray, weights: np.ndarray, groups: int, sliding: Sliding,
    channels_first: bool = False,
) -> np.ndarray:
    """Grouped cross-correlation of a padded input.

    padded : ndarray, shape (N, Hp, Wp, C), C = groups * Cg; with ``channels_first`` (the
    wide-row im2col, where ``_uses_wide_rows`` says so) (N, C, Hp + 1, Wp), one spare zero row
    weights : ndarray, shape (kh, kw, Cg, O), O a multiple of groups; (kh, kw) is
    ``sliding.kernel_hw``
    Returns shape (N, Ho, Wo, O), dtype of ``padded``.
    """
    n, channels = padded.shape[0], padded.shape[1 if channels_first else 3]
    kh, kw, _, out_channels = weights.shape
    ho, wo = sliding.output_hw
    if n == 0 or ho == 0 or wo == 0 or out_channels == 0:
        return np.zeros((n, ho, wo, out_channels), dtype=padded.dtype)
    if groups == channels and weights.shape[2] == 1:
        depthwise = weights.reshape(kh, kw, channels, out_channels // channels)
        if _uses_block_diagonal(depthwise.shape, sliding):
            return _depthwise_block_diagonal(padded, depthwise, sliding, channels_first)
        return _depthwise_shifted(padded, depthwise, sliding)
    if channels_first:
        return _wide_rows_matmul(padded, weights, groups, sliding)
    return _grouped_im2col(padded, weights, groups, sliding)


def _uses_block_diagonal(depthwise_shape: tuple[int, ...], sliding: Sliding) -> bool:
    """Depthwise by im2col times a block-diagonal weight, not the shifted kernel: one output
    channel, or a teaching size (C <= 4, small im2col).

    depthwise_shape : (kh, kw, C, M).
    """
    kh, kw, channels, multiplier = depthwise_shape
    ho, wo = sliding.output_hw
    small = channels <= BLOCK_DIAGONAL_MAX_CHANNELS and (
        ho * wo * kh * kw * channels <= GATHER_MAX_ELEMENTS)
    return channels * multiplier < SHIFTED_MIN_CHANNELS or small


def _phases(
    padded: np.ndarray, strides: tuple[int, int], offsets: set[tuple[int, int]]
) -> dict[tuple[int, int], np.ndarray]:
    """Polyphase split: ``phase[(a, b)] = padded[:, a::s_h, b::s_w]``, each contiguous.

    With it, the input a tap meets under stride ``s`` is a stride-1 window of one
    phase, so every tap reads contiguous rows whatever the stride. Only the
    phases some tap reads are made: at most ``kh*kw``, however large the stride.
    """
    sh, sw = strides
    if (sh, sw) == (1, 1):
        return {(0, 0): padded}
    return {
        (a, b): np.ascontiguousarray(padded[:, a::sh, b::sw])  # (N, ~Hp/sh, ~Wp/sw, C)
        for a, b in offsets
    }


def _bands(images: int, rows: int, row_bytes: int) -> tuple[int, int]:
    """(images, rows) of one band of the shifted kernel's output: about SHIFTED_BAND_BYTES,
    whole images together while they fit, else rows of one image."""
    band_rows = max(1, SHIFTED_BAND_BYTES // max(row_bytes, 1))
    if band_rows >= rows:
        return max(1, min(images, band_rows // rows)), rows
    return 1, band_rows


def _depthwise_shifted(padded: np.ndarray, weights: np.ndarray, sliding: Sliding) -> np.ndarray:
    """Depthwise by shifted-view accumulation: one multiply-add per tap over the output.

    padded : (N, Hp, Wp, C); weights : (kh, kw, C, M). Returns (N, Ho, Wo, C*M).
    """
    kh, kw, channels, multiplier = weights.shape
    if multiplier > 1:
        padded = np.repeat(padded, multiplier, axis=3)  # (N, Hp, Wp, C*M), channel q*M + r
    n, (ho, wo) = padded.shape[0], sliding.output_hw
    (sh, sw), (dh, dw) = sliding.strides, sliding.dilations
    phases = _phases(
        padded, sliding.strides,
        {(di * dh % sh, dj * dw % sw) for di in range(kh) for dj in range(kw)},
    )
    width = channels * multiplier
    # (kh*kw, Wo*C*M): each tap's weights repeated along a whole output row.
    tiled = np.tile(weights.reshape(kh * kw, width), (1, wo))
    accumulator = np.empty((n, ho, wo * width), dtype=padded.dtype)
    band_images, band_rows = _bands(n, ho, wo * width * padded.itemsize)
    product = np.empty((band_images, band_rows, wo * width), dtype=padded.dtype)
    for first in range(0, n, band_images):
        for top in range(0, ho, band_rows):
            band = accumulator[first : first + band_images, top : top + band_rows]  # view
            images, rows = band.shape[0], band.shape[1]
            scratch = product[:images, :rows]
            for tap_index in range(kh * kw):
                row, col = divmod(tap_index, kw)
                row, col = row * dh, col * dw
                phase = phases[(row % sh, col % sw)]
                row, col = row // sh + top, col // sw
                taps = phase[first : first + images, row : row + rows, col : col + wo].reshape(
                    band.shape)  # (images, rows, Wo*C*M), a view
                if tap_index == 0:
                    np.multiply(taps, tiled[0], out=band)
                else:
                    np.multiply(taps, tiled[tap_index], out=scratch)
                    band += scratch
    return accumulator.reshape(n, ho, wo, width)


def _columns(padded: np.ndarray, *sliding: tuple[int, int]) -> np.ndarray:
    """im2col: a gather for small columns, else one copy per kernel tap (a generic
    strided 6-D copy is 4x slower).

    padded : (N, Hp, Wp, C); sliding : the fields of ``Sliding`` (kernel_hw, strides,
    dilations, output_hw). Returns (N, Ho, Wo, kh*kw, C): ``[..., t, c]`` is the input
    under tap ``t = di*kw + dj``.
    """
    geometry = Sliding(*sliding)
    (kh, kw), output_hw = geometry.kernel_hw, geometry.output_hw
    n, channels = padded.shape[0], padded.shape[3]
    if output_hw[0] * output_hw[1] * kh * kw * channels <= GATHER_MAX_ELEMENTS:
        index = _gather_index(padded.shape[1:], geometry)
        gathered = np.take(padded.reshape(n, -1), index, axis=1)  # (N, Ho*Wo*kh*kw*C)
        return gathered.reshape(n, *output_hw, kh * kw, channels)
    columns = np.empty((n, *output_hw, kh * kw, channels), dtype=padded.dtype)
    for tap_index in range(kh * kw):
        columns[:, :, :, tap_index] = tap_view(padded, divmod(tap_index, kw), geometry)
    return columns


@functools.lru_cache(maxsize=16)  # at most 16 MB of indices
def _gather_index(
    padded_shape: tuple[int, int, int], sliding: Sliding, positions_last: bool = False
) -> np.ndarray:
    """Where each im2col value sits in one flattened padded image, made once per shape.

    padded_shape : (Hp, Wp, C). Returns read-only int indices, shape (Ho*Wo*kh*kw*C,):
    entry ``[i, j, di*kw + dj, c]`` is ``((s_h*i + d_h*di)*Wp + s_w*j + d_w*dj)*C + c``;
    with ``positions_last`` the same entries in the order ``[di*kw + dj, c, i, j]``.
    """
    _, padded_width, channels = padded_shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = sliding
    rows = np.arange(ho)[:, None] * sh + np.arange(kh)[None, :] * dh  # (Ho, kh)
    cols = np.arange(wo)[:, None] * sw + np.arange(kw)[None, :] * dw  # (Wo, kw)
    index = (rows[:, None, :, None, None] * padded_width + cols[None, :, None, :, None]
             ) * channels + np.arange(channels)  # (Ho, Wo, kh, kw, C)
    if positions_last:
        index = index.transpose(2, 3, 4, 0, 1)  # (kh, kw, C, Ho, Wo)
    index = index.reshape(-1)  # a copy when transposed
    index.setflags(write=False)
    return index


def _row_band(padded: np.ndarray, sliding: Sliding) -> np.ndarray:
    """im2col along the width only: every padded row's ``kw`` taps, one copy per tap column.

    padded : (N, Hp, Wp, C). Returns (N, Hp*Wo, kw*C): ``[n, y*Wo + j, dj*C + c]`` is
    ``padded[n, y, s_w*j + d_w*dj, c]``.
    """
    n, height, _, channels = padded.shape
    (_, kw), (_, sw), (_, dw), (_, wo) = sliding
    band = np.empty((n, height, wo, kw, channels), dtype=padded.dtype)
    for dj in range(kw):
        band[:, :, :, dj] = padded[:, :, dj * dw : dj * dw + (wo - 1) * sw + 1 : sw]
    return band.reshape(n, height * wo, kw * channels)  # (N, Hp*Wo, kw*C)


def _uses_row_bands(padded: np.ndarray, sliding: Sliding) -> bool:
    """Row bands for a large im2col (below, the one-gather im2col is as quick), with stride 1
    down the height (each kernel row's rows are then one slice), never copying more than the
    full im2col would (``Hp <= kh*Ho``)."""
    (kh, kw), (sh, _), (ho, wo) = sliding.kernel_hw, sliding.strides, sliding.output_hw
    return (
        sh == 1 and kh > 1 and padded.shape[1] <= kh * ho
        and ho * wo * kh * kw * padded.shape[3] >= ROW_BAND_MIN_ELEMENTS
    )


def _im2col_matmul(padded: np.ndarray, weights: np.ndarray, sliding: Sliding) -> np.ndarray:
    """Convolution (one group) as im2col times the weights.

    padded : (N, Hp, Wp, C); weights : (kh, kw, C, O). Returns (N, Ho, Wo, O).
    """
    kh, kw, channels, out_channels = weights.shape
    n, (ho, wo) = padded.shape[0], sliding.output_hw
    depth = kh * kw * channels
    if _uses_row_bands(padded, sliding):
        return _row_band_matmul(padded, weights, sliding)
    if ho * wo * depth <= GATHER_MAX_ELEMENTS:
        # Gathered positions last: BLAS then reads the columns as a transposed matrix,
        # quicker than the row-major one for these shapes (1024x27 @ 27x8: 5 us against 8).
        index = _gather_index(padded.shape[1:], sliding, True)
        columns = np.take(padded.reshape(n, -1), index, axis=1).reshape(
            n, depth, ho * wo)  # (N, kh*kw*C, Ho*Wo)
        out = np.matmul(columns.transpose(0, 2, 1), weights.reshape(depth, out_channels))
        return out.reshape(n, ho, wo, out_channels)  # from (N, Ho*Wo, O)
    columns = _columns(padded, *sliding)  # (N, Ho, Wo, kh*kw, C)
    out = columns.reshape(n * ho * wo, depth) @ weights.reshape(depth, out_channels)  # (P, O)
    return out.reshape(n, ho, wo, out_channels)


def _row_band_matmul(padded: np.ndarray, weights: np.ndarray, sliding: Sliding) -> np.ndarray:
    """Convolution (one group) as ``kh`` matmuls over row bands, summed.

    padded : (N, Hp, Wp, C); weights : (kh, kw, C, O). Returns (N, Ho, Wo, O).
    """
    kh, kw, channels, out_channels = weights.shape
    n, (ho, wo) = padded.shape[0], sliding.output_hw
    band = _row_band(padded, sliding)  # (N, Hp*Wo, kw*C)
    kernel_rows = weights.reshape(kh, kw * channels, out_channels)  # (kh, kw*C, O)
    step = sliding.dilations[0] * wo  # band rows between two kernel rows
    out = band[:, : ho * wo] @ kernel_rows[0]  # (N, Ho*Wo, O)
    part = np.empty_like(out)
    for kernel_row in range(1, kh):
        start = kernel_row * step
        np.matmul(band[:, start : start + ho * wo], kernel_rows[kernel_row], out=part)
        out += part  # (N, Ho*Wo, O)
    return out.reshape(n, ho, wo, out_channels)


def _uses_wide_rows(
    x_shape: tuple[int, ...], padding: Padding2D, weights_shape: tuple[int, ...], groups: int,
    sliding: Sliding,
) -> bool:
    """The wide-row im2col (``_wide_rows_matmul``) while its columns are small: standard and
    grouped conv, and the block-diagonal depthwise (32x32x3 -> 8, 3x3: 19 us where the NHWC
    gather and its matmul took 40). Larger columns: standard conv with few input channels
    (WIDE_ROWS_MAX_CHANNELS) and grouped conv with few per group (WIDE_ROWS_MAX_GROUP_CHANNELS),
    in bands of output rows (``_wide_bands``); a larger depthwise keeps its NHWC paths (the
    API's memory bound counts no depthwise window copies; the shifted kernel copies none).

    x_shape : (N, H, W, C); weights_shape : (kh, kw, Cg, O).
    """
    n, _, width, channels = x_shape
    kh, kw, group_channels, out_channels = weights_shape
    ho, wo = sliding.output_hw
    if n == 0 or ho == 0 or wo == 0 or out_channels == 0:
        return False
    depthwise = group_channels == 1 and groups == channels
    if depthwise and not _uses_block_diagonal(
            (kh, kw, channels, out_channels // channels), sliding):
        return False
    padded_width = width + padding.pad_left + padding.pad_right
    positions = n * ho * _wide_width(padded_width, sliding)
    if kh * kw * channels * positions <= WIDE_ROWS_MAX_ELEMENTS:
        return True
    if depthwise:
        return False
    if groups == 1:
        return channels <= WIDE_ROWS_MAX_CHANNELS
    return group_channels <= WIDE_ROWS_MAX_GROUP_CHANNELS


def _wide_width(padded_width: int, sliding: Sliding) -> int:
    """Positions per output row in the wide-row im2col: every padded column ``Wp`` with
    stride 1 along the width (a tap's values for an output row are then one run of the
    row), while at most half of them are wasted; else the ``Wo`` output columns."""
    _, wo = sliding.output_hw
    return padded_width if sliding.strides[1] == 1 and padded_width <= 2 * wo else wo


def _wide_bands(
    images: int, sliding: Sliding, depth: int, padded_width: int
) -> tuple[int, int, int]:
    """(width, images, rows) of one band of the wide-row im2col: the positions per output row
    (``_wide_width``), and as many whole images, else output rows of one image, as keep the
    band's columns (``depth * images * rows * width`` values, ``depth = kh*kw*C``) within
    WIDE_ROWS_BAND_ELEMENTS and within the whole NHWC im2col, ``N*Ho*Wo*kh*kw*C`` values.
    The API bounds that by max_macs (app/api/limits.py: the window copies checked with the
    plan, WINDOW_COPIES in ``memory_bound``), so a band never holds more than the older
    paths' im2col; only columns that all fit in WIDE_ROWS_BAND_ELEMENTS (512 KB) go in one
    band with their garbage columns. One row whose wide columns are over the budget drops
    its garbage columns (``Wo`` positions: within the whole im2col).
    """
    ho, wo = sliding.output_hw
    width = _wide_width(padded_width, sliding)
    if depth * images * ho * width <= WIDE_ROWS_BAND_ELEMENTS:
        return width, images, ho  # one band: 32x32x3 -> 8, 3x3 took 25 us in two, 17-19 in one
    budget = min(WIDE_ROWS_BAND_ELEMENTS, depth * images * ho * wo)
    if depth * width > budget:
        width = wo
    band_rows = max(1, budget // (depth * width))
    if band_rows >= ho:
        return width, max(1, min(images, band_rows // ho)), ho
    return width, 1, band_rows


def _wide_rows_matmul(
    padded: np.ndarray, weights: np.ndarray, groups: int, sliding: Sliding
) -> np.ndarray:
    """Grouped convolution as im2col over wide rows, one (batched) matmul per band of rows.

    padded : (N, C, Hp + 1, Wp), channels first, C-contiguous, one spare zero row;
    weights : (kh, kw, Cg, O). Returns a C-contiguous (N, Ho, Wo, O).

    Channels first, tap ``(di, dj)`` at output ``(i, j)`` reads element
    ``(s_h*i + d_h*di)*Wp + s_w*j + d_w*dj`` of one channel's flattened plane. With stride 1
    along the width and ``j`` running over all ``Wp`` columns (``_wide_width``), a tap's
    values for a band of rows (stride 1 down the height) are one contiguous run, so im2col
    is a strided view copied in long runs, where the NHWC gather's innermost run is C
    values. The ``Wp - Wo`` garbage positions per row (reading past the row's end, into the
    next row or the spare row) are dropped when the band's product is copied into the
    output. Bands (``_wide_bands``) keep the columns within the older paths' im2col.
    """
    n, channels, _, padded_width = padded.shape
    kh, kw, group_channels, out_channels = weights.shape
    (sh, sw), (dh, dw), (ho, wo) = sliding.strides, sliding.dilations, sliding.output_hw
    depth, group_out = kh * kw * group_channels, out_channels // groups
    width, band_images, band_rows = _wide_bands(n, sliding, kh * kw * channels, padded_width)
    image, plane, row, item = (*padded.strides[:3], padded.itemsize)
    view_strides = (group_channels * plane, dh * row, dw * item, plane, image, sh * row,
                    sw * item)
    if groups == 1:
        weight_matrix = weights.reshape(depth, out_channels)  # (kh*kw*C, O)
    else:
        per_group_weights = weights.reshape(depth, groups, group_out).transpose(1, 0, 2)
    buffer = np.empty(groups * depth * band_images * band_rows * width, dtype=padded.dtype)

    def product(first: int, top: int, images: int, rows: int) -> np.ndarray:
        """The band's output, (images, rows, Wq, O) or, grouped, (images, rows, Wq, G, Og)."""
        # columns[g, di, dj, c, b, i, j] = the flattened padded[first + b, g*Cg + c] at
        # (sh*(top + i) + dh*di)*Wp + sw*j + dw*dj (np.ndarray checks the view stays in the
        # buffer).
        shape = (groups, kh, kw, group_channels, images, rows, width)
        columns_view = np.ndarray(shape, padded.dtype, padded, first * image + top * sh * row,
                                  view_strides)
        positions = images * rows * width
        columns = buffer[: groups * depth * positions].reshape(groups, depth, positions)
        np.copyto(columns.reshape(shape), columns_view)  # (G, kh*kw*Cg, images*rows*Wq)
        if groups == 1:
            # The columns read as a transposed matrix: (positions, O), each row NHWC already.
            return (columns[0].T @ weight_matrix).reshape(images, rows, width, out_channels)
        grouped = np.matmul(columns.transpose(0, 2, 1), per_group_weights)  # (G, P, Og)
        return grouped.reshape(groups, images, rows, width, group_out).transpose(1, 2, 3, 0, 4)

    if band_images >= n and band_rows >= ho:  # one band: no copy when nothing is dropped
        out = product(0, 0, n, ho)
        if width != wo or groups > 1:
            out = np.ascontiguousarray(out[:, :, :wo])  # (N, Ho, Wo, [G, Og])
        return out.reshape(n, ho, wo, out_channels)  # channel g*Og + j
    out = np.empty((n, ho, wo, out_channels), dtype=padded.dtype)
    for first in range(0, n, band_images):
        for top in range(0, ho, band_rows):
            images, rows = min(band_images, n - first), min(band_rows, ho - top)
            band = out[first : first + images, top : top + rows]  # (images, rows, Wo, O), view
            band.reshape(images, rows, wo, groups, group_out)[...] = product(
                first, top, images, rows).reshape(images, rows, width, groups, group_out)[
                    :, :, :wo]
    return out  # channel g*Og + j


def _depthwise_block_diagonal(
    padded: np.ndarray, weights: np.ndarray, sliding: Sliding, channels_first: bool = False
) -> np.ndarray:
    """Depthwise as im2col times a block-diagonal weight.

    padded : (N, Hp, Wp, C), or channels first (N, C, Hp + 1, Wp) for the wide-row im2col;
    weights : (kh, kw, C, M). Returns (N, Ho, Wo, C*M).
    """
    kh, kw, channels, multiplier = weights.shape
    block = np.zeros((kh * kw, channels, channels, multiplier), dtype=padded.dtype)
    diagonal = np.arange(channels)
    block[:, diagonal, diagonal, :] = weights.reshape(kh * kw, channels, multiplier)
    block = block.reshape(kh, kw, channels, channels * multiplier)
    if channels_first:
        return _wide_rows_matmul(padded, block, 1, sliding)  # (N, Ho, Wo, C*M)
    return _im2col_matmul(padded, block, sliding)  # (N, Ho, Wo, C*M)


def _grouped_im2col(
    padded: np.ndarray, weights: np.ndarray, groups: int, sliding: Sliding
) -> np.ndarray:
    """Standard/grouped conv: im2col, then one matmul per group (batched).

    padded : (N, Hp, Wp, C); weights : (kh, kw, Cg, O). Returns (N, Ho, Wo, O).
    """
    if groups == 1:
        return _im2col_matmul(padded, weights, sliding)
    kh, kw, group_channels, out_channels = weights.shape
    n, (ho, wo) = padded.shape[0], sliding.output_hw
    positions, taps = n * ho * wo, kh * kw
    columns = _columns(padded, *sliding)  # (N, Ho, Wo, kh*kw, C)
    group_out = out_channels // groups
    # (G, P, kh*kw*Cg): rows ordered (t, c) like the weights below.
    per_group_columns = (
        columns.reshape(positions, taps, groups, group_channels)
        .transpose(2, 0, 1, 3)
        .reshape(groups, positions, taps * group_channels)
    )
    per_group_weights = (
        weights.reshape(taps, group_channels, groups, group_out)
        .transpose(2, 0, 1, 3)
        .reshape(groups, taps * group_channels, group_out)
    )  # (G, kh*kw*Cg, Og)
    out = np.matmul(per_group_columns, per_group_weights)  # (G, P, Og)
    return out.transpose(1, 0, 2).reshape(n, ho, wo, out_channels)  # channel g*Og + j


def pointwise(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1×1 stride-1 convolution as one matmul.

    x : (N, H, W, K); weights : (K, O). Returns (N, H, W, O).
    """
    n, h, w, depth = x.shape
    return (x.reshape(n * h * w, depth) @ weights).reshape(n, h, w, weights.shape[1])
