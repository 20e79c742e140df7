"""The backward pass of one configuration, step by step (the trace's machinery, reversed).

For one batch element and an output gradient ``dy = dL/d(output)`` (``out_backprop``;
all ones, the gradient of ``L = Σ output``, when none is given), the stages are:

- ``pointwise_gradient`` (separable only), one step per output pixel ``(i, j)``: the outer
  product of the depthwise vector ``z[i, j, :]`` (C*M) and ``dy[i, j, :]`` (O); their sum over
  the pixels is ``dL/d(pointwise_filter)``. The depthwise stage then receives
  ``dz = dy · pointwiseᵀ``.
- ``filter_gradient``, one step per weight ``(o, c, di, dj)`` (depthwise: ``(q, r, di, dj)``):
  the input value under tap ``(di, dj)`` at every output position, times the output
  gradient there; the sum is ``dL/dw[di, dj, c, o]``.
- ``input_gradient``, one step per input cell ``(c, h, w)``: for every tap ``(di, dj)`` and
  output channel ``o`` of ``c``'s group, the output gradient at the position whose window
  puts that tap on ``(h, w)`` (none: a cell the stride skips or the edge cuts), times the
  weight; the sum is ``dL/dx[h, w, c]`` — the transposed correlation.

Each stage's result is the array the engine's backprop functions return for that element
(``gradients.py``): the trace explains those numbers, it does not compute them another way.
Chunks are vectorised and lazy, like ``trace.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.engine import gradients, kernels, ops
from app.engine.arguments import float_array, positive_int
from app.engine.plans import ConvPlan
from app.engine.trace import (
    StageInfo,
    StageResult,
    TraceChunk,
    _bind,
    _check_batch_index,
    _frozen_copy,
    _plan,
    _tap_coordinates,
)

BACKWARD_OPS = ("conv2d", "depthwise_conv2d", "separable_conv2d")


def backward_stages(plan: ConvPlan) -> tuple[StageInfo, ...]:
    """The stages of a backward trace, from the plan's shapes alone."""
    kh, kw = plan.kernel_hw
    ho, wo = plan.output_hw
    height, width = plan.input_hw
    weights = plan.spatial_out_channels * plan.group_in_channels * kh * kw
    stages = []
    if plan.op == "separable_conv2d":
        stages.append(StageInfo(
            "pointwise_gradient", ho * wo, ("i", "j"), plan.out_channels, plan.output_hw,
        ))
    order = ("q", "r", "di", "dj") if plan.op != "conv2d" else ("o", "c", "di", "dj")
    stages.append(StageInfo(
        "filter_gradient", weights, order, plan.spatial_out_channels, plan.output_hw,
    ))
    stages.append(StageInfo(
        "input_gradient", plan.in_channels * height * width, ("c", "h", "w"), plan.in_channels,
        plan.input_hw,
    ))
    return tuple(stages)


def backward_step_count(plan: ConvPlan) -> int:
    return sum(stage.steps for stage in backward_stages(plan))


def _output_index(size: int, pad: int, kernel: int, stride: int, dilation: int, out: int
                  ) -> np.ndarray:
    """(size, kernel): the output index whose tap ``t`` lands on input index ``h``, or -1.

    ``s*i + d*t - pad = h``, so ``i = (h + pad - d*t) / s`` when that is a whole number
    in ``0 .. out - 1``.
    """
    numerator = np.arange(size)[:, None] + pad - dilation * np.arange(kernel)[None]  # (size, k)
    index, remainder = np.divmod(numerator, stride)
    valid = (remainder == 0) & (index >= 0) & (index < out)
    return np.where(valid, index, -1)


@dataclass(frozen=True)
class _Spatial:
    """One grouped stage to explain: its input, weights (kh, kw, Cg, O) and output gradient."""

    x: np.ndarray  # (1, H, W, C)
    weights: np.ndarray  # (kh, kw, Cg, O)
    dy: np.ndarray  # (1, Ho, Wo, O)


