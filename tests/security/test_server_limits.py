"""The server's own limits and answers (``app.web.server``), through raw sockets on a real
uvicorn: request headers bounded by ``max_header_bytes`` (431), a request that is not
HTTP answered in the envelope, both with the security headers."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from app.web.server import LimitedHttpToolsProtocol
from tests.servers import serve_options

LIMIT = 8 * 1024
SOCKET_TIMEOUT_SECONDS = 10.0


def exchange(url: str, request: bytes, chunk: int = 65536) -> bytes:
    """Send ``request`` (stopping quietly if the server closes), then read to the close."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=SOCKET_TIMEOUT_SECONDS) as sock:
        try:
            for start in range(0, len(request), chunk):
                sock.sendall(request[start:start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received.append(data)
    return b"".join(received)


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def assert_envelope(answer: bytes, status: int, code: str) -> dict[str, str]:
    got, headers, body = parse(answer)
    assert got == status, answer[:300]
    assert headers["content-type"] == "application/json"
    assert body["error"]["code"] == code and body["error"]["status"] == status
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["connection"] == "close"
    return headers


@pytest.fixture
def small_limit(serve) -> str:
    return serve(create_app(Settings(max_header_bytes=LIMIT))).url


def request_with_header(size: int) -> bytes:
    return (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")


def test_headers_over_the_limit_get_431_in_the_envelope(small_limit: str) -> None:
    answer = exchange(small_limit, request_with_header(4 * 2**20))
    error = parse(answer)[2]["error"]
    assert_envelope(answer, 431, "headers_too_large")
    assert "max_header_bytes" in error["message"] and "8,192" in error["message"]


def test_headers_under_the_limit_are_served(small_limit: str) -> None:
    answer = exchange(small_limit, request_with_header(LIMIT - 200))
    assert parse(answer)[0] == 200 or answer.startswith(b"HTTP/1.1 200"), answer[:200]
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(100))  # 6 KB in 100
    answer = exchange(small_limit, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + many
                      + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_a_huge_header_does_not_stall_other_clients(small_limit: str) -> None:
    """While one client pushes 64 MB of header, health answers every time, promptly."""
    done = threading.Event()

    def attacker() -> None:
        exchange(small_limit, request_with_header(64 * 2**20))
        done.set()

    thread = threading.Thread(target=attacker)
    thread.start()
    slowest = 0.0
    with httpx.Client(base_url=small_limit, timeout=SOCKET_TIMEOUT_SECONDS) as client:
        for _ in range(20):
            started = time.monotonic()
            assert client.get("/api/v1/health").status_code == 200
            slowest = max(slowest, time.monotonic() - started)
    thread.join(SOCKET_TIMEOUT_SECONDS)
    assert done.is_set(), "the attacker's connection was never closed"
    assert slowest < 0.5, f"health took {slowest:.2f} s while the header arrived"


def test_a_request_that_is_not_http_gets_the_envelope(small_limit: str) -> None:
    answer = exchange(small_limit, b"NOT HTTP AT ALL\r\n\r\n")
    assert_envelope(answer, 400, "invalid_http")


def test_convlens_serve_runs_the_limited_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVLENS_MAX_HEADER_BYTES", "12345")
    options = serve_options(monkeypatch)
    assert options["http"] is LimitedHttpToolsProtocol
    assert options["h11_max_incomplete_event_size"] == 12345


def test_the_image_runs_convlens_serve() -> None:
    """So the image gets the limited protocol too (the test above)."""
    from app.settings import PROJECT_DIR

    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert 'CMD ["convlens", "serve"]' in dockerfile
