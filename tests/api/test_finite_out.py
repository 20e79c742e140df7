"""No answer ever carries NaN or Infinity: every route's documented examples, with their
numbers pushed to the edges of float64 and float32, are scanned (JSON text, base64
arrays, every line of a stream); a refusal is a 422 naming a field the request sent."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from tests.api.helpers import assert_error

SCALES = (1e300, 1e154, -1e200, 1e-320)


def scaled(value: Any, scale: float) -> Any:
    """``value`` with every number inside an array multiplied by ``scale``."""
    if isinstance(value, list):
        return [item * scale if isinstance(item, int | float) and not isinstance(item, bool)
                else scaled(item, scale) for item in value]
    if isinstance(value, dict):
        return {key: scaled(item, scale) for key, item in value.items()}
    return value


def reject_constant(token: str) -> Any:
    raise AssertionError(f"{token} in an answer")


def assert_finite_json(text: str) -> None:
    """Valid JSON without NaN/Infinity, and every base64 float array finite."""

    def check(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("dtype") in ("float32", "float64") and isinstance(value.get("data"),
                                                                            str):
                dtype = "<f4" if value["dtype"] == "float32" else "<f8"
                array = np.frombuffer(base64.b64decode(value["data"]), dtype=dtype)
                assert np.isfinite(array).all(), "a base64 array holds NaN or Infinity"
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        elif isinstance(value, float):
            assert np.isfinite(value)

    for line in text.splitlines() or [text]:
        if line.strip():
            check(json.loads(line, parse_constant=reject_constant))


def example_bodies(client) -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for path, operations in client.app.openapi()["paths"].items():
        operation = operations.get("post")
        content = ((operation or {}).get("requestBody") or {}).get("content", {})
        for name, example in content.get("application/json", {}).get("examples", {}).items():
            cases.append((path, name, example["value"]))
    return cases


def test_there_are_examples_to_scan(client) -> None:
    assert len(example_bodies(client)) >= 10


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_no_answer_carries_nan_or_infinity(client, scale: float, dtype: str | None) -> None:
    for path, name, example in example_bodies(client):
        body = scaled(example, scale)
        if dtype and "dtype" not in body:
            body = {**body, "dtype": dtype}
        response = client.post(path, json=body)
        assert response.status_code < 500, (path, name, response.text[:300])
        assert_finite_json(response.text)
        if response.status_code == 422 and response.json()["error"]["code"] == "non_finite":
            field = response.json()["error"]["field"]
            assert field in body, (path, name, "blames a field it never received", field)


def test_a_kernel_whose_factorization_overflows_is_a_422_naming_filters(client) -> None:
    response = client.post("/api/v1/factorize", json={"filters": [[[[1e300, 1e300]]]]})
    error = assert_error(response, 422, "non_finite", "filters")
    assert "float64" in error["message"] and "use float64" not in error["message"]


def test_a_pair_whose_equivalent_kernel_overflows_names_the_pair(client) -> None:
    response = client.post("/api/v1/factorize", json={
        "depthwise_filter": [[[[1e300]]]], "pointwise_filter": [[[[1e300]]]]})
    error = assert_error(response, 422, "non_finite", "depthwise_filter")
    assert "pointwise_filter" in error["message"]


def test_the_overflow_advice_fits_the_dtype_sent(client) -> None:
    from app.api import examples

    body = {**examples.DEPTHWISE, "input": [[[[1e300, 1e300]] * 4] * 4],
            "filter": [[[[1e300, 1e300]] * 2] * 3] * 3}
    error = assert_error(client.post("/api/v1/tf/depthwise_conv2d", json=body), 422,
                         "non_finite", "input")
    assert "overflows float64" in error["message"] and "use float64" not in error["message"]
    body = {**body, "input": [[[[1e30, 1e30]] * 4] * 4], "filter": [[[[1e30, 1e30]] * 2] * 3] * 3,
            "dtype": "float32"}
    error = assert_error(client.post("/api/v1/tf/depthwise_conv2d", json=body), 422,
                         "non_finite", "input")
    assert "overflows float32" in error["message"] and "use float64" in error["message"]


def test_a_non_finite_value_that_slips_through_is_a_422_not_nan(client) -> None:
    from app.api.errors import ApiError
    from app.api.responses import dumps

    assert dumps({"note": "NaN and Infinity are words here"}) == (
        b'{"note":"NaN and Infinity are words here"}')
    with pytest.raises(ApiError) as raised:
        dumps({"relative_error": float("nan")})
    assert raised.value.status == 422 and raised.value.code == "non_finite"
