"""Only JSON in: the Content-Type a route documents (415 otherwise), duplicate keys
refused, booleans inside numeric arrays refused; multipart only where a route declares
an upload in its OpenAPI request body."""

from __future__ import annotations

import json

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient

from app.api import examples
from app.main import create_app
from app.settings import Settings
from tests.api.helpers import OP_PATHS, assert_error

DEPTHWISE = OP_PATHS["depthwise_conv2d"]
BODY = json.dumps(examples.DEPTHWISE).encode()


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1", "application/xml",
])
def test_a_body_that_is_not_declared_json_is_a_415(client, content_type) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(DEPTHWISE, content=BODY, headers=headers)
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON;charset=\"UTF-8\"",
])
def test_json_in_utf8_is_served(client, content_type) -> None:
    response = client.post(DEPTHWISE, content=BODY, headers={"content-type": content_type})
    assert response.status_code == 200, response.text


def test_every_json_route_refuses_text_plain(client) -> None:
    for path, operations in client.app.openapi()["paths"].items():
        body = (operations.get("post") or {}).get("requestBody")
        if body and "application/json" in body["content"]:
            response = client.post(path, content=b"{}", headers={"content-type": "text/plain"})
            assert_error(response, 415, "unsupported_media_type")


def test_a_route_declaring_an_upload_takes_multipart_and_nothing_else() -> None:
    """The mechanism for upload routes: declare the media types in the request body."""
    router = APIRouter()

    @router.post("/api/v1/test-upload", openapi_extra={"requestBody": {"content": {
        "multipart/form-data": {"schema": {"type": "object"}}}}})
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app = create_app(Settings())
    app.include_router(router)
    client = TestClient(app)
    form = client.post("/api/v1/test-upload", files={"model": ("net.onnx", b"12345")})
    assert form.status_code == 200, form.text
    refused = client.post("/api/v1/test-upload", json={"model": "x"})
    assert_error(refused, 415, "unsupported_media_type")


@pytest.mark.parametrize(("raw", "named"), [
    pytest.param(b'{"input": [[[[1, 1]]]], "filter": [[[[1], [1]]]], "strides": "bad",'
                 b' "strides": [1, 1, 1, 1], "padding": "VALID"}',
                 "'strides' more than once", id="top-level"),
    pytest.param(b'{"input": {"dtype": "float64", "dtype": "float32", "shape": [1, 1, 1, 1],'
                 b' "data": "AAAAAAAA8D8="}, "filter": [[[[1]]]], "strides": 1, "padding": "SAME"}',
                 "'dtype'", id="nested"),
])
def test_duplicate_keys_are_refused(client, raw: bytes, named: str) -> None:
    response = client.post(DEPTHWISE, content=raw, headers={"content-type": "application/json"})
    error = assert_error(response, 400, "malformed_json")
    assert named in error["message"]


@pytest.mark.parametrize("value", [
    [[[[True, 2]]]], [[[[1.5, False]]]], [[[[1, 2]], [[True, 3]]]],
    [[[[True, False]], [[1, 2]]]],  # the booleans and the numbers in different rows
])
def test_booleans_among_numbers_are_refused(client, value) -> None:
    body = {**examples.DEPTHWISE, "input": value, "filter": [[[[1], [1]]]]}
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "invalid_array", "input")
    assert "true or false" in error["message"]


def test_the_words_true_and_false_in_strings_are_not_booleans(client) -> None:
    body = {**examples.DEPTHWISE, "padding": "[true,"}
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "invalid_value", "padding")
    assert "true or false" not in error["message"]
