"""Single-flight: identical requests in flight share one producer.

``stream(key, produce)`` returns the parts of the answer for ``key``: the first asker's call of
``produce()`` makes them, in a task of its own; every asker, the first included, receives every
part from the start, as it is made. When the last asker leaves before the end, the producer is
cancelled (nobody wants the rest). An exception in the producer reaches every asker as
``FlightFailed`` (its ``error`` is the original exception), raised where the part would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import anyio

Producer = Callable[[], AsyncIterator[bytes]]


class FlightFailed(Exception):
    """The shared producer raised ``error``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class SingleFlight(Protocol):
    def stream(self, key: str, produce: Producer) -> AsyncIterator[bytes]: ...


class _Flight:
    """The parts made so far for one key (from absolute index ``offset`` on), and its askers."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0
        self.retained = 0
        self.joinable = True
        self.done = False
        self.error: BaseException | None = None
        self.positions: dict[int, int] = {}  # asker -> absolute index of its next part
        self.task: asyncio.Task[None] | None = None
        # Cancelled through anyio (not task.cancel()), so work shielded by anyio -- a worker
        # thread computing a chunk -- finishes before the producer's generators are closed.
        self.scope = anyio.CancelScope()
        self.changed = asyncio.Event()

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def trim(self) -> None:
        """Once nobody can join, drop the parts every asker has passed on."""
        low = min(self.positions.values(), default=self.offset + len(self.parts))
        if low > self.offset:
            del self.parts[: low - self.offset]
            self.offset = low


class LocalFlight:
    """Single-flight within one process (one event loop).

    A flight keeps its parts for late askers up to ``retain_bytes``; past that nobody new
    joins it (they start their own) and parts already passed on to every asker are dropped.
    """

    def __init__(self, retain_bytes: int = 16 * 1024 * 1024) -> None:
        self.retain_bytes = retain_bytes
        self._flights: dict[str, _Flight] = {}
        self._askers = itertools.count()
        self.started = 0  # producers started: a test counts them

    def in_flight(self) -> int:
        return len(self._flights)

    async def stream(self, key: str, produce: Producer) -> AsyncIterator[bytes]:
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = _Flight()
            flight.task = asyncio.create_task(self._run(key, flight, produce))
            self.started += 1
        me = next(self._askers)
        flight.positions[me] = flight.offset
        try:
            while True:
                while flight.positions[me] < flight.offset + len(flight.parts):
                    part = flight.parts[flight.positions[me] - flight.offset]
                    flight.positions[me] += 1
                    if not flight.joinable:
                        flight.trim()
                    yield part
                if flight.done:
                    if flight.error is not None:
                        raise FlightFailed(flight.error)
                    return
                await flight.changed.wait()
        finally:
            del flight.positions[me]
            if not flight.positions and not flight.done:
                flight.scope.cancel()

    def _close(self, key: str, flight: _Flight) -> None:
        """No new asker joins ``flight`` from now on."""
        flight.joinable = False
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _run(self, key: str, flight: _Flight, produce: Producer) -> None:
        parts = produce()
        try:
            with flight.scope:
                async for part in parts:
                    flight.parts.append(part)
                    flight.retained += len(part)
                    if flight.joinable and flight.retained > self.retain_bytes:
                        self._close(key, flight)
                        flight.trim()
                    flight.notify()
            if flight.scope.cancelled_caught:
                flight.error = ConnectionAbortedError("every asker left")
        except Exception as error:  # noqa: BLE001 - every asker gets it, as FlightFailed
            flight.error = error
        finally:
            flight.done = True
            # A new asker from now on starts afresh (a finished answer is in the store).
            self._close(key, flight)
            flight.notify()
            with contextlib.suppress(Exception):
                await parts.aclose()
