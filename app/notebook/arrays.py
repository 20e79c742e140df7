"""Arrays at the widget's edge: NumPy, nested lists, PyTorch and TensorFlow tensors.

Neither PyTorch nor TensorFlow is imported here: a value is recognised by the module
its type comes from, so a notebook without them never loads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _library(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


def to_numpy(value: Any) -> Any:
    """``value`` as a NumPy array when it is a tensor or an array-like of numbers; other
    values (strings, ints, lists of ints such as strides, None) pass through unchanged."""
    library = _library(value)
    if library == "torch":
        return value.detach().cpu().numpy()
    if library in ("tensorflow", "keras", "tf_keras") and hasattr(value, "numpy"):
        return value.numpy()
    if library == "jax" or library == "jaxlib":
        return np.asarray(value)
    return value
