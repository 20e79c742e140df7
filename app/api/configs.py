"""One op request made ready for the engine: shapes read, limits and plan checked,
arrays loaded. The op endpoints, the code export and the trace share it.

Order matters: shapes (no allocation) -> per-array limits (413) -> the engine's
shape-only plan (422) -> limits of what the engine will allocate (413) -> only
then are the arrays converted (422 for non-finite values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app import engine
from app.api import limits
from app.api.arrays import ArraySource, source
from app.api.errors import configuration_error
from app.api.schemas import ARRAY_FIELDS, OP_MODELS, OpOptions
from app.settings import Settings

# The engine function each endpoint mirrors.
OPS = {
    "conv2d": engine.conv2d,
    "depthwise_conv2d": engine.depthwise_conv2d,
    "separable_conv2d": engine.separable_conv2d,
    "torch_conv2d": engine.torch_conv2d,
}
# The mirrored function's non-array arguments.
SCALAR_FIELDS = {
    "conv2d": ("strides", "padding", "data_format", "dilations"),
    "depthwise_conv2d": ("strides", "padding", "data_format", "dilations"),
    "separable_conv2d": ("strides", "padding", "data_format", "dilations"),
    "torch_conv2d": ("stride", "padding", "dilation", "groups"),
}
# The filter whose kernel and output channels the spatial stage has.
FILTER_FIELD = {
    "conv2d": "filters",
    "depthwise_conv2d": "filter",
    "separable_conv2d": "depthwise_filter",
    "torch_conv2d": "weight",
}
# Names an engine message may be about, per op.
KNOWN_FIELDS = {op: ARRAY_FIELDS[op] + SCALAR_FIELDS[op] for op in OPS}


@dataclass(frozen=True)
class Prepared:
    """A checked configuration: ``arguments`` are the engine op's keyword arguments."""

    op: str
    plan: engine.ConvPlan
    arguments: dict[str, Any]
    dtype: str


def op_fields(request: OpOptions) -> dict[str, Any]:
    """The mirrored function's arguments of a request (arrays still unread)."""
    op = op_of(request)
    return {name: getattr(request, name) for name in ARRAY_FIELDS[op] + SCALAR_FIELDS[op]}


def op_of(request: OpOptions) -> str:
    explicit = getattr(request, "op", None)
    if isinstance(explicit, str):
        return explicit
    for op, model in OP_MODELS.items():
        if isinstance(request, model):
            return op
    raise TypeError(f"not an op request: {type(request).__name__}")


def _plan(op: str, shapes: dict[str, tuple[int, ...]], scalars: dict[str, Any]
          ) -> engine.ConvPlan:
    if op == "conv2d":
        return engine.plan_conv2d(shapes["input"], shapes["filters"], **scalars)
    if op == "depthwise_conv2d":
        return engine.plan_depthwise_conv2d(shapes["input"], shapes["filter"], **scalars)
    if op == "separable_conv2d":
        return engine.plan_separable_conv2d(
            shapes["input"], shapes["depthwise_filter"], shapes["pointwise_filter"], **scalars
        )
    plan = engine.plan_torch_conv2d(shapes["input"], shapes["weight"], **scalars)
    bias = shapes.get("bias")
    if bias is not None:
        engine.check_bias_shape(plan, bias)
    return plan


def prepare(request: OpOptions, settings: Settings) -> Prepared:
    """Check a request against the limits and the engine's rules, then load its arrays."""
    op = op_of(request)
    ndims = {"bias": (1,), "input": (4, 3) if op == "torch_conv2d" else (4,)}
    sources: dict[str, ArraySource] = {}
    for name in ARRAY_FIELDS[op]:
        value = getattr(request, name)
        if value is not None:
            sources[name] = source(value, name, ndims.get(name, (4,)))
    limits.check_sources(sources, settings)
    scalars = {name: getattr(request, name) for name in SCALAR_FIELDS[op]}
    try:
        plan = _plan(op, {name: array.shape for name, array in sources.items()}, scalars)
    except ValueError as error:
        raise configuration_error(error, KNOWN_FIELDS[op]) from None
    limits.check_plan(plan, FILTER_FIELD[op], settings)
    arrays: dict[str, Any] = {name: array.load(request.dtype) for name, array in sources.items()}
    if op == "torch_conv2d":
        arrays.setdefault("bias", None)
    return Prepared(op, plan, {**arrays, **scalars}, request.dtype)


def run(prepared: Prepared) -> tuple[np.ndarray, np.ndarray | None]:
    """``(output, depthwise_output)``; the second only for separable_conv2d."""
    try:
        with np.errstate(all="ignore"):
            if prepared.op == "separable_conv2d":
                depthwise_output, output = engine.separable_conv2d_stages(**prepared.arguments)
            else:
                depthwise_output, output = None, OPS[prepared.op](**prepared.arguments)
    except ValueError as error:  # also a result overflowing the dtype: "non_finite"
        raise configuration_error(error, KNOWN_FIELDS[prepared.op]) from None
    return output, depthwise_output


def costs(plan: engine.ConvPlan) -> dict[str, Any]:
    """``conv_costs`` of a plan, plus ``layer``: which row this op is."""
    pads = plan.padding
    depthwise = plan.op in ("depthwise_conv2d", "separable_conv2d")
    result = engine.conv_costs(
        input_hw=plan.input_hw,
        in_channels=plan.in_channels,
        out_channels=plan.out_channels,
        kernel_hw=plan.kernel_hw,
        channel_multiplier=plan.channel_multiplier if depthwise else 1,
        groups=1 if depthwise else plan.groups,
        strides=plan.strides,
        padding=((pads.pad_top, pads.pad_bottom), (pads.pad_left, pads.pad_right)),
        dilations=plan.dilations,
        batch=plan.batch,
    ).as_dict()
    if plan.op == "depthwise_conv2d":
        layer = "depthwise"
    elif plan.op == "separable_conv2d":
        layer = "separable"
    else:
        layer = "grouped" if plan.groups > 1 else "standard"
    return {"layer": layer, **result}
