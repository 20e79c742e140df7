"""The workers' event loop: uvloop, with servers that accept a whole burst of connections.

Since libuv 1.45 (pull request 3696, "don't accept() connections in a loop") uvloop accepts
one new connection per loop turn, and a busy worker's turn is as long as the requests it
serves in it. When 300 connections arrived at once (a lecture hall opening the page, or
wrk's start), the last were accepted 2.8 s after they connected while the first were being
answered: ``ss`` showed 199 of 300 still in the kernel's accept queue at the start of a
wrk run, draining at about 65 a second, and wrk's p99 swung between 115 ms and 1.4 s from
run to run. asyncio's own selector loop accepts up to the backlog in one turn, but serves
fewer requests per second at saturation (README, "Lecture hall").

``BatchAcceptLoop`` keeps uvloop's transports and takes asyncio's accepting: a server on a
listening socket (what uvicorn makes, one per worker, on the socket the supervisor shares)
is a reader on that socket that accepts until the queue is empty or ``backlog``
connections were taken, and hands each one to ``connect_accepted_socket``, the loop's
public way to adopt an accepted socket. Out of descriptors (EMFILE, ENFILE) or kernel
memory (ENOBUFS, ENOMEM), it stops accepting for ``ACCEPT_RETRY_SECONDS``, as asyncio does,
instead of spinning on a socket that stays readable.

``uvicorn_loop(name)`` is what uvicorn is given (``Settings.event_loop``): ``"auto"``
(this loop where uvloop is installed, else asyncio's), ``"uvloop"``, ``"asyncio"``, or
``"uvloop-plain"`` (uvloop as it comes, one accept per turn: for side-by-side benchmarks
only, ``benchmarks/wrk_trace.py``).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("convlens.loop")

EVENT_LOOPS = ("auto", "uvloop", "asyncio", "uvloop-plain")
# How long accepting pauses when the process is out of descriptors or kernel memory.
ACCEPT_RETRY_SECONDS = 1.0
_RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class BatchAcceptServer(asyncio.AbstractServer):
    """A listening socket whose every readable turn accepts up to ``backlog`` connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol_factory: Callable[[], Any],
                 sock: socket.socket, backlog: int) -> None:
        self._loop = loop
        self._protocol_factory = protocol_factory
        self._sock = sock
        self._backlog = max(1, backlog)
        self._serving = False
        self._adopting: set[asyncio.Task[Any]] = set()
        sock.setblocking(False)
        sock.listen(self._backlog)
        self._start_accepting()

    def _start_accepting(self) -> None:
        if not self._serving and self._sock.fileno() != -1:
            self._serving = True
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def _stop_accepting(self) -> None:
        if self._serving:
            self._serving = False
            self._loop.remove_reader(self._sock.fileno())

    def _accept(self) -> None:
        for _ in range(self._backlog):
            try:
                connection, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # the queue is empty (or the client already left)
            except OSError as error:
                if error.errno not in _RESOURCE_ERRORS:
                    raise
                logger.warning("not accepting connections for %g s: %s",
                               ACCEPT_RETRY_SECONDS, error)
                self._stop_accepting()
                self._loop.call_later(ACCEPT_RETRY_SECONDS, self._start_accepting)
                return
            connection.setblocking(False)
            task = self._loop.create_task(
                self._loop.connect_accepted_socket(self._protocol_factory, connection))
            self._adopting.add(task)
            task.add_done_callback(lambda done, sock=connection: self._adopted(done, sock))

    def _adopted(self, task: asyncio.Task[Any], connection: socket.socket) -> None:
        self._adopting.discard(task)
        if task.cancelled():
            connection.close()
        elif task.exception() is not None:
            logger.warning("could not take a connection: %s", task.exception())
            connection.close()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return () if self._sock.fileno() == -1 else (self._sock,)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        self._start_accepting()

    async def serve_forever(self) -> None:
        self._start_accepting()
        await self._loop.create_future()  # until cancelled

    def close(self) -> None:
        """Stop accepting and close this process's listening socket; open connections stay
        (uvicorn closes them itself on shutdown)."""
        self._stop_accepting()
        self._sock.close()

    async def wait_closed(self) -> None:
        if self._adopting:
            await asyncio.gather(*self._adopting, return_exceptions=True)


@functools.cache
def _batch_accept_loop_class() -> type[asyncio.AbstractEventLoop]:
    """The loop class, defined once (uvloop is imported only when it is asked for)."""
    import uvloop

    class BatchAcceptLoop(uvloop.Loop):  # type: ignore[misc, name-defined]
        """uvloop, except that a server on a given listening socket accepts in batches."""

        async def create_server(self, protocol_factory: Callable[[], Any], host: Any = None,
                                port: Any = None, *, sock: socket.socket | None = None,
                                backlog: int = 100, ssl: Any = None, **options: Any
                                ) -> asyncio.AbstractServer:
            if sock is None or ssl is not None or options.get("start_serving") is False:
                return await super().create_server(protocol_factory, host, port, sock=sock,
                                                   backlog=backlog, ssl=ssl, **options)
            return BatchAcceptServer(self, protocol_factory, sock, backlog)

    return BatchAcceptLoop


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def new_batch_accept_loop() -> asyncio.AbstractEventLoop:
    """A new uvloop loop whose servers accept a whole burst per turn."""
    return _batch_accept_loop_class()()


def uvicorn_loop(name: str) -> str:
    """uvicorn's ``loop`` option for ``Settings.event_loop`` (see the module's docstring):
    ``"asyncio"``, or the import path of :func:`new_batch_accept_loop`."""
    if name not in EVENT_LOOPS:
        raise ValueError(f"CONVLENS_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, "
                         f"not {name!r}")
    if name == "asyncio" or (name == "auto" and not uvloop_available()):
        return "asyncio"
    if not uvloop_available():
        raise ValueError(f"CONVLENS_EVENT_LOOP={name} needs uvloop (pip install uvloop)")
    if name == "uvloop-plain":
        return "uvloop"
    return f"{__name__}:{new_batch_accept_loop.__name__}"
