"""SIGTERM with streams open: the server (and every worker) exits, after at most the
graceful-shutdown timeout, without anyone reading those streams."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.faults import server as proc
from tests.faults.test_faults import connect, post_head, read_all

EXIT_TIMEOUT_SECONDS = 30.0  # hang guard; the timeout set below is 1 s


def is_running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_with_open_streams_ends_them_and_exits(tmp_path: Path, workers: int) -> None:
    settings = {"CONVLENS_GRACEFUL_SHUTDOWN_SECONDS": "1", "CONVLENS_MAX_STREAM_SECONDS": "60"}
    server = proc.start_server(tmp_path / "server.log", settings, workers=workers)
    clients: list[socket.socket] = []
    try:
        time.sleep(0.5)
        idle_fds = proc.open_fds(server.pid)
        tree = proc.process_tree(server.pid)
        assert len(tree) >= workers
        body = json.dumps(proc.large_trace()).encode()
        clients += [connect(server, receive_buffer=4096) for _ in range(3)]
        for sock in clients:
            sock.sendall(post_head(server, "/api/v1/trace", len(body)) + body)
        deadline = time.monotonic() + EXIT_TIMEOUT_SECONDS
        while proc.open_fds(server.pid) < idle_fds + len(clients):
            assert time.monotonic() < deadline, "the streams never started"
            time.sleep(0.05)
        for sock in clients:
            assert sock.recv(64).startswith(b"HTTP/1.1 200")  # streaming, then unread

        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=EXIT_TIMEOUT_SECONDS)
        assert code in (0, -signal.SIGTERM), server.log()
        # Workers, and multiprocessing's resource tracker once its pipe closes, follow.
        while alive := [pid for pid in tree if is_running(pid)]:
            assert time.monotonic() < deadline + EXIT_TIMEOUT_SECONDS, f"{alive} outlived it"
            time.sleep(0.1)
        for sock in clients:
            sock.settimeout(EXIT_TIMEOUT_SECONDS)
            assert b'"event":"end"' not in read_all(sock)
    finally:
        for sock in clients:
            sock.close()
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    log = server.log()
    assert "Traceback" not in log, log
    assert "timeout graceful shutdown exceeded" in log
