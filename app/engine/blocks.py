"""Blocks: the chains of stages depthwise convolution lives in, stage by stage.

A block is a tuple of stages run in order on an NHWC map (Keras' layout). Each
stage is one of:

=============  ==============================================  =========================
kind           what it computes                                weights (TF layout)
=============  ==============================================  =========================
conv           ``tf.nn.conv2d`` + optional bias                kernel (kh, kw, C, O)
depthwise      ``tf.nn.depthwise_conv2d`` + optional bias      kernel (kh, kw, C, M)
pointwise      1x1 stride-1 conv + optional bias               kernel (1, 1, C, O)
batch_norm     per-channel ``scale * x + shift`` (inference)   gamma, beta, mean, variance
activation     ``relu``, ``relu6`` or ``linear``               none
add            ``x + output of an earlier stage`` (residual)   none
=============  ==============================================  =========================

BatchNorm at inference is the per-channel affine map
``scale = gamma / sqrt(variance + epsilon)``, ``shift = beta - mean * scale``;
``fold_batch_norm`` merges it into the convolution before it
(``kernel * scale`` per output channel, ``bias' = (bias - mean) * scale + beta``).

``run_block`` returns every intermediate map; ``block_costs`` gives per stage the
weights, multiply-adds (MACs, from ``conv_costs``: one formula, one place),
activation memory and arithmetic intensity (MACs per byte moved: input + output
+ parameters, each read or written once), and the standard convolution the block
replaces. BatchNorm counts one MAC per element (its scale and shift), an
activation or an add none.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from app.engine.arguments import float_array, positive_int, torch_pair
from app.engine.costs import conv_costs
from app.engine.ops import conv2d, depthwise_conv2d, finite_result, torch_conv2d

ActivationName = Literal["relu", "relu6", "linear"]
ACTIVATIONS: tuple[str, ...] = ("relu", "relu6", "linear")
BLOCK_KINDS: tuple[str, ...] = (
    "mobilenet_v1", "inverted_residual", "xception", "keras_depthwise", "keras_separable",
)

Shape = tuple[int, int, int, int]


def apply_activation(x: np.ndarray, name: str | None) -> np.ndarray:
    """Keras' ``activation=``: relu max(x, 0), relu6 min(max(x, 0), 6), linear (or None) x."""
    if name is None or name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu6":
        return np.clip(x, 0, 6)
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


