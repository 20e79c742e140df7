"""Where ConvLens is deliberately different from TensorFlow, each side pinned by a test.

Every difference the README's "Semantics and TensorFlow" section lists has two tests here:
what ConvLens does (always run) and what real TF does (marked ``tf``, skipped where TF is
not importable), so the README cannot drift from either.
"""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np
import pytest

from app.engine import conv2d, depthwise_conv2d, separable_conv2d
from tests.engine import reference
from tests.references import tensorflow

RNG = np.random.default_rng(10)
X = RNG.standard_normal((1, 7, 6, 3))
DEPTHWISE = RNG.standard_normal((3, 3, 3, 2))
POINTWISE = RNG.standard_normal((1, 1, 6, 4))
TEXTBOOK_INPUT = np.arange(1, 26, dtype=np.float64).reshape(1, 5, 5, 1)
TEXTBOOK_FILTER = np.ones((2, 2, 1, 1))


@pytest.fixture(scope="module")
def tf() -> ModuleType:
    return tensorflow()


# ---------------------------------------------------------------- kinder than TF


def test_convlens_takes_int_and_short_strides_for_depthwise() -> None:
    expected = depthwise_conv2d(X, DEPTHWISE, [1, 2, 2, 1], "VALID")
    np.testing.assert_array_equal(depthwise_conv2d(X, DEPTHWISE, 2, "VALID"), expected)
    np.testing.assert_array_equal(depthwise_conv2d(X, DEPTHWISE, [2], "VALID"), expected)
    np.testing.assert_array_equal(depthwise_conv2d(X, DEPTHWISE, [2, 2], "VALID"), expected)
    np.testing.assert_array_equal(
        separable_conv2d(X, DEPTHWISE, POINTWISE, 2, "VALID"),
        separable_conv2d(X, DEPTHWISE, POINTWISE, [1, 2, 2, 1], "VALID"),
    )


@pytest.mark.tf
def test_tf_wants_four_strides_for_depthwise(tf: ModuleType) -> None:
    with pytest.raises(TypeError, match="Expected list for 'strides'"):
        tf.nn.depthwise_conv2d(X, DEPTHWISE, 2, "VALID")
    with pytest.raises(tf.errors.InvalidArgumentError, match="must specify 4 dimensions"):
        tf.nn.depthwise_conv2d(X, DEPTHWISE, [2, 2], "VALID")


def test_convlens_takes_lower_case_padding_with_the_same_meaning() -> None:
    for op in (lambda p: depthwise_conv2d(X, DEPTHWISE, 1, p),
               lambda p: conv2d(X, DEPTHWISE[..., :1].reshape(3, 3, 3, 1), 1, p)):
        np.testing.assert_array_equal(op("same"), op("SAME"))
        np.testing.assert_array_equal(op("valid"), op("VALID"))


@pytest.mark.tf
def test_tf_refuses_lower_case_padding(tf: ModuleType) -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match="not in the list of allowed"):
        tf.nn.depthwise_conv2d(X, DEPTHWISE, [1, 1, 1, 1], "same")


def test_convlens_computes_unequal_depthwise_strides_in_float64() -> None:
    out = depthwise_conv2d(X, DEPTHWISE, [1, 2, 1, 1], "SAME")
    gold = reference.depthwise_conv2d(X, DEPTHWISE, (2, 1), "SAME", "NHWC", (1, 1))
    np.testing.assert_allclose(out, gold, rtol=1e-12, atol=1e-12)


