"""The lecture hall's worst minute with wrk: N connections asking for the identical classroom trace.

    .venv/bin/python benchmarks/wrk_trace.py [--connections 300] [--duration 15] [--workers 2]

Starts ``convlens serve``-equivalent uvicorn with ``--workers``, then Debian's ``wrk`` with a
Lua script that POSTs the page's classroom trace body (32x32x3, separable M=2 O=8, SAME,
compact float64) with ``Accept-Encoding: gzip`` on every connection; prints wrk's report,
requests/s, latency percentiles, non-2xx answers and socket errors, and the bytes of one
answer on the wire.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3,
                        help="seconds of the same load first, not counted (connections, caches)")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    body = json.dumps(page_classroom()).encode()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "body.json").write_bytes(body)
        (folder / "trace.lua").write_text(SCRIPT.format(body=folder / "body.json"))
        with proc.running(folder / "server.log", workers=arguments.workers) as server:
            first = wire_bytes(server.url, body)  # the first asker: streamed, gzip level 1
            kept = wire_bytes(server.url, body)  # every later one: the kept answer, level 6
            def wrk(seconds: int) -> str:
                return subprocess.run(
                    ["wrk", f"-t{arguments.threads}", f"-c{arguments.connections}",
                     f"-d{seconds}s", "--timeout", "10s", "--latency",
                     "-s", str(folder / "trace.lua"), server.url + "/api/v1/trace"],
                    capture_output=True, text=True, check=True,
                ).stdout

            if arguments.warmup:
                wrk(arguments.warmup)
            report = wrk(arguments.duration)
    print(report)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", report)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    errors = re.search(r"Socket errors: (.*)", report)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    print(json.dumps({
        "connections": arguments.connections, "workers": arguments.workers,
        "seconds": arguments.duration,
        "requests_per_second": float(rate.group(1)) if rate else None,
        "p99_ms": round(float(p99.group(1)) * scale[p99.group(2)], 1) if p99 else None,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
        "first_answer_wire_bytes": first, "kept_answer_wire_bytes": kept,
        "request_bytes": len(body),
    }))


if __name__ == "__main__":
    main()
