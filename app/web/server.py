"""The HTTP server's own limits and answers: what uvicorn alone does not give.

uvicorn's httptools protocol keeps every header byte a client sends (one 256 MB
header was answered 200, and while a 128 MB one arrived the other clients
waited). ``LimitedHttpToolsProtocol`` counts the bytes of the request line and
headers as they arrive and, past ``Settings.max_header_bytes``, answers 431 in
the error envelope and closes the connection: the bytes already read are at most
the limit plus one socket read. Its answer to a request that is not HTTP at all
is the envelope too (uvicorn's is plain text), and both carry the security
headers. It stays on httptools: switching to h11 for its own limit
(``h11_max_incomplete_event_size``) costs 80% more server CPU per request; the
counting here costs about 6%, within the noise (README, "Security").

``server_options(settings)`` are the keyword arguments every server of the app
passes to uvicorn: ``convlens serve`` (so the image), and the tests' servers.

The event loop is uvloop's with asyncio's way of accepting (``app.web.loop``): uvloop
alone accepts one new connection per loop turn, so a class connecting at once waited
seconds in the kernel's queue.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import uvicorn.config
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.api.errors import envelope
from app.settings import Settings
from app.web.loop import uvicorn_loop
from app.web.security import security_headers

_REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}


def _app_settings(app: Any) -> Settings:
    """The settings of the ConvLens app inside uvicorn's middleware wrappers."""
    for _ in range(16):
        settings = getattr(getattr(app, "state", None), "settings", None)
        if isinstance(settings, Settings):
            return settings
        app = getattr(app, "app", None)
        if app is None:
            break
    return Settings.from_env()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request line and headers.

    The bound is ``config.h11_max_incomplete_event_size`` (the option uvicorn names
    for the same bound under h11), which ``server_options`` sets.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = self.config.h11_max_incomplete_event_size or 64 * 1024
        self._in_headers = False
        self._header_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        super().data_received(data)
        if not self._in_headers or self.transport.is_closing():
            return
        self._header_bytes += len(data)
        if self._header_bytes > self.max_header_bytes:
            self.logger.info("refused %s: request headers over %d bytes (max_header_bytes)",
                             "{}:{}".format(*self.client) if self.client else "a client",
                             self.max_header_bytes)
            self._answer(431, "headers_too_large",
                         f"The request line and headers exceed {self.max_header_bytes:,} "
                         "bytes (max_header_bytes); send fewer or smaller headers")

    def send_400_response(self, msg: str) -> None:
        self._answer(400, "invalid_http", "The request is not valid HTTP/1.1: "
                     + msg.rstrip("."))

    def _answer(self, status: int, code: str, message: str) -> None:
        """An error envelope written straight to the socket, then the connection closed."""
        settings = _app_settings(self.config.loaded_app)
        body = json.dumps(envelope(status, code, message), separators=(",", ":")).encode()
        head = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        for name, text in security_headers(settings).items():
            head.append(name.encode() + b": " + text.encode() + b"\r\n")
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n"
                    b"connection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def logging_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the app's own loggers (``convlens.*``) at ``level``, in the
    same format: without it their INFO lines (a client that left) went nowhere."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["convlens"] = {"handlers": ["default"], "level": level.upper(),
                                     "propagate": False}
    return config


def server_options(settings: Settings, log_level: str | None = None) -> dict[str, Any]:
    """uvicorn options that give the server the limits of ``settings`` and its logging."""
    return {
        "loop": uvicorn_loop(settings.event_loop),
        "http": LimitedHttpToolsProtocol,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "log_config": logging_config(log_level or settings.log_level),
    }


class HeadAsGet:
    """ASGI middleware: ``HEAD`` is answered as ``GET`` (uvicorn sends the headers only).

    Load balancers and uptime checkers probe with ``HEAD /`` and ``HEAD /api/v1/health``;
    FastAPI's routes take only the methods they name. The route sees a copy of the scope
    saying ``GET``; the server keeps its own, which says ``HEAD``, and drops the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
