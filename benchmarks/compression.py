"""Which compression for the trace stream: measured, not guessed.

For the page's classroom trace (32x32x3, separable M=2 O=8, SAME, compact float64) and a
student's small edit (8x8x2, M=2, O=4): the trace's own compute and encode time, then the bytes
on the wire and the CPU of each choice:
  none               the NDJSON as it is
  level 1, streamed  zlib level 1, flushed after each line (the API's gzip middleware)
  level 6, streamed  the same at level 6
  level 6, kept      level 6 over the whole stream, unflushed: the smallest a stream can be
  level 6, flight    what the API sends: level 6 once per flight, flushed after the header and
                     first chunk, then every FLUSH_PLAIN_BYTES (app/api/trace.py); kept as it is

    .venv/bin/python benchmarks/compression.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import TypeAdapter  # noqa: E402

from app.api.body import JsonBody, _field_names  # noqa: E402
from app.api.schemas import TRACE_MODELS, TraceRequest  # noqa: E402
from app.api.trace import FLUSH_PLAIN_BYTES, GZIP_LEVEL, frames, open_trace  # noqa: E402
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


def streamed(lines: list[bytes], level: int) -> tuple[int, float]:
    times, size = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        packer = zlib.compressobj(level, zlib.DEFLATED, 31)
        size = sum(len(packer.compress(line)) + len(packer.flush(zlib.Z_SYNC_FLUSH))
                   for line in lines) + len(packer.flush())
        times.append(time.perf_counter() - started)
    return size, statistics.median(times)


def kept_level6(lines: list[bytes]) -> tuple[int, float]:
    times, size = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)
        size = sum(len(packer.compress(line)) for line in lines) + len(packer.flush())
        times.append(time.perf_counter() - started)
    return size, statistics.median(times)


def flight(lines: list[bytes]) -> tuple[int, float]:
    """The API's own segments (its time-based flushes aside: this trace is computed at once)."""
    times, size = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        size = pending = 0
        for number, line in enumerate(lines, 1):
            size += len(packer.compress(line))
            pending += len(line)
            if number <= 2 or pending >= FLUSH_PLAIN_BYTES:
                size += len(packer.flush(zlib.Z_SYNC_FLUSH))
                pending = 0
        size += len(packer.flush())
        times.append(time.perf_counter() - started)
    return size, statistics.median(times)


def main() -> None:
    cases = {
        "classroom (the page's)": page_classroom(),
        "small edit 8x8x2": {**proc.separable_config(8, 2, 2, 4, seed=1), "precision": 17},
    }
    print("| trace | compute + encode ms | none kB | level 1 streamed kB (ms) "
          "| level 6 streamed kB (ms) | level 6 kept kB (ms, once) "
          "| level 6 flight kB (ms, once) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, body in cases.items():
        lines, seconds = trace_lines(json.dumps(body).encode())
        plain = sum(map(len, lines))
        one, one_s = streamed(lines, 1)
        six_streamed, six_streamed_s = streamed(lines, 6)
        six, six_s = kept_level6(lines)
        shared, shared_s = flight(lines)
        print(f"| {name} | {1000 * seconds:.1f} | {plain / 1000:.1f} | {one / 1000:.1f} "
              f"({1000 * one_s:.1f}) | {six_streamed / 1000:.1f} ({1000 * six_streamed_s:.1f}) "
              f"| {six / 1000:.1f} ({1000 * six_s:.1f}) "
              f"| {shared / 1000:.1f} ({1000 * shared_s:.1f}) |")


if __name__ == "__main__":
    main()
