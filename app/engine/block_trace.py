"""Block traces: a block's stages in order as one trace (one configuration).

Each convolution stage is traced by ``build_trace`` on its real weights, its input the
previous stage's output (``run_block``'s maps): a ``depthwise`` stage as the trace's
depthwise stage (steps ``(q, r, i, j)``), a ``conv`` stage as its standard stage
(``(o, i, j)``), a ``pointwise`` stage as a separable trace's pointwise stage (steps
``(i, j)``: the C-vector at a pixel times the C x O matrix). A stage with a bias (a
BatchNorm folded into it) adds ``bias`` and ``output = sum + bias`` to its steps.

An elementwise stage (BatchNorm as ``scale * x + shift``, an activation, the residual
add) has one step per output channel ``c`` (order ``("c",)``): the channel's input
map, its output map, and BatchNorm's ``scale[c]`` and ``shift[c]`` or the add's
``residual`` map. Nothing is computed for it that ``run_block`` did not compute: the
steps are slices of its maps.

Every stage ends with its finished map, ``run_block``'s output of that stage.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.arguments import float_array, positive_int
from app.engine.blocks import (
    AddStage,
    BatchNormStage,
    Block,
    ConvStage,
    Shape,
    block_shapes,
    run_block,
)
from app.engine.trace import StageResult, Trace, TraceChunk, _step_index, build_trace

# The trace stage each convolution kind is explained by.
TRACE_STAGE = {"conv": "standard", "depthwise": "depthwise", "pointwise": "pointwise"}
_ORDERS = {"standard": ("o", "i", "j"), "depthwise": ("q", "r", "i", "j"),
           "pointwise": ("i", "j")}
ELEMENTWISE_ORDER = ("c",)


@dataclass(frozen=True)
class BlockStageInfo:
    """One stage of a block trace: its name and kind (the block's), its step count and order.

    ``trace_stage`` is the trace stage a convolution is explained by (``standard``,
    ``depthwise``, ``pointwise``), None for an elementwise stage. Shapes are (C, H, W)
    of batch element ``batch_index``.
    """

    name: str
    kind: str
    trace_stage: str | None
    steps: int
    order: tuple[str, ...]
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]

    @property
    def output_channels(self) -> int:
        return self.output_shape[0]

    @property
    def output_hw(self) -> tuple[int, int]:
        return self.output_shape[1], self.output_shape[2]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "trace_stage": self.trace_stage,
            "steps": self.steps, "order": list(self.order),
            "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
            "output_channels": self.output_channels, "output_hw": list(self.output_hw),
        }


def _channels_first(shape: Shape) -> tuple[int, int, int]:
    return shape[3], shape[1], shape[2]


def plan_block_trace(block: Block, input_shape: Sequence[int]) -> tuple[BlockStageInfo, ...]:
    """Every stage's steps from shapes alone (no array touched): check limits with this.

    input_shape : (N, H, W, C). Raises ``ValueError`` naming a stage that does not fit.
    """
    shapes = block_shapes(block, input_shape)
    infos = []
    for stage, before, after in zip(block.stages, shapes, shapes[1:], strict=False):
        pixels = after[1] * after[2]
        if isinstance(stage, ConvStage):
            trace_stage = TRACE_STAGE[stage.kind]
            steps = pixels if trace_stage == "pointwise" else after[3] * pixels
            order = _ORDERS[trace_stage]
        else:
            trace_stage, steps, order = None, after[3], ELEMENTWISE_ORDER
        infos.append(BlockStageInfo(stage.name, stage.kind, trace_stage, steps, order,
                                    _channels_first(before), _channels_first(after)))
    return tuple(infos)


def block_trace_step_count(block: Block, input_shape: Sequence[int]) -> int:
    """Total steps of a block trace over all its stages, from shapes alone."""
    return sum(info.steps for info in plan_block_trace(block, input_shape))


def _conv_trace(stage: ConvStage, stage_input: np.ndarray, batch_index: int) -> Trace:
    """``build_trace`` of one convolution stage on its input (N, H, W, C), no bias."""
    kernel = stage.kernel.astype(stage_input.dtype, copy=False)
    layout = {"strides": list(stage.strides), "padding": stage.padding.upper(),
              "data_format": "NHWC", "dilations": list(stage.dilations)}
    if stage.kind == "depthwise":
        return build_trace("depthwise_conv2d", {"input": stage_input, "filter": kernel,
                                                **layout}, batch_index)
    if stage.kind == "conv":
        return build_trace("conv2d", {"input": stage_input, "filters": kernel, **layout},
                           batch_index)
    # A 1x1 stage is the pointwise half of a separable trace whose depthwise half is the
    # identity (a 1x1 kernel of ones: x * 1 is x exactly), so its steps are the very
    # pointwise steps a separable convolution shows; only that half is streamed.
    identity = np.ones((1, 1, stage_input.shape[3], 1), stage_input.dtype)
    return build_trace("separable_conv2d", {"input": stage_input, "depthwise_filter": identity,
                                            "pointwise_filter": kernel, "strides": [1, 1],
                                            "padding": "VALID", "data_format": "NHWC"},
                       batch_index)


class BlockTrace:
    """The steps of one batch element of a block, stage by stage; build with
    ``build_block_trace``.

    stages : one ``BlockStageInfo`` per block stage, in order
    outputs : every stage's map (C, Ho, Wo), ``run_block``'s, of the traced element
    total_steps : steps over all stages
    """

    def __init__(self, block: Block, stages: tuple[BlockStageInfo, ...], batch_index: int,
                 block_input: np.ndarray, outputs: tuple[np.ndarray, ...],
                 traces: dict[str, Trace]) -> None:
        """block_input : (C, H, W); outputs : one (C, Ho, Wo) per stage; traces : the
        ``Trace`` of each convolution stage, by stage name."""
        self.block = block
        self.stages = stages
        self.batch_index = batch_index
        self.total_steps = sum(stage.steps for stage in stages)
        self.input = block_input
        self.outputs = outputs
        self._traces = traces
        self._maps = {"input": block_input, **{
            info.name: output for info, output in zip(stages, outputs, strict=True)}}

    def conv_trace(self, name: str) -> Trace:
        """The ``Trace`` of convolution stage ``name`` (its plan, its header)."""
        return self._traces[name]

    def header(self) -> dict[str, Any]:
        """Everything but the steps; JSON-ready apart from the arrays.

        ``stages``: per stage ``BlockStageInfo.as_dict()`` plus the block's description of
        it (``Block.describe``), and ``trace``, a convolution stage's trace header
        (``Trace.header()``: its input, padded input, kernels with ``bias``, and its one
        streamed stage), or BatchNorm's ``scale``/``shift`` (C,) arrays.
        """
        stages = []
        for info, described, stage in zip(self.stages, self.block.describe(),
                                           self.block.stages, strict=True):
            entry: dict[str, Any] = {**described, **info.as_dict()}
            if isinstance(stage, ConvStage):
                entry["trace"] = self._conv_header(info, stage)
            elif isinstance(stage, BatchNormStage):
                scale, shift = stage.scale_shift()
                entry.update(scale=scale.astype(self.input.dtype),
                             shift=shift.astype(self.input.dtype))
            stages.append(entry)
        return {
            "block": self.block.name, "batch_index": self.batch_index,
            "input_shape": list(self.input.shape), "input": self.input,
            "stages": stages, "total_steps": self.total_steps,
        }

    def _conv_header(self, info: BlockStageInfo, stage: ConvStage) -> dict[str, Any]:
        trace = self._traces[info.name]
        header = trace.header()
        streamed = next(s for s in trace.stages if s.name == info.trace_stage)
        header.update(stages=[streamed.as_dict()], total_steps=streamed.steps)
        kernels = dict(header["kernels"])
        if info.trace_stage == "pointwise":
            kernels.pop("depthwise_filter")  # the identity half, never streamed
        kernels["bias"] = None if stage.bias is None else stage.bias.astype(self.input.dtype)
        header["kernels"] = kernels
        return header

    def chunks(self, chunk_size: int = 512) -> Iterator[TraceChunk | StageResult]:
        """For each stage in order, its steps in chunks of ``chunk_size``, then its map.

        Lazy: a chunk is computed when the iterator reaches it. Chunks are named by the
        block's stage names.
        """
        return self._chunks(positive_int(chunk_size, "chunk_size"))

    def _chunks(self, chunk_size: int) -> Iterator[TraceChunk | StageResult]:
        global_start = 0
        for index, info in enumerate(self.stages):
            for start in range(0, info.steps, chunk_size):
                stop = min(start + chunk_size, info.steps)
                yield TraceChunk(info.name, start, global_start + start,
                                 self.stage_fields(index, start, stop))
            yield StageResult(info.name, self.outputs[index])
            global_start += info.steps

    def step(self, k: int) -> dict[str, Any]:
        """Step ``k`` over all stages: its fields plus ``"stage"`` and ``"stage_step"``."""
        k = _step_index(k, self.total_steps)
        start = 0
        for index, info in enumerate(self.stages):
            if k < start + info.steps:
                local = k - start
                fields = self.stage_fields(index, local, local + 1)
                return {"stage": info.name, "stage_step": local,
                        **{name: values[0] for name, values in fields.items()}}
            start += info.steps
        raise AssertionError("unreachable: k was checked against total_steps")

    def stage_fields(self, index: int, start: int, stop: int) -> dict[str, np.ndarray]:
        """The fields of steps ``start .. stop - 1`` of stage ``index``, each (n, ...)."""
        info = self.stages[index]
        stage = self.block.stages[index]
        if isinstance(stage, ConvStage):
            fields = self._traces[info.name].stage_fields(info.trace_stage, start, stop)
            if stage.bias is not None:
                fields = self._with_bias(info, stage.bias.astype(self.input.dtype), fields)
            return fields
        previous = self._maps[self.stages[index - 1].name] if index else self.input
        channel = np.arange(start, stop)
        fields = {"channel": channel, "input": previous[start:stop],  # (n, H, W)
                  "output": self.outputs[index][start:stop]}
        if isinstance(stage, BatchNormStage):
            scale, shift = stage.scale_shift()
            fields.update(scale=scale[start:stop].astype(self.input.dtype),
                          shift=shift[start:stop].astype(self.input.dtype))
        elif isinstance(stage, AddStage):
            fields["residual"] = self._maps[stage.source][start:stop]  # (n, H, W)
        return fields

    @staticmethod
    def _with_bias(info: BlockStageInfo, bias: np.ndarray, fields: dict[str, np.ndarray]
                   ) -> dict[str, np.ndarray]:
        """A folded BatchNorm's bias: ``output = sum + bias`` of each step."""
        if info.trace_stage == "pointwise":
            step_bias = np.broadcast_to(bias, fields["outputs"].shape)  # (n, O)
            return {**fields, "bias": step_bias, "output": fields["outputs"] + bias}
        step_bias = bias.take(fields["out_channel"])  # (n,)
        return {**fields, "bias": step_bias, "output": fields["sum"] + step_bias}


def build_block_trace(block: Block, input: Any, batch_index: int = 0) -> BlockTrace:
    """Run the block on ``input`` (N, H, W, C) and prepare the trace of element
    ``batch_index``; no step is computed yet.

    Raises ``ValueError`` naming the stage or argument that does not fit.
    """
    x = float_array(input, "input", 4)
    stages = plan_block_trace(block, x.shape)
    if isinstance(batch_index, bool) or not isinstance(batch_index, numbers.Integral) or not (
            0 <= batch_index < x.shape[0]):
        raise ValueError(f"batch_index must be in 0..{x.shape[0] - 1} for an input batch of "
                         f"{x.shape[0]}, got {batch_index!r}")
    batch_index = int(batch_index)
    results = run_block(block, x)
    traces: dict[str, Trace] = {}
    stage_input = x
    for stage, result in zip(block.stages, results, strict=True):
        if isinstance(stage, ConvStage):
            traces[stage.name] = _conv_trace(stage, stage_input, batch_index)
        stage_input = result.output

    def element(y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(y[batch_index].transpose(2, 0, 1))  # (C, H, W)

    outputs = tuple(element(result.output) for result in results)
    for output in outputs:
        output.setflags(write=False)
    block_input = element(x)
    block_input.setflags(write=False)
    return BlockTrace(block, stages, batch_index, block_input, outputs, traces)
