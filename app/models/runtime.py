"""Reference activations with ``onnxruntime``, then the chosen layer stepped by the engine.

For a Conv layer of a model and an input image, onnxruntime runs the part of the
graph that leads to the layer (``onnx.utils.Extractor`` cuts it; the layer's input
and output become the graph's outputs; graph optimisations off so every node runs
as written). ConvLens' engine then recomputes the layer from ``layer_input`` and
the layer's real weights (``depthwise_conv2d`` for a depthwise layer, the grouped
``conv2d`` otherwise, plus the bias) and the two outputs are compared.

Memory is bounded before anything runs: the input against the model's declared
input, then shape inference with the concrete input shape gives every tensor up
to the layer, whose elements must fit ``max_model_activations``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app import engine
from app.answers.lru import LruCache
from app.models.errors import ModelError, missing_extra
from app.models.graph import ConvLayer, OnnxModel, _dims, onnx_module

# float32 comparison of the engine against onnxruntime.
RTOL = 1e-5
ATOL = 1e-5


@dataclass(frozen=True)
class RunLimits:
    max_activations: int
    max_elements: int
    max_macs: int
    max_batch: int


@dataclass(frozen=True, eq=False)
class LayerRun:
    """One layer, run both ways. Arrays are NCHW float32.

    layer_input : (N, C, H, W) from onnxruntime; layer_output : (N, O, Ho, Wo) from
    onnxruntime; engine_output : the same from ConvLens. ``engine_op`` and
    ``engine_arguments`` are the engine call that made it (without the arrays), so a
    trace can step through the layer with the same numbers.
    """

    layer: ConvLayer
    layer_input: np.ndarray
    layer_output: np.ndarray
    engine_output: np.ndarray
    padding: engine.Padding2D
    engine_op: str
    engine_arguments: dict[str, Any]
    engine_filter: np.ndarray
    activation_elements: int

    @property
    def max_abs_difference(self) -> float:
        if self.engine_output.size == 0:
            return 0.0
        return float(np.abs(self.engine_output.astype(np.float64) - self.layer_output).max())

    @property
    def matches(self) -> bool:
        return bool(np.allclose(self.engine_output, self.layer_output, rtol=RTOL, atol=ATOL))


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise missing_extra("onnxruntime") from None
    return onnxruntime


def _image_input(model: OnnxModel) -> dict[str, Any]:
    if len(model.inputs) != 1:
        names = ", ".join(entry["name"] for entry in model.inputs)
        raise ModelError(f"model: it has {len(model.inputs)} inputs ({names}); ConvLens runs "
                         "models with one image input")
    only = model.inputs[0]
    if only["dtype"] != "float32":
        raise ModelError(f"model: its input {only['name']!r} is {only['dtype']}; ConvLens "
                         "feeds float32 images")
    return only


def check_input_shape(model: OnnxModel, shape: tuple[int, ...], max_batch: int) -> None:
    """The input (NCHW, as the model declares) must fit the model's image input."""
    declared = _image_input(model)
    dims = declared["shape"]
    if dims is not None:
        fits = len(dims) == len(shape) and all(
            not isinstance(dim, int) or dim == size for dim, size in zip(dims, shape, strict=False)
        )
        if not fits:
            shown = [dim if isinstance(dim, int) else (dim or "?") for dim in dims]
            raise ModelError(
                f"input has shape {list(shape)} but the model's input {declared['name']!r} "
                f"expects {shown} (NCHW; names are free sizes)", field="input",
                code="invalid_configuration",
            )
    if shape and shape[0] > max_batch:
        raise ModelError(f"input has a batch of {shape[0]}; the limit is {max_batch} "
                         "(max_batch)", status=413, code="batch_too_large", field="input")


