"""The engine against real PyTorch (``torch.nn.functional.conv2d``), when importable.

``torch_conv2d`` is compared directly; TF's depthwise, separable and grouped
conv2d through layout conversions (NHWC -> NCHW, filter ``[kh, kw, C/G, O]``
-> weight ``[O, C/G, kh, kw]``, depthwise as ``groups=C``, TF's asymmetric
SAME pads applied with ``F.pad``). Configurations are the seeded ones of
``test_ops.py``; the loop reference is checked against PyTorch too.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.engine import conv2d, depthwise_conv2d, separable_conv2d, torch_conv2d
from tests.engine import reference
from tests.engine.test_ops import (
    CONV2D_SEEDS,
    DEPTHWISE_SEEDS,
    SEPARABLE_SEEDS,
    TORCH_SEEDS,
    TfCase,
    draw_tf_case,
    draw_torch_case,
    torch_case_and_gold,
)

torch = pytest.importorskip("torch")
functional = pytest.importorskip("torch.nn.functional")

pytestmark = [
    pytest.mark.torch,
    # PyTorch's note that an even 'same' kernel costs it a padded copy.
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning"),
]

TOLERANCES = {
    np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-10},
    np.dtype(np.float32): {"rtol": 1e-4, "atol": 1e-4},
}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The machine is shared: PyTorch computes on one thread here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tensor(array: np.ndarray) -> torch.Tensor:
    """A float tensor (ints become float64: PyTorch's CPU conv wants floats)."""
    array = np.ascontiguousarray(array)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return torch.tensor(array)


def assert_close_to_torch(mine: np.ndarray, theirs: torch.Tensor) -> None:
    expected = theirs.numpy()
    assert mine.shape == expected.shape
    assert mine.dtype == expected.dtype
    np.testing.assert_allclose(mine, expected, **TOLERANCES[mine.dtype])


# --------------------------------------------------------------------------- torch_conv2d


@pytest.mark.parametrize("seed", TORCH_SEEDS)
def test_torch_conv2d_matches_pytorch(seed: int) -> None:
    case = draw_torch_case(seed)
    bias = None if case.bias is None else tensor(case.bias)
    theirs = functional.conv2d(
        tensor(case.x), tensor(case.weight), bias, case.kwargs["stride"], case.kwargs["padding"],
        case.kwargs["dilation"], case.kwargs["groups"],
    )
    mine = torch_conv2d(case.x, case.weight, case.bias, **case.kwargs)
    assert_close_to_torch(mine, theirs)


@pytest.mark.parametrize("seed", TORCH_SEEDS)
def test_the_reference_twin_agrees_with_pytorch(seed: int) -> None:
    """The loop reference is itself right about PyTorch's semantics."""
    case, gold = torch_case_and_gold(seed)
    bias = None if case.bias is None else tensor(case.bias).double()
    theirs = functional.conv2d(
        tensor(case.x).double(), tensor(case.weight).double(), bias, case.kwargs["stride"],
        case.kwargs["padding"], case.kwargs["dilation"], case.kwargs["groups"],
    )
    np.testing.assert_allclose(gold, theirs.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("kernel", "dilation"), [((2, 2), (1, 1)), ((4, 3), (1, 2)), ((2, 5), (3, 1)), ((1, 6), 2)]
)
def test_torch_same_padding_puts_the_odd_zero_after(kernel, dilation) -> None:
    """Even spans under 'same': PyTorch pads the extra zero at the bottom/right, as TF does."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 7))
    weight = rng.standard_normal((6, 1, *kernel))
    kwargs = {"padding": "same", "dilation": dilation, "groups": 3}
    theirs = functional.conv2d(tensor(x), tensor(weight), **kwargs)
    assert_close_to_torch(torch_conv2d(x, weight, **kwargs), theirs)


def test_unbatched_input_and_float32_bias() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    weight = rng.standard_normal((6, 2, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    theirs = functional.conv2d(
        tensor(x), tensor(weight), tensor(bias), stride=(2, 1), padding=(1, 2), groups=2
    )
    mine = torch_conv2d(x, weight, bias, stride=(2, 1), padding=(1, 2), groups=2)
    assert_close_to_torch(mine, theirs)


# --------------------------------------------------------------------------- TF ops via layouts


def torch_input(case: TfCase) -> torch.Tensor:
    """The case's input as NCHW, zero-padded with TF's (possibly asymmetric) pads."""
    x = case.x if case.data_format == "NCHW" else case.x.transpose(0, 3, 1, 2)
    height, width = x.shape[2:]
    window = case.window
    (top, bottom, _), (left, right, _) = reference.geometry(
        (height, width), window.kernel_hw, window.strides, window.dilations, window.padding
    )
    return functional.pad(tensor(x), (left, right, top, bottom))


def in_layout(out: torch.Tensor, case: TfCase) -> torch.Tensor:
    return out if case.data_format == "NCHW" else out.permute(0, 2, 3, 1).contiguous()


def pytorch_depthwise(case: TfCase, padded: torch.Tensor) -> torch.Tensor:
    """TF filter (kh, kw, C, M) -> weight (C*M, 1, kh, kw), groups=C: channel q*M + r."""
    kh, kw, channels, multiplier = case.filters.shape
    weight = case.filters.reshape(kh, kw, 1, channels * multiplier).transpose(3, 2, 0, 1)
    return functional.conv2d(
        padded, tensor(weight).to(padded.dtype), stride=case.window.strides,
        dilation=case.window.dilations, groups=channels,
    )


def non_empty(seeds: range, op: str) -> list[int]:
    """The seeds whose output is not empty: PyTorch refuses those (test_ops checks them)."""
    return [seed for seed in seeds if min(draw_tf_case(seed, op).window.output_hw) > 0]


@pytest.mark.parametrize("seed", non_empty(DEPTHWISE_SEEDS, "depthwise_conv2d"))
def test_depthwise_conv2d_matches_pytorch_groups(seed: int) -> None:
    case = draw_tf_case(seed, "depthwise_conv2d")
    theirs = pytorch_depthwise(case, torch_input(case))
    mine = depthwise_conv2d(case.x, case.filters, **case.engine_kwargs)
    assert_close_to_torch(mine, in_layout(theirs, case))


@pytest.mark.parametrize("seed", non_empty(SEPARABLE_SEEDS, "separable_conv2d"))
def test_separable_conv2d_matches_pytorch(seed: int) -> None:
    case = draw_tf_case(seed, "separable_conv2d")
    assert case.pointwise is not None
    stage = pytorch_depthwise(case, torch_input(case))
    weight = tensor(case.pointwise.transpose(3, 2, 0, 1)).to(stage.dtype)  # (O, C*M, 1, 1)
    theirs = functional.conv2d(stage, weight)
    mine = separable_conv2d(case.x, case.filters, case.pointwise, **case.engine_kwargs)
    assert_close_to_torch(mine, in_layout(theirs, case))


@pytest.mark.parametrize("seed", non_empty(CONV2D_SEEDS, "conv2d"))
def test_grouped_conv2d_matches_pytorch(seed: int) -> None:
    case = draw_tf_case(seed, "conv2d")
    padded = torch_input(case)
    group_in = case.filters.shape[2]
    weight = tensor(case.filters.transpose(3, 2, 0, 1)).to(padded.dtype)  # (O, C/G, kh, kw)
    theirs = functional.conv2d(
        padded, weight, stride=case.window.strides, dilation=case.window.dilations,
        groups=padded.shape[1] // group_in,
    )
    mine = conv2d(case.x, case.filters, **case.engine_kwargs)
    assert_close_to_torch(mine, in_layout(theirs, case))
