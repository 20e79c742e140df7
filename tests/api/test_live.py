"""Through a real uvicorn: every endpoint, the stream arriving incrementally, a
disconnect stopping the engine, and the heavy work staying off the event loop.

Incrementality and cancellation are proved with work counters, never the clock:
the engine's chunk generator is wrapped so it blocks at a gate after a few chunks.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from app import engine
from app.api import examples
from app.main import create_app
from app.settings import Settings
from tests.api.helpers import OP_PATHS, assert_error, events
from tests.api.test_ops import CONFIGURATIONS, RNG_SEED, build, engine_output

GATE_TIMEOUT_SECONDS = 30.0


def test_every_documented_example_answers_200_on_a_real_server(live_server) -> None:
    schema = httpx.get(f"{live_server}/openapi.json").json()
    posted = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method == "get":
                # A path parameter takes its documented example.
                filled = path.format(**{
                    parameter["name"]: parameter["schema"]["examples"][0]
                    for parameter in operation.get("parameters", []) if parameter["in"] == "path"
                })
                assert httpx.get(f"{live_server}{filled}").status_code == 200, filled
                continue
            if "application/json" not in operation["requestBody"]["content"]:
                continue  # an upload (multipart): tests/api/test_models*.py post real files
            content = operation["requestBody"]["content"]["application/json"]
            assert content["examples"], f"{path} has no example"
            for example in content["examples"].values():
                response = httpx.post(f"{live_server}{path}", json=example["value"])
                assert response.status_code == 200, (path, response.text)
                posted += 1
    assert posted >= 10


@pytest.mark.parametrize(("index", "case"), list(enumerate(CONFIGURATIONS[::3])))
def test_op_endpoints_on_a_real_server_match_the_engine(live_server, index, case) -> None:
    op, spec = case
    body, arguments = build(op, spec, RNG_SEED + 3 * index)
    answer = httpx.post(f"{live_server}{OP_PATHS[op]}", json=body).json()
    np.testing.assert_array_equal(np.array(answer["output"]), engine_output(op, arguments))


def test_the_seed_example_and_the_envelope_on_a_real_server(live_server) -> None:
    answer = httpx.post(f"{live_server}{OP_PATHS['depthwise_conv2d']}",
                        json=examples.DEPTHWISE).json()
    assert answer["output"] == examples.SEED_OUTPUT
    assert_error(httpx.post(f"{live_server}{OP_PATHS['depthwise_conv2d']}", content=b"{",
                            headers={"content-type": "application/json"}),
                 400, "malformed_json")
    frames = events(httpx.post(f"{live_server}/api/v1/trace", json=examples.TRACE).text)
    assert frames[-1]["event"] == "end"


class Gate:
    """Wraps ``Trace.chunks`` to count the items the engine computes and to block
    before computing item ``open_until`` until ``release`` is set."""

    def __init__(self, open_until: int) -> None:
        self.open_until = open_until
        self.computed = 0
        self.release = threading.Event()
        self.closed = threading.Event()
        self.waiting = threading.Event()

    def wrap(self, chunks: Callable[[int], Iterator[Any]]) -> Callable[[int], Iterator[Any]]:
        def gated(chunk_size: int = 512) -> Iterator[Any]:
            inner = chunks(chunk_size)
            try:
                while True:
                    if self.computed == self.open_until:
                        self.waiting.set()
                        self.release.wait(GATE_TIMEOUT_SECONDS)
                    item = next(inner, None)
                    if item is None:
                        return
                    self.computed += 1
                    yield item
            finally:
                inner.close()
                self.closed.set()

        return gated


@pytest.fixture
def gate(monkeypatch) -> Iterator[Gate]:
    gate = Gate(open_until=2)
    original = engine.build_trace

    def build_gated(*args: Any, **kwargs: Any) -> Any:
        trace = original(*args, **kwargs)
        trace.chunks = gate.wrap(trace.chunks)  # type: ignore[method-assign]
        return trace

    monkeypatch.setattr(engine, "build_trace", build_gated)
    yield gate
    gate.release.set()


# 8x8x2, M = 1, 4 steps per chunk: 128 steps, 32 chunks and a stage_end.
STREAM_BODY = {"op": "depthwise_conv2d", "input": np.ones((1, 8, 8, 2)).tolist(),
               "filter": np.ones((3, 3, 2, 1)).tolist(), "strides": 1, "padding": "SAME",
               "chunk_size": 4}
STREAM_ITEMS = 33


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_header_arrives_before_the_engine_computes_the_last_chunk(
    serve, gate, encoding
) -> None:
    live = serve(create_app(Settings()))
    headers = {"Accept-Encoding": encoding}
    with httpx.Client(timeout=GATE_TIMEOUT_SECONDS) as http, http.stream(
        "POST", f"{live.url}/api/v1/trace", json=STREAM_BODY, headers=headers
    ) as response:
        assert response.headers.get("content-encoding", "identity") == encoding
        lines = response.iter_lines()
        header = json.loads(next(lines))
        assert header["event"] == "header" and header["total_steps"] == 128
        first = json.loads(next(lines))
        assert first["event"] == "chunk"
        # The engine is held at its third chunk: what arrived cannot wait for the last.
        assert gate.waiting.wait(GATE_TIMEOUT_SECONDS)
        assert gate.computed == 2 < STREAM_ITEMS
        gate.release.set()
        rest = [json.loads(line) for line in lines if line]
    assert rest[-1]["event"] == "end" and rest[-1]["chunks"] == 32
    assert gate.computed == STREAM_ITEMS


def test_a_disconnect_stops_the_engine(serve, gate) -> None:
    live = serve(create_app(Settings()))
    with httpx.Client(timeout=GATE_TIMEOUT_SECONDS) as http:
        with http.stream("POST", f"{live.url}/api/v1/trace", json=STREAM_BODY) as response:
            lines = response.iter_lines()
            assert json.loads(next(lines))["event"] == "header"
            assert gate.waiting.wait(GATE_TIMEOUT_SECONDS)
        # Leaving the block closed the connection; wait until uvicorn has seen it.
        deadline = time.monotonic() + GATE_TIMEOUT_SECONDS
        while live.open_connections() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert live.open_connections() == 0
    gate.release.set()
    assert gate.closed.wait(GATE_TIMEOUT_SECONDS), "the engine's generator was never closed"
    # At most the chunk in flight when the client left was computed after the gate.
    assert gate.computed <= gate.open_until + 1 < STREAM_ITEMS


def test_parsing_and_computing_run_off_the_event_loop(client, monkeypatch) -> None:
    from app.api import body, configs, trace

    calls: list[tuple[str, bool]] = []

    def on_event_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def record(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append((function.__name__, on_event_loop()))
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(body, "parse_body", record(body.parse_body))
    monkeypatch.setattr(configs, "run", record(configs.run))
    monkeypatch.setattr(trace, "open_trace", record(trace.open_trace))
    monkeypatch.setattr(trace, "_next_line", record(trace._next_line))
    assert client.post(OP_PATHS["separable_conv2d"], json=examples.SEPARABLE).status_code == 200
    assert client.post("/api/v1/trace", json=examples.TRACE).status_code == 200
    assert {name for name, _ in calls} == {"parse_body", "run", "open_trace", "_next_line"}
    assert not any(on_loop for _, on_loop in calls), calls
