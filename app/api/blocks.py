"""``POST /api/v1/blocks``: a block (MobileNetV1, inverted residual, Xception order) run stage by
stage on a seeded input, with every intermediate map and each stage's costs.

The block is one configuration: its stages in order, each with its output map, its
weights (kernels, BatchNorm's scale and shift) and its cost (weights, MACs, activation
bytes, arithmetic intensity), and the block against the standard convolution it replaces.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, Strict
from starlette.concurrency import run_in_threadpool

from app import engine
from app.api.arrays import output_value
from app.api.body import JsonBody, body_docs, json_body
from app.api.errors import ERROR_RESPONSES, ApiError
from app.api.responses import dumps
from app.api.schemas import integer
from app.settings import Settings
from app.teaching import block_code

router = APIRouter(tags=["blocks"])


class BlockFields(BaseModel):
    """The fields that make one block and its input (seeded teaching weights of
    ``app.engine``'s builders): shared by this endpoint and the trace's ``op: "block"``."""

    model_config = ConfigDict(extra="forbid")
    block: Literal["mobilenet_v1", "inverted_residual", "xception"] = Field(
        "inverted_residual", description="Which block: MobileNetV1, MobileNetV2's inverted "
        "residual, or Xception's order question.")
    # Integers as JSON Schema has them (4 or 4.0, never true or "4"): schema = server.
    in_channels: integer(ge=1, le=64) = 4
    out_channels: integer(ge=1, le=64) = 4
    expansion: integer(ge=1, le=8) = Field(6, description="Inverted residual: expand x t.")
    strides: integer(ge=1, le=2) = Field(1, description="Stride of the depthwise 3x3: 1 or 2.")
    order: Literal["depthwise_first", "pointwise_first"] = Field(
        "depthwise_first", description="Xception: which 1-stage comes first.")
    activation_between: Literal["none", "relu"] = Field(
        "none", description="Xception: an activation between the two stages or not.")
    project_activation: Literal["linear", "relu6"] = Field(
        "linear", description="Inverted residual: linear bottleneck (MobileNetV2) or ReLU6.")
    fold_batch_norm: Annotated[bool, Strict()] = Field(
        False, description="Fold each BatchNorm into its conv.")
    input_hw: integer(ge=2, le=64) = Field(8, description="Input height = width.")
    seed: integer(ge=0, le=2**31 - 1) = Field(0, description="Seeds the weights and the input.")


class BlockRequest(BlockFields):
    """A block and its input: the seeded teaching weights of ``app.engine``'s builders."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "block": "inverted_residual", "in_channels": 4, "out_channels": 4, "expansion": 6,
        "strides": 1, "input_hw": 8, "seed": 0,
    }]})
    step_stage: str | None = Field(None, description="A convolution stage whose steps (every "
                                   "window, weights, products, sum) are returned as steps.")
    channel: integer(ge=0) = Field(0, description="The output channel of step_stage to step.")
    output_encoding: Literal["list", "base64"] = "list"


_BODY = json_body("BlockRequest", BlockRequest)
EXAMPLE = {"block": "inverted_residual", "in_channels": 4, "out_channels": 4, "expansion": 6,
           "strides": 1, "input_hw": 8, "seed": 0}


def build_block(request: BlockFields) -> engine.Block:
    if request.block == "mobilenet_v1":
        block = engine.mobilenet_v1_block(request.in_channels, request.out_channels,
                                          request.strides, request.seed)
    elif request.block == "inverted_residual":
        block = engine.inverted_residual_block(
            request.in_channels, request.out_channels, request.expansion, request.strides,
            request.seed, project_activation=request.project_activation)
    else:
        between = None if request.activation_between == "none" else request.activation_between
        block = engine.xception_block(request.in_channels, request.out_channels, request.order,
                                      between, request.seed)
    return engine.fold_batch_norm(block) if request.fold_batch_norm else block


def block_input(request: BlockFields) -> np.ndarray:
    """The block's seeded input, (1, input_hw, input_hw, in_channels) float32."""
    shape = (1, request.input_hw, request.input_hw, request.in_channels)
    return np.random.default_rng(request.seed + 1).standard_normal(shape).astype(np.float32)


def check_block(costs: engine.BlockCost, settings: Settings) -> None:
    """The block's work limits (every stage's map, its channels, the block's MACs): 413s."""
    for stage in costs.stages:
        if math.prod(stage.output_shape) > settings.max_elements:
            raise ApiError(413, "too_many_elements", f"stage {stage.name}'s map has "
                           f"{math.prod(stage.output_shape):,} elements; the limit is "
                           f"{settings.max_elements:,} (max_elements)", "input_hw")
        if stage.output_shape[3] > settings.max_channels:
            raise ApiError(413, "too_many_channels", f"stage {stage.name} has "
                           f"{stage.output_shape[3]} channels; the limit is "
                           f"{settings.max_channels} (max_channels)", "expansion")
    if costs.macs > settings.max_macs:
        raise ApiError(413, "too_much_work", f"the block takes {costs.macs:,} multiply-adds; "
                       f"the limit is {settings.max_macs:,} (max_macs)", "input_hw")


def _stage_arrays(stage: Any, encode: Any) -> dict[str, Any]:
    if isinstance(stage, engine.ConvStage):
        return {"kernel": encode(stage.kernel),
                "bias": None if stage.bias is None else encode(stage.bias)}
    if isinstance(stage, engine.BatchNormStage):
        scale, shift = stage.scale_shift()
        return {"scale": encode(scale), "shift": encode(shift)}
    return {}


