"""Parameters and multiply-adds of a configuration, from shapes alone.

With input ``C`` channels, ``O`` outputs, a ``kh x kw`` kernel, channel
multiplier ``M``, ``g`` groups, an output of ``Ho x Wo`` and a batch of ``N``
(one multiply-add, MAC, per weight per output position):

=========  ====================  ==========  ==================================
layer      weights               biases      MACs
=========  ====================  ==========  ==================================
standard   ``kh*kw*C*O``         ``O``       ``N*Ho*Wo * kh*kw*C*O``
grouped    ``kh*kw*(C/g)*O``     ``O``       ``N*Ho*Wo * kh*kw*(C/g)*O``
depthwise  ``kh*kw*C*M``         ``C*M``     ``N*Ho*Wo * kh*kw*C*M``
pointwise  ``C*M*O``             ``O``       ``N*Ho*Wo * C*M*O``
separable  depthwise + pointwise ``O``       depthwise + pointwise
=========  ====================  ==========  ==================================

Separable has one bias of ``O``, after the pointwise stage, as Keras
``SeparableConv2D`` does. For ``M = 1`` the separable/standard ratio of weights
and of MACs is ``1/O + 1/(kh*kw)``: the saving the teaching views quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.engine.arguments import _is_int, positive_int, torch_pair
from app.engine.geometry import resolve_padding

# Charts sweep at most this many values of one parameter.
MAX_SWEEP_VALUES = 256

# conv_costs arguments a chart may sweep.
SWEEPABLE_PARAMETERS = (
    "in_channels", "out_channels", "kernel_hw", "channel_multiplier", "input_hw",
)

_CONV_COSTS_ARGUMENTS = (
    "input_hw", "in_channels", "out_channels", "kernel_hw", "channel_multiplier", "groups",
    "strides", "padding", "dilations", "batch",
)
_REQUIRED_ARGUMENTS = ("input_hw", "in_channels", "out_channels", "kernel_hw")


@dataclass(frozen=True)
class LayerCost:
    """Size and work of one layer: weights, biases and multiply-adds (MACs)."""

    weights: int
    biases: int
    macs: int

    @property
    def params_without_bias(self) -> int:
        return self.weights

    @property
    def params_with_bias(self) -> int:
        return self.weights + self.biases

    def __add__(self, other: LayerCost) -> LayerCost:
        return LayerCost(
            self.weights + other.weights, self.biases + other.biases, self.macs + other.macs
        )

    def as_dict(self) -> dict[str, int]:
        return {
            **vars(self),  # the fields: weights, biases, macs
            "params_without_bias": self.params_without_bias,
            "params_with_bias": self.params_with_bias,
        }


@dataclass(frozen=True)
class ConvCosts:
    """Costs of one configuration as a standard, grouped, depthwise and separable layer.

    ``separable_to_standard_params`` compares weights (biases excluded) and
    ``separable_to_standard_macs`` multiply-adds; both equal
    ``1/O + 1/(kh*kw)`` when ``channel_multiplier`` is 1.
    """

    input_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    in_channels: int
    out_channels: int
    channel_multiplier: int
    groups: int
    batch: int
    output_hw: tuple[int, int]
    standard: LayerCost
    grouped: LayerCost
    depthwise: LayerCost
    pointwise: LayerCost
    separable: LayerCost
    separable_to_standard_params: float
    separable_to_standard_macs: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: plain ints, floats and lists."""
        return {
            "input_hw": list(self.input_hw),
            "kernel_hw": list(self.kernel_hw),
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "channel_multiplier": self.channel_multiplier,
            "groups": self.groups,
            "batch": self.batch,
            "output_hw": list(self.output_hw),
            "standard": self.standard.as_dict(),
            "grouped": self.grouped.as_dict(),
            "depthwise": self.depthwise.as_dict(),
            "pointwise": self.pointwise.as_dict(),
            "separable": self.separable.as_dict(),
            "separable_to_standard_params": self.separable_to_standard_params,
            "separable_to_standard_macs": self.separable_to_standard_macs,
        }


def _check_groups_divide(groups: int, in_channels: int, out_channels: int, out_name: str) -> None:
    """``out_name`` is the caller's name for the outputs: ``out_channels``, or Keras's
    ``filters``."""
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both in_channels={in_channels} and "
            f"{out_name}={out_channels}"
        )


