"""``POST /api/v1/factorize``: separable <-> standard kernels."""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import Response

from app import engine
from app.api import examples, limits
from app.api.arrays import output_value, source
from app.api.body import JsonBody, body_docs, get_settings, json_body
from app.api.errors import ERROR_RESPONSES, ApiError, configuration_error
from app.api.responses import json_response
from app.api.schemas import (
    FACTORIZE_MODELS,
    FactorizeApproximationRequest,
    FactorizePairRequest,
    FactorizeRequest,
)
from app.settings import Settings

router = APIRouter(tags=["factorize"])

_BODY = json_body("FactorizeRequest", FactorizeRequest, FACTORIZE_MODELS)
_KNOWN_FIELDS = ("depthwise_filter", "pointwise_filter", "filters", "channel_multiplier")


def _finite(values: np.ndarray, field: str, what: str, dtype: str) -> np.ndarray:
    """``values`` if every one is finite, else a 422 naming ``field`` (one the request sent).

    Factorizing squares the values (the SVD, the errors' norms): beyond about 1e154 in
    float64 (1e19 in float32) they overflow.
    """
    if not np.isfinite(values).all():
        advice = "; or use dtype float64" if dtype == "float32" else ""
        raise ApiError(
            422, "non_finite",
            f"{what} is too large to factorize in {dtype}: its squared values overflow "
            f"(|values| well below {np.sqrt(np.finfo(dtype).max):.0e}); scale the filters "
            f"down{advice}", field,
        )
    return values


def _errors_by_multiplier(kernel: np.ndarray, field: str, what: str, dtype: str
                          ) -> list[dict[str, Any]]:
    if not np.isfinite(kernel).all():
        _finite(kernel, field, what, dtype)
    errors = _finite(engine.approximation_errors(kernel), field, what, dtype)
    return [
        {"channel_multiplier": index + 1, "relative_error": float(error)}
        for index, error in enumerate(errors)
    ]


def _load(request: Any, names: tuple[str, ...], settings: Settings,
          check: Callable[[dict[str, tuple[int, ...]]], None]) -> list[Any]:
    """The arrays ``names``, loaded once their own limits and ``check`` (of what the
    engine will allocate from their shapes) have passed."""
    sources = {name: source(getattr(request, name), name, (4,)) for name in names}
    limits.check_sources(sources, settings)
    for name, array in sources.items():
        limits.check_kernel(name, array.shape[:2] if name != "pointwise_filter" else (1, 1),
                            settings)
        for axis, what in ((2, "in_channels"), (3, "out_channels")):
            limits.check_channels(name, f"{name}'s {what}", array.shape[axis], settings)
    check({name: array.shape for name, array in sources.items()})
    return [sources[name].load(request.dtype) for name in names]


def _check_pair(shapes: dict[str, tuple[int, ...]], settings: Settings) -> None:
    depthwise, pointwise = shapes["depthwise_filter"], shapes["pointwise_filter"]
    if pointwise[:3] != (1, 1, depthwise[2] * depthwise[3]):
        return  # the engine refuses the pair (422) before allocating anything
    limits.check_equivalent_kernel(depthwise, pointwise, settings)


def factorize_payload(request: FactorizePairRequest | FactorizeApproximationRequest,
                      settings: Settings) -> dict[str, Any]:
    encoding = request.output_encoding
    try:
        if isinstance(request, FactorizePairRequest):
            depthwise, pointwise = _load(
                request, ("depthwise_filter", "pointwise_filter"), settings,
                check=lambda shapes: _check_pair(shapes, settings))
            pair_fields = ("depthwise_filter",
                           "the equivalent kernel of depthwise_filter and pointwise_filter")
            with np.errstate(all="ignore"):
                kernel = _finite(engine.equivalent_kernel(depthwise, pointwise), *pair_fields,
                                 request.dtype)
                errors = _errors_by_multiplier(kernel, *pair_fields, request.dtype)
            return {
                "equivalent_kernel": output_value(kernel, encoding),
                "equivalent_kernel_shape": list(kernel.shape),
                "approximation": None,
                "errors": errors,
            }
        (filters,) = _load(request, ("filters",), settings, check=lambda shapes: (
            limits.check_approximation(shapes["filters"], request.channel_multiplier, settings)))
        with np.errstate(all="ignore"):
            fit = engine.separable_approximation(filters, request.channel_multiplier)
            errors = _errors_by_multiplier(filters, "filters", "filters", request.dtype)
        for values in (fit.depthwise_filter, fit.pointwise_filter, fit.approximation,
                       fit.singular_values, fit.channel_errors, fit.relative_error):
            _finite(np.asarray(values), "filters", "filters", request.dtype)
    except ValueError as error:
        raise configuration_error(error, _KNOWN_FIELDS) from None
    return {
        "equivalent_kernel": None,
        "equivalent_kernel_shape": None,
        "approximation": {
            "channel_multiplier": fit.channel_multiplier,
            "depthwise_filter": output_value(fit.depthwise_filter, encoding),
            "pointwise_filter": output_value(fit.pointwise_filter, encoding),
            "approximation": output_value(fit.approximation, encoding),
            "singular_values": output_value(fit.singular_values, encoding),
            "channel_errors": output_value(fit.channel_errors, encoding),
            "relative_error": fit.relative_error,
            "exact": fit.exact,
        },
        "errors": errors,
    }


@router.post(
    "/factorize",
    summary="Equivalent kernel of a separable pair; separable approximation of a kernel",
    responses={200: {"content": {"application/json": {"example": {
        "equivalent_kernel": None,
        "approximation": {"channel_multiplier": 1, "relative_error": 0.7071, "exact": False},
        "errors": [{"channel_multiplier": 1, "relative_error": 0.7071},
                   {"channel_multiplier": 2, "relative_error": 0.0}],
    }}}}, **ERROR_RESPONSES},
    openapi_extra=body_docs("FactorizeRequest", {
        "approximate_sobel_pair": examples.FACTORIZE_APPROXIMATE,
        "equivalent_kernel_of_a_pair": examples.FACTORIZE_PAIR,
    }),
)
def factorize(body: Annotated[JsonBody, Depends(_BODY)],
              settings: Annotated[Settings, Depends(get_settings)]) -> Response:
    """Either ``depthwise_filter`` [kh, kw, C, M] and ``pointwise_filter`` [1, 1, C*M, O]:
    the standard kernel [kh, kw, C, O] they equal. Or ``filters`` [kh, kw, C, O]: its best
    separable pair for ``channel_multiplier`` (per-channel SVD) with the error. Both
    answers list ``errors``: the relative error of the best fit for each M."""
    return json_response(factorize_payload(body.parse(), settings))
