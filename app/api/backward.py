"""``POST /api/v1/trace/backward``: the backward pass of a configuration, streamed as NDJSON.

``POST /api/v1/trace`` with ``"backward": true`` streams the same (``from_trace``: the trace
endpoint's backward option delegates here).

The body is the trace's (``op``: conv2d, depthwise_conv2d or separable_conv2d, that op's
fields, and the stream options ``encoding``, ``precision``, ``chunk_size``, ``batch_index``)
plus ``out_backprop``: dL/d(output) in the output's shape and data format (null: all ones,
the gradient of L = Σ output). Events: ``header`` (the configuration, ``input``,
``weights``, ``out_gradient``), then per stage (``pointwise_gradient`` for separable,
``filter_gradient``, ``input_gradient``) its ``chunk`` events and a ``stage_end`` with the
stage's result, then ``end``. Every chunk carries every field (``app.engine.backward``).
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import Discriminator, Field, Tag, create_model
from starlette.concurrency import run_in_threadpool

from app import engine
from app.api import configs, limits
from app.api.arrays import source
from app.api.body import JsonBody, body_docs, get_settings, json_body
from app.api.errors import ERROR_RESPONSES, ApiError, configuration_error, envelope
from app.api.frames import FORMAT_VERSION, MAX_CHUNK_VALUES, MEDIA_TYPE, FrameEncoder
from app.api.schemas import TRACE_MODELS, Array4D
from app.engine.backward import BACKWARD_OPS
from app.settings import Settings

router = APIRouter(tags=["trace"])

BACKWARD_MODELS = {
    op: create_model(
        f"Backward{''.join(part.title() for part in op.split('_'))}Request",
        __base__=TRACE_MODELS[op],
        out_backprop=(
            Array4D | None,
            Field(None, description="dL/d(output), the output's shape; null: all ones."),
        ),
        backward=(
            Literal[True],
            Field(True, description="Always the backward pass here (the option of "
                  "POST /api/v1/trace)."),
        ),
    )
    for op in BACKWARD_OPS
}
_members = tuple(Annotated[model, Tag(op)] for op, model in BACKWARD_MODELS.items())
BackwardTraceRequest = Annotated[
    _members[0] | _members[1] | _members[2], Discriminator("op"),
    Field(description="op plus that op's fields, stream options, and out_backprop."),
]
_BODY = json_body("BackwardTraceRequest", BackwardTraceRequest, BACKWARD_MODELS)

EXAMPLE = {
    "op": "depthwise_conv2d",
    "input": [[[[1, 1], [2, 1], [3, 1], [4, 1]]] * 4],
    "filter": [[[[0, 2], [1, 3]]] * 3] * 3,
    "strides": [1, 1, 1, 1], "padding": "VALID", "encoding": "json",
}


def _values_per_step(stage: engine.StageInfo, plan: engine.ConvPlan) -> int:
    kh, kw = plan.kernel_hw
    ho, wo = plan.output_hw
    if stage.name == "pointwise_gradient":
        return plan.spatial_out_channels * (plan.out_channels + 1) + plan.out_channels + 2
    if stage.name == "filter_gradient":
        return 4 * ho * wo + 7
    group_out = plan.spatial_out_channels // plan.groups
    return (4 * group_out + 1) * kh * kw + kh + kw + group_out + 4


def open_backward(body: JsonBody, settings: Settings, request: Any = None
                  ) -> tuple[Any, FrameEncoder, int]:
    """Everything before the first byte; ``request``: the body already parsed (by the
    trace endpoint's adapter, whose models carry the same fields)."""
    request = body.parse() if request is None else request
    prepared = configs.prepare(request, settings)
    plan = prepared.plan
    limits.check_frames(engine.backward_step_count(plan), settings)
    out_backprop = None
    if request.out_backprop is not None:
        array = source(request.out_backprop, "out_backprop", (4,))
        limits.check_sources({"out_backprop": array}, settings)
        out_backprop = array.load(request.dtype)
    try:
        trace = engine.build_backward_trace(
            prepared.op, prepared.arguments, out_backprop, request.batch_index
        )
    except ValueError as error:
        fields = (*configs.KNOWN_FIELDS[prepared.op], "out_backprop", "batch_index")
        raise configuration_error(error, fields) from None
    encoder = FrameEncoder(request.encoding, request.precision, "full")
    widths = {stage.name: _values_per_step(stage, plan) for stage in trace.stages}
    estimate = sum(stage.steps * widths[stage.name] for stage in trace.stages)
    limits.check_stream_bytes(int(estimate * encoder.value_bytes), settings)
    chunk_size = max(1, min(request.chunk_size, MAX_CHUNK_VALUES // max(widths.values())))
    return trace, encoder, chunk_size


def _header(trace: Any, encoder: FrameEncoder, chunk_size: int) -> bytes:
    header = trace.header()
    event = {"event": "header", "format": FORMAT_VERSION, "encoding": encoder.encoding,
             "precision": encoder.precision, "chunk_size": chunk_size}
    for name, value in header.items():
        event[name] = encoder.array(value) if isinstance(value, np.ndarray) else value
    return encoder.line(event)


def _next_line(items: Any, encoder: FrameEncoder) -> bytes | None:
    item = next(items, None)
    if item is None:
        return None
    if isinstance(item, engine.StageResult):
        return encoder.line({"event": "stage_end", "stage": item.stage,
                             "output": encoder.array(item.output)})
    return encoder.line({
        "event": "chunk", "stage": item.stage, "start": item.start,
        "global_start": item.global_start,
        "fields": {name: encoder.array(values) for name, values in item.fields.items()},
    })


async def lines(trace: Any, encoder: FrameEncoder, chunk_size: int, settings: Settings
                ) -> AsyncIterator[bytes]:
    started = time.monotonic()
    header = await anyio.to_thread.run_sync(_header, trace, encoder, chunk_size)
    yield header
    sent, chunks = len(header), 0
    items = trace.chunks(chunk_size)
    try:
        while True:
            if time.monotonic() - started > settings.max_stream_seconds:
                yield encoder.error(envelope(
                    503, "stream_timeout",
                    f"The stream ran longer than {settings.max_stream_seconds} s "
                    "(max_stream_seconds); trace a smaller configuration",
                )["error"])
                return
            line = await anyio.to_thread.run_sync(_next_line, items, encoder)
            if line is None:
                break
            yield line
            sent += len(line)
            chunks += line.startswith(b'{"event":"chunk"')
        yield encoder.end(trace.total_steps, chunks, sent)
    finally:
        items.close()


@router.post(
    "/trace/backward",
    summary="Stream the backward pass of a configuration, step by step (NDJSON)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "header, then per stage chunk... and stage_end, then end.",
              "content": {MEDIA_TYPE: {}}},
        **ERROR_RESPONSES,
    },
    openapi_extra=body_docs("BackwardTraceRequest", {"seed_example_json": EXAMPLE}),
)
async def backward_trace(body: Annotated[JsonBody, Depends(_BODY)],
                         settings: Annotated[Settings, Depends(get_settings)]
                         ) -> StreamingResponse:
    """dL/dw as Σ over output positions of input value × output gradient, dL/dx as the
    transposed correlation, the pointwise gradient as a sum of outer products."""
    trace, encoder, chunk_size = await run_in_threadpool(open_backward, body, settings)
    return _response(trace, encoder, chunk_size, settings)


def _response(trace: Any, encoder: FrameEncoder, chunk_size: int, settings: Settings
              ) -> StreamingResponse:
    return StreamingResponse(
        lines(trace, encoder, chunk_size, settings), media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def might_ask_backward(raw: bytes) -> bool:
    """False only when the body cannot hold a ``backward`` or ``out_backprop`` key (neither
    spelt out nor \\u-escaped): the forward trace's hot path parses nothing more."""
    return b"back" in raw or b"\\u" in raw


async def from_trace(body: JsonBody, settings: Settings) -> StreamingResponse | None:
    """``POST /api/v1/trace`` with ``"backward": true``: the stream of ``/trace/backward``
    (None: a forward trace, the caller goes on). Backward streams are not kept in the
    answer store."""
    request = await run_in_threadpool(body.parse)
    if not request.backward:
        if request.out_backprop is not None:
            raise ApiError(422, "invalid_configuration", "out_backprop is read only with "
                           "backward: true (the forward trace has no output gradient)",
                           "out_backprop")
        return None
    if request.op not in BACKWARD_OPS:
        raise ApiError(422, "invalid_configuration", f"backward: the backward pass is traced "
                       f"for {', '.join(BACKWARD_OPS)}, not {request.op}", "backward")
    trace, encoder, chunk_size = await run_in_threadpool(open_backward, body, settings, request)
    return _response(trace, encoder, chunk_size, settings)
