"""Loop-based reference twin of the engine's ops, written straight from DESIGN.md.

Slow on purpose: one Python loop per index of each formula, zero padding by
reading 0 outside the input (never by building a padded array), and its own
padding arithmetic, so it shares no code with ``app/engine``. When it and the
engine disagree, one of the two formulas is wrong.

The arguments are already normalised: ``strides``/``dilations`` are
``(height, width)`` pairs and TF padding is ``"SAME"``, ``"VALID"`` or
``((top, bottom), (left, right))``. Every function returns float64 in the
caller's data format.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

Pair = tuple[int, int]
TfPadding = str | tuple[Pair, Pair]


def axis_geometry(
    size: int, kernel: int, stride: int, dilation: int, padding: str | tuple[int, int]
) -> tuple[int, int, int]:
    """``(pad_before, pad_after, output_size)`` of one spatial axis (DESIGN.md).

    Raises ``ValueError`` when the output size would be negative.
    """
    span = (kernel - 1) * dilation + 1
    if isinstance(padding, str) and padding.upper() == "SAME":
        output = (size + stride - 1) // stride  # ceil(size / stride)
        total = max((output - 1) * stride + span - size, 0)
        return total // 2, total - total // 2, output  # the odd pad goes after
    before, after = (0, 0) if isinstance(padding, str) else padding
    numerator = size + before + after - span + stride
    output = int(numerator / stride)  # TF's C++ division: truncated toward zero
    if output < 0:
        raise ValueError("negative output size")
    return before, after, output


def geometry(
    input_hw: Sequence[int],
    kernel_hw: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    padding: TfPadding,
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """``(height, width)`` of :func:`axis_geometry`."""
    per_axis = (padding, padding) if isinstance(padding, str) else padding
    return (
        axis_geometry(input_hw[0], kernel_hw[0], strides[0], dilations[0], per_axis[0]),
        axis_geometry(input_hw[1], kernel_hw[1], strides[1], dilations[1], per_axis[1]),
    )


class Window:
    """The kernel's walk over an input of ``input_hw``, with the padding arithmetic of
    :func:`geometry`: every output cell ``(i, j)`` and, for each tap ``(di, dj)``, the input
    cell it reads, ``row = s_h*i + d_h*di - pad_top``, ``col = s_w*j + d_w*dj - pad_left``.
    """

    def __init__(
        self,
        input_hw: Sequence[int],
        kernel_hw: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int],
        padding: TfPadding,
    ) -> None:
        self.height, self.width = input_hw
        self.kernel_hw, self.strides, self.dilations = kernel_hw, strides, dilations
        (self.top, _, self.out_height), (self.left, _, self.out_width) = geometry(
            input_hw, kernel_hw, strides, dilations, padding
        )

    def outputs(self) -> Iterator[tuple[int, int]]:
        """``(i, j)`` of every output cell, row by row."""
        for i in range(self.out_height):
            for j in range(self.out_width):
                yield i, j

    def taps(self, i: int, j: int) -> Iterator[tuple[int, int, int, int]]:
        """``(di, dj, row, col)`` of every tap of output cell ``(i, j)``, padding cells too."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_hw, self.strides, self.dilations
        for di in range(kh):
            for dj in range(kw):
                yield di, dj, sh * i + dh * di - self.top, sw * j + dw * dj - self.left

    def inside(self, row: int, col: int) -> bool:
        """Whether ``(row, col)`` is an input cell rather than padding."""
        return 0 <= row < self.height and 0 <= col < self.width


class _Input:
    """Reads ``x[b, row, col, channel]`` in NHWC terms, 0 outside the input."""

    def __init__(self, x: np.ndarray, data_format: str) -> None:
        self.values = np.asarray(x).tolist()
        self.data_format = data_format
        if data_format == "NHWC":
            self.batch, self.height, self.width, self.channels = np.shape(x)
        else:
            self.batch, self.channels, self.height, self.width = np.shape(x)

    def window(
        self,
        kernel_hw: Sequence[int],
        strides: Sequence[int],
        dilations: Sequence[int],
        padding: TfPadding,
    ) -> Window:
        return Window((self.height, self.width), kernel_hw, strides, dilations, padding)

    def __call__(self, b: int, row: int, col: int, channel: int) -> float:
        if not (0 <= row < self.height and 0 <= col < self.width):
            return 0.0  # a padding cell
        if self.data_format == "NHWC":
            return float(self.values[b][row][col][channel])
        return float(self.values[b][channel][row][col])


