"""Train the small separable CNN that ships with ConvLens, export it to ONNX, state its accuracy.

    .venv/bin/python scripts/train_digits_model.py

Data: the training lab's split of scikit-learn's 8x8 digits (``app.lab.load_digits``:
1438 training and 359 test images, pixel values 0..1). PyTorch trains it here, at
script time only; ConvLens never imports PyTorch at run time. The network, MobileNetV1
in miniature (BatchNorm folded into the convolutions by the exporter):

    image (N, 1, 8, 8)
    stem              conv 3x3, 1 -> 8, pad 1, + BN, ReLU          (N, 8, 8, 8)
    block1.depthwise  depthwise 3x3 (groups 8), + BN, ReLU         (N, 8, 8, 8)
    block1.pointwise  pointwise 1x1, 8 -> 16, + BN, ReLU           (N, 16, 8, 8)
    block2.depthwise  depthwise 3x3 x2 (groups 16), stride 2, ReLU (N, 32, 4, 4)
    block2.pointwise  pointwise 1x1, 32 -> 32, + BN, ReLU          (N, 32, 4, 4)
    global average pool, dense 32 -> 10                            (N, 10) logits

Writes ``static/models/digits_separable.onnx`` and ``digits_separable.json`` (accuracy
measured with onnxruntime on the test split, training settings, and one test image per
class for the model view). Seeded and single-threaded: a rerun gives the same file.
"""

from __future__ import annotations

import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.lab import load_digits  # noqa: E402

OUT = ROOT / "static" / "models"
SEED = 0
EPOCHS = 60
BATCH = 64
LEARNING_RATE = 0.01
LAYER_NAMES = ["stem", "block1.depthwise", "block1.pointwise", "block2.depthwise",
               "block2.pointwise"]


def network():
    import torch
    from torch import nn

    def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *conv_bn(1, 8, 3),
        *conv_bn(8, 8, 3, groups=8), *conv_bn(8, 16, 1),
        *conv_bn(16, 32, 3, 2, groups=16), *conv_bn(32, 32, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    ), torch


def train():
    model, torch = network()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    for module in model.modules():  # re-initialise after seeding: reproducible weights
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    data = load_digits()
    x = torch.from_numpy(data.train_images.transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(data.train_labels)
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, EPOCHS)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(BATCH):
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimiser.step()
        schedule.step()
    return model.eval(), torch, data


def export(model, torch) -> bytes:
    import onnx

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), buffer, dynamo=False,
                          input_names=["image"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    proto = onnx.load_model_from_string(buffer.getvalue())
    convs = [node for node in proto.graph.node if node.op_type == "Conv"]
    assert len(convs) == len(LAYER_NAMES), [node.name for node in convs]
    for node, name in zip(convs, LAYER_NAMES, strict=True):
        node.name = name
    proto.producer_name = "convlens scripts/train_digits_model.py (torch.onnx.export)"
    proto.doc_string = "A separable CNN for scikit-learn's 8x8 digits, shipped with ConvLens."
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def onnxruntime_accuracy(data: bytes, images: np.ndarray, labels: np.ndarray) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"image": images.transpose(0, 3, 1, 2).copy()})
    return float((logits.argmax(axis=1) == labels).mean())


def main() -> None:
    model, torch, dataset = train()
    data = export(model, torch)
    accuracy = onnxruntime_accuracy(data, dataset.test_images, dataset.test_labels)
    train_accuracy = onnxruntime_accuracy(data, dataset.train_images, dataset.train_labels)
    samples = []
    for digit in range(10):
        index = int(np.flatnonzero(dataset.test_labels == digit)[0])
        image = dataset.test_images[index, :, :, 0]
        samples.append({"label": digit, "test_index": index,
                        "image": np.round(image, 4).tolist()})  # (8, 8), values 0..1
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "digits_separable.onnx").write_bytes(data)
    info = {
        "name": "digits_separable",
        "file": "digits_separable.onnx",
        "bytes": len(data),
        "dataset": dataset.describe(),
        "test_accuracy": accuracy,
        "train_accuracy": train_accuracy,
        "measured_with": f"onnxruntime, the lab's {len(dataset.test_labels)}-image test split",
        "layers": LAYER_NAMES,
        "input": {"name": "image", "shape": ["N", 1, 8, 8], "range": [0, 1]},
        "training": {"framework": f"torch {torch.__version__}", "seed": SEED, "epochs": EPOCHS,
                     "batch": BATCH, "optimiser": "Adam", "learning_rate": LEARNING_RATE,
                     "schedule": "cosine", "script": "scripts/train_digits_model.py"},
        "samples": samples,
    }
    (OUT / "digits_separable.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"{len(data):,} bytes, test accuracy {accuracy:.4f} (train {train_accuracy:.4f})")


if __name__ == "__main__":
    main()
