"""Request examples shown at ``/docs``; a test posts every one of them.

The seed example (DESIGN.md): input ``[1, 4, 4, 2]``, channel 0 rows ``[1, 2, 3, 4]``,
channel 1 all ones; depthwise filter ``[3, 3, 2, 2]`` with ``w[:, :, 0, 0] = 0``,
``w[:, :, 1, 0] = 1``, ``w[:, :, 0, 1] = 2``, ``w[:, :, 1, 1] = 3``; strides 1,
VALID -> ``[[[[0, 36, 9, 27], [0, 54, 9, 27]], [[0, 36, 9, 27], [0, 54, 9, 27]]]]``.
"""

from __future__ import annotations

from typing import Any

# NHWC [1, 4, 4, 2]: every row is (channel 0, channel 1) = (1..4, 1).
SEED_INPUT: list[Any] = [[[[1, 1], [2, 1], [3, 1], [4, 1]] for _ in range(4)]]
# [3, 3, 2, 2]: every tap holds [[w(q=0, r=0), w(0, 1)], [w(1, 0), w(1, 1)]].
SEED_FILTER: list[Any] = [[[[0, 2], [1, 3]] for _ in range(3)] for _ in range(3)]
SEED_OUTPUT: list[Any] = [[[[0, 36, 9, 27], [0, 54, 9, 27]], [[0, 36, 9, 27], [0, 54, 9, 27]]]]

DEPTHWISE: dict[str, Any] = {
    "input": SEED_INPUT,
    "filter": SEED_FILTER,
    "strides": [1, 1, 1, 1],
    "padding": "VALID",
}

DEPTHWISE_RESPONSE: dict[str, Any] = {
    "op": "depthwise_conv2d",
    "output": SEED_OUTPUT,
    "shape": [1, 2, 2, 4],
    "dtype": "float64",
    "data_format": "NHWC",
    "padding": {
        "pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0,
        "output_height": 2, "output_width": 2,
    },
    "costs": {"layer": "depthwise", "depthwise": {"weights": 36, "macs": 144}},
}

# One 3x3 kernel (the Sobel x of the presets) for both channels: M = 1.
SHARED_KERNEL: dict[str, Any] = {
    "input": SEED_INPUT,
    "filter": [[[[value], [value]] for value in row] for row in
               ([-1, 0, 1], [-2, 0, 2], [-1, 0, 1])],
    "strides": [1, 1, 1, 1],
    "padding": "VALID",
}

CONV2D: dict[str, Any] = {
    "input": SEED_INPUT,
    "filters": [[[[1], [1]] for _ in range(3)] for _ in range(3)],  # [3, 3, 2, 1] of ones
    "strides": 1,
    "padding": "VALID",
    "data_format": "NHWC",
}

SEPARABLE: dict[str, Any] = {
    "input": SEED_INPUT,
    "depthwise_filter": SEED_FILTER,
    # [1, 1, 4, 2]: output 0 = depthwise channels 0 + 2, output 1 = channels 1 + 3.
    "pointwise_filter": [[[[1, 0], [0, 1], [1, 0], [0, 1]]]],
    "strides": [1, 1, 1, 1],
    "padding": "VALID",
}

TORCH: dict[str, Any] = {
    # The seed example in PyTorch's layout: input [1, 2, 4, 4], weight [4, 1, 3, 3].
    "input": [[[[1, 2, 3, 4] for _ in range(4)], [[1, 1, 1, 1] for _ in range(4)]]],
    "weight": [[[[value] * 3 for _ in range(3)]] for value in (0, 2, 1, 3)],
    "bias": None,
    "stride": 1,
    "padding": 0,
    "dilation": 1,
    "groups": 2,
}

ENCODED_ARRAY: dict[str, Any] = {
    "dtype": "float32",
    "shape": [2, 2],
    "data": "AACAPwAAAEAAAEBAAACAQA==",  # [[1, 2], [3, 4]]
}
# The same four values as each array field takes them.
ENCODED_ARRAY_4D: dict[str, Any] = {**ENCODED_ARRAY, "shape": [1, 2, 2, 1]}
ENCODED_ARRAY_1D: dict[str, Any] = {**ENCODED_ARRAY, "shape": [4]}

# The teaching view's numbers: 5x5x3 input, 3x3 kernels, 4 outputs: 108 vs 27 + 12 = 39.
COSTS: dict[str, Any] = {
    "input_hw": [5, 5],
    "in_channels": 3,
    "out_channels": 4,
    "kernel_hw": [3, 3],
    "channel_multiplier": 1,
    "padding": "SAME",
    "sweep": {"parameter": "out_channels", "values": [1, 2, 4, 8, 16, 32, 64]},
}

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]

FACTORIZE_APPROXIMATE: dict[str, Any] = {
    # [3, 3, 1, 2]: Sobel x and Sobel y on one channel; M = 1 cannot hold both.
    "filters": [[[[SOBEL_X[i][j], SOBEL_Y[i][j]]] for j in range(3)] for i in range(3)],
    "channel_multiplier": 1,
}

FACTORIZE_PAIR: dict[str, Any] = {
    "depthwise_filter": [[[[1]], [[2]], [[1]]], [[[2]], [[4]], [[2]]], [[[1]], [[2]], [[1]]]],
    "pointwise_filter": [[[[1, -1]]]],
}

TRACE: dict[str, Any] = {"op": "depthwise_conv2d", **DEPTHWISE, "encoding": "json"}
TRACE_SEPARABLE: dict[str, Any] = {"op": "separable_conv2d", **SEPARABLE}

CODE: dict[str, Any] = {"op": "separable_conv2d", **SEPARABLE}
CODE_TORCH: dict[str, Any] = {"op": "torch_conv2d", **TORCH}
