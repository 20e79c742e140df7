"""Request and response models of the JSON API.

Request fields carry the mirrored function's argument names and meanings
(``tf.nn.conv2d``, ``tf.nn.depthwise_conv2d``, ``tf.nn.separable_conv2d``,
``torch.nn.functional.conv2d``). Arrays come as nested JSON lists or as the
compact binary form ``{"dtype": "float32", "shape": [...], "data": "<base64>"}``
(little-endian). Array *contents* are not validated here: ``app.api.arrays``
reads their shapes cheaply, the limits are checked, and only then are they
converted, so a huge array is refused before it is allocated.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_type_hints

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    WithJsonSchema,
    create_model,
)

from app.api import examples
from app.engine import Padding2D, array_arguments

# Upper bound of strides, dilations, explicit pads, groups: far beyond any real
# configuration, it keeps every later integer computation small.
MAX_STEP = 100_000
# Upper bound of sizes in the shape-only cost model.
MAX_SIZE = 1_000_000


def _integral(value: Any) -> Any:
    """``1.0`` -> ``1``: JSON Schema's integer is any number with a zero fraction."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def integer(**bounds: int) -> Any:
    """An integer as JSON Schema means it: 3 or 3.0, never "3", true or 3.5; ``bounds``
    are ``Field``'s ``ge``/``le``. Use it for every integer field, so the published
    schema and the server agree."""
    return Annotated[int, Strict(), Field(**bounds), BeforeValidator(_integral)]


Integer = integer()


def nested_list_schema(ndim: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    for _ in range(ndim):
        schema = {"type": "array", "minItems": 1, "items": schema}
    return schema


class EncodedArray(BaseModel):
    """An array as base64 of its little-endian bytes, row-major (C order)."""

    model_config = ConfigDict(extra="forbid")
    dtype: Literal["float32", "float64"] = Field(description="Element type of ``data``.")
    shape: list[integer(ge=1)] = Field(description="Array shape.")
    data: str = Field(
        description="Standard padded base64 of the little-endian bytes: 4*ceil(size*itemsize/3) "
        "characters for the shape's size.",
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
    )


ArraySize = integer(ge=1)


class EncodedArray4D(EncodedArray):
    """A 4-D array as base64 of its little-endian bytes, row-major (C order)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [examples.ENCODED_ARRAY_4D]})
    shape: list[ArraySize] = Field(min_length=4, max_length=4, description="4 sizes.")


class EncodedArray3or4D(EncodedArray):
    """A 3-D or 4-D array as base64 of its little-endian bytes, row-major (C order)."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [examples.ENCODED_ARRAY_4D]})
    shape: list[ArraySize] = Field(min_length=3, max_length=4, description="3 or 4 sizes.")


class EncodedArray1D(EncodedArray):
    """A 1-D array as base64 of its little-endian bytes."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [examples.ENCODED_ARRAY_1D]})
    shape: list[ArraySize] = Field(min_length=1, max_length=1, description="1 size.")


ENCODED_BY_RANK: dict[tuple[int, ...], type[EncodedArray]] = {
    (4,): EncodedArray4D, (4, 3): EncodedArray3or4D, (1,): EncodedArray1D,
}


def _array_tag(value: Any) -> str | None:
    if isinstance(value, list):
        return "nested"
    if isinstance(value, dict | EncodedArray):
        return "base64"
    return None


def _array_type(ndim: int | tuple[int, ...], description: str) -> Any:
    """Nested lists of ``ndim`` levels, or an ``EncodedArray``."""
    dims = (ndim,) if isinstance(ndim, int) else ndim
    nested: dict[str, Any] = (
        nested_list_schema(dims[0]) if len(dims) == 1
        else {"anyOf": [nested_list_schema(d) for d in dims]}
    )
    return Annotated[
        Annotated[list[Any], Tag("nested"), WithJsonSchema(nested)]
        | Annotated[ENCODED_BY_RANK[dims], Tag("base64")],
        Discriminator(
            _array_tag,
            custom_error_type="invalid_array",
            custom_error_message=(
                "must be a nested list of numbers or {dtype, shape, data} (base64)"
            ),
        ),
        Field(description=description),
    ]


Array4D = _array_type(4, "A 4-D array: nested lists, or {dtype, shape, data}.")
Array1D = _array_type(1, "A 1-D array: a list, or {dtype, shape, data}.")
Array3or4D = _array_type((4, 3), "A 4-D (or unbatched 3-D) array.")

StrictPositive = integer(ge=1, le=MAX_STEP)
StrictNonNegative = integer(ge=0, le=MAX_STEP)

# TF strides/dilations: an int, or 1, 2 or 4 ints (4 in data_format order).
TfSteps = StrictPositive | Annotated[list[StrictPositive], Field(min_length=1, max_length=4)]
TfPadding = (
    Literal["SAME", "VALID", "same", "valid"]
    | Annotated[
        list[Annotated[list[StrictNonNegative], Field(min_length=2, max_length=2)]],
        Field(min_length=4, max_length=4),
    ]
)
TorchPair = StrictPositive | Annotated[list[StrictPositive], Field(min_length=1, max_length=2)]
TorchPadding = (
    Literal["same", "valid"]
    | StrictNonNegative
    | Annotated[list[StrictNonNegative], Field(min_length=1, max_length=2)]
)
DataFormat = Literal["NHWC", "NCHW"]
FloatType = Literal["float32", "float64"]


class OpOptions(BaseModel):
    """Options every op endpoint takes besides the mirrored arguments."""

    model_config = ConfigDict(extra="forbid")
    dtype: FloatType = Field(
        "float64",
        description="Compute dtype. float64 (default) prints hand-checkable results exactly.",
    )
    output_encoding: Literal["list", "base64"] = Field(
        "list", description="Arrays in the response as nested lists or as {dtype, shape, data}."
    )


class TfConv2dRequest(OpOptions):
    """``tf.nn.conv2d(input, filters, strides, padding, data_format, dilations)``."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.CONV2D]})
    input: Array4D
    filters: Array4D = Field(description="[kh, kw, C/groups, O]; grouped when C > in-depth.")
    strides: TfSteps
    padding: TfPadding
    data_format: DataFormat = "NHWC"
    dilations: TfSteps | None = None


class TfDepthwiseConv2dRequest(OpOptions):
    """``tf.nn.depthwise_conv2d(input, filter, strides, padding, data_format, dilations)``."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEPTHWISE]})
    input: Array4D
    filter: Array4D = Field(description="[kh, kw, C, M], M = channel_multiplier.")
    strides: TfSteps
    padding: TfPadding
    data_format: DataFormat | None = None
    dilations: TfSteps | None = None


class TfSeparableConv2dRequest(OpOptions):
    """``tf.nn.separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,
    data_format, dilations)``."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEPARABLE]})
    input: Array4D
    depthwise_filter: Array4D = Field(description="[kh, kw, C, M].")
    pointwise_filter: Array4D = Field(description="[1, 1, C*M, O].")
    strides: TfSteps
    padding: TfPadding
    data_format: DataFormat | None = None
    dilations: TfSteps | None = None


