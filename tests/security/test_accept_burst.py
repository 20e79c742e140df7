"""A lecture hall connecting at once is accepted at once (``app.web.loop``).

300 students opening the page arrive as 300 connections in the same second. uvloop alone
accepts one new connection per loop turn (libuv since 1.45), so while a busy worker
answered the first ones the last waited up to 2.8 s in the kernel's queue. The server's
loop must take the whole queue in one turn: here the queue is filled before the loop runs,
and the loop is turned once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
from typing import Any

import pytest
from uvicorn.config import Config

from app.settings import Settings
from app.web import loop as event_loop
from app.web.server import server_options
from tests.servers import serve_options
from tests.threads import in_fresh_thread

BURST = 200


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def accepted_in_one_turn(loop_option: str, burst: int = BURST,
                         answer: bytes | None = None) -> tuple[int, list[bytes]]:
    """Connections a server on ``loop_option`` (uvicorn's ``loop``) has accepted after
    ``burst`` queued ones and one loop turn; with ``answer``, what every client then read
    (each connection is answered ``answer`` and closed by the server). In a thread of its
    own: Playwright's sync API leaves a running loop in the main thread."""
    return in_fresh_thread(lambda: _accepted_in_one_turn(loop_option, burst, answer),
                           name="accept-burst")


def _accepted_in_one_turn(loop_option: str, burst: int,
                          answer: bytes | None) -> tuple[int, list[bytes]]:
    loop = Config(app=None, loop=loop_option).get_loop_factory()()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.setblocking(False)
    made: list[asyncio.BaseTransport] = []

    class Counting(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            made.append(transport)
            if answer is not None:
                transport.write(answer)  # type: ignore[attr-defined]
                transport.close()

    clients: list[socket.socket] = []
    read: list[bytes] = []
    try:
        server = loop.run_until_complete(
            loop.create_server(Counting, sock=listener, backlog=2048))
        clients = [socket.create_connection(listener.getsockname(), timeout=10)
                   for _ in range(burst)]  # the kernel queues them all: nobody accepted yet
        loop.run_until_complete(asyncio.sleep(0))  # one turn
        accepted = len(made)
        if answer is not None:
            for _ in range(20):  # let every write and close go out
                loop.run_until_complete(asyncio.sleep(0))
            read = [client.recv(len(answer) + 1) for client in clients]
        server.close()
        loop.run_until_complete(server.wait_closed())
    finally:
        for transport in made:
            transport.close()
        for client in clients:
            client.close()
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        listener.close()  # closed by the server already, unless it never started
    return accepted, read


def test_the_servers_loop_accepts_a_burst_of_connections_in_one_turn() -> None:
    option = server_options(Settings())["loop"]
    assert option == "app.web.loop:new_batch_accept_loop"  # uvloop is installed here
    accepted, _ = accepted_in_one_turn(option)
    assert accepted == BURST


def test_every_connection_of_a_burst_is_served_and_its_descriptor_closed() -> None:
    before = open_descriptors()
    accepted, read = accepted_in_one_turn("app.web.loop:new_batch_accept_loop",
                                          answer=b"hello")
    assert accepted == BURST
    assert read == [b"hello"] * BURST
    assert open_descriptors() <= before + 4  # the loop's own (epoll, wakeup pipe)


def test_asyncio_is_a_choice_and_accepts_a_burst_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVLENS_EVENT_LOOP", "asyncio")
    options = serve_options(monkeypatch)
    assert options["loop"] == "asyncio"
    assert accepted_in_one_turn("asyncio")[0] == BURST


def test_plain_uvloop_accepts_one_connection_per_turn() -> None:
    """Why the server does not hand uvicorn plain uvloop. If libuv ever accepts in batches
    again, this fails and ``app.web.loop`` can go."""
    option = event_loop.uvicorn_loop("uvloop-plain")
    assert option == "uvloop"  # for side-by-side benchmarks only
    assert accepted_in_one_turn(option)[0] < BURST // 10


def test_auto_is_asyncio_where_uvloop_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_loop, "uvloop_available", lambda: False)
    assert event_loop.uvicorn_loop("auto") == "asyncio"
    with pytest.raises(ValueError, match="CONVLENS_EVENT_LOOP=uvloop needs uvloop"):
        event_loop.uvicorn_loop("uvloop")
    with pytest.raises(ValueError, match="CONVLENS_EVENT_LOOP=uvloop-plain needs uvloop"):
        event_loop.uvicorn_loop("uvloop-plain")


def test_an_unknown_event_loop_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="CONVLENS_EVENT_LOOP must be one of auto, uvloop"):
        server_options(Settings(event_loop="trio"))


def test_out_of_descriptors_pauses_accepting_instead_of_spinning() -> None:
    """EMFILE: the listening socket stays readable; the server stops reading it for
    ``ACCEPT_RETRY_SECONDS`` and then accepts again (asyncio's remedy)."""
    loop = event_loop.new_batch_accept_loop()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    try:
        server = event_loop.BatchAcceptServer(loop, asyncio.Protocol, listener, 16)
        refusing = ExhaustedListener(listener)
        server._sock = refusing  # type: ignore[assignment]
        later: list[float] = []
        loop.call_later = lambda delay, callback, *args: later.append(delay)  # type: ignore[method-assign]
        server._accept()
        assert refusing.calls == 1  # one try, not a spin over the whole backlog
        assert not server.is_serving()
        assert later == [event_loop.ACCEPT_RETRY_SECONDS]
        server._sock = listener
        server._start_accepting()
        assert server.is_serving()
        server.close()
        assert server.sockets == ()
    finally:
        listener.close()
        loop.close()


class ExhaustedListener:
    """A listening socket whose process has no descriptor left."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.calls = 0

    def accept(self) -> tuple[socket.socket, Any]:
        self.calls += 1
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    def fileno(self) -> int:
        return self.listener.fileno()
