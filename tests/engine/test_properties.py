"""Algebraic properties of the ops, on shapes drawn by hypothesis.

A convolution is bilinear (linear in the input and in the weights); a delta
kernel under SAME is the identity; a depthwise output channel is a plain
conv2d of one input channel; the layouts and the decompositions agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import conv2d, depthwise_conv2d, separable_conv2d, torch_conv2d
from tests.engine import reference

PROPERTIES = settings(max_examples=40, deadline=None, database=None)
TOLERANCE = {"rtol": 1e-9, "atol": 1e-9}


@dataclass(frozen=True)
class Config:
    """A depthwise configuration in NHWC; always valid (VALID falls back to SAME)."""

    batch: int
    height: int
    width: int
    channels: int
    multiplier: int
    kernel: reference.Pair
    strides: reference.Pair
    dilations: reference.Pair
    padding: Any
    seed: int

    def arrays(self, out_channels: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(input, depthwise filter, pointwise filter), float64."""
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal((self.batch, self.height, self.width, self.channels))
        depthwise = rng.standard_normal((*self.kernel, self.channels, self.multiplier))
        pointwise = rng.standard_normal((1, 1, self.channels * self.multiplier, out_channels))
        return x, depthwise, pointwise

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"strides": list(self.strides), "padding": self.padding,
                "dilations": list(self.dilations)}