class TorchConv2dRequest(OpOptions):
    """``torch.nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups)``."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.TORCH]})
    input: Array3or4D = Field(description="[N, C, H, W] or unbatched [C, H, W].")
    weight: Array4D = Field(description="[O, C/groups, kh, kw].")
    bias: Array1D | None = Field(None, description="[O], or null.")
    stride: TorchPair = 1
    padding: TorchPadding = 0
    dilation: TorchPair = 1
    groups: StrictPositive = 1


# The op each request model mirrors (the engine function's name).
OP_MODELS: dict[str, type[OpOptions]] = {
    "conv2d": TfConv2dRequest,
    "depthwise_conv2d": TfDepthwiseConv2dRequest,
    "separable_conv2d": TfSeparableConv2dRequest,
    "torch_conv2d": TorchConv2dRequest,
}
# Array-valued fields of each op, the input first: the engine op's array arguments.
ARRAY_FIELDS: dict[str, tuple[str, ...]] = {op: array_arguments(op) for op in OP_MODELS}


# The engine's Padding2D as the responses document it: its fields, stated once, there.
PaddingInfo = create_model(
    "PaddingInfo", __module__=__name__,
    **{name: (hint, ...) for name, hint in get_type_hints(Padding2D).items()},
)


class OpResponse(BaseModel):
    """The result of an op endpoint."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEPTHWISE_RESPONSE]})
    op: str
    output: Any = Field(description="Nested list in the input's layout, or {dtype, shape, data}.")
    shape: list[int]
    dtype: FloatType
    data_format: DataFormat
    padding: PaddingInfo = Field(description="Resolved per-side zero padding and output size.")
    costs: dict[str, Any] = Field(
        description="Weights, biases and MACs of this configuration as a standard, grouped, "
        "depthwise, pointwise and separable layer; `layer` names the row this op is."
    )
    depthwise_output: Any = Field(None, description="separable_conv2d: the depthwise stage.")
    depthwise_shape: list[int] | None = None


# ------------------------------------------------------------------ costs

