"""Output size and padding: the one place these formulas live.

Every op, the API and the page views ask this module how a spatial axis is
padded and how many outputs it has. Per spatial axis, with kernel size ``k``,
stride ``s`` and dilation ``d``, the effective kernel is ``eff = (k - 1) * d + 1``:

- VALID:    ``out = (in - eff + s) / s`` truncated toward zero, as TF's C++ kernels (eager)
            divide: a numerator in ``(-s, s)`` gives 0, an empty output, even when the
            input is smaller than the window; a negative quotient is an error.
            (``tf.function`` graph mode refuses every ``in < eff`` at shape inference;
            ConvLens follows eager.)
- SAME:     ``out = ceil(in / s)``, ``pad_total = max((out - 1) * s + eff - in, 0)``,
            ``pad_before = pad_total // 2`` (the odd pad goes after: bottom/right).
- explicit: ``(before, after)`` zeros, then the VALID rule on the padded size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PaddingMode = Literal["SAME", "VALID"]
DataFormat = Literal["NHWC", "NCHW"]


@dataclass(frozen=True)
class AxisPadding:
    """How one spatial axis is padded, and its output size."""

    before: int
    after: int
    output_size: int


@dataclass(frozen=True)
class Padding2D:
    """Per-side zero padding and output size of a 2-D sliding window.

    ``pad_top``/``pad_bottom`` pad the height axis, ``pad_left``/``pad_right``
    the width axis; ``output_height``/``output_width`` are the output sizes.
    """

    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int
    output_height: int
    output_width: int

    @property
    def output_shape(self) -> tuple[int, int]:
        return (self.output_height, self.output_width)

    def as_dict(self) -> dict[str, int]:
        return {
            "pad_top": self.pad_top,
            "pad_bottom": self.pad_bottom,
            "pad_left": self.pad_left,
            "pad_right": self.pad_right,
            "output_height": self.output_height,
            "output_width": self.output_width,
        }


def effective_kernel_size(kernel_size: int, dilation: int) -> int:
    """Span of a dilated kernel: ``(k - 1) * d + 1``."""
    return (kernel_size - 1) * dilation + 1


def resolve_axis(
    input_size: int,
    kernel_size: int,
    stride: int,
    dilation: int,
    padding: str | tuple[int, int],
    axis_name: str = "spatial",
) -> AxisPadding:
    """Pads and output size of one spatial axis.

    ``padding`` is ``"SAME"``, ``"VALID"`` (any case) or ``(before, after)``.
    Raises ``ValueError`` naming ``padding`` when the window does not fit.
    """
    eff = effective_kernel_size(kernel_size, dilation)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "SAME":
            output_size = -(-input_size // stride)
            pad_total = max((output_size - 1) * stride + eff - input_size, 0)
            before = pad_total // 2
            return AxisPadding(before, pad_total - before, output_size)
        if mode != "VALID":
            raise ValueError(f"padding must be 'SAME', 'VALID' or explicit pads, got {padding!r}")
        before = after = 0
    else:
        before, after = padding
    padded = input_size + before + after
    numerator = padded - eff + stride
    if numerator <= -stride:  # truncated toward zero, the quotient would be negative
        raise ValueError(
            f"padding: the {axis_name} window spans {eff} (kernel {kernel_size}, dilation "
            f"{dilation}) but the padded input is only {padded}; the output size would be "
            f"negative (({padded} - {eff} + {stride}) / {stride}, truncated toward zero as TF "
            "does)"
        )
    # TF truncates toward zero: -s < numerator < 0 is an empty output, like 0 <= numerator < s.
    return AxisPadding(before, after, max(numerator, 0) // stride)


def resolve_padding(
    input_hw: Sequence[int],
    kernel_hw: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    padding: str | Sequence[Sequence[int]],
) -> Padding2D:
    """Per-side pads and output size of a 2-D window.

    input_hw, kernel_hw, strides, dilations : pairs ``(height, width)``.
    padding : ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))``.
    """
    if isinstance(padding, str):
        per_axis: tuple[str | tuple[int, int], str | tuple[int, int]] = (padding, padding)
    else:
        (top, bottom), (left, right) = padding
        per_axis = ((int(top), int(bottom)), (int(left), int(right)))
    height = resolve_axis(
        input_hw[0], kernel_hw[0], strides[0], dilations[0], per_axis[0], "height"
    )
    width = resolve_axis(input_hw[1], kernel_hw[1], strides[1], dilations[1], per_axis[1], "width")
    return Padding2D(
        height.before, height.after, width.before, width.after,
        height.output_size, width.output_size,
    )
