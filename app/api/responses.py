"""JSON responses built off the event loop, without FastAPI's per-element encoder."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import Response


def dumps(payload: Any) -> bytes:
    """Compact JSON; floats print as their shortest exact repr (``36.0``, ``0.1``).

    pydantic-core's serializer (already FastAPI's) is ~9x faster than ``json.dumps``
    on float lists. Values are finite: the API refuses non-finite inputs and results.
    """
    return pydantic_core.to_json(payload)


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(dumps(payload), status_code=status_code, media_type="application/json")
