"""Open an ONNX file (``onnx``) and list its convolution layers with their real weights.

Everything that can be known from the file alone is checked here, before any weight
array is made: the size (``max_model_bytes``), that it parses as an ONNX model,
that no tensor lives in an external data file, the weight count from the
initializers' declared shapes (``max_model_weights``), and the ONNX checker.

A ``Conv`` node (2-D, constant weight ``(O, C/group, kh, kw)``, PyTorch's OIHW as ONNX
stores it) is classified:

=============  =======================================================
kind           rule
=============  =======================================================
depthwise      ``group == C`` (C > 1), any multiplier ``O / C``
grouped        ``1 < group < C``
pointwise      ``group == 1`` and a 1x1 kernel
standard       everything else (``group == 1``)
=============  =======================================================
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.answers.lru import LruCache
from app.models.errors import ModelError, missing_extra

Dim = int | str | None  # a fixed size, a symbolic name, or unknown


def onnx_module() -> Any:
    """The ``onnx`` package, or a 503 ModelError naming the extra to install."""
    try:
        import onnx
    except ImportError:
        raise missing_extra("onnx") from None
    return onnx


def classify(groups: int, in_channels: int, kernel_hw: tuple[int, int]) -> str:
    """``standard`` | ``grouped`` | ``depthwise`` | ``pointwise`` (see the module table)."""
    if groups > 1 and groups == in_channels:
        return "depthwise"
    if groups > 1:
        return "grouped"
    if kernel_hw == (1, 1):
        return "pointwise"
    return "standard"


def _stats(values: np.ndarray, axis: Any) -> dict[str, Any]:
    def listed(array: np.ndarray) -> Any:
        return array.astype(np.float64).tolist()

    return {
        "min": listed(values.min(axis=axis)), "max": listed(values.max(axis=axis)),
        "mean": listed(values.mean(axis=axis, dtype=np.float64)),
        "std": listed(values.std(axis=axis, dtype=np.float64)),
        "abs_mean": listed(np.abs(values).mean(axis=axis, dtype=np.float64)),
        "l2": listed(np.sqrt((values.astype(np.float64) ** 2).sum(axis=axis))),
    }


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """One ONNX ``Conv`` node with constant weights.

    weight : (O, C/groups, kh, kw) float32; bias : (O,) or None.
    pads : ONNX's ``[top, left, bottom, right]`` (zeros when ``auto_pad`` is set: the
    pads then depend on the input size and are resolved at run time).
    input_shape/output_shape : from shape inference on the model as declared.
    """

    index: int
    name: str
    input: str
    output: str
    kind: str
    groups: int
    in_channels: int
    out_channels: int
    kernel_hw: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilations: tuple[int, int]
    auto_pad: str
    weight: np.ndarray
    bias: np.ndarray | None
    input_shape: list[Dim] | None = None
    output_shape: list[Dim] | None = None

    @property
    def channel_multiplier(self) -> int:
        return self.out_channels // self.in_channels if self.kind == "depthwise" else 1

    def weight_stats(self) -> dict[str, Any]:
        """Per output channel (lists of O values) and over the whole weight."""
        flat = self.weight.reshape(self.out_channels, -1)  # (O, C/g*kh*kw)
        overall = _stats(flat.reshape(-1), None)
        return {
            "per_output_channel": _stats(flat, 1),
            "overall": overall,
            "zeros": int((flat == 0).sum()),
        }

    def describe(self) -> dict[str, Any]:
        """The layer's attributes without arrays."""
        return {
            "index": self.index, "name": self.name, "op_type": "Conv", "kind": self.kind,
            "input": self.input, "output": self.output, "groups": self.groups,
            "in_channels": self.in_channels, "out_channels": self.out_channels,
            "channel_multiplier": self.channel_multiplier, "kernel_hw": list(self.kernel_hw),
            "strides": list(self.strides), "pads": list(self.pads),
            "dilations": list(self.dilations), "auto_pad": self.auto_pad,
            "weight_shape": list(self.weight.shape), "has_bias": self.bias is not None,
            "input_shape": self.input_shape, "output_shape": self.output_shape,
            "weights": int(self.weight.size), "biases": 0 if self.bias is None else self.bias.size,
        }


