"""The kernels' size-dependent paths give the loop reference's values whichever is taken.

``tests/engine/test_ops.py`` forces the depthwise kernel (shifted or block-diagonal) and the
im2col (one gather or tap copies); here the two paths chosen by size: im2col by row bands
(width-only im2col, one matmul per kernel row) or whole, and the shifted kernel's output swept
in cache-sized bands or in one piece. Seeded random shapes: strides, dilations, SAME
asymmetry, explicit pads, groups, M > 1, NCHW, a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.engine import conv2d, depthwise_conv2d, kernels
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


@pytest.fixture(params=["row_bands", "whole_im2col"])
def im2col_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
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
