"""Keras layer semantics against real Keras 3: the engine's ``keras_depthwise_conv2d`` and
``keras_separable_conv2d`` equal ``DepthwiseConv2D`` / ``SeparableConv2D`` called with the
same weights, bias and activation, and the layer's ``count_params()`` equals ConvLens's
Keras cost. SeparableConv2D adds its one bias after the pointwise step, then the activation:
the test also shows that the other orders give different numbers."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import (
    keras_depthwise_conv2d,
    keras_depthwise_conv2d_cost,
    keras_separable_conv2d,
    keras_separable_conv2d_cost,
    separable_conv2d,
)
from tests.references import keras as import_keras

keras = import_keras()
pytestmark = pytest.mark.tf

SEEDS = range(8)


def draw(seed: int) -> dict:
    rng = np.random.default_rng([seed, 13])
    stride = int(rng.integers(1, 3))
    return {
        "x": rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(5, 9)),
                                  int(rng.integers(5, 9)), int(rng.integers(1, 4)))),
        "kernel": (int(rng.integers(1, 4)), int(rng.integers(1, 4))),
        "multiplier": int(rng.integers(1, 3)),
        "filters": int(rng.integers(1, 4)),
        "strides": (stride, stride),
        "dilation": (1, 1) if stride > 1 else (int(rng.integers(1, 3)),) * 2,
        "padding": ["valid", "same"][int(rng.integers(2))],
        "activation": ["relu", "relu6", None][int(rng.integers(3))],
        "rng": rng,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_depthwise_conv2d_layer_equals_keras(seed: int) -> None:
    case = draw(seed)
    x, rng = case["x"], case["rng"]
    channels = x.shape[3]
    kernel = rng.standard_normal((*case["kernel"], channels, case["multiplier"]))
    bias = rng.standard_normal(channels * case["multiplier"])
    layer = keras.layers.DepthwiseConv2D(
        case["kernel"], strides=case["strides"], padding=case["padding"],
        depth_multiplier=case["multiplier"], dilation_rate=case["dilation"],
        activation=case["activation"], use_bias=True, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([kernel, bias])
    theirs = np.asarray(layer(x))
    mine = keras_depthwise_conv2d(x, kernel, bias, case["strides"], case["padding"],
                                  case["dilation"], case["activation"])
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)
    assert layer.count_params() == keras_depthwise_conv2d_cost(
        x.shape[1:3], channels, case["kernel"], case["strides"], case["padding"],
        case["multiplier"], case["dilation"]).params_with_bias


@pytest.mark.parametrize("seed", SEEDS)
def test_separable_conv2d_layer_equals_keras(seed: int) -> None:
    case = draw(seed)
    x, rng = case["x"], case["rng"]
    channels, multiplier, filters = x.shape[3], case["multiplier"], case["filters"]
    depthwise = rng.standard_normal((*case["kernel"], channels, multiplier))
    pointwise = rng.standard_normal((1, 1, channels * multiplier, filters))
    bias = rng.standard_normal(filters)
    layer = keras.layers.SeparableConv2D(
        filters, case["kernel"], strides=case["strides"], padding=case["padding"],
        dilation_rate=case["dilation"], depth_multiplier=multiplier,
        activation=case["activation"], use_bias=True, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([depthwise, pointwise, bias])
    theirs = np.asarray(layer(x))
    mine = keras_separable_conv2d(x, depthwise, pointwise, bias, case["strides"],
                                  case["padding"], case["dilation"], case["activation"])
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)
    assert [w.shape for w in layer.weights][-1] == (filters,)  # one bias, of `filters`
    assert layer.count_params() == keras_separable_conv2d_cost(
        x.shape[1:3], channels, filters, case["kernel"], case["strides"], case["padding"],
        case["dilation"], multiplier).params_with_bias


def test_the_bias_comes_after_the_pointwise_step_and_before_the_activation() -> None:
    rng = np.random.default_rng(14)
    x = rng.standard_normal((1, 5, 5, 2))
    depthwise, pointwise = rng.standard_normal((3, 3, 2, 1)), rng.standard_normal((1, 1, 2, 3))
    bias = np.array([-2.0, 0.5, 3.0])
    layer = keras.layers.SeparableConv2D(3, 3, activation="relu", dtype="float64")
    layer.build(x.shape)
    layer.set_weights([depthwise, pointwise, bias])
    theirs = np.asarray(layer(x))
    plain = separable_conv2d(x, depthwise, pointwise, 1, "VALID")
    np.testing.assert_allclose(theirs, np.maximum(plain + bias, 0), rtol=1e-12, atol=1e-12)
    assert not np.allclose(theirs, np.maximum(plain, 0) + bias)  # activation, then bias
    assert not np.allclose(theirs, np.maximum(plain, 0))  # no bias at all
