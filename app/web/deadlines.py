"""How long one client may hold a request: to send its body, and to take the answer.

An asyncio server never blocks on a slow client, but each one holds a connection
and a task. Two deadlines bound that:

- the request body must arrive within ``Settings.body_timeout_seconds`` (a client
  trickling bytes gets a 408 in the error envelope and the connection is closed);
- a response still going at twice ``max_stream_seconds`` (a client that stopped
  reading a stream, so the stream's own clock, checked between chunks, never runs
  again) is cancelled and its connection closed.

Cancelling is safe in both places: the endpoint is waiting for the client, not
computing. Requests without a body have no body deadline.
"""

from __future__ import annotations

import contextvars
import logging
import math

import anyio
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import envelope
from app.settings import Settings

logger = logging.getLogger("convlens.deadlines")

# Of max_stream_seconds: a stream that ends itself in time is never cut.
RESPONSE_DEADLINE_FACTOR = 2.0
# Set in the request's task when its answer was cut off (see ``QuietCutOffs``).
CUT_OFF: contextvars.ContextVar[bool] = contextvars.ContextVar("cut_off", default=False)
UNFINISHED = "ASGI callable returned without completing response"


class QuietCutOffs(logging.Filter):
    """uvicorn logs ERROR when an answer ends unfinished; after a cut-off that is the
    intent, so the record becomes INFO (the cut-off's own line already says why)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if CUT_OFF.get() and record.levelno >= logging.ERROR and str(record.msg).startswith(
                UNFINISHED):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def quiet_cut_offs() -> None:
    """Install ``QuietCutOffs`` on uvicorn's error logger (once)."""
    target = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, QuietCutOffs) for existing in target.filters):
        target.addFilter(QuietCutOffs())


def has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    length = headers.get("content-length", "")
    return "transfer-encoding" in headers or (length.isdigit() and int(length) > 0)


class Deadlines:
    """Pure ASGI middleware enforcing the body and response deadlines of ``settings``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        quiet_cut_offs()
        self.app = app
        self.body_seconds = settings.body_timeout_seconds
        self.response_seconds = settings.max_stream_seconds * RESPONSE_DEADLINE_FACTOR

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        body_pending = has_body(scope)
        deadline = anyio.current_time() + self.body_seconds if body_pending else math.inf

        with anyio.CancelScope(deadline=deadline) as cancel_scope:

            async def tracked_receive() -> Message:
                nonlocal body_pending
                message = await receive()
                if body_pending and (
                    message["type"] == "http.disconnect" or not message.get("more_body", False)
                ):
                    body_pending = False
                    if not started:
                        cancel_scope.deadline = math.inf
                return message

            async def tracked_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    cancel_scope.deadline = anyio.current_time() + self.response_seconds
                await send(message)

            await self.app(scope, tracked_receive, tracked_send)

        if not cancel_scope.cancelled_caught:
            return
        if not started:
            response = JSONResponse(
                envelope(
                    408, "request_timeout",
                    f"The request body did not arrive within {self.body_seconds:g} s "
                    "(body_timeout_seconds)",
                ),
                status_code=408,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
        else:
            # The client's doing, not the server's: one line, and uvicorn's error about the
            # unfinished answer (it closes the connection) said at the same level.
            CUT_OFF.set(True)
            logger.info(
                "cut off %s %s: the client took more than %g s to read the answer",
                scope.get("method"), scope.get("path"), self.response_seconds,
            )
