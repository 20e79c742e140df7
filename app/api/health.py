"""``GET /api/v1/health``: liveness and the limits a client must respect."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends

from app import __version__
from app.api.body import get_settings
from app.settings import Settings

router = APIRouter(tags=["service"])

LIMIT_FIELDS = (
    "max_elements", "max_kernel_size", "max_channels", "max_batch", "max_macs", "max_frames",
    "max_stream_bytes", "max_stream_seconds", "max_body_bytes",
)


@router.get(
    "/health", summary="Health and limits",
    responses={200: {"content": {"application/json": {"example": {
        "status": "ok", "version": __version__, "numpy": "2.x",
        "limits": {"max_elements": 1000000},
    }}}}},
)
async def health(settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, Any]:
    """``status: ok`` while the app serves; ``limits`` are this server's settings."""
    return {
        "status": "ok",
        "version": __version__,
        "numpy": np.__version__,
        "limits": {name: getattr(settings, name) for name in LIMIT_FIELDS},
    }
