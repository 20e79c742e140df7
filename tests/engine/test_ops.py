"""Every fast op against the loop reference twin, on seeded random configurations.

``gold`` comes from ``tests/engine/reference.py``, ``mine`` from the engine.
Each seed draws one configuration; ``test_generators_cover_*`` pin that the
seeds together reach every case the issue lists (strides 1-3 and unequal,
SAME with odd and even pad totals, VALID, explicit pads, dilations 1-3,
channel multiplier 1-4, groups, NHWC/NCHW, batch 1-3, float32/float64/int,
kernels 1x1 to 7x7 and non-square, empty outputs). Every comparison runs on
both depthwise kernels (shifted view and block-diagonal im2col).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from app.engine import (
    conv2d,
    depthwise_conv2d,
    kernels,
    separable_conv2d,
    separable_conv2d_stages,
    torch_conv2d,
)
from tests.engine import reference

# Loop-count budget of one reference call: keeps the whole file to a few seconds.
REFERENCE_BUDGET = 40_000

DEPTHWISE_SEEDS = range(50)
SEPARABLE_SEEDS = range(25)
CONV2D_SEEDS = range(35)
TORCH_SEEDS = range(30)

KERNEL_PATHS = {"shifted": 1, "block_diagonal": 10**9}

TOLERANCES = {
    np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-10},
    np.dtype(np.float32): {"rtol": 1e-4, "atol": 1e-4},
}


@pytest.fixture(params=list(KERNEL_PATHS), ids=list(KERNEL_PATHS))
def kernel_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Forces one depthwise kernel: the engine's choice must not change any value."""
    monkeypatch.setattr(kernels, "SHIFTED_MIN_CHANNELS", KERNEL_PATHS[request.param])
    if request.param == "shifted":  # teaching sizes too (they default to block-diagonal)
        monkeypatch.setattr(kernels, "BLOCK_DIAGONAL_MAX_CHANNELS", 0)
    return request.param


def assert_matches(mine: np.ndarray, gold: np.ndarray, input_dtype: np.dtype) -> None:
    """Same shape, the input's float dtype (float64 for ints), values within tolerance."""
    expected_dtype = np.dtype(np.float32) if input_dtype == np.float32 else np.dtype(np.float64)
    assert mine.shape == gold.shape
    assert mine.dtype == expected_dtype
    np.testing.assert_allclose(mine, gold, **TOLERANCES[expected_dtype])


# --------------------------------------------------------------------------- generators


def random_values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "int":
        return rng.integers(-4, 5, size=shape)
    return rng.standard_normal(shape).astype(kind)


def tf_pair_argument(
    pair: tuple[int, int], data_format: str, rng: np.random.Generator, allow_none: bool
) -> Any:
    """One of TF's accepted spellings of a (height, width) pair."""
    forms = ["pair", "four"]
    if pair[0] == pair[1]:
        forms.append("int")
    if pair == (1, 1) and allow_none:
        forms.append("none")
    form = forms[rng.integers(len(forms))]
    if form == "none":
        return None
    if form == "int":
        return int(pair[0])
    if form == "pair":
        return [int(pair[0]), int(pair[1])]
    if data_format == "NHWC":
        return [1, int(pair[0]), int(pair[1]), 1]
    return [1, 1, int(pair[0]), int(pair[1])]


@dataclass(frozen=True)
class Window:
    """A drawn 2-D window: sizes, kernel, strides, dilations and padding."""

    input_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    strides: tuple[int, int]
    dilations: tuple[int, int]
    padding: reference.TfPadding
    output_hw: tuple[int, int]
    features: frozenset[str]


def draw_kernel_size(rng: np.random.Generator) -> int:
    """1 to 7, small ones more often (they fit the small inputs more often)."""
    return int(rng.choice(7, p=[0.25, 0.15, 0.2, 0.1, 0.1, 0.05, 0.15])) + 1


