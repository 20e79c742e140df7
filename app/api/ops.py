"""The op endpoints: ``tf.nn.conv2d``, ``tf.nn.depthwise_conv2d``,
``tf.nn.separable_conv2d`` and ``torch.nn.functional.conv2d`` as JSON."""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations,
# which name the per-route body dependency built in ``_route``.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.api import configs, examples
from app.api.arrays import output_value
from app.api.body import JsonBody, body_docs, get_settings, json_body
from app.api.cache import Answer, ResponseCache, accepts_gzip, get_cache
from app.api.errors import ERROR_RESPONSES
from app.api.responses import dumps
from app.api.schemas import (
    OpOptions,
    OpResponse,
    TfConv2dRequest,
    TfDepthwiseConv2dRequest,
    TfSeparableConv2dRequest,
    TorchConv2dRequest,
)
from app.settings import Settings

router = APIRouter(tags=["convolution"])

SettingsDep = Annotated[Settings, Depends(get_settings)]


def op_payload(request: OpOptions, settings: Settings) -> dict[str, Any]:
    """Compute one op request: the response body of its endpoint."""
    prepared = configs.prepare(request, settings)
    output, depthwise_output = configs.run(prepared)
    plan = prepared.plan
    payload: dict[str, Any] = {
        "op": prepared.op,
        "output": output_value(output, request.output_encoding),
        "shape": list(output.shape),
        "dtype": prepared.dtype,
        "data_format": plan.data_format,
        "padding": plan.padding.as_dict(),
        "costs": configs.costs(plan),
    }
    if depthwise_output is not None:
        payload["depthwise_output"] = output_value(depthwise_output, request.output_encoding)
        payload["depthwise_shape"] = list(depthwise_output.shape)
    return payload


def _route(path: str, model: type[OpOptions], summary: str,
           example_sets: dict[str, dict[str, Any]], description: str) -> None:
    body = json_body(model.__name__, model)

    def compute(request: JsonBody, settings: Settings, compress: bool) -> Answer:
        return Answer.of(dumps(op_payload(request.parse(), settings)), compress)

    async def endpoint(http: Request, request: Annotated[JsonBody, Depends(body)],
                       settings: SettingsDep,
                       cache: Annotated[ResponseCache, Depends(get_cache)]) -> Response:
        # A cache hit is a hash and a look-up; anything else runs in a worker thread.
        key = ResponseCache.key(path, request.raw)
        answer = cache.get(key)
        if answer is None:
            answer = await run_in_threadpool(compute, request, settings, accepts_gzip(http))
            cache.put(key, answer)
        return answer.response(http)

    endpoint.__name__ = path.strip("/").replace("/", "_")
    router.add_api_route(
        path, endpoint, methods=["POST"], summary=summary, description=description,
        response_model=OpResponse, responses=ERROR_RESPONSES,
        openapi_extra=body_docs(model.__name__, example_sets),
    )


_route("/tf/conv2d", TfConv2dRequest, "tf.nn.conv2d", {"conv2d_seed_input": examples.CONV2D},
       "Cross-correlation with TF's arguments; grouped when the input depth is a multiple of "
       "the filter's in-depth. Arrays as nested lists or {dtype, shape, data} base64.")
_route("/tf/depthwise_conv2d", TfDepthwiseConv2dRequest, "tf.nn.depthwise_conv2d",
       {"seed_example": examples.DEPTHWISE},
       "Depthwise convolution: output channel q*M + r reads input channel q with "
       "filter[:, :, q, r]. The seed example gives [[[[0,36,9,27],[0,54,9,27]], ...]].")
_route("/tf/separable_conv2d", TfSeparableConv2dRequest, "tf.nn.separable_conv2d",
       {"seed_example_separable": examples.SEPARABLE},
       "Depthwise, then a 1x1 pointwise convolution; the response also holds the depthwise "
       "stage's output (depthwise_output).")
_route("/torch/conv2d", TorchConv2dRequest, "torch.nn.functional.conv2d",
       {"seed_example_pytorch": examples.TORCH},
       "PyTorch's conv2d (NCHW). Depthwise is groups=C with weight [K*C, 1, kh, kw]; its "
       "channel order equals TF's q*M + r.")
