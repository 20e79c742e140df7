"""Argument normalisation shared by the ops: TF's and PyTorch's accepted forms.

Every function here raises ``ValueError`` whose message starts with the
argument's name and states the rule, so the API can forward it to a student.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.engine.geometry import DataFormat

# ((top, bottom), (left, right)) or a padding mode string.
SpatialPadding = str | tuple[tuple[int, int], tuple[int, int]]


def _is_int(value: Any) -> bool:
    if type(value) is int:  # the common case, without the slower ABC check below
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: Any, name: str) -> int:
    """An integer of at least 1 (Python's or NumPy's, never a bool), as an ``int``."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# The array-valued arguments of each op, the input first; every other argument is a scalar
# option. The trace, the API's request models and its limits all read them from here.
_ARRAY_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "conv2d": ("input", "filters"),
    "depthwise_conv2d": ("input", "filter"),
    "separable_conv2d": ("input", "depthwise_filter", "pointwise_filter"),
    "torch_conv2d": ("input", "weight", "bias"),
}


def array_arguments(op: str) -> tuple[str, ...]:
    """The names of op's array-valued arguments, the input first.

    op : "conv2d", "depthwise_conv2d", "separable_conv2d" or "torch_conv2d"
    """
    if not isinstance(op, str) or op not in _ARRAY_ARGUMENTS:
        raise ValueError(f"op must be one of {', '.join(sorted(_ARRAY_ARGUMENTS))}; got {op!r}")
    return _ARRAY_ARGUMENTS[op]


def data_format_of(data_format: str | None) -> DataFormat:
    """``None`` means TF's default, NHWC."""
    if data_format is None:
        return "NHWC"
    if not isinstance(data_format, str) or data_format.upper() not in ("NHWC", "NCHW"):
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    return "NHWC" if data_format.upper() == "NHWC" else "NCHW"


def spatial_pair(
    value: Any, name: str, data_format: DataFormat, default: int = 1
) -> tuple[int, int]:
    """TF strides/dilations: int, length 1, 2 or 4 (4 in the data format's order).

    Returns ``(height, width)``; every entry must be a positive integer, and a
    4-list must have 1 in its batch and channel positions.
    """
    if value is None:
        return (default, default)
    items: list[Any]
    if _is_int(value):
        items = [value]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
    elif isinstance(value, np.ndarray) and value.ndim == 1:
        items = value.tolist()
    else:
        raise ValueError(f"{name} must be an int or a list of 1, 2 or 4 ints, got {value!r}")
    if not all(_is_int(item) for item in items):
        raise ValueError(f"{name} must contain only integers, got {value!r}")
    items = [int(item) for item in items]
    if len(items) == 1:
        pair = (items[0], items[0])
    elif len(items) == 2:
        pair = (items[0], items[1])
    elif len(items) == 4:
        batch_and_channel = (items[0], items[3]) if data_format == "NHWC" else (items[0], items[1])
        if batch_and_channel != (1, 1):
            position = "[1, h, w, 1]" if data_format == "NHWC" else "[1, 1, h, w]"
            raise ValueError(
                f"{name} must be 1 in the batch and channel dimensions "
                f"({position} for {data_format}), got {items}"
            )
        pair = (items[1], items[2]) if data_format == "NHWC" else (items[2], items[3])
    else:
        raise ValueError(f"{name} must have 1, 2 or 4 entries, got {len(items)}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive integers, got {value!r}")
    return pair


def tf_padding(padding: Any, data_format: DataFormat) -> SpatialPadding:
    """TF padding: ``"SAME"``/``"VALID"`` (any case) or the explicit 4×2 list.

    The explicit list is ``[[0,0],[top,bottom],[left,right],[0,0]]`` for NHWC and
    ``[[0,0],[0,0],[top,bottom],[left,right]]`` for NCHW.
    """
    if isinstance(padding, str):
        mode = padding.upper()
        if mode not in ("SAME", "VALID"):
            raise ValueError(
                f"padding must be 'SAME', 'VALID' or an explicit 4x2 list, got {padding!r}"
            )
        return mode
    example = (
        "[[0, 0], [top, bottom], [left, right], [0, 0]]"
        if data_format == "NHWC"
        else "[[0, 0], [0, 0], [top, bottom], [left, right]]"
    )
    try:
        rows = [list(row) for row in padding]
    except TypeError:
        raise ValueError(f"padding must be 'SAME', 'VALID' or {example}, got {padding!r}") from None
    if len(rows) != 4 or any(len(row) != 2 for row in rows):
        raise ValueError(f"padding as a list must be 4 pairs, {example} for {data_format}")
    if not all(_is_int(value) for row in rows for value in row):
        raise ValueError(f"padding must contain only integers, got {padding!r}")
    if any(value < 0 for row in rows for value in row):
        raise ValueError(f"padding must not be negative, got {rows}")
    spatial_rows = (1, 2) if data_format == "NHWC" else (2, 3)
    other_rows = [index for index in range(4) if index not in spatial_rows]
    if any(rows[index] != [0, 0] for index in other_rows):
        raise ValueError(
            f"padding in the batch and channel dimensions must be [0, 0] ({example} for "
            f"{data_format}), got {rows}"
        )
    (top, bottom), (left, right) = rows[spatial_rows[0]], rows[spatial_rows[1]]
    return ((int(top), int(bottom)), (int(left), int(right)))


def torch_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """PyTorch int-or-pair arguments (stride, dilation, integer padding)."""
    if _is_int(value):
        items = [int(value)]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
        if not all(_is_int(item) for item in items):
            raise ValueError(f"{name} must contain only integers, got {value!r}")
    else:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {len(items)} entries")
    if min(items) < minimum:
        rule = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return (int(items[0]), int(items[1]))


# bool, signed and unsigned integers, floats.
_REAL_KINDS = frozenset("biuf")


def float_array(value: Any, name: str, ndim: int, dtype: np.dtype | None = None) -> np.ndarray:
    """An array of ``ndim`` dimensions with finite values.

    ``dtype`` None keeps float32 as float32 and turns everything else into float64.
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a rectangular array of numbers") from None
    if array.dtype.kind not in _REAL_KINDS:  # the cheap test first: it runs on every call
        if array.dtype.kind == "c":
            raise ValueError(f"{name} must be real numbers, got complex values")
        raise ValueError(f"{name} must be a rectangular array of numbers")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {list(array.shape)}")
    target = dtype if dtype is not None else (
        np.dtype(np.float32) if array.dtype == np.float32 else np.dtype(np.float64)
    )
    if array.dtype == target:  # the common case: no conversion, so no overflow to silence
        converted = array
    else:
        with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf
            converted = array.astype(target)
    if not np.isfinite(converted).all():
        if np.all(np.isfinite(array)):
            raise ValueError(f"{name} has values too large for {target.name}")
        raise ValueError(f"{name} must contain only finite numbers (no NaN or infinity)")
    return converted
