"""Messages a student can act on (issue 11, item 7): each names the field sent and says
what to write instead."""

from __future__ import annotations

from app.api import examples
from tests.api.helpers import OP_PATHS, assert_error

DEPTHWISE = OP_PATHS["depthwise_conv2d"]


def test_a_trace_without_op_lists_the_ops(client) -> None:
    body = {key: value for key, value in examples.TRACE.items() if key != "op"}
    error = assert_error(client.post("/api/v1/trace", json=body), 422, "missing_field", "op")
    assert "'depthwise_conv2d'" in error["message"] and "'torch_conv2d'" in error["message"]


def test_a_key_with_invisible_characters_is_named_escaped(client) -> None:
    body = {**examples.DEPTHWISE, "\u202estrides": 1}
    error = assert_error(client.post(DEPTHWISE, json=body), 422, "unknown_field",
                         "\u202estrides")
    assert "'\\u202estrides' is not a field" in error["message"]
    assert "did you mean 'strides'" in error["message"]


def test_pytorch_names_sent_to_tf_get_did_you_mean(client) -> None:
    body = {key: value for key, value in examples.CONV2D.items()
            if key not in ("strides", "filters")}
    body |= {"stride": 1, "filter": examples.CONV2D["filters"]}
    error = assert_error(client.post(OP_PATHS["conv2d"], json=body), 422, "unknown_field",
                         "stride")
    assert "did you mean 'strides'" in error["message"]
    assert "filter: did you mean 'filters'" in error["message"]


def test_five_strides_say_at_most_four(client) -> None:
    error = assert_error(client.post(DEPTHWISE, json={**examples.DEPTHWISE,
                                                      "strides": [1, 1, 1, 1, 1]}),
                         422, "invalid_value", "strides")
    assert "at most 4 items" in error["message"]


def test_negative_pytorch_padding_says_non_negative(client) -> None:
    error = assert_error(client.post(OP_PATHS["torch_conv2d"],
                                     json={**examples.TORCH, "padding": -1}),
                         422, "invalid_value", "padding")
    assert "greater than or equal to 0" in error["message"]