def blocks_payload(request: BlockRequest, settings: Settings) -> dict[str, Any]:
    block = build_block(request)
    shape = (1, request.input_hw, request.input_hw, request.in_channels)
    costs = engine.block_costs(block, shape)
    check_block(costs, settings)
    x = block_input(request)
    outputs = engine.run_block(block, x)

    def encode(array: np.ndarray) -> Any:
        return output_value(array, request.output_encoding)

    stages = []
    for described, stage, output, cost in zip(block.describe(), block.stages, outputs,
                                              costs.stages, strict=True):
        channels_first = output.output[0].transpose(2, 0, 1)  # (C, H, W)
        stages.append({
            **described, **_stage_arrays(stage, encode),
            "output": encode(channels_first), "output_shape": list(channels_first.shape),
            "zero_fraction": float((channels_first == 0).mean()),
            "min": float(channels_first.min()), "max": float(channels_first.max()),
            "cost": cost.as_dict(),
        })
    steps = None
    if request.step_stage is not None:
        conv = next((stage for stage in block.stages if stage.name == request.step_stage), None)
        if isinstance(conv, engine.ConvStage):
            before = costs.stages[block.stage_names().index(request.step_stage)]
            kh, kw, c, _ = conv.kernel.shape
            group_in = 1 if conv.kind == "depthwise" else c
            values = math.prod(before.output_shape[1:3]) * group_in * kh * kw * 2
            if values > settings.max_elements:
                raise ApiError(413, "too_many_elements", f"the steps of {request.step_stage} "
                               f"have {values:,} values; the limit is {settings.max_elements:,} "
                               "(max_elements)", "step_stage")
        try:
            found = engine.stage_steps(block, x, request.step_stage, request.channel)
        except ValueError as error:
            # A stage or channel this block does not have: the schema cannot name them.
            field = "channel" if str(error).startswith("channel") else "step_stage"
            raise ApiError(422, "invalid_configuration", str(error), field) from None
        steps = {key: encode(value) if isinstance(value, np.ndarray) else value
                 for key, value in found.items()}
    return {
        "steps": steps,
        "block": request.block, "name": block.name, "stage_names": block.stage_names(),
        "input": encode(x[0].transpose(2, 0, 1)), "input_shape": [request.in_channels,
                                                                 request.input_hw,
                                                                 request.input_hw],
        "stages": stages, "costs": {key: value for key, value in costs.as_dict().items()
                                    if key != "stages"},
    }


@router.post(
    "/blocks",
    summary="A block (MobileNetV1, inverted residual, Xception order) stage by stage",
    responses={200: {"content": {"application/json": {"example": {
        "block": "inverted_residual", "stage_names": ["expand", "expand_bn", "expand_relu6",
                                                      "depthwise", "depthwise_bn",
                                                      "depthwise_relu6", "project",
                                                      "project_bn", "add"],
        "costs": {"macs": 29440, "standard": {"macs": 9216}},
    }}}}, **ERROR_RESPONSES},
    openapi_extra=body_docs("BlockRequest", {"inverted_residual_4_to_4": EXAMPLE}),
)
async def blocks(request: Request, body: Annotated[JsonBody, Depends(_BODY)]) -> Response:
    """Each stage in order (``app.engine.run_block``): name, kind, arguments, weights
    (kernels in TF layout, BatchNorm as ``scale`` and ``shift``), the output map (C, H, W),
    and its cost (``block_costs``: weights, MACs, activation bytes, bytes moved, arithmetic
    intensity); ``costs`` totals the block against the standard 3x3 conv it replaces. With
    ``step_stage`` (a convolution stage) and ``channel``, ``steps`` holds the engine's trace of
    that output channel: every window, the weights, the products, the sum and the bias."""
    settings: Settings = request.app.state.settings
    payload = await run_in_threadpool(lambda: dumps(blocks_payload(body.parse(), settings)))
    return Response(payload, media_type="application/json")


class BlockCodeRequest(BlockFields):
    """A block and its input, as ``POST /api/v1/blocks`` takes them (without the steps)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})


_CODE_BODY = json_body("BlockCodeRequest", BlockCodeRequest)


def block_code_payload(request: BlockFields, settings: Settings) -> dict[str, Any]:
    block = build_block(request)
    shape = (1, request.input_hw, request.input_hw, request.in_channels)
    costs = engine.block_costs(block, shape)
    check_block(costs, settings)
    return {"block": request.block, "name": block.name, "stage_names": block.stage_names(),
            **block_code.block_snippets(block, block_input(request)),
            "output_shape": list(costs.stages[-1].output_shape)}


@router.post(
    "/blocks/code",
    summary="Keras and PyTorch code that builds a block with its weights and reproduces it",
    responses={200: {"content": {"application/json": {"example": {
        "block": "inverted_residual", "keras": "import numpy as np\nimport keras ...",
        "pytorch": "import torch\n...", "output_shape": [1, 8, 8, 4],
    }}}}, **ERROR_RESPONSES},
    openapi_extra=body_docs("BlockCodeRequest", {"inverted_residual_4_to_4": EXAMPLE}),
)
async def blocks_code(request: Request,
                      body: Annotated[JsonBody, Depends(_CODE_BODY)]) -> Response:
    """The block of ``POST /api/v1/blocks`` (same fields) as two complete scripts
    (``app.teaching.block_code``): ``keras`` a Keras 3 functional model, ``pytorch`` an
    ``nn.Module``, each with the block's exact weights (kernels, biases, BatchNorm's gamma,
    beta, moving mean and variance) run on its seeded input, leaving in ``output`` the block's
    last map (1, H, W, C), NHWC and float32, equal to ``app.engine.run_block``'s."""
    settings: Settings = request.app.state.settings
    payload = await run_in_threadpool(
        lambda: dumps(block_code_payload(body.parse(), settings)))
    return Response(payload, media_type="application/json")
