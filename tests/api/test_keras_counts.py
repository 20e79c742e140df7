"""Keras layer semantics through the API: ``/costs`` reports each Keras layer's
``count_params()``, and ``/code`` what the Keras snippet's layer reports."""

from __future__ import annotations

import numpy as np
import pytest

from app.api import examples
from tests.references import REASON


def test_costs_answer_the_one_bias_question(client) -> None:
    # 5x5x3 input, 3x3 kernels, 4 outputs: DESIGN.md's teaching numbers.
    keras = client.post("/api/v1/costs", json=examples.COSTS).json()["keras"]
    assert keras == {
        "Conv2D": {"use_bias": 108 + 4, "no_bias": 108},
        "DepthwiseConv2D": {"use_bias": 27 + 3, "no_bias": 27},
        "SeparableConv2D": {"use_bias": 39 + 4, "no_bias": 39},  # ONE bias, after pointwise
        "DepthwiseConv2D_then_Conv2D_1x1": {"use_bias": 27 + 3 + 12 + 4, "no_bias": 39},
    }


def test_costs_keras_counts_exist_for_an_empty_output(client) -> None:
    body = {"input_hw": [1, 1], "in_channels": 2, "out_channels": 3, "kernel_hw": [4, 4],
            "channel_multiplier": 2, "strides": 2, "padding": "VALID"}
    keras = client.post("/api/v1/costs", json=body).json()["keras"]
    assert keras["SeparableConv2D"] == {"use_bias": 16 * 4 + 4 * 3 + 3, "no_bias": 76}


@pytest.mark.tf
@pytest.mark.parametrize(
    "body",
    [
        examples.COSTS,
        {"input_hw": [7, 9], "in_channels": 4, "out_channels": 6, "kernel_hw": [3, 5],
         "channel_multiplier": 3, "groups": 2, "strides": [2, 1], "padding": "VALID"},
    ],
)
def test_costs_keras_counts_equal_real_keras(client, body) -> None:
    keras = pytest.importorskip("keras", minversion="3", reason=REASON, exc_type=ImportError)
    answer = client.post("/api/v1/costs", json=body).json()["keras"]
    shape = (1, *body["input_hw"], body["in_channels"])
    kernel, outputs = tuple(body["kernel_hw"]), body["out_channels"]
    multiplier = body.get("channel_multiplier", 1)
    for use_bias, key in ((True, "use_bias"), (False, "no_bias")):
        layers = {
            "Conv2D": keras.layers.Conv2D(outputs, kernel, groups=body.get("groups", 1),
                                          use_bias=use_bias),
            "DepthwiseConv2D": keras.layers.DepthwiseConv2D(
                kernel, depth_multiplier=multiplier, use_bias=use_bias),
            "SeparableConv2D": keras.layers.SeparableConv2D(
                outputs, kernel, depth_multiplier=multiplier, use_bias=use_bias),
        }
        for name, layer in layers.items():
            layer.build(shape)
            assert answer[name][key] == layer.count_params(), (name, key)
        pointwise = keras.layers.Conv2D(outputs, 1, use_bias=use_bias)
        pointwise.build((1, *body["input_hw"], body["in_channels"] * multiplier))
        assert answer["DepthwiseConv2D_then_Conv2D_1x1"][key] == (
            layers["DepthwiseConv2D"].count_params() + pointwise.count_params())


def test_code_reports_the_keras_layer_count(client) -> None:
    # The seed separable example: C=2, M=2, 3x3, O from the pointwise filter.
    answer = client.post("/api/v1/code", json=examples.CODE).json()
    pointwise = np.array(examples.CODE["pointwise_filter"])
    depthwise = np.array(examples.CODE["depthwise_filter"])
    assert answer["keras_count_params"] == depthwise.size + pointwise.size
    assert "ONE bias" in answer["keras"]
