"""The engine's public facade is a contract: later layers (API, page) build on these names."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import app.engine

ENGINE_DIR = Path(app.engine.__file__).parent

PUBLIC_NAMES = {
    "AxisPadding", "BackwardTrace", "backward_step_count", "build_backward_trace",
    "ConvCosts", "ConvPlan", "LayerCost", "Padding2D", "SeparableApproximation",
    "StageInfo", "StageResult", "Trace", "TraceChunk", "approximation_errors", "build_trace",
    "check_bias_shape", "conv2d_backprop_filter", "conv2d_backprop_input",
    "depthwise_conv2d_backprop_filter", "depthwise_conv2d_backprop_input",
    "conv2d", "conv_costs", "cost_sweep", "depthwise_conv2d", "effective_kernel_size",
    "equivalent_kernel", "plan_conv2d", "plan_depthwise_conv2d", "plan_separable_conv2d",
    "plan_torch_conv2d", "plan_trace", "resolve_padding", "separable_approximation",
    "separable_conv2d", "separable_conv2d_stages", "torch_conv2d", "trace_step_count",
    # The ops' array-valued argument names, which the API's request models share.
    "array_arguments",
    # Blocks (chains of stages) and Keras/PyTorch layer semantics.
    "ActivationStage", "AddStage", "BatchNormStage", "Block", "BlockCost", "ConvStage",
    "StageCost", "StageOutput", "apply_activation", "batch_norm_scale_shift", "block_costs",
    "block_shapes", "fold_batch_norm", "inverted_residual_block", "keras_depthwise_block",
    "keras_depthwise_conv2d", "keras_separable_block", "keras_separable_conv2d",
    "mobilenet_v1_block", "run_block", "stage_steps", "torch_separable_pair", "xception_block",
    # A block's stages in order as one trace.
    "BlockStageInfo", "BlockTrace", "block_trace_step_count", "build_block_trace",
    "plan_block_trace",
    # Keras layer parameter counts (count_params) and multiply-adds.
    "keras_conv2d_cost", "keras_depthwise_conv2d_cost", "keras_separable_conv2d_cost",
}


def test_the_facade_exports_exactly_the_public_names() -> None:
    assert set(app.engine.__all__) == PUBLIC_NAMES
    assert app.engine.__all__ == sorted(app.engine.__all__)
    for name in PUBLIC_NAMES:
        assert getattr(app.engine, name).__module__.startswith("app.engine.")


def test_mirrored_functions_keep_the_argument_names_and_defaults_of_tf_and_pytorch() -> None:
    def signature(function):
        return [
            (parameter.name, parameter.default)
            for parameter in inspect.signature(function).parameters.values()
        ]

    empty = inspect.Parameter.empty
    assert signature(app.engine.conv2d) == [
        ("input", empty), ("filters", empty), ("strides", empty), ("padding", empty),
        ("data_format", "NHWC"), ("dilations", None),
    ]
    assert signature(app.engine.depthwise_conv2d) == [
        ("input", empty), ("filter", empty), ("strides", empty), ("padding", empty),
        ("data_format", None), ("dilations", None),
    ]
    assert signature(app.engine.separable_conv2d) == [
        ("input", empty), ("depthwise_filter", empty), ("pointwise_filter", empty),
        ("strides", empty), ("padding", empty), ("data_format", None), ("dilations", None),
    ]
    assert signature(app.engine.torch_conv2d) == [
        ("input", empty), ("weight", empty), ("bias", None), ("stride", 1), ("padding", 0),
        ("dilation", 1), ("groups", 1),
    ]


def test_the_engine_imports_nothing_but_numpy_and_itself() -> None:
    allowed = {"numpy", "app", "__future__", "collections", "dataclasses", "typing", "numbers",
               "math", "inspect", "functools", "itertools"}
    for module in ENGINE_DIR.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{module.name} imports {roots - allowed}"


def test_array_arguments_are_each_ops_leading_arguments() -> None:
    for op in ("conv2d", "depthwise_conv2d", "separable_conv2d", "torch_conv2d"):
        names = app.engine.array_arguments(op)
        parameters = list(inspect.signature(getattr(app.engine, op)).parameters)
        assert names[0] == "input" and parameters[: len(names)] == list(names)
        assert parameters[len(names)] in ("strides", "stride")  # the rest are scalar options
    with pytest.raises(ValueError, match="op must be one of conv2d, depthwise_conv2d"):
        app.engine.array_arguments("conv3d")
