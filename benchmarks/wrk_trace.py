"""The lecture hall's worst minute with wrk: N connections asking for the identical classroom trace.

    .venv/bin/python benchmarks/wrk_trace.py [--connections 300] [--duration 15] [--workers 2]
        [--event-loops auto,uvloop-plain,asyncio]

For each event loop (``CONVLENS_EVENT_LOOP``; the first is the baseline, the server's
default), starts ``convlens serve`` with ``--workers``, then Debian's ``wrk`` with a Lua
script that POSTs the page's classroom trace body (32x32x3, separable M=2 O=8, SAME, compact
float64) with ``Accept-Encoding: gzip`` on every connection; prints wrk's report, requests/s,
latency percentiles, non-2xx answers and socket errors, the bytes of one answer on the wire,
and how many of the connections the server had not yet accepted 1 s into the run (``ss``:
established, no owning process) -- plain uvloop's one accept per loop turn shows there. The last
line compares each loop with the first, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.test_answers import page_classroom  # noqa: E402
from tests.faults import server as proc  # noqa: E402

SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Encoding"] = "gzip"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""


def wire_bytes(url: str, body: bytes) -> int:
    request = urllib.request.Request(url + "/api/v1/trace", data=body, headers={
        "Content-Type": "application/json", "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return len(response.read())


def unaccepted(port: int) -> int:
    """Established connections to ``port`` that no process has accepted yet (in the kernel's
    accept queue: ``ss`` shows no owner)."""
    listing = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, check=False).stdout
    return sum(1 for line in listing.splitlines() if "users:" not in line)


def measure(arguments: argparse.Namespace, folder: Path, body: bytes, loop: str) -> dict:
    """One loop's run: wrk's report and its figures."""
    environment = {"CONVLENS_EVENT_LOOP": loop}
    with proc.running(folder / "server.log", env=environment, workers=arguments.workers) as server:
        first = wire_bytes(server.url, body)  # the first asker: the flight's gzip
        kept = wire_bytes(server.url, body)  # every later one: the kept answer

        def wrk(seconds: int) -> str:
            return subprocess.run(
                ["wrk", f"-t{arguments.threads}", f"-c{arguments.connections}",
                 f"-d{seconds}s", "--timeout", "10s", "--latency",
                 "-s", str(folder / "trace.lua"), server.url + "/api/v1/trace"],
                capture_output=True, text=True, check=True,
            ).stdout

        if arguments.warmup:
            wrk(arguments.warmup)
        waiting: list[int] = []
        sampler = threading.Timer(1.0, lambda: waiting.append(unaccepted(server.port)))
        sampler.start()
        report = wrk(arguments.duration)
        sampler.join()
    print(f"== event loop {loop}\n{report}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors = re.search(r"Socket errors: (.*)", report)
    scale = {"us": 0.001, "ms": 1, "s": 1000}

    def percentile(name: str) -> float | None:
        found = re.search(rf"{name}%\s+([\d.]+)(us|ms|s)\b", report)
        return round(float(found.group(1)) * scale[found.group(2)], 1) if found else None

    return {
        "event_loop": loop, "connections": arguments.connections, "workers": arguments.workers,
        "seconds": arguments.duration,
        "requests_per_second": float(rate.group(1)) if rate else None,
        "p50_ms": percentile("50"), "p90_ms": percentile("90"), "p99_ms": percentile("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
        "unaccepted_after_1s": waiting[0] if waiting else None,
        "first_answer_wire_bytes": first, "kept_answer_wire_bytes": kept,
        "request_bytes": len(body),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of the same load first, not counted (connections, caches)")
    parser.add_argument("--event-loops", default="auto,uvloop-plain,asyncio",
                        help="CONVLENS_EVENT_LOOP values; the first is the baseline")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    body = json.dumps(page_classroom()).encode()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "body.json").write_bytes(body)
        (folder / "trace.lua").write_text(SCRIPT.format(body=folder / "body.json"))
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        runs = []
        for loop in arguments.event_loops.split(","):
            runs.append(measure(arguments, folder, body, loop.strip()))
            time.sleep(1)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for run in runs:
        print(json.dumps(run))
    base = runs[0]
    for run in runs[1:]:
        ratios = {key: round(run[key] / base[key], 2)
                  for key in ("requests_per_second", "p99_ms") if run[key] and base[key]}
        print(f"{run['event_loop']} / {base['event_loop']}: {json.dumps(ratios)}")


if __name__ == "__main__":
    main()
