"""equivalent_kernel, separable_approximation and approximation_errors.

References here are written straight from the formulas: a loop for the
equivalent kernel, one ``np.linalg.svd`` per channel for the singular values.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import (
    SeparableApproximation,
    approximation_errors,
    conv2d,
    equivalent_kernel,
    separable_approximation,
    separable_conv2d,
)


def equivalent_kernel_loops(depthwise_filter: np.ndarray, pointwise_filter: np.ndarray):
    """K[di,dj,q,k] = sum_r dw[di,dj,q,r] * pw[0,0,q*M+r,k], one term at a time."""
    kh, kw, channels, multiplier = depthwise_filter.shape
    outputs = pointwise_filter.shape[3]
    kernel = np.zeros((kh, kw, channels, outputs))
    for di in range(kh):
        for dj in range(kw):
            for q in range(channels):
                for k in range(outputs):
                    for r in range(multiplier):
                        row = q * multiplier + r
                        kernel[di, dj, q, k] += (
                            depthwise_filter[di, dj, q, r] * pointwise_filter[0, 0, row, k]
                        )
    return kernel


def channel_singular_values(filters: np.ndarray) -> np.ndarray:
    """(C, min(kh*kw, O)) from one SVD per channel."""
    kh, kw, channels, outputs = filters.shape
    return np.stack(
        [np.linalg.svd(filters[:, :, q, :].reshape(kh * kw, outputs), compute_uv=False)
         for q in range(channels)]
    )


# ---------------------------------------------------------------- equivalent_kernel


@pytest.mark.parametrize("seed", range(4))
def test_equivalent_kernel_matches_the_loop_formula(seed) -> None:
    rng = np.random.default_rng(seed)
    kh, kw, channels, multiplier, outputs = rng.integers(1, 5, size=5)
    dw = rng.normal(size=(kh, kw, channels, multiplier))
    pw = rng.normal(size=(1, 1, channels * multiplier, outputs))

    mine = equivalent_kernel(dw, pw)

    assert mine.shape == (kh, kw, channels, outputs)
    np.testing.assert_allclose(mine, equivalent_kernel_loops(dw, pw), rtol=1e-12, atol=1e-12)


def test_equivalent_kernel_small_example_by_hand() -> None:
    # C = 1, M = 2: K[..., k] = dw[..., 0] * pw[0] + dw[..., 1] * pw[1]
    dw = np.zeros((2, 2, 1, 2))
    dw[:, :, 0, 0] = [[1, 0], [0, 0]]
    dw[:, :, 0, 1] = [[0, 0], [0, 1]]
    pw = np.array([[[[2.0, 0.0, 1.0], [3.0, 1.0, -1.0]]]])  # (1, 1, 2, 3)

    kernel = equivalent_kernel(dw, pw)

    np.testing.assert_array_equal(kernel[:, :, 0, 0], [[2, 0], [0, 3]])
    np.testing.assert_array_equal(kernel[:, :, 0, 1], [[0, 0], [0, 1]])
    np.testing.assert_array_equal(kernel[:, :, 0, 2], [[1, 0], [0, -1]])


SEPARABLE_CASES = [
    # (input NHWC shape, kh, kw, M, O, strides, padding, data_format, dilations)
    ((1, 6, 6, 3), 3, 3, 1, 4, 1, "SAME", "NHWC", 1),
    ((2, 7, 8, 2), 3, 3, 2, 5, 2, "SAME", "NHWC", 1),
    ((1, 9, 7, 3), 3, 2, 3, 2, (2, 1), "VALID", "NHWC", 1),
    ((2, 9, 9, 2), 3, 3, 1, 3, 1, "VALID", "NHWC", 2),
    ((1, 8, 8, 4), 2, 3, 2, 6, 1, "SAME", "NHWC", (2, 1)),
    ((2, 6, 5, 3), 3, 3, 2, 4, 2, "SAME", "NCHW", 1),
    ((1, 7, 7, 2), 3, 3, 2, 3, 1, "VALID", "NCHW", 2),
    ((1, 5, 6, 2), 3, 3, 1, 7, 1, [[0, 0], [1, 2], [0, 1], [0, 0]], "NHWC", 1),
    ((1, 6, 6, 5), 1, 1, 3, 2, 1, "SAME", "NHWC", 1),
]


@pytest.mark.parametrize("case_index", range(len(SEPARABLE_CASES)))
def test_separable_conv_equals_conv_with_the_equivalent_kernel(case_index) -> None:
    shape, kh, kw, multiplier, outputs, strides, padding, data_format, dilations = (
        SEPARABLE_CASES[case_index]
    )
    rng = np.random.default_rng(100 + case_index)
    channels = shape[3]
    x = rng.normal(size=shape)
    if data_format == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    dw = rng.normal(size=(kh, kw, channels, multiplier))
    pw = rng.normal(size=(1, 1, channels * multiplier, outputs))

    gold = separable_conv2d(x, dw, pw, strides, padding, data_format, dilations)
    mine = conv2d(x, equivalent_kernel(dw, pw), strides, padding, data_format, dilations)

    assert mine.shape == gold.shape
    assert gold.size > 0
    np.testing.assert_allclose(mine, gold, rtol=1e-10, atol=1e-10)


def test_equivalent_kernel_keeps_float32_and_promotes_mixed_dtypes() -> None:
    dw = np.ones((3, 3, 2, 1), dtype=np.float32)
    pw = np.ones((1, 1, 2, 4), dtype=np.float32)
    assert equivalent_kernel(dw, pw).dtype == np.float32
    assert equivalent_kernel(dw, pw.astype(np.float64)).dtype == np.float64
    assert equivalent_kernel(dw.tolist(), pw.tolist()).dtype == np.float64


@pytest.mark.parametrize(
    ("dw_shape", "pw_shape", "message"),
    [
        ((3, 3, 2), (1, 1, 2, 4), "depthwise_filter must be 4-D, got shape [3, 3, 2]"),
        ((3, 3, 2, 1), (2, 4), "pointwise_filter must be 4-D, got shape [2, 4]"),
        ((3, 3, 2, 1), (3, 3, 2, 4), "pointwise_filter must be [1, 1, C*M, O], got a 3x3 kernel"),
        ((3, 3, 2, 2), (1, 1, 2, 4),
         "pointwise_filter has in_channels=2 but the depthwise stage gives 2 channels x "
         "channel_multiplier 2 = 4"),
        ((3, 3, 2, 1), (1, 1, 2, 0), "pointwise_filter must have at least 1 output channel"),
        ((3, 0, 2, 1), (1, 1, 2, 4), "depthwise_filter must be [kh, kw, C, M] with every size"),
        ((3, 3, 2, 0), (1, 1, 0, 4), "depthwise_filter must be [kh, kw, C, M] with every size"),
    ],
)
def test_equivalent_kernel_rejects_bad_shapes(dw_shape, pw_shape, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        equivalent_kernel(np.ones(dw_shape), np.ones(pw_shape))


def test_equivalent_kernel_rejects_non_finite_and_non_numbers() -> None:
    dw = np.ones((3, 3, 1, 1))
    dw[1, 1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="depthwise_filter must contain only finite numbers"):
        equivalent_kernel(dw, np.ones((1, 1, 1, 2)))
    with pytest.raises(ValueError, match="pointwise_filter must be a rectangular array"):
        equivalent_kernel(np.ones((1, 1, 1, 1)), [[[["a"]]]])


# ---------------------------------------------------------- separable_approximation


def random_filters(seed: int, shape=(3, 3, 4, 6)) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("shape", [(3, 3, 4, 6), (3, 3, 2, 12), (2, 3, 3, 4), (1, 1, 3, 5)])
def test_full_rank_reproduces_the_kernel(shape) -> None:
    filters = random_filters(1, shape)
    full_rank = min(shape[0] * shape[1], shape[3])

    for multiplier in (full_rank, full_rank + 2):
        result = separable_approximation(filters, multiplier)
        assert result.exact
        assert result.relative_error < 1e-12
        np.testing.assert_allclose(result.approximation, filters, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(result.channel_errors, 0.0, atol=1e-10)
        assert result.depthwise_filter.shape == (shape[0], shape[1], shape[2], multiplier)
        assert result.pointwise_filter.shape == (1, 1, shape[2] * multiplier, shape[3])
    # Past the rank the extra depthwise filters and pointwise rows are zeros.
    mixing = result.pointwise_filter[0, 0].reshape(shape[2], full_rank + 2, shape[3])
    np.testing.assert_array_equal(result.depthwise_filter[:, :, :, full_rank:], 0.0)
    np.testing.assert_array_equal(mixing[:, full_rank:, :], 0.0)


def test_below_full_rank_error_is_the_tail_of_the_singular_values() -> None:
    filters = random_filters(2)  # (3, 3, 4, 6): rank 6 per channel
    singular_values = channel_singular_values(filters)
    norm = np.linalg.norm(filters)

    for multiplier in range(1, 6):
        result = separable_approximation(filters, multiplier)
        tail = singular_values[:, multiplier:] ** 2  # (C, R - M)
        assert not result.exact
        np.testing.assert_allclose(result.singular_values, singular_values, rtol=1e-12)
        np.testing.assert_allclose(result.channel_errors, np.sqrt(tail.sum(axis=1)), rtol=1e-10)
        assert result.relative_error == pytest.approx(np.sqrt(tail.sum()) / norm, rel=1e-10)
        np.testing.assert_allclose(
            result.approximation,
            equivalent_kernel(result.depthwise_filter, result.pointwise_filter),
            rtol=1e-12, atol=1e-12,
        )


def test_error_is_non_increasing_in_m_and_matches_approximation_errors() -> None:
    filters = random_filters(3, (3, 3, 3, 5))
    errors = approximation_errors(filters)

    assert errors.shape == (5,)
    from_fits = [separable_approximation(filters, m).relative_error for m in range(1, 6)]
    np.testing.assert_allclose(errors, from_fits, rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(errors) <= 1e-12)
    assert errors[0] > errors[-2] > 0.0
    assert errors[-1] == 0.0
    # The channels' squared errors add up to the whole kernel's.
    for multiplier in range(1, 6):
        result = separable_approximation(filters, multiplier)
        total = np.sqrt(np.sum(result.channel_errors ** 2)) / np.linalg.norm(filters)
        assert total == pytest.approx(result.relative_error, rel=1e-10)


def test_m1_on_grayscale_makes_every_output_filter_a_copy_of_one_spatial_filter() -> None:
    # The teaching point: C = 1, M = 1 leaves one spatial pattern for all O outputs.
    filters = random_filters(4, (3, 3, 1, 8))
    result = separable_approximation(filters, 1)
    spatial = result.depthwise_filter[:, :, 0, 0]  # (3, 3)
    scales = result.pointwise_filter[0, 0, 0, :]  # (8,)

    for k in range(8):
        np.testing.assert_allclose(
            result.approximation[:, :, 0, k], scales[k] * spatial, rtol=1e-12, atol=1e-12
        )
    as_matrix = result.approximation[:, :, 0, :].reshape(9, 8)  # (kh*kw, O)
    assert np.linalg.matrix_rank(as_matrix) == 1
    assert np.linalg.matrix_rank(filters[:, :, 0, :].reshape(9, 8)) == 8
    # Pointwise rows are unit vectors (Vt rows); the depthwise filter carries the scale.
    assert np.linalg.norm(scales) == pytest.approx(1.0)
    assert np.linalg.norm(spatial) == pytest.approx(result.singular_values[0, 0])
    assert result.relative_error > 0.5


def test_a_kernel_built_separable_is_recovered_exactly_below_full_rank() -> None:
    rng = np.random.default_rng(5)
    dw = rng.normal(size=(3, 3, 3, 2))
    pw = rng.normal(size=(1, 1, 6, 7))
    filters = equivalent_kernel(dw, pw)  # rank 2 per channel, full rank would be 7

    result = separable_approximation(filters, 2)

    assert result.exact
    assert result.relative_error < 1e-12
    np.testing.assert_allclose(result.approximation, filters, atol=1e-10)
    assert not separable_approximation(filters, 1).exact
    np.testing.assert_allclose(approximation_errors(filters)[1:], 0.0, atol=1e-12)


def test_all_zero_kernel() -> None:
    filters = np.zeros((3, 3, 2, 4))
    result = separable_approximation(filters, 1)

    assert result.relative_error == 0.0
    assert result.exact
    np.testing.assert_array_equal(result.approximation, 0.0)
    np.testing.assert_array_equal(approximation_errors(filters), np.zeros(4))


def test_float32_stays_float32_and_exact_tolerance_fits_float32() -> None:
    filters = random_filters(6, (3, 3, 2, 4)).astype(np.float32)
    result = separable_approximation(filters, 4)
    assert result.approximation.dtype == np.float32
    assert result.depthwise_filter.dtype == np.float32
    assert result.exact
    np.testing.assert_allclose(result.approximation, filters, rtol=1e-4, atol=1e-5)
    # Errors are summary numbers, like relative_error: float64 whatever the kernel.
    assert approximation_errors(filters).dtype == np.float64


def test_result_is_a_frozen_dataclass() -> None:
    result = separable_approximation(random_filters(7), 2)
    assert isinstance(result, SeparableApproximation)
    assert result.channel_multiplier == 2
    assert result.singular_values.shape == (4, 6)
    assert result.channel_errors.shape == (4,)
    assert isinstance(result.relative_error, float)
    assert isinstance(result.exact, bool)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.exact = True  # type: ignore[misc]


@pytest.mark.parametrize("multiplier", [0, -1, 1.5, True, "2", None])
def test_channel_multiplier_must_be_a_positive_int(multiplier) -> None:
    with pytest.raises(ValueError, match="channel_multiplier must be a positive integer"):
        separable_approximation(random_filters(8), multiplier)


def test_separable_approximation_accepts_numpy_int_multiplier() -> None:
    assert separable_approximation(random_filters(8), np.int64(2)).channel_multiplier == 2


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (np.ones((3, 3, 2)), "filters must be 4-D, got shape [3, 3, 2]"),
        (np.ones((3, 3, 0, 2)), "filters must be [kh, kw, C, O] with every size at least 1"),
        (np.full((1, 1, 1, 1), np.inf), "filters must contain only finite numbers"),
    ],
)
def test_bad_filters_are_named(filters, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        separable_approximation(filters, 1)
    with pytest.raises(ValueError, match=re.escape(message)):
        approximation_errors(filters)


kernel_shapes = st.tuples(
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 7)
)


@settings(max_examples=40, deadline=None)
@given(shape=kernel_shapes, multiplier=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_property_fit_is_consistent_and_optimal(shape, multiplier, seed) -> None:
    rng = np.random.default_rng(seed)
    filters = rng.normal(size=shape)
    full_rank = min(shape[0] * shape[1], shape[3])

    result = separable_approximation(filters, multiplier)
    errors = approximation_errors(filters)

    assert 0.0 <= result.relative_error <= 1.0 + 1e-12
    expected = errors[min(multiplier, full_rank) - 1]
    assert result.relative_error == pytest.approx(expected, rel=1e-8, abs=1e-12)
    assert np.all(np.diff(errors) <= 1e-12)
    np.testing.assert_allclose(
        equivalent_kernel(result.depthwise_filter, result.pointwise_filter),
        result.approximation, rtol=1e-12, atol=1e-12,
    )
    # Eckart-Young: nudging the best pair never lowers the error.
    nudged = equivalent_kernel(
        result.depthwise_filter + 1e-3 * rng.normal(size=result.depthwise_filter.shape),
        result.pointwise_filter + 1e-3 * rng.normal(size=result.pointwise_filter.shape),
    )
    nudged_error = np.linalg.norm(filters - nudged) / np.linalg.norm(filters)
    assert nudged_error >= result.relative_error - 1e-12


@settings(max_examples=30, deadline=None)
@given(
    shape=kernel_shapes, multiplier=st.integers(1, 3), outputs=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_separable_pairs_round_trip_at_their_own_multiplier(
    shape, multiplier, outputs, seed
) -> None:
    rng = np.random.default_rng(seed)
    kh, kw, channels, _ = shape
    dw = rng.normal(size=(kh, kw, channels, multiplier))
    pw = rng.normal(size=(1, 1, channels * multiplier, outputs))
    filters = equivalent_kernel(dw, pw)

    result = separable_approximation(filters, multiplier)

    assert result.exact
    np.testing.assert_allclose(result.approximation, filters, rtol=1e-9, atol=1e-9)
