"""The JSON API under ``/api/v1``: routers per concept, one error envelope.

``include_api(app)`` mounts every router and registers the error handlers; the
engine stays unaware of HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from app.api.body import body_components
from app.api.errors import register_error_handlers

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    from app.api import code, costs, factorize, health, ops, presets

    router = APIRouter(prefix=API_PREFIX)
    for module in (ops, costs, factorize, presets, code, health):
        router.include_router(module.router)
    return router


def include_api(application: FastAPI) -> None:
    """Mount the API on ``application`` and answer every 4xx in the envelope."""
    application.include_router(api_router())
    register_error_handlers(application)
    generate = application.openapi

    def openapi() -> dict[str, Any]:
        if application.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body_components())
        return application.openapi_schema or {}

    application.openapi = openapi  # type: ignore[method-assign]
