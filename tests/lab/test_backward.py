"""One training step seen from the first layer: the backward trace of ``first_step``'s
request gives exactly the gradients the lab's own backward pass trains with."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import build_backward_trace
from app.lab import LabConfig, load_digits, network
from app.lab.backward import first_step
from app.lab.training import architecture_of

pytest.importorskip("sklearn", reason="the digits dataset needs scikit-learn (the lab extra)")


@pytest.mark.parametrize(
    ("first_layer", "multiplier"),
    [("standard", 1), ("separable", 2), ("separable_fixed_pointwise", 1), ("depthwise", 4)],
)
def test_the_first_layers_backward_trace_is_the_training_gradient(first_layer, multiplier):
    config = LabConfig(first_layer=first_layer, channel_multiplier=multiplier, seed=3)
    digits = load_digits()
    step = first_step(config, digits, example=5)
    trace = build_backward_trace(step["op"], step["arguments"], step["out_backprop"])
    architecture = architecture_of(config, digits)
    params, _ = network.initialise(architecture, np.random.default_rng([3, 0]), dtype=np.float64)
    image = digits.train_images[5:6].astype(np.float64)
    cache = network.forward(first_layer, params, image)
    grads = network.backward(first_layer, params, cache, digits.train_labels[5:6])
    name = "kernel" if first_layer == "standard" else "depthwise_kernel"
    np.testing.assert_allclose(
        trace.result("filter_gradient").reshape(grads[name].shape), grads[name], atol=1e-12)
    if first_layer.startswith("separable"):
        np.testing.assert_allclose(
            trace.result("pointwise_gradient"), grads["pointwise_kernel"][0, 0], atol=1e-12)
    assert step["label"] == int(digits.train_labels[5]) and step["loss"] > 0
    with pytest.raises(ValueError, match="example must be in 0..1437"):
        first_step(config, digits, example=5000)
