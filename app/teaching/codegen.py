"""TF, Keras and PyTorch code that reproduces one configuration with its arrays.

Pure string building, no web imports. Each snippet is a complete script that runs as
printed in a fresh interpreter with only its library (and NumPy) installed, and leaves
the result in ``output`` in the layout the API answers with (the request's
``data_format`` for the TF ops, NCHW for PyTorch's conv2d). Where a library cannot
compute a configuration in the obvious form on CPU, the snippet uses the form that can,
and says why in a comment (all checked against the API by ``tests/api/test_snippets_run.py``):

- NCHW: TF's CPU kernels compute NHWC only (float64 always; float32 without oneDNN):
  ``tf.transpose`` to NHWC and back. Keras on CPU is channels_last: ``np.transpose``.
- unequal strides: TF's CPU depthwise kernel refuses them in float64, and TF 2.21's float32
  kernels (oneDNN) return wrong values for some (a batch > 1, one channel, one output
  column; conv2d too). TF and Keras: the op at stride 1 after the same pads, every s-th
  output kept (the definition of a stride). For an empty output (nothing to slice from),
  depthwise is TF's grouped ``tf.nn.conv2d`` (filter ``[kh, kw, 1, C*M]``, groups = C).
- explicit (and PyTorch) padding in Keras: ``np.pad`` in the input's dtype, then "valid"
  (``ZeroPadding2D`` has no dtype and rounds float64 to float32).
- Keras ``Conv2D`` refuses strides > 1 with dilation_rate > 1: the layer at stride 1 after
  the same explicit pads, every s-th output kept (the definition of a stride).
- an empty output (VALID, window larger than the input): TF float32 (oneDNN) returns a wrong
  shape, so TF computes it in float64; Keras and PyTorch refuse to build such a layer, so
  their snippets say so and hold the empty answer.

Layout conversions, all from the engine's resolved plan:

- TF filters ``[kh, kw, C/groups, O]`` -> PyTorch weight ``[O, C/groups, kh, kw]``
  (``permute(3, 2, 0, 1)``).
- TF depthwise filter ``[kh, kw, C, M]`` -> ``reshape(kh, kw, 1, C*M)`` (channel
  ``q*M + r``) -> weight ``[C*M, 1, kh, kw]`` with ``groups=C``.
- TF pointwise filter ``[1, 1, C*M, O]`` -> weight ``[O, C*M, 1, 1]``.
- TF padding -> ``F.pad`` with the per-side pads the engine resolved
  (``resolve_padding``): SAME with stride > 1 pads the odd cell bottom/right,
  which no symmetric PyTorch ``padding=`` can express.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from app.engine import ConvPlan, array_arguments
from app.engine.costs import (
    keras_conv2d_cost,
    keras_depthwise_conv2d_cost,
    keras_separable_conv2d_cost,
)

_TORCH_DTYPE = {"float32": "torch.float32", "float64": "torch.float64"}


def literal(array: np.ndarray) -> str:
    """A Python literal of the values: float64 exact, float32 by its shortest repr."""
    if array.dtype == np.float32:
        values = array.astype(str).astype(np.float64).tolist()
    else:
        values = array.tolist()
    return json.dumps(values)


def _pads(plan: ConvPlan) -> tuple[int, int, int, int]:
    """(top, bottom, left, right)."""
    pads = plan.padding
    return pads.pad_top, pads.pad_bottom, pads.pad_left, pads.pad_right


def _is_empty(plan: ConvPlan) -> bool:
    return 0 in plan.output_shape


def _api_shape(op: str, arguments: dict[str, Any], plan: ConvPlan) -> list[int]:
    """The output shape the API answers with (PyTorch's unbatched input drops the batch)."""
    shape = list(plan.output_shape)
    if op == "torch_conv2d" and np.ndim(arguments["input"]) == 3:
        return shape[1:]
    return shape


def _variable(name: str) -> str:
    # ``input`` and ``filter`` are Python builtins.
    return {"input": "x", "filter": "filter_"}.get(name, name)


def _arrays(arguments: dict[str, Any], op: str, library: str, dtype: str) -> list[str]:
    """One assignment per array argument; ``library`` is "tf", "np" or "torch"."""
    make = {"tf": "tf.constant", "np": "np.array", "torch": "torch.tensor"}[library]
    zeros = {"tf": "tf.zeros", "np": "np.zeros", "torch": "torch.zeros"}[library]
    dtype_text = {"tf": f"tf.{dtype}", "np": repr(dtype), "torch": _TORCH_DTYPE[dtype]}[library]
    lines = []
    for name in array_arguments(op):
        array = arguments.get(name)
        if array is None:
            lines.append(f"{_variable(name)} = None")
            continue
        array = np.asarray(array)
        shape = list(array.shape)
        if array.size == 0:  # a literal cannot carry the shape of an empty array
            lines.append(f"{_variable(name)} = {zeros}({shape}, dtype={dtype_text})")
        else:
            lines.append(
                f"{_variable(name)} = {make}({literal(array)}, dtype={dtype_text})  # shape {shape}"
            )
    return lines


def _opening(imports: tuple[str, ...], arguments: dict[str, Any], op: str, library: str,
             dtype: str) -> list[str]:
    """A snippet's first lines: its imports, a blank line, its arrays, a blank line."""
    return [*imports, "", *_arrays(arguments, op, library, dtype), ""]


def _finish(lines: list[str]) -> str:
    lines.append("print(output)")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- PyTorch

def pytorch(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> str:
    lines = _opening(("import torch", "import torch.nn.functional as F"),
                     arguments, op, "torch", dtype)
    stride, dilation = tuple(plan.strides), tuple(plan.dilations)
    if op == "torch_conv2d":
        padding = arguments["padding"]
        padding_text = repr(padding if isinstance(padding, str | int) else tuple(padding))
        lines.append(
            f"output = F.conv2d(x, weight, bias, stride={stride}, padding={padding_text}, "
            f"dilation={dilation}, groups={plan.groups})"
        )
        return _finish(lines)
    if _is_empty(plan):
        lines += [
            "# The window does not fit: TF's output is empty here (VALID truncates toward zero),",
            "# but F.conv2d refuses a kernel larger than its (padded) input. The answer is empty:",
            f"output = torch.zeros({_api_shape(op, arguments, plan)}, dtype={_TORCH_DTYPE[dtype]})",
        ]
        return _finish(lines)
    if plan.data_format == "NHWC":
        lines.append("x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW")
    top, bottom, left, right = _pads(plan)
    if any((top, bottom, left, right)):
        lines.append(
            f"x = F.pad(x, ({left}, {right}, {top}, {bottom}))  # TF padding, resolved per side "
            "(left, right, top, bottom)"
        )
    kh, kw = plan.kernel_hw
    geometry = f"stride={stride}, dilation={dilation}"
    if op == "conv2d":
        lines.append("weight = filters.permute(3, 2, 0, 1)  # [kh, kw, C/g, O] -> [O, C/g, kh, kw]")
        lines.append(f"output = F.conv2d(x, weight, {geometry}, groups={plan.groups})")
    else:
        depthwise_name = "filter_" if op == "depthwise_conv2d" else "depthwise_filter"
        channels, depth = plan.in_channels, plan.spatial_out_channels
        lines.append(
            f"depthwise_weight = {depthwise_name}.reshape({kh}, {kw}, 1, {depth})"
            ".permute(3, 2, 0, 1)  # [C*M, 1, kh, kw], channel q*M + r"
        )
        target = "output" if op == "depthwise_conv2d" else "depthwise"
        lines.append(
            f"{target} = F.conv2d(x, depthwise_weight, {geometry}, groups={channels})"
        )
        if op == "separable_conv2d":
            lines.append(
                "pointwise_weight = pointwise_filter.permute(3, 2, 0, 1)  # [O, C*M, 1, 1]"
            )
            lines.append("output = F.conv2d(depthwise, pointwise_weight)")
    if plan.data_format == "NHWC":
        lines.append("output = output.permute(0, 2, 3, 1)  # back to NHWC")
    return _finish(lines)


# --------------------------------------------------------------------- TF

def _tf_nhwc_padding(plan: ConvPlan, padding: Any) -> Any:
    """The request's padding mode, or the explicit 4x2 NHWC list of the resolved pads."""
    if isinstance(padding, str):
        return padding.upper()
    top, bottom, left, right = _pads(plan)
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def _tf_torch_conv2d(arguments: dict[str, Any], plan: ConvPlan, lines: list[str]) -> str:
    top, bottom, left, right = _pads(plan)
    (sh, sw) = plan.strides
    unbatched = np.ndim(arguments["input"]) == 3
    if unbatched:
        lines.append("x = x[None]  # unbatched -> a batch of one")
    pads = [[0, 0], [top, bottom], [left, right], [0, 0]]
    lines += [
        "x = tf.transpose(x, [0, 2, 3, 1])  # NCHW -> NHWC (TF's CPU kernels compute NHWC)",
        "filters = tf.transpose(weight, [2, 3, 1, 0])  # [O, C/g, kh, kw] -> [kh, kw, C/g, O]",
    ]
    if sh != sw:
        lines += [
            "# Unequal strides: TF's float32 CPU kernels (oneDNN) return wrong values for some;",
            "# a stride s keeps every s-th output of the stride-1 convolution.",
            f"output = tf.nn.conv2d(x, filters, strides=1, padding={pads}, "
            f"dilations={[1, *plan.dilations, 1]})[:, ::{sh}, ::{sw}, :]  # grouped when C/g < C",
        ]
    else:
        lines.append(
            f"output = tf.nn.conv2d(x, filters, strides={[1, sh, sw, 1]}, padding={pads}, "
            f"dilations={[1, *plan.dilations, 1]})  # grouped when C/g < C"
        )
    if arguments.get("bias") is not None:
        lines.append("output = tf.nn.bias_add(output, bias)")
    lines.append("output = tf.transpose(output, [0, 3, 1, 2])  # back to NCHW")
    if unbatched:
        lines.append("output = output[0]")
    return _finish(lines)


def _tf_grouped_depthwise(op: str, plan: ConvPlan, depthwise_name: str, padding: Any,
                          lines: list[str]) -> None:
    """Depthwise (and separable) as TF's grouped conv2d: its CPU depthwise kernel refuses
    unequal strides in float64, the grouped conv2d does not."""
    (sh, sw), (dh, dw), (kh, kw) = plan.strides, plan.dilations, plan.kernel_hw
    lines += [
        "# TF's depthwise kernel on CPU refuses unequal strides in float64: the same convolution",
        f"# is TF's grouped conv2d, filter [kh, kw, 1, C*M] (channel q*M + r), groups = C = "
        f"{plan.in_channels}.",
        f"grouped_filter = tf.reshape({depthwise_name}, "
        f"[{kh}, {kw}, 1, {plan.spatial_out_channels}])",
    ]
    target = "output" if op == "depthwise_conv2d" else "depthwise"
    lines.append(
        f"{target} = tf.nn.conv2d(x, grouped_filter, strides={[1, sh, sw, 1]}, "
        f"padding={padding!r}, dilations={[1, dh, dw, 1]})"
    )
    if op == "separable_conv2d":
        lines.append(
            "output = tf.nn.conv2d(depthwise, pointwise_filter, strides=1, padding='VALID')"
            "  # the 1x1 pointwise step"
        )


def _tf_call(op: str, plan: ConvPlan, strides: list[int], padding: Any) -> str:
    """``output = tf.nn.<op>(...)`` on NHWC ``x``."""
    dh, dw = plan.dilations
    if op == "conv2d":
        return (f"output = tf.nn.conv2d(x, filters, strides={strides}, padding={padding!r}, "
                f"dilations={[1, dh, dw, 1]})")
    if op == "depthwise_conv2d":
        return (f"output = tf.nn.depthwise_conv2d(x, filter_, strides={strides}, "
                f"padding={padding!r}, dilations={[dh, dw]})")
    return (f"output = tf.nn.separable_conv2d(x, depthwise_filter, pointwise_filter, "
            f"strides={strides}, padding={padding!r}, dilations={[dh, dw]})")


def tensorflow(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> str:
    lines = _opening(("import tensorflow as tf",), arguments, op, "tf", dtype)
    if op == "torch_conv2d":
        return _tf_torch_conv2d(arguments, plan, lines)
    names = [_variable(name) for name in array_arguments(op)]
    empty = _is_empty(plan)
    if empty and dtype == "float32":
        lines.append(
            "# An empty output: TF's float32 CPU kernels (oneDNN) return a wrong shape for it, "
            "so compute in float64"
        )
        lines += [f"{name} = tf.cast({name}, tf.float64)" for name in names]
    if plan.data_format == "NCHW":
        lines.append(
            "x = tf.transpose(x, [0, 2, 3, 1])  # NCHW -> NHWC: TF's CPU kernels compute NHWC "
            "only (float64 always, float32 without oneDNN)"
        )
    padding = _tf_nhwc_padding(plan, arguments["padding"])
    (sh, sw) = plan.strides
    top, bottom, left, right = _pads(plan)
    if sh != sw and not empty:
        lines += [
            "# Unequal strides: TF's CPU depthwise kernel refuses them in float64, and its "
            "float32 kernels",
            "# (oneDNN) return wrong values for some (a batch > 1, one channel, one output "
            "column). A stride s",
            "# keeps every s-th output of the stride-1 convolution: pad as the strided one "
            "does, then slice.",
        ]
        if any((top, bottom, left, right)):
            lines.append(f"x = tf.pad(x, {[[0, 0], [top, bottom], [left, right], [0, 0]]})")
        lines.append(_tf_call(op, plan, [1, 1, 1, 1], "VALID"))
        lines.append(f"output = output[:, ::{sh}, ::{sw}, :]  # strides {[sh, sw]}")
    else:
        if op == "separable_conv2d" and not isinstance(padding, str):
            # tf.nn.separable_conv2d takes only 'SAME' or 'VALID'.
            lines.append(f"x = tf.pad(x, {padding})  # explicit padding: zeros, then VALID")
            padding = "VALID"
        if op != "conv2d" and sh != sw:  # an empty output with unequal strides
            _tf_grouped_depthwise(op, plan, names[1], padding, lines)
        else:
            lines.append(_tf_call(op, plan, [1, sh, sw, 1], padding))
    if plan.data_format == "NCHW":
        lines.append("output = tf.transpose(output, [0, 3, 1, 2])  # back to NCHW")
    if empty and dtype == "float32":
        lines.append("output = tf.cast(output, tf.float32)")
    return _finish(lines)


# ------------------------------------------------------------------ Keras

def keras_parameter_count(op: str, plan: ConvPlan, use_bias: bool) -> int:
    """What the snippet's Keras layer reports as ``count_params()``."""
    # Parameters do not depend on the output size: "same" counts them for any input.
    input_hw, channels, padding = plan.input_hw, plan.in_channels, "same"
    if op in ("conv2d", "torch_conv2d"):
        cost = keras_conv2d_cost(input_hw, channels, plan.out_channels, plan.kernel_hw,
                                 padding=padding, groups=plan.groups, use_bias=use_bias)
    elif op == "depthwise_conv2d":
        cost = keras_depthwise_conv2d_cost(input_hw, channels, plan.kernel_hw,
                                           padding=padding,
                                           depth_multiplier=plan.channel_multiplier,
                                           use_bias=use_bias)
    else:
        cost = keras_separable_conv2d_cost(input_hw, channels, plan.out_channels,
                                           plan.kernel_hw, padding=padding,
                                           depth_multiplier=plan.channel_multiplier,
                                           use_bias=use_bias)
    return cost.params_with_bias


def _keras_semantics(op: str, plan: ConvPlan) -> list[str]:
    """Comment lines: the Keras layer's bias and parameter count, against tf.nn's."""
    channels, multiplier = plan.in_channels, plan.channel_multiplier
    depth, outputs = plan.spatial_out_channels, plan.out_channels
    kh, kw = plan.kernel_hw
    without, with_bias = (keras_parameter_count(op, plan, flag) for flag in (False, True))
    if op == "depthwise_conv2d":
        return [
            f"# DepthwiseConv2D: depth_multiplier={multiplier} (TF's channel_multiplier M), "
            f"kernel [kh, kw, C, M] = [{kh}, {kw}, {channels}, {multiplier}];",
            f"# use_bias=True would add one bias per output channel (C*M = {depth}): "
            f"count_params() {without} -> {with_bias}.",
            "# tf.nn.depthwise_conv2d has no bias, so use_bias=False here.",
        ]
    if op == "separable_conv2d":
        pair = without + depth + outputs
        return [
            f"# SeparableConv2D: depthwise [kh, kw, C, M] = [{kh}, {kw}, {channels}, "
            f"{multiplier}], then pointwise [1, 1, C*M, O] = [1, 1, {depth}, {outputs}].",
            f"# It has ONE bias ({outputs} values), added after the pointwise step, then the "
            f"activation: count_params() {without} -> {with_bias} with use_bias=True;",
            f"# DepthwiseConv2D + Conv2D(1x1) with biases has two ({depth} + {outputs}): "
            f"{pair}. tf.nn.separable_conv2d has none, so use_bias=False here.",
        ]
    return []


def _keras_prologue(op: str, arguments: dict[str, Any], plan: ConvPlan) -> list[str]:
    """Convert PyTorch's or NCHW layouts to channels_last (Keras on CPU)."""
    if op == "torch_conv2d":
        lines = []
        if np.ndim(arguments["input"]) == 3:
            lines.append("x = x[None]  # unbatched -> a batch of one")
        return lines + [
            "x = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC (Keras convolutions on CPU)",
            "filters = weight.transpose(2, 3, 1, 0)  # [O, C/g, kh, kw] -> [kh, kw, C/g, O]",
        ]
    if plan.data_format == "NCHW":
        return ["x = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC (Keras convolutions on CPU)"]
    return []


def _keras_layer(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str,
                 common: str) -> tuple[str, str]:
    """``(layer construction, set_weights list)``."""
    if op in ("conv2d", "torch_conv2d"):
        has_bias = op == "torch_conv2d" and arguments.get("bias") is not None
        return (
            f"layer = keras.layers.Conv2D(filters={plan.out_channels}, {common}, "
            f"groups={plan.groups}, use_bias={has_bias}, dtype={dtype!r})",
            "[filters, bias]" if has_bias else "[filters]",
        )
    if op == "depthwise_conv2d":
        return (
            f"layer = keras.layers.DepthwiseConv2D({common}, "
            f"depth_multiplier={plan.channel_multiplier}, use_bias=False, dtype={dtype!r})",
            "[filter_]",
        )
    return (
        f"layer = keras.layers.SeparableConv2D(filters={plan.out_channels}, {common}, "
        f"depth_multiplier={plan.channel_multiplier}, use_bias=False, dtype={dtype!r})",
        "[depthwise_filter, pointwise_filter]",
    )


def keras(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> str:
    lines = _opening(("import numpy as np", "import keras  # Keras 3 (TensorFlow backend)"),
                     arguments, op, "np", dtype)
    lines += _keras_prologue(op, arguments, plan)
    top, bottom, left, right = _pads(plan)
    (sh, sw), (dh, dw) = plan.strides, plan.dilations
    padding = "valid" if op == "torch_conv2d" else arguments["padding"]
    # Keras's Conv2D refuses strides > 1 with dilation_rate > 1; TF's CPU kernels behind the
    # layers refuse unequal depthwise strides (float64) or get some wrong (float32, oneDNN).
    conv_refuses = op in ("conv2d", "torch_conv2d") and max(sh, sw) > 1 and max(dh, dw) > 1
    stride_refused = conv_refuses or sh != sw
    explicit = (
        op == "torch_conv2d"  # PyTorch's pads, resolved per side
        or not isinstance(padding, str)
        or (stride_refused and padding.upper() == "SAME")
    )
    if explicit and any((top, bottom, left, right)):
        lines.append(
            f"x = np.pad(x, ((0, 0), ({top}, {bottom}), ({left}, {right}), (0, 0)))  # the "
            "resolved pads, in x's dtype (ZeroPadding2D has no dtype: float32)"
        )
    mode = "valid" if explicit else padding.lower()
    layer_strides = (1, 1) if stride_refused else (sh, sw)
    common = (
        f"kernel_size={plan.kernel_hw}, strides={layer_strides}, padding={mode!r}, "
        f"dilation_rate={(dh, dw)}"
    )
    construction, weights = _keras_layer(op, arguments, plan, dtype, common)
    lines += _keras_semantics(op, plan)
    lines.append(construction)
    if _is_empty(plan):
        lines += [
            "# The window does not fit: TF's output is empty here (VALID truncates toward zero),",
            "# but Keras refuses to call such a layer (\"Computed output size would be zero or",
            "# negative\"). The answer is empty:",
            f"output = np.zeros({_api_shape(op, arguments, plan)}, dtype={dtype!r})",
        ]
        return _finish(lines)
    lines += [
        "layer.build(x.shape)",
        f"layer.set_weights({weights})  # Keras kernel layouts equal tf.nn's",
        "output = np.asarray(layer(x))",
    ]
    if stride_refused:
        why = (
            "Keras's Conv2D refuses strides > 1 with dilation_rate > 1"
            if conv_refuses
            else "TF's CPU kernels refuse unequal depthwise strides in float64 and get some "
            "wrong in float32"
        )
        lines.append(
            f"output = output[:, ::{sh}, ::{sw}]  # strides {[sh, sw]}: every s-th output of "
            f"the stride-1 layer ({why})"
        )
    if plan.data_format == "NCHW" or op == "torch_conv2d":
        lines.append("output = output.transpose(0, 3, 1, 2)  # back to NCHW")
        if op == "torch_conv2d" and np.ndim(arguments["input"]) == 3:
            lines.append("output = output[0]")
    return _finish(lines)


def snippets(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> dict[str, str]:
    """``{"tf": ..., "keras": ..., "pytorch": ...}`` for one configuration.

    op : "conv2d", "depthwise_conv2d", "separable_conv2d" or "torch_conv2d"
    arguments : the engine op's keyword arguments (arrays as ndarrays)
    plan : the engine's plan of the same configuration (resolved padding)
    dtype : "float32" or "float64"
    """
    return {
        "tf": tensorflow(op, arguments, plan, dtype),
        "keras": keras(op, arguments, plan, dtype),
        "pytorch": pytorch(op, arguments, plan, dtype),
    }
