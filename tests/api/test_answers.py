"""Identical trace requests computed once: single-flight, the answer store, Redis across workers.

Through real HTTP (a live uvicorn per app). The Redis tests start a real ``redis-server`` on a
free loopback port and point two apps (two workers) at it; skipped, with the reason, where
``redis-server`` or the ``redis`` client is not installed.
"""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import numpy as np

from app.answers import FlightFailed, LocalFlight, MemoryStore
from app.main import create_app
from app.settings import Settings
from app.teaching import presets
from tests.faults.server import classroom_trace, separable_config
from tests.servers import running_server


def page_classroom() -> dict:
    """The classroom configuration as the page sends it: the rgb test pattern, Sobel x and
    Gaussian depthwise kernels, pointwise weights in eighths (benchmarks/api.py)."""
    kernels = {preset.name: preset.array for preset in presets.named_kernels()}
    pair = np.stack([kernels["sobel_x"], kernels["gaussian"]], axis=-1)  # (3, 3, 2)
    pointwise = np.round(np.random.default_rng(2026).uniform(-1, 1, (1, 1, 6, 8)) * 8) / 8
    return {
        "op": "separable_conv2d", "input": presets.rgb_test_pattern().tolist(),
        "depthwise_filter": np.repeat(pair[:, :, None, :], 3, axis=2).tolist(),
        "pointwise_filter": pointwise.tolist(), "strides": [1, 1, 1, 1], "padding": "SAME",
        "encoding": "binary", "precision": 17, "detail": "compact", "chunk_size": 1024,
    }


CLASSROOM = json.dumps(page_classroom()).encode()
HEADERS = {"Content-Type": "application/json"}


async def ask_together(urls: list[str], body: bytes, count: int) -> list[httpx.Response]:
    """``count`` identical trace requests at once, spread over ``urls``, each its own
    connection; read to the end."""
    async def one(url: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as client:
            return await client.post(url + "/api/v1/trace", content=body, headers=HEADERS)

    return await asyncio.gather(*(one(urls[n % len(urls)]) for n in range(count)))


def ask_then_ask_for_the_kept(client: httpx.Client) -> tuple[httpx.Response, httpx.Response]:
    """The classroom trace, then the same request again accepting gzip: the kept answer."""
    first = client.post("/api/v1/trace", content=CLASSROOM, headers=HEADERS)
    kept = client.post("/api/v1/trace", content=CLASSROOM,
                       headers={**HEADERS, "Accept-Encoding": "gzip"})
    return first, kept


def lines(response: httpx.Response) -> list[dict]:
    return [json.loads(line) for line in response.content.splitlines()]


def test_identical_requests_in_flight_are_computed_once_and_all_get_every_line() -> None:
    app = create_app(Settings())
    with running_server(app) as server:
        answers = asyncio.run(ask_together([server.url], CLASSROOM, 24))
        store, flights = app.state.trace_answers
    assert {response.status_code for response in answers} == {200}
    bodies = {response.content for response in answers}
    assert len(bodies) == 1  # the same bytes for every student, gzip or not
    events = lines(answers[0])
    assert events[0]["event"] == "header" and events[-1]["event"] == "end"
    # One computation: the first asker's; the others joined it or got the kept answer.
    assert flights.started == 1
    assert len(store) == 1


def test_a_finished_trace_is_kept_gzipped_and_served_as_it_is() -> None:
    app = create_app(Settings())
    with running_server(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        first, kept = ask_then_ask_for_the_kept(client)
        plain = client.post("/api/v1/trace", content=CLASSROOM,
                            headers={**HEADERS, "Accept-Encoding": "identity"})
        _, flights = app.state.trace_answers
        packed = asyncio.run(app.state.trace_answers[0].get(next(iter(
            app.state.trace_answers[0].keys()))))
    assert first.content == kept.content == plain.content
    assert kept.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert flights.started == 1
    # Kept at level 6: the page's classroom trace, 1.5 MB plain, under 80 kB on the wire.
    assert gzip.decompress(packed) == first.content
    assert len(first.content) > 1_000_000 and len(packed) <= 80_000


def test_errors_and_different_bodies_are_not_shared() -> None:
    app = create_app(Settings())
    bad = json.dumps({**classroom_trace(), "padding": "HALF"}).encode()
    other = json.dumps({**separable_config(8, 2, 1, 3), "precision": 17}).encode()
    with running_server(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for _ in range(2):
            refused = client.post("/api/v1/trace", content=bad, headers=HEADERS)
            assert refused.status_code == 422 and refused.json()["error"]["field"] == "padding"
        small = client.post("/api/v1/trace", content=other, headers=HEADERS)
        big = client.post("/api/v1/trace", content=CLASSROOM, headers=HEADERS)
        store, flights = app.state.trace_answers
    assert small.content != big.content
    assert len(store) == 2  # the two good answers; no error kept
    assert flights.started == 4


def test_the_store_is_bounded_in_bytes() -> None:
    store = MemoryStore(capacity=100, largest=60)

    async def fill() -> None:
        await store.put("too-large", b"x" * 61)
        for n in range(5):
            await store.put(f"k{n}", bytes(30))
        await store.get("k2")  # recently used: stays
        await store.put("k5", bytes(30))

    asyncio.run(fill())
    assert store.size <= 100
    assert set(store.keys()) == {"k2", "k5", "k4"}


def test_a_flight_nobody_waits_for_is_cancelled_and_errors_reach_every_asker() -> None:
    flights = LocalFlight(retain_bytes=10)
    produced: list[int] = []
    cancelled = asyncio.Event()

    async def slow():  # type: ignore[no-untyped-def]
        try:
            for n in range(100):
                produced.append(n)
                yield b"part-%d" % n
                await asyncio.sleep(0.01)
        finally:
            cancelled.set()

    async def failing():  # type: ignore[no-untyped-def]
        yield b"first"
        raise ValueError("broken")

    async def scenario() -> list[object]:
        stream = flights.stream("slow", slow)
        assert await anext(stream) == b"part-0"
        await stream.aclose()  # the only asker leaves
        await asyncio.wait_for(cancelled.wait(), 5)

        async def read_all() -> object:
            try:
                return [part async for part in flights.stream("bad", failing)]
            except FlightFailed as failure:
                return failure.error

        return await asyncio.gather(read_all(), read_all())

    errors = asyncio.run(scenario())
    assert len(produced) < 100
    assert all(isinstance(error, ValueError) for error in errors)
    assert flights.started == 2 and flights.in_flight() == 0


def test_a_kept_trace_is_answered_before_routing_with_the_security_headers() -> None:
    app = create_app(Settings())
    with running_server(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        first, kept = ask_then_ask_for_the_kept(client)
        not_json = client.post("/api/v1/trace", content=CLASSROOM,
                               headers={"Content-Type": "text/plain", "Accept-Encoding": "gzip"})
    assert kept.content == first.content
    assert kept.headers["content-encoding"] == "gzip"
    assert int(kept.headers["content-length"]) <= 80_000  # the page's trace on the wire
    assert "content-security-policy" in kept.headers
    assert not_json.status_code == 415  # the media-type check still comes first
