"""Block traces: a block's stages in order, each conv stage against the loop reference on the
previous stage's output, every stage's map equal to run_block's."""

from __future__ import annotations

import numpy as np
import pytest

from app import engine
from tests.engine import reference


def _input(shape: tuple[int, int, int, int], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


BLOCKS = {
    "inverted_residual": lambda: engine.inverted_residual_block(3, 3, 2, 1, seed=0,
                                                                dtype=np.float64),
    "inverted_residual_stride_2": lambda: engine.inverted_residual_block(
        2, 3, 3, 2, seed=4, dtype=np.float64),
    "mobilenet_v1_folded": lambda: engine.fold_batch_norm(
        engine.mobilenet_v1_block(3, 4, 1, seed=2, dtype=np.float64)),
    "xception_pointwise_first": lambda: engine.xception_block(3, 2, "pointwise_first", "relu",
                                                              seed=3, dtype=np.float64),
}


def _all_steps(trace: engine.BlockTrace, chunk_size: int) -> tuple[dict, dict]:
    """Every stage's fields concatenated over its chunks, and every stage's finished map."""
    fields: dict[str, dict[str, list[np.ndarray]]] = {}
    maps = {}
    for item in trace.chunks(chunk_size):
        if isinstance(item, engine.StageResult):
            maps[item.stage] = item.output
            continue
        for name, values in item.fields.items():
            fields.setdefault(item.stage, {}).setdefault(name, []).append(values)
    joined = {stage: {name: np.concatenate(parts) for name, parts in by_name.items()}
              for stage, by_name in fields.items()}
    return joined, maps


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_every_stage_map_is_run_blocks_and_the_conv_steps_are_the_loop_references(name):
    block = BLOCKS[name]()
    x = _input((1, 5, 5, block.stages[0].kernel.shape[2]))
    trace = engine.build_block_trace(block, x)
    outputs = engine.run_block(block, x)
    steps, maps = _all_steps(trace, chunk_size=7)
    assert list(maps) == block.stage_names()
    stage_input = x
    for stage, info, result in zip(block.stages, trace.stages, outputs, strict=True):
        expected = result.output[0].transpose(2, 0, 1)  # (C, Ho, Wo)
        np.testing.assert_array_equal(maps[stage.name], expected)
        fields = steps[stage.name]
        assert len(next(iter(fields.values()))) == info.steps
        if isinstance(stage, engine.ConvStage):
            kernel = stage.kernel
            if stage.kind == "depthwise":
                gold = reference.depthwise_conv2d(stage_input, kernel, stage.strides,
                                                  stage.padding, "NHWC", stage.dilations)
            else:
                gold = reference.conv2d(stage_input, kernel, stage.strides, stage.padding,
                                        "NHWC", stage.dilations)
            gold = gold[0]  # (Ho, Wo, O), no bias
            if stage.kind == "pointwise":
                # One step per pixel (i, j): the O sums there.
                assert info.order == ("i", "j")
                ho, wo, o = gold.shape
                np.testing.assert_allclose(fields["outputs"], gold.reshape(ho * wo, o),
                                           rtol=1e-12, atol=1e-12)
                np.testing.assert_array_equal(fields["vector"],
                                              stage_input[0].reshape(ho * wo, -1))
                value = fields["outputs"]
            else:
                assert info.order == ("q", "r", "i", "j")
                # Steps in (output channel, i, j) order.
                np.testing.assert_allclose(fields["sum"], gold.transpose(2, 0, 1).ravel(),
                                           rtol=1e-12, atol=1e-12)
                value = fields["sum"]
            if stage.bias is not None:
                np.testing.assert_allclose(fields["output"], value + fields["bias"], rtol=0,
                                           atol=0)
                np.testing.assert_allclose(
                    fields["output"].ravel(),
                    (expected.reshape(len(expected), -1).T if stage.kind == "pointwise"
                     else expected).ravel(), rtol=1e-12, atol=1e-12)
            else:
                assert "output" not in fields or stage.kind == "conv"
        else:
            # One step per output channel: its input map and its output map.
            assert info.order == ("c",)
            assert info.steps == expected.shape[0]
            np.testing.assert_array_equal(fields["channel"], np.arange(info.steps))
            np.testing.assert_array_equal(fields["output"], expected)
            np.testing.assert_array_equal(fields["input"], stage_input[0].transpose(2, 0, 1))
        stage_input = result.output


def test_elementwise_stages_show_the_scale_and_shift_the_activation_and_the_residual():
    block = engine.inverted_residual_block(2, 2, 3, 1, seed=5, dtype=np.float64)
    x = _input((1, 4, 4, 2), seed=6)
    trace = engine.build_block_trace(block, x)
    steps, _ = _all_steps(trace, 512)
    bn = next(stage for stage in block.stages if stage.name == "expand_bn")
    scale, shift = bn.scale_shift()
    np.testing.assert_array_equal(steps["expand_bn"]["scale"], scale)
    np.testing.assert_array_equal(steps["expand_bn"]["shift"], shift)
    np.testing.assert_allclose(
        steps["expand_bn"]["output"],
        steps["expand_bn"]["input"] * scale[:, None, None] + shift[:, None, None], rtol=1e-14)
    relu6 = steps["expand_relu6"]
    np.testing.assert_array_equal(relu6["output"], np.clip(relu6["input"], 0, 6))
    add = steps["add"]
    np.testing.assert_array_equal(add["residual"], x[0].transpose(2, 0, 1))
    np.testing.assert_array_equal(add["output"], add["input"] + add["residual"])
    header = trace.header()
    by_name = {stage["name"]: stage for stage in header["stages"]}
    np.testing.assert_array_equal(by_name["expand_bn"]["scale"], scale)
    assert by_name["add"]["source"] == "input"
    assert by_name["depthwise"]["trace"]["op"] == "depthwise_conv2d"
    assert by_name["expand"]["trace"]["stages"] == [
        {"name": "pointwise", "steps": 16, "order": ["i", "j"], "output_channels": 6,
         "output_hw": [4, 4]}]
    assert set(by_name["expand"]["trace"]["kernels"]) == {"pointwise_filter", "bias"}


def test_step_counts_come_from_shapes_and_match_the_chunks():
    block = engine.inverted_residual_block(4, 4, 6, 1, seed=0)
    shape = (1, 8, 8, 4)
    infos = engine.plan_block_trace(block, shape)
    # expand: 64 pixels; BN and ReLU6: 24 channels; depthwise 24 x 64; project 64 pixels;
    # project_bn and add: 4 channels.
    assert [(info.name, info.steps) for info in infos] == [
        ("expand", 64), ("expand_bn", 24), ("expand_relu6", 24), ("depthwise", 1536),
        ("depthwise_bn", 24), ("depthwise_relu6", 24), ("project", 64), ("project_bn", 4),
        ("add", 4)]
    assert engine.block_trace_step_count(block, shape) == 1768
    trace = engine.build_block_trace(block, _input(shape).astype(np.float32))
    starts = [(item.stage, item.global_start) for item in trace.chunks(4096)
              if isinstance(item, engine.TraceChunk)]
    assert starts[3] == ("depthwise", 64 + 24 + 24)
    assert trace.step(64 + 24 + 24)["stage"] == "depthwise"
    last = trace.step(trace.total_steps - 1)
    assert (last["stage"], last["stage_step"], last["channel"]) == ("add", 3, 3)


def test_a_batch_element_other_than_the_first_is_traced_on_its_own_maps():
    block = engine.mobilenet_v1_block(2, 3, 2, seed=1, dtype=np.float64)
    x = _input((2, 5, 5, 2), seed=9)
    trace = engine.build_block_trace(block, x, batch_index=1)
    outputs = engine.run_block(block, x)
    np.testing.assert_array_equal(trace.outputs[-1], outputs[-1].output[1].transpose(2, 0, 1))
    np.testing.assert_array_equal(trace.input, x[1].transpose(2, 0, 1))


def test_bad_arguments_are_named():
    block = engine.mobilenet_v1_block(2, 3)
    with pytest.raises(ValueError, match="in_channels=2 but the map reaching it has 3"):
        engine.plan_block_trace(block, (1, 4, 4, 3))
    with pytest.raises(ValueError, match="batch_index must be in 0..0"):
        engine.build_block_trace(block, np.zeros((1, 4, 4, 2)), batch_index=1)
    trace = engine.build_block_trace(block, np.zeros((1, 4, 4, 2)))
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        trace.chunks(0)
    with pytest.raises(IndexError):
        trace.step(trace.total_steps)
