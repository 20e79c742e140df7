"""``POST /api/v1/trace`` with ``"op": "block"``: a block's stages in order as one stream.

The body is the fields of ``POST /api/v1/blocks`` that make the block (``block``,
``in_channels``, ``out_channels``, ``expansion``, ``strides``, ``order``,
``activation_between``, ``project_activation``, ``fold_batch_norm``, ``input_hw``,
``seed``) beside ``"op": "block"``, plus the trace's stream options (``encoding``,
``precision``, ``detail``, ``chunk_size``). Checked whole before the first byte: the
block's own work limits (``check_block``), ``max_frames`` on its total steps and
``max_stream_bytes`` on an estimate of the stream; bad fields are 422s naming them.

The stream has the trace's events (``app/api/frames.py``): a ``header`` whose ``stages``
list each stage (a convolution's with ``trace``, the header of its own one-stage trace),
then per stage its ``chunk`` events and one ``stage_end`` (named by the block's stage
names), then ``end``. ``BlockFrameEncoder`` is the trace's ``FrameEncoder`` with each
stage's fields.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import ConfigDict, Discriminator, Field, Tag

from app import engine
from app.api import limits
from app.api.blocks import BlockFields, block_input, build_block, check_block
from app.api.errors import ApiError, configuration_error
from app.api.frames import FORMAT_VERSION, MAX_CHUNK_VALUES, FrameEncoder, step_widths
from app.api.schemas import TRACE_MODELS as OP_TRACE_MODELS
from app.api.schemas import TraceOptions
from app.settings import Settings

EXAMPLE: dict[str, Any] = {
    "op": "block", "block": "inverted_residual", "in_channels": 4, "out_channels": 4,
    "expansion": 6, "strides": 1, "input_hw": 8, "seed": 0, "encoding": "json",
}


class BlockTraceRequest(BlockFields, TraceOptions):
    """``op: "block"``: the block of ``POST /api/v1/blocks`` (its fields, flat beside ``op``)
    and the stream options; its stages are streamed in order."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})
    op: Literal["block"]


# The trace's body: an op's fields, or a block's; tagged by ``op``.
TRACE_MODELS: dict[str, Any] = {**OP_TRACE_MODELS, "block": BlockTraceRequest}
_MEMBERS = tuple(Annotated[model, Tag(op)] for op, model in TRACE_MODELS.items())
TraceRequest = Annotated[
    _MEMBERS[0] | _MEMBERS[1] | _MEMBERS[2] | _MEMBERS[3] | _MEMBERS[4],
    Discriminator("op"),
    Field(description="op plus that op's fields (or op: block plus a block's fields, "
          "its stages streamed in order), and stream options."),
]
BLOCK_FIELDS = tuple(BlockFields.model_fields)


def is_block(request: Any) -> bool:
    return getattr(request, "op", None) == "block"


# Per-step fields of an elementwise stage in full detail; maps are (n, H, W), the rest (n,).
_ELEMENTWISE_FULL = {
    "batch_norm": ("channel", "input", "output", "scale", "shift"),
    "activation": ("channel", "input", "output"),
    "add": ("channel", "input", "output", "residual"),
}
_MAP_FIELDS = frozenset({"input", "output", "residual"})