def batch_norm_scale_shift(
    gamma: Any, beta: Any, moving_mean: Any, moving_variance: Any, epsilon: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm as ``scale * x + shift``; every argument shape (C,).

    Keras' default ``epsilon`` is 1e-3, PyTorch's ``eps`` 1e-5.
    """
    g = float_array(gamma, "gamma", 1)
    b = float_array(beta, "beta", 1, g.dtype)
    mean = float_array(moving_mean, "moving_mean", 1, g.dtype)
    variance = float_array(moving_variance, "moving_variance", 1, g.dtype)
    if not (g.shape == b.shape == mean.shape == variance.shape):
        raise ValueError(
            "gamma, beta, moving_mean and moving_variance must have one value per channel, got "
            f"shapes {list(g.shape)}, {list(b.shape)}, {list(mean.shape)}, {list(variance.shape)}"
        )
    if (variance < 0).any() or epsilon <= 0:
        raise ValueError("moving_variance must be >= 0 and epsilon > 0")
    scale = g / np.sqrt(variance + g.dtype.type(epsilon))
    return scale, b - mean * scale


# ---------------------------------------------------------------- stages


@dataclass(frozen=True, eq=False)
class ConvStage:
    """A standard, depthwise or pointwise convolution with an optional bias.

    kernel : (kh, kw, C, O) for ``conv`` and ``pointwise`` (kh = kw = 1), (kh, kw, C, M)
    for ``depthwise`` (output channel ``q*M + r``); bias : (O,) or (C*M,), or None.
    padding : "SAME" or "VALID" (Keras' lower case accepted).
    """

    name: str
    kind: Literal["conv", "depthwise", "pointwise"]
    kernel: np.ndarray
    bias: np.ndarray | None = None
    strides: tuple[int, int] = (1, 1)
    padding: str = "SAME"
    dilations: tuple[int, int] = (1, 1)

    @property
    def out_channels(self) -> int:
        kh, kw, c, last = self.kernel.shape
        return c * last if self.kind == "depthwise" else last

    def apply(self, x: np.ndarray) -> np.ndarray:
        """x : (N, H, W, C). Returns (N, Ho, Wo, out_channels)."""
        kernel = self.kernel.astype(x.dtype, copy=False)
        if self.kind == "depthwise":
            out = depthwise_conv2d(x, kernel, self.strides, self.padding, "NHWC", self.dilations)
        else:
            out = conv2d(x, kernel, self.strides, self.padding, "NHWC", self.dilations)
        if self.bias is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                out = finite_result(out + self.bias.astype(x.dtype, copy=False))
        return out

    def _costs(self, shape: Shape) -> Any:
        kh, kw, c, last = self.kernel.shape
        multiplier = last if self.kind == "depthwise" else 1
        return conv_costs(
            (shape[1], shape[2]), c, self.out_channels, (kh, kw), multiplier, 1,
            self.strides, self.padding.upper(), self.dilations, shape[0],
        )

    def output_shape(self, shape: Shape) -> Shape:
        kh, kw, c, _ = self.kernel.shape
        if shape[3] != c:
            raise ValueError(
                f"stage {self.name}: its kernel has in_channels={c} but the map reaching it has "
                f"{shape[3]} channels"
            )
        height, width = self._costs(shape).output_hw
        return (shape[0], height, width, self.out_channels)

    def parameters(self) -> tuple[int, int]:
        """(weights, biases)."""
        return int(self.kernel.size), 0 if self.bias is None else int(self.bias.size)

    def macs(self, shape: Shape) -> int:
        costs = self._costs(shape)
        row = {"conv": costs.standard, "depthwise": costs.depthwise,
               "pointwise": costs.standard}[self.kind]
        return row.macs


@dataclass(frozen=True, eq=False)
class BatchNormStage:
    """Inference BatchNorm: ``scale * x + shift`` per channel; arrays of shape (C,)."""

    name: str
    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray
    epsilon: float = 1e-3
    kind: Literal["batch_norm"] = "batch_norm"

    def scale_shift(self) -> tuple[np.ndarray, np.ndarray]:
        return batch_norm_scale_shift(
            self.gamma, self.beta, self.moving_mean, self.moving_variance, self.epsilon
        )

    def apply(self, x: np.ndarray) -> np.ndarray:
        scale, shift = self.scale_shift()
        return x * scale.astype(x.dtype) + shift.astype(x.dtype)  # (N, H, W, C)

    def output_shape(self, shape: Shape) -> Shape:
        if shape[3] != self.gamma.size:
            raise ValueError(
                f"stage {self.name}: BatchNorm has {self.gamma.size} channels but the map "
                f"reaching it has {shape[3]}"
            )
        return shape

    def macs(self, shape: Shape) -> int:
        return math.prod(shape)


@dataclass(frozen=True, eq=False)
class ActivationStage:
    name: str
    function: str = "relu"
    kind: Literal["activation"] = "activation"

    def apply(self, x: np.ndarray) -> np.ndarray:
        return apply_activation(x, self.function)

    def output_shape(self, shape: Shape) -> Shape:
        apply_activation(np.zeros(1), self.function)  # an unknown name fails here, before any run
        return shape

    def macs(self, shape: Shape) -> int:
        return 0


@dataclass(frozen=True, eq=False)
class AddStage:
    """The residual: this stage's input plus the output of ``source`` ("input" = the block's)."""

    name: str
    source: str = "input"
    kind: Literal["add"] = "add"

    def output_shape(self, shape: Shape) -> Shape:
        return shape

    def macs(self, shape: Shape) -> int:
        return 0


Stage = ConvStage | BatchNormStage | ActivationStage | AddStage


@dataclass(frozen=True, eq=False)
class Block:
    """A named chain of stages; ``replaces_kernel_hw`` is the kernel of the standard conv
    it stands for (in ``block_costs``)."""

    name: str
    stages: tuple[Stage, ...]
    replaces_kernel_hw: tuple[int, int] = (3, 3)

    def stage_names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def describe(self) -> list[dict[str, Any]]:
        """Each stage's name, kind and arguments (no arrays): what a page lists."""
        described = []
        for stage in self.stages:
            entry: dict[str, Any] = {"name": stage.name, "kind": stage.kind}
            if isinstance(stage, ConvStage):
                entry.update(kernel_shape=list(stage.kernel.shape), use_bias=stage.bias is not None,
                             strides=list(stage.strides), padding=stage.padding.upper(),
                             dilations=list(stage.dilations))
            elif isinstance(stage, BatchNormStage):
                entry.update(channels=int(stage.gamma.size), epsilon=stage.epsilon)
            elif isinstance(stage, ActivationStage):
                entry.update(function=stage.function)
            else:
                entry.update(source=stage.source)
            described.append(entry)
        return described


def _shapes(block: Block, input_shape: Sequence[int]) -> list[Shape]:
    """Shape of the map entering each stage, then of the block's output."""
    shape = tuple(int(size) for size in input_shape)
    if len(shape) != 4:
        raise ValueError(f"input must be 4-D (N, H, W, C), got shape {list(shape)}")
    seen: dict[str, Shape] = {"input": shape}  # type: ignore[dict-item]
    shapes: list[Shape] = [shape]  # type: ignore[list-item]
    for stage in block.stages:
        current = shapes[-1]
        if isinstance(stage, AddStage):
            if stage.source not in seen:
                raise ValueError(f"stage {stage.name}: adds {stage.source!r}, not an earlier stage")
            if seen[stage.source] != current:
                raise ValueError(
                    f"stage {stage.name}: cannot add {stage.source} of shape "
                    f"{list(seen[stage.source])} to a map of shape {list(current)}"
                )
        following = stage.output_shape(current)
        seen[stage.name] = following
        shapes.append(following)
    return shapes


def block_shapes(block: Block, input_shape: Sequence[int]) -> list[Shape]:
    """Validate the chain from shapes alone: input shape, then each stage's output shape.

    Raises ``ValueError`` naming the stage that does not fit.
    """
    return _shapes(block, input_shape)


@dataclass(frozen=True, eq=False)
class StageOutput:
    """One intermediate map: ``output`` (N, Ho, Wo, C) after stage ``name``."""

    name: str
    kind: str
    output: np.ndarray


def run_block(block: Block, input: Any) -> list[StageOutput]:
    """Run every stage in order on ``input`` (N, H, W, C); returns every stage's output."""
    x = float_array(input, "input", 4)
    _shapes(block, x.shape)
    outputs: dict[str, np.ndarray] = {"input": x}
    results: list[StageOutput] = []
    for stage in block.stages:
        if isinstance(stage, AddStage):
            x = x + outputs[stage.source]
        else:
            x = stage.apply(x)
        outputs[stage.name] = x
        results.append(StageOutput(stage.name, stage.kind, x))
    return results


def stage_steps(block: Block, input: Any, stage: str, channel: int = 0) -> dict[str, Any]:
    """The teaching steps of one output channel of a convolution stage, from ``build_trace``.

    input : (N, H, W, C), the block's input; batch element 0 is traced. For every output
    position ``(i, j)`` (row-major, P = Ho*Wo of them): ``window`` (P, Cg, kh, kw) of the
    stage's input under the kernel (``padding_mask`` (P, kh, kw) marks padding cells),
    ``weights`` (Cg, kh, kw), ``products`` (P, Cg, kh, kw), ``sum`` (P,), the stage's
    ``bias`` and ``output`` (P,), the stage's map at that position. ``input_channels``
    are the Cg channels one output reads (one for depthwise).
    """
    from app.engine.trace import build_trace

    names = block.stage_names()
    if stage not in names:
        raise ValueError(f"stage must be one of the block's stages ({', '.join(names)}), "
                         f"got {stage!r}")
    index = names.index(stage)
    conv = block.stages[index]
    if not isinstance(conv, ConvStage):
        raise ValueError(f"stage {stage} is a {conv.kind} stage; only convolution stages "
                         "have steps")
    if isinstance(channel, bool) or not isinstance(channel, numbers.Integral) or not (
            0 <= channel < conv.out_channels):
        raise ValueError(f"channel must be 0 to {conv.out_channels - 1}, got {channel!r}")
    channel = int(channel)
    outputs = run_block(block, input)
    x = float_array(input, "input", 4)
    stage_input = x if index == 0 else outputs[index - 1].output  # (N, H, W, C)
    kernel = conv.kernel.astype(stage_input.dtype, copy=False)
    name = "filter" if conv.kind == "depthwise" else "filters"
    trace = build_trace("depthwise_conv2d" if conv.kind == "depthwise" else "conv2d", {
        "input": stage_input[:1], name: kernel, "strides": list(conv.strides),
        "padding": conv.padding.upper(), "data_format": "NHWC",
        "dilations": list(conv.dilations)})
    result = outputs[index].output[0, :, :, channel]  # (Ho, Wo), bias included
    ho, wo = result.shape
    kh, kw, c, last = conv.kernel.shape
    group_in = 1 if conv.kind == "depthwise" else c
    rows = [trace.step(channel * ho * wo + pixel) for pixel in range(ho * wo)]

    def stacked(key: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.stack([np.asarray(row[key]).reshape(shape) for row in rows])

    return {
        "stage": stage, "kind": conv.kind, "channel": channel, "steps": ho * wo,
        "output_hw": [ho, wo],
        "input_channels": [channel // last] if conv.kind == "depthwise" else list(range(c)),
        "i": [int(row["i"]) for row in rows], "j": [int(row["j"]) for row in rows],
        "padding_mask": stacked("padding_mask", (kh, kw)).astype(bool).tolist(),
        "window": stacked("window", (group_in, kh, kw)),
        "weights": np.asarray(rows[0]["weights"]).reshape(group_in, kh, kw),
        "products": stacked("products", (group_in, kh, kw)),
        "sum": stacked("sum", ()).astype(np.float64),
        "bias": 0.0 if conv.bias is None else float(conv.bias[channel]),
        "output": result.reshape(-1).astype(np.float64),
    }


# ---------------------------------------------------------------- costs


@dataclass(frozen=True)
class StageCost:
    """Work and memory of one stage (bytes at the block's dtype)."""

    name: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    weights: int
    biases: int
    macs: int
    activation_bytes: int
    bytes_moved: int

    @property
    def arithmetic_intensity(self) -> float:
        """MACs per byte moved (input + output + parameters, once each)."""
        return self.macs / self.bytes_moved if self.bytes_moved else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape), "weights": self.weights,
            "biases": self.biases, "macs": self.macs, "activation_bytes": self.activation_bytes,
            "bytes_moved": self.bytes_moved,
            "arithmetic_intensity": self.arithmetic_intensity,
        }


@dataclass(frozen=True)
class BlockCost:
    """Per-stage costs, their totals, and the standard convolution the block replaces.

    ``standard`` is a ``kh x kw`` conv from the block's input channels to its
    output channels with the block's total stride, SAME padding;
    ``to_standard_macs``/``to_standard_weights`` are the block's fractions of it.
    """

    stages: tuple[StageCost, ...]
    weights: int
    biases: int
    macs: int
    activation_bytes: int
    bytes_moved: int
    standard_weights: int
    standard_macs: int

    @property
    def arithmetic_intensity(self) -> float:
        return self.macs / self.bytes_moved if self.bytes_moved else 0.0

    @property
    def to_standard_macs(self) -> float:
        return self.macs / self.standard_macs if self.standard_macs else 0.0

    @property
    def to_standard_weights(self) -> float:
        return self.weights / self.standard_weights if self.standard_weights else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "stages": [stage.as_dict() for stage in self.stages],
            "weights": self.weights, "biases": self.biases, "macs": self.macs,
            "activation_bytes": self.activation_bytes, "bytes_moved": self.bytes_moved,
            "arithmetic_intensity": self.arithmetic_intensity,
            "standard": {"weights": self.standard_weights, "macs": self.standard_macs},
            "to_standard_macs": self.to_standard_macs,
            "to_standard_weights": self.to_standard_weights,
        }


