"""Shape-only validation of a configuration: what each op checks before computing.

A plan is built from shapes and arguments alone, so the API can reject a bad
request before it allocates a single array, and the ops, costs and trace all
share the same checks and messages.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from app.engine.arguments import (
    SpatialPadding,
    data_format_of,
    positive_int,
    spatial_pair,
    tf_padding,
    torch_pair,
)
from app.engine.geometry import DataFormat, Padding2D, resolve_padding

OpName = Literal["conv2d", "depthwise_conv2d", "separable_conv2d", "torch_conv2d"]

# Plans cached by their arguments: a teaching-size call spends ~7 us re-validating the same
# shapes (a class sends the same configuration again and again). Only arguments made of
# str/int/float/bool/None and lists or tuples of them are cached, keyed with their types (True
# and 1 are different arguments); anything else is planned afresh. A bad argument raises every
# time (exceptions are not cached).
_PLAN_CACHE_SIZE = 512
_PLAIN = (str, int, float, bool, type(None), np.integer, np.floating)
_PLAIN_TYPES = frozenset(_PLAIN[:5])  # the exact types, found without isinstance's walk
_KEYWORDS = object()  # parts a key after it from the positional ones; no argument equals it


def _plan_key(value: Any) -> Any:
    """``value`` with the type of each part (raises TypeError for anything not plain)."""
    kind = type(value)
    if kind in _PLAIN_TYPES or isinstance(value, _PLAIN):
        return kind, value
    if (kind is tuple or kind is list) and all(type(item) is int for item in value):
        # A shape or a strides list: exact ints need no type tags (and hold no pairs).
        return value if kind is tuple else (list, tuple(value))
    if isinstance(value, list | tuple):
        return kind, tuple([_plan_key(item) for item in value])
    raise TypeError("not a plain argument")


def _cached_plan(planner: Any) -> Any:
    cache: dict[Any, ConvPlan] = {}

    @functools.wraps(planner)
    def plan(*args: Any, **kwargs: Any) -> ConvPlan:
        try:
            key = tuple([_plan_key(item) for item in args])
            if kwargs:
                key += (_KEYWORDS, _plan_key(tuple(sorted(kwargs.items()))))
        except TypeError:
            return planner(*args, **kwargs)
        found = cache.get(key)
        if found is None:
            found = planner(*args, **kwargs)
            if len(cache) >= _PLAN_CACHE_SIZE:
                cache.clear()
            cache[key] = found
        return found

    plan.cache_clear = cache.clear  # type: ignore[attr-defined]
    return plan


@dataclass(frozen=True)
class ConvPlan:
    """A validated configuration, in NHWC terms whatever the caller's layout.

    The spatial stage is a grouped convolution: ``groups`` groups of
    ``group_in_channels`` input channels, ``spatial_out_channels`` outputs
    (``in_channels * channel_multiplier`` for depthwise). Separable adds a
    pointwise stage to ``out_channels``.
    """

    op: OpName
    data_format: DataFormat
    batch: int
    in_channels: int
    input_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    groups: int
    spatial_out_channels: int
    out_channels: int
    strides: tuple[int, int]
    dilations: tuple[int, int]
    padding: Padding2D

    @property
    def group_in_channels(self) -> int:
        return self.in_channels // self.groups

    @property
    def channel_multiplier(self) -> int:
        """Outputs per input channel of a depthwise stage (``spatial_out/C``)."""
        return self.spatial_out_channels // self.in_channels

    @property
    def is_depthwise(self) -> bool:
        return self.groups == self.in_channels and self.group_in_channels == 1

    @property
    def output_hw(self) -> tuple[int, int]:
        return self.padding.output_shape

    def layout(self, height: int, width: int, channels: int) -> tuple[int, int, int, int]:
        """A 4-D shape in this plan's data format."""
        if self.data_format == "NHWC":
            return (self.batch, height, width, channels)
        return (self.batch, channels, height, width)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return self.layout(*self.output_hw, self.out_channels)

    @property
    def depthwise_output_shape(self) -> tuple[int, int, int, int]:
        """Shape of the spatial stage's output (the depthwise output for separable)."""
        return self.layout(*self.output_hw, self.spatial_out_channels)


