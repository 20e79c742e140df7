"""Engine speed: ConvLens NumPy engine vs PyTorch CPU (same thread count) and the loop reference.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/engine.py``). Prints a markdown table of
per-call times and ratios; lower ratio is better for the engine. The machine is shared, so the
engine and PyTorch are timed in alternating rounds and each side's fastest round counts
(min-of-N: other processes only ever add time); the load average is printed before and after.
Thread count: OMP_NUM_THREADS (default 1, set before NumPy starts); torch is pinned to it.
"""

from __future__ import annotations

import argparse
import os

# Before NumPy loads OpenBLAS: its thread pool is sized once, at import.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine import conv2d, depthwise_conv2d, separable_conv2d  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_functional
except ImportError:  # the comparison column is left empty
    torch = None

THREADS = int(os.environ.get("OMP_NUM_THREADS", "1"))


@dataclass(frozen=True)
class Case:
    """One benchmark shape: NHWC input, square kernel, SAME padding."""

    op: str  # "depthwise" | "separable" | "conv2d"
    input: tuple[int, int, int]  # (N, H = W, C)
    kernel: int
    multiplier: int = 1
    stride: int = 1
    out_channels: int = 0
    groups: int = 1  # conv2d only

    @property
    def label(self) -> str:
        batch, size, channels = self.input
        shape = f"{batch}x{size}²x{channels}" if batch > 1 else f"{size}²x{channels}"
        extra = f" O={self.out_channels}" if self.op != "depthwise" else ""
        extra += f" g{self.groups}" if self.groups > 1 else ""
        return f"{self.op} {shape} k{self.kernel} M{self.multiplier} s{self.stride}{extra}"


CASES = [
    # Teaching sizes (up to 32², C <= 4): target <= 1.2x PyTorch.
    Case("depthwise", (1, 28, 1), 3),
    Case("depthwise", (1, 32, 3), 3, 2),
    Case("depthwise", (1, 32, 4), 5, 4),
    Case("separable", (1, 32, 3), 3, 2, out_channels=8),
    Case("conv2d", (1, 32, 3), 3, out_channels=8),
    # 64²–224² with C <= 8: target <= 2x.
    Case("depthwise", (1, 64, 8), 3, 1),
    Case("depthwise", (1, 64, 8), 3, 2, stride=2),
    Case("depthwise", (1, 112, 8), 5, 2),
    Case("depthwise", (1, 224, 3), 3, 1),
    Case("depthwise", (1, 224, 8), 3, 1, stride=2),
    Case("separable", (1, 224, 3), 3, 1, out_channels=16),
    # Standard and grouped conv past the teaching sizes (the wide rows in bands).
    Case("conv2d", (1, 224, 3), 3, out_channels=16),
    Case("conv2d", (1, 32, 16), 3, out_channels=16, groups=2),
    # Larger separable layers: target <= 3x.
    Case("depthwise", (1, 112, 32), 3, 1),
    Case("separable", (1, 112, 32), 3, 1, out_channels=64),
    Case("separable", (1, 112, 32), 5, 2, stride=2, out_channels=64),
    Case("depthwise", (8, 56, 64), 3, 1),
    Case("separable", (8, 56, 64), 3, 1, out_channels=128),
    Case("separable", (8, 56, 64), 3, 1, stride=2, out_channels=128),
]


def min_seconds(functions: list[Callable[[], object]], budget: float,
                min_rounds: int = 7) -> tuple[list[float], int]:
    """Per-call seconds of each function: the fastest of N alternating rounds, and N.

    Each round times enough back-to-back calls to last about 2 ms (so the clock's resolution
    does not count), the functions in turn, so a burst of load hits them alike.
    """
    calls = []
    for function in functions:
        function()  # warm-up: caches (plans, gather indices) and first-touch memory
        tick = time.perf_counter()
        function()
        calls.append(max(1, int(2e-3 / max(time.perf_counter() - tick, 1e-7))))
    best = [float("inf")] * len(functions)
    rounds = 0
    started = time.perf_counter()
    while rounds < min_rounds or (time.perf_counter() - started < budget and rounds < 2000):
        for index, function in enumerate(functions):
            tick = time.perf_counter()
            for _ in range(calls[index]):
                function()
            best[index] = min(best[index], (time.perf_counter() - tick) / calls[index])
        rounds += 1
    return best, rounds


