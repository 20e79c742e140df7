"""Separable <-> standard: the kernel a separable conv equals, and the best separable fit.

A separable convolution (depthwise ``dw`` of shape ``(kh, kw, C, M)``, then
pointwise ``pw`` of shape ``(1, 1, C*M, O)``) is one ordinary convolution with
the kernel ``K[di, dj, q, k] = sum_r dw[di, dj, q, r] * pw[0, 0, q*M + r, k]``.
For each input channel ``q``, the slice ``K[:, :, q, :]`` seen as a
``(kh*kw) x O`` matrix is a sum of ``M`` outer products: its rank is at most
``M``. That is the whole price of separability, and it is why the best
separable approximation of a standard kernel is a truncated SVD per channel.

With ``channel_multiplier = 1`` every output filter reading channel ``q`` is a
scaled copy of one spatial filter ``dw[:, :, q, 0]``: all ``O`` outputs see the
same pattern (one edge direction, one blur) of that channel, only louder or
softer. On a grayscale input (``C = 1``) the whole layer then detects a single
spatial pattern, which is why separable nets with ``M = 1`` on one input
channel do badly; raising ``M`` gives each channel ``M`` independent patterns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.arguments import float_array, positive_int


@dataclass(frozen=True)
class SeparableApproximation:
    """The least-squares best separable pair for a standard kernel.

    depthwise_filter : shape (kh, kw, C, M)
    pointwise_filter : shape (1, 1, C*M, O)
    approximation : shape (kh, kw, C, O), ``equivalent_kernel`` of the pair
    singular_values : shape (C, min(kh*kw, O)), per input channel, descending
    channel_errors : shape (C,), ``||K[:, :, q, :] - approximation[:, :, q, :]||_F``
    relative_error : ``||K - approximation||_F / ||K||_F`` (0.0 for an all-zero K)
    exact : True when ``M >= min(kh*kw, O)`` or the error is zero up to rounding
    """

    depthwise_filter: np.ndarray
    pointwise_filter: np.ndarray
    approximation: np.ndarray
    singular_values: np.ndarray
    channel_errors: np.ndarray
    relative_error: float
    exact: bool

    @property
    def channel_multiplier(self) -> int:
        return int(self.depthwise_filter.shape[3])


def _check_nonempty(shape: tuple[int, ...], name: str, layout: str) -> None:
    if min(shape) < 1:
        raise ValueError(f"{name} must be {layout} with every size at least 1, got {list(shape)}")


def equivalent_kernel(depthwise_filter: Any, pointwise_filter: Any) -> np.ndarray:
    """The conv2d filter that equals ``separable_conv2d`` with these two filters.

    depthwise_filter : array-like, shape (kh, kw, C, M)
    pointwise_filter : array-like, shape (1, 1, C*M, O)
    Returns shape (kh, kw, C, O):
    ``K[di, dj, q, k] = sum_r depthwise_filter[di, dj, q, r] * pointwise_filter[0, 0, q*M + r, k]``.

    ``conv2d(x, K, ...)`` equals ``separable_conv2d(x, depthwise_filter,
    pointwise_filter, ...)`` for any strides, padding and dilations, because the
    pointwise stage is linear and acts per pixel. Each ``K[:, :, q, :]`` has
    rank at most ``M``; with ``M = 1`` all ``O`` filters of channel ``q`` are
    multiples of the single spatial filter ``depthwise_filter[:, :, q, 0]``.
    """
    dw = float_array(depthwise_filter, "depthwise_filter", 4)
    pw = float_array(pointwise_filter, "pointwise_filter", 4)
    _check_nonempty(dw.shape, "depthwise_filter", "[kh, kw, C, M]")
    kh, kw, channels, multiplier = dw.shape
    if pw.shape[:2] != (1, 1):
        raise ValueError(
            f"pointwise_filter must be [1, 1, C*M, O], got a {pw.shape[0]}x{pw.shape[1]} kernel"
        )
    if pw.shape[2] != channels * multiplier:
        raise ValueError(
            f"pointwise_filter has in_channels={pw.shape[2]} but the depthwise stage gives "
            f"{channels} channels x channel_multiplier {multiplier} = {channels * multiplier}"
        )
    if pw.shape[3] < 1:
        raise ValueError("pointwise_filter must have at least 1 output channel")
    dtype = np.result_type(dw, pw)
    mixing = pw[0, 0].reshape(channels, multiplier, pw.shape[3])  # (C, M, O), row q*M + r
    kernel = np.einsum("hwqr,qro->hwqo", dw.astype(dtype, copy=False), mixing.astype(dtype))
    return kernel  # (kh, kw, C, O)


def _channel_svd(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD of every channel's ``(kh*kw) x O`` slice, all channels in one call.

    filters : shape (kh, kw, C, O)
    Returns ``U`` (C, kh*kw, R), ``s`` (C, R), ``Vt`` (C, R, O), ``R = min(kh*kw, O)``.
    """
    kh, kw, channels, outputs = filters.shape
    stacked = filters.transpose(2, 0, 1, 3).reshape(channels, kh * kw, outputs)  # (C, kh*kw, O)
    left, singular_values, right = np.linalg.svd(stacked, full_matrices=False)
    return left, singular_values, right  # (C, kh*kw, R), (C, R), (C, R, O)


