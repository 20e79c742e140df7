"""The JSON API under ``/api/v1``: routers per concept, one error envelope.

``include_api(app)`` mounts every router and registers the error handlers; the
engine stays unaware of HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.body import body_components
from app.api.errors import register_error_handlers
from app.api.media import MediaTypes

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    from app.api import (
        backward,
        blocks,
        code,
        costs,
        factorize,
        health,
        lab,
        lessons,
        models,
        ops,
        presets,
        trace,
    )

    router = APIRouter(prefix=API_PREFIX)
    for module in (ops, costs, factorize, presets, code, trace, health, lessons, models, blocks,
                   lab, backward):
        router.include_router(module.router)
    return router


class ApiGZip:
    """gzip for API answers when the client accepts it (``/api/`` paths only).

    Starlette's GZipMiddleware flushes after every body chunk, so streamed lines
    still arrive one by one, compressed; level 1, since each client's stream is
    compressed on its own. The trace is gzipped already, once per flight at level 6
    (app/api/trace.py), and passes through as it is.
    """

    def __init__(self, app: ASGIApp, prefix: str = API_PREFIX, compresslevel: int = 1) -> None:
        self.app = app
        self.prefix = prefix
        self.gzip = GZipMiddleware(app, minimum_size=1024, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix + "/"):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def include_api(application: FastAPI) -> None:
    """Mount the API on ``application`` and answer every 4xx in the envelope."""
    application.include_router(api_router())
    register_error_handlers(application)
    from app.api.trace import KeptTraces

    application.add_middleware(KeptTraces)  # inside ApiGZip: its answers are gzipped already
    application.add_middleware(ApiGZip)
    application.add_middleware(MediaTypes, application=application)
    generate = application.openapi

    def openapi() -> dict[str, Any]:
        if application.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body_components())
        return application.openapi_schema or {}

    application.openapi = openapi  # type: ignore[method-assign]