def _output(
    batch: int, window: Window, channels: int, data_format: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(out, out_nhwc)``: an array in ``data_format`` and a writable NHWC view of it."""
    height, width = window.out_height, window.out_width
    if data_format == "NHWC":
        out = np.zeros((batch, height, width, channels))
        return out, out
    out = np.zeros((batch, channels, height, width))
    return out, out.transpose(0, 2, 3, 1)


def conv2d(
    x: np.ndarray, filters: np.ndarray, strides: Pair, padding: TfPadding,
    data_format: str = "NHWC", dilations: Pair = (1, 1),
) -> np.ndarray:
    """``tf.nn.conv2d``, grouped when C is a multiple of the filter's in-depth.

    filters : shape (kh, kw, C/G, O). Group ``g`` reads input channels
    ``[g*C/G, (g+1)*C/G)`` and writes output channels ``[g*O/G, (g+1)*O/G)``.
    """
    read = _Input(x, data_format)
    kh, kw, group_in, out_channels = filters.shape
    group_out = out_channels // (read.channels // group_in)
    w = filters.tolist()
    window = read.window((kh, kw), strides, dilations, padding)
    out, out_nhwc = _output(read.batch, window, out_channels, data_format)
    for b in range(read.batch):
        for i, j in window.outputs():
            for o in range(out_channels):
                g = o // group_out
                total = 0.0
                for di, dj, row, col in window.taps(i, j):
                    for ci in range(group_in):
                        total += read(b, row, col, g * group_in + ci) * w[di][dj][ci][o]
                out_nhwc[b, i, j, o] = total
    return out


def depthwise_conv2d(
    x: np.ndarray, filter: np.ndarray, strides: Pair, padding: TfPadding,
    data_format: str = "NHWC", dilations: Pair = (1, 1),
) -> np.ndarray:
    """``tf.nn.depthwise_conv2d``, filter (kh, kw, C, M):

    ``out[b,i,j,q*M+r] = Σ_{di,dj} x[b, s_h*i + d_h*di - pad_top, s_w*j + d_w*dj - pad_left, q]
    * w[di,dj,q,r]``.
    """
    read = _Input(x, data_format)
    kh, kw, channels, multiplier = filter.shape
    w = filter.tolist()
    window = read.window((kh, kw), strides, dilations, padding)
    out, out_nhwc = _output(read.batch, window, channels * multiplier, data_format)
    for b in range(read.batch):
        for i, j in window.outputs():
            for q in range(channels):
                for r in range(multiplier):
                    total = 0.0
                    for di, dj, row, col in window.taps(i, j):
                        total += read(b, row, col, q) * w[di][dj][q][r]
                    out_nhwc[b, i, j, q * multiplier + r] = total
    return out


def separable_conv2d(
    x: np.ndarray, depthwise_filter: np.ndarray, pointwise_filter: np.ndarray, strides: Pair,
    padding: TfPadding, data_format: str = "NHWC", dilations: Pair = (1, 1),
) -> np.ndarray:
    """``tf.nn.separable_conv2d``, depthwise (kh, kw, C, M), pointwise (1, 1, C*M, O):

    ``out[b,i,j,k] = Σ_{di,dj,q,r} x[...] * dw[di,dj,q,r] * pw[0,0,q*M+r,k]``.
    """
    read = _Input(x, data_format)
    kh, kw, channels, multiplier = depthwise_filter.shape
    out_channels = pointwise_filter.shape[3]
    dw_values, pw_values = depthwise_filter.tolist(), pointwise_filter.tolist()[0][0]
    window = read.window((kh, kw), strides, dilations, padding)
    out, out_nhwc = _output(read.batch, window, out_channels, data_format)
    for b in range(read.batch):
        for i, j in window.outputs():
            for k in range(out_channels):
                total = 0.0
                for di, dj, row, col in window.taps(i, j):
                    for q in range(channels):
                        value = read(b, row, col, q)
                        for r in range(multiplier):
                            total += (
                                value * dw_values[di][dj][q][r] * pw_values[q * multiplier + r][k]
                            )
                out_nhwc[b, i, j, k] = total
    return out


def torch_axis_padding(
    padding: int | Sequence[int] | str,
    kernel: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[tuple[int, int], tuple[int, int]]:
    """PyTorch padding as ``((top, bottom), (left, right))``.

    An int or pair pads both sides alike; ``"valid"`` is no padding; ``"same"``
    (stride 1) pads ``d*(k-1)`` in total, the odd one after, like TF SAME.
    """
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return ((0, 0), (0, 0))
        sides = []
        for axis in range(2):
            total = dilation[axis] * (kernel[axis] - 1)
            sides.append((total // 2, total - total // 2))
        return (sides[0], sides[1])
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else padding
    return ((pad_h, pad_h), (pad_w, pad_w))


def torch_conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: int | Sequence[int] | str = 0,
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """``torch.nn.functional.conv2d``, input (N, C, H, W), weight (O, C/groups, kh, kw):

    ``out[b,o,i,j] = bias[o] + Σ_{c,di,dj} weight[o,c,di,dj]
    * x[b, g*C/groups + c, s_h*i + d_h*di - pad_top, s_w*j + d_w*dj - pad_left]``
    with ``g = o // (O/groups)``.
    """
    read = _Input(x, "NCHW")
    out_channels, group_in, kh, kw = weight.shape
    group_out = out_channels // groups
    w = weight.tolist()
    pads = torch_axis_padding(padding, (kh, kw), dilation)
    window = read.window((kh, kw), stride, dilation, pads)
    out = np.zeros((read.batch, out_channels, window.out_height, window.out_width))
    for b in range(read.batch):
        for o in range(out_channels):
            g = o // group_out
            for i, j in window.outputs():
                total = 0.0 if bias is None else float(bias[o])
                for c in range(group_in):
                    for di, dj, row, col in window.taps(i, j):
                        total += read(b, row, col, g * group_in + c) * w[o][c][di][dj]
                out[b, o, i, j] = total
    return out
