"""``POST /api/v1/models/inspect`` and ``/models/run``: your own ONNX model (multipart in).

Stateless: every request carries the ONNX file, so any worker or replica answers
it. Each process keeps a few parsed models and onnxruntime sessions keyed by the
file's SHA-256 (``app/models``), which only saves time.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.api import arrays
from app.api.body import get_settings
from app.api.errors import ERROR_RESPONSES, ApiError, ErrorEnvelope
from app.api.multipart import FORM_OVERHEAD_BYTES, FormPart, RawForm, read_form
from app.api.responses import dumps
from app.api.schemas import EncodedArray
from app.settings import Settings

router = APIRouter(tags=["models"])

SettingsDep = Annotated[Settings, Depends(get_settings)]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    415: {"model": ErrorEnvelope, "description": "The body is not multipart/form-data"},
    503: {"model": ErrorEnvelope, "description": "onnx/onnxruntime (the models extra) missing"},
}

INSPECT_FIELDS = ("model", "include_weights", "output_encoding")
RUN_FIELDS = ("model", "layer", "input", "channel", "output_encoding")


def _model_error(error: Exception) -> ApiError:
    status = getattr(error, "status", 422)
    return ApiError(status, getattr(error, "code", "invalid_model"), str(error),
                    getattr(error, "field", "model"))


def _choice(parts: dict[str, FormPart], name: str, allowed: tuple[str, ...], default: str) -> str:
    if name not in parts:
        return default
    value = parts[name].text()
    if value not in allowed:  # exactly the schema's enum
        raise ApiError(422, "invalid_value", f"{name} must be one of {', '.join(allowed)}, got "
                       f"{value!r}", name)
    return value


def _load(parts: dict[str, FormPart], settings: Settings) -> Any:
    from app import models

    try:
        return models.load_model(parts["model"].data, settings.max_model_bytes,
                                 settings.max_model_weights)
    except models.ModelError as error:
        raise _model_error(error) from None


def inspect_payload(form: RawForm, settings: Settings) -> dict[str, Any]:
    parts = form.parse(INSPECT_FIELDS, ("model",))
    include = _choice(parts, "include_weights", ("true", "false"), "true") == "true"
    encoding = _choice(parts, "output_encoding", ("list", "base64"), "list")
    model = _load(parts, settings)
    layers = []
    for layer in model.layers:
        entry = layer.describe()
        entry["weight_stats"] = layer.weight_stats()
        entry["weight"] = arrays.output_value(layer.weight, encoding) if include else None
        entry["bias"] = (arrays.output_value(layer.bias, encoding)
                         if include and layer.bias is not None else None)
        layers.append(entry)
    return {"model": model.summary(), "layers": layers}


def _input_array(parts: dict[str, FormPart], settings: Settings) -> Any:
    if len(parts["input"].data) > settings.max_body_bytes:
        raise ApiError(413, "body_too_large", f"input has {len(parts['input'].data):,} bytes of "
                       f"JSON; the limit is {settings.max_body_bytes:,} (max_body_bytes)",
                       "input")
    text = parts["input"].text()
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ApiError(422, "invalid_array", f"input must be JSON (a nested list or "
                       f"{{dtype, shape, data}}): {error}", "input") from None
    if isinstance(value, dict):
        try:
            value = EncodedArray.model_validate(value)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            raise ApiError(422, "invalid_array", f"input.{where}: {first['msg']}",
                           "input") from None
    source = arrays.source(value, "input", (4,))
    if source.size > settings.max_elements:
        raise ApiError(413, "too_many_elements", f"input has {source.size:,} elements; the "
                       f"limit is {settings.max_elements:,} (max_elements)", "input")
    return source.load("float32")


# The schema's pattern of ``channel``: ASCII digits, at most 9 (no sign, space or ²).
CHANNEL_PATTERN = "^[0-9]{1,9}$"


def _channel(parts: dict[str, FormPart]) -> int:
    if "channel" not in parts:
        return 0
    text = parts["channel"].text()
    if re.fullmatch(CHANNEL_PATTERN[1:-1], text) is None:
        raise ApiError(422, "invalid_value", f"channel must be an output channel number (at "
                       f"most 9 digits 0-9), got {text[:40]!r}", "channel")
    return int(text)


def run_payload(form: RawForm, settings: Settings) -> dict[str, Any]:
    from app import models

    parts = form.parse(RUN_FIELDS, ("model", "layer", "input"))
    encoding = _choice(parts, "output_encoding", ("list", "base64"), "list")
    layer_name = parts["layer"].text().strip()
    model = _load(parts, settings)
    try:
        model.layer(layer_name)  # an unknown layer before the input is read
        x = _input_array(parts, settings)
        limits = models.RunLimits(settings.max_model_activations, settings.max_elements,
                                  settings.max_macs, settings.max_batch)
        run = models.run_layer(model, layer_name, x, limits)
        steps = models.layer_steps(run, _channel(parts), settings.max_elements)
    except models.ModelError as error:
        raise _model_error(error) from None

    def value(array: Any) -> Any:
        return arrays.output_value(array, encoding)

    return {
        "model": {"sha256": model.sha256, "inputs": model.inputs},
        "layer": run.layer.describe(),
        "input_shape": list(x.shape),
        "layer_input": value(run.layer_input),
        "layer_input_shape": list(run.layer_input.shape),
        "layer_output": value(run.layer_output),
        "layer_output_shape": list(run.layer_output.shape),
        "engine_output": value(run.engine_output),
        "engine_output_shape": list(run.engine_output.shape),
        "max_abs_difference": run.max_abs_difference,
        "matches": run.matches,
        "tolerance": {"rtol": models.RTOL, "atol": models.ATOL},
        "engine": {
            "op": run.engine_op, "arguments": run.engine_arguments,
            "filter": value(run.engine_filter), "filter_shape": list(run.engine_filter.shape),
            "bias": None if run.layer.bias is None else value(run.layer.bias),
        },
        "padding": run.padding.as_dict(),
        "activation_elements": run.activation_elements,
        "steps": {key: value(item) if hasattr(item, "dtype") else item
                  for key, item in steps.items()},
    }


def _form_docs(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {
        # Only these fields: any other (even a part named "") is an unknown_field 422.
        "schema": {"type": "object", "properties": fields, "required": required,
                   "additionalProperties": False},
        "encoding": {"model": {"contentType": "application/octet-stream"}},
    }}}}


_MODEL_FIELD = {"type": "string", "format": "binary",
                "description": "The ONNX file (at most max_model_bytes, no external data)."}
_ENCODING_FIELD = {"type": "string", "enum": ["list", "base64"], "default": "list",
                   "description": "Arrays out as nested lists or {dtype, shape, data} base64."}


@router.post(
    "/models/inspect",
    summary="List an ONNX model's Conv layers with their real weights",
    responses={200: {"content": {"application/json": {"example": {
        "model": {"sha256": "…", "conv_layers": 1},
        "layers": [{"name": "dw", "kind": "depthwise", "groups": 4, "in_channels": 4,
                    "out_channels": 4, "kernel_hw": [3, 3], "strides": [1, 1],
                    "pads": [1, 1, 1, 1], "dilations": [1, 1], "weight_shape": [4, 1, 3, 3],
                    "weight": "…", "weight_stats": {"per_output_channel": {"min": []}}}],
    }}}}, **_RESPONSES},
    openapi_extra=_form_docs({"model": _MODEL_FIELD, "include_weights": {
        "type": "string", "enum": ["true", "false"], "default": "true"},
        "output_encoding": _ENCODING_FIELD}, ["model"]),
)
async def inspect_model(request: Request, settings: SettingsDep) -> Response:
    """Multipart field ``model`` (an ONNX file). Every Conv layer in graph order: ``name``,
    ``kind`` (standard | grouped | depthwise | pointwise), ``groups``, channels,
    ``kernel_hw``, ``strides``, ONNX ``pads`` ``[top, left, bottom, right]``, ``dilations``,
    ``weight_shape`` (OIHW), ``weight`` and ``bias`` in the API's array format, and
    per-output-channel weight statistics."""
    form = await read_form(request, settings.max_model_bytes + FORM_OVERHEAD_BYTES,
                           "/api/v1/models/inspect")
    payload = await run_in_threadpool(lambda: dumps(inspect_payload(form, settings)))
    return Response(payload, media_type="application/json")


@router.post(
    "/models/run",
    summary="Run an ONNX model up to a Conv layer (onnxruntime) and step the layer (engine)",
    responses={200: {"content": {"application/json": {"example": {
        "layer_input_shape": [1, 4, 8, 8], "layer_output_shape": [1, 4, 8, 8],
        "engine_output_shape": [1, 4, 8, 8], "max_abs_difference": 2.4e-07, "matches": True,
    }}}}, **_RESPONSES},
    openapi_extra=_form_docs({
        "model": _MODEL_FIELD,
        "layer": {"type": "string", "description": "A layer name from /models/inspect."},
        "input": {"type": "string", "description": "JSON: the input in the API's array format "
                  "(nested list or {dtype, shape, data}), NCHW as the model expects."},
        "channel": {"type": "string", "default": "0", "pattern": CHANNEL_PATTERN,
                    "description": "The output channel whose steps (window, weights, "
                    "products, sum) are returned."},
        "output_encoding": _ENCODING_FIELD,
    }, ["model", "layer", "input"]),
)
async def run_model(request: Request, settings: SettingsDep) -> Response:
    """Multipart fields ``model``, ``layer`` and ``input``. onnxruntime computes
    ``layer_input`` and ``layer_output``; ConvLens' engine computes ``engine_output`` from
    ``layer_input`` and the layer's weights (``engine``: the op, its arguments and the
    filter in TF's layout, ready for ``/api/v1/trace``); ``matches`` is float32 equality
    within rtol = atol = 1e-5. ``steps``: the engine's trace of output ``channel`` (every
    window, the weights, the products and the sums), for stepping through the layer."""
    form = await read_form(request, settings.max_model_bytes + FORM_OVERHEAD_BYTES,
                           "/api/v1/models/run")
    payload = await run_in_threadpool(lambda: dumps(run_payload(form, settings)))
    return Response(payload, media_type="application/json")