Size = integer(ge=1, le=MAX_SIZE)
SizePair = Size | Annotated[list[Size], Field(min_length=1, max_length=2)]
SweepParameter = Literal[
    "in_channels", "out_channels", "kernel_hw", "channel_multiplier", "input_hw"
]


class Sweep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameter: SweepParameter
    values: list[SizePair] = Field(min_length=1, max_length=256)


class CostsRequest(BaseModel):
    """A configuration by shapes only (``app.engine.conv_costs``), and an optional sweep."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.COSTS]})
    input_hw: SizePair
    in_channels: Size
    out_channels: Size
    kernel_hw: SizePair
    channel_multiplier: Size = 1
    groups: Size = 1
    strides: SizePair = 1
    padding: Annotated[
        Literal["SAME", "VALID", "same", "valid"]
        | Annotated[
            list[Annotated[list[StrictNonNegative], Field(min_length=2, max_length=2)]],
            Field(min_length=2, max_length=2),
        ],
        Field(description="'SAME', 'VALID' or [[top, bottom], [left, right]]."),
    ] = "SAME"
    dilations: SizePair = 1
    batch: Size = 1
    sweep: Sweep | None = Field(None, description="Vary one parameter, the others fixed.")


# -------------------------------------------------------------- factorize

class FactorizePairRequest(BaseModel):
    """A separable pair: its equivalent standard kernel."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [examples.FACTORIZE_PAIR]})
    depthwise_filter: Array4D = Field(description="[kh, kw, C, M].")
    pointwise_filter: Array4D = Field(description="[1, 1, C*M, O].")
    dtype: FloatType = "float64"
    output_encoding: Literal["list", "base64"] = "list"


