"""Loop reference twin of ``app/engine/gradients.py``, written from the chain rule.

The forward formula (``reference.conv2d``) is ``y[b,i,j,o] = Σ x[b, row, col, g*Cg + c] *
w[di,dj,c,o]`` with ``row = s_h*i + d_h*di - pad_top``, ``col = s_w*j + d_w*dj - pad_left``.
Each term sends ``dy[b,i,j,o] * w[di,dj,c,o]`` to ``dx[b,row,col,g*Cg+c]`` (when that cell
is inside the input, not padding) and ``x[b,row,col,g*Cg+c] * dy[b,i,j,o]`` to
``dw[di,dj,c,o]``. One loop per index, its own padding arithmetic (``reference.Window``),
no code shared with the engine. Arguments normalised as in ``reference.py``; float64 out.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tests.engine.reference import TfPadding, Window

Shape = tuple[int, int, int, int]
Pair = tuple[int, int]


def _nhwc(array: np.ndarray, data_format: str) -> np.ndarray:
    return np.asarray(array, dtype=np.float64) if data_format == "NHWC" else (
        np.asarray(array, dtype=np.float64).transpose(0, 2, 3, 1)
    )


def _back(array_nhwc: np.ndarray, data_format: str) -> np.ndarray:
    return array_nhwc if data_format == "NHWC" else array_nhwc.transpose(0, 3, 1, 2).copy()


def _terms(
    input_nhwc_shape: Shape, filter_shape: Shape, strides: Pair, padding: TfPadding, dilations: Pair
) -> Iterator[tuple[int, ...]]:
    """Every term of the forward sum that reads an input cell (padding cells read 0).

    Yields ``(b, i, j, o, di, dj, c, row, col, channel)``, filter ``(kh, kw, Cg, O)``.
    """
    batch, height, width, channels = input_nhwc_shape
    kh, kw, group_in, out_channels = filter_shape
    group_out = out_channels // (channels // group_in)
    window = Window((height, width), (kh, kw), strides, dilations, padding)
    for b in range(batch):
        for i, j in window.outputs():
            for o in range(out_channels):
                g = o // group_out
                for di, dj, row, col in window.taps(i, j):
                    if not window.inside(row, col):
                        continue
                    for c in range(group_in):
                        yield b, i, j, o, di, dj, c, row, col, g * group_in + c


def _depthwise_terms(
    input_nhwc_shape: Shape, filter_shape: Shape, strides: Pair, padding: TfPadding, dilations: Pair
) -> Iterator[tuple[int, ...]]:
    """Every term of the depthwise forward sum that reads an input cell.

    Yields ``(b, i, j, q, r, di, dj, row, col)``, filter ``(kh, kw, C, M)``; the term writes
    output channel ``q*M + r``.
    """
    batch, height, width, channels = input_nhwc_shape
    kh, kw, _, multiplier = filter_shape
    window = Window((height, width), (kh, kw), strides, dilations, padding)
    for b in range(batch):
        for i, j in window.outputs():
            for q in range(channels):
                for r in range(multiplier):
                    for di, dj, row, col in window.taps(i, j):
                        if window.inside(row, col):
                            yield b, i, j, q, r, di, dj, row, col


def conv2d_backprop_input(
    input_sizes, filters, out_backprop, strides, padding, data_format="NHWC", dilations=(1, 1)
) -> np.ndarray:
    """dL/dx of ``reference.conv2d``: filters (kh, kw, C/G, O), dx shaped ``input_sizes``."""
    if data_format == "NHWC":
        shape = tuple(input_sizes)
    else:
        n, c, h, w = input_sizes
        shape = (n, h, w, c)
    dy = _nhwc(out_backprop, data_format)
    weights = np.asarray(filters, dtype=np.float64)
    dx = np.zeros(shape)
    for b, i, j, o, di, dj, c, row, col, channel in _terms(
        shape, weights.shape, strides, padding, dilations
    ):
        dx[b, row, col, channel] += dy[b, i, j, o] * weights[di, dj, c, o]
    return _back(dx, data_format)


def conv2d_backprop_filter(
    x, filter_sizes, out_backprop, strides, padding, data_format="NHWC", dilations=(1, 1)
) -> np.ndarray:
    """dL/dw of ``reference.conv2d``: shape ``filter_sizes`` (kh, kw, C/G, O)."""
    values = _nhwc(x, data_format)
    dy = _nhwc(out_backprop, data_format)
    dw = np.zeros(tuple(filter_sizes))
    for b, i, j, o, di, dj, c, row, col, channel in _terms(
        values.shape, tuple(filter_sizes), strides, padding, dilations
    ):
        dw[di, dj, c, o] += values[b, row, col, channel] * dy[b, i, j, o]
    return dw


def depthwise_conv2d_backprop_input(
    input_sizes, filter, out_backprop, strides, padding, data_format="NHWC", dilations=(1, 1)
) -> np.ndarray:
    """dL/dx of ``reference.depthwise_conv2d``, filter (kh, kw, C, M)."""
    if data_format == "NHWC":
        batch, height, width, channels = input_sizes
    else:
        batch, channels, height, width = input_sizes
    shape = (batch, height, width, channels)
    multiplier = np.shape(filter)[3]
    weights = np.asarray(filter, dtype=np.float64)
    dy = _nhwc(out_backprop, data_format)
    dx = np.zeros(shape)
    for b, i, j, q, r, di, dj, row, col in _depthwise_terms(
        shape, weights.shape, strides, padding, dilations
    ):
        dx[b, row, col, q] += dy[b, i, j, q * multiplier + r] * weights[di, dj, q, r]
    return _back(dx, data_format)


def depthwise_conv2d_backprop_filter(
    x, filter_sizes, out_backprop, strides, padding, data_format="NHWC", dilations=(1, 1)
) -> np.ndarray:
    """``dw[di,dj,q,r] = Σ_{b,i,j} x[b, row, col, q] * dy[b,i,j,q*M+r]``."""
    values = _nhwc(x, data_format)
    multiplier = filter_sizes[3]
    dy = _nhwc(out_backprop, data_format)
    dw = np.zeros(tuple(filter_sizes))
    for b, i, j, q, r, di, dj, row, col in _depthwise_terms(
        values.shape, tuple(filter_sizes), strides, padding, dilations
    ):
        dw[di, dj, q, r] += values[b, row, col, q] * dy[b, i, j, q * multiplier + r]
    return dw
