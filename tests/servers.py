"""A real uvicorn serving an app in a background thread, for live tests.

``running_server(app)`` binds a free loopback port itself (no race between
choosing and binding), starts uvicorn on that socket in a daemon thread, waits
until it accepts connections, and shuts it down cleanly on exit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass
class LiveServer:
    """A running uvicorn: ``url`` is its base URL, ``server`` the uvicorn.Server."""

    url: str
    server: uvicorn.Server

    def open_connections(self) -> int:
        """Connections uvicorn still tracks (a closed client drops out)."""
        return len(self.server.server_state.connections)


@contextlib.contextmanager
def running_server(app: object) -> Iterator[LiveServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    from app.settings import Settings
    from app.web.server import server_options

    settings = getattr(getattr(app, "state", None), "settings", None) or Settings()
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", timeout_graceful_shutdown=5,
        **server_options(settings, "warning"),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT_SECONDS)
        sock.close()
        raise RuntimeError("uvicorn did not start")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT_SECONDS)
        sock.close()


def serve_options(monkeypatch: object) -> dict[str, Any]:
    """The keyword arguments ``convlens serve`` hands ``uvicorn.run`` under the current
    environment (``uvicorn.run`` replaced for the test through ``monkeypatch``)."""
    from app import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))  # type: ignore[attr-defined]
    cli.main(["serve"])
    (options,) = calls
    return options
