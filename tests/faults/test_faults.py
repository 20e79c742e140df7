"""Faults against a real server: every one ends with the server back at its baseline
(health answers, connections closed, no work running, threads and memory as before)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults import server as proc
from tests.faults.conftest import (
    FAULT_SETTINGS,
    HEALTH_TIMEOUT_SECONDS,
    SETTLE_TIMEOUT_SECONDS,
    trace_many,
    wait_for_fds,
)

pytestmark = pytest.mark.timeout(300)


def connect(server: proc.ServerProcess, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(SETTLE_TIMEOUT_SECONDS)
    sock.connect(("127.0.0.1", server.port))
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (hang guard: the socket timeout)."""
    received = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received.append(chunk)
    return b"".join(received)


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def post_head(server: proc.ServerProcess, path: str, length: int | None,
              content_type: str = "application/json") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: {content_type}\r\n{framing}\r\n\r\n").encode()


def health_ok(server: proc.ServerProcess) -> bool:
    response = httpx.get(server.url + "/api/v1/health", timeout=HEALTH_TIMEOUT_SECONDS)
    return response.status_code == 200


def test_clients_that_disconnect_mid_stream_stop_the_work(recovered: proc.ServerProcess) -> None:
    async def read_a_little_and_leave() -> None:
        async with httpx.AsyncClient(base_url=recovered.url, timeout=60) as client:
            async with client.stream("POST", "/api/v1/trace", json=proc.large_trace()) as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                header = json.loads(await anext(lines))
                assert header["event"] == "header"
                await anext(lines)
                # Leaving the block closes the connection with the stream half sent.

    async def main() -> None:
        await asyncio.gather(*(read_a_little_and_leave() for _ in range(10)))

    proc.run_async(main())
    # `recovered` then checks no trace is still being computed for the vanished clients.


MALFORMED = {
    "open": b"{",
    "unterminated": b"[1, 2",
    "not-utf8": b"\xff\xfe{}",
    "empty": b"",
    "null": b"null",
    "list": b"[]",
    "string": b'"a string"',
    "nan": b'{"op": "depthwise_conv2d", "input": [[[[NaN]]]]}',
    "deep-nesting": b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "duplicate-key": b'{"op": "depthwise_conv2d", "op": "conv2d"}',
}


def test_malformed_json_is_answered_in_the_envelope_never_a_500(
        recovered: proc.ServerProcess) -> None:
    for path in ("/api/v1/trace", "/api/v1/tf/depthwise_conv2d", "/api/v1/code"):
        for name, body in MALFORMED.items():
            response = httpx.post(recovered.url + path, content=body,
                                  timeout=HEALTH_TIMEOUT_SECONDS,
                                  headers={"Content-Type": "application/json"})
            assert response.status_code in (400, 422), (path, name, response.text[:300])
            error = response.json()["error"]
            assert error["status"] == response.status_code
            assert error["code"] in ("malformed_json", "invalid_value", "missing_field",
                                     "unknown_field", "non_finite", "invalid_array"), (
                path, name, error)


def test_a_declared_oversized_body_is_refused_before_it_is_sent(
        recovered: proc.ServerProcess) -> None:
    limit = int(FAULT_SETTINGS["CONVLENS_MAX_BODY_BYTES"])
    with connect(recovered) as sock:
        # Only the head: the server must answer without waiting for 50 MB.
        sock.sendall(post_head(recovered, "/api/v1/trace", 50 * limit))
        status, body = status_and_body(read_all_or_first_answer(sock))
    assert status == 413
    assert body["error"]["code"] == "body_too_large"