def _concrete(model: OnnxModel, shape: tuple[int, ...]) -> Any:
    """A copy of the model with the input's symbolic sizes set, shapes inferred (strict)."""
    onnx = onnx_module()
    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    name = _image_input(model)["name"]
    for info in proto.graph.input:
        if info.name == name:
            dims = info.type.tensor_type.shape.dim
            del dims[:]
            for size in shape:
                dims.add().dim_value = int(size)
    try:
        return onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
    except Exception as error:  # noqa: BLE001 - onnx raises several types here
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else "no reason"
        raise ModelError(f"input of shape {list(shape)} does not fit the model: {first}",
                         field="input", code="invalid_configuration") from None


def _extract(inferred: Any, input_name: str, outputs: list[str]) -> Any:
    onnx = onnx_module()
    try:
        return onnx.utils.Extractor(inferred).extract_model([input_name], outputs)
    except Exception as error:  # noqa: BLE001
        raise ModelError(f"model: the graph leading to the layer cannot be cut out ({error})"
                         ) from None


def _activation_elements(graph: Any, limit: int) -> int:
    """Elements of every tensor the cut graph computes, from its inferred shapes."""
    initializers = {tensor.name for tensor in graph.initializer}
    total = 0
    for info in [*graph.input, *graph.value_info, *graph.output]:
        if info.name in initializers:
            continue
        dims = _dims(info)
        if dims is None or any(not isinstance(dim, int) for dim in dims):
            raise ModelError(
                f"model: the shape of tensor {info.name!r} cannot be inferred, so the memory of a "
                "run cannot be bounded before it starts; export the model with static shapes",
                code="invalid_model",
            )
        total += math.prod(dims)
    if total > limit:
        raise ModelError(
            f"input: the activations up to this layer have {total:,} elements; the limit is "
            f"{limit:,} (max_model_activations); use a smaller image or an earlier layer",
            status=413, code="too_many_activations", field="input",
        )
    return total


@dataclass(frozen=True, eq=False)
class _Session:
    session: Any
    outputs: list[str]
    activation_elements: int
    graph: Any  # the cut graph, to re-check a cached entry against stricter limits


# Cut graphs and their sessions, per process: (model sha256, layer, input shape).
_SESSIONS: LruCache[tuple, _Session] = LruCache(max_entries=8, max_bytes=96 * 1024 * 1024)


def _session_for(serialized: bytes, layer: ConvLayer) -> Any:
    """An onnxruntime session, every graph optimisation off (each node runs as written)."""
    ort = _ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime's errors have no common base
        message = str(error).strip().splitlines()[0][:300]
        raise ModelError(f"model: onnxruntime cannot run the graph up to layer {layer.name}: "
                         f"{message}", code="unsupported_model") from None


def _session(model: OnnxModel, layer: ConvLayer, shape: tuple[int, ...], limits: RunLimits
             ) -> _Session:
    key = (model.sha256, layer.name, shape)
    cached = _SESSIONS.get(key)
    if cached is not None:
        if cached.activation_elements > limits.max_activations:
            _activation_elements(cached.graph, limits.max_activations)  # raises
        return cached
    _ort()  # 503 before any work when the extra is missing
    inferred = _concrete(model, shape)
    input_name = _image_input(model)["name"]
    outputs = [layer.output] if layer.input == input_name else [layer.input, layer.output]
    try:
        cut = _extract(inferred, input_name, outputs)
        elements = _activation_elements(cut.graph, limits.max_activations)
    except ModelError as error:
        if error.status == 422:
            # An op shape inference does not know is usually one onnxruntime refuses too:
            # its words are the useful ones. (Loading allocates the weights only.)
            _session_for(model.proto.SerializeToString(), layer)
        raise
    serialized = cut.SerializeToString()
    session = _session_for(serialized, layer)
    entry = _Session(session, outputs, elements, cut.graph)
    _SESSIONS.put(key, entry, len(serialized))
    return entry


