"""ConvLens engine: pure NumPy convolution with TF's and PyTorch's semantics.

Nothing here knows about HTTP. The names below are the public facade; the
modules behind them are private.
"""

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
    plan_conv2d,
    plan_depthwise_conv2d,
    plan_separable_conv2d,
    plan_torch_conv2d,
)

__all__ = [
    "AxisPadding",
    "ConvPlan",
    "Padding2D",
    "conv2d",
    "depthwise_conv2d",
    "effective_kernel_size",
    "plan_conv2d",
    "plan_depthwise_conv2d",
    "plan_separable_conv2d",
    "plan_torch_conv2d",
    "resolve_padding",
    "separable_conv2d",
    "separable_conv2d_stages",
    "torch_conv2d",
]