def load_average() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def engine_call(case: Case, x, dw, pw, full) -> Callable[[], object]:
    strides = [1, case.stride, case.stride, 1]
    if case.op == "depthwise":
        return lambda: depthwise_conv2d(x, dw, strides, "SAME")
    if case.op == "separable":
        return lambda: separable_conv2d(x, dw, pw, strides, "SAME")
    return lambda: conv2d(x, full, strides, "SAME")


def torch_call(case: Case, x, dw, pw, full) -> Callable[[], object] | None:
    if torch is None:
        return None
    from app.engine import resolve_padding

    _, size, channels = case.input
    pads = resolve_padding(
        (size, size), (case.kernel, case.kernel), (case.stride,) * 2, (1, 1), "SAME"
    )
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    multiplier = case.multiplier
    pad = (pads.pad_left, pads.pad_right, pads.pad_top, pads.pad_bottom)
    depthwise_weight = torch.from_numpy(
        np.ascontiguousarray(dw.reshape(case.kernel, case.kernel, channels * multiplier)
                             .transpose(2, 0, 1)[:, None])
    )  # (C*M, 1, kh, kw)
    symmetric = pads.pad_left == pads.pad_right and pads.pad_top == pads.pad_bottom

    def spatial(weight, groups):
        if symmetric:
            return torch_functional.conv2d(
                xt, weight, stride=case.stride, padding=(pads.pad_top, pads.pad_left), groups=groups
            )
        return torch_functional.conv2d(
            torch_functional.pad(xt, pad), weight, stride=case.stride, groups=groups
        )

    if case.op == "depthwise":
        return lambda: spatial(depthwise_weight, channels)
    if case.op == "separable":
        pointwise_weight = torch.from_numpy(np.ascontiguousarray(pw[0, 0].T[:, :, None, None]))
        return lambda: torch_functional.conv2d(spatial(depthwise_weight, channels),
                                               pointwise_weight)
    full_weight = torch.from_numpy(np.ascontiguousarray(full.transpose(3, 2, 0, 1)))
    return lambda: spatial(full_weight, case.groups)


def reference_seconds(case: Case, x, dw, pw, full) -> float | None:
    """Loop reference on a crop, scaled by output positions (it is far too slow at full size)."""
    try:
        from tests.engine import reference
    except ImportError:
        return None
    batch, size, _ = case.input
    crop = min(size, 12)
    xs = np.ascontiguousarray(x[:1, :crop, :crop])
    strides = (case.stride, case.stride)
    if case.op == "depthwise":
        run = lambda: reference.depthwise_conv2d(xs, dw, strides, "SAME")  # noqa: E731
    elif case.op == "separable":
        run = lambda: reference.separable_conv2d(xs, dw, pw, strides, "SAME")  # noqa: E731
    else:
        run = lambda: reference.conv2d(xs, full, strides, "SAME")  # noqa: E731
    tick = time.perf_counter()
    run()
    elapsed = time.perf_counter() - tick
    return elapsed * batch * (size / crop) ** 2


def profile(case: Case, call: Callable[[], object], calls: int = 2000) -> None:
    """cProfile over ``calls`` calls: the top functions by own time, in microseconds per call,
    NumPy's C functions (``{method ...}``, ``{built-in ...}``) apart from our Python."""
    import cProfile
    import pstats

    call()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])  # type: ignore[attr-defined]
    total = sum(item[1][2] for item in rows)
    print(f"\n{case.label}: {total / calls * 1e6:.1f} us per call under the profiler\n")
    print("| function | us per call | share |")
    print("|---|---:|---:|")
    for (filename, line, name), (_, _, own, _, _) in rows[:12]:
        where = name if filename == "~" else f"{Path(filename).name}:{line} {name}"
        print(f"| `{where}` | {own / calls * 1e6:.1f} | {100 * own / total:.0f} % |")


