"""JSON responses built off the event loop, without FastAPI's per-element encoder."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response


def dumps(payload: Any) -> bytes:
    """Compact JSON; floats print in Python's shortest exact repr."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(dumps(payload), status_code=status_code, media_type="application/json")
