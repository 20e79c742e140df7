"""Time and peak memory of /api/v1/models/inspect and /models/run on a MobileNetV2-sized model.

The model: MobileNetV2 (1.0, 224) layer for layer, built with ``onnx.helper`` and seeded
weights (``tests/models/onnx_builders.mobilenet_v2``): 3.5 M weights, 52 Conv layers,
14 MB. Each measurement runs in a fresh Python process (the app in-process behind a
TestClient: the multipart upload, parsing, checking, onnxruntime and the JSON answer
are all counted, the network is not), so its peak RSS is its own:

- inspect without weights, and with every weight (float32 base64, ~19 MB of JSON);
- run the graph up to a layer with onnxruntime and step the layer with the engine, on a
  1x3x224x224 input: a cold run (shape inference, cut, session) and a warm one (cached).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/models.py [--repeat 5]

Prints a markdown table (the first call, the median of the next ``--repeat - 1``; the
process's peak RSS, and that peak over its RSS once the app is imported and the model's
bytes read) and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("block3.depthwise", "block8.depthwise", "block16.project")

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from fastapi.testclient import TestClient
from app.main import create_app
from app.settings import Settings

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

data = open({path!r}, "rb").read()
client = TestClient(create_app(Settings(max_model_activations=40_000_000)))
x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
image = json.dumps(x.tolist())
base = rss_mb()
peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
task, argument, repeat = {task!r}, {argument!r}, {repeat}
times = []
for attempt in range(repeat):
    start = time.perf_counter()
    if task == "inspect":
        response = client.post("/api/v1/models/inspect", files={{"model": ("m.onnx", data)}},
                               data={{"include_weights": argument, "output_encoding": "base64"}})
    else:
        response = client.post("/api/v1/models/run", files={{"model": ("m.onnx", data)}},
                               data={{"layer": argument, "input": image,
                                     "output_encoding": "base64"}})
    times.append(time.perf_counter() - start)
    assert response.status_code == 200, response.text[:300]
    if task == "run":
        assert response.json()["matches"], argument
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"first": times[0], "rest": times[1:], "peak_mb": peak, "base_mb": base,
                  "peak_before_mb": peak_before,
                  "bytes": len(response.content), "model_bytes": len(data)}}))
"""


def measure(task: str, argument: str, repeat: int, path: Path) -> dict:
    code = CHILD.format(root=str(ROOT), task=task, argument=argument, repeat=repeat,
                        path=str(path))
    environment = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environment, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.models.onnx_builders import mobilenet_v2

    path = Path("/tmp/convlens_mobilenet_v2.onnx")
    path.write_bytes(mobilenet_v2().SerializeToString())
    rows = []
    for task, argument, label in [
        ("inspect", "false", "inspect, no weights"),
        ("inspect", "true", "inspect, every weight (base64)"),
        *[("run", layer, f"run up to {layer}") for layer in LAYERS],
    ]:
        result = measure(task, argument, options.repeat, path)
        warm = statistics.median(result["rest"]) if result["rest"] else result["first"]
        growth = result["peak_mb"] - max(result["base_mb"], result["peak_before_mb"])
        rows.append((label, result["first"], warm, result["peak_mb"], growth, result["bytes"]))
    model_mb = result["model_bytes"] / 1e6
    print(f"MobileNetV2-sized model: {model_mb:.1f} MB ONNX, 3.5 M weights; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print(f"Baseline RSS (the app imported, the model's bytes and the input read): "
          f"{result['base_mb']:.0f} MB\n")
    print("| request | first call (s) | median of the next (s) | peak RSS (MB) "
          "| peak over baseline (MB) | answer (bytes) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, first, warm, peak, growth, size in rows:
        print(f"| {label} | {first:.3f} | {warm:.3f} | {peak:.0f} | {growth:.0f} | {size:,} |")


if __name__ == "__main__":
    main()
