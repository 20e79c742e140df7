"""Teaching traces: every multiply-add of one batch element, step by step.

A trace lists the steps of one configuration in a fixed order: depthwise steps
(channel ``q``, multiplier ``r``, output position ``(i, j)``), or standard steps
(output channel ``o``, ``(i, j)``), then the pointwise steps of a separable
convolution (pixel ``(i, j)``). Each step carries the window under the kernel
(padding cells and dilation gaps included), the weights, the products and the
sum, which is the engine op's output value at that position.

Steps are computed lazily, a chunk at a time and vectorised within the chunk, so
the first chunk is ready quickly whatever the total size and abandoning the
generator stops the work. The finished feature maps of each stage come from the
engine ops themselves; the trace only explains them.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine import kernels, ops, plans
from app.engine.arguments import array_arguments, float_array, positive_int
from app.engine.plans import ConvPlan

# The op each trace explains, by the name the API uses; their signatures are
# the accepted ``arguments``.
_OPS: dict[str, Callable[..., Any]] = {
    "conv2d": ops.conv2d,
    "depthwise_conv2d": ops.depthwise_conv2d,
    "separable_conv2d": ops.separable_conv2d,
    "torch_conv2d": ops.torch_conv2d,
}


@dataclass(frozen=True)
class StageInfo:
    """One stage of a trace: its name, step count and step order.

    ``order`` names the indices of a step, slowest first (row-major): depthwise
    ``("q", "r", "i", "j")``, standard ``("o", "i", "j")``, pointwise ``("i", "j")``.
    """

    name: str
    steps: int
    order: tuple[str, ...]
    output_channels: int
    output_hw: tuple[int, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "steps": self.steps,
            "order": list(self.order),
            "output_channels": self.output_channels,
            "output_hw": list(self.output_hw),
        }


# eq=False: the fields hold arrays, which have no single truth value to compare.
@dataclass(frozen=True, eq=False)
class TraceChunk:
    """Consecutive steps of one stage.

    ``start`` is the stage-local index of the first step, ``global_start`` its
    index over all stages; every array in ``fields`` has the chunk length ``n``
    as its leading dimension.
    """

    stage: str
    start: int
    global_start: int
    fields: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        """The chunk length ``n``."""
        return len(next(iter(self.fields.values())))


@dataclass(frozen=True, eq=False)
class StageResult:
    """The finished feature maps of a stage: ``output`` has shape (channels, Ho, Wo)."""

    stage: str
    output: np.ndarray


def _stages(plan: ConvPlan) -> tuple[StageInfo, ...]:
    height, width = plan.output_hw
    pixels = height * width
    if plan.op == "conv2d" or plan.op == "torch_conv2d":
        return (
            StageInfo(
                "standard", plan.out_channels * pixels, ("o", "i", "j"), plan.out_channels,
                plan.output_hw,
            ),
        )
    depthwise = StageInfo(
        "depthwise", plan.spatial_out_channels * pixels, ("q", "r", "i", "j"),
        plan.spatial_out_channels, plan.output_hw,
    )
    if plan.op == "depthwise_conv2d":
        return (depthwise,)
    pointwise = StageInfo("pointwise", pixels, ("i", "j"), plan.out_channels, plan.output_hw)
    return (depthwise, pointwise)


def trace_step_count(plan: ConvPlan) -> int:
    """Total steps of a trace over all its stages, from the plan's shapes alone."""
    return sum(stage.steps for stage in _stages(plan))


@functools.cache
def _parameters(op: str) -> Mapping[str, inspect.Parameter]:
    return inspect.signature(_OPS[op]).parameters


