"""Block stages against PyTorch modules built the same way (eval-mode BatchNorm, fusion).

TF's SAME with stride 2 pads bottom/right only; the PyTorch twins use
``nn.ZeroPad2d((0, 1, 0, 1))`` then padding 0 there, as Keras' MobileNetV2 does.
"""

from __future__ import annotations

import numpy as np
import pytest

from app import engine

torch = pytest.importorskip("torch", reason="PyTorch is not importable: block twins skipped")
nn = torch.nn

pytestmark = pytest.mark.torch


def _conv(stage: engine.ConvStage, groups: int = 1) -> nn.Conv2d:
    """An ``nn.Conv2d`` holding ``stage``'s kernel: TF (kh, kw, C/g, O) -> (O, C/g, kh, kw)."""
    kh, kw, c, last = stage.kernel.shape
    if stage.kind == "depthwise":
        weight = stage.kernel.reshape(kh, kw, 1, c * last)
        groups = c
    else:
        weight = stage.kernel
    out = weight.shape[3]
    sh, _ = stage.strides
    same_pad = (kh // 2) if stage.padding == "SAME" and sh == 1 else 0
    module = nn.Conv2d(weight.shape[2] * groups, out, (kh, kw), stride=stage.strides,
                       padding=same_pad, groups=groups, bias=stage.bias is not None,
                       dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(weight.transpose(3, 2, 0, 1).astype(np.float64)))
        if stage.bias is not None:
            module.bias.copy_(torch.from_numpy(stage.bias.astype(np.float64)))
    if stage.padding == "SAME" and sh == 2:
        return nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), module)
    return module


def _bn(stage: engine.BatchNormStage) -> nn.BatchNorm2d:
    module = nn.BatchNorm2d(stage.gamma.size, eps=stage.epsilon, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight", stage.gamma), ("bias", stage.beta),
                            ("running_mean", stage.moving_mean),
                            ("running_var", stage.moving_variance)):
            getattr(module, name).copy_(torch.from_numpy(value.astype(np.float64)))
    return module.eval()


def _torch_modules(block: engine.Block) -> list[tuple[str, nn.Module]]:
    modules: list[tuple[str, nn.Module]] = []
    for stage in block.stages:
        if isinstance(stage, engine.ConvStage):
            modules.append((stage.name, _conv(stage)))
        elif isinstance(stage, engine.BatchNormStage):
            modules.append((stage.name, _bn(stage)))
        elif isinstance(stage, engine.ActivationStage):
            modules.append((stage.name, {"relu": nn.ReLU(), "relu6": nn.ReLU6(),
                                         "linear": nn.Identity()}[stage.function]))
        else:
            modules.append((stage.name, "add"))  # type: ignore[arg-type]
    return modules


def _run_torch(block: engine.Block, x_nhwc: np.ndarray) -> dict[str, np.ndarray]:
    x = torch.from_numpy(x_nhwc.transpose(0, 3, 1, 2).copy())
    block_input = x
    outputs = {}
    with torch.no_grad():
        for name, module in _torch_modules(block):
            x = x + block_input if module == "add" else module(x)
            outputs[name] = x.numpy().transpose(0, 2, 3, 1)
    return outputs


BLOCKS = {
    "mobilenet_v1_s1": lambda: engine.mobilenet_v1_block(4, 6, 1, seed=1, dtype=np.float64),
    "mobilenet_v1_s2": lambda: engine.mobilenet_v1_block(4, 6, 2, seed=2, dtype=np.float64),
    "inverted_residual_s1": lambda: engine.inverted_residual_block(4, 4, 6, 1, seed=3,
                                                                   dtype=np.float64),
    "inverted_residual_s2": lambda: engine.inverted_residual_block(4, 8, 3, 2, seed=4,
                                                                   dtype=np.float64),
    "xception_pw_first_relu": lambda: engine.xception_block(3, 5, "pointwise_first", "relu",
                                                            seed=5, dtype=np.float64),
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_every_stage_equals_the_pytorch_module_built_the_same_way(name: str) -> None:
    block = BLOCKS[name]()
    x = np.random.default_rng(9).standard_normal((2, 8, 8, block.stages[0].kernel.shape[2]))
    gold = _run_torch(block, x)
    for output in engine.run_block(block, x):
        np.testing.assert_allclose(output.output, gold[output.name], rtol=1e-10, atol=1e-10,
                                   err_msg=output.name)


@pytest.mark.parametrize("name", ["mobilenet_v1_s2", "inverted_residual_s1"])
def test_batch_norm_folding_equals_pytorch_fuse_conv_bn_eval(name: str) -> None:
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    block = BLOCKS[name]()
    folded = {stage.name: stage for stage in engine.fold_batch_norm(block).stages}
    modules = dict(_torch_modules(block))
    for stage, following in zip(block.stages, block.stages[1:], strict=False):
        if not isinstance(following, engine.BatchNormStage):
            continue
        conv = modules[stage.name]
        conv = conv[1] if isinstance(conv, nn.Sequential) else conv
        fused = fuse_conv_bn_eval(conv.eval(), modules[following.name])
        mine = folded[stage.name]
        kh, kw, c, last = mine.kernel.shape
        kernel = mine.kernel.reshape(kh, kw, 1, c * last) if mine.kind == "depthwise" \
            else mine.kernel
        np.testing.assert_allclose(kernel.transpose(3, 2, 0, 1), fused.weight.detach().numpy(),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(mine.bias, fused.bias.detach().numpy(), rtol=1e-12,
                                   atol=1e-14)


def test_the_torch_pair_equals_nn_conv2d_groups_then_1x1() -> None:
    rng = np.random.default_rng(10)
    x = rng.standard_normal((1, 3, 7, 7))
    depthwise = nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3, dtype=torch.float64)
    pointwise = nn.Conv2d(6, 4, 1, dtype=torch.float64)
    middle, out = engine.torch_separable_pair(
        x, depthwise.weight.detach().numpy(), pointwise.weight.detach().numpy(),
        depthwise.bias.detach().numpy(), pointwise.bias.detach().numpy(), stride=2, padding=1)
    with torch.no_grad():
        gold_middle = depthwise(torch.from_numpy(x))
        gold = pointwise(gold_middle)
    np.testing.assert_allclose(middle, gold_middle.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, gold.numpy(), rtol=1e-10, atol=1e-12)
