"""Which compression for the trace stream: measured, not guessed.

For the page's classroom trace (32x32x3, separable M=2 O=8, SAME, compact float64) and a
student's small edit (8x8x2, M=2, O=4): the trace's own compute and encode time, then the bytes
on the wire and the CPU of each choice:
  none               the NDJSON as it is
  level 1, streamed  zlib level 1, flushed after each line (the API's gzip middleware)
  level 6, streamed  the same at level 6
  level 6, kept      level 6 over the whole stream, unflushed: the smallest a stream can be
  API's flight       what the API sends: once per flight (level 6; level 1 for a stream under
                     SMALL_STREAM_BYTES), flushed after the header and first chunk, then
                     every FLUSH_PLAIN_BYTES (app/api/trace.py); kept as it is

    .venv/bin/python benchmarks/compression.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import TypeAdapter  # noqa: E402

from app.api.body import JsonBody, _field_names  # noqa: E402
from app.api.schemas import TRACE_MODELS, TraceRequest  # noqa: E402
from app.api.trace import (  # noqa: E402
    FLUSH_PLAIN_BYTES,
    GZIP_LEVEL,
    SMALL_GZIP_LEVEL,
    SMALL_STREAM_BYTES,
    frames,
    open_trace,
)
from app.settings import Settings  # noqa: E402
from tests.api.test_answers import page_classroom  # noqa: E402
from tests.faults import server as proc  # noqa: E402

REPEATS = 7
TRACE_ADAPTER: TypeAdapter = TypeAdapter(TraceRequest)
TRACE_FIELDS = _field_names(TraceRequest, TRACE_MODELS)


async def collect(stream: object, settings: Settings) -> list[bytes]:
    return [line async for line in frames(stream, settings)]  # type: ignore[arg-type]


def trace_lines(raw: bytes) -> tuple[list[bytes], float]:
    """The stream's lines and the median seconds to compute and encode them."""
    settings = Settings()
    times, lines = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        body = JsonBody(TRACE_ADAPTER, raw, TRACE_FIELDS)
        stream = open_trace(body, settings)

        lines = asyncio.run(collect(stream, settings))
        times.append(time.perf_counter() - started)
    return lines, statistics.median(times)


def gzipped_bytes(lines: list[bytes], level: int, flush_after: Callable[[int, int], bool]
                  ) -> tuple[int, float]:
    """The gzip's size and the median seconds to make it, flushing (Z_SYNC_FLUSH) after line
    ``number`` whenever ``flush_after(number, plain bytes since the last flush)``."""
    times, size = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        packer = zlib.compressobj(level, zlib.DEFLATED, 31)
        size = pending = 0
        for number, line in enumerate(lines, 1):
            size += len(packer.compress(line))
            pending += len(line)
            if flush_after(number, pending):
                size += len(packer.flush(zlib.Z_SYNC_FLUSH))
                pending = 0
        size += len(packer.flush())
        times.append(time.perf_counter() - started)
    return size, statistics.median(times)


def every_line(number: int, pending: int) -> bool:
    return True  # the gzip middleware: one flush per body chunk


def never(number: int, pending: int) -> bool:
    return False  # the whole stream at once


def the_apis_flushes(number: int, pending: int) -> bool:
    """app/api/trace.py's (its time-based flushes aside: this trace is computed at once)."""
    return number <= 2 or pending >= FLUSH_PLAIN_BYTES


def main() -> None:
    cases = {
        "classroom (the page's)": page_classroom(),
        "small edit 8x8x2": {**proc.separable_config(8, 2, 2, 4, seed=1), "precision": 17},
    }
    print("| trace | compute + encode ms | none kB | level 1 streamed kB (ms) "
          "| level 6 streamed kB (ms) | level 6 kept kB (ms, once) "
          "| the API's flight kB (ms, once) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, body in cases.items():
        lines, seconds = trace_lines(json.dumps(body).encode())
        plain = sum(map(len, lines))
        one, one_s = gzipped_bytes(lines, 1, every_line)
        six_streamed, six_streamed_s = gzipped_bytes(lines, 6, every_line)
        six, six_s = gzipped_bytes(lines, 6, never)
        level = GZIP_LEVEL if plain >= SMALL_STREAM_BYTES else SMALL_GZIP_LEVEL
        shared, shared_s = gzipped_bytes(lines, level, the_apis_flushes)
        print(f"| {name} | {1000 * seconds:.1f} | {plain / 1000:.1f} | {one / 1000:.1f} "
              f"({1000 * one_s:.1f}) | {six_streamed / 1000:.1f} ({1000 * six_streamed_s:.1f}) "
              f"| {six / 1000:.1f} ({1000 * six_s:.1f}) "
              f"| {shared / 1000:.1f} ({1000 * shared_s:.1f}) |")


if __name__ == "__main__":
    main()
