"""What a client does to itself is one INFO line in the log, never an error or a
traceback: leaving while it uploads its body, or not reading a stream until it is cut."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.faults import server as proc
from tests.faults.conftest import FAULT_SETTINGS, SETTLE_TIMEOUT_SECONDS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[proc.ServerProcess]:
    log = tmp_path_factory.mktemp("logs") / "server.log"
    settings = {**FAULT_SETTINGS, "CONVLENS_MAX_STREAM_SECONDS": "1", "CONVLENS_LOG_LEVEL": "info"}
    with proc.running(log, settings) as running:
        yield running


def wait_for(server: proc.ServerProcess, text: str) -> str:
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    while text not in (log := server.log()):
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{log}"
        time.sleep(0.1)
    return log


def assert_quiet(log: str) -> None:
    assert "Traceback" not in log, log
    assert "ERROR" not in log, log
    assert "Exception in ASGI application" not in log, log


def test_a_client_that_leaves_while_uploading_is_one_info_line(
        server: proc.ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /api/v1/tf/depthwise_conv2d HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                     b'{"input": [[[[1, 2')
        time.sleep(0.3)
    log = wait_for(server, "client left while sending its body")
    line = [entry for entry in log.splitlines() if "client left" in entry]
    assert len(line) == 1 and line[0].startswith("INFO"), line
    assert "POST /api/v1/tf/depthwise_conv2d" in line[0]
    assert_quiet(log)


def test_a_stream_cut_off_for_not_reading_is_info(server: proc.ServerProcess) -> None:
    body = json.dumps(proc.large_trace()).encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    with sock:
        sock.sendall(b"POST /api/v1/trace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        log = wait_for(server, "cut off POST /api/v1/trace")
        time.sleep(0.5)  # uvicorn's own line about the unfinished answer, if any
        log = server.log()
    cut = [entry for entry in log.splitlines() if "cut off" in entry]
    assert len(cut) == 1 and cut[0].startswith("INFO"), cut
    assert_quiet(log)
