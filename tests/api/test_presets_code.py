"""Presets, the code export (run against the API where PyTorch is importable), health."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.api import examples
from app.teaching import presets
from tests.api.helpers import OP_PATHS, assert_error
from tests.api.test_ops import CONFIGURATIONS, RNG_SEED, build

EXPECTED_INPUTS = {"seed", "rgb_test_pattern", "checkerboard", "gradient_horizontal",
                   "gradient_vertical", "gradient_diagonal", *(f"digit_{d}" for d in range(10))}
EXPECTED_KERNELS = {"identity", "box_blur", "gaussian", "sobel_x", "sobel_y", "laplacian",
                    "sharpen", "emboss", "random"}


def test_presets_list_inputs_and_kernels_made_in_code(client) -> None:
    answer = client.get("/api/v1/presets").json()
    assert set(answer["inputs"]) == EXPECTED_INPUTS
    assert set(answer["kernels"]) == EXPECTED_KERNELS
    for name, entry in answer["inputs"].items():
        array = np.array(entry["array"])
        assert list(array.shape) == entry["shape"] and array.ndim == 4 and array.shape[0] == 1
        assert name == "seed" or (0.0 <= array.min() and array.max() <= 1.0)
    assert answer["inputs"]["rgb_test_pattern"]["shape"] == [1, 32, 32, 3]
    assert answer["kernels"]["sobel_x"]["array"] == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert answer["seed_example"]["output"] == examples.SEED_OUTPUT
    assert answer["seed_example"]["input"] == examples.SEED_INPUT


def test_the_random_kernel_is_seeded(client) -> None:
    first = client.get("/api/v1/presets?seed=3").json()["kernels"]["random"]["array"]
    again = client.get("/api/v1/presets", params={"seed": 3}).json()["kernels"]["random"]["array"]
    other = client.get("/api/v1/presets?seed=4").json()["kernels"]["random"]["array"]
    assert first == again != other
    np.testing.assert_array_equal(np.array(first), presets.random_kernel(3))
    assert_error(client.get("/api/v1/presets?seed=-1"), 422, "invalid_value", "seed")


def code_for(client: Any, op: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/code", json={"op": op, **body})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("index", "case"), list(enumerate(CONFIGURATIONS)))
def test_every_snippet_is_valid_python(client, index, case) -> None:
    op, spec = case
    body, _ = build(op, spec, RNG_SEED + index)
    snippets = code_for(client, op, body)
    for language in ("tf", "keras", "pytorch"):
        compile(snippets[language], f"<{language}>", "exec")
    assert "tf.nn." in snippets["tf"] and "keras.layers." in snippets["keras"]
    assert "F.conv2d" in snippets["pytorch"]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("index", "case"), list(enumerate(CONFIGURATIONS)))
def test_the_pytorch_snippet_reproduces_the_api(client, index, case, dtype, capsys) -> None:
    pytest.importorskip("torch")
    op, spec = case
    body, _ = build(op, spec, RNG_SEED + index)
    body["dtype"] = dtype
    snippet = code_for(client, op, body)
    namespace: dict[str, Any] = {}
    exec(snippet["pytorch"], namespace)  # noqa: S102 - the point of the test
    capsys.readouterr()
    theirs = namespace["output"].numpy()
    ours = np.array(client.post(OP_PATHS[op], json=body).json()["output"])
    assert list(theirs.shape) == snippet["output_shape"] == list(ours.shape)
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(theirs, ours, rtol=tolerance, atol=tolerance)


def test_code_needs_a_known_op(client) -> None:
    assert_error(client.post("/api/v1/code", json={**examples.DEPTHWISE}), 422,
                 "missing_field", "op")
    assert_error(client.post("/api/v1/code", json={"op": "conv3d", **examples.DEPTHWISE}),
                 422, "invalid_value", "op")
    error = assert_error(
        client.post("/api/v1/code", json={"op": "depthwise_conv2d", **examples.DEPTHWISE,
                                          "weight": [1]}),
        422, "unknown_field", "weight",
    )
    assert "filter" in error["message"]


def test_health_reports_status_and_limits(client_with) -> None:
    answer = client_with(max_frames=123).get("/api/v1/health").json()
    assert answer["status"] == "ok"
    assert answer["limits"]["max_frames"] == 123
