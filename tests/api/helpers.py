"""Shared checks and request builders for the API tests."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

ENVELOPE_KEYS = {"code", "message", "field", "status"}

OP_PATHS = {
    "conv2d": "/api/v1/tf/conv2d",
    "depthwise_conv2d": "/api/v1/tf/depthwise_conv2d",
    "separable_conv2d": "/api/v1/tf/separable_conv2d",
    "torch_conv2d": "/api/v1/torch/conv2d",
}


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The one error envelope: exact keys, the status repeated, a non-empty message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ENVELOPE_KEYS, error
    assert error["status"] == status
    assert error["code"] == code, error
    assert error["field"] == field, error
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    return error


def encoded(array: np.ndarray, dtype: str = "float64") -> dict[str, Any]:
    """The API's binary array form of ``array``."""
    raw = np.ascontiguousarray(array, dtype="<f4" if dtype == "float32" else "<f8").tobytes()
    return {"dtype": dtype, "shape": list(array.shape), "data": base64.b64encode(raw).decode()}


def decoded(value: dict[str, Any]) -> np.ndarray:
    dtype = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "bool": "?"}[value["dtype"]]
    return np.frombuffer(base64.b64decode(value["data"]), dtype=dtype).reshape(value["shape"])


def events(ndjson: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ndjson.splitlines() if line]