class BlockFrameEncoder(FrameEncoder):
    """The trace's encoder for a block: each stage's fields by its kind (see ``step_fields``)."""

    def __init__(self, encoding: str, precision: int, detail: str, trace: engine.BlockTrace
                 ) -> None:
        super().__init__(encoding, precision, detail)
        self._stages = {info.name: (info, stage)
                        for info, stage in zip(trace.stages, trace.block.stages, strict=True)}

    def _conv_encoder(self, stage: Any) -> FrameEncoder:
        return FrameEncoder(self.encoding, self.precision, self.detail, stage.bias is not None)

    def step_fields(self, stage: str) -> tuple[str, ...]:
        """A convolution stage sends its trace stage's fields, plus ``output`` (and, in full,
        ``bias``) when a folded BatchNorm gave it a bias; an elementwise stage sends its
        ``output`` map per channel (compact), or every field (full)."""
        info, block_stage = self._stages[stage]
        if info.trace_stage is None:
            return _ELEMENTWISE_FULL[info.kind] if self.detail == "full" else ("output",)
        fields = self._conv_encoder(block_stage).step_fields(info.trace_stage)
        if block_stage.bias is not None and info.trace_stage != "standard":
            fields += ("bias", "output") if self.detail == "full" else ("output",)
        return fields

    def widths(self, trace: engine.BlockTrace) -> dict[str, int]:
        """Values per step each stage sends, for chunk sizing and the size estimate."""
        widths = {}
        for info in trace.stages:
            block_stage = self._stages[info.name][1]
            fields = self.step_fields(info.name)
            if info.trace_stage is None:
                pixels = info.input_shape[1] * info.input_shape[2]
                widths[info.name] = sum(pixels if name in _MAP_FIELDS else 1 for name in fields)
                continue
            plan = trace.conv_trace(info.name).plan
            width = step_widths(plan, (info.trace_stage,), self._conv_encoder(block_stage))
            extra = len(fields) - len(self._conv_encoder(block_stage).step_fields(
                info.trace_stage))
            per_value = info.output_channels if info.trace_stage == "pointwise" else 1
            widths[info.name] = width[info.trace_stage] + extra * per_value
        return widths

    def _encoded(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return self.array(value)
        if isinstance(value, dict):
            return {key: self._encoded(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._encoded(item) for item in value]
        return value

    def block_header(self, trace: engine.BlockTrace, chunk_size: int, config: dict[str, Any],
                     costs: engine.BlockCost) -> bytes:
        header = trace.header()
        stages = []
        for entry, cost in zip(header.pop("stages"), costs.stages, strict=True):
            if "trace" in entry:
                sub = entry["trace"]
                sub["fields"] = {sub["stages"][0]["name"]: list(self.step_fields(entry["name"]))}
            stages.append({**entry, "cost": cost.as_dict()})
        event = {
            "event": "header", "format": FORMAT_VERSION, "op": "block",
            "encoding": self.encoding,
            "dtype": self.binary_dtype.name if self.encoding == "binary" else None,
            "precision": self.precision, "detail": self.detail, "chunk_size": chunk_size,
            "config": config, "name": header["block"], "batch_index": header["batch_index"],
            "input_shape": header["input_shape"], "total_steps": header["total_steps"],
            "costs": {key: value for key, value in costs.as_dict().items() if key != "stages"},
            "fields": {info.name: list(self.step_fields(info.name)) for info in trace.stages},
            "stages": self._encoded(stages),
            "input": self.array(header["input"]),
        }
        return self.line(event)


def estimate_block_bytes(trace: engine.BlockTrace, encoder: BlockFrameEncoder,
                         widths: dict[str, int]) -> int:
    """The stream's size from shapes: the header's arrays (every convolution stage's input,
    padded input and kernels), every stage's map, every step's values."""
    values = math.prod(trace.input.shape)
    for info in trace.stages:
        values += math.prod(info.output_shape) + info.steps * widths[info.name]
        if info.trace_stage is not None:
            sub = trace.conv_trace(info.name).header()
            values += sub["input"].size + sub["padded_input"].size + sum(
                array.size for array in sub["kernels"].values() if array is not None)
        else:
            values += 2 * info.output_channels  # BatchNorm's scale and shift at most
    return int(values * encoder.value_bytes)


def open_block_trace(request: BlockTraceRequest, settings: Settings
                     ) -> tuple[engine.BlockTrace, BlockFrameEncoder, bytes, int]:
    """Everything before the first byte of a block's trace: its limits, the engine's trace,
    the encoder, the header line and the chunk size."""
    if request.batch_index != 0:
        raise ApiError(422, "invalid_configuration", "batch_index must be 0 for a block: its "
                       f"input is one seeded example, got {request.batch_index}", "batch_index")
    block = build_block(request)
    shape = (1, request.input_hw, request.input_hw, request.in_channels)
    try:
        costs = engine.block_costs(block, shape)
    except ValueError as error:  # a chain whose shapes do not fit (the schema cannot say)
        raise configuration_error(error, BLOCK_FIELDS) from None
    check_block(costs, settings)
    limits.check_frames(engine.block_trace_step_count(block, shape), settings)
    trace = engine.build_block_trace(block, block_input(request))
    encoder = BlockFrameEncoder(request.encoding, request.precision, request.detail, trace)
    widths = encoder.widths(trace)
    estimated = estimate_block_bytes(trace, encoder, widths)
    limits.check_stream_bytes(estimated, settings)
    chunk_size = max(1, min(request.chunk_size, MAX_CHUNK_VALUES // max(widths.values())))
    config = {name: getattr(request, name) for name in BLOCK_FIELDS}
    return (trace, encoder, encoder.block_header(trace, chunk_size, config, costs), chunk_size,
            estimated)

