"""build_trace: the steps' windows, weights, products and sums, checked by hand and
against the engine ops; chunking, laziness and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.engine import (
    StageInfo,
    StageResult,
    Trace,
    TraceChunk,
    build_trace,
    conv2d,
    depthwise_conv2d,
    plan_trace,
    separable_conv2d,
    separable_conv2d_stages,
    torch_conv2d,
    trace_step_count,
)

# --- helpers -------------------------------------------------------------------------


def seed_arguments(padding: str = "VALID") -> dict:
    """DESIGN.md's seed example: input [1,4,4,2], filter [3,3,2,2]."""
    x = np.zeros((1, 4, 4, 2))
    x[0, :, :, 0] = [1, 2, 3, 4]  # every row is 1 2 3 4
    x[0, :, :, 1] = 1
    w = np.zeros((3, 3, 2, 2))
    w[:, :, 0, 0], w[:, :, 1, 0], w[:, :, 0, 1], w[:, :, 1, 1] = 0, 1, 2, 3
    return {"input": x, "filter": w, "strides": 1, "padding": padding}


def collect(trace: Trace, chunk_size: int = 512) -> tuple[dict, dict]:
    """Every stage's fields concatenated over its chunks, and every stage's result."""
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    results: dict[str, np.ndarray] = {}
    expected_global = 0
    for item in trace.chunks(chunk_size):
        if isinstance(item, StageResult):
            results[item.stage] = item.output
            continue
        assert isinstance(item, TraceChunk)
        assert item.global_start == expected_global
        assert item.size <= chunk_size
        expected_global += item.size
        stage = parts.setdefault(item.stage, {})
        for name, values in item.fields.items():
            assert len(values) == item.size
            stage.setdefault(name, []).append(values)
    assert expected_global == trace.total_steps
    fields = {
        stage: {name: np.concatenate(chunks) for name, chunks in stage_fields.items()}
        for stage, stage_fields in parts.items()
    }
    return fields, results


def nhwc_to_chw(y: np.ndarray, batch_index: int = 0) -> np.ndarray:
    """(N, H, W, C) -> (C, H, W) of one batch element."""
    return y[batch_index].transpose(2, 0, 1)


def scatter(fields: dict, value_name: str, shape: tuple[int, int, int]) -> np.ndarray:
    """Place each step's value at (out_channel, i, j) of a (channels, Ho, Wo) map."""
    out = np.full(shape, np.nan)
    out[fields["out_channel"], fields["i"], fields["j"]] = fields[value_name]
    return out


def reference_window(
    x_chw: np.ndarray, channel: int, i: int, j: int, kernel_hw, strides, dilations, pads
) -> tuple[np.ndarray, np.ndarray]:
    """Loop twin of a step's window and padding mask, straight from the DESIGN formula."""
    height, width = x_chw.shape[1:]
    window = np.zeros(kernel_hw)
    mask = np.zeros(kernel_hw, dtype=bool)
    for di in range(kernel_hw[0]):
        for dj in range(kernel_hw[1]):
            row = strides[0] * i + dilations[0] * di - pads[0]
            col = strides[1] * j + dilations[1] * dj - pads[1]
            if 0 <= row < height and 0 <= col < width:
                window[di, dj] = x_chw[channel, row, col]
            else:
                mask[di, dj] = True
    return window, mask


rng = np.random.default_rng(20240601)


# --- the seed example, by hand ---------------------------------------------------------


def test_seed_example_steps_in_q_r_i_j_order_reproduce_the_design_output() -> None:
    trace = build_trace("depthwise_conv2d", seed_arguments())
    fields, results = collect(trace)
    steps = fields["depthwise"]

    assert trace.total_steps == 16 == 2 * 2 * 2 * 2
    assert trace.stages == (StageInfo("depthwise", 16, ("q", "r", "i", "j"), 4, (2, 2)),)
    q, r, i, j = np.unravel_index(np.arange(16), (2, 2, 2, 2))
    for name, expected in {"q": q, "r": r, "i": i, "j": j, "out_channel": q * 2 + r}.items():
        np.testing.assert_array_equal(steps[name], expected)
    # (i, j) fastest, then r, then q: channel 0's r=0 plane, its r=1 plane, channel 1's...
    np.testing.assert_array_equal(
        steps["sum"], [0, 0, 0, 0, 36, 54, 36, 54, 9, 9, 9, 9, 27, 27, 27, 27]
    )
    design = np.array([[[[0, 36, 9, 27], [0, 54, 9, 27]], [[0, 36, 9, 27], [0, 54, 9, 27]]]])
    np.testing.assert_array_equal(scatter(steps, "sum", (4, 2, 2)), nhwc_to_chw(design))
    np.testing.assert_array_equal(results["depthwise"], nhwc_to_chw(design))