@pytest.mark.tf
def test_tf_cpu_refuses_unequal_depthwise_strides_in_float64(tf: ModuleType) -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match="only supports equal length"):
        tf.nn.depthwise_conv2d(X, DEPTHWISE, [1, 2, 1, 1], "SAME")
    # ... but computes the same thing as a grouped conv2d, which is what ConvLens answers.
    grouped = tf.nn.conv2d(X, DEPTHWISE.reshape(3, 3, 1, 6), [1, 2, 1, 1], "SAME").numpy()
    np.testing.assert_allclose(depthwise_conv2d(X, DEPTHWISE, [1, 2, 1, 1], "SAME"), grouped,
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- refusing what TF returns


def test_convlens_refuses_nan_input() -> None:
    x = X.copy()
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^input must contain only finite numbers"):
        depthwise_conv2d(x, DEPTHWISE, 1, "VALID")


@pytest.mark.tf
def test_tf_returns_nan_for_nan_input(tf: ModuleType) -> None:
    x = X.copy()
    x[0, 0, 0, 0] = np.nan
    out = tf.nn.depthwise_conv2d(x, DEPTHWISE, [1, 1, 1, 1], "VALID").numpy()
    assert np.isnan(out[0, 0, 0, :2]).all() and np.isfinite(out[0, 1:, 1:]).all()


def test_convlens_refuses_zero_output_channels() -> None:
    with pytest.raises(ValueError, match="^filters has out_channels=0"):
        conv2d(X, np.ones((3, 3, 3, 0)), 1, "VALID")
    with pytest.raises(ValueError, match="^filter must have a channel_multiplier of at least 1"):
        depthwise_conv2d(X, np.ones((3, 3, 3, 0)), 1, "VALID")
    with pytest.raises(ValueError, match="^pointwise_filter must have at least 1 output"):
        separable_conv2d(X, DEPTHWISE, np.ones((1, 1, 6, 0)), 1, "VALID")


@pytest.mark.tf
def test_tf_returns_an_empty_channel_axis(tf: ModuleType) -> None:
    assert tf.nn.conv2d(X, np.ones((3, 3, 3, 0)), 1, "VALID").shape == (1, 5, 4, 0)
    assert tf.nn.depthwise_conv2d(X, np.ones((3, 3, 3, 0)), [1] * 4, "VALID").shape == (
        1, 5, 4, 0)


# ---------------------------------------------------------------- read exactly as TF


def test_convlens_refuses_a_one_element_depthwise_dilation_list() -> None:
    for call in (lambda: depthwise_conv2d(X, DEPTHWISE, 1, "VALID", dilations=[2]),
                 lambda: separable_conv2d(X, DEPTHWISE, POINTWISE, 1, "VALID", dilations=[2])):
        with pytest.raises(ValueError, match=r"dilates the height by 2 and the width by 1"):
            call()
    # conv2d broadcasts it, as tf.nn.conv2d does.
    filters = np.ones((3, 3, 3, 2))
    np.testing.assert_array_equal(conv2d(X, filters, 1, "VALID", dilations=[2]),
                                  conv2d(X, filters, 1, "VALID", dilations=[2, 2]))


@pytest.mark.tf
def test_tf_reads_a_one_element_depthwise_dilation_list_as_the_height_only(
    tf: ModuleType,
) -> None:
    one = tf.nn.depthwise_conv2d(X, DEPTHWISE, [1] * 4, "VALID", dilations=[2]).numpy()
    np.testing.assert_allclose(one, depthwise_conv2d(X, DEPTHWISE, 1, "VALID", dilations=[2, 1]),
                               rtol=1e-12, atol=1e-12)
    assert one.shape == (1, 3, 4, 6)
    conv = tf.nn.conv2d(X, np.ones((3, 3, 3, 2)), 1, "VALID", dilations=[2])
    assert conv.shape == (1, 3, 2, 2)  # both axes


def test_convlens_follows_tf_eager_for_an_input_smaller_than_the_window() -> None:
    out = depthwise_conv2d(np.ones((1, 1, 1, 1)), np.ones((4, 4, 1, 1)), 2, "VALID")
    assert out.shape == (1, 0, 0, 1)


@pytest.mark.tf
def test_tf_eager_truncates_and_graph_mode_refuses(tf: ModuleType) -> None:
    x, w = np.ones((1, 1, 1, 1)), np.ones((4, 4, 1, 1))
    assert tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "VALID").shape == (1, 0, 0, 1)
    assert tf.nn.conv2d(x, w, 2, "VALID").shape == (1, 0, 0, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="would be negative"):
        tf.nn.conv2d(x, w, 1, "VALID")
    graph = tf.function(lambda a, b: tf.nn.conv2d(a, b, 2, "VALID"))
    with pytest.raises(ValueError, match="Negative dimension size"):
        graph(x, w)


# ---------------------------------------------------------------- dilation with stride


def test_convlens_refuses_depthwise_dilation_with_stride_and_grouped_conv2d_answers() -> None:
    with pytest.raises(ValueError, match=r"only warns.*\[kh, kw, 1, C\*M\]"):
        depthwise_conv2d(TEXTBOOK_INPUT, TEXTBOOK_FILTER, 2, "VALID", dilations=2)
    textbook = conv2d(TEXTBOOK_INPUT, TEXTBOOK_FILTER.reshape(2, 2, 1, 1), 2, "VALID",
                      dilations=2)
    np.testing.assert_array_equal(textbook[0, :, :, 0], [[28, 36], [68, 76]])


@pytest.mark.tf
def test_tf_warns_and_computes_something_else(tf: ModuleType) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = tf.nn.depthwise_conv2d(TEXTBOOK_INPUT, TEXTBOOK_FILTER, [1, 2, 2, 1], "VALID",
                                     dilations=[2, 2]).numpy()
    assert any("all values of strides must be 1" in str(w.message) for w in caught)
    np.testing.assert_array_equal(out[0, :, :, 0], [[28]])
    textbook = tf.nn.conv2d(TEXTBOOK_INPUT, TEXTBOOK_FILTER, 2, "VALID", dilations=2).numpy()
    np.testing.assert_array_equal(textbook[0, :, :, 0], [[28, 36], [68, 76]])


# ---------------------------------------------------------------- a TF float32 bug


def _onednn_case() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return (rng.standard_normal((2, 6, 5, 1)).astype(np.float32),
            rng.standard_normal((3, 4, 1, 2)).astype(np.float32))


def test_convlens_computes_unequal_strides_with_one_output_column() -> None:
    x, w = _onednn_case()
    gold = reference.conv2d(x, w, (1, 2), "VALID", "NHWC", (1, 1))
    np.testing.assert_allclose(conv2d(x, w, [1, 2], "VALID"), gold, rtol=1e-5, atol=1e-5)


@pytest.mark.tf
def test_tf_2_21_float32_onednn_gets_these_unequal_strides_wrong(tf: ModuleType) -> None:
    """A batch > 1, one channel, strides [1, 2], one output column: TF 2.21's oneDNN float32
    conv2d returns wrong values; the stride-1 convolution sliced (what the /code snippets
    do) is right."""
    if not tf.__version__.startswith("2.21."):
        pytest.skip(f"the oneDNN float32 bug was seen in TF 2.21, this is {tf.__version__}")
    x, w = _onednn_case()
    gold = conv2d(x.astype(np.float64), w.astype(np.float64), [1, 2], "VALID")
    direct = tf.nn.conv2d(x, w, [1, 1, 2, 1], "VALID").numpy()
    sliced = tf.nn.conv2d(x, w, 1, "VALID").numpy()[:, ::1, ::2]
    np.testing.assert_allclose(sliced, gold, rtol=1e-5, atol=1e-5)
    float64 = tf.nn.conv2d(x.astype(np.float64), w.astype(np.float64), [1, 1, 2, 1], "VALID")
    np.testing.assert_allclose(float64.numpy(), gold, rtol=1e-12, atol=1e-12)
    assert not np.allclose(direct, gold, rtol=1e-3, atol=1e-3)