def engine_call(layer: ConvLayer, input_hw: tuple[int, int]) -> tuple[
        str, dict[str, Any], np.ndarray, engine.Padding2D]:
    """The engine op, its arguments (TF names, NCHW, explicit pads) and its filter.

    ONNX pads ``[top, left, bottom, right]``; ``SAME_UPPER`` is TF's SAME (odd pad at the
    bottom/right), ``SAME_LOWER`` puts it at the top/left.
    """
    kernel, strides, dilations = layer.kernel_hw, layer.strides, layer.dilations
    if layer.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        same = engine.resolve_padding(input_hw, kernel, strides, dilations, "SAME")
        top, bottom, left, right = same.pad_top, same.pad_bottom, same.pad_left, same.pad_right
        if layer.auto_pad == "SAME_LOWER":
            top, bottom, left, right = bottom, top, right, left
    elif layer.auto_pad == "VALID":
        top = bottom = left = right = 0
    else:
        top, left, bottom, right = layer.pads
    padding = engine.resolve_padding(input_hw, kernel, strides, dilations,
                                     ((top, bottom), (left, right)))
    arguments = {
        "strides": list(strides), "dilations": list(dilations), "data_format": "NCHW",
        "padding": [[0, 0], [0, 0], [top, bottom], [left, right]],
    }
    dilated_stride = max(strides) > 1 and max(dilations) > 1
    kh, kw = kernel
    if layer.kind == "depthwise" and not dilated_stride:
        # (C*M, 1, kh, kw) -> (kh, kw, C, M): output channel q*M + r in both.
        depthwise = layer.weight.reshape(layer.in_channels, layer.channel_multiplier, kh, kw)
        return "depthwise_conv2d", arguments, depthwise.transpose(2, 3, 0, 1), padding
    # (O, C/g, kh, kw) -> (kh, kw, C/g, O): TF's grouped conv2d.
    return "conv2d", arguments, layer.weight.transpose(2, 3, 1, 0), padding


def _engine_output(op: str, arguments: dict[str, Any], filters: np.ndarray, x: np.ndarray,
                   bias: np.ndarray | None) -> np.ndarray:
    function = engine.depthwise_conv2d if op == "depthwise_conv2d" else engine.conv2d
    out = function(x, filters, arguments["strides"], arguments["padding"], "NCHW",
                   arguments["dilations"])
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


def run_layer(model: OnnxModel, layer_name: str, x: np.ndarray, limits: RunLimits) -> LayerRun:
    """Run ``model`` on ``x`` (NCHW float32) up to ``layer_name`` and step the layer.

    Raises ``ModelError`` (unknown layer, input that does not fit, a limit, an op
    onnxruntime refuses) before allocating anything the limits do not cover.
    """
    layer = model.layer(layer_name)
    shape = tuple(int(size) for size in x.shape)
    check_input_shape(model, shape, limits.max_batch)
    entry = _session(model, layer, shape, limits)
    try:
        feed = {_image_input(model)["name"]: np.ascontiguousarray(x, dtype=np.float32)}
        results = entry.session.run(entry.outputs, feed)
    except Exception as error:  # noqa: BLE001
        message = str(error).strip().splitlines()[0][:300]
        raise ModelError(f"model: onnxruntime failed while running it: {message}",
                         code="unsupported_model") from None
    layer_input = x if len(results) == 1 else results[0]
    layer_output = results[-1]
    if layer_input.ndim != 4:
        raise ModelError(f"model: the input of layer {layer.name} is {layer_input.ndim}-D; "
                         "ConvLens explains 2-D convolutions", field="layer")
    for name, array in (("layer_input", layer_input), ("layer_output", layer_output)):
        if array.size > limits.max_elements:
            raise ModelError(
                f"input: {name} has {array.size:,} elements; the limit is "
                f"{limits.max_elements:,} (max_elements); use a smaller image or another layer",
                status=413, code="too_many_elements", field="input",
            )
    input_hw = (int(layer_input.shape[2]), int(layer_input.shape[3]))
    op, arguments, filters, padding = engine_call(layer, input_hw)
    n, _, ho, wo = layer_output.shape
    macs = n * ho * wo * layer.weight.size
    if macs > limits.max_macs:
        raise ModelError(f"input: stepping layer {layer.name} takes {macs:,} multiply-adds; the "
                         f"limit is {limits.max_macs:,} (max_macs)", status=413,
                         code="too_much_work", field="input")
    engine_output = _engine_output(op, arguments, filters, layer_input, layer.bias)
    return LayerRun(layer, layer_input, layer_output, engine_output, padding, op, arguments,
                    filters, entry.activation_elements)