def _padding(padding: Any) -> str | tuple[tuple[int, int], tuple[int, int]]:
    """``"SAME"``/``"VALID"`` (any case) or ``((top, bottom), (left, right))``."""
    rule = "padding must be 'SAME', 'VALID' or ((top, bottom), (left, right))"
    if isinstance(padding, str):
        if padding.upper() in ("SAME", "VALID"):
            return padding.upper()
        raise ValueError(f"{rule}, got {padding!r}")
    try:
        rows = [list(row) for row in padding]
    except TypeError:  # not a sequence of sequences: the shape test below refuses it
        rows = []
    if len(rows) != 2 or any(len(row) != 2 for row in rows):
        raise ValueError(f"{rule}, got {padding!r}")
    values = [value for row in rows for value in row]
    if not all(_is_int(value) for value in values):
        raise ValueError(f"padding must contain only integers, got {padding!r}")
    if min(values) < 0:
        raise ValueError(f"padding must not be negative, got {padding!r}")
    (top, bottom), (left, right) = rows
    return ((int(top), int(bottom)), (int(left), int(right)))


# The rows of the module docstring's table, each once; the Keras costs below use them too.


def _per_output_position(weights: int, biases: int, output_positions: int) -> LayerCost:
    """One multiply-add per weight per output position."""
    return LayerCost(weights, biases, weights * output_positions)


