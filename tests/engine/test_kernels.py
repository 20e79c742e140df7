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
    for limit in ("WIDE_ROWS_MAX_ELEMENTS", "WIDE_ROWS_MAX_CHANNELS",
                  "WIDE_ROWS_MAX_GROUP_CHANNELS"):
        monkeypatch.setattr(kernels, limit, 10**9 if wide else -1)
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
    diagonal) go through wide rows; a large conv2d with many channels keeps its row bands, a
    depthwise with many channels its shifted kernel."""
    calls = _count_wide_calls(monkeypatch)
    x = np.ones((1, 32, 32, 3), dtype=np.float32)
    conv2d(x, np.ones((3, 3, 3, 8), dtype=np.float32), 1, "SAME")
    assert len(calls) == 1
    depthwise_conv2d(x, np.ones((3, 3, 3, 2), dtype=np.float32), 1, "SAME")
    assert len(calls) == 2
    conv2d(np.ones((1, 56, 56, 16)), np.ones((3, 3, 16, 16)), 1, "SAME")  # 451 584, C > 8
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


LARGE_CASES = [  # (N, H, W, C), (kh, kw, Cg, O), strides, dilations, padding
    ((1, 11, 13, 3), (3, 3, 3, 4), (1, 1), (1, 1), "SAME"),
    ((3, 9, 10, 4), (3, 2, 4, 5), (1, 1), (1, 1), "VALID"),  # N > 1
    ((2, 12, 11, 4), (3, 3, 4, 3), (2, 2), (1, 1), "SAME"),  # stride 2
    ((2, 10, 12, 6), (3, 3, 6, 2), (1, 2), (1, 1), "SAME"),  # stride 2 along the width: Wo
    ((2, 12, 12, 4), (3, 3, 4, 4), (1, 1), (2, 2), "SAME"),  # dilation 2
    ((1, 13, 9, 2), (2, 3, 2, 3), (1, 1), (2, 1), ((1, 2), (0, 2))),
    ((2, 10, 10, 8), (3, 3, 4, 6), (1, 1), (1, 1), "SAME"),  # groups 2
    ((3, 9, 11, 8), (3, 3, 2, 8), (2, 1), (1, 1), "SAME"),  # groups 4, stride 2
    ((2, 11, 10, 8), (3, 2, 2, 4), (1, 1), (2, 2), "VALID"),  # groups 4, dilation 2
]


@pytest.mark.parametrize("band_elements", [1, 200, 1500, 10**9])
@pytest.mark.parametrize("case", range(len(LARGE_CASES)))
def test_the_banded_wide_rows_match_the_loop_reference(
    case: int, band_elements: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large standard and grouped conv through the wide rows (the small-columns rule off), in
    bands of one output row, of several rows, of whole images and in one piece: a batch,
    strides, dilations, explicit pads, groups 2 and 4, float64 and float32."""
    calls = _count_wide_calls(monkeypatch)
    monkeypatch.setattr(kernels, "WIDE_ROWS_MAX_ELEMENTS", -1)
    monkeypatch.setattr(kernels, "WIDE_ROWS_BAND_ELEMENTS", band_elements)
    x_shape, w_shape, strides, dilations, padding = LARGE_CASES[case]
    rng = np.random.default_rng(4000 + case)
    x, filters = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    gold = reference.conv2d(x, filters, strides, padding, "NHWC", dilations)
    for dtype, tolerance in WIDE_DTYPES.items():
        mine = conv2d(x.astype(dtype), filters.astype(dtype), [1, *strides, 1],
                      _tf_padding(padding, False), "NHWC", [1, *dilations, 1])
        assert mine.dtype == dtype and mine.flags.c_contiguous
        np.testing.assert_allclose(mine, gold, **tolerance)
    assert len(calls) == 2  # not vacuous


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_a_large_conv_goes_in_bands_and_matches_the_loop_reference(
    groups: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the real constants: 2x40x40x8, 3x3 (columns of 2*40*42*72 = 241 920 values) goes
    in bands of rows, each within WIDE_ROWS_BAND_ELEMENTS and the whole NHWC im2col."""
    calls = _count_wide_calls(monkeypatch)
    band_sizes: list[int] = []
    original = kernels._wide_bands

    def recording(*args: Any) -> tuple[int, int, int]:
        width, images, rows = original(*args)
        band_sizes.append(args[2] * images * rows * width)
        return width, images, rows

    monkeypatch.setattr(kernels, "_wide_bands", recording)
    rng = np.random.default_rng(5000 + groups)
    x = rng.standard_normal((2, 40, 40, 8))
    filters = rng.standard_normal((3, 3, 8 // groups, 4))
    mine = conv2d(x, filters, 1, "SAME")
    np.testing.assert_allclose(mine, reference.conv2d(x, filters, (1, 1), "SAME", "NHWC",
                                                      (1, 1)), **TOLERANCE)
    assert len(calls) == 1
    assert band_sizes and band_sizes[0] <= kernels.WIDE_ROWS_BAND_ELEMENTS
    assert 2 * 40 * 42 * 72 > kernels.WIDE_ROWS_MAX_ELEMENTS  # not the small-columns rule
    assert kernels._wide_bands(2, kernels.Sliding((3, 3), (1, 1), (1, 1), (40, 40)), 72, 42)[
        1:] == (1, kernels.WIDE_ROWS_BAND_ELEMENTS // (72 * 42))  # several bands per image


def test_a_wide_band_never_holds_more_than_the_nhwc_im2col() -> None:
    """The API bounds the NHWC im2col (N*Ho*Wo*kh*kw*C window values) by max_macs: a band's
    columns stay within it, one output row too (its garbage columns dropped), unless all the
    wide columns fit in WIDE_ROWS_BAND_ELEMENTS (then one band)."""
    geometries = [((2, 3), (1, 1), (1, 1), (1, 4), 6), ((3, 3), (1, 1), (1, 1), (1, 10), 12),
                  ((3, 3), (1, 1), (2, 2), (5, 7), 11), ((5, 5), (2, 2), (1, 1), (30, 30), 63)]
    for *fields, padded_width in geometries:
        sliding = kernels.Sliding(*fields)
        for images in (1, 3):
            for depth in (1, 27, 10**6):
                width, band_images, rows = kernels._wide_bands(images, sliding, depth,
                                                               padded_width)
                whole = images * sliding.output_hw[0] * sliding.output_hw[1] * depth
                band = depth * band_images * rows * width
                assert band <= whole or (band <= kernels.WIDE_ROWS_BAND_ELEMENTS and (
                    band_images, rows) == (images, sliding.output_hw[0]))
                assert width in (sliding.output_hw[1], padded_width)
    # One row of 10**6 * 12 wide values, over the budget: its Wo = 10 positions only.
    one_row = kernels.Sliding((3, 3), (1, 1), (1, 1), (1, 10))
    assert kernels._wide_bands(1, one_row, 10**6, 12) == (10, 1, 1)


def test_large_standard_conv_with_few_channels_and_grouped_conv_take_the_wide_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dispatch past the small columns, by counting calls: conv2d 224x224x3 -> 16 and
    grouped 32x32x16 (2 groups, torch_conv2d) go through wide rows, as do a batch of 4 and
    groups of 64 channels; a standard conv with 16 channels and groups of 128 channels keep
    the NHWC paths, as does a large depthwise (the shifted kernel)."""
    calls = _count_wide_calls(monkeypatch)
    conv2d(np.ones((1, 224, 224, 3)), np.ones((3, 3, 3, 16)), 1, "SAME")
    assert len(calls) == 1
    torch_conv2d(np.ones((1, 16, 32, 32)), np.ones((16, 8, 3, 3)), padding=1, groups=2)
    assert len(calls) == 2
    conv2d(np.ones((4, 24, 24, 8)), np.ones((3, 3, 2, 8)), [1, 2, 2, 1], "SAME")
    torch_conv2d(np.ones((1, 128, 12, 12)), np.ones((8, 64, 3, 3)), padding=1, groups=2)
    assert len(calls) == 4
    conv2d(np.ones((1, 40, 40, 16)), np.ones((3, 3, 16, 4)), 1, "SAME")  # C > 8
    torch_conv2d(np.ones((1, 256, 8, 8)), np.ones((4, 128, 3, 3)), padding=1, groups=2)
    depthwise_conv2d(np.ones((1, 64, 64, 8)), np.ones((3, 3, 8, 1)), 1, "SAME")
    assert len(calls) == 4
