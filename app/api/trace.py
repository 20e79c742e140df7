"""``POST /api/v1/trace``: the teaching steps of a configuration, streamed as NDJSON.

The request is checked whole before the first byte leaves: limits, the plan,
the frame count (``max_frames``) and an estimate of the stream's size
(``max_stream_bytes``) are 4xx answers in the envelope. Then the header goes out
at once, and each chunk is computed and encoded in a worker thread only when
the previous one has been handed to the server, so a slow or vanished client
stops the work: on disconnect the response task is cancelled and the engine's
generator closed. ``max_stream_bytes`` and ``max_stream_seconds`` are enforced
again while streaming, ending the stream with an ``error`` event.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app import engine
from app.api import configs, examples, limits
from app.api.body import (
    JsonBody,
    body_docs,
    get_settings,
    json_body,
    register_component,
)
from app.api.errors import ERROR_RESPONSES, ApiError, configuration_error, envelope
from app.api.frames import MAX_CHUNK_VALUES, MEDIA_TYPE, FrameEncoder, step_widths
from app.api.schemas import TRACE_MODELS, TraceEvent, TraceRequest
from app.settings import Settings

logger = logging.getLogger("convlens.api")
router = APIRouter(tags=["trace"])

_BODY = json_body("TraceRequest", TraceRequest, TRACE_MODELS)
register_component("TraceEvent", TraceEvent)


@dataclass
class TraceStream:
    """A checked trace, its encoder and its header line, ready to stream."""

    trace: engine.Trace
    encoder: FrameEncoder
    header: bytes
    chunk_size: int


def estimate_bytes(trace: engine.Trace, encoder: FrameEncoder, widths: dict[str, int]) -> int:
    """The stream's size from shapes: every float sent, at the encoding's bytes per value."""
    header = trace.header()
    arrays = header["input"].size + header["padded_input"].size + sum(
        array.size for array in header["kernels"].values() if array is not None
    )
    outputs = sum(stage.output_channels * stage.output_hw[0] * stage.output_hw[1]
                  for stage in trace.stages)
    steps = sum(stage.steps * widths[stage.name] for stage in trace.stages)
    return int((arrays + outputs + steps) * encoder.value_bytes)


def open_trace(body: JsonBody, settings: Settings) -> TraceStream:
    """Everything before the first byte (in a worker thread): the body parsed, the checks,
    the engine's trace, the header line."""
    request = body.parse()
    prepared = configs.prepare(request, settings)
    plan = prepared.plan
    limits.check_frames(engine.trace_step_count(plan), settings)
    if request.batch_index >= plan.batch:
        raise ApiError(
            422, "invalid_value",
            f"batch_index must be in 0..{plan.batch - 1} for an input batch of {plan.batch}, "
            f"got {request.batch_index}",
            "batch_index",
        )
    has_bias = prepared.op == "torch_conv2d" and prepared.arguments["bias"] is not None
    encoder = FrameEncoder(request.encoding, request.precision, request.detail, has_bias)
    try:
        trace = engine.build_trace(prepared.op, prepared.arguments, request.batch_index)
    except ValueError as error:
        raise configuration_error(
            error, (*configs.KNOWN_FIELDS[prepared.op], "batch_index")
        ) from None
    widths = step_widths(plan, tuple(stage.name for stage in trace.stages), encoder)
    limits.check_stream_bytes(estimate_bytes(trace, encoder, widths), settings)
    chunk_size = max(1, min(request.chunk_size, MAX_CHUNK_VALUES // max(widths.values())))
    return TraceStream(trace, encoder, encoder.header(trace, chunk_size), chunk_size)


def _next_line(items: Iterator[Any], encoder: FrameEncoder) -> bytes | None:
    """Compute and encode the next chunk (in a worker thread); None at the end."""
    with np.errstate(all="ignore"):  # finite inputs were checked; see the engine's ops
        item = next(items, None)
    return None if item is None else encoder.item(item)


async def frames(stream: TraceStream, settings: Settings) -> AsyncIterator[bytes]:
    """The NDJSON lines of one trace, computed one chunk at a time off the event loop."""
    started = time.monotonic()
    yield stream.header
    sent, chunks = len(stream.header), 0
    items = stream.trace.chunks(stream.chunk_size)
    try:
        while True:
            if time.monotonic() - started > settings.max_stream_seconds:
                yield stream.encoder.error(envelope(
                    503, "stream_timeout",
                    f"The stream ran longer than {settings.max_stream_seconds} s "
                    "(max_stream_seconds); trace a smaller configuration",
                )["error"])
                return
            line = await anyio.to_thread.run_sync(_next_line, items, stream.encoder)
            if line is None:
                break
            if sent + len(line) > settings.max_stream_bytes:
                yield stream.encoder.error(envelope(
                    413, "stream_too_large",
                    f"The stream would exceed {settings.max_stream_bytes:,} bytes "
                    "(max_stream_bytes); use the binary encoding or a smaller configuration",
                    "input",
                )["error"])
                return
            yield line
            sent += len(line)
            chunks += line.startswith(b'{"event":"chunk"')
        yield stream.encoder.end(stream.trace.total_steps, chunks, sent)
    except Exception:
        logger.exception("trace stream failed")
        yield stream.encoder.error(envelope(
            500, "internal_error", "The trace failed mid-stream; please report it",
        )["error"])
    finally:
        # Cancelled (client gone) or finished: the engine's generator computes no more.
        items.close()


@router.post(
    "/trace",
    summary="Stream the trace of a configuration (NDJSON)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON event per line: header, chunk..., stage_end (per stage), "
            "end; or an error event, which ends the stream.",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/TraceEvent"}}},
        },
        **ERROR_RESPONSES,
    },
    openapi_extra=body_docs("TraceRequest", {
        "seed_example_json": examples.TRACE,
        "seed_example_separable_binary": examples.TRACE_SEPARABLE,
    }),
)
async def trace(body: Annotated[JsonBody, Depends(_BODY)],
                settings: Annotated[Settings, Depends(get_settings)]) -> StreamingResponse:
    """``op`` (conv2d, depthwise_conv2d, separable_conv2d, torch_conv2d) plus that op's
    fields exactly as its endpoint takes them, and the stream options ``encoding``,
    ``precision``, ``detail``, ``chunk_size``, ``batch_index``."""
    stream = await run_in_threadpool(open_trace, body, settings)
    return StreamingResponse(
        frames(stream, settings), media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

