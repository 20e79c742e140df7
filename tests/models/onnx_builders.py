"""Small ONNX models built with ``onnx.helper``, with seeded weights (tests and benchmarks).

``Net`` tracks the channel count of every tensor so that a block is a few calls:
``net.conv(x, 16, 3, stride=2)``, ``net.bn(x)``, ``net.relu6(x)``, ``net.add(a, b)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

onnx = __import__("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


class Net:
    def __init__(self, input_shape: list[Any], seed: int = 0, input_name: str = "image") -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.channels: dict[str, int] = {input_name: int(input_shape[1])}
        self.input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)
        self.input_name = input_name
        self.count = 0

    def _name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def conv(self, x: str, out_channels: int, kernel: int, stride: int = 1, groups: int = 1,
             pads: list[int] | None = None, auto_pad: str | None = None, bias: bool = True,
             dilation: int = 1, name: str | None = None) -> str:
        name = name or self._name("conv")
        in_channels = self.channels[x]
        fan_in = in_channels // groups * kernel * kernel
        weight = self.rng.standard_normal((out_channels, in_channels // groups, kernel, kernel))
        inputs = [x, self.constant(f"{name}.weight", weight * np.sqrt(2.0 / fan_in))]
        if bias:
            inputs.append(self.constant(f"{name}.bias", self.rng.standard_normal(out_channels)
                                        * 0.1))
        attributes: dict[str, Any] = {"kernel_shape": [kernel, kernel], "strides": [stride] * 2,
                                      "dilations": [dilation] * 2, "group": groups}
        if auto_pad:
            attributes["auto_pad"] = auto_pad
        else:
            half = (kernel - 1) * dilation // 2
            attributes["pads"] = pads if pads is not None else [half] * 4
        out = f"{name}.out"
        self.nodes.append(helper.make_node("Conv", inputs, [out], name=name, **attributes))
        self.channels[out] = out_channels
        return out

    def bn(self, x: str) -> str:
        name = self._name("bn")
        c = self.channels[x]
        inputs = [x] + [
            self.constant(f"{name}.{part}", value) for part, value in (
                ("scale", self.rng.uniform(0.5, 1.5, c)), ("bias", self.rng.normal(0, 0.1, c)),
                ("mean", self.rng.normal(0, 0.1, c)), ("var", self.rng.uniform(0.5, 1.5, c)))
        ]
        out = f"{name}.out"
        self.nodes.append(helper.make_node("BatchNormalization", inputs, [out], name=name,
                                           epsilon=1e-5))
        self.channels[out] = c
        return out

    def _unary(self, op: str, x: str, inputs: list[str] | None = None) -> str:
        name = self._name(op.lower())
        out = f"{name}.out"
        self.nodes.append(helper.make_node(op, [x, *(inputs or [])], [out], name=name))
        self.channels[out] = self.channels[x]
        return out

    def relu(self, x: str) -> str:
        return self._unary("Relu", x)

    def relu6(self, x: str) -> str:
        low = self.constant(self._name("zero"), np.array(0.0))
        high = self.constant(self._name("six"), np.array(6.0))
        return self._unary("Clip", x, [low, high])

    def add(self, a: str, b: str) -> str:
        name = self._name("add")
        out = f"{name}.out"
        self.nodes.append(helper.make_node("Add", [a, b], [out], name=name))
        self.channels[out] = self.channels[a]
        return out

    def head(self, x: str, classes: int) -> str:
        pooled = self._unary("GlobalAveragePool", x)
        flat = self._name("flatten")
        self.nodes.append(helper.make_node("Flatten", [pooled], [flat], name=flat))
        c = self.channels[x]
        weight = self.constant(self._name("fc.weight"), self.rng.standard_normal((c, classes))
                               / np.sqrt(c))
        bias = self.constant(self._name("fc.bias"), np.zeros(classes))
        out = "logits"
        self.nodes.append(helper.make_node("Gemm", [flat, weight, bias], [out], name="fc"))
        self.channels[out] = classes
        return out

    def model(self, output: str, rank: int = 4, opset: int = 17, extra_opsets: Any = ()) -> Any:
        dims = ["N", "C", "H", "W"][:rank] if rank == 4 else ["N", self.channels[output]]
        graph = helper.make_graph(
            self.nodes, "convlens_test", [self.input],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, dims)], self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                        *extra_opsets],
                                  producer_name="convlens-tests")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def inverted_residual(net: Net, x: str, out_channels: int, expansion: int, stride: int,
                      prefix: str) -> str:
    """MobileNetV2: expand 1x1 -> BN -> ReLU6 -> dw 3x3 -> BN -> ReLU6 -> project -> BN (+ x)."""
    c = net.channels[x]
    hidden = c * expansion
    y = x
    if expansion != 1:
        y = net.relu6(net.bn(net.conv(y, hidden, 1, bias=False, name=f"{prefix}.expand")))
    y = net.relu6(net.bn(net.conv(y, hidden, 3, stride, groups=hidden, bias=False,
                                  name=f"{prefix}.depthwise")))
    y = net.bn(net.conv(y, out_channels, 1, bias=False, name=f"{prefix}.project"))
    return net.add(y, x) if stride == 1 and c == out_channels else y


def mobilenet_v1_block(seed: int = 0) -> Any:
    """dw 3x3 -> BN -> ReLU -> pw 1x1 -> BN -> ReLU, input (1, 4, 8, 8)."""
    net = Net([1, 4, 8, 8], seed)
    y = net.relu(net.bn(net.conv(net.input_name, 4, 3, groups=4, bias=False, name="dw")))
    y = net.relu(net.bn(net.conv(y, 8, 1, bias=False, name="pw")))
    return net.model(y)


def mobilenet_v2_blocks(seed: int = 0) -> Any:
    """A stem, an inverted residual with stride 2, then one with the residual add."""
    net = Net(["N", 3, 16, 16], seed)
    y = net.relu6(net.bn(net.conv(net.input_name, 8, 3, 2, bias=False, name="stem")))
    y = inverted_residual(net, y, 12, 4, 2, "block1")
    y = inverted_residual(net, y, 12, 4, 1, "block2")
    return net.model(y)


def grouped_conv(seed: int = 0) -> Any:
    """groups=2 (6 -> 4 channels, 3x3), and a depthwise with multiplier 2 and SAME_UPPER."""
    net = Net([1, 6, 7, 7], seed)
    y = net.conv(net.input_name, 4, 3, groups=2, name="grouped", pads=[1, 0, 0, 1])
    y = net.conv(y, 8, 3, 2, groups=4, auto_pad="SAME_UPPER", name="depthwise_m2")
    return net.model(y)


def plain_conv(seed: int = 0) -> Any:
    """One standard 3x3 conv, 3 -> 5 channels, stride 1, dilation 2, pads 2 (same size)."""
    net = Net([1, 3, 9, 9], seed)
    return net.model(net.conv(net.input_name, 5, 3, dilation=2, name="plain"))


def mobilenet_v2(seed: int = 0, classes: int = 1000) -> Any:
    """MobileNetV2 (1.0, 224) layer for layer: 3.5 M weights, 52 Conv layers."""
    net = Net(["N", 3, 224, 224], seed)
    y = net.relu6(net.bn(net.conv(net.input_name, 32, 3, 2, bias=False, name="stem")))
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]
    block = 0
    for expansion, channels, repeats, stride in settings:
        for repeat in range(repeats):
            y = inverted_residual(net, y, channels, expansion, stride if repeat == 0 else 1,
                                  f"block{block}")
            block += 1
    y = net.relu6(net.bn(net.conv(y, 1280, 1, bias=False, name="last")))
    return net.model(net.head(y, classes), rank=2)