class BackwardTrace:
    """The backward steps of one batch element; build with ``build_backward_trace``."""

    def __init__(self, plan: ConvPlan, batch_index: int, spatial: _Spatial,
                 pointwise: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        """pointwise : (z (Ho*Wo, C*M), dy (Ho*Wo, O), pointwise_filter (C*M, O)) or None."""
        self.plan, self.batch_index = plan, batch_index
        self.stages = backward_stages(plan)
        self.total_steps = sum(stage.steps for stage in self.stages)
        self._spatial, self._pointwise = spatial, pointwise
        padded = kernels.pad_input(spatial.x, plan.padding)  # (1, Hp, Wp, C)
        # (C, kh, kw, Ho, Wo): the input under each tap at every output position.
        windows = kernels.window_view(
            padded, plan.kernel_hw, plan.strides, plan.dilations, plan.output_hw
        )[0]  # (Ho, Wo, C, kh, kw)
        self._tap_inputs = _frozen_copy(windows.transpose(2, 3, 4, 0, 1))
        ho, wo = plan.output_hw
        if ho and wo:
            rows, cols = _tap_coordinates(plan)  # (Ho, kh), (Wo, kw)
        else:  # an empty output: no position reads any input, whatever the rows say
            rows = np.zeros((ho, plan.kernel_hw[0]), int)
            cols = np.zeros((wo, plan.kernel_hw[1]), int)
        height, width = plan.input_hw
        self._rows, self._cols = rows, cols
        self._row_padding = (rows < 0) | (rows >= height)  # (Ho, kh)
        self._col_padding = (cols < 0) | (cols >= width)  # (Wo, kw)
        self._dy = _frozen_copy(spatial.dy[0].transpose(2, 0, 1))  # (O, Ho, Wo)
        (kh, kw), (sh, sw), (dh, dw) = plan.kernel_hw, plan.strides, plan.dilations
        self._out_rows = _output_index(height, plan.padding.pad_top, kh, sh, dh, ho)  # (H, kh)
        self._out_cols = _output_index(width, plan.padding.pad_left, kw, sw, dw, wo)  # (W, kw)
        # dy with one zero row and column appended: index -1 reads 0.
        self._dy_edged = np.zeros((len(self._dy), ho + 1, wo + 1), dtype=self._dy.dtype)
        self._dy_edged[:, :ho, :wo] = self._dy
        self._results = self._stage_results()

    def _stage_results(self) -> dict[str, np.ndarray]:
        plan, spatial = self.plan, self._spatial
        kh, kw, group_in, out = spatial.weights.shape
        results: dict[str, np.ndarray] = {}
        if self._pointwise is not None:
            z, dy, _ = self._pointwise
            results["pointwise_gradient"] = _frozen_copy(z.T @ dy)  # (C*M, O)
        spatial_plan = _element_plan(plan)
        results["filter_gradient"] = _frozen_copy(
            gradients.filter_gradient(spatial.x, spatial.dy, spatial_plan)
        )  # (kh, kw, Cg, O)
        dx = gradients.input_gradient(spatial.dy, spatial.weights, spatial_plan)  # (1, H, W, C)
        results["input_gradient"] = _frozen_copy(dx[0].transpose(2, 0, 1))  # (C, H, W)
        return results

    def header(self) -> dict[str, Any]:
        plan = self.plan
        header: dict[str, Any] = {
            "op": plan.op, "backward": True, "batch_index": self.batch_index,
            "in_channels": plan.in_channels, "input_hw": list(plan.input_hw),
            "kernel_hw": list(plan.kernel_hw), "strides": list(plan.strides),
            "dilations": list(plan.dilations), "groups": plan.groups,
            "out_channels": plan.out_channels, "padding": plan.padding.as_dict(),
            "stages": [stage.as_dict() for stage in self.stages],
            "total_steps": self.total_steps,
            "input": _frozen_copy(self._spatial.x[0].transpose(2, 0, 1)),  # (C, H, W)
            "weights": _frozen_copy(self._spatial.weights),  # (kh, kw, Cg, O_spatial)
            "out_gradient": self._dy,  # (O_spatial, Ho, Wo): dy, or dz for separable
        }
        if self._pointwise is not None:
            z, dy, pointwise = self._pointwise
            ho, wo = plan.output_hw
            header["pointwise_filter"] = pointwise  # (C*M, O)
            header["pointwise_out_gradient"] = _frozen_copy(dy.T.reshape(-1, ho, wo))  # (O, Ho, Wo)
        if plan.op != "conv2d":
            header["channel_multiplier"] = plan.channel_multiplier
        return header

    def chunks(self, chunk_size: int = 512) -> Iterator[TraceChunk | StageResult]:
        size = positive_int(chunk_size, "chunk_size")
        global_start = 0
        for stage in self.stages:
            for start in range(0, stage.steps, size):
                stop = min(start + size, stage.steps)
                yield TraceChunk(stage.name, start, global_start + start,
                                 self.fields(stage.name, start, stop))
            yield StageResult(stage.name, self._results[stage.name])
            global_start += stage.steps

    def result(self, stage: str) -> np.ndarray:
        """pointwise_gradient (C*M, O); filter_gradient (kh, kw, Cg, O); input_gradient
        (C, H, W)."""
        return self._results[stage]

    def fields(self, stage: str, start: int, stop: int) -> dict[str, np.ndarray]:
        """The fields of ``stage``'s steps ``start .. stop - 1``, by the stage's name."""
        fields_of_stage = {
            "pointwise_gradient": self._pointwise_fields,
            "filter_gradient": self._filter_fields,
            "input_gradient": self._input_fields,
        }
        return fields_of_stage[stage](start, stop)

    def _pointwise_fields(self, start: int, stop: int) -> dict[str, np.ndarray]:
        assert self._pointwise is not None
        z, dy, _ = self._pointwise
        i, j = np.divmod(np.arange(start, stop), self.plan.output_hw[1])
        vector, gradient = z[start:stop], dy[start:stop]  # (n, C*M), (n, O)
        return {"i": i, "j": j, "vector": vector, "out_gradient": gradient,
                "products": vector[:, :, None] * gradient[:, None, :]}  # (n, C*M, O)

    def _filter_fields(self, start: int, stop: int) -> dict[str, np.ndarray]:
        kh, kw, group_in, out = self._spatial.weights.shape
        steps = np.arange(start, stop)
        o, rest = np.divmod(steps, group_in * kh * kw)
        c, tap = np.divmod(rest, kh * kw)
        di, dj = np.divmod(tap, kw)
        channel = o // (out // self.plan.groups) * group_in + c  # the input channel read
        values = self._tap_inputs[channel, di, dj]  # (n, Ho, Wo)
        gradient = self._dy[o]  # (n, Ho, Wo)
        products = values * gradient
        fields = {
            "out_channel": o, "in_channel": channel, "di": di, "dj": dj,
            "input_values": values,
            "padding_mask": (
                self._row_padding.T[di][:, :, None] | self._col_padding.T[dj][:, None, :]
            ),  # (n, Ho, Wo)
            "out_gradient": gradient, "products": products,
            "sum": np.einsum("nhw->n", products),
        }
        if self.plan.op != "conv2d":
            fields["q"], fields["r"] = np.divmod(o, self.plan.channel_multiplier)
        return fields

    def _input_fields(self, start: int, stop: int) -> dict[str, np.ndarray]:
        plan, weights = self.plan, self._spatial.weights
        kh, kw, group_in, out = weights.shape
        group_out = out // plan.groups
        height, width = plan.input_hw
        c, pixel = np.divmod(np.arange(start, stop), height * width)
        h, w = np.divmod(pixel, width)
        out_rows, out_cols = self._out_rows[h], self._out_cols[w]  # (n, kh), (n, kw)
        reached = (out_rows[:, :, None] >= 0) & (out_cols[:, None, :] >= 0)  # (n, kh, kw)
        group, local = np.divmod(c, group_in)
        outputs = group[:, None] * group_out + np.arange(group_out)  # (n, Og)
        # (n, Og, kh, kw): dy at the output position that puts tap (di, dj) on (h, w).
        gradient = self._dy_edged[
            outputs[:, :, None, None], out_rows[:, None, :, None], out_cols[:, None, None, :]
        ]
        gradient = np.where(reached[:, None], gradient, 0.0)
        tap_weights = weights[:, :, local, :].transpose(2, 0, 1, 3)  # (n, kh, kw, O)
        tap_weights = np.take_along_axis(
            tap_weights, outputs[:, None, None, :], axis=3
        ).transpose(0, 3, 1, 2)  # (n, Og, kh, kw)
        products = gradient * tap_weights
        return {
            "in_channel": c, "h": h, "w": w, "out_channels": outputs,
            "out_rows": out_rows, "out_cols": out_cols, "reached": reached,
            "out_gradient": gradient, "weights": tap_weights, "products": products,
            "sum": np.einsum("nokl->n", products),
        }


def _element_plan(plan: ConvPlan) -> ConvPlan:
    """The spatial stage for one batch element (a separable plan's depthwise stage alone)."""
    if plan.op == "separable_conv2d":
        return replace(plan, op="depthwise_conv2d", batch=1,
                       out_channels=plan.spatial_out_channels)
    return replace(plan, batch=1)


def build_backward_trace(
    op: str, arguments: Mapping[str, Any], out_backprop: Any = None, batch_index: int = 0
) -> BackwardTrace:
    """The backward trace of ``op(**arguments)`` for one batch element.

    op : "conv2d", "depthwise_conv2d" or "separable_conv2d" (TF's names and arguments)
    out_backprop : dL/d(output) in the op's output shape and data format, or None for ones
    Raises ``ValueError`` naming the offending argument.
    """
    if op not in BACKWARD_OPS:
        raise ValueError(f"op must be one of {', '.join(BACKWARD_OPS)} for a backward trace")
    bound = _bind(op, arguments)
    plan = _plan(op, bound)
    batch_index = _check_batch_index(batch_index, plan.batch)
    x = float_array(bound["input"], "input", 4)
    if out_backprop is None:
        dy = np.ones(plan.output_shape, dtype=x.dtype)
    else:
        dy = float_array(out_backprop, "out_backprop", 4, x.dtype)
        if tuple(dy.shape) != plan.output_shape:
            raise ValueError(
                f"out_backprop has shape {list(dy.shape)} but the output has shape "
                f"{list(plan.output_shape)} ({plan.data_format})"
            )
    element = slice(batch_index, batch_index + 1)
    x_nhwc = ops.to_nhwc(x, plan)[element]  # (1, H, W, C)
    dy_nhwc = ops.to_nhwc(dy, plan)[element]  # (1, Ho, Wo, O)
    pointwise = None
    if op == "conv2d":
        weights = float_array(bound["filters"], "filters", 4, x.dtype)
        spatial_dy = dy_nhwc
    else:
        name = "filter" if op == "depthwise_conv2d" else "depthwise_filter"
        weights = ops.depthwise_as_grouped(float_array(bound[name], name, 4, x.dtype))
        spatial_dy = dy_nhwc
        if op == "separable_conv2d":
            pointwise_filter = float_array(
                bound["pointwise_filter"], "pointwise_filter", 4, x.dtype
            )[0, 0]  # (C*M, O)
            z = ops.spatial_stage(x_nhwc, weights, plan)  # (1, Ho, Wo, C*M)
            ho, wo = plan.output_hw
            flat_dy = dy_nhwc.reshape(ho * wo, -1)  # (Ho*Wo, O)
            pointwise = (_frozen_copy(z.reshape(ho * wo, -1)), _frozen_copy(flat_dy),
                         _frozen_copy(pointwise_filter))
            spatial_dy = (flat_dy @ pointwise_filter.T).reshape(1, ho, wo, -1)  # dz
    return BackwardTrace(plan, batch_index, _Spatial(x_nhwc, weights, spatial_dy), pointwise)