def test_seed_example_one_step_by_hand() -> None:
    trace = build_trace("depthwise_conv2d", seed_arguments())
    # Channel q=0 (rows 1 2 3 4), multiplier r=1 (weights all 2), output (i, j) = (0, 1).
    step = trace.step(5)

    assert (step["stage"], step["stage_step"]) == ("depthwise", 5)
    assert (step["q"], step["r"], step["out_channel"], step["i"], step["j"]) == (0, 1, 1, 0, 1)
    np.testing.assert_array_equal(step["rows"], [0, 1, 2])
    np.testing.assert_array_equal(step["cols"], [1, 2, 3])
    np.testing.assert_array_equal(step["window"], [[2, 3, 4], [2, 3, 4], [2, 3, 4]])
    np.testing.assert_array_equal(step["padding_mask"], np.zeros((3, 3), dtype=bool))
    np.testing.assert_array_equal(step["weights"], np.full((3, 3), 2.0))
    np.testing.assert_array_equal(step["products"], [[4, 6, 8], [4, 6, 8], [4, 6, 8]])
    assert step["sum"] == 54 == 3 * (4 + 6 + 8)


# --- geometry: SAME asymmetry, dilation, stride --------------------------------------


def test_same_with_an_odd_pad_total_pads_the_bottom_and_right() -> None:
    x = np.arange(1.0, 17.0).reshape(1, 4, 4, 1)
    w = np.ones((2, 2, 1, 1))
    arguments = {"input": x, "filter": w, "strides": 1, "padding": "SAME"}
    trace = build_trace("depthwise_conv2d", arguments)
    header = trace.header()

    # SAME, 4 in, kernel 2: pad_total = 1 -> 0 on top/left, 1 on bottom/right.
    assert header["padding"] == {
        "pad_top": 0, "pad_bottom": 1, "pad_left": 0, "pad_right": 1,
        "output_height": 4, "output_width": 4,
    }
    assert header["padded_input"].shape == (1, 5, 5)
    np.testing.assert_array_equal(header["padded_input"][0, :4, :4], x[0, :, :, 0])
    assert not header["padded_input"][0, 4, :].any() and not header["padded_input"][0, :, 4].any()

    first, corner = trace.step(0), trace.step(15)  # (i, j) = (0, 0) and (3, 3)
    np.testing.assert_array_equal(first["rows"], [0, 1])
    assert not first["padding_mask"].any()
    np.testing.assert_array_equal(corner["rows"], [3, 4])  # row 4 == H: padding
    np.testing.assert_array_equal(corner["cols"], [3, 4])
    np.testing.assert_array_equal(corner["padding_mask"], [[False, True], [True, True]])
    np.testing.assert_array_equal(corner["window"], [[16, 0], [0, 0]])
    assert corner["sum"] == 16
    edge = trace.step(3)  # (i, j) = (0, 3): only the right column is padding
    np.testing.assert_array_equal(edge["padding_mask"], [[False, True], [False, True]])
    np.testing.assert_array_equal(edge["window"], [[4, 0], [8, 0]])