def breakdown(case: Case, x: np.ndarray, filters: np.ndarray, whole: Callable[[], object],
              torch_function: Callable[[], object] | None, budget: float) -> None:
    """Line timings of one depthwise or conv2d call: each step timed alone (min-of-N), so
    the rows show where the time goes without cProfile's per-call overhead."""
    from app.engine import kernels, ops, plans
    from app.engine.arguments import float_array

    strides = [1, case.stride, case.stride, 1]
    if case.op == "depthwise":
        plan = plans.plan_depthwise_conv2d(x.shape, filters.shape, strides, "SAME")
        weights = ops.depthwise_as_grouped(filters)
    else:
        plan = plans.plan_conv2d(x.shape, filters.shape, strides, "SAME")
        weights = filters
    sliding = kernels.Sliding(plan.kernel_hw, plan.strides, plan.dilations, plan.output_hw)
    wide = kernels._uses_wide_rows(x.shape, plan.padding, weights.shape, plan.groups, sliding)
    padded = kernels.pad_input(x, plan.padding, channels_first=wide, spare_rows=int(wide))
    out = kernels.convolve(x, plan.padding, weights, plan.groups, sliding)
    steps: dict[str, Callable[[], object]] = {
        "the whole call": whole,
        "Python: input and filter checks (`float_array` x2)": lambda: (
            float_array(x, "input", 4), float_array(filters, "filter", 4, x.dtype)),
        "Python: the plan, cached": lambda: plans.plan_conv2d(
            x.shape, filters.shape, strides, "SAME") if case.op == "conv2d" else
            plans.plan_depthwise_conv2d(x.shape, filters.shape, strides, "SAME"),
        "NumPy: zero-pad" + (", channels first" if wide else ""): lambda: kernels.pad_input(
            x, plan.padding, channels_first=wide, spare_rows=int(wide)),
        "NumPy: the kernel (`grouped_conv`)": lambda: kernels.grouped_conv(
            padded, weights, plan.groups, sliding, channels_first=wide),
        "NumPy: `isfinite(out).all()` (the overflow check)": lambda: np.isfinite(out).all(),
    }
    kh, kw = plan.kernel_hw
    depth = kh * kw * case.input[2]
    (ho, wo), out_channels = plan.output_hw, out.shape[3]
    if case.op == "conv2d" and wide and plan.groups == 1:
        width, images, rows = kernels._wide_bands(x.shape[0], sliding, depth, padded.shape[3])
        bands = -(-x.shape[0] // images) * -(-ho // rows)
        columns = np.empty((depth, images * rows * width), x.dtype)
        view = np.lib.stride_tricks.as_strided(  # (kh, kw, C, images, rows, Wq), stride 1
            padded, (kh, kw, case.input[2], images, rows, width),
            (padded.strides[2], padded.itemsize, *padded.strides[1::-1], padded.strides[2],
             padded.itemsize))
        weight_matrix = filters.reshape(depth, out_channels)  # (kh*kw*C, O)
        product = columns.T @ weight_matrix  # (images*rows*Wq, O)
        each = f" (x{bands} bands)" if bands > 1 else ""
        steps[f"NumPy: im2col over wide rows, one copy of {columns.size:,} values{each}"] = (
            lambda: np.copyto(columns.reshape(view.shape), view))
        steps[f"NumPy: matmul {product.shape[0]}×{depth} @ {depth}×{out_channels} (the "
              f"columns read as a transposed matrix){each}"] = lambda: columns.T @ weight_matrix
        steps[f"NumPy: drop the {width - wo} garbage columns of each row (one copy){each}"] = (
            lambda: np.ascontiguousarray(product.reshape(-1, rows, width, out_channels)[:, :, :wo]))
    elif case.op == "conv2d" and not kernels._uses_row_bands(padded, sliding):
        index = kernels._gather_index(padded.shape[1:], sliding, True)  # positions last
        flat = padded.reshape(padded.shape[0], -1)  # (N, Hp*Wp*C)
        columns = np.take(flat, index, axis=1).reshape(-1, depth, ho * wo)
        matrix = columns[0].T  # (Ho*Wo, kh*kw*C), read by BLAS as a transposed matrix
        weight_matrix = filters.reshape(depth, -1)  # (kh*kw*C, O)
        steps[f"NumPy: im2col, one gather of {columns.size:,} values"] = lambda: np.take(
            flat, index, axis=1)
        steps[f"NumPy: matmul {matrix.shape[0]}×{matrix.shape[1]} @ "
              f"{weight_matrix.shape[0]}×{weight_matrix.shape[1]}"] = lambda: matrix @ weight_matrix
    if case.op == "depthwise":
        values, scratch = out.reshape(-1), np.empty(out.size, out.dtype)  # (N*Ho*Wo*C*M,)
        steps[f"NumPy: one multiply + add over the {out.size:,} outputs (the kernel does "
              f"{kh * kw}, in cache-sized bands)"] = lambda: (
            np.multiply(values, values, out=scratch), np.add(scratch, values, out=scratch))
    if torch_function is not None:
        steps["PyTorch's whole call"] = torch_function
    seconds, rounds = min_seconds(list(steps.values()), budget)
    print(f"\n{case.label}, min of {rounds} rounds:\n\n| step | µs |\n|---|---:|")
    for label, value in zip(steps, seconds, strict=True):
        print(f"| {label} | {value * 1e6:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--budget", type=float, default=2.0,
                        help="seconds per case (alternating rounds)")
    parser.add_argument("--filter", default="", help="only cases whose label contains this")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--breakdown", action="store_true",
                        help="line timings of the --filter cases (depthwise and conv2d)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the engine on the --filter cases: where the time goes")
    arguments = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    dtype = np.dtype(arguments.dtype)
    print(f"threads={THREADS} dtype={dtype} numpy={np.__version__} "
          f"torch={getattr(torch, '__version__', 'absent')}; before: {load_average()}\n")
    if not (arguments.profile or arguments.breakdown):
        print("| case | engine µs | torch µs | engine/torch | rounds | loop ref ms (est.) "
              "| ref/engine |")
        print("|---|---:|---:|---:|---:|---:|---:|")
    for case in CASES:
        if arguments.filter not in case.label:
            continue
        batch, size, channels = case.input
        x = rng.standard_normal((batch, size, size, channels)).astype(dtype)
        dw = rng.standard_normal((case.kernel, case.kernel, channels, case.multiplier)).astype(
            dtype)
        out = case.out_channels or channels
        pw = rng.standard_normal((1, 1, channels * case.multiplier, out)).astype(dtype)
        full = rng.standard_normal(
            (case.kernel, case.kernel, channels // case.groups, out)).astype(dtype)
        if arguments.profile:
            profile(case, engine_call(case, x, dw, pw, full))
            continue
        if arguments.breakdown and case.op != "separable":
            breakdown(case, x, dw if case.op == "depthwise" else full,
                      engine_call(case, x, dw, pw, full), torch_call(case, x, dw, pw, full),
                      arguments.budget)
            continue
        if arguments.breakdown:
            continue
        torch_function = torch_call(case, x, dw, pw, full)
        functions = [engine_call(case, x, dw, pw, full)]
        if torch_function is not None:
            functions.append(torch_function)
        seconds, rounds = min_seconds(functions, arguments.budget)
        engine, torch_seconds = seconds[0], (seconds[1] if torch_function else None)
        reference = None if arguments.no_reference else reference_seconds(case, x, dw, pw, full)
        cells = [
            case.label,
            f"{engine * 1e6:.1f}",
            f"{torch_seconds * 1e6:.1f}" if torch_seconds else "—",
            f"{engine / torch_seconds:.2f}×" if torch_seconds else "—",
            str(rounds),
            f"{reference * 1e3:.0f}" if reference else "—",
            f"{reference / engine:.0f}×" if reference else "—",
        ]
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nafter: {load_average()}")

if __name__ == "__main__":
    main()
