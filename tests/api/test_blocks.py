"""``POST /api/v1/blocks``: every stage's map equals the engine's run, costs as the engine gives."""

from __future__ import annotations

import numpy as np

from app import engine
from tests.api.helpers import assert_error, decoded

BLOCKS = "/api/v1/blocks"


def test_an_inverted_residual_stage_by_stage(client) -> None:
    body = client.post(BLOCKS, json={"block": "inverted_residual", "in_channels": 4,
                                     "out_channels": 4, "expansion": 6, "input_hw": 6,
                                     "output_encoding": "base64"}).json()
    assert body["stage_names"] == ["expand", "expand_bn", "expand_relu6", "depthwise",
                                   "depthwise_bn", "depthwise_relu6", "project", "project_bn",
                                   "add"]
    block = engine.inverted_residual_block(4, 4, 6, 1, 0)
    x = decoded(body["input"]).transpose(1, 2, 0)[None]  # (1, H, W, C)
    for stage, gold in zip(body["stages"], engine.run_block(block, x), strict=True):
        np.testing.assert_array_equal(decoded(stage["output"]), gold.output[0].transpose(2, 0, 1))
    bn = body["stages"][1]
    scale, shift = block.stages[1].scale_shift()
    np.testing.assert_array_equal(decoded(bn["scale"]), scale)
    np.testing.assert_array_equal(decoded(bn["shift"]), shift)
    costs = engine.block_costs(block, (1, 6, 6, 4))
    assert body["costs"]["macs"] == costs.macs
    assert body["costs"]["standard"] == {"weights": 9 * 4 * 4, "macs": 36 * 9 * 4 * 4}
    assert body["stages"][3]["cost"]["macs"] == 36 * 9 * 24


def test_the_linear_bottleneck_against_relu6(client) -> None:
    request = {"block": "inverted_residual", "in_channels": 4, "out_channels": 4, "seed": 3}
    linear = client.post(BLOCKS, json=request).json()["stages"]
    clipped = client.post(BLOCKS, json={**request, "project_activation": "relu6"}).json()
    assert linear[-2]["name"] == "project_bn" and linear[-2]["min"] < 0
    assert clipped["stages"][-2]["name"] == "project_relu6"
    assert clipped["stages"][-2]["zero_fraction"] > 0.2


def test_folding_and_the_other_blocks(client) -> None:
    folded = client.post(BLOCKS, json={"block": "mobilenet_v1", "fold_batch_norm": True,
                                       "strides": 2}).json()
    assert folded["stage_names"] == ["depthwise", "depthwise_relu", "pointwise",
                                     "pointwise_relu"]
    assert folded["stages"][0]["output_shape"] == [4, 4, 4]
    xception = client.post(BLOCKS, json={"block": "xception", "order": "pointwise_first",
                                         "activation_between": "relu", "out_channels": 6}).json()
    assert xception["stage_names"] == ["pointwise", "between", "depthwise"]


def test_limits(client_with) -> None:
    response = client_with(max_macs=1000).post(BLOCKS, json={"block": "mobilenet_v1"})
    assert "(max_macs)" in assert_error(response, 413, "too_much_work", "input_hw")["message"]
    assert_error(client_with().post(BLOCKS, json={"block": "resnet"}), 422, "invalid_value",
                 "block")


def test_integers_are_the_schemas_integers(client) -> None:
    """An integer field takes 2 or 2.0 (JSON Schema's integer), never false, "2" or 2.5."""
    for field, value in (("channel", False), ("channel", "0"), ("strides", True),
                         ("in_channels", 2.5), ("fold_batch_norm", 1)):
        error = assert_error(client.post(BLOCKS, json={field: value}), 422, "invalid_value",
                             field)
        assert field in error["message"]
    response = client.post(BLOCKS, json={"in_channels": 4.0, "strides": 2.0, "channel": 0.0})
    assert response.status_code == 200, response.text
    assert response.json()["input_shape"][0] == 4


def test_the_steps_of_a_stage(client) -> None:
    request = {"block": "mobilenet_v1", "in_channels": 3, "out_channels": 5, "strides": 2,
               "input_hw": 6, "output_encoding": "base64", "step_stage": "depthwise",
               "channel": 2}
    body = client.post(BLOCKS, json=request).json()
    steps = body["steps"]
    assert steps["steps"] == 9 and steps["input_channels"] == [2] and steps["output_hw"] == [3, 3]
    x = decoded(body["input"])  # (C, H, W)
    window = decoded(steps["window"])  # (P, 1, 3, 3)
    # SAME with stride 2 on 6: pad 0 on top/left, 1 at the bottom/right.
    np.testing.assert_array_equal(window[0, 0], x[2, 0:3, 0:3])
    assert np.array(steps["padding_mask"])[8, 2].all()  # the last window's last row is padding
    gold = decoded(body["stages"][0]["output"])[2].reshape(-1)
    np.testing.assert_allclose(decoded(steps["sum"]) + steps["bias"], gold, rtol=1e-6)
    pointwise = client.post(BLOCKS, json={**request, "step_stage": "pointwise", "channel": 4})
    assert decoded(pointwise.json()["steps"]["window"]).shape == (9, 3, 1, 1)
    # A stage or a channel this block lacks: arguments that do not fit (not schema errors).
    assert_error(client.post(BLOCKS, json={**request, "step_stage": "depthwise_bn"}), 422,
                 "invalid_configuration", "step_stage")
    assert_error(client.post(BLOCKS, json={**request, "step_stage": ""}), 422,
                 "invalid_configuration", "step_stage")
    assert_error(client.post(BLOCKS, json={**request, "channel": 3}), 422,
                 "invalid_configuration", "channel")
