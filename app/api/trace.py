"""``POST /api/v1/trace``: the teaching steps of a configuration, streamed as NDJSON.

The request is checked whole before the first byte leaves: limits, the plan,
the frame count (``max_frames``) and an estimate of the stream's size
(``max_stream_bytes``) are 4xx answers in the envelope. Then the header goes out
at once, and each chunk is computed and encoded in a worker thread only when
the previous one has been handed to the server, so a slow or vanished client
stops the work: on disconnect the response task is cancelled and the engine's
generator closed. ``max_stream_bytes`` and ``max_stream_seconds`` are enforced
again while streaming, ending the stream with an ``error`` event.

A lecture hall sends the same body hundreds of times (app/answers): identical requests in
flight share one computation (single-flight: every asker gets every line as it is made), a
stream is gzipped once for every asker (level 6, or 1 for a small one), and a finished one is
kept in the answer store, so the next askers get those bytes without any work. Errors and
unfinished streams are never kept.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
import contextlib
import gzip
import hashlib
import logging
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app import __version__, engine
from app.answers import AnswerStore, FlightFailed, SingleFlight, answers_from_url
from app.api import backward as backward_api
from app.api import block_trace as block_trace_api
from app.api import configs, examples, limits
from app.api.block_trace import TRACE_MODELS, TraceRequest
from app.api.body import (
    JsonBody,
    body_docs,
    get_settings,
    json_body,
    register_component,
)
from app.api.errors import ERROR_RESPONSES, ApiError, configuration_error, envelope
from app.api.frames import MAX_CHUNK_VALUES, MEDIA_TYPE, FrameEncoder, step_widths
from app.api.schemas import TraceEvent
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
    estimated_bytes: int  # the stream's plain size, from shapes (estimate_bytes)


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
    if block_trace_api.is_block(request):  # op: block, its stages in order
        return TraceStream(*block_trace_api.open_block_trace(request, settings))
    prepared = configs.prepare(request, settings)
    plan = prepared.plan
    limits.check_frames(engine.trace_step_count(plan), settings)
    if request.batch_index >= plan.batch:
        raise ApiError(
            422, "invalid_configuration",
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
    estimated = estimate_bytes(trace, encoder, widths)
    limits.check_stream_bytes(estimated, settings)
    chunk_size = max(1, min(request.chunk_size, MAX_CHUNK_VALUES // max(widths.values())))
    return TraceStream(trace, encoder, encoder.header(trace, chunk_size), chunk_size, estimated)


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
            "end; or an error event, which ends the stream. With backward: true, the events "
            "of POST /api/v1/trace/backward.",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/TraceEvent"}}},
        },
        **ERROR_RESPONSES,
    },
    openapi_extra=body_docs("TraceRequest", {
        "seed_example_json": examples.TRACE,
        "seed_example_separable_binary": examples.TRACE_SEPARABLE,
        "backward_pass": {**backward_api.EXAMPLE, "backward": True},
        "inverted_residual_block": block_trace_api.EXAMPLE,
    }),
)
async def trace(request: Request, body: Annotated[JsonBody, Depends(_BODY)],
                settings: Annotated[Settings, Depends(get_settings)]) -> Response:
    """``op`` (conv2d, depthwise_conv2d, separable_conv2d, torch_conv2d) plus that op's
    fields exactly as its endpoint takes them, and the stream options ``encoding``,
    ``precision``, ``detail``, ``chunk_size``, ``batch_index``. ``backward: true`` (with
    ``out_backprop``, null: all ones) streams the backward pass instead: the events of
    ``POST /api/v1/trace/backward``."""
    store, flights = await answers(request)
    key = answer_key(body.raw)
    kept = await store.get(key)
    if kept is not None:
        return await kept_answer(request, kept)
    if backward_api.might_ask_backward(body.raw):  # the backward option: its own stream
        backward_stream = await backward_api.from_trace(body, settings)
        if backward_stream is not None:
            return backward_stream
    lines = flights.stream(key, lambda: produce(body, settings, store, key))
    try:
        first = await anext(lines)  # the checks: a 4xx before any byte, for every asker
    except FlightFailed as failure:
        raise failure.error from None
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        # Already gzipped, once for every asker: ApiGZip passes it on as it is.
        return StreamingResponse(_gzipped(first, lines), media_type=MEDIA_TYPE,
                                 headers={**headers, "Content-Encoding": "gzip"})
    return StreamingResponse(_plain(first, lines), media_type=MEDIA_TYPE, headers=headers)


# ---------------------------------------------------------------- one computation per class

# The gzip level by the stream's size, measured (benchmarks/compression.py): a large stream at
# level 6, once per flight -- the classroom trace is 1.46 MB plain, 90 kB at level 1 and 51 kB
# at level 6 for 9 ms paid once, not once per student; a small one (a student's own edit,
# 52 kB plain) at level 1: level 6 would save 2.5 % of its bytes for 55 % more CPU.
GZIP_LEVEL = 6
SMALL_GZIP_LEVEL = 1
SMALL_STREAM_BYTES = 256 * 1024
# A flight's gzip is flushed (so the client can decode what came) after the header and the
# first chunk -- the page draws at once -- and then every FLUSH_PLAIN_BYTES of lines, or when
# FLUSH_SECONDS have passed since the last flush (a slow trace still streams).
FLUSH_PLAIN_BYTES = 256 * 1024
FLUSH_SECONDS = 0.1


def answer_key(raw: bytes) -> str:
    """The answer's key: the exact body (and the app's version, for a shared store)."""
    return f"trace:{__version__}:{hashlib.blake2b(raw, digest_size=20).hexdigest()}"


async def answers(request: Request) -> tuple[AnswerStore, SingleFlight]:
    """The application's answer store and single-flight, made on first use (on the loop)."""
    state = request.app.state
    made = getattr(state, "trace_answers", None)
    if made is None:
        settings: Settings = state.settings
        made = state.trace_answers = answers_from_url(
            settings.redis_url, settings.answer_cache_bytes, settings.largest_answer_bytes)
    return made


