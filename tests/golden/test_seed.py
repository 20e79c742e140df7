"""The seed example of DESIGN.md, reproduced exactly, by every route to depthwise.

Input ``[1, 4, 4, 2]``: channel 0 rows ``[1, 2, 3, 4]`` four times, channel 1
all ones. Filter ``[3, 3, 2, 2]`` with ``w[:,:,0,0]=0, w[:,:,1,0]=1,
w[:,:,0,1]=2, w[:,:,1,1]=3``; strides 1, VALID. Output channel ``q*M + r``:
a window of channel 0 sums to 18 (left) or 27 (right), of channel 1 to 9, so
``[0, 2*18, 1*9, 3*9] = [0, 36, 9, 27]`` and ``[0, 2*27, 9, 27] = [0, 54, 9, 27]``.
Both depthwise kernels are forced in turn: the engine's choice must not matter.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import depthwise_conv2d, kernels, torch_conv2d

EXPECTED_NHWC = np.array([[[[0, 36, 9, 27], [0, 54, 9, 27]], [[0, 36, 9, 27], [0, 54, 9, 27]]]])


def seed_input() -> np.ndarray:
    """shape (1, 4, 4, 2)"""
    x = np.ones((1, 4, 4, 2))
    x[0, :, :, 0] = [1, 2, 3, 4]  # every row
    return x


def seed_filter() -> np.ndarray:
    """shape (3, 3, 2, 2), (kh, kw, C, M)"""
    w = np.zeros((3, 3, 2, 2))
    w[:, :, 0, 0], w[:, :, 1, 0], w[:, :, 0, 1], w[:, :, 1, 1] = 0, 1, 2, 3
    return w


@pytest.fixture(params=[1, 10**9], ids=["shifted", "block_diagonal"])
def kernel_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(kernels, "SHIFTED_MIN_CHANNELS", request.param)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seed_example_nhwc(kernel_path: int, dtype: type) -> None:
    out = depthwise_conv2d(
        seed_input().astype(dtype), seed_filter().astype(dtype), [1, 1, 1, 1], "VALID"
    )
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, EXPECTED_NHWC.astype(dtype), strict=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seed_example_nchw(kernel_path: int, dtype: type) -> None:
    x = seed_input().transpose(0, 3, 1, 2).astype(dtype)  # (1, 2, 4, 4)
    out = depthwise_conv2d(x, seed_filter().astype(dtype), [1, 1, 1, 1], "VALID", "NCHW")
    expected = EXPECTED_NHWC.transpose(0, 3, 1, 2).astype(dtype)  # (1, 4, 2, 2)
    np.testing.assert_array_equal(out, expected, strict=True)


def test_seed_example_from_integer_lists(kernel_path: int) -> None:
    """Plain nested lists of ints, as a JSON request would send them: float64 out."""
    out = depthwise_conv2d(
        seed_input().astype(int).tolist(), seed_filter().astype(int).tolist(), 1, "VALID"
    )
    np.testing.assert_array_equal(out, EXPECTED_NHWC.astype(np.float64), strict=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seed_example_as_torch_groups(kernel_path: int, dtype: type) -> None:
    """PyTorch's depthwise is ``groups=C`` with weight ``[C*M, 1, kh, kw]``, channel q*M + r."""
    x = seed_input().transpose(0, 3, 1, 2).astype(dtype)
    w = seed_filter()
    weight = w.reshape(3, 3, 1, 4).transpose(3, 2, 0, 1).astype(dtype)  # (4, 1, 3, 3)
    out = torch_conv2d(x, weight, groups=2)
    expected = EXPECTED_NHWC.transpose(0, 3, 1, 2).astype(dtype)
    np.testing.assert_array_equal(out, expected, strict=True)
    np.testing.assert_array_equal(torch_conv2d(x[0], weight, groups=2), expected[0], strict=True)
