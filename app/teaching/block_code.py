"""Keras and PyTorch code that builds one block with its exact weights and reproduces its output.

Pure string building, no web imports, as ``codegen`` (whose ``literal`` writes the arrays). Each
snippet is a complete script that runs as printed with only its library and NumPy installed, and
leaves in ``output`` the block's last map in NHWC (Keras' layout, ``run_block``'s), float32 like
the engine's run (checked by ``tests/api/test_block_code_run.py`` in real TensorFlow/Keras and
PyTorch). Per stage kind:

=============  =========================================  =========================================
stage          Keras 3                                    PyTorch
=============  =========================================  =========================================
conv           ``Conv2D`` (kernel ``[kh, kw, C, O]``)     ``nn.Conv2d`` (``permute(3, 2, 0, 1)``)
depthwise      ``DepthwiseConv2D`` (``[kh, kw, C, M]``)   ``nn.Conv2d(groups=C)``, weight
                                                          ``[C*M, 1, kh, kw]`` (channel ``q*M+r``)
pointwise      ``Conv2D`` 1x1                             ``nn.Conv2d`` 1x1
batch_norm     ``BatchNormalization`` (its four arrays,   ``nn.BatchNorm2d`` (``eps`` = the
               ``epsilon``), called with training=False   block's, not PyTorch's 1e-5), ``eval()``
activation     ``ReLU`` / ``ReLU(max_value=6)``           ``nn.ReLU`` / ``nn.ReLU6``
add            ``Add`` of this map and ``source``'s       ``+`` in ``forward``
=============  =========================================  =========================================

TF's SAME pads the odd cell bottom/right (stride 2 on an even map), which no symmetric
PyTorch ``padding=`` can express: the PyTorch convolutions pad with ``F.pad`` by the per-side
pads the engine resolved (``resolve_padding``), then run unpadded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine import block_costs, resolve_padding
from app.engine.blocks import ActivationStage, AddStage, BatchNormStage, Block, ConvStage
from app.teaching.codegen import literal

_KERAS_ACTIVATION = {"relu": "keras.layers.ReLU", "relu6": "keras.layers.ReLU(max_value=6.0",
                     "linear": "keras.layers.Activation('linear'"}
_TORCH_ACTIVATION = {"relu": "nn.ReLU()", "relu6": "nn.ReLU6()", "linear": "nn.Identity()"}


def _array(name: str, array: np.ndarray, module: str) -> str:
    """One float32 array assignment: ``np.array`` or ``torch.tensor``."""
    make, dtype = {"np": ("np.array", "'float32'"), "torch": ("torch.tensor", "torch.float32")}[
        module]
    return f"{name} = {make}({literal(np.asarray(array))}, dtype={dtype})  # shape " \
           f"{list(np.shape(array))}"


def _variable(stage_name: str) -> str:
    return stage_name if stage_name.isidentifier() else "stage_" + "".join(
        ch if ch.isalnum() else "_" for ch in stage_name)


def _header(block: Block) -> str:
    return f"# {block.name}: " + " -> ".join(block.stage_names())


# ---------------------------------------------------------------- Keras


def _keras_layer(stage: Any) -> str:
    name = repr(stage.name)
    if isinstance(stage, ConvStage):
        kh, kw, _, last = stage.kernel.shape
        common = (f"kernel_size=({kh}, {kw}), strides={tuple(stage.strides)}, "
                  f"padding={stage.padding.lower()!r}, dilation_rate={tuple(stage.dilations)}, "
                  f"use_bias={stage.bias is not None}")
        if stage.kind == "depthwise":
            return f"keras.layers.DepthwiseConv2D({common}, depth_multiplier={last}, name={name})"
        return f"keras.layers.Conv2D(filters={last}, {common}, name={name})"
    if isinstance(stage, BatchNormStage):
        return f"keras.layers.BatchNormalization(epsilon={stage.epsilon!r}, name={name})"
    if isinstance(stage, ActivationStage):
        opening = _KERAS_ACTIVATION[stage.function]
        return f"{opening}(name={name})" if "(" not in opening else f"{opening}, name={name})"
    raise TypeError(stage)


def keras_block(block: Block, x: np.ndarray) -> str:
    """A Keras 3 functional model of ``block`` with its weights, run on ``x`` (1, H, W, C)."""
    lines = ["import numpy as np", "import keras  # Keras 3 (TensorFlow backend)", "",
             _header(block), _array("x", x, "np"), ""]
    weights: list[str] = []
    for stage in block.stages:
        variable = _variable(stage.name)
        if isinstance(stage, ConvStage):
            lines.append(_array(f"{variable}_kernel", stage.kernel, "np"))
            arrays = [f"{variable}_kernel"]
            if stage.bias is not None:
                lines.append(_array(f"{variable}_bias", stage.bias, "np"))
                arrays.append(f"{variable}_bias")
            weights.append(f"model.get_layer({stage.name!r}).set_weights([{', '.join(arrays)}])")
        elif isinstance(stage, BatchNormStage):
            parts = ("gamma", "beta", "moving_mean", "moving_variance")
            for part in parts:
                lines.append(_array(f"{variable}_{part}", getattr(stage, part), "np"))
            arrays = ", ".join(f"{variable}_{part}" for part in parts)
            weights.append(f"model.get_layer({stage.name!r}).set_weights([{arrays}])")
    lines += ["", "inputs = keras.Input(shape=x.shape[1:], dtype='float32')", "h = inputs"]
    tensors = {"input": "inputs"}
    for stage in block.stages:
        if isinstance(stage, AddStage):
            lines.append(f"h = keras.layers.Add(name={stage.name!r})([h, "
                         f"{tensors[stage.source]}])  # the residual: + {stage.source}")
        else:
            lines.append(f"h = {_keras_layer(stage)}(h)")
        if any(isinstance(later, AddStage) and later.source == stage.name
               for later in block.stages):
            keep = f"{_variable(stage.name)}_out"
            lines.append(f"{keep} = h")
            tensors[stage.name] = keep
    lines += [
        "model = keras.Model(inputs, h)", "",
        "# Keras kernel layouts equal tf.nn's; BatchNorm takes gamma, beta, mean, variance.",
        *weights, "",
        "output = np.asarray(model(x, training=False))  # inference: BatchNorm's moving stats",
        "print(output.shape)",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- PyTorch


def pytorch_block(block: Block, x: np.ndarray) -> str:
    """A PyTorch module of ``block`` with its weights, run on ``x`` (1, H, W, C); ``output`` is
    NHWC like the engine's."""
    costs = block_costs(block, x.shape)
    lines = ["import torch", "import torch.nn as nn", "import torch.nn.functional as F", "",
             _header(block), _array("x", x, "torch"), ""]
    layers: list[str] = []
    loads: list[str] = []
    forward: list[str] = []
    kept: set[str] = {stage.source for stage in block.stages if isinstance(stage, AddStage)}
    for stage, cost in zip(block.stages, costs.stages, strict=True):
        variable = _variable(stage.name)
        attribute = f"self.layers[{stage.name!r}]"
        if isinstance(stage, ConvStage):
            kh, kw, channels, last = stage.kernel.shape
            if stage.kind == "depthwise":
                out, groups = channels * last, channels
                lines.append(_array(f"{variable}_kernel", stage.kernel, "torch"))
                weight = f"{variable}_kernel.reshape({kh}, {kw}, 1, {out}).permute(3, 2, 0, 1)"
                layout = "[kh, kw, C, M] -> [C*M, 1, kh, kw] (channel q*M + r)"
            else:
                out, groups = last, 1
                lines.append(_array(f"{variable}_kernel", stage.kernel, "torch"))
                weight = f"{variable}_kernel.permute(3, 2, 0, 1)"
                layout = "[kh, kw, C, O] -> [O, C, kh, kw]"
            layers.append(f"    {stage.name!r}: nn.Conv2d({channels}, {out}, ({kh}, {kw}), "
                          f"stride={tuple(stage.strides)}, dilation={tuple(stage.dilations)}, "
                          f"groups={groups}, bias={stage.bias is not None}),")
            loads.append(f"model.layers[{stage.name!r}].weight.copy_({weight})  # {layout}")
            if stage.bias is not None:
                lines.append(_array(f"{variable}_bias", stage.bias, "torch"))
                loads.append(f"model.layers[{stage.name!r}].bias.copy_({variable}_bias)")
            _, h, w, _ = cost.input_shape
            pads = resolve_padding((h, w), (kh, kw), stage.strides, stage.dilations,
                                   stage.padding.upper())
            sides = (pads.pad_left, pads.pad_right, pads.pad_top, pads.pad_bottom)
            if any(sides):
                forward.append(f"        h = F.pad(h, {sides})  # TF's {stage.padding.upper()}: "
                               "(left, right, top, bottom)")
            forward.append(f"        h = {attribute}(h)")
        elif isinstance(stage, BatchNormStage):
            channels = int(stage.gamma.size)
            layers.append(f"    {stage.name!r}: nn.BatchNorm2d({channels}, "
                          f"eps={stage.epsilon!r}),  # Keras' epsilon, not PyTorch's 1e-5")
            for part, torch_name in (("gamma", "weight"), ("beta", "bias"),
                                     ("moving_mean", "running_mean"),
                                     ("moving_variance", "running_var")):
                lines.append(_array(f"{variable}_{part}", getattr(stage, part), "torch"))
                loads.append(f"model.layers[{stage.name!r}].{torch_name}.copy_({variable}_{part})")
            forward.append(f"        h = {attribute}(h)")
        elif isinstance(stage, ActivationStage):
            layers.append(f"    {stage.name!r}: {_TORCH_ACTIVATION[stage.function]},")
            forward.append(f"        h = {attribute}(h)")
        else:
            source = "x" if stage.source == "input" else f"kept[{stage.source!r}]"
            forward.append(f"        h = h + {source}  # {stage.name}: the residual, "
                           f"+ {stage.source}")
        if stage.name in kept:
            forward.append(f"        kept[{stage.name!r}] = h")
    lines += [
        "", "class Block(nn.Module):", "    def __init__(self):", "        super().__init__()",
        "        self.layers = nn.ModuleDict({",
        *("    " + line for line in layers),
        "        })", "",
        "    def forward(self, x):  # x: NCHW",
        "        kept = {}",
        "        h = x",
        *forward,
        "        return h", "",
        "model = Block().eval()  # eval(): BatchNorm uses its running statistics",
        "with torch.no_grad():",
        *("    " + line for line in loads),
        "    # NHWC -> NCHW in, NCHW -> NHWC out (the engine's and Keras' layout)",
        "    output = model(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()",
        "print(output.shape)",
    ]
    return "\n".join(lines) + "\n"


def block_snippets(block: Block, x: np.ndarray) -> dict[str, str]:
    """``{"keras": ..., "pytorch": ...}`` for ``block`` run on ``x`` : (1, H, W, C) float32."""
    return {"keras": keras_block(block, x), "pytorch": pytorch_block(block, x)}