async def produce(body: JsonBody, settings: Settings, store: AnswerStore, key: str
                  ) -> AsyncIterator[bytes]:
    """One trace as gzip segments (run once per flight, at the level its size calls for): each
    segment ends at a flush, so a client decodes every line it has received; joined, they are
    one gzip file, kept in the store when the stream ends well and fits
    ``largest_answer_bytes``."""
    stream = await run_in_threadpool(open_trace, body, settings)
    level = GZIP_LEVEL if stream.estimated_bytes >= SMALL_STREAM_BYTES else SMALL_GZIP_LEVEL
    packer: Any = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: the gzip format
    kept: list[bytes] | None = []
    kept_bytes = 0
    pending: list[bytes] = []
    pending_plain = 0
    lines_seen = 0
    flushed_at = anyio.current_time()  # the loop's clock; time.monotonic is the deadline's
    last = b""
    # aclosing: cancelled at any await here (the last asker left), the engine's generator is
    # closed at once, not whenever the garbage collector finds the suspended frames().
    async with contextlib.aclosing(frames(stream, settings)) as lines:
        async for line in lines:
            pending.append(await anyio.to_thread.run_sync(packer.compress, line))
            pending_plain += len(line)
            lines_seen += 1
            last = line
            if (lines_seen <= 2 or pending_plain >= FLUSH_PLAIN_BYTES
                    or anyio.current_time() - flushed_at >= FLUSH_SECONDS):
                pending.append(packer.flush(zlib.Z_SYNC_FLUSH))
                segment = b"".join(pending)
                pending, pending_plain, flushed_at = [], 0, anyio.current_time()
                kept, kept_bytes = _keep(kept, kept_bytes, segment, settings)
                yield segment
    pending.append(packer.flush())  # the end of the gzip file
    segment = b"".join(pending)
    kept, kept_bytes = _keep(kept, kept_bytes, segment, settings)
    yield segment
    if kept is not None and last.startswith(b'{"event":"end"'):
        await store.put(key, b"".join(kept))


def _keep(kept: list[bytes] | None, size: int, segment: bytes, settings: Settings
          ) -> tuple[list[bytes] | None, int]:
    """The segments kept so far, or None once they outgrow ``largest_answer_bytes``."""
    if kept is None or size + len(segment) > settings.largest_answer_bytes:
        return None, 0
    kept.append(segment)
    return kept, size + len(segment)


async def kept_answer(request: Request, packed: bytes) -> Response:
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        return Response(packed, media_type=MEDIA_TYPE,
                        headers={**headers, "Content-Encoding": "gzip"})
    plain = await anyio.to_thread.run_sync(gzip.decompress, packed)
    return Response(plain, media_type=MEDIA_TYPE, headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    return "gzip" in accept_encoding


async def _gzipped(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The flight's segments as they are. Should the shared flight fail mid-stream, the gzip
    stops short (the client reports a stream that ended early): an error line cannot be
    appended to a gzip stream whose compressor lives in another task."""
    yield first
    try:
        async for segment in rest:
            yield segment
    except FlightFailed:
        logger.exception("shared trace stream failed")
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


async def _plain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The flight's segments decoded, for a client that does not accept gzip."""
    unpacker = zlib.decompressobj(31)
    try:
        yield unpacker.decompress(first)
        async for segment in rest:
            if lines := unpacker.decompress(segment):
                yield lines
    except FlightFailed:
        logger.exception("shared trace stream failed")
        yield FrameEncoder("json", 6, "compact").error(envelope(
            500, "internal_error", "The trace failed mid-stream; please report it",
        )["error"])
    finally:
        await rest.aclose()  # type: ignore[attr-defined]


class KeptTraces:
    """ASGI middleware: ``POST /api/v1/trace`` whose answer is kept is answered from the store
    before FastAPI routes it (about 0.1 ms instead of 0.8 ms of CPU: the lecture hall's case,
    hundreds of identical bodies). Anything else, a miss included, goes on as it came (the
    body it read is handed on). Inside the media-type check and the security headers."""

    def __init__(self, app: Any, path: str = "/api/v1/trace") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        application = scope.get("app")
        kept_answers = getattr(getattr(application, "state", None), "trace_answers", None)
        headers = dict(scope["headers"])
        if (kept_answers is None
                or not headers.get(b"content-type", b"").startswith(b"application/json")):
            await self.app(scope, receive, send)
            return
        settings: Settings = application.state.settings  # type: ignore[union-attr]
        declared = headers.get(b"content-length", b"")
        if not declared.isdigit() or int(declared) > settings.max_body_bytes:
            # Chunked, or declared too large: the route's own reading answers (413 at once,
            # never waiting for a body it would refuse).
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        message: dict[str, Any] = {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its body arrived
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > settings.max_body_bytes:
                break  # the route's own reading answers 413
        raw = b"".join(chunks)
        done = not message.get("more_body")
        kept = await kept_answers[0].get(answer_key(raw)) if done else None
        gzip_ok = accepts_gzip(headers.get(b"accept-encoding", b"").decode("latin-1"))
        if kept is not None and gzip_ok:
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", MEDIA_TYPE.encode()), (b"content-encoding", b"gzip"),
                (b"content-length", str(len(kept)).encode()), (b"vary", b"Accept-Encoding"),
                (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": kept})
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": not done}

        await self.app(scope, replay, send)
