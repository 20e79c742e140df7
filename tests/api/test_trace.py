"""The trace stream's frames, in-process: order, values against the engine, encodings,
and the limits enforced while streaming."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from app import engine
from app.api import examples, trace
from tests.api.helpers import assert_error, decoded, events
from tests.api.test_ops import CONFIGURATIONS, RNG_SEED, build

TRACE = "/api/v1/trace"


def stream(client: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(TRACE, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return events(response.text)


def values(array: Any) -> np.ndarray:
    return decoded(array) if isinstance(array, dict) else np.array(array, dtype=np.float64)


def collect(frames: list[dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """Chunk fields of each stage, concatenated in step order."""
    stages: dict[str, dict[str, list[np.ndarray]]] = {}
    for frame in frames:
        if frame["event"] == "chunk":
            fields = stages.setdefault(frame["stage"], {})
            for name, value in frame["fields"].items():
                fields.setdefault(name, []).append(values(value))
    return {stage: {name: np.concatenate(parts) for name, parts in fields.items()}
            for stage, fields in stages.items()}


def test_the_seed_example_streams_header_chunks_stage_end_and_end(client) -> None:
    frames = stream(client, examples.TRACE)
    assert [frame["event"] for frame in frames] == ["header", "chunk", "stage_end", "end"]
    header = frames[0]
    assert header["format"] == 1 and header["encoding"] == "json"
    assert header["total_steps"] == 16 and header["fields"] == {"depthwise": ["products", "sum"]}
    assert header["stages"][0]["order"] == ["q", "r", "i", "j"]
    assert header["kernels"]["depthwise_filter"][1][1] == [[3] * 3] * 3  # (C, M, kh, kw)
    sums = collect(frames)["depthwise"]["sum"]
    # Steps run (q, r, i, j): the sums are the output map, channel q*M + r, flattened.
    output = np.array(examples.SEED_OUTPUT)[0].transpose(2, 0, 1)  # (C*M, Ho, Wo)
    np.testing.assert_array_equal(sums, output.ravel())
    np.testing.assert_array_equal(np.array(frames[2]["output"]), output)
    lines = client.post(TRACE, json=examples.TRACE).text.splitlines(keepends=True)
    assert frames[-1] == {"event": "end", "total_steps": 16, "chunks": 1,
                          "bytes": sum(len(line.encode()) for line in lines[:-1])}


@pytest.mark.parametrize(("index", "case"), list(enumerate(CONFIGURATIONS)))
@pytest.mark.parametrize("encoding", ["binary", "json"])
def test_every_value_sent_matches_the_engine_trace(client, index, case, encoding) -> None:
    op, spec = case
    body, arguments = build(op, spec, RNG_SEED + index)
    precision = 17 if encoding == "json" else 8  # exact: float64 either way
    frames = stream(client, {"op": op, **body, "encoding": encoding, "precision": precision,
                             "chunk_size": 7, "batch_index": 1 if op == "separable_conv2d"
                             and spec["input"][0] == 2 else 0})
    header, sent = frames[0], collect(frames)
    gold_trace = engine.build_trace(op, arguments, header["batch_index"])
    gold: dict[str, dict[str, list[np.ndarray]]] = {}
    maps: dict[str, np.ndarray] = {}
    for item in gold_trace.chunks(7):
        if isinstance(item, engine.StageResult):
            maps[item.stage] = item.output
        else:
            for name, array in item.fields.items():
                gold.setdefault(item.stage, {}).setdefault(name, []).append(array)
    for stage, fields in sent.items():
        assert set(fields) == set(header["fields"][stage])
        for name, array in fields.items():
            np.testing.assert_array_equal(array, np.concatenate(gold[stage][name]))
    stage_ends = [frame for frame in frames if frame["event"] == "stage_end"]
    assert [frame["stage"] for frame in stage_ends] == list(maps)
    for frame in stage_ends:
        np.testing.assert_array_equal(values(frame["output"]), maps[frame["stage"]])
    assert frames[-1]["total_steps"] == gold_trace.total_steps
    chunk_frames = [frame for frame in frames if frame["event"] == "chunk"]
    assert all(frame["count"] <= 7 for frame in chunk_frames)
    assert sum(frame["count"] for frame in chunk_frames) == gold_trace.total_steps


def test_standard_chunks_send_the_output_only_with_a_bias(client) -> None:
    with_bias = stream(client, {"op": "torch_conv2d", **examples.TORCH, "bias": [1, 2, 3, 4]})
    assert with_bias[0]["fields"] == {"standard": ["products", "sum", "output"]}
    without = stream(client, {"op": "conv2d", **examples.CONV2D})
    assert without[0]["fields"] == {"standard": ["products", "sum"]}


def test_full_detail_sends_every_engine_field(client) -> None:
    frames = stream(client, {**examples.TRACE, "detail": "full"})
    chunk = frames[1]["fields"]
    gold = next(iter(engine.build_trace(
        "depthwise_conv2d", {k: v for k, v in examples.DEPTHWISE.items()}).chunks()))
    assert set(chunk) == set(gold.fields)
    for name, array in gold.fields.items():
        np.testing.assert_array_equal(np.array(chunk[name]), array)
    assert chunk["padding_mask"][0][0] == [False] * 3  # booleans stay booleans


def test_precision_rounds_to_significant_digits(client) -> None:
    rng = np.random.default_rng(3)
    body = {"op": "depthwise_conv2d", "input": rng.standard_normal((1, 5, 5, 1)).tolist(),
            "filter": rng.standard_normal((3, 3, 1, 1)).tolist(), "strides": 1,
            "padding": "SAME", "encoding": "json", "precision": 3}
    response = client.post(TRACE, json=body)
    chunk_line = response.text.splitlines()[1]
    assert '"event":"chunk"' in chunk_line
    numbers = re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?", chunk_line.split('"fields":')[1])
    assert len(numbers) == 25 * 10
    for number in numbers:
        mantissa = number.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
        assert len(mantissa) <= 3, number


def test_full_detail_in_binary_sends_integers_and_booleans_compactly(client) -> None:
    frames = stream(client, {**examples.TRACE, "detail": "full", "encoding": "binary"})
    chunk = frames[1]["fields"]
    assert chunk["q"]["dtype"] == "int32" and chunk["padding_mask"]["dtype"] == "bool"
    gold = next(iter(engine.build_trace(
        "depthwise_conv2d", dict(examples.DEPTHWISE)).chunks()))
    for name in ("q", "r", "out_channel", "i", "j", "rows", "cols", "padding_mask"):
        np.testing.assert_array_equal(decoded(chunk[name]), gold.fields[name])


def test_binary_precision_picks_the_float_width(client) -> None:
    header = stream(client, {**examples.TRACE, "encoding": "binary", "precision": 12})[0]
    assert header["dtype"] == "float64" and header["padded_input"]["dtype"] == "float64"


def test_the_stream_stops_with_an_error_event_past_max_stream_bytes(client_with,
                                                                     monkeypatch) -> None:
    monkeypatch.setattr(trace, "estimate_bytes", lambda *args: 0)  # let the stream start
    frames = stream(client_with(max_stream_bytes=3000),
                    {**examples.TRACE, "chunk_size": 1})
    assert frames[0]["event"] == "header" and frames[-1]["event"] == "error"
    assert frames[-1]["error"]["code"] == "stream_too_large"
    assert all(frame["event"] != "end" for frame in frames)


def test_the_stream_stops_with_an_error_event_past_max_stream_seconds(client,
                                                                       monkeypatch) -> None:
    readings = iter([0.0, 3600.0])  # the stream's clock: started, then an hour later

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return next(readings, 3600.0)

    monkeypatch.setattr(trace, "time", Clock)
    frames = stream(client, examples.TRACE)
    assert [frame["event"] for frame in frames] == ["header", "error"]
    assert frames[-1]["error"]["code"] == "stream_timeout"


def test_trace_request_errors(client) -> None:
    assert_error(client.post(TRACE, json={**examples.TRACE, "batch_index": 1}), 422,
                 "invalid_configuration", "batch_index")
    assert_error(client.post(TRACE, json={**examples.TRACE, "op": "pool"}), 422,
                 "invalid_value", "op")
    assert_error(client.post(TRACE, json={**examples.TRACE, "precision": 0}), 422,
                 "invalid_value", "precision")
    assert_error(client.post(TRACE, json={**examples.TRACE, "filter": [[[[1]]]]}), 422,
                 "invalid_configuration", "filter")