class FactorizeApproximationRequest(BaseModel):
    """A standard kernel: its best separable approximation."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [examples.FACTORIZE_APPROXIMATE]})
    filters: Array4D = Field(description="A standard kernel [kh, kw, C, O].")
    channel_multiplier: StrictPositive = Field(
        1, description="M of the returned approximation of `filters`."
    )
    dtype: FloatType = "float64"
    output_encoding: Literal["list", "base64"] = "list"


FACTORIZE_MODELS: dict[str, type[BaseModel]] = {
    "pair": FactorizePairRequest, "approximation": FactorizeApproximationRequest,
}


def _factorize_mode(value: Any) -> str | None:
    """``pair`` when a filter of the pair is given, ``approximation`` otherwise; None
    (refused) when both questions are asked at once."""
    if isinstance(value, BaseModel):
        return "pair" if isinstance(value, FactorizePairRequest) else "approximation"
    if not isinstance(value, dict):
        return "approximation"  # refused as not an object by that model
    pair = "depthwise_filter" in value or "pointwise_filter" in value
    if pair and "filters" in value:
        return None
    return "pair" if pair else "approximation"


FactorizeRequest = Annotated[
    Annotated[FactorizePairRequest, Tag("pair")]
    | Annotated[FactorizeApproximationRequest, Tag("approximation")],
    Discriminator(
        _factorize_mode,
        custom_error_type="invalid_configuration",
        custom_error_message=(
            "Give either depthwise_filter and pointwise_filter (for their equivalent kernel) "
            "or filters (for its separable approximation), not both"
        ),
    ),
    Field(description="Either a separable pair (-> its equivalent kernel) or a standard "
          "kernel (-> its best separable approximation), never both."),
]


# ------------------------------------------------------- op-tagged bodies

def _tagged(model: type[OpOptions], op: str, extra: type[BaseModel] | None = None) -> Any:
    """``model`` with an ``op`` literal in front (and ``extra``'s fields), for unions."""
    bases = (model,) if extra is None else (model, extra)
    name = f"{op.title().replace('_', '')}{'Trace' if extra else 'Code'}Request"
    fields = {"op": Literal[op]}
    namespace: dict[str, Any] = {
        "__annotations__": fields,
        "__module__": __name__,
        "model_config": ConfigDict(extra="forbid", json_schema_extra=None),
    }
    return type(name, bases, namespace)


class TraceOptions(BaseModel):
    """How the trace is encoded."""

    model_config = ConfigDict(extra="forbid")
    encoding: Literal["binary", "json"] = Field(
        "binary",
        description="binary: float arrays as {dtype, shape, data} base64 (float32 when "
        "precision <= 7, else float64); json: nested lists of numbers rounded to `precision`.",
    )
    precision: integer(ge=1, le=17) = Field(
        6, description="Significant digits of every float sent."
    )
    detail: Literal["compact", "full"] = Field(
        "compact",
        description="compact: only values the page cannot look up (products, sums); "
        "full: every per-step field of the engine's trace.",
    )
    chunk_size: integer(ge=1, le=4096) = Field(
        512, description="Steps per chunk event (lowered for very wide steps)."
    )
    batch_index: integer(ge=0, le=MAX_STEP) = Field(
        0, description="Which element of the input batch is traced."
    )
    backward: Annotated[bool, Strict()] = Field(
        False,
        description="true: stream the backward pass instead, the events of POST "
        "/api/v1/trace/backward (stages pointwise_gradient for separable, filter_gradient, "
        "input_gradient; every chunk carries every field, so detail is not read); for "
        "conv2d, depthwise_conv2d and separable_conv2d.",
    )
    out_backprop: Array4D | None = Field(
        None, description="With backward: dL/d(output) in the output's shape and data "
        "format; null: all ones (the gradient of L = sum of the output).",
    )


TRACE_MODELS = {op: _tagged(model, op, TraceOptions) for op, model in OP_MODELS.items()}
CODE_MODELS = {op: _tagged(model, op) for op, model in OP_MODELS.items()}


def _op_union(models: dict[str, Any], description: str) -> Any:
    members = tuple(Annotated[model, Tag(op)] for op, model in models.items())
    return Annotated[
        members[0] | members[1] | members[2] | members[3],
        Discriminator("op"),
        Field(description=description),
    ]


TraceRequest = _op_union(TRACE_MODELS, "op plus that op's fields, and stream options.")
CodeRequest = _op_union(CODE_MODELS, "op plus that op's fields.")


class CodeResponse(BaseModel):
    op: str
    tf: str = Field(description="tf.nn code (TensorFlow 2).")
    keras: str = Field(description="Keras layer code with set_weights.")
    pytorch: str = Field(description="torch.nn.functional code; `output` holds the result.")
    output_shape: list[int]
    keras_count_params: int = Field(
        description="What the Keras snippet's layer reports as count_params() (no bias, as "
        "tf.nn has none; PyTorch's bias when given)."
    )


# ----------------------------------------------------------- trace events
# Documentation of the NDJSON stream: one of these objects per line.

class TraceHeaderEvent(BaseModel):
    event: Literal["header"]
    format: int = Field(description="Version of this frame format (1).")
    encoding: Literal["binary", "json"]
    dtype: Literal["float32", "float64"] | None = Field(
        description="Element type of binary float arrays; null for json."
    )
    precision: int
    detail: Literal["compact", "full"]
    chunk_size: int = Field(description="Steps per chunk (the last of a stage may be shorter).")
    op: str
    data_format: str
    batch_index: int
    in_channels: int
    input_hw: list[int]
    kernel_hw: list[int]
    strides: list[int]
    dilations: list[int]
    groups: int
    channel_multiplier: int | None = Field(None, description="Depthwise and separable only.")
    out_channels: int
    padding: PaddingInfo
    stages: list[dict[str, Any]] = Field(
        description="Per stage: name, steps, order (index names, slowest first), "
        "output_channels, output_hw."
    )
    total_steps: int
    fields: dict[str, list[str]] = Field(description="The fields each stage's chunks carry.")
    input: Any = Field(description="(C, H, W) of the traced batch element.")
    padded_input: Any = Field(description="(C, Hp, Wp): the windows read from here.")
    kernels: dict[str, Any] = Field(
        description="depthwise_filter (C, M, kh, kw) [+ pointwise_filter (C*M, O)], or "
        "weight (O, C/groups, kh, kw) and bias (O,) or null."
    )


class TraceChunkEvent(BaseModel):
    event: Literal["chunk"]
    stage: Literal["depthwise", "standard", "pointwise"]
    start: int = Field(description="Stage-local index of the first step.")
    global_start: int = Field(description="Index of the first step over all stages.")
    count: int = Field(description="Steps in this chunk: every field's leading dimension.")
    fields: dict[str, Any]


class TraceStageEndEvent(BaseModel):
    event: Literal["stage_end"]
    stage: str
    output: Any = Field(description="(channels, Ho, Wo): the stage's finished feature maps.")


class TraceEndEvent(BaseModel):
    event: Literal["end"]
    total_steps: int
    chunks: int = Field(description="Chunk events sent.")
    bytes: int = Field(description="Bytes of every line before this one (uncompressed).")


class TraceErrorEvent(BaseModel):
    event: Literal["error"]
    error: dict[str, Any] = Field(description="The error envelope's body; the stream ends.")


TraceEvent = Annotated[
    TraceHeaderEvent | TraceChunkEvent | TraceStageEndEvent | TraceEndEvent | TraceErrorEvent,
    Field(discriminator="event"),
]
