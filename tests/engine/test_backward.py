"""The backward trace against the engine's backprop functions and its own step fields.

Every stage's result must equal ``gradients.py``'s answer for that batch element; every
step's ``sum`` must equal the result's entry it explains, and its products the elementwise
product of the fields it shows. Configurations are ``test_ops.py``'s seeded ones.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.engine import (
    backward_step_count,
    build_backward_trace,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    depthwise_conv2d_backprop_filter,
    depthwise_conv2d_backprop_input,
    separable_conv2d_stages,
)
from tests.engine.test_ops import draw_tf_case, random_values

SEEDS = range(12)


def case_and_gradient(seed: int, op: str):
    case = draw_tf_case(seed, op)
    case = replace(case, x=np.asarray(case.x, dtype=np.float64),
                   filters=np.asarray(case.filters, dtype=np.float64))
    arguments = {"input": case.x, **case.engine_kwargs}
    if op == "conv2d":
        arguments["filters"] = case.filters
    elif op == "depthwise_conv2d":
        arguments["filter"] = case.filters
    else:
        arguments["depthwise_filter"], arguments["pointwise_filter"] = case.filters, case.pointwise
    out_shape = _output_shape(op, arguments)
    dy = random_values(np.random.default_rng([seed, 5]), out_shape, "float64")
    return case, arguments, dy


def _output_shape(op: str, arguments: dict) -> tuple[int, ...]:
    from app.engine import plan_trace

    return plan_trace(op, arguments).output_shape


def nhwc(array: np.ndarray, data_format: str) -> np.ndarray:
    return array if data_format == "NHWC" else array.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("op", ["conv2d", "depthwise_conv2d", "separable_conv2d"])
@pytest.mark.parametrize("seed", SEEDS)
def test_stage_results_are_the_engines_gradients(op: str, seed: int) -> None:
    case, arguments, dy = case_and_gradient(seed, op)
    batch_index = case.x.shape[0] - 1
    trace = build_backward_trace(op, arguments, dy, batch_index)
    element = slice(batch_index, batch_index + 1)
    x = np.asarray(case.x, dtype=np.float64)[element]
    kwargs = case.engine_kwargs
    if op == "separable_conv2d":
        z, _ = separable_conv2d_stages(x, case.filters, case.pointwise, **kwargs)
        z_nhwc, dy_nhwc = nhwc(z, case.data_format), nhwc(dy[element], case.data_format)
        pointwise = np.asarray(case.pointwise, dtype=np.float64)[0, 0]
        np.testing.assert_allclose(
            trace.result("pointwise_gradient"),
            z_nhwc.reshape(-1, z_nhwc.shape[3]).T @ dy_nhwc.reshape(-1, dy_nhwc.shape[3]),
            rtol=1e-9, atol=1e-9,
        )
        dz = dy_nhwc @ pointwise.T  # (1, Ho, Wo, C*M)
        dz = dz if case.data_format == "NHWC" else dz.transpose(0, 3, 1, 2)
        dw = depthwise_conv2d_backprop_filter(x, case.filters.shape, dz, **kwargs)
        dx = depthwise_conv2d_backprop_input(x.shape, case.filters, dz, **kwargs)
    elif op == "depthwise_conv2d":
        dw = depthwise_conv2d_backprop_filter(x, case.filters.shape, dy[element], **kwargs)
        dx = depthwise_conv2d_backprop_input(x.shape, case.filters, dy[element], **kwargs)
    else:
        dw = conv2d_backprop_filter(x, case.filters.shape, dy[element], **kwargs)
        dx = conv2d_backprop_input(x.shape, case.filters, dy[element], **kwargs)
    filter_result = trace.result("filter_gradient")  # (kh, kw, Cg, O)
    np.testing.assert_allclose(filter_result.reshape(dw.shape), dw, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        trace.result("input_gradient"), nhwc(dx, case.data_format)[0].transpose(2, 0, 1),
        rtol=1e-9, atol=1e-9,
    )
    assert trace.total_steps == backward_step_count(trace.plan)


@pytest.mark.parametrize("op", ["conv2d", "depthwise_conv2d", "separable_conv2d"])
@pytest.mark.parametrize("seed", SEEDS)
def test_every_step_explains_its_entry_of_the_result(op: str, seed: int) -> None:
    _, arguments, dy = case_and_gradient(seed, op)
    trace = build_backward_trace(op, arguments, dy)
    seen = {stage.name: 0 for stage in trace.stages}
    for item in trace.chunks(chunk_size=7):
        if not hasattr(item, "fields"):
            continue
        fields, result = item.fields, trace.result(item.stage)
        seen[item.stage] += item.size
        if item.stage == "pointwise_gradient":
            np.testing.assert_allclose(
                fields["products"], fields["vector"][:, :, None] * fields["out_gradient"][:, None]
            )
            continue
        if item.stage == "filter_gradient":
            np.testing.assert_allclose(fields["products"],
                                       fields["input_values"] * fields["out_gradient"])
            assert not fields["input_values"][fields["padding_mask"]].any()  # padding reads 0
            kh, kw, group_in, _ = result.shape
            explained = result[fields["di"], fields["dj"], fields["in_channel"] % group_in,
                               fields["out_channel"]]
        else:
            np.testing.assert_allclose(fields["products"],
                                       fields["out_gradient"] * fields["weights"])
            unreached = np.broadcast_to(~fields["reached"][:, None], fields["out_gradient"].shape)
            assert not fields["out_gradient"][unreached].any()  # no window puts a tap there
            explained = result[fields["in_channel"], fields["h"], fields["w"]]
        np.testing.assert_allclose(fields["sum"], explained, rtol=1e-9, atol=1e-9)
    assert seen == {stage.name: stage.steps for stage in trace.stages}


def test_the_default_gradient_is_ones_and_the_seed_example_reads_like_the_formula() -> None:
    """The seed example: dL/dw[di, dj, q, r] with L = Σ output is the sum of the input
    values under tap (di, dj) over the 2x2 output positions."""
    x = np.zeros((1, 4, 4, 2))
    x[0, :, :, 0] = [1, 2, 3, 4]
    x[0, :, :, 1] = 1
    w = np.zeros((3, 3, 2, 2))
    w[:, :, 0, 0], w[:, :, 1, 0], w[:, :, 0, 1], w[:, :, 1, 1] = 0, 1, 2, 3
    trace = build_backward_trace(
        "depthwise_conv2d", {"input": x, "filter": w, "strides": 1, "padding": "VALID"}
    )
    first = next(iter(trace.chunks(4)))
    # Steps (q=0, r=0, di=0, dj=0..2): channel 0's rows are 1 2 3 4, the window's columns
    # dj..dj+1 at two output rows: (1+2)*2, (2+3)*2, (3+4)*2.
    np.testing.assert_array_equal(first.fields["sum"][:3], [6, 10, 14])
    np.testing.assert_array_equal(first.fields["input_values"][1], [[2, 3], [2, 3]])
    assert trace.result("filter_gradient").shape == (3, 3, 1, 4)


def test_bad_backward_requests_name_the_field() -> None:
    x, w = np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1))
    with pytest.raises(ValueError, match="out_backprop has shape"):
        build_backward_trace("conv2d", {"input": x, "filters": w, "strides": 1,
                                        "padding": "VALID"}, np.ones((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="op must be one of"):
        build_backward_trace("torch_conv2d", {"input": x, "weight": w})
