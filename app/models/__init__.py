"""Your own model: ONNX import, layer classification, reference activations.

``load_model`` parses and checks an ONNX file (``onnx``) and lists its Conv layers
with their real weights (``ConvLayer``: kind standard | grouped | depthwise |
pointwise); ``run_layer`` runs the graph up to a layer with ``onnxruntime`` and
steps the layer with ConvLens' engine. ``onnx`` and ``onnxruntime`` are the
optional ``models`` extra: without them every call raises a 503 ``ModelError``.
The engine never imports this room; the API does.
"""

from app.models.errors import ModelError
from app.models.graph import ConvLayer, OnnxModel, classify, load_model
from app.models.runtime import (
    ATOL,
    RTOL,
    LayerRun,
    RunLimits,
    clear_caches,
    engine_call,
    layer_steps,
    run_layer,
)
from app.models.shipped import SHIPPED_MODEL, SHIPPED_MODEL_INFO

__all__ = [
    "ATOL",
    "RTOL",
    "SHIPPED_MODEL",
    "SHIPPED_MODEL_INFO",
    "ConvLayer",
    "LayerRun",
    "ModelError",
    "OnnxModel",
    "RunLimits",
    "classify",
    "clear_caches",
    "engine_call",
    "layer_steps",
    "load_model",
    "run_layer",
]
