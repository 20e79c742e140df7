"""ConvLens engine: pure NumPy convolution with TF's and PyTorch's semantics.

Nothing here knows about HTTP. The names below are the public facade; the
modules behind them are private.
"""

from app.engine.costs import ConvCosts, LayerCost, conv_costs, cost_sweep
from app.engine.factorize import (
    SeparableApproximation,
    approximation_errors,
    equivalent_kernel,
    separable_approximation,
)
from app.engine.geometry import AxisPadding, Padding2D, effective_kernel_size, resolve_padding
from app.engine.ops import (
    conv2d,
    depthwise_conv2d,
    separable_conv2d,
    separable_conv2d_stages,
    torch_conv2d,
)
from app.engine.plans import (
    ConvPlan,
    check_bias_shape,
    plan_conv2d,
    plan_depthwise_conv2d,
    plan_separable_conv2d,
    plan_torch_conv2d,
)
from app.engine.trace import (
    StageInfo,
    StageResult,
    Trace,
    TraceChunk,
    build_trace,
    plan_trace,
    trace_step_count,
)

__all__ = [
    "AxisPadding",
    "ConvCosts",
    "ConvPlan",
    "LayerCost",
    "Padding2D",
    "SeparableApproximation",
    "StageInfo",
    "StageResult",
    "Trace",
    "TraceChunk",
    "approximation_errors",
    "build_trace",
    "check_bias_shape",
    "conv2d",
    "conv_costs",
    "cost_sweep",
    "depthwise_conv2d",
    "effective_kernel_size",
    "equivalent_kernel",
    "plan_conv2d",
    "plan_depthwise_conv2d",
    "plan_separable_conv2d",
    "plan_torch_conv2d",
    "plan_trace",
    "resolve_padding",
    "separable_approximation",
    "separable_conv2d",
    "separable_conv2d_stages",
    "torch_conv2d",
    "trace_step_count",
]
