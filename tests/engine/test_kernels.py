"""The kernels' size-dependent paths give the loop reference's values whichever is taken.

``tests/engine/test_ops.py`` forces the depthwise kernel (shifted or block-diagonal) and the
im2col (one gather or tap copies); here the paths chosen by size: im2col over wide rows
(channels first, small columns), by row bands (width-only im2col, one matmul per kernel row)
or whole, and the shifted kernel's output swept in cache-sized bands or in one piece. Seeded
random shapes: strides, dilations, SAME asymmetry, explicit pads, groups, M > 1, NCHW, a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.engine import conv2d, depthwise_conv2d, kernels, torch_conv2d
from tests.engine import reference

TOLERANCE = {"rtol": 1e-10, "atol": 1e-10}  # float64 throughout


def _draw(seed: int) -> dict[str, Any]:
    """A random configuration: sizes small enough for the loop reference."""
    rng = np.random.default_rng(seed)
    kh, kw = (int(size) for size in rng.integers(1, 4, size=2))
    strides = (int(rng.integers(1, 3)), int(rng.integers(1, 3))) if seed % 3 else (1, 1)
    dilations = (1, 1) if max(strides) > 1 else tuple(int(v) for v in rng.integers(1, 3, 2))
    batch, height, width = int(rng.integers(1, 3)), int(rng.integers(5, 10)), int(
        rng.integers(5, 10))
    padding: Any = ["SAME", "VALID", ((1, 2), (2, 0))][seed % 3]
    return {"rng": rng, "kernel": (kh, kw), "strides": strides, "dilations": dilations,
            "shape": (batch, height, width), "padding": padding, "nchw": seed % 4 == 1}


def _tf_padding(padding: Any, nchw: bool) -> Any:
    if isinstance(padding, str):
        return padding
    spatial = [list(pair) for pair in padding]
    return [[0, 0], [0, 0], *spatial] if nchw else [[0, 0], *spatial, [0, 0]]


def _layout(x: np.ndarray, nchw: bool) -> np.ndarray:
    """x : (N, H, W, C). Returns it in the drawn layout, (N, C, H, W) for NCHW."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if nchw else x


@pytest.fixture(params=["wide_rows", "row_bands", "whole_im2col"])
def im2col_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    wide = request.param == "wide_rows"
    monkeypatch.setattr(kernels, "WIDE_ROWS_MAX_ELEMENTS", 10**9 if wide else -1)
    monkeypatch.setattr(kernels, "ROW_BAND_MIN_ELEMENTS",
                        0 if request.param == "row_bands" else 10**9)
    monkeypatch.setattr(kernels, "SHIFTED_MIN_CHANNELS", 10**9)  # depthwise: block-diagonal
    return request.param


