"""Blocks and Keras layer semantics against loop references written from the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app import engine
from tests.engine import reference


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def batch_norm_loop(x: np.ndarray, gamma, beta, mean, variance, epsilon) -> np.ndarray:
    """y[b, i, j, c] = gamma[c] * (x[b, i, j, c] - mean[c]) / sqrt(variance[c] + eps) + beta[c]."""
    out = np.empty_like(x)
    n, h, w, c = x.shape
    for b in range(n):
        for i in range(h):
            for j in range(w):
                for k in range(c):
                    out[b, i, j, k] = gamma[k] * (x[b, i, j, k] - mean[k]) / math.sqrt(
                        variance[k] + epsilon) + beta[k]
    return out


def test_activations_are_relu_relu6_and_linear() -> None:
    x = np.array([-2.0, 0.0, 3.0, 7.5])
    np.testing.assert_array_equal(engine.apply_activation(x, "relu"), [0, 0, 3, 7.5])
    np.testing.assert_array_equal(engine.apply_activation(x, "relu6"), [0, 0, 3, 6])
    np.testing.assert_array_equal(engine.apply_activation(x, "linear"), x)
    with pytest.raises(ValueError, match="activation must be one of relu, relu6, linear"):
        engine.apply_activation(x, "gelu")


def test_batch_norm_is_a_per_channel_scale_and_shift() -> None:
    rng = _rng(1)
    x = rng.standard_normal((2, 3, 3, 4))
    gamma, beta, mean = rng.uniform(0.5, 2, 4), rng.standard_normal(4), rng.standard_normal(4)
    variance = rng.uniform(0.1, 2, 4)
    scale, shift = engine.batch_norm_scale_shift(gamma, beta, mean, variance, 1e-3)
    np.testing.assert_allclose(scale, gamma / np.sqrt(variance + 1e-3), rtol=1e-14)
    stage = engine.BatchNormStage("bn", gamma, beta, mean, variance, 1e-3)
    gold = batch_norm_loop(x, gamma, beta, mean, variance, 1e-3)
    np.testing.assert_allclose(stage.apply(x), gold, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x * scale + shift, gold, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("strides,padding,multiplier,use_bias,act", [
    (1, "valid", 1, True, "relu"), (2, "same", 2, False, None), (1, "same", 3, True, "relu6"),
])
def test_keras_depthwise_conv2d_is_depthwise_plus_bias_then_activation(
    strides, padding, multiplier, use_bias, act
) -> None:
    rng = _rng(2)
    x = rng.standard_normal((1, 6, 5, 3))
    kernel = rng.standard_normal((3, 3, 3, multiplier))
    bias = rng.standard_normal(3 * multiplier) if use_bias else None
    mine = engine.keras_depthwise_conv2d(x, kernel, bias, strides, padding, activation=act)
    gold = reference.depthwise_conv2d(x, kernel, (strides, strides), padding.upper())
    if use_bias:
        gold = gold + bias
    gold = {None: gold, "relu": np.maximum(gold, 0), "relu6": np.clip(gold, 0, 6)}[act]
    np.testing.assert_allclose(mine, gold, rtol=1e-12, atol=1e-12)


def test_keras_separable_conv2d_has_one_bias_after_the_pointwise_step() -> None:
    rng = _rng(3)
    x = rng.standard_normal((2, 5, 5, 3))
    dw, pw = rng.standard_normal((3, 3, 3, 2)), rng.standard_normal((1, 1, 6, 4))
    bias = rng.standard_normal(4)
    mine = engine.keras_separable_conv2d(x, dw, pw, bias, 1, "same", activation="relu")
    gold = np.maximum(reference.separable_conv2d(x, dw, pw, (1, 1), "SAME") + bias, 0)
    np.testing.assert_allclose(mine, gold, rtol=1e-12, atol=1e-12)
    block = engine.keras_separable_block(dw, pw, bias, padding="same")
    assert [stage.name for stage in block.stages] == ["depthwise", "pointwise", "activation"]
    assert block.stages[0].bias is None and block.stages[1].bias is not None


def test_the_torch_pair_is_a_groups_c_conv_then_a_1x1_conv() -> None:
    rng = _rng(4)
    x = rng.standard_normal((1, 3, 6, 6))
    dw, pw = rng.standard_normal((6, 1, 3, 3)), rng.standard_normal((5, 6, 1, 1))
    db, pb = rng.standard_normal(6), rng.standard_normal(5)
    middle, out = engine.torch_separable_pair(x, dw, pw, db, pb, stride=2, padding=1)
    gold_middle = reference.torch_conv2d(x, dw, db, (2, 2), 1, groups=3)
    np.testing.assert_allclose(middle, gold_middle, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, reference.torch_conv2d(gold_middle, pw, pb), rtol=1e-12,
                               atol=1e-12)


def test_every_intermediate_map_of_a_mobilenet_v1_block_is_returned() -> None:
    block = engine.mobilenet_v1_block(3, 5, strides=2, seed=5, dtype=np.float64)
    x = _rng(5).standard_normal((1, 7, 7, 3))
    outputs = engine.run_block(block, x)
    assert [o.name for o in outputs] == [
        "depthwise", "depthwise_bn", "depthwise_relu", "pointwise", "pointwise_bn",
        "pointwise_relu",
    ]
    assert [o.output.shape for o in outputs] == [(1, 4, 4, 3)] * 3 + [(1, 4, 4, 5)] * 3
    dw, bn1, _, pw, bn2, _ = block.stages
    gold = reference.depthwise_conv2d(x, dw.kernel, (2, 2), "SAME")
    gold = np.maximum(batch_norm_loop(gold, bn1.gamma, bn1.beta, bn1.moving_mean,
                                      bn1.moving_variance, bn1.epsilon), 0)
    np.testing.assert_allclose(outputs[2].output, gold, rtol=1e-12, atol=1e-12)
    gold = reference.conv2d(gold, pw.kernel, (1, 1), "VALID")
    gold = np.maximum(batch_norm_loop(gold, bn2.gamma, bn2.beta, bn2.moving_mean,
                                      bn2.moving_variance, bn2.epsilon), 0)
    np.testing.assert_allclose(outputs[-1].output, gold, rtol=1e-12, atol=1e-12)


def test_inverted_residual_adds_the_input_only_when_shapes_allow() -> None:
    same = engine.inverted_residual_block(4, 4, expansion=6, strides=1)
    assert same.stage_names()[-1] == "add"
    assert "add" not in engine.inverted_residual_block(4, 4, strides=2).stage_names()
    assert "add" not in engine.inverted_residual_block(4, 8, strides=1).stage_names()
    assert "expand" not in engine.inverted_residual_block(4, 4, expansion=1).stage_names()
    x = _rng(6).standard_normal((1, 5, 5, 4))
    outputs = {o.name: o.output for o in engine.run_block(same, x)}
    np.testing.assert_allclose(outputs["add"], outputs["project_bn"] + x, rtol=1e-6)
    assert outputs["expand"].shape == (1, 5, 5, 24)
    assert outputs["depthwise_relu6"].max() <= 6 and outputs["depthwise_relu6"].min() >= 0
    assert outputs["project_bn"].min() < 0  # linear bottleneck: no activation after project
    clipped = engine.inverted_residual_block(4, 4, project_activation="relu6")
    assert clipped.stage_names()[-2:] == ["project_relu6", "add"]
    outputs = {o.name: o.output for o in engine.run_block(clipped, x)}
    np.testing.assert_array_equal(outputs["project_relu6"], np.clip(outputs["project_bn"], 0, 6))


def test_xception_orders() -> None:
    x = _rng(7).standard_normal((1, 5, 5, 3))
    first = engine.xception_block(3, 6, "depthwise_first", seed=1, dtype=np.float64)
    assert first.stage_names() == ["depthwise", "pointwise"]
    dw, pw = first.stages
    gold = reference.separable_conv2d(x, dw.kernel, pw.kernel, (1, 1), "SAME")
    np.testing.assert_allclose(engine.run_block(first, x)[-1].output, gold, rtol=1e-12)
    second = engine.xception_block(3, 6, "pointwise_first", "relu", seed=1, dtype=np.float64)
    assert second.stage_names() == ["pointwise", "between", "depthwise"]
    pw, _, dw = second.stages
    gold = reference.depthwise_conv2d(np.maximum(reference.conv2d(x, pw.kernel, (1, 1), "VALID"),
                                                 0), dw.kernel, (1, 1), "SAME")
    np.testing.assert_allclose(engine.run_block(second, x)[-1].output, gold, rtol=1e-12)
    with pytest.raises(ValueError, match="order must be"):
        engine.xception_block(3, 6, "sideways")


@pytest.mark.parametrize("make", [
    lambda: engine.mobilenet_v1_block(3, 6, strides=2, seed=3, dtype=np.float64),
    lambda: engine.inverted_residual_block(3, 3, expansion=4, seed=3, dtype=np.float64),
])
def test_folding_batch_norm_into_the_conv_keeps_the_output(make) -> None:
    block = make()
    folded = engine.fold_batch_norm(block)
    assert not any(stage.kind == "batch_norm" for stage in folded.stages)
    assert all(stage.bias is not None for stage in folded.stages if stage.kind != "activation"
               and stage.kind != "add")
    x = _rng(8).standard_normal((2, 6, 6, 3))
    np.testing.assert_allclose(engine.run_block(folded, x)[-1].output,
                               engine.run_block(block, x)[-1].output, rtol=1e-10, atol=1e-12)


def test_mobilenet_v1_costs_against_the_standard_conv_it_replaces() -> None:
    block = engine.mobilenet_v1_block(32, 64)
    costs = engine.block_costs(block, (1, 56, 56, 32))
    stages = {stage.name: stage for stage in costs.stages}
    assert stages["depthwise"].macs == 56 * 56 * 9 * 32
    assert stages["pointwise"].macs == 56 * 56 * 32 * 64
    assert stages["depthwise"].weights == 9 * 32 and stages["pointwise"].weights == 32 * 64
    assert stages["depthwise_bn"].macs == 56 * 56 * 32 and stages["depthwise_bn"].biases == 64
    assert costs.standard_macs == 56 * 56 * 9 * 32 * 64
    assert costs.standard_weights == 9 * 32 * 64
    conv_macs = stages["depthwise"].macs + stages["pointwise"].macs
    assert conv_macs / costs.standard_macs == pytest.approx(1 / 64 + 1 / 9)
    # Bytes moved: input + output + parameters, float32.
    assert stages["depthwise"].bytes_moved == (2 * 56 * 56 * 32 + 9 * 32) * 4
    assert stages["depthwise"].activation_bytes == 56 * 56 * 32 * 4
    # Why depthwise is slow for its MACs: about 1 MAC per byte against ~5 for pointwise.
    assert stages["depthwise"].arithmetic_intensity == pytest.approx(
        56 * 56 * 9 * 32 / ((2 * 56 * 56 * 32 + 9 * 32) * 4))
    assert stages["pointwise"].arithmetic_intensity > 4 * stages["depthwise"].arithmetic_intensity


def test_inverted_residual_costs_with_stride_two() -> None:
    costs = engine.block_costs(engine.inverted_residual_block(16, 24, 6, strides=2),
                               (1, 32, 32, 16))
    shapes = {stage.name: stage.output_shape for stage in costs.stages}
    assert shapes["expand"] == (1, 32, 32, 96) and shapes["depthwise"] == (1, 16, 16, 96)
    assert shapes["project_bn"] == (1, 16, 16, 24)
    assert costs.standard_macs == 16 * 16 * 9 * 16 * 24
    expected = 32 * 32 * 16 * 96 + 16 * 16 * 9 * 96 + 16 * 16 * 96 * 24
    assert sum(s.macs for s in costs.stages if s.kind in ("pointwise", "depthwise")) == expected
    assert costs.as_dict()["standard"]["macs"] == costs.standard_macs


def test_a_chain_that_does_not_fit_names_the_stage() -> None:
    block = engine.mobilenet_v1_block(3, 4)
    with pytest.raises(ValueError, match="stage depthwise: its kernel has in_channels=3 but the "
                                         "map reaching it has 5 channels"):
        engine.block_shapes(block, (1, 8, 8, 5))
    with pytest.raises(ValueError, match="strides must be a positive integer"):
        engine.mobilenet_v1_block(3, 4, strides=0)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        engine.keras_depthwise_block(np.ones((3, 3, 1, 1)), padding="full")


@pytest.mark.parametrize("strides,padding,multiplier,use_bias", [
    (1, "valid", 1, True), (2, "same", 2, False), (1, "same", 3, True),
])
def test_keras_layer_blocks_cost_what_keras_counts(strides, padding, multiplier, use_bias) -> None:
    """block_costs of the Keras layer blocks agree with the Keras cost functions (costs.py)."""
    rng = _rng(11)
    dw = rng.standard_normal((3, 3, 5, multiplier))
    pw = rng.standard_normal((1, 1, 5 * multiplier, 7))
    shape = (2, 9, 8, 5)
    separable = engine.block_costs(engine.keras_separable_block(
        dw, pw, np.zeros(7) if use_bias else None, strides, padding), shape)
    keras = engine.keras_separable_conv2d_cost((9, 8), 5, 7, 3, strides, padding, 1, multiplier,
                                               use_bias, batch=2)
    assert (separable.weights, separable.biases, separable.macs) == (
        keras.weights, keras.biases, keras.macs)
    depthwise = engine.block_costs(engine.keras_depthwise_block(
        dw, np.zeros(5 * multiplier) if use_bias else None, strides, padding), shape)
    keras = engine.keras_depthwise_conv2d_cost((9, 8), 5, 3, strides, padding, multiplier, 1,
                                               use_bias, batch=2)
    assert (depthwise.weights, depthwise.biases, depthwise.macs) == (
        keras.weights, keras.biases, keras.macs)


def test_stage_steps_explain_every_value_of_a_stage() -> None:
    block = engine.inverted_residual_block(3, 3, 2, strides=2, seed=4, dtype=np.float64)
    x = _rng(12).standard_normal((1, 6, 6, 3))
    outputs = {o.name: o.output for o in engine.run_block(block, x)}
    steps = engine.stage_steps(block, x, "depthwise", 5)
    assert steps["input_channels"] == [5] and steps["output_hw"] == [3, 3]
    padded = np.pad(outputs["expand_relu6"][0, :, :, 5], ((0, 1), (0, 1)))  # SAME, stride 2
    for k, (i, j) in enumerate(zip(steps["i"], steps["j"], strict=True)):
        window = padded[2 * i:2 * i + 3, 2 * j:2 * j + 3]
        np.testing.assert_array_equal(steps["window"][k, 0], window)
    np.testing.assert_allclose(steps["products"], steps["window"] * steps["weights"], rtol=1e-12)
    np.testing.assert_allclose(steps["sum"] + steps["bias"],
                               outputs["depthwise"][0, :, :, 5].reshape(-1), rtol=1e-12)
    with pytest.raises(ValueError, match="only convolution stages have steps"):
        engine.stage_steps(block, x, "expand_bn")


def test_numpy_integers_build_the_same_block_as_python_ints() -> None:
    """Sizes read from arrays (``x.shape[-1]``, ``np.int64``) are sizes like any other."""
    for build, sizes in ((engine.mobilenet_v1_block, (3, 4)),
                         (engine.inverted_residual_block, (4, 4)),
                         (engine.xception_block, (3, 5))):
        plain = build(*sizes)
        numpy_sized = build(*(np.int64(size) for size in sizes))
        assert plain.stage_names() == numpy_sized.stage_names()
        for mine, theirs in zip(plain.stages, numpy_sized.stages, strict=True):
            assert type(mine) is type(theirs)
            if hasattr(mine, "kernel"):
                np.testing.assert_array_equal(mine.kernel, theirs.kernel)
    block = engine.inverted_residual_block(np.int32(4), np.int32(4), expansion=np.int64(2),
                                           strides=np.int64(1))
    assert block.stage_names()[-1] == "add"  # strides == 1 and in == out, compared as ints
    with pytest.raises(ValueError, match="expansion must be a positive integer, got True"):
        engine.inverted_residual_block(4, 4, expansion=True)
