"""TF, Keras and PyTorch code that reproduces one configuration with its arrays.

Pure string building, no web imports. Each snippet is a complete script that
leaves the result in ``output`` in the layout the API answers with (the
request's ``data_format`` for the TF ops, NCHW for PyTorch's conv2d).

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

from app.engine import ConvPlan

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


def _tf_steps(plan: ConvPlan, pair: tuple[int, int]) -> list[int]:
    """A 4-list of strides or dilations in the plan's data format."""
    if plan.data_format == "NHWC":
        return [1, pair[0], pair[1], 1]
    return [1, 1, pair[0], pair[1]]


def _tf_padding(plan: ConvPlan, padding: Any) -> Any:
    """The request's padding mode, or the explicit 4x2 list of the resolved pads."""
    if isinstance(padding, str):
        return padding.upper()
    top, bottom, left, right = _pads(plan)
    if plan.data_format == "NHWC":
        return [[0, 0], [top, bottom], [left, right], [0, 0]]
    return [[0, 0], [0, 0], [top, bottom], [left, right]]


def _array_names(op: str) -> tuple[str, ...]:
    return {
        "conv2d": ("input", "filters"),
        "depthwise_conv2d": ("input", "filter"),
        "separable_conv2d": ("input", "depthwise_filter", "pointwise_filter"),
        "torch_conv2d": ("input", "weight", "bias"),
    }[op]


def _variable(name: str) -> str:
    # ``input`` and ``filter`` are Python builtins.
    return {"input": "x", "filter": "filter_"}.get(name, name)


def _arrays(arguments: dict[str, Any], op: str, numpy_module: str, dtype: str) -> list[str]:
    lines = []
    for name in _array_names(op):
        array = arguments.get(name)
        if array is None:
            lines.append(f"{_variable(name)} = None")
        else:
            shape = list(np.shape(array))
            lines.append(
                f"{_variable(name)} = {numpy_module}({literal(np.asarray(array))}, "
                f"dtype={dtype})  # shape {shape}"
            )
    return lines


# ---------------------------------------------------------------- PyTorch

def pytorch(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> str:
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "",
        *_arrays(arguments, op, "torch.tensor", _TORCH_DTYPE[dtype]),
        "",
    ]
    stride, dilation = tuple(plan.strides), tuple(plan.dilations)
    if op == "torch_conv2d":
        padding = arguments["padding"]
        padding_text = repr(padding if isinstance(padding, str | int) else tuple(padding))
        lines.append(
            f"output = F.conv2d(x, weight, bias, stride={stride}, padding={padding_text}, "
            f"dilation={dilation}, groups={plan.groups})"
        )
        lines.append("print(output)")
        return "\n".join(lines) + "\n"
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
    lines.append("print(output)")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------- TF

