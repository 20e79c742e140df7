"""One training step of a lab network, seen from its first layer: what the backward trace
explains (``app.engine.backward``).

The network is initialised from the run's seed, one training image goes forward, the loss's
gradient comes back through softmax, dense, max-pool and ReLU; ``out_backprop`` is then
dL/d(first layer's output), and the first layer is the engine op (TF's names) whose
backward pass the trace steps through. The bias gradient is ``out_backprop`` summed.
"""

from __future__ import annotations

import numpy as np

from app.lab import network
from app.lab.config import LabConfig, LabLimits, check
from app.lab.datasets import Dataset
from app.lab.training import architecture_of


def first_step(config: LabConfig, dataset: Dataset, example: int = 0,
               limits: LabLimits | None = None) -> dict:
    """``{"op", "arguments", "out_backprop", "label", "loss"}`` for training image ``example``.

    arguments : the first layer's op arguments (input (1, H, W, C), its filters at
    initialisation, strides 1, SAME); out_backprop : (1, H, W, F) float64.
    """
    check(config, limits or LabLimits())
    if not 0 <= example < len(dataset.train_labels):
        raise ValueError(
            f"example must be in 0..{len(dataset.train_labels) - 1}, got {example}"
        )
    architecture = architecture_of(config, dataset)
    params, _ = network.initialise(
        architecture, np.random.default_rng([config.seed, 0]), config.depthwise_fan_in,
        dtype=np.float64,
    )
    image = dataset.train_images[example : example + 1].astype(np.float64)  # (1, H, W, C)
    label = dataset.train_labels[example : example + 1]
    cache = network.forward(config.first_layer, params, image)
    _, out_backprop = network.head_backward(params, cache, label)
    loss, _ = network.loss_and_accuracy(cache.probabilities, label)
    common = {"input": image, "strides": 1, "padding": "SAME"}
    if config.first_layer == "standard":
        op, arguments = "conv2d", {**common, "filters": params["kernel"]}
    elif config.first_layer == "depthwise":
        op, arguments = "depthwise_conv2d", {**common, "filter": params["depthwise_kernel"]}
    else:
        op = "separable_conv2d"
        arguments = {**common, "depthwise_filter": params["depthwise_kernel"],
                     "pointwise_filter": params["pointwise_kernel"]}
    return {"op": op, "arguments": arguments, "out_backprop": out_backprop,
            "label": int(label[0]), "loss": loss}