def read_all_or_first_answer(sock: socket.socket) -> bytes:
    """One complete HTTP answer with a Content-Length body (the server may keep the socket)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "closed before an answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed mid-answer"
        body += chunk
    return head + b"\r\n\r\n" + body


def test_an_undeclared_oversized_body_is_never_held_in_memory(
        recovered: proc.ServerProcess) -> None:
    limit = int(FAULT_SETTINGS["CONVLENS_MAX_BODY_BYTES"])
    peak_before = proc.peak_rss_bytes(recovered.pid)
    total = 256 * 2**20

    def chunks() -> Iterator[bytes]:
        piece = b" " * 2**20
        for _ in range(total // len(piece)):
            yield piece

    try:
        response = httpx.post(recovered.url + "/api/v1/trace", content=chunks(),
                              headers={"Content-Type": "application/json"}, timeout=120)
    except httpx.TransportError:
        pass  # the server may close while we are still sending: also a refusal
    else:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"
    # Refused at the limit: the rest is discarded as it arrives, never buffered.
    assert proc.peak_rss_bytes(recovered.pid) < peak_before + 8 * limit + 32 * 2**20


def test_a_client_trickling_its_body_gets_a_408_while_others_are_served(
        recovered: proc.ServerProcess) -> None:
    body = json.dumps(proc.classroom_trace()).encode()
    with connect(recovered) as sock:
        sock.sendall(post_head(recovered, "/api/v1/trace", len(body)))
        answer = b""
        started = time.monotonic()
        for byte in body:
            assert health_ok(recovered)
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.2)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            finally:
                sock.settimeout(SETTLE_TIMEOUT_SECONDS)
            if answer:
                break
            assert time.monotonic() - started < SETTLE_TIMEOUT_SECONDS, "never cut off"
        answer += read_all(sock)
    status, error = status_and_body(answer)
    assert status == 408
    assert error["error"]["code"] == "request_timeout"


def test_a_client_trickling_its_headers_holds_only_its_own_connection(
        recovered: proc.ServerProcess) -> None:
    sockets = [connect(recovered) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /api/v1/trace HTTP/1.1\r\nHost: x\r\nContent-Le")
        for _ in range(5):
            assert health_ok(recovered)
            for sock in sockets:
                sock.sendall(b"n")
    finally:
        for sock in sockets:
            sock.close()


def test_100_concurrent_streams_all_finish(recovered: proc.ServerProcess) -> None:
    last_lines = proc.run_async(trace_many(recovered.url, proc.classroom_trace(), 100))
    events = [json.loads(line) for line in last_lines]
    assert all(event["event"] == "end" for event in events), {e["event"] for e in events}
    assert len({event["bytes"] for event in events}) == 1


# ------------------------------------------------ a client that stops reading


@pytest.fixture
def short_streams(tmp_path: Path) -> Iterator[proc.ServerProcess]:
    # At info: the cut-off is the client's doing, logged at INFO (tests/faults/test_logs.py).
    settings = {**FAULT_SETTINGS, "CONVLENS_MAX_STREAM_SECONDS": "1.5",
                "CONVLENS_LOG_LEVEL": "info"}
    with proc.running(tmp_path / "server.log", settings) as server:
        yield server


def test_a_stream_whose_client_stopped_reading_is_cut_off(
        short_streams: proc.ServerProcess) -> None:
    server = short_streams
    time.sleep(0.5)  # the start-up health check's connection closes
    idle_fds = proc.open_fds(server.pid)
    body = json.dumps(proc.large_trace()).encode()
    with connect(server, receive_buffer=4096) as sock:
        sock.sendall(post_head(server, "/api/v1/trace", len(body)) + body)
        # Not reading: the stream's own clock cannot run, the response deadline must.
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while "cut off POST /api/v1/trace" not in server.log():
            assert time.monotonic() < deadline, "the stream was never cut off"
            time.sleep(0.1)
        assert health_ok(server)
        before = proc.cpu_seconds(server.pid)
        time.sleep(1.0)
        assert proc.cpu_seconds(server.pid) - before < 0.3, "the trace is still computed"
        # What was already buffered still arrives, then the server's end of the connection.
        received = read_all(sock)
    assert received.startswith(b"HTTP/1.1 200")
    assert b'"event":"end"' not in received
    wait_for_fds(server, idle_fds)
    assert "Traceback" not in server.log()
