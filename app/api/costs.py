"""``POST /api/v1/costs``: weights and multiply-adds from shapes, and sweeps for charts."""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app import engine
from app.api import examples
from app.api.body import JsonBody, body_docs, json_body
from app.api.errors import ERROR_RESPONSES, configuration_error
from app.api.responses import json_response
from app.api.schemas import CostsRequest

router = APIRouter(tags=["costs"])

_BODY = json_body("CostsRequest", CostsRequest)
_ARGUMENTS = (
    "input_hw", "in_channels", "out_channels", "kernel_hw", "channel_multiplier", "groups",
    "strides", "padding", "dilations", "batch",
)
_KNOWN_FIELDS = (*_ARGUMENTS, "sweep", "parameter", "values")


def keras_counts(arguments: dict[str, Any]) -> dict[str, dict[str, int]]:
    """``count_params()`` of the Keras layers of a configuration, with and without bias.

    SeparableConv2D has one bias (out_channels values, after the pointwise step): fewer
    parameters than DepthwiseConv2D + a 1x1 Conv2D, which have two.
    """
    # Parameters do not depend on the output size: "same" counts them for any input.
    shape = {"input_hw": arguments["input_hw"], "in_channels": arguments["in_channels"],
             "padding": "same"}
    kernel, outputs = arguments["kernel_hw"], arguments["out_channels"]
    multiplier = arguments["channel_multiplier"]

    def both(cost: Any) -> dict[str, int]:
        return {"use_bias": cost(True).params_with_bias, "no_bias": cost(False).params_with_bias}

    depthwise = both(lambda bias: engine.keras_depthwise_conv2d_cost(
        kernel_size=kernel, depth_multiplier=multiplier, use_bias=bias, **shape))
    pointwise = both(lambda bias: engine.keras_conv2d_cost(
        input_hw=arguments["input_hw"], in_channels=arguments["in_channels"] * multiplier,
        filters=outputs, kernel_size=1, use_bias=bias))
    return {
        "Conv2D": both(lambda bias: engine.keras_conv2d_cost(
            filters=outputs, kernel_size=kernel, groups=arguments["groups"], use_bias=bias,
            **shape)),
        "DepthwiseConv2D": depthwise,
        "SeparableConv2D": both(lambda bias: engine.keras_separable_conv2d_cost(
            filters=outputs, kernel_size=kernel, depth_multiplier=multiplier, use_bias=bias,
            **shape)),
        "DepthwiseConv2D_then_Conv2D_1x1": {
            key: depthwise[key] + pointwise[key] for key in ("use_bias", "no_bias")
        },
    }


def costs_payload(request: CostsRequest) -> dict[str, Any]:
    arguments = {name: getattr(request, name) for name in _ARGUMENTS}
    try:
        payload: dict[str, Any] = {"costs": engine.conv_costs(**arguments).as_dict(), "sweep": None}
        payload["keras"] = keras_counts(arguments)
        if request.sweep is not None:
            parameter = request.sweep.parameter
            fixed = {name: value for name, value in arguments.items() if name != parameter}
            series = engine.cost_sweep(parameter, request.sweep.values, **fixed)
            payload["sweep"] = {
                "parameter": parameter,
                "values": request.sweep.values,
                "costs": [entry.as_dict() for entry in series],
            }
    except ValueError as error:
        raise configuration_error(error, _KNOWN_FIELDS) from None
    return payload


@router.post(
    "/costs",
    summary="Parameters and multiply-adds of a configuration",
    responses={200: {"content": {"application/json": {"example": {
        "costs": {"standard": {"weights": 108}, "separable": {"weights": 39}}, "sweep": None,
    }}}}, **ERROR_RESPONSES},
    openapi_extra=body_docs("CostsRequest", {"teaching_view_5x5x3_to_4": examples.COSTS}),
)
def costs(body: Annotated[JsonBody, Depends(_BODY)]) -> Response:
    """Shapes only, no arrays: the standard, grouped, depthwise, pointwise and separable
    rows of ``app.engine.conv_costs``, and ``keras``: each Keras layer's ``count_params()``
    with and without bias (SeparableConv2D has one bias, DepthwiseConv2D + a 1x1 Conv2D two).
    With ``sweep``, the same for each value of one parameter (the others fixed), for charts."""
    return json_response(costs_payload(body.parse()))