def test_dilation_two_spreads_the_taps_two_apart() -> None:
    x = rng.standard_normal((1, 6, 7, 2))
    w = rng.standard_normal((3, 3, 2, 1))
    arguments = {"input": x, "filter": w, "strides": 1, "padding": "VALID", "dilations": 2}
    trace = build_trace("depthwise_conv2d", arguments)
    fields, _ = collect(trace)
    steps = fields["depthwise"]

    assert trace.plan.output_hw == (2, 3)  # span 5
    step = trace.step(1 * 6 + 1 * 3 + 2)  # q=1, (i, j) = (1, 2)
    np.testing.assert_array_equal(step["rows"], [1, 3, 5])
    np.testing.assert_array_equal(step["cols"], [2, 4, 6])
    np.testing.assert_array_equal(step["window"], x[0, 1:6:2, 2:7:2, 1])
    np.testing.assert_array_equal(np.diff(steps["rows"], axis=1), 2)
    np.testing.assert_array_equal(np.diff(steps["cols"], axis=1), 2)
    np.testing.assert_allclose(
        scatter(steps, "sum", (2, 2, 3)), nhwc_to_chw(depthwise_conv2d(**arguments)), rtol=1e-12
    )


def test_stride_two_moves_the_window_two_cells_per_output() -> None:
    x = rng.standard_normal((1, 6, 6, 1))
    w = rng.standard_normal((3, 3, 1, 2))
    arguments = {"input": x, "filter": w, "strides": 2, "padding": "SAME"}
    trace = build_trace("depthwise_conv2d", arguments)
    fields, _ = collect(trace)
    steps = fields["depthwise"]

    # SAME, 6 in, stride 2, kernel 3: out 3, pad_total 1 -> all of it at the bottom/right.
    assert trace.plan.output_hw == (3, 3)
    np.testing.assert_array_equal(steps["rows"][:3], [[0, 1, 2], [0, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(steps["cols"][:3], [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    last = trace.step(8)  # r=0, (i, j) = (2, 2)
    np.testing.assert_array_equal(last["rows"], [4, 5, 6])
    np.testing.assert_array_equal(last["padding_mask"][2], [True, True, True])
    np.testing.assert_array_equal(last["padding_mask"][:, 2], [True, True, True])
    np.testing.assert_allclose(
        scatter(steps, "sum", (2, 3, 3)), nhwc_to_chw(depthwise_conv2d(**arguments)), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("strides", "dilations", "padding"),
    [
        (1, 1, "SAME"),
        ((2, 1), 1, "SAME"),
        (1, (2, 3), "SAME"),
        ((1, 3), 1, [[0, 0], [2, 1], [0, 3], [0, 0]]),
        (2, 1, "VALID"),
    ],
)
def test_depthwise_windows_match_a_loop_reference(strides, dilations, padding) -> None:
    x = rng.standard_normal((2, 7, 6, 3))
    w = rng.standard_normal((3, 2, 3, 2))
    arguments = {
        "input": x, "filter": w, "strides": strides, "padding": padding, "dilations": dilations,
    }
    trace = build_trace("depthwise_conv2d", arguments, batch_index=1)
    fields, results = collect(trace, chunk_size=13)
    steps = fields["depthwise"]
    plan = trace.plan
    x_chw = nhwc_to_chw(x, 1)

    for k in range(0, trace.total_steps, 5):
        window, mask = reference_window(
            x_chw, steps["q"][k], steps["i"][k], steps["j"][k], plan.kernel_hw, plan.strides,
            plan.dilations, (plan.padding.pad_top, plan.padding.pad_left),
        )
        np.testing.assert_array_equal(steps["window"][k], window)
        np.testing.assert_array_equal(steps["padding_mask"][k], mask)
        np.testing.assert_array_equal(steps["weights"][k], w[:, :, steps["q"][k], steps["r"][k]])
    np.testing.assert_array_equal(steps["products"], steps["window"] * steps["weights"])
    expected = nhwc_to_chw(depthwise_conv2d(**arguments), 1)
    np.testing.assert_allclose(scatter(steps, "sum", expected.shape), expected, rtol=1e-12)
    np.testing.assert_array_equal(results["depthwise"], expected)


# --- standard, grouped and PyTorch convolution -------------------------------------------


@pytest.mark.parametrize(
    ("filter_in", "out_channels", "strides", "dilations", "padding"),
    [
        (4, 3, 1, 1, "SAME"),  # standard
        (2, 6, 2, 1, "VALID"),  # 2 groups
        (1, 8, 1, 2, [[0, 0], [1, 2], [2, 0], [0, 0]]),  # depthwise as groups, dilated
    ],
)
def test_conv2d_trace_matches_conv2d(filter_in, out_channels, strides, dilations, padding) -> None:
    x = rng.standard_normal((1, 7, 8, 4))
    w = rng.standard_normal((3, 2, filter_in, out_channels))
    arguments = {
        "input": x, "filters": w, "strides": strides, "padding": padding, "dilations": dilations,
    }
    trace = build_trace("conv2d", arguments)
    fields, results = collect(trace, chunk_size=10)
    steps = fields["standard"]
    groups = 4 // filter_in
    expected = nhwc_to_chw(conv2d(**arguments))

    assert [stage.name for stage in trace.stages] == ["standard"]
    assert trace.header()["kernels"]["weight"].shape == (out_channels, filter_in, 3, 2)
    np.testing.assert_array_equal(steps["group"], steps["out_channel"] // (out_channels // groups))
    assert steps["window"].shape[1:] == (filter_in, 3, 2)
    x_chw, plan = nhwc_to_chw(x), trace.plan
    for k in range(0, trace.total_steps, 7):
        for c in range(filter_in):
            window, mask = reference_window(
                x_chw, steps["group"][k] * filter_in + c, steps["i"][k], steps["j"][k],
                plan.kernel_hw, plan.strides, plan.dilations,
                (plan.padding.pad_top, plan.padding.pad_left),
            )
            np.testing.assert_array_equal(steps["window"][k, c], window)
            np.testing.assert_array_equal(steps["padding_mask"][k], mask)
        np.testing.assert_array_equal(
            steps["weights"][k], w[:, :, :, steps["out_channel"][k]].transpose(2, 0, 1)
        )
    np.testing.assert_array_equal(steps["bias"], 0.0)
    np.testing.assert_array_equal(steps["output"], steps["sum"])
    np.testing.assert_allclose(scatter(steps, "output", expected.shape), expected, rtol=1e-12)
    np.testing.assert_array_equal(results["standard"], expected)


def test_torch_conv2d_with_bias_and_groups_output_is_sum_plus_bias() -> None:
    x = rng.standard_normal((2, 4, 5, 6))  # (N, C, H, W)
    weight = rng.standard_normal((6, 2, 3, 3))  # groups=2: 3 outputs per group
    bias = np.array([0.5, -1.0, 2.0, 0.0, 3.0, -0.25])
    arguments = {
        "input": x, "weight": weight, "bias": bias, "stride": 1, "padding": 1, "groups": 2,
    }
    trace = build_trace("torch_conv2d", arguments, batch_index=1)
    fields, results = collect(trace)
    steps = fields["standard"]
    expected = torch_conv2d(**arguments)[1]  # (O, Ho, Wo)

    header = trace.header()
    assert header["op"] == "torch_conv2d" and header["data_format"] == "NCHW"
    assert header["groups"] == 2 and "channel_multiplier" not in header
    np.testing.assert_array_equal(header["kernels"]["weight"], weight)
    np.testing.assert_array_equal(header["kernels"]["bias"], bias)
    np.testing.assert_array_equal(steps["bias"], bias[steps["out_channel"]])
    np.testing.assert_array_equal(steps["output"], steps["sum"] + steps["bias"])
    np.testing.assert_array_equal(steps["group"], steps["out_channel"] // 3)
    step = trace.step(4 * 30 + 0)  # output channel 4 (group 1), (i, j) = (0, 0): padded corner
    np.testing.assert_array_equal(step["window"][:, 0, :], 0.0)
    np.testing.assert_array_equal(step["window"][:, 1:, 1:], x[1, 2:4, :2, :2])
    np.testing.assert_allclose(scatter(steps, "output", expected.shape), expected, rtol=1e-12)
    np.testing.assert_array_equal(results["standard"], expected)


def test_torch_conv2d_unbatched_input_and_no_bias() -> None:
    x = rng.standard_normal((2, 4, 4))  # (C, H, W)
    weight = rng.standard_normal((3, 2, 2, 2))
    trace = build_trace("torch_conv2d", {"input": x, "weight": weight, "padding": "same"})
    fields, results = collect(trace)

    assert trace.header()["kernels"]["bias"] is None
    np.testing.assert_array_equal(fields["standard"]["bias"], 0.0)
    expected = torch_conv2d(x, weight, padding="same")
    np.testing.assert_array_equal(results["standard"], expected)
    np.testing.assert_allclose(scatter(fields["standard"], "output", (3, 4, 4)), expected)


# --- separable ---------------------------------------------------------------------------


def separable_arguments(dtype=np.float64, data_format=None) -> dict:
    x = rng.standard_normal((2, 6, 5, 3)).astype(dtype)
    if data_format == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return {
        "input": x,
        "depthwise_filter": rng.standard_normal((3, 3, 3, 3)).astype(dtype),
        "pointwise_filter": rng.standard_normal((1, 1, 9, 4)).astype(dtype),
        "strides": 1,
        "padding": "SAME",
        "data_format": data_format,
    }


def test_separable_pointwise_outputs_equal_separable_conv2d() -> None:
    arguments = separable_arguments()
    trace = build_trace("separable_conv2d", arguments, batch_index=1)
    fields, results = collect(trace, chunk_size=64)
    depthwise_output, output = separable_conv2d_stages(**arguments)
    depthwise_chw, output_chw = nhwc_to_chw(depthwise_output, 1), nhwc_to_chw(output, 1)

    assert [stage.as_dict() for stage in trace.stages] == [
        {"name": "depthwise", "steps": 9 * 30, "order": ["q", "r", "i", "j"],
         "output_channels": 9, "output_hw": [6, 5]},
        {"name": "pointwise", "steps": 30, "order": ["i", "j"], "output_channels": 4,
         "output_hw": [6, 5]},
    ]
    pointwise = fields["pointwise"]
    np.testing.assert_array_equal(pointwise["i"], np.repeat(np.arange(6), 5))
    np.testing.assert_array_equal(pointwise["j"], np.tile(np.arange(5), 6))
    np.testing.assert_array_equal(
        pointwise["vector"], depthwise_chw[:, pointwise["i"], pointwise["j"]].T
    )
    np.testing.assert_array_equal(
        pointwise["products"],
        pointwise["vector"][:, :, None] * arguments["pointwise_filter"][0, 0][None],
    )
    np.testing.assert_allclose(
        pointwise["outputs"], output_chw[:, pointwise["i"], pointwise["j"]].T, rtol=1e-12
    )
    np.testing.assert_allclose(
        pointwise["outputs"], nhwc_to_chw(separable_conv2d(**arguments), 1)[
            :, pointwise["i"], pointwise["j"]
        ].T, rtol=1e-12,
    )
    np.testing.assert_allclose(
        scatter(fields["depthwise"], "sum", depthwise_chw.shape), depthwise_chw, rtol=1e-12
    )
    np.testing.assert_array_equal(results["depthwise"], depthwise_chw)
    np.testing.assert_array_equal(results["pointwise"], output_chw)
    assert list(results) == ["depthwise", "pointwise"]


def test_nchw_input_traces_the_same_steps_as_nhwc() -> None:
    nhwc = separable_arguments()
    nchw = {**nhwc, "input": nhwc["input"].transpose(0, 3, 1, 2), "data_format": "NCHW"}
    fields_nhwc, results_nhwc = collect(build_trace("separable_conv2d", nhwc, 1))
    trace_nchw = build_trace("separable_conv2d", nchw, 1)
    fields_nchw, results_nchw = collect(trace_nchw)

    assert trace_nchw.header()["data_format"] == "NCHW"
    np.testing.assert_array_equal(trace_nchw.header()["input"], nchw["input"][1])
    for stage in ("depthwise", "pointwise"):
        assert fields_nchw[stage].keys() == fields_nhwc[stage].keys()
        for name in fields_nhwc[stage]:
            np.testing.assert_array_equal(fields_nchw[stage][name], fields_nhwc[stage][name])
        np.testing.assert_array_equal(results_nchw[stage], results_nhwc[stage])
    _, output = separable_conv2d_stages(**nchw)
    np.testing.assert_array_equal(results_nchw["pointwise"], output[1])


def test_float32_stays_float32() -> None:
    arguments = separable_arguments(np.float32)
    trace = build_trace("separable_conv2d", arguments)
    fields, results = collect(trace)
    header = trace.header()

    for name in ("window", "weights", "products", "sum"):
        assert fields["depthwise"][name].dtype == np.float32, name
    for name in ("vector", "products", "outputs"):
        assert fields["pointwise"][name].dtype == np.float32, name
    assert header["input"].dtype == header["padded_input"].dtype == np.float32
    assert all(kernel.dtype == np.float32 for kernel in header["kernels"].values())
    assert all(output.dtype == np.float32 for output in results.values())
    expected = nhwc_to_chw(separable_conv2d(**arguments))
    np.testing.assert_allclose(results["pointwise"], expected, rtol=0, atol=0)
    np.testing.assert_allclose(
        scatter(fields["depthwise"], "sum", results["depthwise"].shape), results["depthwise"],
        rtol=1e-5, atol=1e-5,
    )


def test_float32_standard_trace_with_float64_weights_follows_the_input() -> None:
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    filters = rng.standard_normal((3, 3, 2, 2))  # float64, converted like the op converts it
    trace = build_trace("conv2d", {"input": x, "filters": filters, "strides": 1, "padding": "SAME"})
    fields, results = collect(trace)

    for name in ("window", "weights", "products", "sum", "bias", "output"):
        assert fields["standard"][name].dtype == np.float32, name
    assert results["standard"].dtype == np.float32


# --- header ------------------------------------------------------------------------------


def test_header_describes_the_configuration() -> None:
    arguments = separable_arguments()
    arguments["strides"] = [1, 2, 2, 1]
    trace = build_trace("separable_conv2d", arguments, batch_index=1)
    header = trace.header()

    arrays = {name: header.pop(name) for name in ("input", "padded_input", "kernels")}
    assert header == {
        "op": "separable_conv2d",
        "data_format": "NHWC",
        "batch_index": 1,
        "in_channels": 3,
        "input_hw": [6, 5],
        "kernel_hw": [3, 3],
        "strides": [2, 2],
        "dilations": [1, 1],
        "groups": 3,
        "channel_multiplier": 3,
        "out_channels": 4,
        "padding": {
            "pad_top": 0, "pad_bottom": 1, "pad_left": 1, "pad_right": 1,
            "output_height": 3, "output_width": 3,
        },
        "stages": [stage.as_dict() for stage in trace.stages],
        "total_steps": 9 * 9 + 9,
    }
    json.dumps(header)  # JSON-ready apart from the arrays
    np.testing.assert_array_equal(arrays["input"], nhwc_to_chw(arguments["input"], 1))
    # SAME with stride 2: 6 rows pad 0 + 1, 5 columns pad 1 + 1.
    assert arrays["padded_input"].shape == (3, 7, 7)
    np.testing.assert_array_equal(arrays["padded_input"][:, :-1, 1:-1], arrays["input"])
    np.testing.assert_array_equal(
        arrays["kernels"]["depthwise_filter"], arguments["depthwise_filter"].transpose(2, 3, 0, 1)
    )
    np.testing.assert_array_equal(
        arrays["kernels"]["pointwise_filter"], arguments["pointwise_filter"][0, 0]
    )


def test_shared_arrays_are_read_only_but_the_callers_stay_writeable() -> None:
    arguments = separable_arguments()
    trace = build_trace("separable_conv2d", arguments)
    header = trace.header()

    for array in (header["input"], header["padded_input"], *header["kernels"].values()):
        assert not array.flags.writeable
    results = [item for item in trace.chunks() if isinstance(item, StageResult)]
    assert not any(result.output.flags.writeable for result in results)
    first = next(trace.chunks())
    for name in ("input", "depthwise_filter", "pointwise_filter"):
        assert arguments[name].flags.writeable
        arguments[name][...] = 99.0  # the caller's arrays are theirs to change...
    again = next(trace.chunks())
    for name, values in first.fields.items():  # ...and the trace keeps its own copy
        np.testing.assert_array_equal(again.fields[name], values)
    assert not np.any(trace.header()["kernels"]["depthwise_filter"] == 99.0)


# --- chunks, steps and counts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "arguments"),
    [
        ("separable_conv2d", separable_arguments()),
        ("torch_conv2d", {
            "input": rng.standard_normal((1, 6, 5, 4)),
            "weight": rng.standard_normal((4, 3, 2, 3)),
            "bias": rng.standard_normal(4),
            "stride": (2, 1), "padding": (1, 1), "dilation": (1, 2), "groups": 2,
        }),
    ],
)
def test_chunk_size_does_not_change_the_steps(op, arguments) -> None:
    trace = build_trace(op, arguments)
    fields_one, results_one = collect(trace, 1)

    for chunk_size in (7, 512):
        fields, results = collect(trace, chunk_size)
        assert fields.keys() == fields_one.keys()
        for stage in fields:
            assert fields[stage].keys() == fields_one[stage].keys()
            for name, values in fields[stage].items():
                assert values.dtype == fields_one[stage][name].dtype
                np.testing.assert_array_equal(values, fields_one[stage][name], err_msg=name)
        for stage in results:
            np.testing.assert_array_equal(results[stage], results_one[stage])


def test_step_k_is_row_k_of_the_concatenated_chunks() -> None:
    trace = build_trace("separable_conv2d", separable_arguments())
    fields, _ = collect(trace, 50)
    depthwise_steps = trace.stages[0].steps

    for k in (0, 1, 49, 50, depthwise_steps - 1, depthwise_steps, trace.total_steps - 1):
        stage = "depthwise" if k < depthwise_steps else "pointwise"
        local = k if stage == "depthwise" else k - depthwise_steps
        step = trace.step(k)
        assert (step.pop("stage"), step.pop("stage_step")) == (stage, local)
        assert step.keys() == fields[stage].keys()
        for name, values in fields[stage].items():
            np.testing.assert_array_equal(step[name], values[local], err_msg=name)


@pytest.mark.parametrize("k", [-1, 10**6, 1.0, True])
def test_step_out_of_range_is_an_index_error(k) -> None:
    trace = build_trace("depthwise_conv2d", seed_arguments())
    with pytest.raises(IndexError, match="k must be"):
        trace.step(k)


def test_trace_step_count_from_shapes_alone() -> None:
    shapes_only = {
        "input": np.broadcast_to(np.float64(0), (3, 32, 32, 3)),
        "depthwise_filter": [[[[0.0] * 2] * 3] * 3] * 3,
        "pointwise_filter": np.zeros((1, 1, 6, 8)),
        "strides": 1,
        "padding": "SAME",
    }
    plan = plan_trace("separable_conv2d", shapes_only)

    assert trace_step_count(plan) == 3 * 2 * 32 * 32 + 32 * 32
    assert trace_step_count(plan_trace("conv2d", {
        "input": np.zeros((1, 8, 8, 4)), "filters": np.zeros((3, 3, 2, 6)),
        "strides": 2, "padding": "VALID",
    })) == 6 * 3 * 3
    for op, arguments in [
        ("separable_conv2d", separable_arguments()),
        ("depthwise_conv2d", seed_arguments("SAME")),
    ]:
        trace = build_trace(op, arguments)
        assert trace_step_count(plan_trace(op, arguments)) == trace.total_steps
        assert trace.total_steps == sum(stage.steps for stage in trace.stages)


def test_an_empty_output_has_no_steps_but_still_its_result() -> None:
    arguments = {
        "input": np.ones((1, 2, 2, 1)), "filter": np.ones((3, 3, 1, 2)), "strides": 1,
        "padding": "VALID",
    }
    trace = build_trace("depthwise_conv2d", arguments)
    items = list(trace.chunks())

    assert trace.total_steps == 0
    assert len(items) == 1 and isinstance(items[0], StageResult)
    assert items[0].output.shape == (2, 0, 0)


# --- laziness ------------------------------------------------------------------------------


def test_chunks_are_computed_only_when_the_iterator_reaches_them(monkeypatch) -> None:
    computed: list[tuple[str, int, int]] = []
    original = Trace._stage_fields

    def counting(self, stage, start, stop):
        computed.append((stage, start, stop))
        return original(self, stage, start, stop)

    monkeypatch.setattr(Trace, "_stage_fields", counting)
    # 32 channels x 128 x 128 outputs: half a million steps, about 1000 chunks.
    arguments = {
        "input": np.ones((1, 128, 128, 8), dtype=np.float32),
        "filter": np.ones((3, 3, 8, 4), dtype=np.float32),
        "strides": 1,
        "padding": "SAME",
    }
    trace = build_trace("depthwise_conv2d", arguments)
    assert trace.total_steps == 32 * 128 * 128
    assert computed == []  # building a trace computes no step

    chunks = trace.chunks(512)
    assert computed == []
    first = next(chunks)
    assert isinstance(first, TraceChunk) and first.size == 512
    assert computed == [("depthwise", 0, 512)]
    np.testing.assert_array_equal(first.fields["sum"][:2], [4.0, 6.0])  # corner, then edge
    chunks.close()  # abandoning the stream
    assert computed == [("depthwise", 0, 512)]


# --- errors ---------------------------------------------------------------------------------


def test_unknown_op_is_a_value_error_naming_op() -> None:
    with pytest.raises(ValueError, match=r"^op must be one of conv2d, depthwise_conv2d"):
        build_trace("conv3d", seed_arguments())
    with pytest.raises(ValueError, match=r"^op must be"):
        plan_trace("conv3d", seed_arguments())


def test_missing_and_unknown_arguments_are_named() -> None:
    arguments = seed_arguments()
    del arguments["strides"]
    with pytest.raises(ValueError, match=r"^strides is required by depthwise_conv2d"):
        build_trace("depthwise_conv2d", arguments)
    with pytest.raises(ValueError, match=r"^filters is not an argument of depthwise_conv2d"):
        plan_trace("depthwise_conv2d", {**seed_arguments(), "filters": np.ones((3, 3, 2, 2))})


@pytest.mark.parametrize("batch_index", [1, -1, 1.0, True, "0", None])
def test_bad_batch_index_is_a_value_error_naming_it(batch_index) -> None:
    with pytest.raises(ValueError, match=r"^batch_index must be"):
        build_trace("depthwise_conv2d", seed_arguments(), batch_index=batch_index)


@pytest.mark.parametrize("chunk_size", [0, -3, 2.5, True, None])
def test_bad_chunk_size_raises_before_iterating(chunk_size) -> None:
    trace = build_trace("depthwise_conv2d", seed_arguments())
    with pytest.raises(ValueError, match=r"^chunk_size must be a positive integer"):
        trace.chunks(chunk_size)


@pytest.mark.parametrize(
    ("op", "arguments", "message"),
    [
        (
            "depthwise_conv2d",
            {**seed_arguments(), "filter": np.ones((3, 3, 3, 2))},
            "filter has in_channels=3 but input has 2 channels",
        ),
        (
            "separable_conv2d",
            {**separable_arguments(), "pointwise_filter": np.ones((1, 1, 8, 4))},
            "pointwise_filter has in_channels=8 but the depthwise stage gives 3 channels x "
            "channel_multiplier 3 = 9",
        ),
        (
            "depthwise_conv2d",
            {**seed_arguments(), "strides": 2, "dilations": 2},
            "dilations: depthwise_conv2d does not allow dilations > 1 together with strides > 1",
        ),
        (
            "torch_conv2d",
            {"input": np.ones((1, 2, 4, 4)), "weight": np.ones((3, 2, 3, 3)), "bias": [1.0, 2.0]},
            "bias has 2 values but weight has out_channels=3",
        ),
        (
            "depthwise_conv2d",
            {**seed_arguments(), "input": [[[[1.0, 2.0]], [[3.0]]]]},
            "input must be a rectangular array of numbers",
        ),
    ],
)
def test_plan_errors_propagate_with_their_message(op, arguments, message) -> None:
    for call in (lambda: plan_trace(op, arguments), lambda: build_trace(op, arguments)):
        with pytest.raises(ValueError) as error:
            call()
        assert str(error.value).startswith(message)


def test_value_errors_found_only_in_the_values_come_from_build_trace() -> None:
    arguments = seed_arguments()
    arguments["input"][0, 1, 1, 1] = np.nan

    plan_trace("depthwise_conv2d", arguments)  # shapes are fine
    with pytest.raises(ValueError, match=r"^input must contain only finite numbers"):
        build_trace("depthwise_conv2d", arguments)