def _shape(value: Sequence[int], name: str, ndim: int) -> tuple[int, ...]:
    shape = tuple(int(size) for size in value)
    if len(shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {list(shape)}")
    if any(size < 0 for size in shape):
        raise ValueError(f"{name} has a negative dimension: {list(shape)}")
    return shape


def _split_input(shape: tuple[int, ...], data_format: DataFormat) -> tuple[int, int, int, int]:
    """(N, H, W, C) from an input shape in ``data_format``."""
    if data_format == "NHWC":
        n, h, w, c = shape
    else:
        n, c, h, w = shape
    return n, h, w, c


def _kernel_hw(height: int, width: int, name: str) -> tuple[int, int]:
    if height < 1 or width < 1:
        raise ValueError(f"{name} must have a kernel of at least 1x1, got {height}x{width}")
    return (height, width)


def _check_dilation_with_stride(
    strides: tuple[int, int], dilations: tuple[int, int], op: str, filter_name: str
) -> None:
    if max(strides) > 1 and max(dilations) > 1:
        then = " then the pointwise conv2d" if op == "separable_conv2d" else ""
        raise ValueError(
            f"dilations: {op} does not allow dilations > 1 together with strides > 1 "
            f"(strides={list(strides)}, dilations={list(dilations)}); TF documents this rule "
            "but only warns, then applies the stride on the dilated sub-grids, which is not a "
            "dilated strided convolution (fewer, different outputs). For that, use conv2d with "
            f"the {filter_name} reshaped to [kh, kw, 1, C*M] (groups = C, output channel "
            f"q*M + r){then}"
        )


def _depthwise_dilations(value: Any, layout: DataFormat) -> tuple[int, int]:
    """TF's depthwise ``dilations`` (its ``rate``), refusing the one form TF reads oddly.

    TF passes the list to ``with_space_to_batch``, which dilates as many spatial axes
    as it has entries: a 1-element list dilates the height only (``[2]`` is ``[2, 1]``),
    unlike conv2d's. ConvLens refuses it rather than guess either meaning.
    """
    items = value.tolist() if isinstance(value, np.ndarray) else value
    if isinstance(items, Sequence) and not isinstance(items, str) and len(items) == 1:
        rate = items[0]
        raise ValueError(
            f"dilations: TF's depthwise and separable convolutions read a 1-element list as "
            f"the height's rate only (dilations=[{rate}] dilates the height by {rate} and the "
            f"width by 1); write [{rate}, 1] for that, or [{rate}, {rate}] for both axes"
        )
    return spatial_pair(value, "dilations", layout)


def _resolve(
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    padding: SpatialPadding,
) -> Padding2D:
    return resolve_padding(input_hw, kernel_hw, strides, dilations, padding)


@_cached_plan
def plan_conv2d(input_shape: Sequence[int], filters_shape: Sequence[int], strides: Any,
                padding: Any, data_format: str | None = "NHWC",
                dilations: Any = None) -> ConvPlan:
    """``tf.nn.conv2d``: filters ``[kh, kw, C/groups, O]``."""
    layout = data_format_of(data_format)
    n, h, w, c = _split_input(_shape(input_shape, "input", 4), layout)
    kh, kw, group_in, out = _shape(filters_shape, "filters", 4)
    kernel = _kernel_hw(kh, kw, "filters")
    if group_in < 1 or c < group_in or c % group_in:  # c == 0 would make 0 groups
        raise ValueError(
            f"filters has in_channels={group_in} but input has {c} channels; the input depth "
            "must be a multiple of the filter's in-depth (equal for a standard convolution)"
        )
    groups = c // group_in
    if out < 1 or out % groups:
        raise ValueError(
            f"filters has out_channels={out}, which must be a positive multiple of the "
            f"number of groups ({groups} = {c} input channels / {group_in} per group)"
        )
    stride_pair = spatial_pair(strides, "strides", layout)
    dilation_pair = spatial_pair(dilations, "dilations", layout)
    pads = _resolve((h, w), kernel, stride_pair, dilation_pair, tf_padding(padding, layout))
    return ConvPlan(
        "conv2d", layout, n, c, (h, w), kernel, groups, out, out,
        stride_pair, dilation_pair, pads,
    )


def _depthwise_plan(op: OpName, filter_name: str, input_shape: Sequence[int],
                    filter_shape: Sequence[int], window: tuple[Any, Any, Any, Any]) -> ConvPlan:
    """The depthwise stage of ``op``; ``window`` is TF's (strides, padding, data_format,
    dilations). Its ``out_channels`` is ``C*M``, the depthwise output's."""
    strides, padding, data_format, dilations = window
    layout = data_format_of(data_format)
    n, h, w, c = _split_input(_shape(input_shape, "input", 4), layout)
    kh, kw, filter_in, multiplier = _shape(filter_shape, filter_name, 4)
    kernel = _kernel_hw(kh, kw, filter_name)
    if filter_in != c:
        raise ValueError(f"{filter_name} has in_channels={filter_in} but input has {c} channels")
    if multiplier < 1:
        raise ValueError(f"{filter_name} must have a channel_multiplier of at least 1")
    stride_pair = spatial_pair(strides, "strides", layout)
    dilation_pair = _depthwise_dilations(dilations, layout)
    _check_dilation_with_stride(stride_pair, dilation_pair, op, filter_name)
    pads = _resolve((h, w), kernel, stride_pair, dilation_pair, tf_padding(padding, layout))
    return ConvPlan(
        op, layout, n, c, (h, w), kernel, c, c * multiplier, c * multiplier,
        stride_pair, dilation_pair, pads,
    )


# The planners' signatures are the ops' (shapes in place of arrays), TF's own order.
@_cached_plan
def plan_depthwise_conv2d(input_shape: Sequence[int], filter_shape: Sequence[int], strides: Any,
                          padding: Any, data_format: str | None = None,
                          dilations: Any = None) -> ConvPlan:
    """``tf.nn.depthwise_conv2d``: filter ``[kh, kw, C, M]``."""
    return _depthwise_plan(
        "depthwise_conv2d", "filter", input_shape, filter_shape,
        (strides, padding, data_format, dilations),
    )


@_cached_plan
def plan_separable_conv2d(input_shape: Sequence[int], depthwise_filter_shape: Sequence[int],
                          pointwise_filter_shape: Sequence[int], strides: Any, padding: Any,
                          data_format: str | None = None, dilations: Any = None) -> ConvPlan:
    """``tf.nn.separable_conv2d``: depthwise ``[kh, kw, C, M]``, pointwise ``[1, 1, C*M, O]``."""
    depthwise = _depthwise_plan(
        "separable_conv2d", "depthwise_filter", input_shape, depthwise_filter_shape,
        (strides, padding, data_format, dilations),
    )
    c, multiplier = depthwise.in_channels, depthwise.channel_multiplier
    one_h, one_w, depth, out = _shape(pointwise_filter_shape, "pointwise_filter", 4)
    if (one_h, one_w) != (1, 1):
        raise ValueError(
            f"pointwise_filter must be [1, 1, C*M, O], got a {one_h}x{one_w} kernel"
        )
    if depth != c * multiplier:
        raise ValueError(
            f"pointwise_filter has in_channels={depth} but the depthwise stage gives "
            f"{c} channels x channel_multiplier {multiplier} = {c * multiplier}"
        )
    if out < 1:
        raise ValueError("pointwise_filter must have at least 1 output channel")
    return replace(depthwise, out_channels=out)


@_cached_plan
def plan_torch_conv2d(
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
) -> ConvPlan:
    """``torch.nn.functional.conv2d``: input ``[N, C, H, W]`` (or ``[C, H, W]``),
    weight ``[O, C/groups, kh, kw]``."""
    shape = tuple(int(size) for size in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    n, h, w, c = _split_input(_shape(shape, "input", 4), "NCHW")
    out, group_in, kh, kw = _shape(weight_shape, "weight", 4)
    kernel = _kernel_hw(kh, kw, "weight")
    groups = positive_int(groups, "groups")
    if c % groups:
        raise ValueError(f"groups={groups} must divide the input's {c} channels")
    if out % groups or out < 1:
        raise ValueError(f"groups={groups} must divide the weight's out_channels={out}")
    if group_in != c // groups:
        raise ValueError(
            f"weight has in_channels={group_in} but input has {c} channels / groups={groups} "
            f"= {c // groups} per group"
        )
    stride_pair = torch_pair(stride, "stride", 1)
    dilation_pair = torch_pair(dilation, "dilation", 1)
    spatial: SpatialPadding
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid', an int or a pair, got {padding!r}")
        if mode == "same" and stride_pair != (1, 1):
            raise ValueError(
                "padding='same' is not supported for strided convolutions (stride > 1)"
            )
        spatial = mode.upper()
    else:
        pad_h, pad_w = torch_pair(padding, "padding", 0)
        spatial = ((pad_h, pad_h), (pad_w, pad_w))
    pads = _resolve((h, w), kernel, stride_pair, dilation_pair, spatial)
    if pads.output_height < 1 or pads.output_width < 1:
        raise ValueError(
            f"padding: the padded input ({h + pads.pad_top + pads.pad_bottom}x"
            f"{w + pads.pad_left + pads.pad_right}) is smaller than the dilated kernel; "
            "PyTorch refuses an empty output"
        )
    return ConvPlan(
        "torch_conv2d", "NCHW", n, c, (h, w), kernel, groups, out, out,
        stride_pair, dilation_pair, pads,
    )


def check_bias_shape(plan: ConvPlan, bias_shape: Sequence[int]) -> None:
    """PyTorch's ``bias``: one value per output channel, shape ``(O,)``."""
    if len(bias_shape) != 1:
        raise ValueError(f"bias must be 1-D, got shape {list(bias_shape)}")
    if bias_shape[0] != plan.out_channels:
        raise ValueError(
            f"bias has {bias_shape[0]} values but weight has out_channels={plan.out_channels}"
        )