def _grouped_cost(
    kernel_positions: int, in_channels: int, out_channels: int, groups: int,
    output_positions: int,
) -> LayerCost:
    """``kh*kw*(C/g)*O`` weights, ``O`` biases; standard is ``g = 1``."""
    weights = kernel_positions * (in_channels // groups) * out_channels
    return _per_output_position(weights, out_channels, output_positions)


def _depthwise_cost(
    kernel_positions: int, in_channels: int, channel_multiplier: int, output_positions: int
) -> LayerCost:
    """``kh*kw*C*M`` weights, ``C*M`` biases (one per output channel)."""
    depth = in_channels * channel_multiplier
    return _per_output_position(kernel_positions * depth, depth, output_positions)


def _pointwise_cost(depth: int, out_channels: int, output_positions: int) -> LayerCost:
    """``C*M*O`` weights (``depth = C*M``), ``O`` biases."""
    return _per_output_position(depth * out_channels, out_channels, output_positions)


def _separable_cost(depthwise: LayerCost, pointwise: LayerCost) -> LayerCost:
    """Both kernels and both stages' MACs, and one bias after the pointwise stage (Keras
    SeparableConv2D), none on the depthwise."""
    return LayerCost(
        depthwise.weights + pointwise.weights, pointwise.biases, depthwise.macs + pointwise.macs
    )


def _layer_costs(
    kernel_positions: int,
    in_channels: int,
    out_channels: int,
    channel_multiplier: int,
    groups: int,
    output_positions: int,
) -> dict[str, LayerCost]:
    """The table in the module docstring; ``output_positions`` is ``N*Ho*Wo``."""
    k, c, o, m = kernel_positions, in_channels, out_channels, channel_multiplier
    depthwise = _depthwise_cost(k, c, m, output_positions)
    pointwise = _pointwise_cost(c * m, o, output_positions)
    return {
        "standard": _grouped_cost(k, c, o, 1, output_positions),
        "grouped": _grouped_cost(k, c, o, groups, output_positions),
        "depthwise": depthwise,
        "pointwise": pointwise,
        "separable": _separable_cost(depthwise, pointwise),
    }


def conv_costs(
    input_hw: int | Sequence[int],
    in_channels: int,
    out_channels: int,
    kernel_hw: int | Sequence[int],
    channel_multiplier: int = 1,
    groups: int = 1,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[Sequence[int]] = "SAME",
    dilations: int | Sequence[int] = 1,
    batch: int = 1,
) -> ConvCosts:
    """Weights, biases and MACs of a configuration (see the module docstring's table).

    input_hw, kernel_hw, strides, dilations : int (square) or pair ``(height, width)``
    padding : ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))``
    groups : must divide ``in_channels`` and ``out_channels`` (only the grouped row uses it)

    Raises ``ValueError`` naming the argument: sizes must be positive integers
    and a VALID (or explicitly padded) window must fit in the input.
    """
    input_pair = torch_pair(input_hw, "input_hw", 1)
    kernel_pair = torch_pair(kernel_hw, "kernel_hw", 1)
    stride_pair = torch_pair(strides, "strides", 1)
    dilation_pair = torch_pair(dilations, "dilations", 1)
    channels = positive_int(in_channels, "in_channels")
    outputs = positive_int(out_channels, "out_channels")
    multiplier = positive_int(channel_multiplier, "channel_multiplier")
    group_count = positive_int(groups, "groups")
    batch_size = positive_int(batch, "batch")
    _check_groups_divide(group_count, channels, outputs, "out_channels")
    pads = resolve_padding(input_pair, kernel_pair, stride_pair, dilation_pair, _padding(padding))
    output_hw = pads.output_shape
    kernel_positions = kernel_pair[0] * kernel_pair[1]
    layers = _layer_costs(
        kernel_positions, channels, outputs, multiplier, group_count,
        batch_size * output_hw[0] * output_hw[1],
    )
    # Ratios from a single output position, so they exist even for an empty output.
    per_position = _layer_costs(kernel_positions, channels, outputs, multiplier, group_count, 1)
    return ConvCosts(
        input_hw=input_pair,
        kernel_hw=kernel_pair,
        in_channels=channels,
        out_channels=outputs,
        channel_multiplier=multiplier,
        groups=group_count,
        batch=batch_size,
        output_hw=output_hw,
        separable_to_standard_params=layers["separable"].weights / layers["standard"].weights,
        separable_to_standard_macs=per_position["separable"].macs / per_position["standard"].macs,
        **layers,
    )


def cost_sweep(parameter: str, values: Sequence[Any], **base: Any) -> list[ConvCosts]:
    """``conv_costs`` for each value of one parameter, the others fixed: one chart series.

    parameter : one of ``SWEEPABLE_PARAMETERS`` (``kernel_hw`` and ``input_hw``
        values may be ints, meaning square, or pairs)
    values : 1 to ``MAX_SWEEP_VALUES`` values
    base : the other ``conv_costs`` arguments; must not contain ``parameter``
    Returns one ``ConvCosts`` per value, in order.
    """
    if parameter not in SWEEPABLE_PARAMETERS:
        raise ValueError(
            f"parameter must be one of {', '.join(SWEEPABLE_PARAMETERS)}, got {parameter!r}"
        )
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"values must be a list of values for {parameter}, got {values!r}")
    if not 1 <= len(values) <= MAX_SWEEP_VALUES:
        raise ValueError(
            f"values must have 1 to {MAX_SWEEP_VALUES} entries, got {len(values)}"
        )
    unknown = sorted(set(base) - set(_CONV_COSTS_ARGUMENTS))
    if unknown:
        raise ValueError(f"{unknown[0]} is not an argument of conv_costs")
    if parameter in base:
        raise ValueError(f"{parameter} is the swept parameter, so it must not also be fixed")
    missing = [name for name in _REQUIRED_ARGUMENTS if name != parameter and name not in base]
    if missing:
        raise ValueError(f"{missing[0]} is required (the fixed arguments of the sweep)")
    return [conv_costs(**base, **{parameter: value}) for value in values]


# ------------------------------------------------------------------ Keras layers
#
# The parameter counts Keras's ``layer.count_params()`` reports, and the multiply-adds, of
# one Keras layer, with Keras's argument names and defaults (``padding="valid"``,
# ``use_bias=True``). ``weights`` are the kernels, ``biases`` the bias vector the layer has
# (0 with ``use_bias=False``), so ``params_with_bias`` equals ``count_params()``.
#
# SeparableConv2D has ONE bias, of ``filters`` values, added after the pointwise step
# (then the activation): a DepthwiseConv2D followed by a 1x1 Conv2D has two (``C*M`` +
# ``filters``), so it reports ``C*M`` more parameters for the same two kernels.


# Keras's kernel_size, strides and dilation_rate: an int (square) or a pair (height, width).
IntOrPair = int | Sequence[int]


