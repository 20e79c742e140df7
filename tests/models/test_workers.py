"""Two workers answer the models routes alike: the ONNX file travels with every request, so no
request depends on which process (or replica) serves it, nor on what it cached."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime (the models extra) is not installed")

from app.models import SHIPPED_MODEL, SHIPPED_MODEL_INFO  # noqa: E402
from tests.faults import server as proc  # noqa: E402

REQUESTS = 12
MAX_ROUNDS = 8


@pytest.mark.timeout(180)
def test_two_workers_give_byte_identical_runs_on_fresh_connections(tmp_path: Path) -> None:
    card = json.loads(SHIPPED_MODEL_INFO.read_text())
    image = json.dumps([[card["samples"][4]["image"]]])
    model = SHIPPED_MODEL.read_bytes()
    with proc.running(tmp_path / "server.log", workers=2) as server:
        cpu_before = proc.settled_workers(server)
        assert len(cpu_before) == 2
        digests: set[str] = set()
        no_reuse = httpx.Limits(max_keepalive_connections=0)

        def ask(_: int) -> str:
            with httpx.Client(base_url=server.url, timeout=60, limits=no_reuse) as client:
                response = client.post("/api/v1/models/run", files={"model": ("m.onnx", model)},
                                       data={"layer": "block2.depthwise", "input": image,
                                             "channel": "3", "output_encoding": "base64"})
            assert response.status_code == 200, response.text
            assert response.json()["matches"] is True
            return hashlib.sha256(response.content).hexdigest()

        # Four at a time on fresh connections, until both workers have served (a quiet
        # machine may hand a few sequential connections to one worker), at most 8 rounds.
        with ThreadPoolExecutor(4) as pool:
            for _ in range(MAX_ROUNDS):
                digests.update(pool.map(ask, range(REQUESTS)))
                if proc.all_worked_since(cpu_before):
                    break
        assert len(digests) == 1
        assert proc.all_worked_since(cpu_before)