@dataclass(frozen=True, eq=False)
class OnnxModel:
    """A checked ONNX model: its proto, image input(s), Conv layers and layers it skipped."""

    sha256: str
    size_bytes: int
    proto: Any
    inputs: list[dict[str, Any]]
    layers: list[ConvLayer]
    skipped: list[dict[str, str]]
    opset: int
    producer: str
    weight_elements: int
    nodes: int
    op_types: list[str] = field(default_factory=list)

    def layer(self, name: str) -> ConvLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        import difflib

        names = [layer.name for layer in self.layers]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        raise ModelError(
            f"layer {name!r} is not a Conv layer of this model.{hint} Its Conv layers are: "
            f"{listed or 'none'}", code="unknown_layer", field="layer",
        )

    def summary(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256, "size_bytes": self.size_bytes, "opset": self.opset,
            "producer": self.producer, "inputs": self.inputs, "nodes": self.nodes,
            "op_types": self.op_types, "weight_elements": self.weight_elements,
            "conv_layers": len(self.layers), "skipped": self.skipped,
        }


def _dims(value_info: Any) -> list[Dim] | None:
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    dims: list[Dim] = []
    for dim in tensor.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return dims


def _parse(data: bytes) -> Any:
    onnx = onnx_module()
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise ModelError(
            "model: this file is not an ONNX model, or it is truncated (the protobuf parser "
            f"says: {error}). Export it again with torch.onnx.export or tf2onnx",
        ) from None
    if proto.ir_version < 1 or not proto.opset_import or not proto.graph.node:
        raise ModelError(
            "model: this file is not an ONNX model (no IR version, opset or graph nodes). "
            "Export it with torch.onnx.export or tf2onnx"
        )
    return proto


def _check_external_and_size(proto: Any, max_weights: int) -> int:
    onnx = onnx_module()
    external = onnx.TensorProto.EXTERNAL
    total = 0
    tensors = list(proto.graph.initializer)
    tensors += [attribute.t for node in proto.graph.node if node.op_type == "Constant"
                for attribute in node.attribute if attribute.HasField("t")]
    for tensor in tensors:
        if tensor.data_location == external or tensor.external_data:
            raise ModelError(
                f"model: the tensor {tensor.name!r} is stored in an external data file, which an "
                "upload cannot carry; save the model as one file "
                "(onnx.save_model(model, path, save_as_external_data=False))",
                code="external_data",
            )
        total += math.prod(int(size) for size in tensor.dims)
    _check_weight_count(total, max_weights)
    return total


def _check_weight_count(total: int, max_weights: int) -> None:
    if total > max_weights:
        raise ModelError(
            f"model: it has {total:,} weight elements; the limit is {max_weights:,} "
            "(max_model_weights)", status=413, code="too_many_weights",
        )


def _ints(node: Any, name: str, default: list[int]) -> list[int]:
    for attribute in node.attribute:
        if attribute.name == name:
            return [int(value) for value in attribute.ints]
    return default


