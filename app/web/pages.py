"""HTML routes: the visualiser page at ``/`` and the vendored plotly.js.

The page is server-rendered from ``templates/`` with its English strings, and
receives everything else it needs from the server once, as one JSON block
(``<script type="application/json" id="convlens-config">``): the strings
table, the API base, the URL of plotly.js and the limits. No inline script:
the page works under ``script-src 'self'``.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from pathlib import Path
from typing import Any

import plotly
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app import __version__
from app.settings import STATIC_DIR, TEMPLATES_DIR, Settings

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)

STRINGS_DIR = STATIC_DIR / "i18n"
PLOTLY_URL = "/vendor/plotly.min.js"
API_BASE = "/api/v1"


def plotly_js_path() -> Path:
    """plotly.min.js as shipped inside the installed ``plotly`` Python package."""
    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


# plotly.js injects its map (MapLibre) stylesheet as an inline <style> unless an
# element with that stylesheet's id is already in the page. Inline styles break the
# page's CSP and ConvLens draws no maps, so the page puts a marker there first.
_PLOTLY_STYLE_ID = re.compile(
    r'getElementById\("([0-9a-f]{16,})"\)\)\{var \w+=document\.createElement\("style"\)'
)


@functools.cache
def plotly_style_ids() -> tuple[str, ...]:
    """Ids of the stylesheets plotly.min.js would inject inline (see above)."""
    path = plotly_js_path()
    if not path.is_file():  # pragma: no cover - a broken plotly install
        return ()
    return tuple(_PLOTLY_STYLE_ID.findall(path.read_text("utf-8", errors="replace")))


@functools.cache
def strings(language: str = "en") -> dict[str, str]:
    """The page's visible strings for ``language``, one flat table of key -> text."""
    table: dict[str, str] = json.loads((STRINGS_DIR / f"{language}.json").read_text("utf-8"))
    return table


def lab_seed_preset() -> list[dict[str, Any]]:
    from app.lab.presets import PRESETS

    return PRESETS["seed"]


def page_config(settings: Settings, language: str = "en") -> dict[str, Any]:
    """The values the page's scripts need from the server, serialised once into the page."""
    return {
        "version": __version__,
        "language": language,
        "urls": {"api": API_BASE, "plotly": PLOTLY_URL},
        "plotly_style_ids": list(plotly_style_ids()),
        "limits": {
            "max_frames": settings.max_frames,
            "max_stream_bytes": settings.max_stream_bytes,
        },
        "strings": strings(language),
        # Lesson 4 trains the lab's seed preset and links to the lab.
        "lab_seed_preset": lab_seed_preset(),
    }


def json_for_script(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``</script>`` breakout."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


# The page's languages: ``?lang=`` picks one (``<html lang>`` follows); English by default.
LANGUAGES = ("en", "zh-CN")


@router.get("/", response_class=HTMLResponse)
def index(request: Request, lang: str = "en") -> HTMLResponse:
    settings: Settings = request.app.state.settings
    language = lang if lang in LANGUAGES else "en"
    # Every student of a class loads the page: rendered and gzipped once per language.
    rendered: dict[str, tuple[bytes, bytes]] | None = getattr(
        request.app.state, "rendered_pages", None)
    if rendered is None:
        rendered = request.app.state.rendered_pages = {}
    if language not in rendered:
        page = templates.TemplateResponse(
            request,
            "index.html",
            {
                "version": __version__,
                "t": strings(language),
                "language": language,
                "languages": LANGUAGES,
                "config_json": json_for_script(page_config(settings, language)),
            },
        ).body
        rendered[language] = page, gzip.compress(page, compresslevel=6, mtime=0)
    page, packed = rendered[language]
    if "gzip" in request.headers.get("accept-encoding", ""):
        return HTMLResponse(packed, headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return HTMLResponse(page, headers={"Vary": "Accept-Encoding"})


@router.get("/lab", response_class=HTMLResponse)
def lab_page(request: Request, lang: str = "en") -> HTMLResponse:
    """The training lab (static/js/lab/): up to four runs side by side."""
    from app.lab import LabLimits
    from app.lab.presets import page_presets

    settings: Settings = request.app.state.settings
    language = lang if lang in LANGUAGES else "en"
    config = page_config(settings, language)
    config["lab"] = {
        **page_presets(LabLimits.from_settings(settings)),
        "datasets": ["digits", "mnist"] if settings.lab_mnist_path else ["digits"],
    }
    return templates.TemplateResponse(
        request,
        "lab.html",
        {
            "version": __version__,
            "t": strings(language),
            "language": language,
            "languages": LANGUAGES,
            "config_json": json_for_script(config),
        },
    )


MODEL_STRINGS_DIR = STRINGS_DIR / "models"


@functools.cache
def model_strings(language: str = "en") -> dict[str, str]:
    """The model view's strings (static/i18n/models/<language>.json), kept apart from the
    main table so that the room is one folder per concern."""
    table: dict[str, str] = json.loads((MODEL_STRINGS_DIR / f"{language}.json").read_text("utf-8"))
    return table


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, lang: str = "en") -> HTMLResponse:
    """Real networks (static/js/models/): your ONNX model's layers with their real weights,
    opened on the shipped model, and the blocks (MobileNetV1/V2, Xception order)."""
    from app.models import SHIPPED_MODEL, SHIPPED_MODEL_INFO

    settings: Settings = request.app.state.settings
    language = lang if lang in LANGUAGES else "en"
    table = {**strings(language), **model_strings(language)}
    config = page_config(settings, language)
    config["strings"] = table
    card = json.loads(SHIPPED_MODEL_INFO.read_text("utf-8"))
    config["models"] = {
        "shipped": {"url": f"/static/models/{SHIPPED_MODEL.name}", "card": card},
        "max_model_bytes": settings.max_model_bytes,
        "photos": ["house", "fruit", "mountains"],
    }
    return templates.TemplateResponse(
        request,
        "models.html",
        {
            "version": __version__,
            "t": table,
            "language": language,
            "languages": LANGUAGES,
            "config_json": json_for_script(config),
        },
    )


@router.get(PLOTLY_URL)
def plotly_js() -> FileResponse:
    """plotly.js from the plotly package, never a CDN: the page works offline."""
    path = plotly_js_path()
    if not path.is_file():  # pragma: no cover - a broken plotly install
        raise HTTPException(status_code=404, detail="plotly.min.js is not installed")
    return FileResponse(
        path,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