def _keras_window(
    input_hw: IntOrPair, kernel_size: IntOrPair, strides: IntOrPair, padding: str,
    dilation_rate: IntOrPair, batch: int,
) -> tuple[int, int]:
    """``(kh*kw, N*Ho*Wo)`` with Keras's "valid"/"same" (any case)."""
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same' (Keras), got {padding!r}")
    input_pair = torch_pair(input_hw, "input_hw", 1)
    kh, kw = kernel_pair = torch_pair(kernel_size, "kernel_size", 1)
    pads = resolve_padding(
        input_pair, kernel_pair, torch_pair(strides, "strides", 1),
        torch_pair(dilation_rate, "dilation_rate", 1), padding.upper(),
    )
    height, width = pads.output_shape
    return kh * kw, positive_int(batch, "batch") * height * width


def _keras_bias(cost: LayerCost, use_bias: Any) -> LayerCost:
    """The layer's cost, with no biases under ``use_bias=False``."""
    if not isinstance(use_bias, bool):
        raise ValueError(f"use_bias must be true or false, got {use_bias!r}")
    return cost if use_bias else replace(cost, biases=0)


def keras_conv2d_cost(
    input_hw: IntOrPair, in_channels: int, filters: int, kernel_size: IntOrPair,
    strides: IntOrPair = 1, padding: str = "valid", dilation_rate: IntOrPair = 1,
    groups: int = 1, use_bias: bool = True, batch: int = 1,
) -> LayerCost:
    """``keras.layers.Conv2D(filters, kernel_size, ..., groups, use_bias)`` on ``C`` channels.

    weights ``kh*kw*(C/groups)*filters``; biases ``filters`` (0 without bias);
    MACs ``N*Ho*Wo * weights``: the table's grouped row.
    """
    kernel_positions, output_positions = _keras_window(
        input_hw, kernel_size, strides, padding, dilation_rate, batch
    )
    channels = positive_int(in_channels, "in_channels")
    outputs = positive_int(filters, "filters")
    group_count = positive_int(groups, "groups")
    _check_groups_divide(group_count, channels, outputs, "filters")
    cost = _grouped_cost(kernel_positions, channels, outputs, group_count, output_positions)
    return _keras_bias(cost, use_bias)


def keras_depthwise_conv2d_cost(
    input_hw: IntOrPair, in_channels: int, kernel_size: IntOrPair, strides: IntOrPair = 1,
    padding: str = "valid", depth_multiplier: int = 1, dilation_rate: IntOrPair = 1,
    use_bias: bool = True, batch: int = 1,
) -> LayerCost:
    """``keras.layers.DepthwiseConv2D(kernel_size, ..., depth_multiplier, use_bias)``.

    weights ``kh*kw*C*M``; biases ``C*M`` (one per output channel; 0 without bias);
    MACs ``N*Ho*Wo * weights``: the table's depthwise row.
    """
    kernel_positions, output_positions = _keras_window(
        input_hw, kernel_size, strides, padding, dilation_rate, batch
    )
    channels = positive_int(in_channels, "in_channels")
    multiplier = positive_int(depth_multiplier, "depth_multiplier")
    return _keras_bias(
        _depthwise_cost(kernel_positions, channels, multiplier, output_positions), use_bias
    )


def keras_separable_conv2d_cost(
    input_hw: IntOrPair, in_channels: int, filters: int, kernel_size: IntOrPair,
    strides: IntOrPair = 1, padding: str = "valid", dilation_rate: IntOrPair = 1,
    depth_multiplier: int = 1, use_bias: bool = True, batch: int = 1,
) -> LayerCost:
    """``keras.layers.SeparableConv2D(filters, kernel_size, ..., depth_multiplier, use_bias)``.

    weights ``kh*kw*C*M`` (depthwise kernel) ``+ C*M*filters`` (pointwise kernel);
    biases ``filters``: ONE bias, after the pointwise step (0 without bias);
    MACs ``N*Ho*Wo * weights`` (both steps run at the output resolution): the table's
    separable row.
    """
    kernel_positions, output_positions = _keras_window(
        input_hw, kernel_size, strides, padding, dilation_rate, batch
    )
    channels = positive_int(in_channels, "in_channels")
    multiplier = positive_int(depth_multiplier, "depth_multiplier")
    outputs = positive_int(filters, "filters")
    depthwise = _depthwise_cost(kernel_positions, channels, multiplier, output_positions)
    pointwise = _pointwise_cost(channels * multiplier, outputs, output_positions)
    return _keras_bias(_separable_cost(depthwise, pointwise), use_bias)
