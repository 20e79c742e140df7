"""The trained network that ships with ConvLens: its stated accuracy holds with onnxruntime,
and every one of its layers steps through the engine equal to onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime", reason="onnxruntime (the models extra) is not installed")
pytest.importorskip("onnx", reason="onnx (the models extra) is not installed")

from app.models import SHIPPED_MODEL, SHIPPED_MODEL_INFO  # noqa: E402
from tests.api.helpers import decoded  # noqa: E402

INFO = json.loads(SHIPPED_MODEL_INFO.read_text())


def test_the_file_is_small_and_its_card_is_true() -> None:
    data = SHIPPED_MODEL.read_bytes()
    assert 5_000 < len(data) < 100_000 and INFO["bytes"] == len(data)
    assert INFO["test_accuracy"] >= 0.95
    assert len(INFO["samples"]) == 10


def test_the_stated_test_accuracy_with_onnxruntime() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn (the lab extra) is not installed")
    from app.lab import load_digits

    data = load_digits()
    session = ort.InferenceSession(SHIPPED_MODEL.read_bytes(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"image": data.test_images.transpose(0, 3, 1, 2).copy()})
    accuracy = float((logits.argmax(axis=1) == data.test_labels).mean())
    assert accuracy == pytest.approx(INFO["test_accuracy"], abs=1.5 / len(data.test_labels))
    assert accuracy >= 0.95


def test_its_layers_and_a_run_on_every_layer(client) -> None:
    data = SHIPPED_MODEL.read_bytes()
    files = {"model": ("digits_separable.onnx", data)}
    layers = client.post("/api/v1/models/inspect", files=files).json()["layers"]
    assert [(layer["name"], layer["kind"], layer["channel_multiplier"]) for layer in layers] == [
        ("stem", "standard", 1), ("block1.depthwise", "depthwise", 1),
        ("block1.pointwise", "pointwise", 1), ("block2.depthwise", "depthwise", 2),
        ("block2.pointwise", "pointwise", 1),
    ]
    seven = np.array(INFO["samples"][7]["image"], dtype=np.float32)[None, None]
    for layer in layers:
        body = client.post("/api/v1/models/run", files=files, data={
            "layer": layer["name"], "input": json.dumps(seven.tolist()),
            "output_encoding": "base64"}).json()
        assert body["matches"] is True, layer["name"]
        assert decoded(body["engine_output"]).shape == tuple(body["layer_output_shape"])
