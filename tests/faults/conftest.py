"""One real server for the fault tests, warmed up, and the state it must return to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.faults import server as proc

# Hang guards, not targets: the real figures are in benchmarks/load.py's table.
HEALTH_TIMEOUT_SECONDS = 10.0
SETTLE_TIMEOUT_SECONDS = 30.0
# Memory the allocator may keep after a fault, over the warmed-up baseline.
RSS_SLACK_BYTES = 64 * 2**20
# A CPU-second budget for one quiet second: an orphaned trace would use about a whole one.
QUIET_CPU_SECONDS = 0.3
# anyio's worker threads outlive their work (they retire only when later work prunes them),
# so threads are checked against the warm-up's peak plus one pool (40), not the idle count.
THREAD_POOL_SIZE = 40

FAULT_SETTINGS = {
    "CONVLENS_MAX_BODY_BYTES": str(1024 * 1024),
    "CONVLENS_BODY_TIMEOUT_SECONDS": "2",
    "CONVLENS_MAX_STREAM_SECONDS": "30",
}


@dataclass(frozen=True)
class Baseline:
    rss: int
    threads: int  # the most the warm-up used
    fds: int


async def trace_many(url: str, body: dict[str, object], count: int) -> list[bytes]:
    """``count`` concurrent traces read to the end; the last line of each."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one() -> bytes:
            response = await client.post("/api/v1/trace", json=body)
            assert response.status_code == 200, response.text[:500]
            return response.content.rstrip(b"\n").rsplit(b"\n", 1)[-1]

        return await asyncio.gather(*(one() for _ in range(count)))


def warm_up(server: proc.ServerProcess) -> int:
    """The load the tests apply, once, so the baseline includes caches and thread pools;
    the most threads it needed."""
    proc.run_async(trace_many(server.url, proc.classroom_trace(), 100))
    peak = proc.threads(server.pid)
    proc.run_async(trace_many(server.url, proc.large_trace(), 1))
    return max(peak, proc.threads(server.pid))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[proc.ServerProcess]:
    log = tmp_path_factory.mktemp("faults") / "server.log"
    with proc.running(log, FAULT_SETTINGS) as running:
        yield running
        assert "Traceback" not in running.log(), running.log()


@pytest.fixture(scope="module")
def baseline(server: proc.ServerProcess) -> Baseline:
    peak_threads = warm_up(server)
    return Baseline(proc.rss_bytes(server.pid), peak_threads, proc.open_fds(server.pid))


def wait_for_fds(server: proc.ServerProcess, limit: int) -> int:
    """Wait (hang guard) until the server holds at most ``limit`` descriptors."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while (fds := proc.open_fds(server.pid)) > limit:
        assert time.monotonic() < deadline, f"{fds} descriptors still open, expected {limit}"
        time.sleep(0.1)
    return fds


def assert_recovered(server: proc.ServerProcess, baseline: Baseline) -> None:
    """Health answers, every connection is closed, no work runs, memory is back."""
    assert server.process.poll() is None, server.log()
    health = httpx.get(server.url + "/api/v1/health", timeout=HEALTH_TIMEOUT_SECONDS)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    wait_for_fds(server, baseline.fds)
    before = proc.cpu_seconds(server.pid)
    time.sleep(1.0)
    assert proc.cpu_seconds(server.pid) - before < QUIET_CPU_SECONDS, "work is still running"
    assert proc.threads(server.pid) <= baseline.threads + THREAD_POOL_SIZE
    rss = proc.rss_bytes(server.pid)
    assert rss <= baseline.rss + RSS_SLACK_BYTES, (
        f"resident memory {rss / 2**20:.0f} MiB, baseline {baseline.rss / 2**20:.0f} MiB"
    )


@pytest.fixture
def recovered(server: proc.ServerProcess, baseline: Baseline) -> Iterator[proc.ServerProcess]:
    """The server, checked to be back at its baseline after the test's faults."""
    yield server
    assert_recovered(server, baseline)
