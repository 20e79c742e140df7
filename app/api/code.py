"""``POST /api/v1/code``: TF, Keras and PyTorch code reproducing a configuration."""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app.api import configs, examples
from app.api.body import JsonBody, body_docs, get_settings, json_body
from app.api.errors import ERROR_RESPONSES
from app.api.responses import json_response
from app.api.schemas import CODE_MODELS, CodeRequest, CodeResponse
from app.settings import Settings
from app.teaching import codegen

router = APIRouter(tags=["code"])

_BODY = json_body("CodeRequest", CodeRequest, CODE_MODELS)


def code_payload(request: Any, settings: Settings) -> dict[str, Any]:
    prepared = configs.prepare(request, settings)
    plan = prepared.plan
    shape = list(plan.output_shape)
    if prepared.op == "torch_conv2d" and prepared.arguments["input"].ndim == 3:
        shape = shape[1:]
    use_bias = prepared.op == "torch_conv2d" and prepared.arguments.get("bias") is not None
    return {
        "op": prepared.op,
        **codegen.snippets(prepared.op, prepared.arguments, plan, prepared.dtype),
        "output_shape": shape,
        "keras_count_params": codegen.keras_parameter_count(prepared.op, plan, use_bias),
    }


@router.post(
    "/code",
    summary="TF, Keras and PyTorch code for a configuration",
    response_model=CodeResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=body_docs("CodeRequest", {
        "seed_example_separable": examples.CODE,
        "seed_example_pytorch": examples.CODE_TORCH,
    }),
)
def code(body: Annotated[JsonBody, Depends(_BODY)],
         settings: Annotated[Settings, Depends(get_settings)]) -> Response:
    """``op`` plus that op's fields, exactly as its endpoint takes them. Each snippet is a
    complete script leaving the result in ``output``, in the layout the op endpoint
    answers with; arrays are embedded as literals, padding resolved per side."""
    return json_response(code_payload(body.parse(), settings))
