"""Every ``POST /api/v1/blocks/code`` snippet builds its block and reproduces ``run_block``.

For blocks of each kind (MobileNetV1; the inverted residual with and without the residual add,
stride 2 on an even map, ReLU6 after the project, BatchNorm folded; Xception's two orders, with
and without the ReLU between), the Keras 3 and PyTorch snippets each run in their own process
(``tests/snippet_runner.py``: a fork server per library, the snippet in an empty namespace) and
must leave in ``output`` the block's last map from ``app.engine.run_block`` on the same seeded
input: same shape, float32, values within 1e-5 of the largest magnitude (the float32 tolerance
of ``test_snippets_run.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import engine
from app.api.blocks import BlockFields, block_input, build_block
from app.main import create_app
from app.settings import Settings
from tests.references import REASON
from tests.snippet_runner import SnippetServer, snippet_servers

pytestmark = pytest.mark.tf

TOLERANCE = 1e-5
BLOCKS: dict[str, dict[str, Any]] = {
    "inverted_residual_classroom": {"block": "inverted_residual", "in_channels": 2,
                                    "out_channels": 2, "expansion": 4, "input_hw": 6},
    "inverted_residual_stride2_relu6": {
        "block": "inverted_residual", "in_channels": 3, "out_channels": 5, "expansion": 3,
        "strides": 2, "input_hw": 6, "project_activation": "relu6", "seed": 7},
    "inverted_residual_folded": {"block": "inverted_residual", "in_channels": 4,
                                 "out_channels": 4, "expansion": 6, "input_hw": 8,
                                 "fold_batch_norm": True, "seed": 3},
    "mobilenet_v1_stride2_odd": {"block": "mobilenet_v1", "in_channels": 3, "out_channels": 4,
                                 "strides": 2, "input_hw": 7, "seed": 2},
    "xception_depthwise_first": {"block": "xception", "in_channels": 3, "out_channels": 4,
                                 "input_hw": 5},
    "xception_pointwise_first_relu": {"block": "xception", "in_channels": 3, "out_channels": 6,
                                      "order": "pointwise_first",
                                      "activation_between": "relu", "input_hw": 5, "seed": 9},
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SnippetServer]]:
    yield from snippet_servers({"keras": "keras", "pytorch": "torch"}, REASON)


@pytest.fixture(scope="module")
def api() -> TestClient:
    return TestClient(create_app(Settings()))


@pytest.mark.parametrize("name", list(BLOCKS))
def test_the_block_snippets_reproduce_run_block(api: TestClient, servers, name: str) -> None:
    fields = BLOCKS[name]
    response = api.post("/api/v1/blocks/code", json=fields)
    assert response.status_code == 200, response.text
    answer = response.json()
    request = BlockFields(**fields)
    gold = engine.run_block(build_block(request), block_input(request))[-1].output
    assert answer["output_shape"] == list(gold.shape)
    assert gold.dtype == np.float32
    for language, server in servers.items():
        result = server.run(answer[language])
        assert result.ok, f"{name} {language}:\n{result.log}"
        assert result.output.shape == gold.shape, (name, language)
        assert result.output.dtype == np.float32, (name, language)
        scale = max(1.0, float(np.abs(gold).max()))
        np.testing.assert_allclose(result.output, gold, rtol=0, atol=TOLERANCE * scale,
                                   err_msg=f"{name} {language}")


def test_the_snippets_name_every_stage_and_embed_the_weights(api: TestClient) -> None:
    fields = BLOCKS["inverted_residual_classroom"]
    answer = api.post("/api/v1/blocks/code", json=fields).json()
    block = build_block(BlockFields(**fields))
    for name in block.stage_names():
        assert repr(name) in answer["keras"], name  # each stage a named Keras layer
        assert f"{name!r}: " in answer["pytorch"] or f"# {name}: " in answer["pytorch"], name
    assert answer["stage_names"] == block.stage_names()
    assert "keras.layers.DepthwiseConv2D(" in answer["keras"]
    assert "keras.layers.BatchNormalization(epsilon=0.001" in answer["keras"]
    assert "nn.BatchNorm2d(" in answer["pytorch"] and "groups=8" in answer["pytorch"]


def test_the_block_code_request_is_checked_like_the_block_request(api: TestClient) -> None:
    response = api.post("/api/v1/blocks/code", json={"block": "inverted_residual",
                                                     "expansion": 9})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "expansion"
    too_big = Settings(max_channels=8)
    small = TestClient(create_app(too_big))
    response = small.post("/api/v1/blocks/code", json={"block": "inverted_residual",
                                                        "in_channels": 4, "expansion": 6})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_channels"
