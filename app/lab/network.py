"""The lab's small CNN, forward and backward, built from the engine's ops and gradients.

    input (N, H, W, C)                               C = 1 for digits and MNIST
    -> first layer, 3x3 (kernel_size), stride 1, SAME, + bias     (N, H, W, F)
    -> ReLU
    [-> second layer (``second_layer="separable"``): depthwise k x k over the C2 = F
        channels, then pointwise 1x1 (C2 -> C2) + bias -> ReLU      (N, H, W, F)]
    -> 2x2 max-pool, stride 2                        (N, H/2, W/2, F)
    -> flatten -> dense (H/2 * W/2 * F -> 10) + bias -> softmax, mean cross-entropy

The first layer is one of (``filters`` = F, ``channel_multiplier`` = M):

- ``standard``: ``conv2d``, kernel (k, k, C, F);
- ``separable``: ``depthwise_conv2d`` (k, k, C, M) then a trainable pointwise (1, 1, C*M, F),
  one bias after the pointwise step (Keras ``SeparableConv2D``);
- ``separable_fixed_pointwise``: the same with the pointwise fixed at all ones, not trained;
- ``depthwise``: ``depthwise_conv2d`` alone, F = C*M outputs, a bias per output.

Initialisation (stated per layer, drawn from one seeded generator in this order):

- standard kernel: He normal, std ``sqrt(2 / fan_in)``, fan_in = k*k*C (a ReLU follows);
- depthwise kernel: fan_in = k*k (each output reads ONE input channel). In ``depthwise``
  a ReLU follows, so He normal ``sqrt(2 / (k*k))``; in a separable layer the pointwise comes
  first, so LeCun normal ``sqrt(1 / (k*k))``. ``depthwise_fan_in="kh_kw_c"`` uses k*k*C
  instead, the classic bug (a kernel C times too small in variance);
- pointwise kernel: He normal, fan_in = C*M; all ones when fixed;
- second layer (optional): its depthwise kernel (k, k, C2, 1) LeCun normal with fan_in
  = k*k, or k*k*C2 with ``"kh_kw_c"`` -- there C2 = F (8 by default), so the bug makes the
  kernel sqrt(C2) times too small (on the 1-channel digits the first layer's C is 1 and the
  two fan-ins coincide); its pointwise (1, 1, C2, C2) He normal, fan_in = C2; bias zeros;
- dense kernel: Glorot uniform, limit ``sqrt(6 / (fan_in + fan_out))`` (Keras' default);
- every bias: zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.engine import (
    conv2d,
    conv2d_backprop_filter,
    conv_costs,
    depthwise_conv2d,
    depthwise_conv2d_backprop_filter,
    depthwise_conv2d_backprop_input,
    equivalent_kernel,
)

FIRST_LAYERS = ("standard", "separable", "depthwise", "separable_fixed_pointwise")
DEPTHWISE_FAN_INS = ("kh_kw", "kh_kw_c")
SECOND_LAYERS = ("none", "separable")
CLASSES = 10


@dataclass(frozen=True)
class Architecture:
    """The shapes of one network: what the costs and the header describe."""

    first_layer: str
    input_shape: tuple[int, int, int]  # (H, W, C)
    kernel_size: int
    filters: int
    channel_multiplier: int
    second_layer: str = "none"

    @property
    def first_layer_outputs(self) -> int:
        channels = self.input_shape[2]
        if self.first_layer == "depthwise":
            return channels * self.channel_multiplier
        return self.filters

    @property
    def pooled_hw(self) -> tuple[int, int]:
        return (self.input_shape[0] // 2, self.input_shape[1] // 2)

    @property
    def dense_inputs(self) -> int:
        return self.pooled_hw[0] * self.pooled_hw[1] * self.first_layer_outputs

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        k, channels, multiplier = self.kernel_size, self.input_shape[2], self.channel_multiplier
        shapes: dict[str, tuple[int, ...]] = {}
        if self.first_layer == "standard":
            shapes["kernel"] = (k, k, channels, self.filters)
        else:
            shapes["depthwise_kernel"] = (k, k, channels, multiplier)
            if self.first_layer != "depthwise":
                shapes["pointwise_kernel"] = (1, 1, channels * multiplier, self.filters)
        shapes["bias"] = (self.first_layer_outputs,)
        if self.second_layer == "separable":
            c2 = self.first_layer_outputs
            shapes["depthwise_kernel_2"] = (k, k, c2, 1)
            shapes["pointwise_kernel_2"] = (1, 1, c2, c2)
            shapes["bias_2"] = (c2,)
        shapes["dense_kernel"] = (self.dense_inputs, CLASSES)
        shapes["dense_bias"] = (CLASSES,)
        return shapes

    def trainable(self) -> tuple[str, ...]:
        names = tuple(self.parameter_shapes())
        if self.first_layer == "separable_fixed_pointwise":
            return tuple(name for name in names if name != "pointwise_kernel")
        return names

    def costs(self) -> dict:
        """Parameters and multiply-adds per image: the first layer and the whole network."""
        height, width, channels = self.input_shape
        k = self.kernel_size
        layer = conv_costs(
            (height, width), channels, self.filters, (k, k), self.channel_multiplier
        )
        cost = {
            "standard": layer.standard, "separable": layer.separable,
            "separable_fixed_pointwise": layer.separable, "depthwise": layer.depthwise,
        }[self.first_layer]
        first_params = cost.weights + cost.biases
        trainable_first = first_params
        if self.first_layer == "separable_fixed_pointwise":
            trainable_first -= layer.pointwise.weights
        dense_params = self.dense_inputs * CLASSES + CLASSES
        second_params = second_macs = 0
        if self.second_layer == "separable":
            c2 = self.first_layer_outputs
            second = conv_costs((height, width), c2, c2, (k, k), 1).separable
            second_params, second_macs = second.weights + second.biases, second.macs
        return {
            "first_layer_params": first_params,
            "first_layer_trainable_params": trainable_first,
            "first_layer_macs": cost.macs,
            "params": first_params + second_params + dense_params,
            "trainable_params": trainable_first + second_params + dense_params,
            "macs": cost.macs + second_macs + self.dense_inputs * CLASSES,
        }

    def describe(self) -> list[str]:
        """The layers in words, for the run's header."""
        height, width, channels = self.input_shape
        k, outputs = self.kernel_size, self.first_layer_outputs
        first = {
            "standard": f"conv2d {k}x{k}, {channels} -> {self.filters} channels",
            "separable": (
                f"depthwise {k}x{k} x{self.channel_multiplier} then pointwise 1x1 "
                f"{channels * self.channel_multiplier} -> {self.filters}"
            ),
            "separable_fixed_pointwise": (
                f"depthwise {k}x{k} x{self.channel_multiplier} then pointwise 1x1 "
                f"{channels * self.channel_multiplier} -> {self.filters} fixed at all ones"
            ),
            "depthwise": f"depthwise {k}x{k} x{self.channel_multiplier}, {outputs} channels",
        }[self.first_layer]
        ph, pw = self.pooled_hw
        second = []
        if self.second_layer == "separable":
            second = [
                "ReLU",
                f"depthwise {k}x{k} x1 then pointwise 1x1 {outputs} -> {outputs}, stride 1, "
                f"SAME, + bias -> {height}x{width}x{outputs}",
            ]
        return [
            f"input {height}x{width}x{channels}",
            f"{first}, stride 1, SAME, + bias -> {height}x{width}x{outputs}",
            *second,
            f"ReLU -> 2x2 max-pool, stride 2 -> {ph}x{pw}x{outputs}",
            f"dense {self.dense_inputs} -> {CLASSES} + bias -> softmax (cross-entropy)",
        ]


