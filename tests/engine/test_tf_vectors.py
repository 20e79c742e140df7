"""TensorFlow's own test vectors (tensorflow/python/kernel_tests: conv_ops_test.py and
depthwise_conv_op_test.py), as data: the engine must give TF's published numbers.

TF fills the input and the filter with 1, 2, 3, ... in NHWC and [kh, kw, C, O/M] order and
compares the flattened output. These run without TF installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.engine import conv2d, depthwise_conv2d


def counting(shape: list[int]) -> np.ndarray:
    """1.0, 2.0, 3.0, ... in C order: TF's test inputs."""
    return np.arange(1, math.prod(shape) + 1, dtype=np.float64).reshape(shape)


CONV2D_VECTORS = [
    # (TF test name, input shape, filter shape, strides, padding, expected flat output)
    ("testConv2D1x1Filter", [1, 2, 3, 3], [1, 1, 3, 3], 1, "VALID",
     [30, 36, 42, 66, 81, 96, 102, 126, 150, 138, 171, 204, 174, 216, 258, 210, 261, 312]),
    ("testConv2D2x2Filter", [1, 2, 3, 3], [2, 2, 3, 3], 1, "VALID",
     [2271, 2367, 2463, 2901, 3033, 3165]),
    ("testConv2D1x2Filter", [1, 2, 3, 3], [1, 2, 3, 3], 1, "VALID",
     [231, 252, 273, 384, 423, 462, 690, 765, 840, 843, 936, 1029]),
    ("testConv2D2x1Filter", [1, 2, 3, 3], [2, 1, 3, 3], 1, "VALID",
     [465, 504, 543, 618, 675, 732, 771, 846, 921]),
    ("testConv2D2x2FilterStride2", [1, 2, 3, 3], [2, 2, 3, 3], 2, "VALID",
     [2271, 2367, 2463]),
    ("testConv2D2x2FilterStride2Same", [1, 2, 3, 3], [2, 2, 3, 3], 2, "SAME",
     [2271, 2367, 2463, 1230, 1305, 1380]),
    ("testConv2DEmpty", [0, 2, 3, 3], [1, 1, 3, 3], 1, "VALID", []),
]


@pytest.mark.parametrize(("name", "input_shape", "filter_shape", "strides", "padding",
                          "expected"), CONV2D_VECTORS, ids=[v[0] for v in CONV2D_VECTORS])
def test_conv2d_gives_tfs_published_numbers(name, input_shape, filter_shape, strides, padding,
                                            expected) -> None:
    out = conv2d(counting(input_shape), counting(filter_shape), strides, padding)
    np.testing.assert_array_equal(out.ravel(), expected)


def test_depthwise_conv2d_gives_tfs_hand_computed_numbers() -> None:
    # depthwise_conv_op_test.py testConv2D2x2Filter: position (0, 0), in_depth 0, filter 0:
    # 1*1 + 7*9 + 3*5 + 9*13 = 196, and so on; output channel q*M + r.
    out = depthwise_conv2d(counting([1, 2, 3, 2]), counting([2, 2, 2, 2]), 1, "VALID")
    np.testing.assert_array_equal(out.ravel(), [196, 216, 272, 296, 252, 280, 344, 376])
    assert out.shape == (1, 1, 2, 4)
