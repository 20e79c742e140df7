"""A real ``convlens serve`` in a subprocess, and what /proc says about it.

Used by the fault tests and ``benchmarks/load.py``. Figures come from
``/proc/<pid>``: resident memory, threads, open file descriptors (each live
connection holds one) and CPU seconds, summed over the process and its workers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np

from tests.threads import in_fresh_thread

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers, and their helpers)."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue += children(current)
    return tree


def _status_field(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of the whole tree, in bytes."""
    return sum(_status_field(p, "VmRSS") for p in process_tree(pid)) * 1024


def peak_rss_bytes(pid: int) -> int:
    """The most resident memory each process of the tree ever had (VmHWM), summed."""
    return sum(_status_field(p, "VmHWM") for p in process_tree(pid)) * 1024


def threads(pid: int) -> int:
    return sum(_status_field(p, "Threads") for p in process_tree(pid))


def open_fds(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError):
            total += len(os.listdir(f"/proc/{p}/fd"))
    return total


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait (a hang guard: SIGKILL past ``timeout``); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_server(log_path: Path, env: dict[str, str] | None = None, workers: int = 1
                 ) -> ServerProcess:
    """``python -m app`` (= ``convlens serve``) on a free loopback port; waits for health."""
    port = free_port()
    environment = {
        **os.environ,
        "CONVLENS_HOST": "127.0.0.1",
        "CONVLENS_PORT": str(port),
        "CONVLENS_WORKERS": str(workers),
        "CONVLENS_LOG_LEVEL": "warning",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, port, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/api/v1/health", timeout=5).status_code == 200:
                # Every worker imported the app: the tree's memory has settled.
                return server
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.stop(5)
            raise RuntimeError(f"the server did not start:\n{server.log()}")
        time.sleep(0.2)


@contextlib.contextmanager
def running(log_path: Path, env: dict[str, str] | None = None, workers: int = 1
            ) -> Iterator[ServerProcess]:
    server = start_server(log_path, env, workers)
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.stop()


def settled_workers(server: ServerProcess) -> dict[int, float]:
    """A multi-worker server's workers (multiprocessing's ``spawn_main`` children), after a
    moment for them all to be up, each with the CPU seconds it has used so far."""
    time.sleep(0.5)
    workers = [pid for pid in children(server.pid)
               if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return {pid: cpu_seconds(pid) for pid in workers}


def all_worked_since(cpu_before: dict[int, float]) -> bool:
    """Whether every worker of :func:`settled_workers` has used CPU since."""
    return all(cpu_seconds(pid) > seconds for pid, seconds in cpu_before.items())


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the calling thread may have a running loop
    (Playwright's sync API leaves one in the main thread for the rest of the session)."""
    return in_fresh_thread(lambda: asyncio.run(coroutine), name="run_async")


# ------------------------------------------------------------- request bodies


def base64_array(array: np.ndarray) -> dict[str, Any]:
    values = np.ascontiguousarray(array, dtype="<f4")
    return {"dtype": "float32", "shape": list(values.shape),
            "data": base64.b64encode(values.tobytes()).decode()}


def separable_config(size: int, channels: int, multiplier: int, out_channels: int,
                     seed: int = 0) -> dict[str, Any]:
    """A separable_conv2d request (3x3, SAME), arrays as base64."""
    rng = np.random.default_rng(seed)
    return {
        "op": "separable_conv2d",
        "input": base64_array(rng.random((1, size, size, channels))),
        "depthwise_filter": base64_array(rng.random((3, 3, channels, multiplier))),
        "pointwise_filter": base64_array(rng.random((1, 1, channels * multiplier, out_channels))),
        "strides": [1, 1, 1, 1],
        "padding": "SAME",
    }


def classroom_trace() -> dict[str, Any]:
    """DESIGN.md's classroom configuration: 32x32x3, 3x3, M=2, O=8 (about 0.75 MB)."""
    return separable_config(32, 3, 2, 8)


def large_trace() -> dict[str, Any]:
    """64x64x8, M=2, O=16, every field as JSON: tens of MB, seconds of work."""
    return {**separable_config(64, 8, 2, 16), "detail": "full", "encoding": "json",
            "chunk_size": 64}
