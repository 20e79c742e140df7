"""Arrays between JSON and NumPy: shapes first (cheap), values later.

An incoming array is a nested list or an ``EncodedArray`` (base64 of
little-endian bytes). ``source`` reads its shape without touching its values:
the nested list's first path, or the declared shape, checked against the
base64 length. Only after the limits and the shape-only plan have passed does
``ArraySource.load`` allocate. Outgoing arrays become nested lists (float64
values exactly, float32 values by their shortest float32 repr) or base64.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.api.errors import ApiError
from app.api.schemas import EncodedArray

LITTLE_ENDIAN = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid_array", f"{name} {message}", name.split(".")[0].split("[")[0])


def nested_shape(value: list[Any]) -> tuple[int, ...]:
    """Shape of a nested list read along its first elements: O(depth), not O(size).

    A ragged list is caught later, when NumPy converts it.
    """
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _dims_text(ndims: tuple[int, ...]) -> str:
    return " or ".join(f"{d}-D" for d in ndims)


@dataclass(frozen=True)
class ArraySource:
    """An array whose shape is known and whose values are not yet converted."""

    name: str
    value: list[Any] | EncodedArray
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def load(self, dtype: str) -> np.ndarray:
        """The values as ``dtype``, finite; a 422 names the array otherwise."""
        if isinstance(self.value, EncodedArray):
            array = _decode(self.name, self.value)
        else:
            array = _from_nested(self.name, self.value, self.shape)
        with np.errstate(all="ignore"):
            converted = array.astype(dtype)
        if not np.isfinite(converted).all():
            if np.isfinite(array).all():
                limit = float(np.finfo(dtype).max)
                raise ApiError(
                    422, "non_finite",
                    f"{self.name} has values too large for {dtype} (|x| <= {limit:.4g})",
                    self.name,
                )
            raise ApiError(
                422, "non_finite",
                f"{self.name} must contain only finite numbers (no NaN or Infinity)", self.name,
            )
        return converted


def source(value: Any, name: str, ndims: tuple[int, ...]) -> ArraySource:
    """Shape and structure of an incoming array, without reading its values."""
    if isinstance(value, EncodedArray):
        shape = tuple(value.shape)
    elif isinstance(value, list):
        shape = nested_shape(value)
    else:
        raise _invalid(name, "must be a nested list of numbers or {dtype, shape, data}")
    if len(shape) not in ndims:
        raise _invalid(
            name, f"must be {_dims_text(ndims)}, got {len(shape)}-D (shape {list(shape)})"
        )
    if 0 in shape:
        raise _invalid(name, f"must not be empty, got shape {list(shape)}")
    return ArraySource(name, value, shape)


def _decode(name: str, encoded: EncodedArray) -> np.ndarray:
    dtype = LITTLE_ENDIAN[encoded.dtype]
    expected_chars = 4 * math.ceil(math.prod(encoded.shape) * dtype.itemsize / 3)
    if len(encoded.data) != expected_chars:
        raise _invalid(
            f"{name}.data",
            f"has {len(encoded.data):,} base64 characters but shape {encoded.shape} of "
            f"{encoded.dtype} needs {expected_chars:,} (standard padded base64 of the "
            "little-endian bytes)",
        )
    try:
        raw = base64.b64decode(encoded.data, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{name}.data", "is not valid standard base64") from None
    if len(raw) != math.prod(encoded.shape) * dtype.itemsize:
        raise _invalid(f"{name}.data", f"decodes to {len(raw):,} bytes, which does not match "
                       f"shape {encoded.shape} of {encoded.dtype}")
    return np.frombuffer(raw, dtype=dtype).reshape(encoded.shape)


def _from_nested(name: str, value: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    rule = (
        "must be a rectangular nested list of numbers: every row the same length, "
        "no null, strings, booleans or integers beyond 64 bits"
    )
    try:
        with np.errstate(all="ignore"):
            array = np.array(value)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise _invalid(name, rule) from None
    if array.dtype.kind not in "iuf" or array.shape != shape:
        raise _invalid(name, rule)
    return array


# ------------------------------------------------------------------ output

# Values converted to their float32 repr at once (65 536 x 128 bytes of strings).
_STRING_BLOCK = 1 << 16

def to_json_values(array: np.ndarray) -> Any:
    """Nested lists of Python floats whose JSON repr is the shortest exact one.

    float64 values print exactly; a float32 value prints as its shortest float32
    repr (``0.1``, not ``0.10000000149011612``).
    """
    if array.dtype == np.float32:
        # NumPy's str() of a float32 is its shortest round-trip repr. The strings take
        # 128 bytes per value, so they are made a block at a time.
        flat = array.reshape(-1)
        shortest = np.empty(flat.size, dtype=np.float64)
        for start in range(0, flat.size, _STRING_BLOCK):
            block = flat[start:start + _STRING_BLOCK]
            shortest[start:start + block.size] = block.astype(str).astype(np.float64)
        return shortest.reshape(array.shape).tolist()
    return array.tolist()


def encode(array: np.ndarray, dtype: str | None = None) -> dict[str, Any]:
    """``{dtype, shape, data}`` with ``data`` the base64 of the little-endian bytes."""
    name = dtype or array.dtype.name
    raw = np.ascontiguousarray(array, dtype=LITTLE_ENDIAN[name]).tobytes()
    return {"dtype": name, "shape": list(array.shape), "data": base64.b64encode(raw).decode()}


def output_value(array: np.ndarray, encoding: str) -> Any:
    """An outgoing array per the request's ``output_encoding``."""
    return encode(array) if encoding == "base64" else to_json_values(array)
