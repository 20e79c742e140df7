"""``POST /api/v1/trace`` with ``"backward": true`` through a real uvicorn: the trace
endpoint's backward option streams the backward pass (the events of ``/trace/backward``),
whose stage results are the engine's backprop functions' answers."""

from __future__ import annotations

import httpx
import numpy as np

from app.engine import conv2d_backprop_filter, conv2d_backprop_input
from app.main import create_app
from app.settings import Settings
from tests.api.helpers import assert_error, decoded, encoded, events

TRACE = "/api/v1/trace"


def test_the_backward_option_streams_the_engines_gradients(serve) -> None:
    server = serve(create_app(Settings()))
    rng = np.random.default_rng(12)
    x, w, dy = (rng.standard_normal((1, 5, 4, 2)), rng.standard_normal((3, 2, 2, 3)),
                rng.standard_normal((1, 3, 2, 3)))
    body = {"op": "conv2d", "input": encoded(x), "filters": encoded(w), "strides": [1, 2, 2, 1],
            "padding": "SAME", "out_backprop": encoded(dy), "precision": 17, "chunk_size": 7}
    response = httpx.post(server.url + TRACE, json={**body, "backward": True}, timeout=30)
    assert response.status_code == 200, response.text
    lines = events(response.text)
    assert lines[0]["event"] == "header" and lines[-1]["event"] == "end"
    assert [stage["name"] for stage in lines[0]["stages"]] == ["filter_gradient",
                                                              "input_gradient"]
    results = {line["stage"]: decoded(line["output"]) for line in lines
               if line["event"] == "stage_end"}
    np.testing.assert_allclose(  # the filter's own shape (kh, kw, C_in, C_out)
        results["filter_gradient"],
        conv2d_backprop_filter(x, [3, 2, 2, 3], dy, [1, 2, 2, 1], "SAME"), rtol=1e-12)
    np.testing.assert_allclose(  # (C, H, W) of the traced batch element
        results["input_gradient"],
        conv2d_backprop_input([1, 5, 4, 2], w, dy, [1, 2, 2, 1], "SAME")[0].transpose(2, 0, 1),
        rtol=1e-12)
    # The same stream, byte for byte, as the backward route's.
    same = httpx.post(server.url + TRACE + "/backward", json=body, timeout=30)
    assert same.status_code == 200 and same.text == response.text
    # Without the option the same endpoint still answers the forward trace.
    forward = events(httpx.post(server.url + TRACE, json={
        key: value for key, value in body.items() if key != "out_backprop"}, timeout=30).text)
    assert [stage["name"] for stage in forward[0]["stages"]] == ["standard"]


def test_the_documented_backward_example_is_the_gradient_of_the_sum(serve) -> None:
    server = serve(create_app(Settings()))
    schema = httpx.get(server.url + "/openapi.json").json()
    post = schema["paths"][TRACE]["post"]
    example = post["requestBody"]["content"]["application/json"]["examples"][
        "backward_pass"]["value"]
    assert example["backward"] is True
    lines = events(httpx.post(server.url + TRACE, json=example, timeout=30).text)
    first_chunk = next(line for line in lines if line["event"] == "chunk")
    assert first_chunk["stage"] == "filter_gradient"
    assert first_chunk["fields"]["sum"][0] == 6  # 1+2 under tap (0, 0), twice
    properties = schema["components"]["schemas"]["Conv2DTraceRequest"]["properties"]
    assert properties["backward"]["default"] is False and "out_backprop" in properties


def test_the_backward_option_is_refused_where_it_does_not_apply(serve) -> None:
    server = serve(create_app(Settings()))
    torch_body = {"op": "torch_conv2d", "input": [[[[1.0, 2], [3, 4]]]],
                  "weight": [[[[1.0]]]], "backward": True, "encoding": "json"}
    assert_error(httpx.post(server.url + TRACE, json=torch_body, timeout=30), 422,
                 "invalid_configuration", "backward")
    forward_body = {"op": "conv2d", "input": [[[[1.0], [2]], [[3], [4]]]],
                    "filters": [[[[1.0]]]], "strides": 1, "padding": "VALID",
                    "out_backprop": [[[[1.0], [1]], [[1], [1]]]]}
    assert_error(httpx.post(server.url + TRACE, json=forward_body, timeout=30), 422,
                 "invalid_configuration", "out_backprop")
    # An escaped key is the same key: still the backward pass.
    raw = (b'{"op": "conv2d", "input": [[[[1.0], [2]], [[3], [4]]]], "filters": [[[[1.0]]]], '
           b'"strides": 1, "padding": "VALID", "encoding": "json", "\\u0062ackward": true}')
    escaped = httpx.post(server.url + TRACE, content=raw,
                         headers={"content-type": "application/json"}, timeout=30)
    assert escaped.status_code == 200
    assert events(escaped.text)[0]["stages"][0]["name"] == "filter_gradient"
    assert_error(httpx.post(server.url + TRACE + "/backward", json={
        **forward_body, "backward": False}, timeout=30), 422, "invalid_value", "backward")
