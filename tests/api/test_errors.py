"""One error envelope for every failure class, and a 413 for every limit."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

from app.api import arrays, examples
from tests.api.helpers import OP_PATHS, assert_error, encoded

DEPTHWISE = OP_PATHS["depthwise_conv2d"]
SEPARABLE = OP_PATHS["separable_conv2d"]
TORCH = OP_PATHS["torch_conv2d"]
JSON_TYPE = {"content-type": "application/json"}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


# ------------------------------------------------------------------ 400/404/405

def test_malformed_json_is_a_400(client) -> None:
    assert_error(client.post(DEPTHWISE, content=b'{"input": [1,', headers=JSON_TYPE), 400,
                 "malformed_json")
    assert_error(client.post(DEPTHWISE, content=b"", headers=JSON_TYPE), 400, "malformed_json")


def test_unknown_route_and_method_answer_in_the_envelope(client) -> None:
    assert_error(client.get("/api/v1/nope"), 404, "not_found")
    assert_error(client.get(DEPTHWISE), 405, "method_not_allowed")


# ------------------------------------------------------------------------ 422

def test_a_body_that_is_not_an_object(client) -> None:
    assert_error(client.post(DEPTHWISE, json=[1, 2]), 422, "invalid_value")


def test_missing_field_is_named(client) -> None:
    body = dict(examples.DEPTHWISE)
    del body["filter"]
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "missing_field", "filter")
    assert "filter is required" in error["message"]


def test_unknown_field_suggests_the_right_name(client) -> None:
    body = with_(examples.DEPTHWISE, stride=1)
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "unknown_field", "stride")
    assert "did you mean 'strides'" in error["message"]
    torch_body = with_(examples.TORCH, strides=1)
    error = assert_error(client.post(TORCH, json=torch_body), 422, "unknown_field", "strides")
    assert "did you mean 'stride'" in error["message"]


@pytest.mark.parametrize(("field", "value"), [
    ("padding", "SOME"), ("data_format", "NWHC"), ("dtype", "float16"),
    ("output_encoding", "hex"), ("strides", [1, "a"]), ("strides", 0), ("strides", 1.5),
    ("dilations", "two"),
])
def test_unknown_enums_and_wrong_types_are_422_naming_the_field(client, field, value) -> None:
    body = with_(examples.DEPTHWISE, **{field: value})
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "invalid_value", field)
    assert error["message"].startswith(field)


def test_inconsistent_shapes_read_like_the_engine_rule(client) -> None:
    x = np.zeros((1, 5, 5, 4))
    body = {
        "input": x.tolist(), "depthwise_filter": np.zeros((3, 3, 3, 1)).tolist(),
        "pointwise_filter": np.zeros((1, 1, 3, 2)).tolist(), "strides": 1, "padding": "SAME",
    }
    error = assert_error(client.post(SEPARABLE, json=body), 422, "invalid_configuration",
                         "depthwise_filter")
    assert error["message"] == "depthwise_filter has in_channels=3 but input has 4 channels"


def test_the_dilation_with_stride_rule(client) -> None:
    body = with_(examples.DEPTHWISE, strides=2, dilations=2, padding="SAME")
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "invalid_configuration",
                         "dilations")
    assert "strides" in error["message"]


def test_pytorch_rules_name_their_fields(client) -> None:
    error = assert_error(client.post(TORCH, json=with_(examples.TORCH, bias=[1, 2, 3])), 422,
                         "invalid_configuration", "bias")
    assert "out_channels=4" in error["message"]
    assert_error(client.post(TORCH, json=with_(examples.TORCH, padding="same", stride=2)), 422,
                 "invalid_configuration", "padding")
    assert_error(client.post(TORCH, json=with_(examples.TORCH, groups=3)), 422,
                 "invalid_configuration", "groups")


@pytest.mark.parametrize("raw", [
    b'{"input": [[[[NaN, 1]]]], "filter": [[[[1], [1]]]], "strides": 1, "padding": "SAME"}',
    b'{"input": [[[[Infinity, 1]]]], "filter": [[[[1], [1]]]], "strides": 1, "padding": "SAME"}',
    b'{"input": [[[[1e999, 1]]]], "filter": [[[[1], [1]]]], "strides": 1, "padding": "SAME"}',
])
def test_non_finite_numbers_are_refused(client, raw) -> None:
    error = assert_error(client.post(DEPTHWISE, content=raw, headers=JSON_TYPE), 422,
                         "non_finite", "input")
    assert "finite" in error["message"]


def test_values_beyond_float32_and_overflowing_results(client) -> None:
    big = with_(examples.DEPTHWISE, input=[[[[1e300, 1e300]] * 4] * 4])
    error = assert_error(client.post(DEPTHWISE, json=with_(big, dtype="float32")), 422,
                         "non_finite", "input")
    assert "float32" in error["message"]
    overflow = with_(big, filter=[[[[1e300, 1e300]] * 2] * 3] * 3)
    error = assert_error(client.post(DEPTHWISE, json=overflow), 422, "non_finite", "input")
    assert "overflows" in error["message"]


@pytest.mark.parametrize(("value", "words"), [
    ([[[[1, 2], [3]]]] * 1, "rectangular"),
    ([[[[1, "2"]]]], "rectangular"),
    ([[[[1, None]]]], "rectangular"),
    ([[[[True, False]]]], "rectangular"),
    ([[[1, 2]]], "4-D"),
    ([[[[]]]], "empty"),
    ("abc", "nested list"),
    ({"dtype": "float64", "shape": [1, 1, 1, 2], "data": "AAAA"}, "base64 characters"),
    ({"dtype": "float64", "shape": [1, 1, 1, 2], "data": "!" * 24}, "base64"),
])
def test_malformed_arrays_are_invalid_array(client, value, words) -> None:
    body = {"input": value, "filter": [[[[1], [1]]]], "strides": 1, "padding": "VALID"}
    if words == "rectangular":
        body["filter"] = [[[[1]] * (len(value[0][0][0]))]]
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "invalid_array", "input")
    assert words in error["message"]


# ------------------------------------------------------------------------ 413

def big_input(height: int, width: int = 4, channels: int = 2, batch: int = 1) -> list[Any]:
    return np.ones((batch, height, width, channels)).tolist()


def depthwise_body(x: Any, kernel: int = 3, channels: int = 2, multiplier: int = 1,
                   **extra: Any) -> dict[str, Any]:
    return {"input": x, "filter": np.ones((kernel, kernel, channels, multiplier)).tolist(),
            "strides": 1, "padding": "SAME", **extra}


def test_body_size_limit(client_with) -> None:
    client = client_with(max_body_bytes=1000)
    error = assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(30))), 413,
                         "body_too_large")
    assert "max_body_bytes" in error["message"]

    def chunks() -> Any:  # no Content-Length: the limit holds while reading
        yield b'{"input": ['
        for _ in range(100):
            yield b"[[[1, 1], [1, 1]]],"
        yield b"[]]}"

    assert_error(client.post(DEPTHWISE, content=chunks(), headers=JSON_TYPE), 413,
                 "body_too_large")


def test_element_limit_is_checked_before_any_array_is_allocated(client_with, monkeypatch) -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("an array was allocated before the limit check")

    monkeypatch.setattr(arrays, "_from_nested", never)
    monkeypatch.setattr(arrays, "_decode", never)
    client = client_with(max_elements=50)
    error = assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(8))), 413,
                         "too_many_elements", "input")
    assert "max_elements" in error["message"] and "64" in error["message"]
    huge = encoded(np.ones((1, 1, 1, 2)))
    huge["shape"] = [1, 10**6, 10**6, 2]  # declared far beyond the data: still a 413 first
    assert_error(client.post(DEPTHWISE, json=depthwise_body(huge)), 413, "too_many_elements",
                 "input")


def test_element_limit_covers_what_the_engine_allocates(client_with) -> None:
    client = client_with(max_elements=200)
    padded = depthwise_body(big_input(4), padding=[[0, 0], [20, 20], [0, 0], [0, 0]])
    assert_error(client.post(DEPTHWISE, json=padded), 413, "too_many_elements", "padding")
    wide = depthwise_body(big_input(6, 6), multiplier=8)  # output 6*6*16 = 576
    assert_error(client.post(DEPTHWISE, json=wide), 413, "too_many_elements", "input")


def test_kernel_channel_batch_and_work_limits(client_with) -> None:
    client = client_with(max_kernel_size=3, max_channels=4, max_batch=2, max_macs=1000)
    error = assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(6), kernel=5)),
                         413, "kernel_too_large", "filter")
    assert "5x5" in error["message"]
    assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(4, channels=6),
                                                            channels=6)),
                 413, "too_many_channels", "input")
    assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(4), multiplier=3)),
                 413, "too_many_channels", "filter")
    assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(4, batch=3))),
                 413, "batch_too_large", "input")
    error = assert_error(client.post(DEPTHWISE, json=depthwise_body(big_input(10, 10))),
                         413, "too_much_work", "input")
    assert "max_macs" in error["message"]


def test_the_frame_limit_is_checked_before_the_trace_starts(client_with) -> None:
    client = client_with(max_frames=31)  # the seed example has 16 steps; 32 with 2 images
    body = {"op": "depthwise_conv2d", **depthwise_body(big_input(4))}  # 2*4*4 = 32 steps
    error = assert_error(client.post("/api/v1/trace", json=body), 413, "too_many_frames",
                         "input")
    assert "max_frames" in error["message"]


def test_the_stream_byte_limit_is_checked_before_the_trace_starts(client_with) -> None:
    client = client_with(max_stream_bytes=2000)
    body = {"op": "depthwise_conv2d", **depthwise_body(big_input(8, 8))}
    error = assert_error(client.post("/api/v1/trace", json=body), 413, "stream_too_large",
                         "input")
    assert "max_stream_bytes" in error["message"]


def test_the_binary_form_is_checked_for_consistency(client) -> None:
    raw = base64.b64encode(np.ones(3).astype("<f8").tobytes()).decode()
    body = depthwise_body({"dtype": "float64", "shape": [1, 1, 1, 2], "data": raw})
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "invalid_array", "input")
    assert "needs" in error["message"]