@st.composite
def configs(draw: st.DrawFn, dilate_with_stride: bool = False) -> Config:
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if strides == (1, 1) or dilate_with_stride:
        dilations = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    else:
        dilations = (1, 1)
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    padding: Any = draw(
        st.sampled_from(["SAME", "VALID", "explicit"])
    )
    if padding == "explicit":
        pads = [draw(st.integers(0, 3)) for _ in range(4)]
        padding = [[0, 0], pads[:2], pads[2:], [0, 0]]
    spatial = padding if isinstance(padding, str) else (tuple(padding[1]), tuple(padding[2]))
    try:
        reference.geometry((height, width), kernel, strides, dilations, spatial)
    except ValueError:
        padding = "SAME"  # SAME always fits
    return Config(
        batch=draw(st.integers(1, 2)), height=height, width=width,
        channels=draw(st.integers(1, 4)), multiplier=draw(st.integers(1, 3)), kernel=kernel,
        strides=strides, dilations=dilations, padding=padding,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


coefficients = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def assert_linear(
    op: Callable[[np.ndarray], np.ndarray], u: np.ndarray, v: np.ndarray, a: float, b: float
) -> None:
    """``op(a*u + b*v) == a*op(u) + b*op(v)``, to TOLERANCE."""
    np.testing.assert_allclose(op(a * u + b * v), a * op(u) + b * op(v), **TOLERANCE)


def linear_combinations(test: Callable[..., None]) -> Callable[..., None]:
    """Runs ``test(config, a, b)`` on drawn depthwise configurations and coefficients."""
    return PROPERTIES(given(configs(), coefficients, coefficients)(test))


@linear_combinations
def test_depthwise_and_separable_are_linear_in_the_input(
    config: Config, a: float, b: float
) -> None:
    x, depthwise, pointwise = config.arrays()
    y = np.random.default_rng(config.seed + 1).standard_normal(x.shape)
    assert_linear(lambda u: depthwise_conv2d(u, depthwise, **config.kwargs), x, y, a, b)
    assert_linear(lambda u: separable_conv2d(u, depthwise, pointwise, **config.kwargs), x, y, a, b)


@linear_combinations
def test_depthwise_and_separable_are_linear_in_the_weights(
    config: Config, a: float, b: float
) -> None:
    x, depthwise, pointwise = config.arrays()
    rng = np.random.default_rng(config.seed + 2)
    other_depthwise = rng.standard_normal(depthwise.shape)
    other_pointwise = rng.standard_normal(pointwise.shape)
    assert_linear(
        lambda w: depthwise_conv2d(x, w, **config.kwargs), depthwise, other_depthwise, a, b
    )
    # Separable is linear in each filter separately.
    assert_linear(
        lambda w: separable_conv2d(x, depthwise, w, **config.kwargs),
        pointwise, other_pointwise, a, b,
    )


@PROPERTIES
@given(configs(dilate_with_stride=True), st.integers(1, 2), coefficients, coefficients)
def test_grouped_conv2d_and_torch_are_linear(
    config: Config, group_in: int, a: float, b: float
) -> None:
    channels = config.channels * group_in  # a multiple of the filter's in-depth
    rng = np.random.default_rng(config.seed + 3)
    x = rng.standard_normal((config.batch, config.height, config.width, channels))
    y = rng.standard_normal(x.shape)
    groups = channels // group_in
    filters = rng.standard_normal((*config.kernel, group_in, groups * config.multiplier))
    other = rng.standard_normal(filters.shape)
    combined = conv2d(a * x + b * y, a * filters + b * other, **config.kwargs)
    separate = sum(
        ca * cb * conv2d(xi, fi, **config.kwargs)
        for ca, xi in ((a, x), (b, y))
        for cb, fi in ((a, filters), (b, other))
    )
    np.testing.assert_allclose(combined, separate, **TOLERANCE)
    # The same bilinearity through the PyTorch op (weight (O, C/groups, kh, kw), NCHW).
    x_nchw, y_nchw = x.transpose(0, 3, 1, 2), y.transpose(0, 3, 1, 2)
    weight = filters.transpose(3, 2, 0, 1)
    full_padding = tuple(  # pads d*(k-1) on each side: never an empty output
        d * (k - 1) for d, k in zip(config.dilations, config.kernel, strict=True)
    )
    kwargs = {"stride": config.strides, "dilation": config.dilations, "groups": groups,
              "padding": full_padding}
    assert_linear(lambda u: torch_conv2d(u, weight, **kwargs), x_nchw, y_nchw, a, b)


@PROPERTIES
@given(configs())
def test_a_centred_delta_kernel_under_same_is_the_identity(config: Config) -> None:
    """Odd kernel, weight 1 at the centre, stride 1: every output is its input pixel.

    With M > 1, output channel ``q*M + r`` is ``x[..., q]`` times ``r + 1``.
    """
    x, _, _ = config.arrays()
    kernel = (2 * (config.kernel[0] // 2) + 1, 2 * (config.kernel[1] // 2) + 1)
    delta = np.zeros((*kernel, config.channels, config.multiplier))
    delta[kernel[0] // 2, kernel[1] // 2] = np.arange(1, config.multiplier + 1)
    out = depthwise_conv2d(x, delta, 1, "SAME", dilations=list(config.dilations))
    expected = np.repeat(x, config.multiplier, axis=3) * np.tile(
        np.arange(1.0, config.multiplier + 1), config.channels
    )
    np.testing.assert_array_equal(out, expected)
    # conv2d with an identity matrix at the centre tap is the identity too.
    identity = np.zeros((*kernel, config.channels, config.channels))
    identity[kernel[0] // 2, kernel[1] // 2] = np.eye(config.channels)
    np.testing.assert_array_equal(
        conv2d(x, identity, 1, "SAME", dilations=list(config.dilations)), x
    )


@PROPERTIES
@given(configs())
def test_a_one_by_one_delta_with_stride_subsamples(config: Config) -> None:
    x, _, _ = config.arrays()
    delta = np.ones((1, 1, config.channels, 1))
    out = depthwise_conv2d(x, delta, list(config.strides), "SAME")
    sh, sw = config.strides
    np.testing.assert_array_equal(out, x[:, ::sh, ::sw])


@PROPERTIES
@given(configs())
def test_depthwise_with_one_channel_equals_conv2d(config: Config) -> None:
    """``M = 1`` on one channel is an ordinary convolution; and every output channel
    ``q*M + r`` is the conv2d of input channel ``q`` with ``filter[:, :, q, r]``."""
    x, depthwise, _ = config.arrays()
    single = x[..., :1]
    np.testing.assert_allclose(
        depthwise_conv2d(single, depthwise[:, :, :1, :1], **config.kwargs),
        conv2d(single, depthwise[:, :, :1, :1], **config.kwargs),
        **TOLERANCE,
    )
    out = depthwise_conv2d(x, depthwise, **config.kwargs)
    for q in range(config.channels):
        for r in range(config.multiplier):
            plain = conv2d(x[..., q : q + 1], depthwise[:, :, q : q + 1, r : r + 1],
                           **config.kwargs)
            np.testing.assert_allclose(
                out[..., q * config.multiplier + r], plain[..., 0], **TOLERANCE
            )


@PROPERTIES
@given(configs())
def test_depthwise_is_conv2d_with_groups_equal_to_channels(config: Config) -> None:
    """TF's depthwise equals grouped conv2d with filter ``[kh, kw, 1, C*M]`` and
    PyTorch's ``groups=C`` with weight ``[C*M, 1, kh, kw]``: the same channel order."""
    x, depthwise, _ = config.arrays()
    out = depthwise_conv2d(x, depthwise, **config.kwargs)
    kh, kw, channels, multiplier = depthwise.shape
    grouped = depthwise.reshape(kh, kw, 1, channels * multiplier)
    np.testing.assert_allclose(conv2d(x, grouped, **config.kwargs), out, **TOLERANCE)
    if config.padding == "VALID" and out.size:  # PyTorch refuses empty outputs
        via_torch = torch_conv2d(
            x.transpose(0, 3, 1, 2), grouped.transpose(3, 2, 0, 1), stride=config.strides,
            dilation=config.dilations, groups=channels,
        )
        np.testing.assert_allclose(via_torch, out.transpose(0, 3, 1, 2), **TOLERANCE)


@PROPERTIES
@given(configs())
def test_separable_is_depthwise_then_pointwise(config: Config) -> None:
    x, depthwise, pointwise = config.arrays()
    stage = depthwise_conv2d(x, depthwise, **config.kwargs)
    np.testing.assert_allclose(
        separable_conv2d(x, depthwise, pointwise, **config.kwargs),
        conv2d(stage, pointwise, 1, "VALID"),
        **TOLERANCE,
    )


@PROPERTIES
@given(configs(), st.booleans())
def test_nchw_is_the_transposed_nhwc(config: Config, as_four_lists: bool) -> None:
    x, depthwise, pointwise = config.arrays()
    nhwc = separable_conv2d(x, depthwise, pointwise, **config.kwargs)
    kwargs = dict(config.kwargs)
    if isinstance(config.padding, list):
        kwargs["padding"] = [[0, 0], [0, 0], config.padding[1], config.padding[2]]
    if as_four_lists:
        kwargs["strides"] = [1, 1, *config.strides]
        kwargs["dilations"] = [1, 1, *config.dilations]
    nchw = separable_conv2d(x.transpose(0, 3, 1, 2), depthwise, pointwise,
                            data_format="NCHW", **kwargs)
    np.testing.assert_array_equal(nchw, nhwc.transpose(0, 3, 1, 2))
