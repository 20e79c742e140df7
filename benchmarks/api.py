"""API latency, throughput and the trace stream, on loopback against a real uvicorn.

The classroom configuration: input 32x32x3 (the ``rgb_test_pattern`` preset),
depthwise filter 3x3x3x2 and pointwise filter 1x1x6x8 (seeded uniform values in
[-1, 1]), strides 1, SAME, float64: ``POST /api/v1/tf/separable_conv2d``.

Measured:
- latency p50/p99 and requests/s with 1 client (sequential, httpx) and with N
  concurrent clients (each its own keep-alive connection, no think time: a closed
  loop; a minimal asyncio HTTP client, so the load generator leaves the shared
  cores to the server);
- its trace (``POST /api/v1/trace``, default options): server time to compute and
  encode the whole trace (the server's own code path, timed in-process, median of
  runs), time to the first frame and to the last byte over HTTP, and the bytes on
  the wire plain and gzip.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/api.py [--clients 60] [--duration 15]

The server runs as ``uvicorn app.main:app --workers 1`` with one BLAS thread;
client and server share the machine's cores, so the figures are a floor. The
markdown table goes to stdout and to ``--out`` (default /tmp/api_bench.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import presets  # noqa: E402

SEED = 2026
TIMEOUT_SECONDS = 60.0


def classroom_body(weights: str = "presets") -> dict[str, Any]:
    """The classroom configuration.

    weights "presets": what the page offers, so what a class sends: every channel's
    two depthwise kernels are Sobel x and the Gaussian, the pointwise weights are
    seeded multiples of 1/8 (so results print short). "random": seeded uniform
    float64 weights, whose results print with 17 digits: the heaviest JSON.
    """
    rng = np.random.default_rng(SEED)
    if weights == "random":
        depthwise = rng.uniform(-1, 1, (3, 3, 3, 2))
        pointwise = rng.uniform(-1, 1, (1, 1, 6, 8))
    else:
        kernels = {preset.name: preset.array for preset in presets.named_kernels()}
        pair = np.stack([kernels["sobel_x"], kernels["gaussian"]], axis=-1)  # (3, 3, 2)
        depthwise = np.repeat(pair[:, :, None, :], 3, axis=2)  # (3, 3, 3, 2)
        pointwise = np.round(rng.uniform(-1, 1, (1, 1, 6, 8)) * 8) / 8
    return {
        "input": presets.rgb_test_pattern().tolist(),
        "depthwise_filter": depthwise.tolist(),
        "pointwise_filter": pointwise.tolist(),
        "strides": [1, 1, 1, 1],
        "padding": "SAME",
    }


def encoded(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body as JSON bytes, once: the client should not spend its CPU re-encoding it."""
    return json.dumps(body).encode(), {"Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env=environment,
    )
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def sequential(url: str, body: dict[str, Any], requests: int) -> dict[str, float]:
    """One client, one request at a time, each distinct (computed, not cached)."""
    content, headers = encoded(body)
    latencies = []
    errors = 0
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        for number in range(20):  # warm up
            client.post(url, content=distinct(content, number), headers=headers)
        started = time.perf_counter()
        for number in range(requests):
            request_body = distinct(content, 100 + number)
            begin = time.perf_counter()
            response = client.post(url, content=request_body, headers=headers)
            latencies.append(time.perf_counter() - begin)
            errors += response.status_code != 200
        elapsed = time.perf_counter() - started
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "rps": requests / elapsed, "errors": errors, "requests": requests}