def layer_steps(run: LayerRun, channel: int, max_elements: int) -> dict[str, Any]:
    """The teaching steps of one output channel of the layer, from the engine's trace.

    For every output position ``(i, j)`` of channel ``channel`` (batch element 0): the
    window of ``layer_input`` under the kernel (padding cells marked), the products with
    the layer's weights, their sum, the bias and the output value. ``window`` and
    ``products`` have shape (P, Cg, kh, kw) with P = Ho*Wo and Cg the channels one output
    reads (1 for depthwise); ``weights`` (Cg, kh, kw).
    """
    layer = run.layer
    if isinstance(channel, bool) or not isinstance(channel, int) or not (
            0 <= channel < layer.out_channels):
        raise ModelError(f"channel must be an output channel of layer {layer.name}, 0 to "
                         f"{layer.out_channels - 1}, got {channel!r}", field="channel",
                         code="invalid_value")
    _, _, ho, wo = run.layer_output.shape
    kh, kw = layer.kernel_hw
    group_in = layer.in_channels // layer.groups
    if ho * wo * group_in * kh * kw * 2 > max_elements:
        raise ModelError(f"channel: the steps of one output channel of {layer.name} have "
                         f"{ho * wo * group_in * kh * kw * 2:,} values; the limit is "
                         f"{max_elements:,} (max_elements)", status=413,
                         code="too_many_elements", field="channel")
    name = "filter" if run.engine_op == "depthwise_conv2d" else "filters"
    trace = engine.build_trace(run.engine_op, {
        "input": run.layer_input[:1], name: run.engine_filter, **run.engine_arguments})
    rows = [trace.step(channel * ho * wo + pixel) for pixel in range(ho * wo)]

    def stacked(key: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.stack([np.asarray(row[key]).reshape(shape) for row in rows])

    window = stacked("window", (group_in, kh, kw))  # (P, Cg, kh, kw)
    products = stacked("products", (group_in, kh, kw))
    sums = stacked("sum", ()).astype(np.float64)  # (P,)
    bias = 0.0 if layer.bias is None else float(layer.bias[channel])
    if run.engine_op == "depthwise_conv2d":
        q = channel // layer.channel_multiplier
        input_channels = [q]
    else:
        group = channel // (layer.out_channels // layer.groups)
        input_channels = list(range(group * group_in, (group + 1) * group_in))
    return {
        "channel": channel, "input_channels": input_channels, "steps": ho * wo,
        "output_hw": [ho, wo], "i": [int(row["i"]) for row in rows],
        "j": [int(row["j"]) for row in rows],
        "padding_mask": stacked("padding_mask", (kh, kw)).astype(bool).tolist(),  # (P, kh, kw)
        "window": window, "weights": np.asarray(rows[0]["weights"]).reshape(group_in, kh, kw),
        "products": products, "sum": sums, "bias": bias,
        "output": run.engine_output[0, channel].reshape(-1).astype(np.float64),
        "reference": run.layer_output[0, channel].reshape(-1).astype(np.float64),
    }


def clear_caches() -> None:
    """Forget parsed models and sessions (tests; memory measurements)."""
    from app.models.graph import _CACHE

    _CACHE.clear()
    _SESSIONS.clear()
