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


def costs_payload(request: CostsRequest) -> dict[str, Any]:
    arguments = {name: getattr(request, name) for name in _ARGUMENTS}
    try:
        payload: dict[str, Any] = {"costs": engine.conv_costs(**arguments).as_dict(), "sweep": None}
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
    rows of ``app.engine.conv_costs``. With ``sweep``, the same for each value of one
    parameter (the others fixed), for charts."""
    return json_response(costs_payload(body.parse()))
