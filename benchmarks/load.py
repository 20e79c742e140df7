"""Classroom load on loopback: N concurrent students against `convlens serve --workers W`.

Each student, in a loop until the time is up:
  1. GET /                     (the page)
  2. GET /api/v1/presets       (the page's data)
  3. POST /api/v1/trace        (the classroom configuration, 32x32x3, 3x3, M=2, O=8, the
                                very body the page sends: compact, float64; read to its
                                `end` event)
  4. "step": POST /api/v1/costs, POST /api/v1/trace (a small 8x8 edit of the student's
     own: a body no other student sends), POST /api/v1/costs
with a think time (uniform 0.5x-1.5x of --think seconds) after each action: stepping
itself is drawn by the browser from frames it already has.

An error is any transport failure, a status other than 200, or a trace without its
`end` event. Reported per run: requests, errors, requests/s, p50/p99 latency (all
requests, and traces alone, to the last byte), and the server's peak resident memory
(sampled every 0.2 s, summed over the uvicorn supervisor and its workers).

    .venv/bin/python benchmarks/load.py                     # 60 s per run, 4 runs
    .venv/bin/python benchmarks/load.py --duration 20 --students 60 --workers 1 2

The table goes to stdout and to --out (default /tmp/load_bench.md). Client and server
share the machine's cores, so these figures are a floor for a real deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.test_answers import page_classroom  # noqa: E402
from tests.faults import server as proc  # noqa: E402

COSTS = {
    "input_hw": [32, 32], "in_channels": 3, "out_channels": 8, "kernel_hw": [3, 3],
    "channel_multiplier": 2, "padding": "SAME",
}
COSTS_BODY = json.dumps(COSTS).encode()
# What the students' browsers accept; --identity turns compression off to show its cost.
ACCEPT_ENCODING = ["gzip"]
REQUEST_TIMEOUT_SECONDS = 120.0
# One student's loop (Student.run): page, presets, trace, costs, small trace, costs;
# a think time after presets, the trace and each of the three steps.
REQUESTS_PER_CYCLE = 6
THINKS_PER_CYCLE = 5


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    retries: int = 0  # requests sent again after the server closed an idle connection

    def record(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Closed(Exception):
    """The server closed the connection before answering."""


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds one.

    A minimal client (Content-Length and chunked bodies, gzip), because httpx spends
    more CPU per request than the server does and would measure itself. Like a
    browser, a request that fails on a reused connection before any answer arrived
    (the server closed it meanwhile) is sent again once on a new connection.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.retries = 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        reused = self.writer is not None
        try:
            return await self._exchange(method, path, body)
        except (Closed, ConnectionError) as error:
            await self.close()
            if not reused or isinstance(error, ConnectionRefusedError):
                raise
            self.retries += 1
            return await self._exchange(method, path, body)

    async def _exchange(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Accept-Encoding: {ACCEPT_ENCODING[0]}\r\n")
        if method == "POST":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        try:
            raw_head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as error:
            if not error.partial:
                raise Closed from None
            raise
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {name.lower(): value.strip() for name, _, value in
                   (line.partition(":") for line in lines[1:] if line)}
        if headers.get("transfer-encoding") == "chunked":
            parts = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")  # the last chunk's empty trailer
            content = b"".join(parts)
        else:
            content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("content-encoding") == "gzip":
            content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
        if headers.get("connection") == "close":
            await self.close()
        return status, content


class Student:
    def __init__(self, url: str, results: Results, think: float,
                 classroom: bytes, small: bytes) -> None:
        parsed = urlsplit(url)
        self.connection = Connection(parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.results = results
        self.think = think
        self.classroom = classroom
        self.small = small

    async def pause(self) -> None:
        await asyncio.sleep(self.think * random.uniform(0.5, 1.5))

    async def call(self, kind: str, method: str, path: str, body: bytes = b"") -> None:
        started = time.perf_counter()
        try:
            status, content = await asyncio.wait_for(
                self.connection.request(method, path, body), REQUEST_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, Closed, ValueError) as error:
            await self.connection.close()
            self.results.errors.append(f"{kind}: {error!r}"[:160])
            return
        if status != 200:
            self.results.errors.append(f"{kind}: HTTP {status}")
            return
        if path.endswith("/trace"):
            last = json.loads(content.rstrip(b"\n").rsplit(b"\n", 1)[-1])
            if last.get("event") != "end":
                self.results.errors.append(f"{kind}: stream ended with {last.get('event')}")
                return
        self.results.record(kind, time.perf_counter() - started)

    async def run(self, until: float) -> None:
        await asyncio.sleep(random.uniform(0, self.think))  # students do not arrive in step
        try:
            while time.monotonic() < until:
                await self.call("page", "GET", "/")
                await self.call("presets", "GET", "/api/v1/presets")
                await self.pause()
                await self.call("trace", "POST", "/api/v1/trace", self.classroom)
                await self.pause()
                for kind, path, body in (("costs", "/api/v1/costs", COSTS_BODY),
                                         ("trace", "/api/v1/trace", self.small),
                                         ("costs", "/api/v1/costs", COSTS_BODY)):
                    if time.monotonic() >= until:
                        break
                    await self.call(kind, "POST", path, body)
                    await self.pause()
        finally:
            self.results.retries += self.connection.retries
            await self.connection.close()


async def load(url: str, students: int, duration: float, think: float) -> tuple[Results, float]:
    results = Results()
    classroom = json.dumps(page_classroom()).encode()
    started = time.monotonic()
    until = started + duration
    await asyncio.gather(*(
        Student(url, results, think, classroom,
                json.dumps(proc.separable_config(8, 2, 2, 4, seed=1 + n)).encode()).run(until)
        for n in range(students)
    ))
    return results, time.monotonic() - started


def sample_peak_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], proc.rss_bytes(pid))
        stop.wait(0.2)


def run_once(students: int, workers: int, duration: float, think: float,
             event_loop: str = "asyncio") -> dict[str, object]:
    environment = {"CONVLENS_EVENT_LOOP": event_loop}
    with tempfile.TemporaryDirectory() as scratch, \
            proc.running(Path(scratch) / "server.log", environment, workers) as server:
        # One request per worker path before the clock starts (imports, first trace).
        asyncio.run(load(server.url, 2 * workers, 0.1, 0.0))
        idle_rss = proc.rss_bytes(server.pid)
        peak = [idle_rss]
        stop = threading.Event()
        sampler = threading.Thread(target=sample_peak_rss, args=(server.pid, stop, peak))
        sampler.start()
        cpu_before = proc.cpu_seconds(server.pid)
        client_cpu_before = time.process_time()
        try:
            results, elapsed = asyncio.run(load(server.url, students, duration, think))
        finally:
            stop.set()
            sampler.join()
        server_cpu = proc.cpu_seconds(server.pid) - cpu_before
        client_cpu = time.process_time() - client_cpu_before
        health_started = time.perf_counter()
        health = httpx.get(server.url + "/api/v1/health", timeout=30)
        health_seconds = time.perf_counter() - health_started
        log = server.log()
    everything = results.all_latencies()
    traces = results.latencies.get("trace", [])
    return {
        "students": students,
        "workers": workers,
        "seconds": round(elapsed, 1),
        "requests": len(everything),
        "errors": len(results.errors),
        "error_kinds": sorted(set(results.errors))[:5],
        "requests_per_second": round(len(everything) / elapsed, 1),
        "p50_ms": round(1000 * percentile(everything, 0.50), 1),
        "p99_ms": round(1000 * percentile(everything, 0.99), 1),
        "trace_p50_ms": round(1000 * percentile(traces, 0.50), 1),
        "trace_p99_ms": round(1000 * percentile(traces, 0.99), 1),
        "mean_ms": round(1000 * statistics.fmean(everything), 1) if everything else None,
        "idle_rss_mib": round(idle_rss / 2**20),
        "peak_rss_mib": round(peak[0] / 2**20),
        "server_cpu_percent": round(100 * server_cpu / elapsed),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(len(everything), 1), 2),
        # Sizing from CPU time, not latency (a shared machine inflates latency): a student
        # sends REQUESTS_PER_CYCLE requests per THINKS_PER_CYCLE think times; at this run's
        # CPU per request, a core kept 60 % busy (M/M/1: mean wait 1.5x the service time)
        # serves 0.6 / (CPU per request x requests per second per student) students.
        "students_per_core": round(0.6 / max(
            server_cpu / max(len(everything), 1) * REQUESTS_PER_CYCLE
            / (THINKS_PER_CYCLE * think), 1e-9)),
        "client_cpu_percent": round(100 * client_cpu / elapsed),
        "retries": results.retries,
        "health_after_ms": round(1000 * health_seconds, 1) if health.status_code == 200 else None,
        "server_tracebacks": log.count("Traceback"),
    }


def table(rows: list[dict[str, object]], duration: float, think: float) -> str:
    lines = [
        f"Loopback, {duration:g} s per run, think time {think:g} s (0.5x-1.5x), "
        f"{_cpu_count()} cores shared by client and server, Accept-Encoding: "
        f"{ACCEPT_ENCODING[0]}.",
        "",
        "| students | workers | event loop | requests | errors | req/s | p50 ms | p99 ms "
        "| trace p50 ms | trace p99 ms | peak RSS MiB (idle) | server CPU % | client CPU % "
        "| CPU ms/request | students/core at 60 % |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['students']} | {row['workers']} | {row.get('event_loop', 'asyncio')} "
            f"| {row['requests']} | {row['errors']} "
            f"| {row['requests_per_second']} | {row['p50_ms']} | {row['p99_ms']} "
            f"| {row['trace_p50_ms']} | {row['trace_p99_ms']} "
            f"| {row['peak_rss_mib']} ({row['idle_rss_mib']}) | {row['server_cpu_percent']} "
            f"| {row['client_cpu_percent']} | {row['server_cpu_ms_per_request']} "
            f"| {row['students_per_core']} |"
        )
    return "\n".join(lines) + "\n"


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--students", type=int, nargs="+", default=[60, 300])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--think", type=float, default=1.0, help="mean think time, seconds")
    parser.add_argument("--out", type=Path, default=Path("/tmp/load_bench.md"))
    parser.add_argument("--identity", action="store_true",
                        help="ask for uncompressed answers (browsers ask for gzip)")
    parser.add_argument("--event-loops", nargs="+", default=["asyncio"],
                        help="CONVLENS_EVENT_LOOP of the runs (asyncio, uvloop)")
    arguments = parser.parse_args()
    if arguments.identity:
        ACCEPT_ENCODING[0] = "identity"
    rows = []
    for students in arguments.students:
        for workers in arguments.workers:
            for event_loop in arguments.event_loops:
                row = run_once(students, workers, arguments.duration, arguments.think,
                               event_loop)
                row["event_loop"] = event_loop
                print(json.dumps(row), flush=True)
                rows.append(row)
    text = table(rows, arguments.duration, arguments.think)
    arguments.out.write_text(text)
    print(text)
    if any(row["errors"] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
