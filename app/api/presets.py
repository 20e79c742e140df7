"""``GET /api/v1/presets``: sample inputs and named kernels, made by ``app.teaching.presets``."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from app import engine
from app.api.arrays import to_json_values
from app.api.cache import Answer
from app.api.errors import ERROR_RESPONSES, ApiError, ErrorEnvelope
from app.teaching import photos, presets

router = APIRouter(tags=["presets"])


def presets_payload(seed: int) -> dict[str, Any]:
    x, w = presets.seed_example()
    return {
        "inputs": {
            preset.name: {
                "description": preset.description,
                "layout": "NHWC",
                "shape": list(preset.array.shape),
                "array": to_json_values(preset.array),
            }
            for preset in presets.sample_inputs()
        },
        "kernels": {
            preset.name: {
                "description": preset.description,
                "shape": list(preset.array.shape),
                "array": to_json_values(preset.array),
            }
            for preset in presets.named_kernels(seed)
        },
        "photos": {
            name: {
                "description": photo.description,
                "shape": [photos.SIZE, photos.SIZE, 3],
                "url": f"/api/v1/presets/photos/{name}.png",
            }
            for name, photo in photos.PHOTOS.items()
        },
        "seed_example": {
            "op": "depthwise_conv2d",
            "input": to_json_values(x),
            "filter": to_json_values(w),
            "strides": [1, 1, 1, 1],
            "padding": "VALID",
            "output": to_json_values(engine.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID")),
        },
    }


@router.get(
    "/presets",
    summary="Sample inputs and named kernels",
    responses={
        200: {"content": {"application/json": {"example": {
            "inputs": {"seed": {"layout": "NHWC", "shape": [1, 4, 4, 2]}},
            "kernels": {"sobel_x": {"shape": [3, 3],
                                    "array": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]}},
        }}}},
        422: ERROR_RESPONSES[422],
    },
)
def get_presets(
    request: Request,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="Seed of the random kernel.")]
    = presets.DEFAULT_SEED,
) -> Response:
    """Inputs (NHWC ``[1, H, W, C]``, values in [0, 1] but the seed's): the seed example,
    digits 0-9, gradients, a checkerboard, an RGB test pattern. Kernels (``[3, 3]``): identity, box
    blur, Gaussian, Sobel x/y, Laplacian, sharpen, emboss and a seeded random one. Put a
    kernel in channel ``q``, multiplier ``r`` of a depthwise filter as ``filter[:, :, q, r]``.
    """
    # Every student's page asks for this: encoded (and gzipped) once per seed, not per request.
    return presets_answer(seed).response(request)


@functools.lru_cache(maxsize=8)
def presets_answer(seed: int) -> Answer:
    """The answer's bytes exactly as FastAPI would write them, plain and gzipped."""
    return Answer.of(JSONResponse(jsonable_encoder(presets_payload(seed))).body, compress=True)


@router.get(
    "/presets/photos/{name}.png",
    summary="A built-in photo, made in code, as a PNG",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
              "description": "The photo, 96x96 RGB"},
        404: {"model": ErrorEnvelope, "description": "No built-in photo of that name"},
    },
)
def get_photo(
    name: Annotated[str, Path(description="house, fruit or mountains", max_length=40,
                              examples=["house"])],
) -> Response:
    """The page's built-in photos (``app.teaching.photos``): drawn in NumPy, encoded as PNG, so the
    page reads them exactly as it reads an uploaded photo, and resamples them from the
    original (96x96) to any input size."""
    if name not in photos.PHOTOS:
        known = ", ".join(photos.PHOTOS)
        raise ApiError(404, "not_found", f"There is no built-in photo {name!r}; try {known}",
                       "name")
    return Response(photos.photo_png(name), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})