def _stage_parameters(stage: Stage) -> tuple[int, int]:
    if isinstance(stage, ConvStage):
        return stage.parameters()
    if isinstance(stage, BatchNormStage):
        return 0, 2 * int(stage.gamma.size)  # the scale and the shift it applies
    return 0, 0


def block_costs(block: Block, input_shape: Sequence[int], itemsize: int = 4) -> BlockCost:
    """Costs from shapes alone (no arrays run); ``itemsize`` 4 for float32, 8 for float64."""
    shapes = _shapes(block, input_shape)
    stages = []
    for stage, before, after in zip(block.stages, shapes, shapes[1:], strict=False):
        weights, biases = _stage_parameters(stage)
        macs = stage.macs(before)
        inputs = math.prod(before) * (2 if isinstance(stage, AddStage) else 1)
        moved = (inputs + math.prod(after) + weights + biases) * itemsize
        stages.append(StageCost(stage.name, stage.kind, before, after, weights, biases, macs,
                                math.prod(after) * itemsize, moved))
    first, last = shapes[0], shapes[-1]
    stride = (
        math.prod(s.strides[0] for s in block.stages if isinstance(s, ConvStage)),
        math.prod(s.strides[1] for s in block.stages if isinstance(s, ConvStage)),
    )
    standard = conv_costs((first[1], first[2]), first[3], last[3], block.replaces_kernel_hw,
                          strides=stride, padding="SAME", batch=first[0]).standard
    return BlockCost(
        tuple(stages), sum(s.weights for s in stages), sum(s.biases for s in stages),
        sum(s.macs for s in stages), sum(s.activation_bytes for s in stages),
        sum(s.bytes_moved for s in stages), standard.weights, standard.macs,
    )


