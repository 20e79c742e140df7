"""The lessons' comparisons: PyTorch's groups in TF, one kernel shared by every channel."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import engine
from tests.api.helpers import assert_error

RNG = np.random.default_rng(5)


def _nhwc(n: int, h: int, w: int, c: int) -> np.ndarray:
    return RNG.integers(-3, 4, size=(n, h, w, c)).astype(float)


@pytest.mark.parametrize(
    ("channels", "groups", "out_channels", "padding"),
    [(4, 1, 4, "VALID"), (4, 2, 4, "SAME"), (4, 4, 4, "SAME"), (6, 3, 6, "VALID"),
     (4, 4, 8, "SAME"), (2, 2, 2, [[0, 0], [1, 0], [0, 2], [0, 0]])],
)
def test_groups_three_ways_agree_with_the_engine(
    client: TestClient, channels: int, groups: int, out_channels: int, padding: object
) -> None:
    x = _nhwc(1, 5, 6, channels)
    filters = RNG.integers(-2, 3, size=(3, 3, channels // groups, out_channels)).astype(float)
    body = {"input": x.tolist(), "filters": filters.tolist(), "strides": 1, "padding": padding}
    response = client.post("/api/v1/lessons/groups", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = engine.conv2d(x, filters, 1, padding)
    for name in ("tf_conv2d", "tf_split_concat", "tf_depthwise_sum", "torch_groups"):
        np.testing.assert_allclose(answer["outputs"][name], expected, rtol=0, atol=1e-12,
                                   err_msg=name)
    assert answer["max_abs_difference"] <= 1e-12
    assert answer["groups"] == groups
    assert answer["tf_filter_shape"] == [3, 3, channels // groups, out_channels]
    assert answer["torch_weight_shape"] == [out_channels, channels // groups, 3, 3]
    matrix = np.array(answer["connectivity"])
    assert matrix.shape == (out_channels, channels)
    # Each output reads exactly its group's C/G inputs; depthwise (G = C) is diagonal-like.
    assert (matrix.sum(axis=1) == channels // groups).all()
    for o in range(out_channels):
        group = o // (out_channels // groups)
        assert matrix[o].tolist() == [int(c // (channels // groups) == group)
                                      for c in range(channels)]


def test_groups_matches_pytorch(client: TestClient) -> None:
    torch = pytest.importorskip("torch")
    x = _nhwc(1, 6, 6, 4)
    filters = RNG.normal(size=(3, 3, 2, 6))
    body = {"input": x.tolist(), "filters": filters.tolist(), "strides": 1, "padding": "SAME"}
    answer = client.post("/api/v1/lessons/groups", json=body).json()
    weight = torch.tensor(filters.transpose(3, 2, 0, 1))
    out = torch.nn.functional.conv2d(torch.tensor(x.transpose(0, 3, 1, 2)), weight,
                                     padding="same", groups=2)
    np.testing.assert_allclose(answer["outputs"]["torch_groups"],
                               out.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)


def test_groups_refuses_what_conv2d_refuses(client: TestClient) -> None:
    body = {"input": _nhwc(1, 4, 4, 4).tolist(), "filters": np.ones((3, 3, 3, 2)).tolist(),
            "strides": 1, "padding": "VALID"}
    assert_error(client.post("/api/v1/lessons/groups", json=body), 422, "invalid_configuration",
                 "filters")
    body["data_format"] = "NCHW"
    body["filters"] = np.ones((3, 3, 2, 2)).tolist()
    assert_error(client.post("/api/v1/lessons/groups", json=body), 422, "invalid_value",
                 "data_format")


def test_shared_kernel_three_ways(client: TestClient) -> None:
    x = _nhwc(2, 5, 5, 3)
    kernel = RNG.integers(-2, 3, size=(3, 3)).astype(float)
    tiled = np.repeat(kernel[:, :, None, None], 3, axis=2)
    body = {"input": x.tolist(), "filter": tiled.tolist(), "strides": [1, 2, 2, 1],
            "padding": "SAME"}
    response = client.post("/api/v1/lessons/shared_kernel", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    expected = engine.depthwise_conv2d(x, tiled, [1, 2, 2, 1], "SAME")
    for name in ("tf_depthwise_tiled", "tf_reshape_conv2d", "torch_groups"):
        np.testing.assert_allclose(answer["outputs"][name], expected, atol=1e-12, err_msg=name)
    assert answer["shared"] is True
    assert answer["kernel"] == kernel.tolist()
    assert answer["max_abs_difference"] == 0.0


def test_shared_kernel_needs_multiplier_one(client: TestClient) -> None:
    body = {"input": _nhwc(1, 4, 4, 2).tolist(), "filter": np.ones((3, 3, 2, 2)).tolist(),
            "strides": 1, "padding": "VALID"}
    assert_error(client.post("/api/v1/lessons/shared_kernel", json=body), 422,
                 "invalid_configuration", "filter")
