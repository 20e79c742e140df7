"""``POST /api/v1/trace/backward`` through a real uvicorn: the stages' results are the
engine's backprop answers, the steps add up to them, and bad requests get the envelope."""

from __future__ import annotations

import httpx
import numpy as np

from app.engine import depthwise_conv2d_backprop_filter, depthwise_conv2d_backprop_input
from app.main import create_app
from app.settings import Settings
from tests.api.helpers import assert_error, decoded, encoded, events

PATH = "/api/v1/trace/backward"


def separable_body(rng: np.random.Generator) -> tuple[dict, dict]:
    x = rng.standard_normal((1, 5, 5, 2))
    dw = rng.standard_normal((3, 3, 2, 2))
    pw = rng.standard_normal((1, 1, 4, 3))
    dy = rng.standard_normal((1, 3, 3, 3))
    body = {
        "op": "separable_conv2d", "input": encoded(x), "depthwise_filter": encoded(dw),
        "pointwise_filter": encoded(pw), "strides": [1, 2, 2, 1], "padding": "SAME",
        "out_backprop": encoded(dy), "precision": 17, "chunk_size": 5,
    }
    return body, {"x": x, "dw": dw, "pw": pw, "dy": dy}


def test_the_backward_stream_carries_the_engines_gradients(serve) -> None:
    server = serve(create_app(Settings()))
    body, arrays = separable_body(np.random.default_rng(4))
    response = httpx.post(server.url + PATH, json=body, timeout=30)
    assert response.status_code == 200, response.text
    lines = events(response.text)
    assert lines[0]["event"] == "header" and lines[-1]["event"] == "end"
    stages = [stage["name"] for stage in lines[0]["stages"]]
    assert stages == ["pointwise_gradient", "filter_gradient", "input_gradient"]
    results = {line["stage"]: decoded(line["output"]) for line in lines
               if line["event"] == "stage_end"}
    x, dw, pw, dy = arrays["x"], arrays["dw"], arrays["pw"], arrays["dy"]
    z = __import__("app.engine", fromlist=["depthwise_conv2d"]).depthwise_conv2d(
        x, dw, [1, 2, 2, 1], "SAME")
    np.testing.assert_allclose(results["pointwise_gradient"],
                               z.reshape(-1, 4).T @ dy.reshape(-1, 3), rtol=1e-12)
    dz = dy @ pw[0, 0].T
    np.testing.assert_allclose(
        results["filter_gradient"].reshape(3, 3, 2, 2),
        depthwise_conv2d_backprop_filter(x, [3, 3, 2, 2], dz, [1, 2, 2, 1], "SAME"), rtol=1e-12)
    np.testing.assert_allclose(
        results["input_gradient"],
        depthwise_conv2d_backprop_input([1, 5, 5, 2], dw, dz, [1, 2, 2, 1], "SAME")[0]
        .transpose(2, 0, 1), rtol=1e-12)
    sums = {stage: [] for stage in stages[1:]}
    for line in lines:
        if line["event"] == "chunk" and line["stage"] in sums:
            sums[line["stage"]].extend(decoded(line["fields"]["sum"]).tolist())
    np.testing.assert_allclose(sums["filter_gradient"], results["filter_gradient"]
                               .transpose(3, 2, 0, 1).ravel(), rtol=1e-12)
    np.testing.assert_allclose(sums["input_gradient"], results["input_gradient"].ravel(),
                               rtol=1e-12)
    assert lines[-1]["total_steps"] == 9 + 4 * 9 + 2 * 25


def test_the_documented_example_defaults_to_the_gradient_of_the_sum(serve) -> None:
    server = serve(create_app(Settings()))
    schema = httpx.get(server.url + "/openapi.json").json()
    example = schema["paths"][PATH]["post"]["requestBody"]["content"]["application/json"][
        "examples"]["seed_example_json"]["value"]
    lines = events(httpx.post(server.url + PATH, json=example, timeout=30).text)
    first_chunk = next(line for line in lines if line["event"] == "chunk")
    # L = Σ output: dL/dw[0, 0, 0, 0] sums channel 0's values under tap (0, 0): 1+2 twice.
    assert first_chunk["fields"]["sum"][0] == 6


def test_bad_backward_requests_are_refused_in_the_envelope(serve) -> None:
    server = serve(create_app(Settings(max_frames=50)))
    body, _ = separable_body(np.random.default_rng(5))
    assert_error(httpx.post(server.url + PATH, json=body, timeout=30), 413, "too_many_frames",
                 "input")
    server = serve(create_app(Settings()))
    wrong = {**body, "out_backprop": encoded(np.ones((1, 2, 2, 3)))}
    assert_error(httpx.post(server.url + PATH, json=wrong, timeout=30), 422,
                 "invalid_configuration", "out_backprop")
    # A boolean among the numbers, even in another row than the numbers ([[true], [1]]).
    mixed = {**body, "input": [[[[True, False], [1.0, 2.0]]] * 2],
             "out_backprop": [[[[1.0, 1.0, 1.0]]]], "depthwise_filter": [[[[1.0, 1.0]]]]}
    error = assert_error(httpx.post(server.url + PATH, json=mixed, timeout=30), 422,
                         "invalid_array", "input")
    assert "true or false" in error["message"]
    torch_body = {"op": "torch_conv2d", "input": [[[[1.0]]]], "weight": [[[[1.0]]]]}
    response = httpx.post(server.url + PATH, json=torch_body, timeout=30)
    assert_error(response, 422, "invalid_value", "op")