@pytest.mark.parametrize("seed", range(24))
def test_conv2d_and_block_diagonal_depthwise_match_the_loop_reference(
    im2col_path: str, seed: int
) -> None:
    case = _draw(seed)
    rng, (kh, kw), (batch, height, width) = case["rng"], case["kernel"], case["shape"]
    groups = 1 if seed % 2 else 2
    x = rng.standard_normal((batch, height, width, 4))
    filters = rng.standard_normal((kh, kw, 4 // groups, 2 * groups))
    depthwise = rng.standard_normal((kh, kw, 4, 1 + seed % 3))
    fmt, nchw = ("NCHW" if case["nchw"] else "NHWC"), case["nchw"]
    arguments = (case["strides"], case["padding"], fmt, case["dilations"])
    tf_arguments = ([1, *case["strides"], 1] if not nchw else [1, 1, *case["strides"]],
                    _tf_padding(case["padding"], nchw), fmt,
                    [1, *case["dilations"], 1] if not nchw else [1, 1, *case["dilations"]])
    mine = conv2d(_layout(x, nchw), filters, *tf_arguments)
    gold = reference.conv2d(_layout(x, nchw), filters, *arguments)
    np.testing.assert_allclose(mine, gold, **TOLERANCE)
    mine = depthwise_conv2d(_layout(x, nchw), depthwise, *tf_arguments)
    gold = reference.depthwise_conv2d(_layout(x, nchw), depthwise, *arguments)
    np.testing.assert_allclose(mine, gold, **TOLERANCE)


@pytest.mark.parametrize("band_bytes", [1, 200, 10**12], ids=["rows", "images", "whole"])
@pytest.mark.parametrize("seed", range(12))
def test_the_shifted_kernel_in_bands_matches_the_loop_reference(
    band_bytes: int, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bands of one row, of whole images, or the whole output at once."""
    monkeypatch.setattr(kernels, "SHIFTED_BAND_BYTES", band_bytes)
    monkeypatch.setattr(kernels, "SHIFTED_MIN_CHANNELS", 1)
    monkeypatch.setattr(kernels, "BLOCK_DIAGONAL_MAX_CHANNELS", 0)
    case = _draw(seed)
    rng, (kh, kw), (batch, height, width) = case["rng"], case["kernel"], case["shape"]
    x = rng.standard_normal((batch + 1, height, width, 3))
    depthwise = rng.standard_normal((kh, kw, 3, 1 + seed % 2))
    mine = depthwise_conv2d(x, depthwise, [1, *case["strides"], 1],
                            _tf_padding(case["padding"], False),
                            dilations=[1, *case["dilations"], 1])
    gold = reference.depthwise_conv2d(x, depthwise, case["strides"], case["padding"],
                                      dilations=case["dilations"])
    np.testing.assert_allclose(mine, gold, **TOLERANCE)


def test_the_size_rules_take_each_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not vacuous: a large stride-1 im2col takes row bands, a strided one does not; a large
    shifted output goes in several bands."""
    geometry = kernels.Sliding((5, 5), (1, 1), (1, 1), (32, 32))
    padded = np.zeros((1, 36, 36, 4))
    assert kernels._uses_row_bands(padded, geometry)
    assert not kernels._uses_row_bands(padded, geometry._replace(strides=(2, 1)))
    assert not kernels._uses_row_bands(padded[:, :, :, :1], geometry._replace(kernel_hw=(3, 3)))
    assert kernels._bands(8, 112, 112 * 32 * 4) == (1, kernels.SHIFTED_BAND_BYTES // 14336)
    assert kernels._bands(8, 4, 100) == (8, 4)


def _count_wide_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = kernels._wide_rows_matmul

    def counting(*args: Any) -> np.ndarray:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(kernels, "_wide_rows_matmul", counting)
    return calls


WIDE_DTYPES = {np.float64: TOLERANCE, np.float32: {"rtol": 1e-4, "atol": 1e-4}}


@pytest.mark.parametrize("dtype", list(WIDE_DTYPES), ids=["float64", "float32"])
@pytest.mark.parametrize("seed", range(40))
def test_the_wide_row_im2col_matches_the_loop_reference(
    seed: int, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the engine picks it (small columns), on every geometry: strides down the height
    (the view's row stride) and along the width (``Wo`` positions per row, not wide), large
    dilations (more than half the wide row wasted: ``Wo`` too), SAME with odd and even pad
    totals, VALID, explicit pads, groups 1/2/3, depthwise M 1-3, a batch, NCHW."""
    calls = _count_wide_calls(monkeypatch)
    rng = np.random.default_rng(1000 + seed)
    kh, kw = (int(size) for size in rng.integers(1, 5, size=2))
    strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if seed % 3 else (1, 1)
    dilations = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) if seed % 4 else (1, 1)
    batch, height, width = (int(v) for v in rng.integers((1, 6, 6), (4, 14, 14)))
    padding: Any = ["SAME", "VALID", ((2, 1), (0, 3))][seed % 3]
    nchw = seed % 5 == 1
    fmt = "NCHW" if nchw else "NHWC"
    groups = [1, 2, 3, 1][seed // 3 % 4]
    x = rng.standard_normal((batch, height, width, 6)).astype(dtype)
    filters = rng.standard_normal((kh, kw, 6 // groups, 2 * groups)).astype(dtype)
    depthwise = rng.standard_normal((kh, kw, 4, 1 + seed % 3)).astype(dtype)  # C <= 4

    def spatial(pair: tuple[int, int]) -> list[int]:
        return [1, 1, *pair] if nchw else [1, *pair, 1]

    tf_arguments = (spatial(strides), _tf_padding(padding, nchw), fmt, spatial(dilations))
    try:
        gold = reference.conv2d(_layout(x, nchw), filters, strides, padding, fmt, dilations)
    except ValueError:  # the window does not fit the input (VALID): no output to compare
        return
    mine = conv2d(_layout(x, nchw), filters, *tf_arguments)
    assert mine.dtype == dtype and mine.flags.c_contiguous
    np.testing.assert_allclose(mine, gold, **WIDE_DTYPES[dtype])
    ran_depthwise = max(strides) == 1 or max(dilations) == 1  # TF's rule for depthwise
    if ran_depthwise:
        x = x[..., :4]  # the block-diagonal depthwise: C <= 4
        mine = depthwise_conv2d(_layout(x, nchw), depthwise, *tf_arguments)
        gold = reference.depthwise_conv2d(_layout(x, nchw), depthwise, strides, padding, fmt,
                                          dilations)
        np.testing.assert_allclose(mine, gold, **WIDE_DTYPES[dtype])
    assert len(calls) == ((1 + ran_depthwise) if mine.size else 0)  # not vacuous


@pytest.mark.parametrize("seed", range(12))
def test_the_wide_row_im2col_matches_pytorchs_reference(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch_conv2d's symmetric integer padding, "same" and a bias through the wide rows."""
    calls = _count_wide_calls(monkeypatch)
    rng = np.random.default_rng(2000 + seed)
    kh, kw = (int(size) for size in rng.integers(1, 4, size=2))
    groups = [1, 3][seed % 2]
    stride = (1, 1) if seed % 3 == 0 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    padding: Any = "same" if seed % 3 == 0 else int(rng.integers(0, 3))
    x = rng.standard_normal((int(rng.integers(1, 3)), 6, 9, 7))  # (N, C, H, W)
    weight = rng.standard_normal((2 * groups, 6 // groups, kh, kw))
    bias = rng.standard_normal(2 * groups)
    mine = torch_conv2d(x, weight, bias, stride, padding, (1, 2), groups)
    gold = reference.torch_conv2d(x, weight, bias, stride, padding, (1, 2), groups)
    np.testing.assert_allclose(mine, gold, **TOLERANCE)
    assert mine.flags.c_contiguous and len(calls) == 1


def test_the_teaching_conv2d_takes_the_wide_rows_and_large_ones_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dispatch, not a timing: conv2d 32x32x3 -> 8 and the teaching depthwise (block-
    diagonal) go through wide rows; a large conv2d keeps its row bands, a depthwise with many
    channels its shifted kernel."""
    calls = _count_wide_calls(monkeypatch)
    x = np.ones((1, 32, 32, 3), dtype=np.float32)
    conv2d(x, np.ones((3, 3, 3, 8), dtype=np.float32), 1, "SAME")
    assert len(calls) == 1
    depthwise_conv2d(x, np.ones((3, 3, 3, 2), dtype=np.float32), 1, "SAME")
    assert len(calls) == 2
    conv2d(np.ones((1, 112, 112, 8)), np.ones((3, 3, 8, 16)), 1, "SAME")  # 1 806 336 values
    depthwise_conv2d(np.ones((1, 32, 32, 8)), np.ones((3, 3, 8, 2)), 1, "SAME")  # shifted
    assert len(calls) == 2
    geometry = kernels.Sliding((3, 3), (1, 1), (1, 1), (32, 32))
    same = kernels.Padding2D(1, 1, 1, 1, 32, 32)
    assert kernels._uses_wide_rows((1, 32, 32, 3), same, (3, 3, 3, 8), 1, geometry)
    assert kernels._wide_width(34, geometry) == 34  # every padded column: wide rows
    assert kernels._wide_width(34, geometry._replace(strides=(1, 2))) == 32
    assert kernels._wide_width(70, geometry) == 32  # more than half of a wide row wasted


def test_the_wide_row_results_share_no_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API runs the engine in worker threads: every call allocates its own buffers,
    and a result never aliases the input, the weights or another call's result."""
    calls = _count_wide_calls(monkeypatch)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 8, 8, 3)), rng.standard_normal((3, 3, 3, 4))
    first, second = conv2d(x, w, 1, "SAME"), conv2d(2 * x, w, 1, "SAME")
    assert len(calls) == 2
    for result in (first, second):
        assert not any(np.shares_memory(result, other) for other in (x, w))
    assert not np.shares_memory(first, second)
    np.testing.assert_allclose(second, 2 * first, **TOLERANCE)