def _attribute(node: Any, name: str, default: Any) -> Any:
    onnx = onnx_module()
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def _constants(proto: Any) -> dict[str, Any]:
    constants = {tensor.name: tensor for tensor in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    constants[node.output[0]] = attribute.t
    return constants


def _array(tensor: Any, what: str) -> np.ndarray:
    from onnx import numpy_helper

    try:
        array = numpy_helper.to_array(tensor)
    except (ValueError, TypeError) as error:
        raise ModelError(f"model: the tensor {what} cannot be read ({error})") from None
    if array.dtype.kind != "f":
        raise ModelError(f"model: the tensor {what} is {array.dtype.name}, not floating point")
    converted = array.astype(np.float32)
    if not np.isfinite(converted).all():
        raise ModelError(f"model: the tensor {what} holds NaN or infinity")
    return converted


def _conv_layers(proto: Any, shapes: dict[str, list[Dim] | None]
                 ) -> tuple[list[ConvLayer], list[dict[str, str]]]:
    constants = _constants(proto)
    layers: list[ConvLayer] = []
    skipped: list[dict[str, str]] = []
    for position, node in enumerate(proto.graph.node):
        if node.op_type != "Conv" or node.domain not in ("", "ai.onnx"):
            continue
        name = node.name or f"Conv_{position}"
        if len(node.input) < 2 or node.input[1] not in constants:
            skipped.append({"name": name, "reason": "its weight is not a constant of the model"})
            continue
        weight = _array(constants[node.input[1]], f"{node.input[1]!r} (weight of {name})")
        if weight.ndim != 4:
            skipped.append({"name": name, "reason": f"a {weight.ndim - 2}-D convolution; "
                            "ConvLens explains 2-D convolutions"})
            continue
        bias = None
        if len(node.input) > 2 and node.input[2]:
            if node.input[2] not in constants:
                skipped.append({"name": name, "reason": "its bias is not a constant"})
                continue
            bias = _array(constants[node.input[2]], f"{node.input[2]!r} (bias of {name})")
        out_channels, group_in, kh, kw = (int(size) for size in weight.shape)
        groups = int(_attribute(node, "group", 1))
        bias_fits = bias is None or bias.shape == (out_channels,)
        if groups < 1 or out_channels % groups or not bias_fits:
            shown = "" if bias is None else f" and bias {list(bias.shape)}"
            raise ModelError(f"model: layer {name} has group={groups}, weight "
                             f"{list(weight.shape)}{shown}, which do not fit together")
        pads = _ints(node, "pads", [0, 0, 0, 0])
        auto_pad = _attribute(node, "auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
        strides = _ints(node, "strides", [1, 1])
        dilations = _ints(node, "dilations", [1, 1])
        if len(pads) != 4 or len(strides) != 2 or len(dilations) != 2 or min(pads) < 0 \
                or min(strides + dilations) < 1:
            raise ModelError(f"model: layer {name} has pads {pads}, strides {strides}, "
                             f"dilations {dilations}; a 2-D Conv needs 4 pads >= 0 and 2 "
                             "strides and dilations >= 1")
        in_channels = group_in * groups
        layers.append(ConvLayer(
            index=len(layers), name=name, input=node.input[0], output=node.output[0],
            kind=classify(groups, in_channels, (kh, kw)), groups=groups,
            in_channels=in_channels, out_channels=out_channels, kernel_hw=(kh, kw),
            strides=(strides[0], strides[1]),
            pads=(pads[0], pads[1], pads[2], pads[3]),
            dilations=(dilations[0], dilations[1]), auto_pad=auto_pad,
            weight=weight, bias=bias, input_shape=shapes.get(node.input[0]),
            output_shape=shapes.get(node.output[0]),
        ))
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ModelError("model: two Conv layers have the same name; ConvLens chooses layers "
                         "by name")
    return layers, skipped


def _inferred_shapes(proto: Any) -> dict[str, list[Dim] | None]:
    onnx = onnx_module()
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
    except Exception:  # noqa: BLE001 - a model whose shapes cannot be inferred still opens
        return {}
    graph = inferred.graph
    return {info.name: _dims(info)
            for info in [*graph.input, *graph.value_info, *graph.output]}


def _image_inputs(proto: Any) -> list[dict[str, Any]]:
    onnx = onnx_module()
    initializers = {tensor.name for tensor in proto.graph.initializer}
    inputs = []
    for info in proto.graph.input:
        if info.name in initializers:
            continue
        elem = info.type.tensor_type.elem_type
        inputs.append({"name": info.name, "shape": _dims(info),
                       "dtype": onnx.helper.tensor_dtype_to_np_dtype(elem).name if elem else None})
    return inputs


def load_model(data: bytes, max_model_bytes: int, max_model_weights: int) -> OnnxModel:
    """Parse and check ``data`` (an ONNX file); raises ``ModelError`` with a clear message."""
    if len(data) > max_model_bytes:
        raise ModelError(
            f"model: the file has {len(data):,} bytes; the limit is {max_model_bytes:,} "
            "(max_model_bytes)", status=413, code="model_too_large",
        )
    if not data:
        raise ModelError("model: the file is empty; choose an .onnx file")
    digest = hashlib.sha256(data).hexdigest()
    cached = _CACHE.get(digest)
    if cached is not None:
        _check_weight_count(cached.weight_elements, max_model_weights)
        return cached
    onnx = onnx_module()
    proto = _parse(data)
    weights = _check_external_and_size(proto, max_model_weights)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise ModelError(f"model: the ONNX checker refuses this graph: {first}") from None
    layers, skipped = _conv_layers(proto, _inferred_shapes(proto))
    opset = max((entry.version for entry in proto.opset_import
                 if entry.domain in ("", "ai.onnx")), default=0)
    model = OnnxModel(
        sha256=digest, size_bytes=len(data), proto=proto, inputs=_image_inputs(proto),
        layers=layers, skipped=skipped, opset=int(opset),
        producer=" ".join(filter(None, (proto.producer_name, proto.producer_version))),
        weight_elements=weights, nodes=len(proto.graph.node),
        op_types=sorted({node.op_type for node in proto.graph.node}),
    )
    _CACHE.put(digest, model, len(data))
    return model


# Parsed models: a handful, at most ~64 MB of files' worth per process.
# Only a speed-up: every request carries its model file, so any worker or replica can
# answer it with or without a hit (no sticky sessions).
_CACHE: LruCache[str, OnnxModel] = LruCache(max_entries=4, max_bytes=64 * 1024 * 1024)