def distinct(content: bytes, number: int) -> bytes:
    """``content`` with trailing JSON whitespace spelling ``number`` in base 4: the same
    request, different bytes, so the server's answer cache cannot serve it."""
    return content + bytes(b" \t\n\r"[(number >> (2 * digit)) & 3] for digit in range(10))


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client: prebuilt request bytes out, one
    Content-Length response in. The load generator shares the server's two cores,
    so it must cost far less CPU per request than httpx does (like wrk)."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nAccept-Encoding: gzip\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, content: bytes) -> int:
        """One request; returns the status code."""
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(content) + content)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def concurrent(port: int, path: str, body: dict[str, Any], clients: int,
                     duration: float, same: bool) -> dict[str, float]:
    """``clients`` closed-loop connections; ``same``: every request the same bytes (a
    class on one demo, answered from the cache), else each request distinct."""
    content, _ = encoded(body)
    latencies: list[float] = []
    errors = 0
    sent = 0

    def next_body() -> bytes:
        nonlocal sent
        sent += 1
        return content if same else distinct(content, sent)

    async def student(connection: RawConnection, stop: float) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            begin = time.perf_counter()
            try:
                errors += await connection.post(next_body()) != 200
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                await connection.open()
            latencies.append(time.perf_counter() - begin)

    connections = [RawConnection(port, path) for _ in range(clients)]
    for connection in connections:
        await connection.open()
        await connection.post(next_body())  # warm up
    started = time.perf_counter()
    stop = started + duration
    await asyncio.gather(*(student(connection, stop) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "rps": len(latencies) / elapsed, "errors": errors, "requests": len(latencies)}


def server_trace_time(body: dict[str, Any], runs: int) -> float:
    """Median seconds the server's code path takes for the whole trace: parse the
    body, check it, compute and encode every line (not the HTTP transfer)."""
    from pydantic import TypeAdapter

    from app.api.body import JsonBody
    from app.api.schemas import TRACE_MODELS, TraceRequest
    from app.api.trace import _next_line, open_trace
    from app.settings import Settings

    raw = json.dumps({"op": "separable_conv2d", **body}).encode()
    adapter: TypeAdapter[Any] = TypeAdapter(TraceRequest)
    fields = {op: tuple(model.model_fields) for op, model in TRACE_MODELS.items()}
    settings = Settings()
    times = []
    for index in range(runs + 5):
        begin = time.perf_counter()
        stream = open_trace(JsonBody(adapter, raw, fields), settings)
        items = stream.trace.chunks(stream.chunk_size)
        while _next_line(items, stream.encoder) is not None:
            pass
        if index >= 5:
            times.append(time.perf_counter() - begin)
    return statistics.median(times)


def stream_figures(url: str, body: dict[str, Any], runs: int) -> dict[str, float]:
    first_frames, totals = [], []
    wire: dict[str, int] = {}
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        for encoding in ("identity", "gzip"):
            for index in range(runs + 3):
                begin = time.perf_counter()
                first = None
                size = 0
                buffer = b""
                with client.stream("POST", url, json=body,
                                   headers={"Accept-Encoding": encoding}) as response:
                    for raw in response.iter_raw():
                        size += len(raw)
                        if first is None:
                            buffer += raw
                            if encoding == "gzip" or b"\n" in buffer:
                                first = time.perf_counter() - begin
                end = time.perf_counter() - begin
                wire[encoding] = size
                if index >= 3 and encoding == "identity":
                    first_frames.append(first or end)
                    totals.append(end)
    return {"first_frame": statistics.median(first_frames), "total": statistics.median(totals),
            "plain_bytes": wire["identity"], "gzip_bytes": wire["gzip"]}


def table(results: dict[str, dict[str, Any]], clients: int) -> str:
    ms = 1000.0
    names = list(results)
    rows = [
        ("separable_conv2d, 1 client: p50 / p99", "",
         lambda r: f"{r['one']['p50'] * ms:.1f} / {r['one']['p99'] * ms:.1f} ms"),
        ("separable_conv2d, 1 client: requests/s", "", lambda r: f"{r['one']['rps']:.0f}"),
        (f"separable_conv2d, {clients} clients, each request distinct: p50 / p99",
         "p99 <= 200 ms",
         lambda r: f"{r['many']['p50'] * ms:.1f} / {r['many']['p99'] * ms:.1f} ms"),
        (f"separable_conv2d, {clients} clients, each request distinct: requests/s", "",
         lambda r: f"{r['many']['rps']:.0f}"),
        (f"separable_conv2d, {clients} clients, one demo (answer cache): p50 / p99",
         "p99 <= 200 ms",
         lambda r: f"{r['same']['p50'] * ms:.1f} / {r['same']['p99'] * ms:.1f} ms"),
        (f"separable_conv2d, {clients} clients, one demo (answer cache): requests/s", "",
         lambda r: f"{r['same']['rps']:.0f}"),
        (f"separable_conv2d, {clients} clients: errors", "0",
         lambda r: f"{r['many']['errors'] + r['same']['errors']} of "
         f"{r['many']['requests'] + r['same']['requests']}"),
        ("response size (plain JSON)", "", lambda r: f"{r['response_bytes'] / 1e3:.0f} kB"),
        ("trace: server time to parse, compute and encode (7168 steps)", "<= 5 ms",
         lambda r: f"{r['trace']['server'] * ms:.2f} ms"),
        ("trace: time to first frame (HTTP)", "<= 20 ms",
         lambda r: f"{r['trace']['first_frame'] * ms:.1f} ms"),
        ("trace: time to last byte (HTTP, plain)", "",
         lambda r: f"{r['trace']['total'] * ms:.1f} ms"),
        ("trace: bytes on the wire, plain", "",
         lambda r: f"{r['trace']['plain_bytes'] / 1e6:.3f} MB"),
        ("trace: bytes on the wire, gzip", "<= 0.5 MB",
         lambda r: f"{r['trace']['gzip_bytes'] / 1e6:.3f} MB"),
    ]
    lines = [
        "| measure | " + " | ".join(f"{name} weights" for name in names) + " | target |",
        "| --- |" + " --- |" * (len(names) + 1),
    ]
    for label, target, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(results[name]) for name in names)
                     + f" | {target} |")
    return "\n".join(lines)


def measure(port: int, body: dict[str, Any], arguments: argparse.Namespace) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}/api/v1"
    url = f"{base}/tf/separable_conv2d"
    trace_body = {"op": "separable_conv2d", **body}
    return {
        "one": sequential(url, body, arguments.requests),
        "many": asyncio.run(concurrent(port, "/api/v1/tf/separable_conv2d", body,
                                       arguments.clients, arguments.duration, same=False)),
        "same": asyncio.run(concurrent(port, "/api/v1/tf/separable_conv2d", body,
                                       arguments.clients, arguments.duration, same=True)),
        "response_bytes": len(httpx.post(url, json=body,
                                         headers={"Accept-Encoding": "identity"}).content),
        "trace": {
            "server": server_trace_time(body, arguments.trace_runs),
            **stream_figures(f"{base}/trace", trace_body, arguments.trace_runs),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--trace-runs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="/tmp/api_bench.md")
    arguments = parser.parse_args()

    load_before = os.getloadavg()[0]
    port = free_port()
    server = start_server(port, arguments.workers)
    try:
        results = {weights: measure(port, classroom_body(weights), arguments)
                   for weights in ("presets", "random")}
    finally:
        server.terminate()
        server.wait(TIMEOUT_SECONDS)
    text = table(results, arguments.clients)
    note = (
        f"\n\nLoopback, {arguments.workers} uvicorn worker(s), 1 BLAS thread, "
        f"{os.cpu_count()} cores shared by client and server; {arguments.clients} clients "
        f"for {arguments.duration:g} s each, closed loop (no think time). Load average "
        f"(other processes included) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.\n"
    )
    print(text + note)
    Path(arguments.out).write_text(text + note)


if __name__ == "__main__":
    main()
