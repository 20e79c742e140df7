"""Kept answers and single-flight shared by two workers through a real Redis.

``redis-server`` (Debian's package) is started on a free loopback port, bounded like a
deployment (``maxmemory`` + ``allkeys-lru``); two apps (two workers) point at it. Skipped, with
the reason, where ``redis-server`` or the ``redis`` client is not installed.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api.trace import answer_key
from app.main import create_app
from app.settings import Settings
from tests.api.test_answers import ask_together, page_classroom
from tests.servers import running_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    pytest.importorskip("redis", reason="the redis client is not installed (pip install redis)")
    port = free_port()
    folder: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def close_on_its_loop(app: object) -> None:
    """The Redis connections, closed by the server's own loop before it stops."""
    store = app.state.trace_answers[0]  # type: ignore[attr-defined]
    asyncio.run_coroutine_threadsafe(store.close(), store.loop).result(10)


def test_two_workers_share_one_computation_and_the_kept_answer_through_redis(
    redis_url: str,
) -> None:
    import redis

    apps = [create_app(Settings(redis_url=redis_url)) for _ in range(2)]
    body = json.dumps({**page_classroom(), "chunk_size": 128}).encode()
    with running_server(apps[0]) as one, running_server(apps[1]) as two:
        answers = asyncio.run(ask_together([one.url, two.url], body, 12))
        later = asyncio.run(ask_together([two.url, one.url], body, 4))
        produced = [app.state.trace_answers[1].produced for app in apps]
        for app in apps:
            close_on_its_loop(app)
    with redis.Redis.from_url(redis_url) as client:
        kept = client.get(f"convlens:answer:{answer_key(body)}")
        leftovers = [key for key in client.keys("convlens:flight:*")]
    assert {response.status_code for response in answers + later} == {200}
    assert len({response.content for response in answers + later}) == 1
    assert sum(produced) == 1, produced  # one computation for both workers
    assert kept is not None and gzip.decompress(kept) == answers[0].content
    assert leftovers == []  # the producer released its lock