def _filters_array(filters: Any) -> np.ndarray:
    kernel = float_array(filters, "filters", 4)
    _check_nonempty(kernel.shape, "filters", "[kh, kw, C, O]")
    return kernel


def separable_approximation(filters: Any, channel_multiplier: int) -> SeparableApproximation:
    """Best depthwise + pointwise pair (least squares) for a standard conv2d kernel.

    filters : array-like, shape (kh, kw, C, O)
    channel_multiplier : M, a positive int

    Per input channel ``q`` the slice ``filters[:, :, q, :]`` as a ``(kh*kw) x O``
    matrix ``U diag(s) Vt`` is truncated to its ``M`` largest singular values
    (Eckart-Young: no rank-``M`` matrix is closer in Frobenius norm):
    ``depthwise_filter[:, :, q, r] = U[:, r] * s[r]`` (as ``kh x kw``) and
    ``pointwise_filter[0, 0, q*M + r, :] = Vt[r, :]``; for ``r`` at or past
    ``min(kh*kw, O)`` both are zero. The squared error of channel ``q`` is the
    sum of its dropped ``s[r]**2``.

    With ``M = 1`` each channel keeps one spatial filter, so every output
    filter of that channel is a scaled copy of it (rank 1): on a grayscale
    input the layer can only detect one spatial pattern.
    """
    kernel = _filters_array(filters)
    multiplier = positive_int(channel_multiplier, "channel_multiplier")
    kh, kw, channels, outputs = kernel.shape
    left, singular_values, right = _channel_svd(kernel)
    full_rank = singular_values.shape[1]
    kept = min(multiplier, full_rank)

    spatial = left[:, :, :kept] * singular_values[:, None, :kept]  # (C, kh*kw, kept)
    depthwise = np.zeros((kh, kw, channels, multiplier), dtype=kernel.dtype)
    depthwise[:, :, :, :kept] = spatial.transpose(1, 0, 2).reshape(kh, kw, channels, kept)
    mixing = np.zeros((channels, multiplier, outputs), dtype=kernel.dtype)  # (C, M, O)
    mixing[:, :kept, :] = right[:, :kept, :]
    pointwise = mixing.reshape(1, 1, channels * multiplier, outputs)  # (1, 1, C*M, O)

    approximation = equivalent_kernel(depthwise, pointwise)  # (kh, kw, C, O)
    residual = kernel - approximation
    channel_errors = np.sqrt(np.sum(residual * residual, axis=(0, 1, 3)))  # (C,)
    kernel_norm = float(np.linalg.norm(kernel))
    relative_error = float(np.linalg.norm(residual)) / kernel_norm if kernel_norm else 0.0
    # Rounding leaves ~eps relative error even when the kernel has rank <= M.
    tolerance = 100 * float(np.finfo(kernel.dtype).eps)
    exact = bool(multiplier >= full_rank or relative_error <= tolerance)
    return SeparableApproximation(  # the fields in order, each named by its local
        depthwise, pointwise, approximation, singular_values, channel_errors, relative_error, exact
    )


def approximation_errors(filters: Any) -> np.ndarray:
    """Relative error of the best separable fit for ``M = 1 .. min(kh*kw, O)``.

    filters : array-like, shape (kh, kw, C, O)
    Returns float64, shape (min(kh*kw, O),): entry ``M - 1`` is
    ``sqrt(sum_q sum_{r >= M} s[q, r]**2) / ||filters||_F``, the same number as
    ``separable_approximation(filters, M).relative_error``, from one SVD. It
    falls to 0 at full rank; how fast it falls says how much ``M`` a kernel needs
    (all zeros for an all-zero kernel).
    """
    kernel = _filters_array(filters)
    _, singular_values, _ = _channel_svd(kernel)
    squared = singular_values.astype(np.float64) ** 2  # (C, R)
    # Squared error of M: the dropped s[q, r]**2, r >= M, summed over channels.
    from_rank = np.cumsum(squared.sum(axis=0)[::-1])[::-1]  # (R,), [m] sums r >= m
    dropped = np.append(from_rank[1:], 0.0)  # (R,), [M - 1] sums r >= M
    kernel_norm = float(np.linalg.norm(kernel))
    if not kernel_norm:
        return np.zeros_like(dropped)
    return np.sqrt(dropped) / kernel_norm
