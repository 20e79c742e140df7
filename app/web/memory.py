"""Memory handed back to the system once the work that needed it is done.

glibc's malloc keeps freed memory for reuse: a burst of large requests leaves the
worker's resident size near its peak for as long as it runs, and every thread that
allocates may get an arena of its own (up to 8 per core), each holding its own
freed memory. Two remedies, both glibc-only (elsewhere they do nothing):

- ``limit_arenas(n)`` caps the arenas (``mallopt(M_ARENA_MAX, n)``, the same as
  ``MALLOC_ARENA_MAX``), so the 40 worker threads share ``n`` heaps;
- ``TrimWhenIdle`` calls ``malloc_trim(0)`` when the last request in flight ends (at
  most every ``min_interval`` seconds, on a thread of its own), returning the free pages
  of every arena to the system.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

M_ARENA_MAX = -8


def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


LIBC = _libc()


def limit_arenas(arenas: int) -> bool:
    """At most ``arenas`` malloc arenas from now on (0: glibc's default); True if set."""
    if LIBC is None or arenas <= 0:
        return False
    return bool(LIBC.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Give free heap pages back to the system; True if any were released."""
    return bool(LIBC.malloc_trim(0)) if LIBC is not None else False


class TrimWhenIdle:
    """ASGI middleware: ``trim()`` once no HTTP request is in flight any more."""

    def __init__(self, app: ASGIApp, min_interval: float = 1.0) -> None:
        self.app = app
        self.min_interval = min_interval
        self.in_flight = 0
        self.last_trim = 0.0
        self.trimming = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or LIBC is None:
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if (self.in_flight == 0 and not self.trimming
                    and time.monotonic() - self.last_trim >= self.min_interval):
                self.trimming = True
                # Not awaited: the answer is already sent; the trim runs on its own thread.
                asyncio.get_running_loop().run_in_executor(None, self._trim)

    def _trim(self) -> None:
        try:
            trim()
        finally:
            self.last_trim = time.monotonic()
            self.trimming = False