# ---------------------------------------------------------------- folding


def fold_batch_norm(block: Block) -> Block:
    """Every convolution followed by a BatchNorm becomes one convolution with a bias.

    ``kernel' = kernel * scale`` per output channel (``q*M + r`` for depthwise),
    ``bias' = (bias - mean) * scale + beta``; the BatchNorm stage disappears and the
    folded stage keeps the convolution's name. Outputs are equal up to rounding.
    """
    folded: list[Stage] = []
    stages = list(block.stages)
    index = 0
    while index < len(stages):
        stage = stages[index]
        following = stages[index + 1] if index + 1 < len(stages) else None
        if isinstance(stage, ConvStage) and isinstance(following, BatchNormStage):
            scale, shift = following.scale_shift()
            kh, kw, c, last = stage.kernel.shape
            per_channel = scale.reshape(c, last) if stage.kind == "depthwise" else scale
            bias = np.zeros_like(scale) if stage.bias is None else stage.bias
            folded.append(replace(stage, kernel=stage.kernel * per_channel,
                                  bias=bias * scale + shift))
            index += 2
            continue
        folded.append(stage)
        index += 1
    return replace(block, name=block.name, stages=tuple(folded))


# ---------------------------------------------------------------- layers


def _pair(value: Any, name: str) -> tuple[int, int]:
    return torch_pair(value, name, 1)


