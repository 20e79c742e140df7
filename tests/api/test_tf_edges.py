"""TF's edge semantics through real HTTP routes: an output emptied by TF's truncating
division (input smaller than the window), and the refusals that say what TF does instead."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.api.helpers import OP_PATHS, assert_error
from tests.api.test_trace import stream

# Issue 10's example: input [1,1,1,1], filter [4,4,1,1], strides 2, VALID -> TF gives [1,0,0,1].
SMALLER_THAN_WINDOW = {
    "input": np.ones((1, 1, 1, 1)).tolist(),
    "filter": np.ones((4, 4, 1, 1)).tolist(),
    "strides": 2,
    "padding": "VALID",
}
SEPARABLE_EMPTY = {
    "input": np.ones((2, 2, 3, 2)).tolist(),
    "depthwise_filter": np.ones((4, 4, 2, 2)).tolist(),
    "pointwise_filter": np.ones((1, 1, 4, 3)).tolist(),
    "strides": [1, 3, 3, 1],
    "padding": "VALID",
}


@pytest.mark.parametrize(
    ("op", "body", "shape"),
    [
        ("depthwise_conv2d", SMALLER_THAN_WINDOW, [1, 0, 0, 1]),
        ("separable_conv2d", SEPARABLE_EMPTY, [2, 0, 0, 3]),
        ("conv2d", {**SMALLER_THAN_WINDOW, "filters": SMALLER_THAN_WINDOW["filter"],
                    "filter": None}, [1, 0, 0, 1]),
    ],
)
def test_an_empty_output_is_answered_by_op_trace_and_code(
    live_server: str, op: str, body: dict[str, Any], shape: list[int]
) -> None:
    import httpx

    body = {key: value for key, value in body.items() if value is not None}
    with httpx.Client(base_url=live_server) as client:
        answer = client.post(OP_PATHS[op], json=body)
        assert answer.status_code == 200, answer.text
        assert np.array(answer.json()["output"]).size == 0
        assert answer.json()["shape"] == shape  # JSON cannot nest an empty axis: [[]]
        frames = stream(client, {"op": op, **body, "encoding": "json"})
        assert [frame["event"] for frame in frames][0] == "header"
        assert frames[0]["total_steps"] == 0 and frames[-1]["event"] == "end"
        stage_ends = [frame for frame in frames if frame["event"] == "stage_end"]
        assert stage_ends and all(np.array(end["output"]).size == 0 for end in stage_ends)
        code = client.post("/api/v1/code", json={"op": op, **body})
        assert code.status_code == 200, code.text
        assert code.json()["output_shape"] == shape


def test_costs_of_an_empty_output(client) -> None:
    answer = client.post("/api/v1/costs", json={
        "input_hw": [1, 1], "in_channels": 1, "out_channels": 1, "kernel_hw": [4, 4],
        "strides": 2, "padding": "VALID",
    })
    assert answer.status_code == 200, answer.text
    costs = answer.json()["costs"]
    assert costs["output_hw"] == [0, 0] and costs["depthwise"]["macs"] == 0
    assert costs["depthwise"]["weights"] == 16


def test_a_negative_output_size_is_still_refused(client) -> None:
    error = assert_error(
        client.post(OP_PATHS["depthwise_conv2d"], json={**SMALLER_THAN_WINDOW, "strides": 1}),
        422, "invalid_configuration", "padding",
    )
    assert "truncated toward zero as TF does" in error["message"]


def test_a_one_element_depthwise_dilation_list_is_refused_with_tf_meaning(client) -> None:
    body = {"input": np.ones((1, 8, 8, 2)).tolist(), "filter": np.ones((3, 3, 2, 1)).tolist(),
            "strides": [1, 1, 1, 1], "padding": "VALID", "dilations": [2]}
    error = assert_error(client.post(OP_PATHS["depthwise_conv2d"], json=body), 422,
                         "invalid_configuration", "dilations")
    assert "dilations=[2] dilates the height by 2 and the width by 1" in error["message"]


def test_dilation_with_stride_refusal_points_to_grouped_conv2d(client) -> None:
    body = {"input": np.arange(1, 26.0).reshape(1, 5, 5, 1).tolist(),
            "filter": np.ones((2, 2, 1, 1)).tolist(), "strides": 2, "padding": "VALID",
            "dilations": 2}
    error = assert_error(client.post(OP_PATHS["depthwise_conv2d"], json=body), 422,
                         "invalid_configuration", "dilations")
    assert "only warns" in error["message"] and "[kh, kw, 1, C*M]" in error["message"]
    # The way the message points to: conv2d, groups = C, gives the textbook answer.
    body["filters"] = body.pop("filter")
    grouped = client.post(OP_PATHS["conv2d"], json=body)
    assert grouped.status_code == 200, grouped.text
    assert grouped.json()["output"] == [[[[28.0], [36.0]], [[68.0], [76.0]]]]
