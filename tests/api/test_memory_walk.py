"""Every route at its worst accepted shapes, on a real server in a subprocess: the peak
resident memory stays under the bound the settings give (``limits.memory_bound``), and
at the default settings under the Kubernetes manifest's memory limit.

The routes come from the app itself, so a route added later is walked too: with its
worst case from ``WORST_CASES`` when one is written here, else with its OpenAPI
examples; every JSON route also gets the largest body ``max_body_bytes`` admits.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.api import limits
from app.main import create_app
from app.settings import PROJECT_DIR, Settings
from tests.faults import server as proc

pytestmark = pytest.mark.timeout(600)

MANIFEST = PROJECT_DIR / "deploy" / "kubernetes.yaml"
REQUEST_TIMEOUT_SECONDS = 300.0
# app.web.memory trims when the last request ends, at most once a second.
TRIM_SECONDS = 1.1


def b64(shape: tuple[int, ...], seed: int = 0) -> dict[str, Any]:
    values = np.random.default_rng(seed).uniform(-1, 1, shape).astype("<f4")
    return {"dtype": "float32", "shape": list(shape),
            "data": base64.b64encode(values.tobytes()).decode()}


def worst_cases(settings: Settings) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The largest configurations the default limits accept, per route: each makes its
    results (1M elements, list-encoded), the engine's window copies (max_macs) or the
    largest intermediate the route allocates reach a limit."""
    assert settings == Settings(), "these shapes are written for the default limits"
    conv = {"strides": 1, "padding": "SAME"}
    tf_steps = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    return {
        "/api/v1/tf/conv2d": [
            # im2col of 20M values (max_macs), 1M outputs.
            ("im2col", {"input": b64((1, 996, 995, 1)), "filters": b64((4, 5, 1, 1)), **conv}),
            # grouped, O = G: the columns and their per-group copy (2 x 9.8M, max_macs).
            ("grouped_copies", {"input": b64((1, 350, 350, 4)), "filters": b64((4, 5, 2, 2)),
                                **conv}),
            # grouped: the columns and their per-group copy (2 x 10M), float32 reprs out.
            ("grouped_float32", {"input": b64((1, 500, 250, 4)), "filters": b64((4, 5, 2, 4)),
                                 **conv, "dtype": "float32"}),
        ],
        "/api/v1/tf/depthwise_conv2d": [
            ("multiplier", {"input": b64((1, 123, 123, 16)), "filter": b64((3, 3, 16, 4)),
                            **tf_steps}),
        ],
        "/api/v1/tf/separable_conv2d": [
            ("two_outputs", {"input": b64((1, 250, 250, 16)),
                             "depthwise_filter": b64((1, 1, 16, 1)),
                             "pointwise_filter": b64((1, 1, 16, 16)), **tf_steps}),
        ],
        "/api/v1/torch/conv2d": [
            ("im2col_bias", {"input": b64((1, 1, 996, 995)), "weight": b64((1, 1, 4, 5)),
                             "bias": b64((1,)), "padding": "same"}),
        ],
        "/api/v1/code": [
            ("largest_literal", {"op": "depthwise_conv2d", "input": b64((1, 1000, 1000, 1)),
                                 "filter": b64((1, 1, 1, 1)), **tf_steps}),
        ],
        "/api/v1/trace": [
            # max_frames steps, every field, binary: about 53 MB of stream.
            ("full_detail", {"op": "depthwise_conv2d", "input": b64((1, 100, 100, 20)),
                             "filter": b64((3, 3, 20, 1)), **tf_steps, "detail": "full"}),
        ],
        "/api/v1/factorize": [
            # The request: a 59M-element equivalent kernel (2.2 GB before the limit).
            ("refused_equivalent_kernel", {"depthwise_filter": b64((15, 15, 512, 1)),
                                           "pointwise_filter": b64((1, 1, 512, 512))}),
            ("equivalent_kernel", {"depthwise_filter": b64((15, 15, 8, 1)),
                                   "pointwise_filter": b64((1, 1, 8, 512))}),
            ("approximation", {"filters": b64((15, 15, 8, 512)), "channel_multiplier": 21}),
        ],
        "/api/v1/lessons/groups": [
            # The request: a 19.5M-element depthwise intermediate.
            ("refused_intermediate", {"input": b64((1, 69, 69, 64)),
                                      "filters": b64((1, 1, 64, 64)), **conv}),
            ("four_ways", {"input": b64((1, 350, 350, 4)), "filters": b64((3, 3, 2, 4)),
                           **conv}),
        ],
        "/api/v1/lessons/shared_kernel": [
            ("three_ways", {"input": b64((1, 498, 498, 4)), "filter": b64((3, 3, 4, 1)),
                            **tf_steps}),
        ],
        "/api/v1/costs": [
            ("sweep", {"input_hw": 1000, "in_channels": 512, "out_channels": 512,
                       "kernel_hw": 15, "sweep": {"parameter": "out_channels",
                                                  "values": list(range(1, 257))}}),
        ],
    }


def largest_body(settings: Settings) -> bytes:
    """A nested list of distinct floats just under ``max_body_bytes``: the most Python
    objects a JSON body can make before any field is looked at."""
    row = ",".join(f"{0.1 + i * 1e-7:.7f}" for i in range(1000))  # 9 bytes per value
    rows = (settings.max_body_bytes - 64) // (len(row) + 3)
    return ('{"input":[[' + ",".join(f"[{row}]" for _ in range(rows)) + "]]}").encode()