def _bind(op: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The op's keyword arguments with its defaults filled in."""
    if op not in _OPS:
        raise ValueError(f"op must be one of {', '.join(sorted(_OPS))}; got {op!r}")
    if not isinstance(arguments, Mapping):
        raise ValueError(f"arguments must map {op}'s argument names to values")
    parameters = _parameters(op)
    for name in arguments:
        if name not in parameters:
            raise ValueError(f"{name} is not an argument of {op}; it takes {', '.join(parameters)}")
    for name, parameter in parameters.items():
        if parameter.default is inspect.Parameter.empty and name not in arguments:
            raise ValueError(f"{name} is required by {op}")
    return {
        name: arguments[name] if name in arguments else parameter.default
        for name, parameter in parameters.items()
    }


def _shape_of(value: Any, name: str) -> tuple[int, ...]:
    try:
        return np.shape(value)
    except ValueError:
        raise ValueError(f"{name} must be a rectangular array of numbers") from None


def _plan(op: str, bound: dict[str, Any]) -> ConvPlan:
    def shape(name: str) -> tuple[int, ...]:
        return _shape_of(bound[name], name)

    layout = {name: bound[name] for name in ("strides", "padding", "data_format", "dilations")
              if name in bound}
    if op == "conv2d":
        return plans.plan_conv2d(shape("input"), shape("filters"), **layout)
    if op == "depthwise_conv2d":
        return plans.plan_depthwise_conv2d(shape("input"), shape("filter"), **layout)
    if op == "separable_conv2d":
        return plans.plan_separable_conv2d(
            shape("input"), shape("depthwise_filter"), shape("pointwise_filter"), **layout
        )
    plan = plans.plan_torch_conv2d(
        shape("input"), shape("weight"), bound["stride"], bound["padding"], bound["dilation"],
        bound["groups"],
    )
    if bound["bias"] is not None:
        plans.check_bias_shape(plan, shape("bias"))
    return plan


def plan_trace(op: str, arguments: Mapping[str, Any]) -> ConvPlan:
    """Validate a trace request from shapes alone, before any array is converted.

    op : "conv2d", "depthwise_conv2d", "separable_conv2d" or "torch_conv2d"
    arguments : the op's keyword arguments, exactly as the op function takes them.
    Raises ``ValueError`` naming the offending argument.
    """
    return _plan(op, _bind(op, arguments))


def _check_batch_index(batch_index: Any, batch: int) -> int:
    if isinstance(batch_index, bool) or not isinstance(batch_index, numbers.Integral):
        raise ValueError(f"batch_index must be an integer, got {batch_index!r}")
    if not 0 <= batch_index < batch:
        raise ValueError(
            f"batch_index must be in 0..{batch - 1} for an input batch of {batch}, "
            f"got {batch_index}"
        )
    return int(batch_index)


def _step_index(k: Any, total_steps: int) -> int:
    """``k`` as a step index of a trace of ``total_steps``; ``IndexError`` unless it is one."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise IndexError(f"k must be an integer step index, got {k!r}")
    if not 0 <= k < total_steps:
        raise IndexError(f"k must be in 0..{total_steps - 1}, got {k}")
    return int(k)


def _channels_first(y: np.ndarray, plan: ConvPlan) -> np.ndarray:
    """y : (1, H, W, C) or (1, C, H, W) per the plan's data format. Returns (C, H, W)."""
    return np.ascontiguousarray(ops.to_nhwc(y, plan)[0].transpose(2, 0, 1))  # (C, H, W)


def _tap_coordinates(plan: ConvPlan) -> tuple[np.ndarray, np.ndarray]:
    """Input row under each kernel row and column under each kernel column.

    Returns rows (Ho, kh) and cols (Wo, kw) in unpadded coordinates,
    ``rows[i, di] = s_h*i + d_h*di - pad_top``: negative or ``>= H`` is padding.
    """
    pads = plan.padding
    padded_height = plan.input_hw[0] + pads.pad_top + pads.pad_bottom
    padded_width = plan.input_hw[1] + pads.pad_left + pads.pad_right
    # The windows of a grid of (row, col) coordinates, so the positions come from
    # the very formula (window_view) that gathers the values.
    grid = np.indices((padded_height, padded_width)).transpose(1, 2, 0)[None]  # (1, Hp, Wp, 2)
    windows = kernels.window_view(
        grid, plan.kernel_hw, plan.strides, plan.dilations, plan.output_hw
    )  # (1, Ho, Wo, 2, kh, kw)
    rows = windows[0, :, 0, 0, :, 0] - pads.pad_top  # (Ho, kh)
    cols = windows[0, 0, :, 1, 0, :] - pads.pad_left  # (Wo, kw)
    return rows, cols


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view: the trace shares these arrays with every caller."""
    view = array.view()
    view.setflags(write=False)
    return view


def _frozen_copy(array: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous copy: the trace never shares memory with the
    caller's arguments, so neither side can change the other's values."""
    copy = np.array(array, order="C")
    copy.setflags(write=False)
    return copy


class Trace:
    """The steps of one batch element of one configuration; build with ``build_trace``.

    plan : the validated configuration
    batch_index : which element of the input batch is traced
    stages : depthwise_conv2d ``(depthwise,)``, separable_conv2d ``(depthwise,
        pointwise)``, conv2d and torch_conv2d ``(standard,)``
    total_steps : steps over all stages
    """

    def __init__(
        self,
        plan: ConvPlan,
        batch_index: int,
        input_nhwc: np.ndarray,
        kernel_arrays: dict[str, np.ndarray | None],
        stage_outputs: tuple[np.ndarray, ...],
    ) -> None:
        """input_nhwc : (1, H, W, C), the batch element; kernel_arrays as in ``header()``;
        stage_outputs : one (channels, Ho, Wo) array per stage."""
        self.plan = plan
        self.batch_index = batch_index
        self.stages = _stages(plan)
        self.total_steps = sum(stage.steps for stage in self.stages)
        padded = kernels.pad_input(input_nhwc, plan.padding)  # (1, Hp, Wp, C)
        self._input = _frozen_copy(input_nhwc[0].transpose(2, 0, 1))  # (C, H, W)
        self._padded_input = _frozen_copy(padded[0].transpose(2, 0, 1))  # (C, Hp, Wp)
        self._kernels = {
            name: None if array is None else _frozen_copy(array)
            for name, array in kernel_arrays.items()
        }
        self._stage_outputs = tuple(_read_only(output) for output in stage_outputs)
        self._pixels = plan.output_hw[0] * plan.output_hw[1]
        if self.stages[0].steps:
            padded_nhwc = self._padded_input.transpose(1, 2, 0)[None]  # (1, Hp, Wp, C)
            windows = kernels.window_view(
                padded_nhwc, plan.kernel_hw, plan.strides, plan.dilations, plan.output_hw
            )
            self._windows = windows[0]  # (Ho, Wo, C, kh, kw)
            self._rows, self._cols = _tap_coordinates(plan)  # (Ho, kh), (Wo, kw)
            height, width = plan.input_hw
            row_in_padding = (self._rows < 0) | (self._rows >= height)  # (Ho, kh)
            col_in_padding = (self._cols < 0) | (self._cols >= width)  # (Wo, kw)
            # (Ho*Wo, kh, kw): True where a tap of window i*Wo + j lies in the padding.
            self._padding_masks = (
                row_in_padding[:, None, :, None] | col_in_padding[None, :, None, :]
            ).reshape(self._pixels, *plan.kernel_hw)
            # (spatial_out_channels, Cg, kh, kw) or (C*M, kh, kw): row o holds
            # output channel o's weights.
            self._spatial_weights = self._kernels.get("weight")
            if self._spatial_weights is None:
                self._spatial_weights = self._kernels["depthwise_filter"].reshape(
                    plan.spatial_out_channels, *plan.kernel_hw
                )
        if len(self._stage_outputs) == 2:
            depthwise_output = self._stage_outputs[0]  # (C*M, Ho, Wo)
            # (Ho*Wo, C*M): row i*Wo + j is the vector the pointwise stage mixes.
            self._depthwise_pixels = _frozen_copy(
                depthwise_output.reshape(len(depthwise_output), -1).T
            )

    def header(self) -> dict[str, Any]:
        """Everything about the trace except its steps; JSON-ready apart from the arrays.

        input : (C, H, W); padded_input : (C, Hp, Wp); kernels : depthwise
        ``{"depthwise_filter": (C, M, kh, kw)}`` (separable adds ``"pointwise_filter":
        (C*M, O)``), standard ``{"weight": (O, C/groups, kh, kw), "bias": (O,) or None}``.
        """
        plan = self.plan
        header: dict[str, Any] = {
            "op": plan.op,
            "data_format": plan.data_format,
            "batch_index": self.batch_index,
            "in_channels": plan.in_channels,
            "input_hw": list(plan.input_hw),
            "kernel_hw": list(plan.kernel_hw),
            "strides": list(plan.strides),
            "dilations": list(plan.dilations),
            "groups": plan.groups,
        }
        if self.stages[0].name == "depthwise":
            header["channel_multiplier"] = plan.channel_multiplier
        header.update(
            out_channels=plan.out_channels,
            padding=plan.padding.as_dict(),
            stages=[stage.as_dict() for stage in self.stages],
            total_steps=self.total_steps,
            input=self._input,
            padded_input=self._padded_input,
            kernels=dict(self._kernels),
        )
        return header

    def chunks(self, chunk_size: int = 512) -> Iterator[TraceChunk | StageResult]:
        """For each stage in order, its steps in chunks of ``chunk_size``, then its result.

        Lazy: a chunk is computed when the iterator reaches it.
        """
        return self._chunks(positive_int(chunk_size, "chunk_size"))

    def _chunks(self, chunk_size: int) -> Iterator[TraceChunk | StageResult]:
        global_start = 0
        for stage, output in zip(self.stages, self._stage_outputs, strict=True):
            for start in range(0, stage.steps, chunk_size):
                stop = min(start + chunk_size, stage.steps)
                fields = self._stage_fields(stage.name, start, stop)
                yield TraceChunk(stage.name, start, global_start + start, fields)
            yield StageResult(stage.name, output)
            global_start += stage.steps

    def step(self, k: int) -> dict[str, Any]:
        """Step ``k`` over all stages: a chunk row, plus ``"stage"`` and ``"stage_step"``.

        Raises ``IndexError`` unless ``0 <= k < total_steps``.
        """
        k = _step_index(k, self.total_steps)
        stage_start = 0
        for stage in self.stages:
            if k < stage_start + stage.steps:
                local = k - stage_start
                fields = self._stage_fields(stage.name, local, local + 1)
                row = {name: values[0] for name, values in fields.items()}
                return {"stage": stage.name, "stage_step": local, **row}
            stage_start += stage.steps
        raise AssertionError("unreachable: k was checked against total_steps")

    def stage_fields(self, stage: str, start: int, stop: int) -> dict[str, np.ndarray]:
        """The fields of ``stage``'s steps ``start .. stop - 1`` (stage-local), as a chunk
        carries them; for a caller streaming one stage of the trace (a block's stage)."""
        info = next((s for s in self.stages if s.name == stage), None)
        if info is None or not 0 <= start <= stop <= info.steps:
            raise IndexError(f"no steps {start}..{stop - 1} in stage {stage!r}")
        return self._stage_fields(stage, start, stop)

    def _stage_fields(self, stage: str, start: int, stop: int) -> dict[str, np.ndarray]:
        """The fields of stage-local steps ``start .. stop - 1``."""
        if stage == "depthwise":
            return self._depthwise_fields(start, stop)
        if stage == "standard":
            return self._standard_fields(start, stop)
        return self._pointwise_fields(start, stop)

    def _spatial_steps(
        self, start: int, stop: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Spatial-stage steps ``start .. stop - 1``, ordered (output channel, i, j).

        Returns out_channel, i and j, each (n,) int, and the fields both spatial stages
        send for them: those three and where each step's window lies (``rows``, ``cols``,
        ``padding_mask``).
        """
        output_width = self.plan.output_hw[1]
        out_channel, pixel = np.divmod(np.arange(start, stop), self._pixels)
        i, j = np.divmod(pixel, output_width)
        fields = {
            "out_channel": out_channel,
            "i": i,
            "j": j,
            "rows": self._rows.take(i, axis=0),  # (n, kh)
            "cols": self._cols.take(j, axis=0),  # (n, kw)
            "padding_mask": self._padding_masks.take(pixel, axis=0),  # (n, kh, kw)
        }
        return out_channel, i, j, fields

    def _depthwise_fields(self, start: int, stop: int) -> dict[str, np.ndarray]:
        # out_channel = q*M + r, so (q, r, i, j) order is (out_channel, i, j) order.
        out_channel, i, j, place = self._spatial_steps(start, stop)
        q, r = np.divmod(out_channel, self.plan.channel_multiplier)
        window = self._windows[i, j, q]  # (n, kh, kw)
        weights = self._spatial_weights.take(out_channel, axis=0)  # (n, kh, kw)
        products = window * weights  # (n, kh, kw)
        return {
            "q": q,
            "r": r,
            **place,
            "window": window,
            "weights": weights,
            "products": products,
            "sum": products.sum(axis=(1, 2)),  # (n,)
        }

    def _standard_fields(self, start: int, stop: int) -> dict[str, np.ndarray]:
        plan = self.plan
        group_in = plan.group_in_channels
        out_channel, i, j, place = self._spatial_steps(start, stop)
        group = out_channel // (plan.out_channels // plan.groups)  # (n,)
        channels = group[:, None] * group_in + np.arange(group_in)  # (n, Cg)
        window = self._windows[i[:, None], j[:, None], channels]  # (n, Cg, kh, kw)
        weights = self._spatial_weights.take(out_channel, axis=0)  # (n, Cg, kh, kw)
        products = window * weights  # (n, Cg, kh, kw)
        total = products.sum(axis=(1, 2, 3))  # (n,)
        bias_values = self._kernels["bias"]
        bias = np.zeros_like(total) if bias_values is None else bias_values.take(out_channel)
        return {
            **place,
            "group": group,
            "window": window,
            "weights": weights,
            "products": products,
            "sum": total,
            "bias": bias,  # (n,)
            "output": total + bias,  # (n,)
        }

    def _pointwise_fields(self, start: int, stop: int) -> dict[str, np.ndarray]:
        i, j = np.divmod(np.arange(start, stop), self.plan.output_hw[1])  # each (n,)
        vector = self._depthwise_pixels[start:stop]  # (n, C*M)
        products = vector[:, :, None] * self._kernels["pointwise_filter"][None]  # (n, C*M, O)
        return {
            "i": i,
            "j": j,
            "vector": vector,
            "products": products,
            # einsum sums the middle axis several times faster than ndarray.sum.
            "outputs": np.einsum("nko->no", products),  # (n, O)
        }


def _trace_kernels(op: str, arrays: dict[str, Any]) -> dict[str, np.ndarray | None]:
    """The op's weights laid out so that one step's weights are one row (see ``header``)."""
    kernel_arrays: dict[str, np.ndarray | None]
    if op == "conv2d":
        filters = arrays["filters"]  # (kh, kw, Cg, O)
        kernel_arrays = {"weight": filters.transpose(3, 2, 0, 1), "bias": None}  # (O, Cg, kh, kw)
    elif op == "torch_conv2d":
        kernel_arrays = {"weight": arrays["weight"], "bias": arrays["bias"]}
    else:
        depthwise_filter = arrays["filter" if op == "depthwise_conv2d" else "depthwise_filter"]
        kernel_arrays = {
            "depthwise_filter": depthwise_filter.transpose(2, 3, 0, 1)  # (C, M, kh, kw)
        }
        if op == "separable_conv2d":
            kernel_arrays["pointwise_filter"] = arrays["pointwise_filter"][0, 0]  # (C*M, O)
    return kernel_arrays


def build_trace(op: str, arguments: Mapping[str, Any], batch_index: int = 0) -> Trace:
    """Validate a configuration and prepare its trace; no step is computed yet.

    op : "conv2d", "depthwise_conv2d", "separable_conv2d" or "torch_conv2d"
    arguments : the op's keyword arguments, exactly as the op function takes them
    batch_index : the element of the input batch to trace
    Raises ``ValueError`` naming the offending argument, with the ops' own messages.
    """
    bound = _bind(op, arguments)
    plan = _plan(op, bound)
    batch_index = _check_batch_index(batch_index, plan.batch)
    names = array_arguments(op)
    x = float_array(bound["input"], "input", np.ndim(bound["input"]))
    arrays: dict[str, Any] = {"input": x}
    for name in names[1:]:
        value = bound[name]
        arrays[name] = None if value is None else float_array(value, name, np.ndim(value), x.dtype)
    batched = x if x.ndim == 4 else x[None]  # a torch input may come unbatched, (C, H, W)
    # The whole batch, not just the element: the op's rounding can depend on the
    # batch size, and the trace must show the very values the op returns.
    call = {**bound, **arrays, "input": batched}
    if op == "separable_conv2d":
        stage_outputs = ops.separable_conv2d_stages(**call)
    else:
        stage_outputs = (_OPS[op](**call),)
    element = slice(batch_index, batch_index + 1)
    return Trace(
        plan,
        batch_index,
        ops.to_nhwc(batched[element], plan),
        _trace_kernels(op, arrays),
        tuple(_channels_first(output[element], plan) for output in stage_outputs),
    )
