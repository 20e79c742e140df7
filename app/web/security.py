"""Security headers on every answer, and CORS for the JSON API when it is configured.

- ``Content-Security-Policy``: the app's own origin only, no inline script; the
  ``frame-ancestors`` directive comes from ``Settings.frame_ancestors`` so a
  learning platform can embed the page.
- ``X-Content-Type-Options: nosniff`` (a JSON error quoting ``<script>`` stays
  JSON) and ``Referrer-Policy: no-referrer`` (the page's URL holds a whole demo).
- The interactive API docs (``/docs``, ``/redoc``, app/web/docs.py) load Swagger UI / ReDoc
  from the app and start them with one inline script: they get their own policy
  allowing exactly that script (by its hash) and inline styles, nothing from elsewhere.
- CORS (``Settings.allowed_origins``) applies to ``/api/`` only, never sends
  credentials, and is absent unless origins are configured.

Pure ASGI middleware, not ``BaseHTTPMiddleware``: streamed responses pass through
untouched and a client's disconnect still reaches the endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import envelope
from app.settings import Settings

# plotly.js styles its charts with one <style id="plotly.js-style-global"> element that it
# creates empty and fills through CSSOM (insertRule), which CSP does not govern. Allowing
# exactly the empty inline stylesheet (the hash of "") lets that element exist without
# 'unsafe-inline', which would admit any injected <style> text. Its maplibre stylesheet (map
# traces, unused here) stays blocked; a page element with its id makes plotly skip it.
EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": f"'self' {EMPTY_STYLE_HASH}",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}

# The docs pages load every asset from the app (app/web/docs.py): the page's policy, plus
# the hash of their one inline script (added per answer), and inline styles, with which
# Swagger UI and ReDoc (styled-components) style their widgets. ReDoc runs its search
# in a worker made from a blob.
DOCS_POLICY = {
    **PAGE_POLICY,
    "style-src": "'self' 'unsafe-inline'",
    "worker-src": "'self' blob:",
}

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def policy_text(policy: dict[str, str], frame_ancestors: str) -> str:
    directives = {**policy, "frame-ancestors": frame_ancestors.strip() or "'none'"}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def content_security_policy(settings: Settings) -> str:
    """The page's and the API's policy."""
    return policy_text(PAGE_POLICY, settings.frame_ancestors)


def docs_policy(html: bytes, frame_ancestors: str) -> str:
    """The docs pages' policy: the hash of each inline script in ``html``, nothing remote."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    policy = {**DOCS_POLICY, "script-src": f"{DOCS_POLICY['script-src']} {hashes}".strip()}
    return policy_text(policy, frame_ancestors)


def frame_options(frame_ancestors: str) -> str | None:
    """``X-Frame-Options`` for browsers without ``frame-ancestors``, when it can say as much."""
    return {"'none'": "DENY", "'self'": "SAMEORIGIN"}.get(frame_ancestors.strip())


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every answer carries (also the server's own, ``app.web.server``)."""
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }
    legacy = frame_options(settings.frame_ancestors)
    if legacy:
        headers["x-frame-options"] = legacy
    return headers


class SecurityHeaders:
    """Adds the security headers to every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp, settings: Settings, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.frame_ancestors = settings.frame_ancestors
        self.docs_paths = frozenset(docs_paths)
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs_page(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A small HTML page, held back until its inline scripts can be hashed."""
        start: Message | None = None
        body: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content = b"".join(body)
            headers = MutableHeaders(scope=start)
            for name, value in self.headers.items():
                headers[name] = value
            headers["content-security-policy"] = docs_policy(content, self.frame_ancestors)
            await send(start)
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, hold)


class _EnvelopeCors(CORSMiddleware):
    """Starlette's CORS, whose preflight refusals answer in the error envelope."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")
        refused = JSONResponse(
            envelope(response.status_code, "cors_refused",
                     f"{reason}: this server lets only CONVLENS_ALLOWED_ORIGINS call the API "
                     "from a browser, with GET or POST and Content-Type"),
            status_code=response.status_code,
        )
        for name in ("vary", "access-control-allow-origin"):
            if name in response.headers:
                refused.headers[name] = response.headers[name]
        return refused


class ApiCors:
    """Starlette's ``CORSMiddleware`` for ``/api/`` paths only; never with credentials."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str], prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix
        self.cors = _EnvelopeCors(
            app,
            allow_origins=list(allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def protect(application: FastAPI, settings: Settings) -> None:
    """Install, outermost first: security headers, request deadlines, CORS for the API.

    The headers wrap even Starlette's ServerErrorMiddleware (which ``add_middleware``
    cannot reach), so a 500 carries them too.
    """
    from app.web.deadlines import Deadlines

    if settings.allowed_origins:
        application.add_middleware(ApiCors, allowed_origins=settings.allowed_origins)
    application.add_middleware(Deadlines, settings=settings)
    from app.web.docs import docs_paths

    build_stack = application.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeaders(build_stack(), settings, docs_paths())

    application.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