def routes(settings: Settings) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, OpenAPI operation) of every route the app publishes, and the page."""
    schema = create_app(settings).openapi()
    yield "GET", "/", None
    for path, operations in schema["paths"].items():
        if "{" in path:
            continue
        for method, operation in operations.items():
            yield method.upper(), path, operation


def documented_examples(operation: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    content = ((operation or {}).get("requestBody") or {}).get("content", {})
    examples = content.get("application/json", {}).get("examples", {})
    return [(name, example["value"]) for name, example in examples.items()]


def manifest_limit_bytes() -> int:
    found = re.search(r"limits:\s*\{[^}]*memory:\s*(\d+)Mi", MANIFEST.read_text())
    assert found, "deploy/kubernetes.yaml has no container memory limit"
    return int(found.group(1)) * 2**20


def reset_peak(pid: int) -> None:
    """The kernel's peak RSS (VmHWM) back to the current RSS (``clear_refs`` 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def test_every_route_at_its_worst_stays_under_the_memory_bound(tmp_path: Path) -> None:
    settings = Settings()
    cases = worst_cases(settings)
    big = largest_body(settings)
    peaks: list[tuple[int, str]] = []
    walked: set[str] = set()
    with proc.running(tmp_path / "server.log") as server, httpx.Client(
            base_url=server.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        for _, path, operation in routes(settings):  # warm every route up, then measure
            for _, example in documented_examples(operation)[:1]:
                client.post(path, json=example)
        baseline = proc.rss_bytes(server.pid)
        for method, path, operation in routes(settings):
            if method == "HEAD":
                continue
            if method == "GET":
                requests = [("get", None)]
            else:
                requests = [(name, json.dumps(body).encode())
                            for name, body in cases.get(path) or documented_examples(operation)]
                requests.append(("largest_body", big))
            for name, body in requests:
                time.sleep(TRIM_SECONDS)  # the previous request's memory given back
                reset_peak(server.pid)
                if body is None:
                    response = client.get(path)
                else:
                    response = client.post(path, content=body,
                                           headers={"content-type": "application/json"})
                assert response.status_code < 500, (path, name, response.text[:300])
                if name.startswith("refused"):
                    assert response.status_code == 413, (path, name, response.text[:300])
                elif name != "largest_body" and path in cases:
                    assert response.status_code == 200, (path, name, response.text[:300])
                peaks.append((proc.peak_rss_bytes(server.pid), f"{method} {path} {name}"))
                walked.add(path)
        log = server.log()
    report = "\n".join(f"{(peak - baseline) / 2**20:8.1f} MiB over baseline  {what}"
                       for peak, what in sorted(peaks, reverse=True))
    print(f"\nbaseline {baseline / 2**20:.1f} MiB\n{report}")
    assert set(cases) <= walked, "a worst case names a route the app does not have"
    assert "Traceback" not in log, log
    bound = limits.memory_bound(settings)
    worst, what = max(peaks)
    assert worst - baseline <= bound, (
        f"{what}: {(worst - baseline) / 2**20:.0f} MiB over the baseline, the bound from "
        f"the settings is {bound / 2**20:.0f} MiB\n{report}")
    assert baseline + bound <= manifest_limit_bytes(), (
        f"baseline {baseline / 2**20:.0f} MiB + bound {bound / 2**20:.0f} MiB exceed the "
        f"manifest's {manifest_limit_bytes() / 2**20:.0f} MiB")


# What an idle worker may keep over its warmed-up size: the answer caches it fills.
IDLE_SLACK_BYTES = 48 * 2**20


def test_memory_goes_back_once_the_load_ends(tmp_path: Path) -> None:
    """Sixteen concurrent large answers (about 150 MiB at once), then nothing: within a
    second and a half the worker is back near its idle size (app.web.memory: glibc keeps
    freed heap otherwise; this load left 199 MiB of a 86 MiB worker held for good)."""
    from concurrent.futures import ThreadPoolExecutor

    bodies = [json.dumps({"input": b64((1, 125, 125, 16), seed), "filter": b64((3, 3, 16, 2)),
                          "strides": 1, "padding": "SAME"}).encode() for seed in range(16)]
    with proc.running(tmp_path / "server.log") as server:
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            client.post("/api/v1/tf/depthwise_conv2d", content=bodies[0],
                        headers={"content-type": "application/json"})
            time.sleep(TRIM_SECONDS)
            idle = proc.rss_bytes(server.pid)

            def post(body: bytes) -> int:
                return client.post("/api/v1/tf/depthwise_conv2d", content=body,
                                   headers={"content-type": "application/json"}).status_code

            with ThreadPoolExecutor(16) as pool:
                assert set(pool.map(post, bodies)) == {200}
            loaded = proc.peak_rss_bytes(server.pid)
            time.sleep(1.5)
            after = proc.rss_bytes(server.pid)
    print(f"\nidle {idle / 2**20:.0f} MiB, peak {loaded / 2**20:.0f} MiB, "
          f"1.5 s after {after / 2**20:.0f} MiB")
    assert loaded - idle > 2 * IDLE_SLACK_BYTES, "the load was too light to tell"
    assert after <= idle + IDLE_SLACK_BYTES
