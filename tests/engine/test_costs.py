"""conv_costs and cost_sweep: counts worked out by hand, ratios, and the error messages."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import ConvCosts, LayerCost, conv_costs, cost_sweep


def test_design_golden_5x5x3_input_3x3_kernel_4_outputs() -> None:
    costs = conv_costs(input_hw=5, in_channels=3, out_channels=4, kernel_hw=3)

    assert costs.output_hw == (5, 5)
    assert costs.standard.weights == 4 * 3 * 3 * 3 == 108
    assert costs.depthwise.weights == 3 * 3 * 3 == 27
    assert costs.pointwise.weights == 1 * 1 * 3 * 4 == 12
    assert costs.separable.weights == 39
    assert costs.separable_to_standard_params == pytest.approx(39 / 108)


def test_golden_biases_and_macs() -> None:
    costs = conv_costs((5, 5), 3, 4, (3, 3), padding="SAME")

    assert costs.standard == LayerCost(weights=108, biases=4, macs=25 * 108)
    assert costs.grouped == costs.standard
    assert costs.depthwise == LayerCost(weights=27, biases=3, macs=25 * 27)
    assert costs.pointwise == LayerCost(weights=12, biases=4, macs=25 * 12)
    # Keras SeparableConv2D: one bias of O after the pointwise stage.
    assert costs.separable == LayerCost(weights=39, biases=4, macs=25 * 39)
    assert costs.standard.params_without_bias == 108
    assert costs.standard.params_with_bias == 112
    assert costs.separable.params_with_bias == 43
    assert costs.depthwise.params_with_bias == 30


def test_stride_2_same_with_batch() -> None:
    # 7x7 input, stride 2, SAME: ceil(7 / 2) = 4 per axis, 16 positions, batch 2.
    costs = conv_costs(7, 2, 8, 3, strides=2, padding="SAME", batch=2)

    assert costs.output_hw == (4, 4)
    positions = 2 * 4 * 4
    assert costs.standard == LayerCost(3 * 3 * 2 * 8, 8, positions * 144)
    assert costs.standard.macs == 4608
    assert costs.depthwise == LayerCost(18, 2, positions * 18)
    assert costs.pointwise == LayerCost(16, 8, positions * 16)
    assert costs.separable.macs == 1088
    # Batch scales MACs, never weights; the ratio ignores batch.
    single = conv_costs(7, 2, 8, 3, strides=2, padding="SAME", batch=1)
    assert single.standard.weights == costs.standard.weights
    assert single.standard.macs * 2 == costs.standard.macs
    assert single.separable_to_standard_macs == costs.separable_to_standard_macs


def test_valid_rectangular_kernel_with_multiplier_and_groups() -> None:
    # 6x8 input, 3x5 kernel, VALID: (6 - 3 + 1, 8 - 5 + 1) = (4, 4), 16 positions.
    costs = conv_costs(
        (6, 8), 4, 6, (3, 5), channel_multiplier=2, groups=2, padding="VALID"
    )

    assert costs.output_hw == (4, 4)
    assert costs.standard == LayerCost(15 * 4 * 6, 6, 16 * 360)
    assert costs.grouped == LayerCost(15 * 2 * 6, 6, 16 * 180)
    assert costs.depthwise == LayerCost(15 * 4 * 2, 4 * 2, 16 * 120)
    assert costs.pointwise == LayerCost(8 * 6, 6, 16 * 48)
    assert costs.separable == LayerCost(168, 6, 16 * 168)
    assert costs.separable.macs == 2688
    assert costs.standard.macs == 5760
    # M * (1/O + 1/(kh*kw)) = 2 * (1/6 + 1/15) = 14/30
    assert costs.separable_to_standard_macs == pytest.approx(14 / 30)
    assert costs.separable_to_standard_params == pytest.approx(168 / 360)


def test_dilation_and_explicit_padding_change_only_the_output_size() -> None:
    # eff = (3 - 1) * 2 + 1 = 5; VALID on 7 gives 3.
    dilated = conv_costs(7, 1, 1, 3, padding="VALID", dilations=2)
    assert dilated.output_hw == (3, 3)
    assert dilated.standard.macs == 9 * 9

    # Height 4 + 1 + 0 - 3 + 1 = 3, width 4 + 2 + 2 - 3 + 1 = 6.
    padded = conv_costs(4, 1, 2, 3, padding=((1, 0), (2, 2)))
    assert padded.output_hw == (3, 6)
    assert padded.standard.macs == 18 * 9 * 2


def test_empty_valid_output_has_zero_macs_but_a_ratio() -> None:
    # (4 - 5 + 2) // 2 = 0: an empty output, not an error.
    costs = conv_costs(4, 3, 4, 5, strides=2, padding="VALID")

    assert costs.output_hw == (0, 0)
    assert costs.standard.macs == 0
    assert costs.separable.macs == 0
    assert costs.standard.weights == 25 * 3 * 4
    assert costs.separable_to_standard_macs == pytest.approx(1 / 4 + 1 / 25)


@pytest.mark.parametrize(
    ("kernel", "outputs"), [(3, 4), (3, 32), (5, 64), (1, 8), ((3, 1), 16), ((7, 7), 256)]
)
def test_separable_ratio_is_one_over_o_plus_one_over_kernel_area(kernel, outputs) -> None:
    costs = conv_costs(16, 8, outputs, kernel)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel

    expected = 1 / outputs + 1 / (kh * kw)
    assert costs.separable_to_standard_macs == pytest.approx(expected, rel=1e-12)
    assert costs.separable_to_standard_params == pytest.approx(expected, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    channels=st.integers(1, 64),
    outputs=st.integers(1, 64),
    multiplier=st.integers(1, 4),
    stride=st.integers(1, 3),
)
def test_property_ratio_and_depthwise_is_grouped_with_groups_c(
    size, kernel, channels, outputs, multiplier, stride
) -> None:
    costs = conv_costs(size, channels, outputs, kernel, multiplier, strides=stride)
    kh, kw = kernel

    expected = multiplier * (1 / outputs + 1 / (kh * kw))
    assert costs.separable_to_standard_macs == pytest.approx(expected, rel=1e-12)
    assert costs.separable.weights == costs.depthwise.weights + costs.pointwise.weights
    assert costs.separable.macs == costs.depthwise.macs + costs.pointwise.macs
    # Depthwise is the grouped conv with groups = C and O = C*M (PyTorch's spelling).
    as_grouped = conv_costs(
        size, channels, channels * multiplier, kernel, groups=channels, strides=stride
    )
    assert as_grouped.grouped.weights == costs.depthwise.weights
    assert as_grouped.grouped.biases == costs.depthwise.biases
    assert as_grouped.grouped.macs == costs.depthwise.macs


def test_as_dict_is_json_ready() -> None:
    costs = conv_costs(5, 3, 4, 3)
    data = json.loads(json.dumps(costs.as_dict()))

    assert data["output_hw"] == [5, 5]
    assert data["standard"] == {
        "weights": 108, "biases": 4, "macs": 2700,
        "params_without_bias": 108, "params_with_bias": 112,
    }
    assert data["separable"]["params_without_bias"] == 39
    assert data["separable_to_standard_params"] == pytest.approx(39 / 108)
    assert set(data) >= {"standard", "grouped", "depthwise", "pointwise", "separable"}


def test_results_are_frozen() -> None:
    costs = conv_costs(5, 3, 4, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        costs.standard.weights = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        costs.output_hw = (1, 1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"in_channels": 0}, "in_channels must be a positive integer"),
        ({"in_channels": 2.5}, "in_channels must be a positive integer"),
        ({"out_channels": True}, "out_channels must be a positive integer"),
        ({"channel_multiplier": 0}, "channel_multiplier must be a positive integer"),
        ({"batch": -1}, "batch must be a positive integer"),
        ({"groups": 0}, "groups must be a positive integer"),
        ({"groups": 2}, "groups=2 must divide both in_channels=3 and out_channels=4"),
        ({"in_channels": 4, "out_channels": 6, "groups": 4}, "and out_channels=6"),
        ({"kernel_hw": (0, 3)}, "kernel_hw must be positive"),
        ({"input_hw": (5, 5, 5)}, "input_hw must be an int or a pair"),
        ({"strides": 0}, "strides must be positive"),
        ({"dilations": "2"}, "dilations must be an int or a pair"),
        ({"padding": "FULL"}, "padding must be 'SAME', 'VALID'"),
        ({"padding": ((1, 1),)}, "padding must be 'SAME', 'VALID' or ((top, bottom)"),
        ({"padding": ((1, -1), (0, 0))}, "padding must not be negative"),
        ({"padding": ((1, 1.5), (0, 0))}, "padding must contain only integers"),
        ({"padding": "VALID", "kernel_hw": 7}, "padding: the height window spans 7"),
        ({"padding": "valid", "kernel_hw": (3, 3), "dilations": (1, 3)},
         "padding: the width window spans 7"),
    ],
)
def test_bad_arguments_name_the_argument(arguments, message) -> None:
    config = {"input_hw": 5, "in_channels": 3, "out_channels": 4, "kernel_hw": 3} | arguments
    with pytest.raises(ValueError, match=re.escape(message)):
        conv_costs(**config)


def test_lower_case_padding_means_the_same() -> None:
    assert conv_costs(7, 2, 3, 3, padding="valid") == conv_costs(7, 2, 3, 3, padding="VALID")


def test_sweep_in_channels() -> None:
    series = cost_sweep("in_channels", [1, 2, 4, 8], input_hw=5, out_channels=4, kernel_hw=3)

    assert all(isinstance(point, ConvCosts) for point in series)
    assert [point.in_channels for point in series] == [1, 2, 4, 8]
    assert [point.standard.weights for point in series] == [36, 72, 144, 288]
    assert [point.separable.weights for point in series] == [13, 26, 52, 104]


def test_sweep_kernel_and_input_size_accept_ints_and_pairs() -> None:
    kernels = cost_sweep("kernel_hw", [1, 3, (5, 3)], input_hw=8, in_channels=2, out_channels=2)
    assert [point.kernel_hw for point in kernels] == [(1, 1), (3, 3), (5, 3)]
    assert [point.depthwise.weights for point in kernels] == [2, 18, 30]

    sizes = cost_sweep(
        "input_hw", [4, 8, (8, 16)], in_channels=1, out_channels=1, kernel_hw=3, strides=2
    )
    assert [point.output_hw for point in sizes] == [(2, 2), (4, 4), (4, 8)]
    assert [point.standard.macs for point in sizes] == [4 * 9, 16 * 9, 32 * 9]


def test_sweep_channel_multiplier_and_out_channels() -> None:
    multipliers = cost_sweep(
        "channel_multiplier", [1, 2, 3], input_hw=5, in_channels=3, out_channels=4, kernel_hw=3
    )
    assert [point.separable.weights for point in multipliers] == [39, 78, 117]
    outputs = cost_sweep("out_channels", [1, 4], input_hw=5, in_channels=3, kernel_hw=3)
    assert [point.standard.weights for point in outputs] == [27, 108]


@pytest.mark.parametrize(
    ("parameter", "values", "base", "message"),
    [
        ("groups", [1, 2], {}, "parameter must be one of in_channels, out_channels"),
        ("in_channels", list(range(1, 258)), {}, "values must have 1 to 256 entries, got 257"),
        ("in_channels", [], {}, "values must have 1 to 256 entries, got 0"),
        ("in_channels", 4, {}, "values must be a list of values for in_channels"),
        ("in_channels", [1], {"in_channels": 2}, "in_channels is the swept parameter"),
        ("in_channels", [1], {"kernel": 3}, "kernel is not an argument of conv_costs"),
        ("out_channels", [1], {"input_hw": None}, "input_hw is required"),
        ("in_channels", [1, 0], {}, "in_channels must be a positive integer, got 0"),
    ],
)
def test_sweep_rejects_bad_requests(parameter, values, base, message) -> None:
    config = {"input_hw": 5, "out_channels": 4, "kernel_hw": 3}
    config = {name: value for name, value in (config | base).items() if value is not None}
    if parameter in config and parameter not in base:
        del config[parameter]
    with pytest.raises(ValueError, match=message):
        cost_sweep(parameter, values, **config)


def test_sweep_accepts_exactly_256_values() -> None:
    series = cost_sweep("out_channels", list(range(1, 257)), input_hw=4, in_channels=1,
                        kernel_hw=1)
    assert len(series) == 256
    assert series[-1].pointwise.weights == 256
