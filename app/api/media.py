"""Only the media types a route documents come in: JSON everywhere, multipart where a
file is uploaded.

The OpenAPI document is the declaration: a request with a body is let through only
when its ``Content-Type`` is one of the ``requestBody.content`` types of its
operation; otherwise a 415 in the error envelope, before the body is read. So a
route that takes an upload declares ``multipart/form-data`` in its request body
(FastAPI's ``File``/``Form`` parameters do it, or ``openapi_extra``, as
``app/api/models.py`` does), and every other route takes ``application/json``
only, in UTF-8 (a ``charset`` other than ``utf-8`` is refused). This also stops
any web page from firing the API cross-site without a CORS preflight: browsers
send ``text/plain`` and form types without one, never ``application/json``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import envelope

JSON = "application/json"


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part)
                              for part in parts) + "$")


def declared_media_types(schema: dict[str, Any]
                         ) -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
    """``(path pattern, method, request media types)`` of every operation with a body."""
    found = []
    for template, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content")
            if content:
                found.append((_path_pattern(template), method.upper(),
                              frozenset(media.lower() for media in content)))
    return found


def media_type(header: str) -> tuple[str, dict[str, str]]:
    """``("application/json", {"charset": "utf-8"})`` from a Content-Type header."""
    media, *parameters = header.split(";")
    values = {}
    for parameter in parameters:
        key, _, value = parameter.strip().partition("=")
        values[key.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), values


def refusal(declared: frozenset[str], header: str | None) -> str | None:
    """Why a body of type ``header`` is refused by a route declaring ``declared``, or None."""
    sent = f"Content-Type {header!r}" if header else "a body without a Content-Type"
    takes = " or ".join(sorted(declared))
    if not header:
        return f"This route takes {takes}; the request sent {sent}"
    media, parameters = media_type(header)
    if media not in declared:
        return f"This route takes {takes}; the request sent {sent}"
    if media == JSON and parameters.get("charset", "utf-8") != "utf-8":
        return f"JSON bodies are UTF-8; the request sent {sent}"
    return None


class MediaTypes:
    """ASGI middleware: 415 for a body whose type its route does not declare."""

    def __init__(self, app: ASGIApp, application: FastAPI) -> None:
        self.app = app
        self.application = application
        self._declared: list[tuple[re.Pattern[str], str, frozenset[str]]] | None = None

    def declared(self, path: str, method: str) -> frozenset[str] | None:
        if self._declared is None:
            self._declared = declared_media_types(self.application.openapi())
        for pattern, operation_method, media in self._declared:
            if operation_method == method and pattern.match(path):
                return media
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        if "transfer-encoding" in headers or (length.isdigit() and int(length) > 0):
            declared = self.declared(scope["path"], scope["method"])
            reason = refusal(declared, headers.get("content-type")) if declared else None
            if reason:
                response = JSONResponse(envelope(415, "unsupported_media_type", reason),
                                        status_code=415)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
