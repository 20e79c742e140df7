"""``POST /api/v1/trace`` with ``op: "block"``, through a real uvicorn: a block's stages in order
(their events, their maps equal to the engine's run_block), 4xx for bad fields, the limits."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from app import engine
from app.main import create_app
from app.settings import Settings
from tests.api.helpers import assert_error, decoded, events

TRACE = "/api/v1/trace"
BLOCK = {"op": "block", "block": "inverted_residual", "in_channels": 4, "out_channels": 4,
         "expansion": 6, "strides": 1, "input_hw": 6, "seed": 2}
NAMES = ["expand", "expand_bn", "expand_relu6", "depthwise", "depthwise_bn", "depthwise_relu6",
         "project", "project_bn", "add"]


def _post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}{TRACE}", json=body, timeout=60)


def test_an_inverted_residual_streams_its_stages_in_order(live_server) -> None:
    response = _post(live_server, {**BLOCK, "encoding": "binary", "precision": 17})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = events(response.text)
    header, end = lines[0], lines[-1]
    assert (header["event"], header["op"], header["name"]) == ("header", "block",
                                                               "inverted_residual")
    assert [stage["name"] for stage in header["stages"]] == NAMES
    assert header["config"]["expansion"] == 6
    # Steps: expand 36 pixels, 24-channel BN/ReLU6 one step per channel, depthwise 24 x 36.
    assert [stage["steps"] for stage in header["stages"]] == [36, 24, 24, 864, 24, 24, 36, 4, 4]
    assert header["total_steps"] == end["total_steps"] == 1040
    assert header["fields"]["depthwise"] == ["products", "sum"]
    assert header["fields"]["expand_bn"] == ["output"]
    assert header["stages"][0]["trace"]["stages"][0]["name"] == "pointwise"
    assert header["stages"][3]["cost"]["macs"] == 36 * 9 * 24
    # Every stage: its chunks, then its stage_end, in the block's order.
    order = [line["stage"] for line in lines if line["event"] == "stage_end"]
    assert order == NAMES
    block = engine.inverted_residual_block(4, 4, 6, 1, seed=2)
    x = decoded(header["input"]).astype(np.float32).transpose(1, 2, 0)[None]  # (1, H, W, C)
    gold = engine.run_block(block, x)
    maps = {line["stage"]: decoded(line["output"]) for line in lines
            if line["event"] == "stage_end"}
    for result in gold:
        np.testing.assert_array_equal(maps[result.name], result.output[0].transpose(2, 0, 1))
    # The depthwise stage's sums are that map; its input was the expand ReLU6's map.
    sums = np.concatenate([decoded(line["fields"]["sum"]) for line in lines
                           if line["event"] == "chunk" and line["stage"] == "depthwise"])
    np.testing.assert_allclose(sums.reshape(24, 6, 6), maps["depthwise"], rtol=1e-6, atol=1e-6)
    depthwise_trace = header["stages"][3]["trace"]
    np.testing.assert_array_equal(decoded(depthwise_trace["input"]), maps["expand_relu6"])
    starts = [line["global_start"] for line in lines if line["event"] == "chunk"]
    assert starts == sorted(starts) and starts[0] == 0


def test_elementwise_stages_in_full_detail_and_a_folded_block(live_server) -> None:
    body = {"op": "block", "block": "mobilenet_v1", "fold_batch_norm": True, "input_hw": 4,
            "in_channels": 2, "out_channels": 3, "detail": "full", "encoding": "json",
            "precision": 17}
    lines = events(_post(live_server, body).text)
    header = lines[0]
    assert [stage["name"] for stage in header["stages"]] == ["depthwise", "depthwise_relu",
                                                             "pointwise", "pointwise_relu"]
    assert header["fields"]["depthwise_relu"] == ["channel", "input", "output"]
    # The folded BatchNorm is the conv's bias: output = sum + bias at every step.
    assert header["fields"]["depthwise"][-2:] == ["bias", "output"]
    chunk = next(line for line in lines if line["event"] == "chunk"
                 and line["stage"] == "depthwise")["fields"]
    np.testing.assert_allclose(np.add(chunk["sum"], chunk["bias"]), chunk["output"], rtol=1e-6)
    relu = next(line for line in lines if line["event"] == "chunk"
                and line["stage"] == "pointwise_relu")["fields"]
    np.testing.assert_array_equal(np.maximum(relu["input"], 0), relu["output"])
    assert relu["channel"] == [0, 1, 2]


def test_bad_fields_are_422s_naming_the_field(live_server) -> None:
    assert_error(_post(live_server, {**BLOCK, "block": "resnet"}), 422, "invalid_value",
                 "block")
    assert_error(_post(live_server, {**BLOCK, "expansion": 0}), 422, "invalid_value",
                 "expansion")
    assert_error(_post(live_server, {**BLOCK, "kernel": 3}), 422, "unknown_field", "kernel")
    assert_error(_post(live_server, {**BLOCK, "batch_index": 1}), 422,
                 "invalid_configuration", "batch_index")
    assert_error(_post(live_server, {**BLOCK, "backward": True}), 422,
                 "invalid_configuration", "backward")


def test_the_limits_answer_before_the_first_byte(serve) -> None:
    def server(**limits: int) -> str:
        return serve(create_app(Settings(**limits))).url  # type: ignore[arg-type]

    # The block's own work limit (as /api/v1/blocks), the frames, the stream's size.
    response = _post(server(max_macs=1000), BLOCK)
    assert "(max_macs)" in assert_error(response, 413, "too_much_work", "input_hw")["message"]
    response = _post(server(max_frames=1000), BLOCK)
    assert "1,040 steps" in assert_error(response, 413, "too_many_frames", "input")["message"]
    response = _post(server(max_stream_bytes=50_000), BLOCK)
    assert_error(response, 413, "stream_too_large", "input")
    assert _post(server(max_frames=1040), BLOCK).status_code == 200


def test_the_block_example_is_in_the_openapi_document(live_server) -> None:
    schema = httpx.get(f"{live_server}/openapi.json").json()
    content = schema["paths"][TRACE]["post"]["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in content["examples"].values()]
    assert any(example.get("op") == "block" for example in examples)
    assert "BlockTraceRequest" in schema["components"]["schemas"]
