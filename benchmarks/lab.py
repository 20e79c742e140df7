"""The training lab: epoch time against PyTorch, accuracy over seeds, a class at once.

1. Epoch time of each preset network (the question's four experiments, and M = 4), ours
   (``app.lab``, NumPy) against the same network in PyTorch CPU at the same thread count
   (1: the server's BLAS setting), side by side, with the forward/backward split (forward
   = up to the loss; backward = gradients and the optimiser step). Same data, same batch
   order, same Adam; medians of epochs 2..4.
2. Final test accuracy of each preset on digits after 8 epochs, over 5 seeds: mean, spread
   (standard deviation), min and max. (MNIST too when CONVLENS_LAB_MNIST_PATH is set.)
3. Load: a real ``uvicorn app.main:app --workers 1``; 60 concurrent clients POST
   ``/api/v1/lab/train`` with the same body, then with 60 distinct bodies (queued,
   ``lab_max_jobs=1``, ``lab_max_queue=64``): errors, p50/p99 time to the first epoch event,
   the server's CPU seconds.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lab.py [--out /tmp/lab_bench.md]
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.lab import LabConfig, load_digits, load_mnist, train  # noqa: E402
from app.lab.presets import PRESETS  # noqa: E402

RUNS = [*PRESETS["seed"], {"label": "separable_m4", "first_layer": "separable",
                          "channel_multiplier": 4}]
NAMES = {
    "standard": "standard conv", "separable_m1": "separable M=1",
    "fixed_pointwise_m1": "separable M=1, pointwise fixed at ones",
    "separable_m2": "separable M=2", "separable_m4": "separable M=4",
}


def config_of(run: dict, **changes: object) -> LabConfig:
    fields = {key: value for key, value in run.items() if key != "label"}
    return LabConfig(**{**fields, **changes})


# ------------------------------------------------------------------------- 1. epoch time

def ours(config: LabConfig, dataset) -> tuple[float, float, float]:
    epochs = [e for e in train(config, dataset) if e["event"] == "epoch"][1:]
    return tuple(statistics.median(e[key] for e in epochs)
                 for key in ("seconds", "forward_seconds", "backward_seconds"))


def pytorch(config: LabConfig, dataset) -> tuple[float, float, float]:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    channels, filters, multiplier = 1, config.filters, config.channel_multiplier
    if config.first_layer == "standard":
        first = [nn.Conv2d(channels, filters, 3, padding=1)]
    else:
        depthwise = nn.Conv2d(channels, channels * multiplier, 3, padding=1, groups=channels,
                              bias=False)
        pointwise = nn.Conv2d(channels * multiplier, filters, 1)
        if config.first_layer == "separable_fixed_pointwise":
            with torch.no_grad():
                pointwise.weight.fill_(1.0)
            pointwise.weight.requires_grad_(False)
        first = [depthwise, pointwise]
    height, width = dataset.image_shape[:2]
    model = nn.Sequential(*first, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear((height // 2) * (width // 2) * filters, 10))
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                 lr=config.learning_rate)
    images = torch.tensor(dataset.train_images.transpose(0, 3, 1, 2).copy())
    labels = torch.tensor(dataset.train_labels)
    loss_function = nn.CrossEntropyLoss()
    rng = np.random.default_rng([config.seed, 1])
    totals = []
    for _ in range(config.epochs):
        order = torch.tensor(rng.permutation(len(labels)))
        forward = backward = 0.0
        started = time.perf_counter()
        for start in range(0, len(labels), config.batch_size):
            batch = order[start : start + config.batch_size]
            tick = time.perf_counter()
            loss = loss_function(model(images[batch]), labels[batch])
            tock = time.perf_counter()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            backward += time.perf_counter() - tock
            forward += tock - tick
        totals.append((time.perf_counter() - started, forward, backward))
    return tuple(statistics.median(t[n] for t in totals[1:]) for n in range(3))


def epoch_table(dataset) -> list[str]:
    lines = [
        "| network | ours epoch (ms) | PyTorch epoch (ms) | ours / PyTorch | ours fwd / bwd (ms) "
        "| PyTorch fwd / bwd (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for run in RUNS:
        config = config_of(run, epochs=4)
        mine, theirs = ours(config, dataset), pytorch(config, dataset)
        lines.append(
            f"| {NAMES[run['label']]} | {mine[0] * 1e3:.0f} | {theirs[0] * 1e3:.0f} | "
            f"{mine[0] / theirs[0]:.2f}x | {mine[1] * 1e3:.0f} / {mine[2] * 1e3:.0f} | "
            f"{theirs[1] * 1e3:.0f} / {theirs[2] * 1e3:.0f} |"
        )
    return lines


# ------------------------------------------------------------------------- 2. accuracy

def accuracy_table(dataset, seeds=range(5)) -> list[str]:
    lines = [f"| network ({dataset.name}, 8 epochs, 5 seeds) | test accuracy mean ± sd | min "
             "| max |", "|---|---|---|---|"]
    for run in RUNS:
        finals = [
            [e for e in train(config_of(run, seed=seed, dataset=dataset.name), dataset)
             if e["event"] == "end"][0]["test_accuracy"]
            for seed in seeds
        ]
        lines.append(
            f"| {NAMES[run['label']]} | {100 * np.mean(finals):.1f} % ± "
            f"{100 * np.std(finals):.1f} | {100 * min(finals):.1f} % | {100 * max(finals):.1f} % |"
        )
    return lines


# ------------------------------------------------------------------------- 3. load

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_epoch(url: str, body: dict) -> tuple[float | None, str]:
    started = time.perf_counter()
    try:
        with httpx.stream("POST", url, json=body, timeout=300) as response:
            if response.status_code != 200:
                return None, f"HTTP {response.status_code}"
            first = None
            last = {}
            for line in response.iter_lines():
                if not line:
                    continue
                last = json.loads(line)
                if last["event"] == "epoch" and first is None:
                    first = time.perf_counter() - started
            return first, last.get("event", "?")
    except httpx.HTTPError as error:
        return None, type(error).__name__


def load_table(clients: int = 60) -> list[str]:
    port = free_port()
    env = {**os.environ, "CONVLENS_LAB_MAX_QUEUE": "64", "CONVLENS_LAB_MAX_JOBS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--workers", "1",
         "--log-level", "warning"],
        cwd=Path(__file__).resolve().parent.parent, env=env,
    )
    url = f"http://127.0.0.1:{port}/api/v1/lab/train"
    try:
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        lines = ["| load | clients | errors | trainings | first epoch p50 (s) | p99 (s) "
                 "| server CPU (s) | wall (s) |", "|---|---|---|---|---|---|---|---|"]
        for name, bodies in (
            ("same preset (standard, 8 epochs)", [{"seed": 1000}] * clients),
            ("distinct runs (60 seeds, 8 epochs)", [{"seed": 2000 + n} for n in range(clients)]),
        ):
            cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
            with ThreadPoolExecutor(max_workers=clients) as pool:
                results = list(pool.map(lambda body: first_epoch(url, body), bodies))
            wall = time.perf_counter() - started
            cpu = cpu_seconds(server.pid) - cpu_before
            times = sorted(t for t, end in results if t is not None and end == "end")
            errors = sum(1 for t, end in results if t is None or end != "end")
            p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))] if times else 0
            lines.append(
                f"| {name} | {clients} | {errors} | {len(set(map(json.dumps, bodies)))} | "
                f"{statistics.median(times):.2f} | {p99:.2f} | {cpu:.1f} | {wall:.1f} |"
            )
        return lines
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/lab_bench.md")
    args = parser.parse_args()
    digits = load_digits()
    sections = [f"load average before: {os.getloadavg()[0]:.2f}", "", *epoch_table(digits), "",
                *accuracy_table(digits)]
    mnist_path = os.environ.get("CONVLENS_LAB_MNIST_PATH")
    if mnist_path:
        sections += ["", *accuracy_table(load_mnist(mnist_path))]
    sections += ["", *load_table(), "", f"load average after: {os.getloadavg()[0]:.2f}"]
    text = "\n".join(sections)
    print(text)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