def initialise(
    architecture: Architecture, rng: np.random.Generator, depthwise_fan_in: str = "kh_kw",
    dtype: type = np.float32,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Seeded parameters and one sentence per parameter saying how it was drawn."""
    shapes = architecture.parameter_shapes()
    k, channels = architecture.kernel_size, architecture.input_shape[2]
    params: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for name, shape in shapes.items():
        if name == "kernel":
            fan_in = k * k * channels
            params[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
            notes.append(f"kernel {list(shape)}: He normal, fan_in = k*k*C = {fan_in}")
        elif name == "depthwise_kernel":
            fan_in = k * k * (channels if depthwise_fan_in == "kh_kw_c" else 1)
            relu_next = architecture.first_layer == "depthwise"
            gain = 2.0 if relu_next else 1.0
            params[name] = rng.normal(0.0, np.sqrt(gain / fan_in), shape)
            rule = "k*k*C (the classic bug)" if depthwise_fan_in == "kh_kw_c" else "k*k"
            notes.append(
                f"depthwise_kernel {list(shape)}: {'He' if relu_next else 'LeCun'} normal, "
                f"fan_in = {rule} = {fan_in}"
            )
        elif name == "depthwise_kernel_2":
            c2 = shape[2]
            fan_in = k * k * (c2 if depthwise_fan_in == "kh_kw_c" else 1)
            params[name] = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
            rule = "k*k*C (the classic bug)" if depthwise_fan_in == "kh_kw_c" else "k*k"
            notes.append(f"{name} {list(shape)}: LeCun normal, fan_in = {rule} = {fan_in}")
        elif name == "pointwise_kernel_2":
            fan_in = shape[2]
            params[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
            notes.append(f"{name} {list(shape)}: He normal, fan_in = C = {fan_in}")
        elif name == "pointwise_kernel":
            if architecture.first_layer == "separable_fixed_pointwise":
                params[name] = np.ones(shape)
                notes.append(f"pointwise_kernel {list(shape)}: all ones, not trained")
            else:
                fan_in = shape[2]
                params[name] = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
                notes.append(f"pointwise_kernel {list(shape)}: He normal, fan_in = C*M = {fan_in}")
        elif name == "dense_kernel":
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            params[name] = rng.uniform(-limit, limit, shape)
            notes.append(f"dense_kernel {list(shape)}: Glorot uniform, limit {limit:.4f}")
        else:
            params[name] = np.zeros(shape)
            notes.append(f"{name} {list(shape)}: zeros")
    return {name: value.astype(dtype) for name, value in params.items()}, notes


def _first_layer(
    first_layer: str, params: dict[str, np.ndarray], x: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """x : (N, H, W, C). Returns (pre-activation (N, H, W, F), depthwise output or None)."""
    if first_layer == "standard":
        return conv2d(x, params["kernel"], 1, "SAME") + params["bias"], None
    depthwise = depthwise_conv2d(x, params["depthwise_kernel"], 1, "SAME")  # (N, H, W, C*M)
    if first_layer == "depthwise":
        return depthwise + params["bias"], None
    n, h, w, depth = depthwise.shape
    pointwise = params["pointwise_kernel"][0, 0]  # (C*M, F)
    out = (depthwise.reshape(n * h * w, depth) @ pointwise).reshape(n, h, w, -1)
    return out + params["bias"], depthwise


def max_pool(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool, stride 2 (an odd last row/column is dropped, like VALID).

    a : (N, H, W, F). Returns (pooled (N, H/2, W/2, F), argmax (N, H/2, W/2, F) in 0..3).
    """
    n, h, w, f = a.shape
    h2, w2 = h // 2, w // 2
    blocks = (
        a[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2, f).transpose(0, 1, 3, 5, 2, 4)
        .reshape(n, h2, w2, f, 4)
    )  # (N, H/2, W/2, F, 4): the window in row-major order
    argmax = blocks.argmax(axis=-1)
    return np.take_along_axis(blocks, argmax[..., None], axis=-1)[..., 0], argmax


def max_pool_backward(
    grad: np.ndarray, argmax: np.ndarray, input_hw: tuple[int, int]
) -> np.ndarray:
    """grad : (N, H/2, W/2, F). Returns (N, H, W, F): each gradient to its window's maximum."""
    n, h2, w2, f = grad.shape
    blocks = np.zeros((n, h2, w2, f, 4), dtype=grad.dtype)
    np.put_along_axis(blocks, argmax[..., None], grad[..., None], axis=-1)
    spread = blocks.reshape(n, h2, w2, f, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(
        n, 2 * h2, 2 * w2, f
    )
    height, width = input_hw
    if (2 * h2, 2 * w2) == (height, width):
        return spread
    full = np.zeros((n, height, width, f), dtype=grad.dtype)
    full[:, : 2 * h2, : 2 * w2] = spread
    return full


@dataclass
class Forward:
    """What the backward pass needs from the forward pass."""

    x: np.ndarray
    depthwise: np.ndarray | None
    pre_activation: np.ndarray
    argmax: np.ndarray
    flat: np.ndarray
    probabilities: np.ndarray
    # The second layer's (when there is one): its input, depthwise output, pre-activation.
    second_input: np.ndarray | None = None
    second_depthwise: np.ndarray | None = None
    second_pre_activation: np.ndarray | None = None


def _second_layer(params: dict[str, np.ndarray], a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a : (N, H, W, C2), the first layer after ReLU. Returns (pre-activation (N, H, W, C2),
    depthwise output (N, H, W, C2))."""
    depthwise = depthwise_conv2d(a, params["depthwise_kernel_2"], 1, "SAME")
    n, h, w, depth = depthwise.shape
    out = (depthwise.reshape(n * h * w, depth) @ params["pointwise_kernel_2"][0, 0])
    return out.reshape(n, h, w, -1) + params["bias_2"], depthwise


def forward(first_layer: str, params: dict[str, np.ndarray], x: np.ndarray) -> Forward:
    """x : (N, H, W, C). The softmax probabilities (N, 10) and the intermediates (with a
    second layer when ``params`` holds ``depthwise_kernel_2``)."""
    pre, depthwise = _first_layer(first_layer, params, x)
    activation = np.maximum(pre, 0)
    second: tuple = (None, None, None)
    if "depthwise_kernel_2" in params:
        pre2, depthwise2 = _second_layer(params, activation)
        second = (activation, depthwise2, pre2)
        activation = np.maximum(pre2, 0)
    pooled, argmax = max_pool(activation)
    flat = pooled.reshape(pooled.shape[0], -1)  # (N, H/2*W/2*F)
    logits = flat @ params["dense_kernel"] + params["dense_bias"]  # (N, 10)
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return Forward(
        x, depthwise, pre, argmax, flat, exp / exp.sum(axis=1, keepdims=True), *second
    )


def loss_and_accuracy(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of a batch (probabilities clipped at 1e-12 in the log)."""
    picked = probabilities[np.arange(len(labels)), labels]
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean())
    return loss, float((probabilities.argmax(axis=1) == labels).mean())


def head_backward(
    params: dict[str, np.ndarray], cache: Forward, labels: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Softmax, dense, max-pool, ReLU (and the second layer) backwards: the dense (and
    second layer's) gradients, and dL/d(first layer's pre-activation) (N, H, W, F), the
    ``out_backprop`` of the first layer."""
    n = len(labels)
    dlogits = cache.probabilities.copy()
    dlogits[np.arange(n), labels] -= 1
    dlogits /= n  # (N, 10)
    grads = {
        "dense_kernel": cache.flat.T @ dlogits,
        "dense_bias": dlogits.sum(axis=0),
    }
    pre = cache.pre_activation
    dpooled = (dlogits @ params["dense_kernel"].T).reshape(
        n, pre.shape[1] // 2, pre.shape[2] // 2, pre.shape[3]
    )
    if cache.second_pre_activation is None:
        dpre = max_pool_backward(dpooled, cache.argmax, pre.shape[1:3]) * (pre > 0)
        return grads, dpre  # (N, H, W, F)
    pre2, depthwise2, a = cache.second_pre_activation, cache.second_depthwise, cache.second_input
    assert depthwise2 is not None and a is not None
    dpre2 = max_pool_backward(dpooled, cache.argmax, pre2.shape[1:3]) * (pre2 > 0)
    _, h, w, depth = depthwise2.shape
    dflat = dpre2.reshape(n * h * w, -1)
    grads["bias_2"] = dflat.sum(axis=0)
    grads["pointwise_kernel_2"] = (depthwise2.reshape(n * h * w, depth).T @ dflat)[None, None]
    ddepthwise2 = (dflat @ params["pointwise_kernel_2"][0, 0].T).reshape(n, h, w, depth)
    kernel2 = params["depthwise_kernel_2"]
    grads["depthwise_kernel_2"] = depthwise_conv2d_backprop_filter(
        a, kernel2.shape, ddepthwise2, 1, "SAME"
    )
    da = depthwise_conv2d_backprop_input(a.shape, kernel2, ddepthwise2, 1, "SAME")
    return grads, da * (pre > 0)


def backward(
    first_layer: str, params: dict[str, np.ndarray], cache: Forward, labels: np.ndarray
) -> dict[str, np.ndarray]:
    """Gradients of the mean cross-entropy with respect to every parameter."""
    n = len(labels)
    grads, dpre = head_backward(params, cache, labels)
    grads["bias"] = dpre.sum(axis=(0, 1, 2))
    if first_layer == "standard":
        grads["kernel"] = conv2d_backprop_filter(
            cache.x, params["kernel"].shape, dpre, 1, "SAME"
        )
        return grads
    if first_layer == "depthwise":
        ddepthwise = dpre
    else:
        assert cache.depthwise is not None
        _, h, w, depth = cache.depthwise.shape
        pointwise = params["pointwise_kernel"][0, 0]  # (C*M, F)
        dflat = dpre.reshape(n * h * w, -1)
        # Σ over positions of the outer product depthwise value × output gradient.
        grads["pointwise_kernel"] = (
            cache.depthwise.reshape(n * h * w, depth).T @ dflat
        )[None, None]
        ddepthwise = (dflat @ pointwise.T).reshape(n, h, w, depth)
    grads["depthwise_kernel"] = depthwise_conv2d_backprop_filter(
        cache.x, params["depthwise_kernel"].shape, ddepthwise, 1, "SAME"
    )
    return grads


def first_layer_filters(first_layer: str, params: dict[str, np.ndarray]) -> np.ndarray:
    """Each output channel's equivalent k×k kernel on input channel 0: (F, k, k).

    (Depthwise: output ``q*M + r``'s kernel, on its own input channel ``q``.)

    Separable: ``equivalent_kernel(depthwise, pointwise)``, so with M = 1 every output
    filter is the one spatial filter times a pointwise weight.
    """
    if first_layer == "standard":
        kernel = params["kernel"]
    elif first_layer == "depthwise":
        kh, kw, channels, multiplier = params["depthwise_kernel"].shape
        kernel = params["depthwise_kernel"].reshape(kh, kw, 1, channels * multiplier)
    else:
        kernel = equivalent_kernel(params["depthwise_kernel"], params["pointwise_kernel"])
    return np.ascontiguousarray(kernel[:, :, 0, :].transpose(2, 0, 1))