def tensorflow(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> str:
    lines = [
        "import tensorflow as tf",
        "",
        *_arrays(arguments, op, "tf.constant", f"tf.{dtype}"),
        "",
    ]
    strides = _tf_steps(plan, plan.strides)
    if op == "torch_conv2d":
        top, bottom, left, right = _pads(plan)
        if len(np.shape(arguments["input"])) == 3:
            lines.append("x = x[None]  # unbatched -> a batch of one")
        lines += [
            "x = tf.transpose(x, [0, 2, 3, 1])  # NCHW -> NHWC",
            "filters = tf.transpose(weight, [2, 3, 1, 0])  # [O, C/g, kh, kw] -> [kh, kw, C/g, O]",
            f"output = tf.nn.conv2d(x, filters, strides={[1, *plan.strides, 1]}, "
            f"padding={[[0, 0], [top, bottom], [left, right], [0, 0]]}, "
            f"dilations={[1, *plan.dilations, 1]})  # grouped when C/g < C",
        ]
        if arguments.get("bias") is not None:
            lines.append("output = tf.nn.bias_add(output, bias)")
        lines.append("output = tf.transpose(output, [0, 3, 1, 2])  # back to NCHW")
        if len(np.shape(arguments["input"])) == 3:
            lines.append("output = output[0]")
        lines.append("print(output)")
        return "\n".join(lines) + "\n"
    padding = _tf_padding(plan, arguments["padding"])
    layout = f"data_format={plan.data_format!r}"
    if op == "conv2d":
        lines.append(
            f"output = tf.nn.conv2d(x, filters, strides={strides}, padding={padding!r}, "
            f"{layout}, dilations={_tf_steps(plan, plan.dilations)})"
        )
    elif op == "depthwise_conv2d":
        lines.append(
            f"output = tf.nn.depthwise_conv2d(x, filter_, strides={strides}, "
            f"padding={padding!r}, {layout}, dilations={list(plan.dilations)})"
        )
    else:
        if not isinstance(padding, str):
            # tf.nn.separable_conv2d takes only 'SAME' or 'VALID'.
            lines.append(f"x = tf.pad(x, {padding})")
            padding = "VALID"
        lines.append(
            f"output = tf.nn.separable_conv2d(x, depthwise_filter, pointwise_filter, "
            f"strides={strides}, padding={padding!r}, {layout}, "
            f"dilations={list(plan.dilations)})"
        )
    lines.append("print(output)")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ Keras

def keras(op: str, arguments: dict[str, Any], plan: ConvPlan, dtype: str) -> str:
    lines = [
        "import numpy as np",
        "from tensorflow import keras",
        "",
        *_arrays(arguments, op, "np.array", repr(dtype)),
        "",
    ]
    top, bottom, left, right = _pads(plan)
    channels_first = plan.data_format == "NCHW" or op == "torch_conv2d"
    if op == "torch_conv2d":
        # Keras convolutions on CPU want channels_last: convert PyTorch's layouts.
        if len(np.shape(arguments["input"])) == 3:
            lines.append("x = x[None]  # unbatched -> a batch of one")
        lines += [
            "x = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC",
            "filters = weight.transpose(2, 3, 1, 0)  # [O, C/g, kh, kw] -> [kh, kw, C/g, O]",
        ]
        mode = "valid"
        explicit = any((top, bottom, left, right))
    else:
        if plan.data_format == "NCHW":
            lines.append("x = x.transpose(0, 2, 3, 1)  # NCHW -> NHWC (Keras on CPU)")
        padding = arguments["padding"]
        explicit = not isinstance(padding, str)
        mode = "valid" if explicit else padding.lower()
    if explicit:
        lines.append(
            f"x = keras.layers.ZeroPadding2D((({top}, {bottom}), ({left}, {right})))(x)"
        )
    kernel_size, strides, dilation = plan.kernel_hw, plan.strides, plan.dilations
    common = (
        f"kernel_size={kernel_size}, strides={strides}, padding={mode!r}, "
        f"dilation_rate={dilation}"
    )
    if max(strides) > 1 and max(dilation) > 1:
        lines.append(
            "# Keras layers refuse strides > 1 together with dilation_rate > 1; "
            "use the tf.nn snippet for this configuration."
        )
    if op in ("conv2d", "torch_conv2d"):
        has_bias = op == "torch_conv2d" and arguments.get("bias") is not None
        lines.append(
            f"layer = keras.layers.Conv2D(filters={plan.out_channels}, {common}, "
            f"groups={plan.groups}, use_bias={has_bias}, dtype={dtype!r})"
        )
        weights = "[filters, bias]" if has_bias else "[filters]"
    elif op == "depthwise_conv2d":
        lines.append(
            f"layer = keras.layers.DepthwiseConv2D({common}, "
            f"depth_multiplier={plan.channel_multiplier}, use_bias=False, dtype={dtype!r})"
        )
        weights = "[filter_]"
    else:
        lines.append(
            f"layer = keras.layers.SeparableConv2D(filters={plan.out_channels}, {common}, "
            f"depth_multiplier={plan.channel_multiplier}, use_bias=False, dtype={dtype!r})"
        )
        weights = "[depthwise_filter, pointwise_filter]"
    lines += [
        "layer.build(x.shape)",
        f"layer.set_weights({weights})  # Keras kernel layouts equal tf.nn's",
        "output = np.asarray(layer(x))",
    ]
    if channels_first:
        lines.append("output = output.transpose(0, 3, 1, 2)  # back to NCHW")
        if op == "torch_conv2d" and len(np.shape(arguments["input"])) == 3:
            lines.append("output = output[0]")
    lines.append("print(output)")
    return "\n".join(lines) + "\n"


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
