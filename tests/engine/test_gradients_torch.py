"""The backprop functions against PyTorch autograd, when torch is importable.

The forward pass is built in PyTorch from TF's layouts (as ``test_torch.py`` does: TF's
asymmetric pads with ``F.pad``, filter ``[kh, kw, C/G, O]`` permuted inside the graph), so
autograd returns dL/dx in the input's layout and dL/dw in TF's filter layout.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.reference import geometry
from tests.engine.test_gradients import BACKPROP, gradient_case
from tests.engine.test_ops import CONV2D_SEEDS, DEPTHWISE_SEEDS, draw_tf_case
from tests.engine.test_torch import in_layout, non_empty, one_thread  # noqa: F401

torch = pytest.importorskip("torch")
functional = pytest.importorskip("torch.nn.functional")

pytestmark = pytest.mark.torch


def autograd(seed: int, op: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(out_backprop, dL/dx, dL/dw)`` from PyTorch for ``L = Σ conv(x, w) * dy``."""
    case, dy, _, _ = gradient_case(seed, op)
    x = torch.tensor(np.asarray(case.x, dtype=np.float64), requires_grad=True)
    w = torch.tensor(np.asarray(case.filters, dtype=np.float64), requires_grad=True)
    nchw = x if case.data_format == "NCHW" else x.permute(0, 3, 1, 2)
    window = case.window
    (top, bottom, _), (left, right, _) = geometry(
        nchw.shape[2:], window.kernel_hw, window.strides, window.dilations, window.padding
    )
    padded = functional.pad(nchw, (left, right, top, bottom))
    kh, kw, depth, out = case.filters.shape
    if op == "conv2d":
        weight, groups = w.permute(3, 2, 0, 1), nchw.shape[1] // depth
    else:
        weight, groups = w.reshape(kh, kw, 1, depth * out).permute(3, 2, 0, 1), depth
    result = functional.conv2d(
        padded, weight, stride=window.strides, dilation=window.dilations, groups=groups
    )
    loss = (in_layout(result, case) * torch.tensor(np.asarray(dy, dtype=np.float64))).sum()
    loss.backward()
    return dy, x.grad.numpy(), w.grad.numpy()


@pytest.mark.parametrize(
    ("op", "seed"),
    [("conv2d", seed) for seed in non_empty(CONV2D_SEEDS, "conv2d")]
    + [("depthwise_conv2d", seed) for seed in non_empty(DEPTHWISE_SEEDS, "depthwise_conv2d")],
)
def test_backprop_matches_pytorch_autograd(op: str, seed: int) -> None:
    case = draw_tf_case(seed, op)
    dy, theirs_input, theirs_filter = autograd(seed, op)
    _, backprop_input, backprop_filter = BACKPROP[op]
    x, w = np.asarray(case.x, dtype=np.float64), np.asarray(case.filters, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    mine_input = backprop_input(list(x.shape), w, dy, **case.engine_kwargs)
    mine_filter = backprop_filter(x, list(w.shape), dy, **case.engine_kwargs)
    np.testing.assert_allclose(mine_input, theirs_input, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mine_filter, theirs_filter, rtol=1e-10, atol=1e-10)
