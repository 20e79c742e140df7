"""The interactive API docs, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), fully offline.

FastAPI's own docs pages load Swagger UI and ReDoc from a CDN, so on a classroom
network without internet they are blank. Here the same pages load their assets
from the app, taken from the installed ``fastapi-offline`` package (pinned in
pyproject.toml), which ships Swagger UI 5 (the first major version that reads
the OpenAPI 3.1 documents FastAPI writes: ``swagger-ui-bundle`` 1.1.0 ships
Swagger UI 4.15, which refuses them) and the ReDoc standalone bundle. Only its
files are used, not its app factory.
"""

from __future__ import annotations

import functools
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/vendor/docs"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
}
FAVICON_URL = "/static/favicon.svg"

router = APIRouter(include_in_schema=False)


def assets_dir() -> Path:
    """The folder of Swagger UI's and ReDoc's files inside the installed package."""
    return Path(fastapi_offline.__file__).resolve().parent / "static"


def docs_paths() -> tuple[str, ...]:
    """The HTML pages that start their widget with an inline script (see app/web/security.py)."""
    return (DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL)


def _browser_url(request: Request, path: str) -> str:
    """``path`` as the browser must ask for it: behind a proxy, under its ``root_path``."""
    return f"{request.scope.get('root_path', '')}{path}"


def _page(request: Request, widget: str) -> dict[str, str]:
    """What either docs page is given first: the OpenAPI document and its title."""
    return {"openapi_url": _browser_url(request, request.app.openapi_url),
            "title": f"{request.app.title} - {widget}"}


@router.get(DOCS_URL)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        **_page(request, "Swagger UI"),
        swagger_js_url=_browser_url(request, f"{ASSETS_URL}/swagger-ui-bundle.js"),
        swagger_css_url=_browser_url(request, f"{ASSETS_URL}/swagger-ui.css"),
        swagger_favicon_url=_browser_url(request, FAVICON_URL),
        oauth2_redirect_url=_browser_url(request, OAUTH2_REDIRECT_URL),
    )


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL)
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        **_page(request, "ReDoc"),
        redoc_js_url=_browser_url(request, f"{ASSETS_URL}/redoc.standalone.js"),
        redoc_favicon_url=_browser_url(request, FAVICON_URL),
        with_google_fonts=False,
    )


# ReDoc's menu always shows the Redocly logo from its CDN, which the docs' CSP refuses
# (a console error on every visit). Without a source its <img> hides itself (onError).
REDOC_REMOTE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
CACHE = {"Cache-Control": "public, max-age=86400"}


@functools.cache
def redoc_bundle() -> bytes:
    """The ReDoc bundle as shipped, less its one remote image URL."""
    return (assets_dir() / "redoc.standalone.js").read_bytes().replace(REDOC_REMOTE_LOGO, b"")


@router.get(ASSETS_URL + "/{name}", response_model=None)
def docs_asset(name: str) -> FileResponse | Response:
    """One of Swagger UI's or ReDoc's files, from the pinned package."""
    media_type = ASSETS.get(name)
    path = assets_dir() / name
    if media_type is None or not path.is_file():
        raise HTTPException(status_code=404, detail=f"There is no docs asset {name}")
    if name == "redoc.standalone.js":
        return Response(redoc_bundle(), media_type=media_type, headers=CACHE)
    return FileResponse(path, media_type=media_type, headers=CACHE)
