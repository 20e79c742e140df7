"""Work in a thread of its own, for code that must not run in the calling thread.

Playwright's sync API refuses to start where an asyncio loop runs, and ``asyncio.run``
refuses to start inside one; tests/e2e's session-wide Playwright leaves a loop in the main
thread for the rest of the session. Both escape through :func:`in_fresh_thread`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_fresh_thread(work: Callable[[], T], name: str) -> T:
    """``work()`` in a new thread, waited for: its result, or its error raised here."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
