"""Two workers answer alike: no request depends on which process serves it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.faults import server as proc

REQUESTS = 20


@pytest.mark.timeout(180)
def test_two_workers_give_byte_identical_answers_on_fresh_connections(tmp_path: Path) -> None:
    with proc.running(tmp_path / "server.log", workers=2) as server:
        cpu_before = proc.settled_workers(server)
        assert len(cpu_before) == 2
        body = proc.classroom_trace()
        digests: dict[str, set[str]] = {"trace": set(), "presets": set(), "page": set()}
        # No keep-alive: a new connection each time, as from behind a balancer; the kernel
        # hands each one to either worker.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.url, timeout=60, limits=no_reuse) as client:
            for _ in range(REQUESTS):
                for kind, response in (
                    ("trace", client.post("/api/v1/trace", json=body)),
                    ("presets", client.get("/api/v1/presets")),
                    ("page", client.get("/")),
                ):
                    assert response.status_code == 200
                    digests[kind].add(hashlib.sha256(response.content).hexdigest())
        assert all(len(found) == 1 for found in digests.values()), digests
        # Both workers did some of the work.
        assert proc.all_worked_since(cpu_before)
