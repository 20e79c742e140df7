"""``POST /api/v1/lessons/*``: the "same numbers, written another way" comparisons
that the page's lessons show (lessons 6 and 7).

Each endpoint takes the op request the page already sends (TF's argument names,
NHWC) and answers with the results of the equivalent formulations, each computed
by the engine, and the largest difference between them. The page only draws them.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app import engine
from app.api import configs, examples, limits
from app.api.arrays import output_value
from app.api.body import JsonBody, body_docs, get_settings, json_body
from app.api.errors import ERROR_RESPONSES, ApiError, configuration_error
from app.api.responses import json_response
from app.api.schemas import TfConv2dRequest, TfDepthwiseConv2dRequest
from app.settings import Settings

router = APIRouter(prefix="/lessons", tags=["lessons"])

class LessonGroupsRequest(TfConv2dRequest):
    """A ``tf.nn.conv2d`` request in NHWC (the lessons draw NHWC)."""

    data_format: Literal["NHWC"] = "NHWC"


class LessonSharedKernelRequest(TfDepthwiseConv2dRequest):
    """A ``tf.nn.depthwise_conv2d`` request in NHWC, channel_multiplier 1."""

    data_format: Literal["NHWC"] | None = None


_GROUPS_BODY = json_body("LessonGroupsRequest", LessonGroupsRequest)
_SHARED_BODY = json_body("LessonSharedKernelRequest", LessonSharedKernelRequest)


def _explicit(plan: engine.ConvPlan) -> list[list[int]]:
    """The plan's resolved padding as TF's explicit NHWC list (every variant pads alike)."""
    pads = plan.padding
    return [[0, 0], [pads.pad_top, pads.pad_bottom], [pads.pad_left, pads.pad_right], [0, 0]]


def _torch_input(x: np.ndarray, plan: engine.ConvPlan) -> np.ndarray:
    """NHWC -> NCHW, padded per side as the plan says (``F.pad``), for ``padding=0``."""
    pads = plan.padding
    nchw = x.transpose(0, 3, 1, 2)  # (N, C, H, W)
    return np.pad(nchw, ((0, 0), (0, 0), (pads.pad_top, pads.pad_bottom),
                         (pads.pad_left, pads.pad_right)))


def _require_nhwc(data_format: str | None) -> None:
    if data_format not in (None, "NHWC"):
        raise ApiError(422, "invalid_value", "the lessons use data_format 'NHWC'", "data_format")


def _largest_difference(reference: np.ndarray, *others: np.ndarray) -> float:
    return max(float(np.max(np.abs(other - reference), initial=0.0)) for other in others)


def groups_payload(request: TfConv2dRequest, settings: Settings) -> dict[str, Any]:
    """PyTorch's ``groups`` three ways in TF, for one grouped conv2d configuration."""
    _require_nhwc(request.data_format)
    prepared = configs.prepare(request, settings)
    plan = prepared.plan
    x, filters = prepared.arguments["input"], prepared.arguments["filters"]
    kh, kw, group_in, out_channels = filters.shape  # (kh, kw, C/G, O)
    channels = plan.in_channels
    groups = channels // group_in
    group_out = out_channels // groups
    geometry = {"strides": plan.strides, "padding": _explicit(plan), "dilations": plan.dilations}
    # Formulation 2 is a depthwise conv with multiplier O/G: its output (N, Ho, Wo, C*O/G)
    # and its repeated input are G times the grouped conv's; bound them before computing.
    try:
        depthwise_plan = engine.plan_depthwise_conv2d(
            x.shape, (kh, kw, channels, group_out), **geometry)
    except ValueError as error:
        raise configuration_error(error, configs.KNOWN_FIELDS["conv2d"]) from None
    limits.check_plan(depthwise_plan, "filters", settings)
    try:
        with np.errstate(all="ignore"):
            grouped = engine.conv2d(x, filters, **geometry)  # (N, Ho, Wo, O)
            # 1. split the input channels, convolve each group with its filters, concatenate.
            pieces = [
                engine.conv2d(x[..., g * group_in:(g + 1) * group_in],
                              filters[..., g * group_out:(g + 1) * group_out], **geometry)
                for g in range(groups)
            ]
            split = np.concatenate(pieces, axis=-1)  # (N, Ho, Wo, O)
            # 2. depthwise with multiplier O/G, then sum each group's channels.
            depthwise_filter = np.zeros((kh, kw, channels, group_out), dtype=filters.dtype)
            for g in range(groups):
                for c in range(group_in):
                    depthwise_filter[:, :, g * group_in + c, :] = filters[
                        :, :, c, g * group_out:(g + 1) * group_out]
            depthwise = engine.depthwise_conv2d(x, depthwise_filter, **geometry)
            n, ho, wo, _ = depthwise.shape  # (N, Ho, Wo, C * O/G), channel c*(O/G) + k
            summed = depthwise.reshape(n, ho, wo, groups, group_in, group_out).sum(axis=4)
            summed = summed.reshape(n, ho, wo, out_channels)  # (N, Ho, Wo, O)
            # 3. PyTorch: weight (O, C/G, kh, kw), groups=G, NCHW.
            weight = filters.transpose(3, 2, 0, 1)  # (O, C/G, kh, kw)
            torch_out = engine.torch_conv2d(
                _torch_input(x, plan), weight, stride=plan.strides, padding=0,
                dilation=plan.dilations, groups=groups,
            ).transpose(0, 2, 3, 1)  # (N, Ho, Wo, O)
    except ValueError as error:
        raise configuration_error(error, configs.KNOWN_FIELDS["conv2d"]) from None
    encoding = request.output_encoding
    group_of_input = np.arange(channels) // group_in
    group_of_output = np.arange(out_channels) // group_out
    connectivity = (group_of_output[:, None] == group_of_input[None, :]).astype(int)  # (O, C)
    return {
        "in_channels": channels,
        "out_channels": out_channels,
        "groups": groups,
        "connectivity": connectivity.tolist(),
        "tf_filter_shape": [kh, kw, group_in, out_channels],
        "torch_weight_shape": [out_channels, group_in, kh, kw],
        "depthwise_filter_shape": list(depthwise_filter.shape),
        "weights": int(filters.size),
        "outputs": {
            "tf_conv2d": output_value(grouped, encoding),
            "tf_split_concat": output_value(split, encoding),
            "tf_depthwise_sum": output_value(summed, encoding),
            "torch_groups": output_value(torch_out, encoding),
        },
        "shape": list(grouped.shape),
        "max_abs_difference": _largest_difference(grouped, split, summed, torch_out),
    }