def _keras_padding(padding: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return padding.upper()


def keras_depthwise_block(
    depthwise_kernel: Any, bias: Any = None, strides: Any = 1, padding: str = "valid",
    dilation_rate: Any = 1, activation: str | None = None,
) -> Block:
    """Keras ``DepthwiseConv2D``: depthwise (kernel (kh, kw, C, depth_multiplier)) + bias,
    then the activation."""
    kernel = float_array(depthwise_kernel, "depthwise_kernel", 4)
    b = None if bias is None else float_array(bias, "bias", 1, kernel.dtype)
    return Block("keras_depthwise", (
        ConvStage("depthwise", "depthwise", kernel, b, _pair(strides, "strides"),
                  _keras_padding(padding), _pair(dilation_rate, "dilation_rate")),
        ActivationStage("activation", activation or "linear"),
    ), tuple(kernel.shape[:2]))  # type: ignore[arg-type]


def keras_separable_block(
    depthwise_kernel: Any, pointwise_kernel: Any, bias: Any = None, strides: Any = 1,
    padding: str = "valid", dilation_rate: Any = 1, activation: str | None = None,
) -> Block:
    """Keras ``SeparableConv2D``: depthwise (no bias), pointwise (1, 1, C*M, filters), one bias
    after the pointwise step, then the activation."""
    dw = float_array(depthwise_kernel, "depthwise_kernel", 4)
    pw = float_array(pointwise_kernel, "pointwise_kernel", 4, dw.dtype)
    b = None if bias is None else float_array(bias, "bias", 1, dw.dtype)
    return Block("keras_separable", (
        ConvStage("depthwise", "depthwise", dw, None, _pair(strides, "strides"),
                  _keras_padding(padding), _pair(dilation_rate, "dilation_rate")),
        ConvStage("pointwise", "pointwise", pw, b, (1, 1), "VALID"),
        ActivationStage("activation", activation or "linear"),
    ), tuple(dw.shape[:2]))  # type: ignore[arg-type]


def keras_depthwise_conv2d(inputs: Any, depthwise_kernel: Any, bias: Any = None,
                           strides: Any = 1, padding: str = "valid", dilation_rate: Any = 1,
                           activation: str | None = None) -> np.ndarray:
    """Keras ``DepthwiseConv2D`` called on ``inputs`` (N, H, W, C) with its weights.

    Returns (N, Ho, Wo, C*depth_multiplier).
    """
    block = keras_depthwise_block(depthwise_kernel, bias, strides, padding, dilation_rate,
                                  activation)
    return run_block(block, inputs)[-1].output


def keras_separable_conv2d(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any,
                           bias: Any = None, strides: Any = 1, padding: str = "valid",
                           dilation_rate: Any = 1, activation: str | None = None) -> np.ndarray:
    """Keras ``SeparableConv2D`` called on ``inputs`` (N, H, W, C). Returns (N, Ho, Wo, filters)."""
    block = keras_separable_block(depthwise_kernel, pointwise_kernel, bias, strides, padding,
                                  dilation_rate, activation)
    return run_block(block, inputs)[-1].output


def torch_separable_pair(
    input: Any, depthwise_weight: Any, pointwise_weight: Any, depthwise_bias: Any = None,
    pointwise_bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's pair ``nn.Conv2d(C, C*K, k, groups=C)`` then ``nn.Conv2d(C*K, O, 1)``.

    input : (N, C, H, W); depthwise_weight : (C*K, 1, kh, kw); pointwise_weight : (O, C*K, 1, 1).
    Returns (depthwise output (N, C*K, Ho, Wo), output (N, O, Ho, Wo)).
    """
    x = float_array(input, "input", 4)
    middle = torch_conv2d(x, depthwise_weight, depthwise_bias, stride, padding, dilation,
                          groups=x.shape[1])
    return middle, torch_conv2d(middle, pointwise_weight, pointwise_bias)


# ---------------------------------------------------------------- blocks with seeded weights


class _Weights:
    """Seeded weights for teaching blocks: He-normal kernels, BatchNorm statistics near 1/0."""

    def __init__(self, seed: int, dtype: Any) -> None:
        self.rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)

    def kernel(self, shape: tuple[int, int, int, int], fan_in: int) -> np.ndarray:
        return (self.rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(self.dtype)

    def batch_norm(self, name: str, channels: int, epsilon: float) -> BatchNormStage:
        def uniform(low: float, high: float) -> np.ndarray:
            return self.rng.uniform(low, high, channels).astype(self.dtype)

        def normal(scale: float) -> np.ndarray:
            return (self.rng.standard_normal(channels) * scale).astype(self.dtype)

        return BatchNormStage(name, uniform(0.5, 1.5), normal(0.1), normal(0.1),
                              uniform(0.5, 1.5), epsilon)


def _sizes(**sizes: Any) -> tuple[int, ...]:
    """Each a positive integer (Python's or NumPy's, never a bool), as ``int``s in the
    order given."""
    return tuple(positive_int(value, name) for name, value in sizes.items())


def mobilenet_v1_block(in_channels: int, out_channels: int, strides: int = 1, seed: int = 0,
                       dtype: Any = np.float32, epsilon: float = 1e-3) -> Block:
    """MobileNetV1: depthwise 3x3 -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (no biases)."""
    in_channels, out_channels, strides = _sizes(in_channels=in_channels,
                                                out_channels=out_channels, strides=strides)
    weights = _Weights(seed, dtype)
    return Block("mobilenet_v1", (
        ConvStage("depthwise", "depthwise", weights.kernel((3, 3, in_channels, 1), 9), None,
                  (strides, strides), "SAME"),
        weights.batch_norm("depthwise_bn", in_channels, epsilon),
        ActivationStage("depthwise_relu", "relu"),
        ConvStage("pointwise", "pointwise",
                  weights.kernel((1, 1, in_channels, out_channels), in_channels), None),
        weights.batch_norm("pointwise_bn", out_channels, epsilon),
        ActivationStage("pointwise_relu", "relu"),
    ))


def inverted_residual_block(in_channels: int, out_channels: int, expansion: int = 6,
                            strides: int = 1, seed: int = 0, dtype: Any = np.float32,
                            epsilon: float = 1e-3, project_activation: str = "linear") -> Block:
    """MobileNetV2's inverted residual: expand 1x1 (x ``expansion``) -> BN -> ReLU6 ->
    depthwise 3x3 (``strides``) -> BN -> ReLU6 -> project 1x1 -> BN (linear) -> + input.

    The expand stages are skipped when ``expansion`` is 1 (as MobileNetV2 does); the
    residual add is there only when ``strides`` is 1 and ``in_channels == out_channels``.
    ``project_activation="relu6"`` adds the activation MobileNetV2 leaves out (the lesson's
    counter-example: it zeroes every negative value of the narrow bottleneck).
    """
    if project_activation not in ("linear", "relu6", "relu"):
        raise ValueError(f"project_activation must be 'linear', 'relu' or 'relu6', got "
                         f"{project_activation!r}")
    in_channels, out_channels, expansion, strides = _sizes(
        in_channels=in_channels, out_channels=out_channels, expansion=expansion,
        strides=strides)
    weights = _Weights(seed, dtype)
    hidden = in_channels * expansion
    stages: list[Stage] = []
    if expansion > 1:
        stages += [
            ConvStage("expand", "pointwise",
                      weights.kernel((1, 1, in_channels, hidden), in_channels)),
            weights.batch_norm("expand_bn", hidden, epsilon),
            ActivationStage("expand_relu6", "relu6"),
        ]
    stages += [
        ConvStage("depthwise", "depthwise", weights.kernel((3, 3, hidden, 1), 9), None,
                  (strides, strides), "SAME"),
        weights.batch_norm("depthwise_bn", hidden, epsilon),
        ActivationStage("depthwise_relu6", "relu6"),
        ConvStage("project", "pointwise", weights.kernel((1, 1, hidden, out_channels), hidden)),
        weights.batch_norm("project_bn", out_channels, epsilon),
    ]
    if project_activation != "linear":
        stages.append(ActivationStage(f"project_{project_activation}", project_activation))
    if strides == 1 and in_channels == out_channels:
        stages.append(AddStage("add", "input"))
    return Block("inverted_residual", tuple(stages))


def xception_block(in_channels: int, out_channels: int, order: str = "depthwise_first",
                   activation_between: str | None = None, seed: int = 0,
                   dtype: Any = np.float32) -> Block:
    """Xception's order question: ``depthwise_first`` (depthwise 3x3 -> pointwise, as
    ``SeparableConv2D``) or ``pointwise_first`` (pointwise -> depthwise 3x3, the "extreme
    Inception" order), with ``activation_between`` (``relu``) or nothing in between."""
    in_channels, out_channels = _sizes(in_channels=in_channels, out_channels=out_channels)
    if order not in ("depthwise_first", "pointwise_first"):
        raise ValueError(f"order must be 'depthwise_first' or 'pointwise_first', got {order!r}")
    weights = _Weights(seed, dtype)
    between: list[Stage] = []
    if activation_between not in (None, "linear"):
        between = [ActivationStage("between", activation_between)]
    if order == "depthwise_first":
        stages: list[Stage] = [
            ConvStage("depthwise", "depthwise", weights.kernel((3, 3, in_channels, 1), 9)),
            *between,
            ConvStage("pointwise", "pointwise",
                      weights.kernel((1, 1, in_channels, out_channels), in_channels)),
        ]
    else:
        stages = [
            ConvStage("pointwise", "pointwise",
                      weights.kernel((1, 1, in_channels, out_channels), in_channels)),
            *between,
            ConvStage("depthwise", "depthwise", weights.kernel((3, 3, out_channels, 1), 9)),
        ]
    return Block("xception", tuple(stages))