def draw_window(rng: np.random.Generator, dilate_with_stride: bool) -> Window | None:
    """A random window, or None when it has a negative output size."""
    kernel = (draw_kernel_size(rng), draw_kernel_size(rng))
    # Stride 1 half of the time: depthwise and separable only dilate then.
    strides = (1, 1) if rng.random() < 0.5 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    if strides != (1, 1) and not dilate_with_stride:
        dilations = (1, 1)
    else:
        dilations = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    mode = str(rng.choice(["SAME", "VALID", "explicit", "empty"], p=[0.35, 0.25, 0.28, 0.12]))
    sizes = [int(rng.integers(1, 10)), int(rng.integers(1, 10))]
    padding: reference.TfPadding
    if mode == "empty":
        # (in - eff + s) in (-s, s): an empty VALID output (TF truncates toward zero), the
        # input sometimes smaller than the window itself.
        axis = int(rng.integers(2))
        sizes[axis] = spans[axis] - int(rng.integers(1, 2 * strides[axis]))
        if not 1 <= sizes[axis] <= 9:
            return None
        padding = "VALID"
    elif mode == "explicit":
        padding = (
            (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
            (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
        )
    else:
        padding = mode
    try:
        (top, bottom, ho), (left, right, wo) = reference.geometry(
            sizes, kernel, strides, dilations, padding
        )
    except ValueError:
        return None
    features = {f"stride{s}" for s in strides} | {f"dilation{d}" for d in dilations}
    if strides[0] != strides[1]:
        features.add("stride_unequal")
    if max(strides) > 1 and max(dilations) > 1:
        features.add("dilation_with_stride")
    if padding == "SAME":
        for total in (top + bottom, left + right):
            features.add("same_odd" if total % 2 else "same_even" if total else "same_zero")
    else:
        features.add("valid" if padding == "VALID" else "explicit")
    if ho == 0 or wo == 0:
        features.add("empty_output")
        if sizes[0] < spans[0] or sizes[1] < spans[1]:
            features.add("smaller_than_window")
    if kernel == (1, 1):
        features.add("kernel1x1")
    if max(kernel) == 7:
        features.add("kernel7")
    if kernel[0] != kernel[1]:
        features.add("kernel_nonsquare")
    return Window(
        (sizes[0], sizes[1]), kernel, strides, dilations, padding, (ho, wo), frozenset(features)
    )


def tf_padding_argument(padding: reference.TfPadding, data_format: str, rng) -> Any:
    """TF's spelling: the mode (sometimes lower case) or the explicit 4x2 list."""
    if isinstance(padding, str):
        return padding.lower() if rng.integers(4) == 0 else padding
    (top, bottom), (left, right) = padding
    if data_format == "NHWC":
        return [[0, 0], [top, bottom], [left, right], [0, 0]]
    return [[0, 0], [0, 0], [top, bottom], [left, right]]


@dataclass(frozen=True)
class TfCase:
    """One seeded TF configuration: engine arguments and the reference's normalised ones."""

    x: np.ndarray
    filters: np.ndarray
    pointwise: np.ndarray | None
    data_format: str
    window: Window
    engine_kwargs: dict[str, Any]
    features: frozenset[str]


OP_STREAMS = {"conv2d": 1, "depthwise_conv2d": 2, "separable_conv2d": 3}


def draw_tf_case(seed: int, op: str) -> TfCase:
    """A valid configuration for ``op`` in conv2d, depthwise_conv2d, separable_conv2d."""
    rng = np.random.default_rng([seed, OP_STREAMS[op]])
    while True:
        window = draw_window(rng, dilate_with_stride=op == "conv2d")
        if window is None:
            continue
        batch = int(rng.integers(1, 4))
        channels = int(rng.integers(1, 7))
        multiplier = int(rng.integers(1, 5))
        out_channels = int(rng.integers(1, 5))
        kh, kw = window.kernel_hw
        ho, wo = window.output_hw
        if op == "conv2d":
            divisors = [d for d in range(1, channels + 1) if channels % d == 0]
            group_in = divisors[rng.integers(len(divisors))]
            groups = channels // group_in
            out_channels = groups * int(rng.integers(1, 4))
            cost = batch * ho * wo * out_channels * kh * kw * group_in
        elif op == "depthwise_conv2d":
            cost = batch * ho * wo * channels * multiplier * kh * kw
        else:
            cost = batch * ho * wo * out_channels * kh * kw * channels * multiplier
        if cost <= REFERENCE_BUDGET:
            break
    data_format = ["NHWC", "NCHW"][rng.integers(2)]
    kind = ["float64", "float64", "float32", "float32", "int"][rng.integers(5)]
    height, width = window.input_hw
    x_shape = (
        (batch, height, width, channels) if data_format == "NHWC"
        else (batch, channels, height, width)
    )
    x = random_values(rng, x_shape, kind)
    pointwise = None
    if op == "conv2d":
        filters = random_values(rng, (kh, kw, group_in, out_channels), kind)
    else:
        filters = random_values(rng, (kh, kw, channels, multiplier), kind)
        if op == "separable_conv2d":
            pointwise = random_values(rng, (1, 1, channels * multiplier, out_channels), kind)
    engine_kwargs = {
        "strides": tf_pair_argument(window.strides, data_format, rng, allow_none=False),
        "padding": tf_padding_argument(window.padding, data_format, rng),
        "data_format": data_format,
        "dilations": tf_pair_argument(window.dilations, data_format, rng, allow_none=True),
    }
    features = set(window.features) | {data_format, kind, f"batch{batch}"}
    if op == "conv2d":
        if group_in == 1 and channels > 1:
            features.add("depthwise_groups")
        elif 1 < groups < channels:
            features.add("grouped")
        elif groups == 1:
            features.add("standard")
    else:
        features.add(f"multiplier{multiplier}")
    return TfCase(x, filters, pointwise, data_format, window, engine_kwargs, frozenset(features))


@functools.cache
def tf_case_and_gold(seed: int, op: str) -> tuple[TfCase, np.ndarray, np.ndarray | None]:
    """The case and the reference's answer, once per seed (shared by both kernel paths).

    Separable also returns the reference depthwise stage as the third item.
    """
    case = draw_tf_case(seed, op)
    window = case.window
    args = (window.strides, window.padding, case.data_format, window.dilations)
    if op == "conv2d":
        return case, reference.conv2d(case.x, case.filters, *args), None
    depthwise_gold = reference.depthwise_conv2d(case.x, case.filters, *args)
    if op == "depthwise_conv2d":
        return case, depthwise_gold, None
    gold = reference.separable_conv2d(case.x, case.filters, case.pointwise, *args)
    return case, gold, depthwise_gold


# --------------------------------------------------------------------------- TF ops


@pytest.mark.parametrize("seed", DEPTHWISE_SEEDS)
def test_depthwise_conv2d_matches_reference(seed: int, kernel_path: str) -> None:
    case, gold, _ = tf_case_and_gold(seed, "depthwise_conv2d")
    mine = depthwise_conv2d(case.x, case.filters, **case.engine_kwargs)
    assert_matches(mine, gold, case.x.dtype)


@pytest.mark.parametrize("seed", SEPARABLE_SEEDS)
def test_separable_conv2d_matches_reference(seed: int, kernel_path: str) -> None:
    case, gold, depthwise_gold = tf_case_and_gold(seed, "separable_conv2d")
    mine = separable_conv2d(case.x, case.filters, case.pointwise, **case.engine_kwargs)
    assert_matches(mine, gold, case.x.dtype)
    intermediate, output = separable_conv2d_stages(
        case.x, case.filters, case.pointwise, **case.engine_kwargs
    )
    assert depthwise_gold is not None
    assert_matches(intermediate, depthwise_gold, case.x.dtype)
    np.testing.assert_array_equal(output, mine)


@pytest.mark.parametrize("seed", CONV2D_SEEDS)
def test_conv2d_matches_reference(seed: int, kernel_path: str) -> None:
    case, gold, _ = tf_case_and_gold(seed, "conv2d")
    mine = conv2d(case.x, case.filters, **case.engine_kwargs)
    assert_matches(mine, gold, case.x.dtype)


# --------------------------------------------------------------------------- PyTorch op


@dataclass(frozen=True)
class TorchCase:
    x: np.ndarray  # (N, C, H, W), or (C, H, W) when unbatched
    weight: np.ndarray
    bias: np.ndarray | None
    kwargs: dict[str, Any]  # stride, padding, dilation, groups as passed to the engine
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: Any
    features: frozenset[str]


def draw_torch_case(seed: int) -> TorchCase:
    rng = np.random.default_rng([seed, 99])
    while True:
        batch, channels = int(rng.integers(1, 4)), int(rng.integers(1, 7))
        divisors = [d for d in range(1, channels + 1) if channels % d == 0]
        groups = divisors[rng.integers(len(divisors))]
        out_channels = groups * int(rng.integers(1, 4))
        kernel = (draw_kernel_size(rng), draw_kernel_size(rng))
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dilation = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        size = (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
        forms = ["int", "pair", "valid"] + (["same", "same"] if stride == (1, 1) else [])
        form = forms[rng.integers(len(forms))]
        padding: Any = {
            "int": int(rng.integers(0, 4)),
            "pair": (int(rng.integers(0, 4)), int(rng.integers(0, 4))),
            "valid": "valid",
            "same": "same",
        }[form]
        pads = reference.torch_axis_padding(padding, kernel, dilation)
        try:
            (_, _, ho), (_, _, wo) = reference.geometry(size, kernel, stride, dilation, pads)
        except ValueError:
            continue
        cost = batch * out_channels * ho * wo * (channels // groups) * kernel[0] * kernel[1]
        if ho >= 1 and wo >= 1 and cost <= REFERENCE_BUDGET:
            break
    kind = ["float64", "float32", "int"][rng.integers(3)]
    x = random_values(rng, (batch, channels, *size), kind)
    weight = random_values(rng, (out_channels, channels // groups, *kernel), kind)
    bias = random_values(rng, (out_channels,), kind) if rng.integers(2) else None
    unbatched = batch == 1 and rng.integers(2) == 1
    kwargs = {
        "stride": stride if stride[0] != stride[1] or rng.integers(2) else stride[0],
        "padding": padding,
        "dilation": dilation if dilation[0] != dilation[1] or rng.integers(2) else dilation[0],
        "groups": groups,
    }
    features = {f"padding_{form}", kind, f"batch{batch}"}
    features |= {f"stride{s}" for s in stride} | {f"dilation{d}" for d in dilation}
    if max(stride) > 1 and max(dilation) > 1:
        features.add("dilation_with_stride")
    if groups == channels and channels > 1:
        features.add("depthwise_groups")
    elif groups > 1:
        features.add("grouped")
    if bias is not None:
        features.add("bias")
    if unbatched:
        features.add("unbatched")
    return TorchCase(
        x[0] if unbatched else x, weight, bias, kwargs, stride, dilation, padding,
        frozenset(features),
    )


@functools.cache
def torch_case_and_gold(seed: int) -> tuple[TorchCase, np.ndarray]:
    case = draw_torch_case(seed)
    batched = case.x if case.x.ndim == 4 else case.x[None]
    gold = reference.torch_conv2d(
        batched, case.weight, case.bias, case.stride, case.padding, case.dilation,
        case.kwargs["groups"],
    )
    return case, gold if case.x.ndim == 4 else gold[0]


@pytest.mark.parametrize("seed", TORCH_SEEDS)
def test_torch_conv2d_matches_reference(seed: int, kernel_path: str) -> None:
    case, gold = torch_case_and_gold(seed)
    mine = torch_conv2d(case.x, case.weight, case.bias, **case.kwargs)
    assert_matches(mine, gold, case.x.dtype)


# --------------------------------------------------------------------------- coverage


SHARED_FEATURES = {
    "stride1", "stride2", "stride3", "dilation1", "dilation2", "dilation3",
    "batch1", "batch2", "batch3", "float32", "float64", "int",
}
TF_FEATURES = SHARED_FEATURES | {
    "stride_unequal", "same_odd", "same_even", "valid", "explicit", "NHWC", "NCHW",
    "kernel1x1", "kernel7", "kernel_nonsquare", "empty_output", "smaller_than_window",
}
MULTIPLIERS = {"multiplier1", "multiplier2", "multiplier3", "multiplier4"}


def _covered(features: list[frozenset[str]]) -> set[str]:
    return set().union(*features)


@pytest.mark.parametrize(
    ("op", "seeds", "required"),
    [
        ("depthwise_conv2d", DEPTHWISE_SEEDS, TF_FEATURES | MULTIPLIERS),
        ("separable_conv2d", SEPARABLE_SEEDS, TF_FEATURES | MULTIPLIERS),
        (
            "conv2d", CONV2D_SEEDS,
            TF_FEATURES | {"grouped", "depthwise_groups", "standard", "dilation_with_stride"},
        ),
    ],
)
def test_generators_cover_the_tf_cases(op: str, seeds: range, required: set[str]) -> None:
    covered = _covered([draw_tf_case(seed, op).features for seed in seeds])
    assert required - covered == set()
    # TF's rule: depthwise and separable never draw dilations with strides.
    assert op == "conv2d" or "dilation_with_stride" not in covered


def test_generator_covers_the_torch_cases() -> None:
    covered = _covered([draw_torch_case(seed).features for seed in TORCH_SEEDS])
    required = SHARED_FEATURES | {
        "padding_int", "padding_pair", "padding_valid", "padding_same", "grouped",
        "depthwise_groups", "bias", "unbatched", "dilation_with_stride",
    }
    assert required - covered == set()


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    original: Callable[..., np.ndarray] = getattr(kernels, name)

    def counting(*args: Any, **kwargs: Any) -> np.ndarray:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(kernels, name, counting)
    return calls


@pytest.mark.parametrize(
    ("path", "kernel_name"),
    [("shifted", "_depthwise_shifted"), ("block_diagonal", "_depthwise_block_diagonal")],
)
def test_kernel_paths_are_really_taken(
    path: str, kernel_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``kernel_path`` fixture is not vacuous: each setting reaches its kernel."""
    monkeypatch.setattr(kernels, "SHIFTED_MIN_CHANNELS", KERNEL_PATHS[path])
    if path == "shifted":
        monkeypatch.setattr(kernels, "BLOCK_DIAGONAL_MAX_CHANNELS", 0)
    calls = _count_calls(monkeypatch, kernel_name)
    x = np.ones((1, 4, 4, 2))
    depthwise_conv2d(x, np.ones((3, 3, 2, 1)), 1, "SAME")
    torch_conv2d(x.transpose(0, 3, 1, 2), np.ones((2, 1, 3, 3)), groups=2)
    assert len(calls) == 2


def test_a_huge_stride_makes_only_the_phases_the_taps_read(monkeypatch) -> None:
    """A stride of 10**9 must not split the input into 10**18 polyphase arrays."""
    made: list[int] = []
    real = np.ascontiguousarray
    monkeypatch.setattr(np, "ascontiguousarray", lambda a: made.append(1) or real(a))
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float64).reshape(2, 5, 5, 3)
    w = np.ones((2, 2, 3, 1))
    out = depthwise_conv2d(x, w, [1, 10**9, 10**9, 1], "SAME")
    assert out.shape == (2, 1, 1, 3)
    # SAME with one output: pad_total = 2 - 5 < 0 -> no padding; the window sits at (0, 0).
    np.testing.assert_array_equal(out[:, 0, 0], x[:, :2, :2].sum(axis=(1, 2)))
    assert len(made) <= 4


@pytest.mark.parametrize("gather", [True, False], ids=["one_gather", "tap_copies"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_by_one_gather_or_by_tap_copies_matches_the_loop_reference(
    gather: bool, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Teaching sizes gather im2col in one go (a cached index per shape); larger ones copy it
    tap by tap. Both, on strides, dilations, SAME asymmetry, groups and a batch."""
    monkeypatch.setattr(kernels, "GATHER_MAX_ELEMENTS", 10**9 if gather else 0)
    for limit in ("WIDE_ROWS_MAX_ELEMENTS", "WIDE_ROWS_MAX_CHANNELS",
                  "WIDE_ROWS_MAX_GROUP_CHANNELS"):
        monkeypatch.setattr(kernels, limit, -1)  # the NHWC im2col, not wide rows
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 9, 8, 4)).astype(dtype)
    filters = rng.standard_normal((3, 2, 2, 6)).astype(dtype)  # groups = 2
    depthwise = rng.standard_normal((3, 3, 4, 2)).astype(dtype)
    for strides, dilations in (((2, 1), (1, 1)), ((1, 1), (2, 1))):
        tf_strides, tf_dilations = [1, *strides, 1], [1, *dilations, 1]
        assert_matches(conv2d(x, filters, tf_strides, "SAME", dilations=tf_dilations),
                       reference.conv2d(x, filters, strides, "SAME", dilations=dilations), x.dtype)
        assert_matches(
            depthwise_conv2d(x, depthwise, tf_strides, "VALID", dilations=tf_dilations),
            reference.depthwise_conv2d(x, depthwise, strides, "VALID", dilations=dilations),
            x.dtype,
        )


def test_teaching_sizes_take_the_block_diagonal_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_calls(monkeypatch, "_depthwise_block_diagonal")
    x = np.ones((1, 32, 32, 3), dtype=np.float32)
    depthwise_conv2d(x, np.ones((3, 3, 3, 2), dtype=np.float32), 1, "SAME")
    assert len(calls) == 1
    depthwise_conv2d(np.ones((1, 32, 32, 8)), np.ones((3, 3, 8, 2)), 1, "SAME")  # C > 4
    assert len(calls) == 1


def test_plans_are_cached_by_argument_values_and_types_and_errors_raise_every_time() -> None:
    from app.engine import plans

    first = plans.plan_depthwise_conv2d((1, 8, 8, 3), (3, 3, 3, 2), [1, 1, 1, 1], "SAME")
    again = plans.plan_depthwise_conv2d((1, 8, 8, 3), (3, 3, 3, 2), [1, 1, 1, 1], "SAME")
    assert again is first
    assert plans.plan_depthwise_conv2d((1, 8, 8, 3), (3, 3, 3, 2), 2, "SAME") != first
    for _ in range(2):  # not cached: the same clear error both times
        with pytest.raises(ValueError, match="strides"):
            plans.plan_depthwise_conv2d((1, 8, 8, 3), (3, 3, 3, 2), [1, True, 1, 1], "SAME")