def shared_kernel_payload(request: TfDepthwiseConv2dRequest, settings: Settings
                          ) -> dict[str, Any]:
    """One kernel slid over every channel separately, three ways."""
    _require_nhwc(request.data_format)
    prepared = configs.prepare(request, settings)
    plan = prepared.plan
    x, depthwise_filter = prepared.arguments["input"], prepared.arguments["filter"]
    kh, kw, channels, multiplier = depthwise_filter.shape  # (kh, kw, C, M)
    if multiplier != 1:
        raise ApiError(422, "invalid_configuration",
                       f"a shared kernel has channel_multiplier 1; filter has {multiplier}",
                       "filter")
    kernel = depthwise_filter[:, :, 0, 0]  # (kh, kw): channel 0's kernel is the shared one
    geometry = {"strides": plan.strides, "padding": _explicit(plan), "dilations": plan.dilations}
    try:
        with np.errstate(all="ignore"):
            tiled = np.repeat(kernel[:, :, None, None], channels, axis=2)  # (kh, kw, C, 1)
            depthwise = engine.depthwise_conv2d(x, tiled, **geometry)  # (N, Ho, Wo, C)
            n, h, w, _ = x.shape
            stacked = x.transpose(0, 3, 1, 2).reshape(n * channels, h, w, 1)  # (N*C, H, W, 1)
            single = engine.conv2d(stacked, kernel[:, :, None, None], **geometry)
            _, ho, wo, _ = single.shape  # (N*C, Ho, Wo, 1)
            folded = single.reshape(n, channels, ho, wo).transpose(0, 2, 3, 1)  # (N, Ho, Wo, C)
            weight = np.broadcast_to(kernel, (channels, 1, kh, kw))  # (C, 1, kh, kw)
            torch_out = engine.torch_conv2d(
                _torch_input(x, plan), np.ascontiguousarray(weight), stride=plan.strides,
                padding=0, dilation=plan.dilations, groups=channels,
            ).transpose(0, 2, 3, 1)  # (N, Ho, Wo, C)
    except ValueError as error:
        raise configuration_error(error, configs.KNOWN_FIELDS["depthwise_conv2d"]) from None
    encoding = request.output_encoding
    return {
        "in_channels": channels,
        "kernel": output_value(kernel, encoding),
        "shared": bool(np.all(depthwise_filter == kernel[:, :, None, None])),
        "outputs": {
            "tf_depthwise_tiled": output_value(depthwise, encoding),
            "tf_reshape_conv2d": output_value(folded, encoding),
            "torch_groups": output_value(torch_out, encoding),
        },
        "shape": list(depthwise.shape),
        "max_abs_difference": _largest_difference(depthwise, folded, torch_out),
    }


@router.post(
    "/groups",
    summary="PyTorch's groups in TF: split/convolve/concatenate, depthwise then sum",
    responses=ERROR_RESPONSES,
    openapi_extra=body_docs("LessonGroupsRequest", {"two_groups": examples.CONV2D}),
)
def groups(body: Annotated[JsonBody, Depends(_GROUPS_BODY)],
           settings: Annotated[Settings, Depends(get_settings)]) -> Response:
    """A ``tf.nn.conv2d`` request (NHWC, filters ``[kh, kw, C/G, O]``). Answers the
    input -> output connectivity ``(O, C)``, the TF and PyTorch weight shapes, and the
    output four ways: TF's grouped ``conv2d``, split + per-group ``conv2d`` + concat,
    ``depthwise_conv2d`` with multiplier O/G then summing each group's channels, and
    PyTorch's ``conv2d(groups=G)``, with the largest difference between them."""
    return json_response(groups_payload(body.parse(), settings))


@router.post(
    "/shared_kernel",
    summary="One kernel over every channel separately, three ways",
    responses=ERROR_RESPONSES,
    openapi_extra=body_docs("LessonSharedKernelRequest",
                            {"sobel_x_on_the_seed_input": examples.SHARED_KERNEL}),
)
def shared_kernel(body: Annotated[JsonBody, Depends(_SHARED_BODY)],
                  settings: Annotated[Settings, Depends(get_settings)]) -> Response:
    """A ``tf.nn.depthwise_conv2d`` request with M = 1; channel 0's kernel is shared by
    every channel: depthwise with the kernel tiled, channels folded into the batch and one
    ``conv2d`` filter, and PyTorch's ``groups=C`` with the kernel expanded."""
    return json_response(shared_kernel_payload(body.parse(), settings))
