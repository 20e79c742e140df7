"""The lab network's backward pass against finite differences, and its stated pieces."""

from __future__ import annotations

import numpy as np
import pytest

from app.lab import network

ARCHITECTURES = [
    network.Architecture("standard", (6, 6, 1), 3, 3, 1),
    network.Architecture("separable", (6, 6, 1), 3, 3, 2),
    network.Architecture("separable_fixed_pointwise", (6, 6, 1), 3, 3, 1),
    network.Architecture("depthwise", (7, 6, 2), 3, 3, 2),  # odd height: the dropped row
    network.Architecture("standard", (6, 6, 1), 3, 3, 1, "separable"),  # + a second layer
]


def mean_loss(architecture, params, x, labels) -> float:
    probabilities = network.forward(architecture.first_layer, params, x).probabilities
    return network.loss_and_accuracy(probabilities, labels)[0]


@pytest.mark.parametrize(
    "architecture", ARCHITECTURES, ids=lambda a: f"{a.first_layer}+{a.second_layer}"
)
def test_backward_matches_central_differences(architecture: network.Architecture) -> None:
    rng = np.random.default_rng(11)
    params, _ = network.initialise(architecture, rng, dtype=np.float64)
    for name in ("bias", "bias_2"):  # nonzero: no ReLU kinks at 0
        if name in params:
            params[name] += rng.normal(0, 0.1, params[name].shape)
    x = rng.random((3, *architecture.input_shape))
    labels = np.array([1, 4, 7])
    cache = network.forward(architecture.first_layer, params, x)
    grads = network.backward(architecture.first_layer, params, cache, labels)
    assert set(grads) == set(architecture.parameter_shapes())
    step = 1e-6
    for name in architecture.trainable():
        value = params[name]
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + step
            upper = mean_loss(architecture, params, x, labels)
            value[index] = saved - step
            lower = mean_loss(architecture, params, x, labels)
            value[index] = saved
            numeric[index] = (upper - lower) / (2 * step)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_max_pool_routes_each_gradient_to_its_window_maximum() -> None:
    a = np.array([[1.0, 5, 2, 0], [3, 4, 9, 9], [0, 0, 1, 2], [7, 0, 3, 0]])[None, :, :, None]
    pooled, argmax = network.max_pool(a)
    np.testing.assert_array_equal(pooled[0, :, :, 0], [[5, 9], [7, 3]])
    back = network.max_pool_backward(np.array([[1.0, 2], [3, 4]])[None, :, :, None], argmax, (4, 4))
    # The tie (9, 9) goes to the first maximum in row-major order.
    np.testing.assert_array_equal(
        back[0, :, :, 0], [[0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0]]
    )


def test_initialisation_is_stated_and_uses_the_depthwise_fan_in() -> None:
    rng = np.random.default_rng(0)
    architecture = network.Architecture("depthwise", (8, 8, 4), 3, 8, 2)
    params, notes = network.initialise(architecture, rng, dtype=np.float64)
    assert "depthwise_kernel [3, 3, 4, 2]: He normal, fan_in = k*k = 9" in notes
    _, wrong = network.initialise(architecture, np.random.default_rng(0), "kh_kw_c")
    assert "He normal, fan_in = k*k*C (the classic bug) = 36" in wrong[0]
    fixed = network.Architecture("separable_fixed_pointwise", (8, 8, 1), 3, 8, 1)
    params, notes = network.initialise(fixed, rng)
    assert "pointwise_kernel [1, 1, 1, 8]: all ones, not trained" in notes
    np.testing.assert_array_equal(params["pointwise_kernel"], 1)
    assert "pointwise_kernel" not in fixed.trainable()


def test_costs_count_the_first_layer_and_the_dense_layer() -> None:
    standard = network.Architecture("standard", (8, 8, 1), 3, 8, 1).costs()
    assert standard["first_layer_params"] == 3 * 3 * 8 + 8
    assert standard["params"] == 80 + 4 * 4 * 8 * 10 + 10
    assert standard["first_layer_macs"] == 8 * 8 * 9 * 8
    fixed = network.Architecture("separable_fixed_pointwise", (8, 8, 1), 3, 8, 1).costs()
    assert fixed["first_layer_params"] == 9 + 8 + 8  # depthwise, pointwise, bias
    assert fixed["first_layer_trainable_params"] == 9 + 8


def test_separable_with_one_multiplier_makes_scaled_copies_of_one_filter() -> None:
    architecture = network.Architecture("separable", (8, 8, 1), 3, 5, 1)
    params, _ = network.initialise(architecture, np.random.default_rng(2), dtype=np.float64)
    filters = network.first_layer_filters("separable", params)  # (5, 3, 3)
    spatial = params["depthwise_kernel"][:, :, 0, 0]
    for k in range(5):
        np.testing.assert_allclose(filters[k], spatial * params["pointwise_kernel"][0, 0, 0, k])
    assert np.linalg.matrix_rank(filters.reshape(5, 9)) == 1


def test_the_wrong_depthwise_fan_in_shrinks_the_second_layer_by_sqrt_c() -> None:
    """With a second separable layer over C2 = 8 channels, k*k*C2 makes the depthwise
    kernel sqrt(8) times smaller than k*k (same draws: the same seed); the rest is equal."""
    architecture = network.Architecture("standard", (8, 8, 1), 3, 8, 1, "separable")
    right, notes = network.initialise(architecture, np.random.default_rng(5), dtype=np.float64)
    wrong, wrong_notes = network.initialise(
        architecture, np.random.default_rng(5), "kh_kw_c", dtype=np.float64
    )
    assert right["depthwise_kernel_2"].shape == (3, 3, 8, 1)
    np.testing.assert_allclose(right["depthwise_kernel_2"], wrong["depthwise_kernel_2"] * 8**0.5)
    for name in set(right) - {"depthwise_kernel_2"}:
        np.testing.assert_array_equal(right[name], wrong[name], err_msg=name)
    assert "depthwise_kernel_2 [3, 3, 8, 1]: LeCun normal, fan_in = k*k = 9" in notes
    assert ("depthwise_kernel_2 [3, 3, 8, 1]: LeCun normal, fan_in = k*k*C (the classic bug) "
            "= 72") in wrong_notes
    costs = architecture.costs()
    assert costs["params"] == 80 + (9 * 8 + 8 * 8 + 8) + 4 * 4 * 8 * 10 + 10
    assert costs["macs"] == 8 * 8 * 9 * 8 + 8 * 8 * (9 * 8 + 8 * 8) + 4 * 4 * 8 * 10
