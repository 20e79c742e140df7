"""User text never comes back where a browser would run it.

The server echoes user text in error messages (unknown field names, bad values,
paths, query values): each answer must be JSON (``application/json`` +
``nosniff``), the text inside a JSON string. The page is HTML rendered from
server-side values only: user input (the query string) never reaches it.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><svg onload=alert(1)>",
    "javascript:alert(1)",
]
POST_ENDPOINTS = ["/api/v1/tf/depthwise_conv2d", "/api/v1/tf/conv2d", "/api/v1/tf/separable_conv2d",
                  "/api/v1/torch/conv2d", "/api/v1/costs", "/api/v1/factorize",
                  "/api/v1/code", "/api/v1/trace"]
SEED = {
    "input": [[[[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]], [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]],
               [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]]],
    "filter": [[[[1.0]] * 2] * 3] * 3,
    "strides": [1, 1, 1, 1],
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


def assert_safe_json(response: object, payload: str) -> None:
    """A JSON answer, not sniffable as HTML, with the payload only as string data."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.status_code < 500, response.text
    body = json.loads(response.text)  # the payload did not break out of its string

    def strings(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for item in value.items() for part in item for s in strings(part)]
        if isinstance(value, list):
            return [s for item in value for s in strings(item)]
        return []

    # Wherever the payload occurs in the raw text, it lies inside a decoded string.
    raw_hits = response.text.count(payload)
    assert raw_hits <= sum(text.count(payload) for text in strings(body))


def bodies(payload: str) -> list[dict[str, object]]:
    """Every place a request body carries free text: keys, enum values, the op tag."""
    return [
        {**SEED, "op": "depthwise_conv2d", "padding": "VALID", payload: 1},
        {**SEED, "op": "depthwise_conv2d", "padding": payload},
        {**SEED, "op": "depthwise_conv2d", "padding": "VALID", "data_format": payload},
        {**SEED, "op": payload, "padding": "VALID"},
        {**SEED, "op": "depthwise_conv2d", "padding": "VALID", "dtype": payload},
        {**SEED, "op": "depthwise_conv2d", "padding": "VALID", "strides": payload},
        {**SEED, "op": "depthwise_conv2d", "padding": "VALID", "input": payload},
        {**SEED, "op": "depthwise_conv2d", "padding": "VALID",
         "filter": {"dtype": payload, "shape": [1], "data": payload}},
        {"input_hw": payload, "in_channels": 3, "out_channels": 4, "kernel_hw": [3, 3]},
        {"input_hw": [5, 5], "in_channels": 3, "out_channels": 4, "kernel_hw": [3, 3],
         "padding": payload, payload: payload},
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_text_in_request_bodies_comes_back_as_json_data(client: TestClient, path: str,
                                                        payload: str) -> None:
    for body in bodies(payload):
        assert_safe_json(client.post(path, json=body), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_in_paths_queries_and_methods_comes_back_as_json_data(client: TestClient,
                                                                   payload: str) -> None:
    not_found = client.get("/api/v1/" + payload)
    assert_safe_json(not_found, payload)
    assert payload in not_found.json()["error"]["message"]  # a real echo point
    assert_safe_json(client.get("/" + payload), payload)
    assert_safe_json(client.get("/api/v1/presets", params={"seed": payload}), payload)
    assert_safe_json(client.put("/api/v1/trace", content=payload), payload)
    assert_safe_json(client.post("/api/v1/trace", content=payload,
                                 headers={"Content-Type": "text/html"}), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_page_never_carries_text_from_the_request(client: TestClient, payload: str) -> None:
    response = client.get("/", params={"lang": payload, "q": payload},
                          headers={"Referer": payload, "Accept-Language": payload})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert payload not in response.text
    for dangerous in ("<script>alert", "<img src=x", "<svg onload"):
        assert dangerous not in response.text
