"""Keras layer costs against real Keras: ``params_with_bias`` equals ``count_params()``.

The classic question answered here: a ``SeparableConv2D`` reports fewer parameters than a
``DepthwiseConv2D`` followed by a 1x1 ``Conv2D`` with the same kernels, because it has one
bias (``filters`` values, after the pointwise step), not two.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.costs import (
    LayerCost,
    keras_conv2d_cost,
    keras_depthwise_conv2d_cost,
    keras_separable_conv2d_cost,
)
from tests.references import keras as import_keras

keras = import_keras()
pytestmark = pytest.mark.tf


def built(layer, input_shape):
    layer.build(input_shape)
    return layer


SEEDS = range(12)


def draw(seed: int) -> dict:
    rng = np.random.default_rng([seed, 10])
    channels = int(rng.integers(1, 7))
    divisors = [g for g in range(1, channels + 1) if channels % g == 0]
    groups = divisors[int(rng.integers(len(divisors)))]
    return {
        "input_hw": (int(rng.integers(5, 12)), int(rng.integers(5, 12))),
        "in_channels": channels,
        "groups": groups,
        "filters": int(rng.integers(1, 4)) * groups,
        "kernel_size": (int(rng.integers(1, 5)), int(rng.integers(1, 5))),
        "strides": (int(rng.integers(1, 3)), int(rng.integers(1, 3))),
        "padding": ["valid", "same"][int(rng.integers(2))],
        "depth_multiplier": int(rng.integers(1, 4)),
        "use_bias": bool(rng.integers(2)),
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_param_counts_equal_keras_count_params(seed: int) -> None:
    case = draw(seed)
    shape = (1, *case["input_hw"], case["in_channels"])
    common = {"kernel_size": case["kernel_size"], "strides": case["strides"],
              "padding": case["padding"], "use_bias": case["use_bias"]}
    groups, filters = case["groups"], case["filters"]
    conv = built(keras.layers.Conv2D(filters, groups=groups, **common), shape)
    assert keras_conv2d_cost(case["input_hw"], case["in_channels"], filters, groups=groups,
                             **common).params_with_bias == conv.count_params()
    depthwise = built(keras.layers.DepthwiseConv2D(
        depth_multiplier=case["depth_multiplier"], **common), shape)
    assert keras_depthwise_conv2d_cost(
        case["input_hw"], case["in_channels"], depth_multiplier=case["depth_multiplier"],
        **common,
    ).params_with_bias == depthwise.count_params()
    separable = built(keras.layers.SeparableConv2D(
        case["filters"], depth_multiplier=case["depth_multiplier"], **common), shape)
    assert keras_separable_conv2d_cost(
        case["input_hw"], case["in_channels"], case["filters"],
        depth_multiplier=case["depth_multiplier"], **common,
    ).params_with_bias == separable.count_params()


def test_separable_has_one_bias_not_two() -> None:
    # 5x5x3 input, 3x3 kernels, 4 outputs (DESIGN.md's numbers), with biases as Keras has them.
    shape = (1, 5, 5, 3)
    separable = built(keras.layers.SeparableConv2D(4, 3, padding="same"), shape)
    depthwise = built(keras.layers.DepthwiseConv2D(3, padding="same"), shape)
    pointwise = built(keras.layers.Conv2D(4, 1), (1, 5, 5, 3))
    assert separable.count_params() == 27 + 12 + 4 == 43
    assert depthwise.count_params() + pointwise.count_params() == (27 + 3) + (12 + 4) == 46
    assert [w.shape for w in separable.weights] == [(3, 3, 3, 1), (1, 1, 3, 4), (4,)]

    ours = keras_separable_conv2d_cost(5, 3, 4, 3, padding="same")
    pair = keras_depthwise_conv2d_cost(5, 3, 3, padding="same") + keras_conv2d_cost(5, 3, 4, 1)
    assert ours == LayerCost(weights=39, biases=4, macs=25 * 39)
    assert pair == LayerCost(weights=39, biases=3 + 4, macs=25 * 39)
    assert pair.params_with_bias - ours.params_with_bias == 3  # the depthwise bias, C*M values


def test_use_bias_false_and_depth_multiplier() -> None:
    layer = built(keras.layers.DepthwiseConv2D((3, 5), depth_multiplier=3, use_bias=False),
                  (2, 9, 9, 4))
    cost = keras_depthwise_conv2d_cost(9, 4, (3, 5), depth_multiplier=3, use_bias=False,
                                       batch=2)
    assert cost == LayerCost(weights=3 * 5 * 4 * 3, biases=0, macs=2 * 7 * 5 * 180)
    assert cost.params_with_bias == layer.count_params() == 180


def test_keras_costs_name_the_bad_argument() -> None:
    with pytest.raises(ValueError, match="^padding must be 'valid' or 'same'"):
        keras_conv2d_cost(5, 3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="^groups=2 must divide"):
        keras_conv2d_cost(5, 3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="^use_bias must be true or false"):
        keras_separable_conv2d_cost(5, 3, 4, 3, use_bias=1)
    with pytest.raises(ValueError, match="^depth_multiplier must be a positive integer"):
        keras_depthwise_conv2d_cost(5, 3, 3, depth_multiplier=0)
