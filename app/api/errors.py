"""The one error envelope, for every 4xx the API (or the app around it) answers.

``{"error": {"code": "...", "message": "...", "field": "input" | null, "status": 422}}``

- ``code`` is stable and machine-readable (see ``CODES``), ``message`` is written
  for a student and names the rule broken, ``field`` is the request field to fix
  (the top-level argument name, e.g. ``"depthwise_filter"``) or null.
- 400 malformed JSON; 404/405 unknown route or method; 413 a limit (body bytes,
  elements, kernel size, channels, batch, multiply-adds, frames, stream bytes);
  422 everything else that is wrong with a request.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

logger = logging.getLogger("convlens.api")

# Every code the API answers with, and what it means.
CODES: dict[str, str] = {
    "malformed_json": "the body is not valid JSON (400)",
    "missing_field": "a required field is absent (422)",
    "unknown_field": "a field the endpoint does not take, often a TF/PyTorch name mix-up (422)",
    "invalid_value": "a field has the wrong type, an unknown enum value or is out of range (422)",
    "invalid_array": "an array is ragged, not numeric, or its base64 form is inconsistent (422)",
    "non_finite": "an array holds NaN or infinity, or the result overflows (422)",
    "invalid_configuration": "shapes or arguments that do not fit together (422)",
    "body_too_large": "the request body exceeds max_body_bytes (413)",
    "too_many_elements": "an input, output or intermediate array exceeds max_elements (413)",
    "kernel_too_large": "a kernel side exceeds max_kernel_size (413)",
    "too_many_channels": "a channel count exceeds max_channels (413)",
    "batch_too_large": "the batch exceeds max_batch (413)",
    "too_much_work": "the multiply-adds exceed max_macs (413)",
    "too_many_frames": "the trace has more steps than max_frames (413)",
    "stream_too_large": "the trace stream would exceed max_stream_bytes (413)",
    "stream_timeout": "the trace stream ran longer than max_stream_seconds (stream event)",
    "request_timeout": "the body did not arrive within body_timeout_seconds (408)",
    "headers_too_large": "the request line and headers exceed max_header_bytes (431)",
    "invalid_http": "the request is not valid HTTP/1.1 (400, from the server itself)",
    "unsupported_media_type": "the body's Content-Type is not the one the route takes (415)",
    "malformed_form": "a multipart/form-data body that cannot be split into fields (400)",
    "invalid_model": "the ONNX file is not ONNX, truncated, or its graph is invalid (422)",
    "external_data": "the ONNX model keeps tensors in external data files (422)",
    "unsupported_model": "onnxruntime refuses to run the model (an op it does not know) (422)",
    "unknown_layer": "no Conv layer of the model has this name (422)",
    "model_too_large": "the ONNX file exceeds max_model_bytes (413)",
    "too_many_weights": "the model's weights exceed max_model_weights elements (413)",
    "too_many_activations": "a run's activations would exceed max_model_activations (413)",
    "models_unavailable": "onnx/onnxruntime (the models extra) is not installed (503)",
    "lab_limit": "a training run over a lab_* setting: epochs, training images (413)",
    "invalid_dataset": "an uploaded dataset is not a Keras mnist.npz or four IDX files that "
    "fit together (422)",
    "lab_unavailable": "the lab's dataset is not configured (422) or not installed (503)",
    "lab_busy": "more training runs are waiting than lab_max_queue (503)",
    "diverged": "a training run's loss stopped being finite (stream event)",
    "time_limit": "a training run took longer than lab_max_seconds (stream event)",
    "cancelled": "a training run was stopped: every watcher left (stream event)",
    "cors_refused": "a CORS preflight from an origin, method or header not allowed (400)",
    "not_found": "no such route (404)",
    "method_not_allowed": "the route exists but not with this method (405)",
    "http_error": "any other HTTP-level refusal",
    "internal_error": "a bug: the server failed (500); please report it",
}


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code; see the README's list.")
    message: str = Field(description="What is wrong and how to fix it, for a person.")
    field: str | None = Field(description="The request field to fix, or null.")
    status: int = Field(description="The HTTP status, repeated for stream error events.")


class ErrorEnvelope(BaseModel):
    """The body of every 4xx answer (and of a stream's ``error`` event)."""

    error: ErrorBody

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": {
                        "code": "invalid_configuration",
                        "message": "depthwise_filter has in_channels=3 but input has 4 channels",
                        "field": "depthwise_filter",
                        "status": 422,
                    }
                }
            ]
        }
    }


class ApiError(Exception):
    """An answer in the envelope; raise it anywhere below a route."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def envelope(self) -> dict[str, Any]:
        return envelope(self.status, self.code, self.message, self.field)


def envelope(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field, "status": status}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.envelope(), status_code=error.status)


# Responses every API route documents besides its 200.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "Malformed JSON"},
    413: {"model": ErrorEnvelope, "description": "Over a limit (body, elements, kernel, ...)"},
    422: {"model": ErrorEnvelope, "description": "Invalid request (shapes, values, enums)"},
}


# ---------------------------------------------------------------- engine errors

def field_from_message(message: str, known_fields: Iterable[str]) -> str | None:
    """The argument an engine ``ValueError`` is about.

    Engine messages start with the argument's name ("padding: ...", "filters has
    ..."); failing that, the first known name that appears as a whole word wins.
    Longer names are tried first so ``depthwise_filter`` is not taken for ``filter``.
    """
    names = sorted(set(known_fields), key=len, reverse=True)
    for name in names:
        if re.match(rf"{re.escape(name)}(?![\w])", message):
            return name
    best: tuple[int, str] | None = None
    for name in names:
        found = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), name)
    return best[1] if best else None


def configuration_error(error: Exception, known_fields: Iterable[str]) -> ApiError:
    """An engine ``ValueError`` (shapes or arguments that do not fit) as a 422."""
    message = str(error)
    field = field_from_message(message, known_fields)
    code = "non_finite" if "overflows" in message else "invalid_configuration"
    return ApiError(422, code, message, field)


# ------------------------------------------------------------- pydantic errors

# What each commonly mistyped field should look like, appended to type errors.
FIELD_HINTS: dict[str, str] = {
    "strides": "an int or a list of 1, 2 or 4 positive ints, e.g. [1, 1, 1, 1]",
    "dilations": "an int or a list of 1, 2 or 4 positive ints, or null",
    "padding": (
        "TF: 'SAME', 'VALID' or [[0, 0], [top, bottom], [left, right], [0, 0]]; "
        "PyTorch: an int, a pair, 'same' or 'valid'"
    ),
    "stride": "an int or a pair of positive ints",
    "dilation": "an int or a pair of positive ints",
    "groups": "a positive int",
    "data_format": "'NHWC' or 'NCHW'",
    "dtype": "'float32' or 'float64'",
}

_PYDANTIC_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "union_tag_not_found": "missing_field",
    "finite_number": "non_finite",
    "invalid_array": "invalid_array",
    "invalid_configuration": "invalid_configuration",
}


# Labels pydantic puts in ``loc`` for union members, and the array tags of schemas.py.
_UNION_LABELS = {"int", "float", "str", "bool", "none", "nested", "base64", "list", "dict"}


def _location(loc: Sequence[Any], tags: Iterable[str]) -> tuple[str | None, str]:
    """``(field, path)`` from a pydantic ``loc``: the top-level field and a readable path.

    Union member labels (``'list[int]'``, ``'function-after[...]'``) and a leading
    discriminator tag (the trace's ``op``) are dropped.
    """
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if parts and isinstance(parts[0], str) and parts[0] in set(tags):
        parts = parts[1:]
    names = [
        part for part in parts
        if isinstance(part, int)
        or (re.fullmatch(r"\w+", part) and part not in _UNION_LABELS)
    ]
    if not names or not isinstance(names[0], str):
        return None, ""
    path = names[0] + "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                              for part in names[1:])
    return names[0], path


# Errors that say only "the value is not of this member's type": for a union, the member
# whose type the value has says more (strides [1, 1, 1, 1, 1]: "at most 4 items").
_TYPE_MISMATCH = {"int_type", "int_parsing", "float_type", "string_type", "bool_type",
                  "list_type", "dict_type", "model_type", "literal_error", "none_required",
                  "is_instance_of", "model_attributes_type"}


def _closest(name: str, names: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6) or [
        known for known in names if name in known  # filter -> depthwise_filter
    ][:1]
    return close[0] if close else None


def _most_telling(errors: Sequence[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    """The error to report: an unknown field first (it explains the missing one next to
    it: ``stride`` for ``strides``), else the first field's most specific error."""
    first = errors[0]
    if first.get("type") == "json_invalid":
        return first
    for error in errors:
        if error.get("type") == "extra_forbidden":
            return error
    field = _location(first.get("loc", ()), tags)[0]
    same_field = [e for e in errors if _location(e.get("loc", ()), tags)[0] == field]
    specific = [e for e in same_field if e.get("type") not in _TYPE_MISMATCH] or same_field
    # The deepest says most ("strides[1]: ...").
    return max(specific, key=lambda e: len(e.get("loc", ())))


def from_validation_errors(
    errors: Sequence[dict[str, Any]],
    allowed_fields: Iterable[str] | Mapping[str, Iterable[str]] = (),
) -> ApiError:
    """Pydantic's error list as one envelope: the first error, the others counted.

    allowed_fields : the body's field names (for "did you mean"), or for a union
        tagged by ``op``, the field names of each tag.
    """
    if not errors:
        return ApiError(422, "invalid_value", "the request is invalid")
    tags = list(allowed_fields) if isinstance(allowed_fields, Mapping) else []
    first = _most_telling(errors, tags)
    kind = first.get("type", "")
    if kind == "json_invalid":
        detail = first.get("ctx", {}).get("error") or first.get("msg", "")
        return ApiError(400, "malformed_json", f"The body is not valid JSON: {detail}")
    field, path = _location(first.get("loc", ()), tags)
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        expected = first.get("ctx", {}).get("expected_tags") or ", ".join(
            repr(tag) for tag in tags)
        problem = "op is required" if kind == "union_tag_not_found" else "op is unknown"
        return ApiError(
            422, "missing_field" if kind == "union_tag_not_found" else "invalid_value",
            f"{problem}: it must be one of {expected}", "op",
        )
    if kind == "invalid_configuration" and not path:  # a rule across fields (a union's)
        message = first.get("msg", "invalid request")
        sent = first.get("input") if isinstance(first.get("input"), dict) else {}
        named = [word for word in re.findall(r"\w+", message) if word in sent]
        return ApiError(422, "invalid_configuration", message, named[-1] if named else None)
    if kind == "string_pattern_mismatch" and path.endswith(".data"):
        return ApiError(422, "invalid_array", f"{path} is not valid standard base64 (A-Z, "
                        "a-z, 0-9, + and /, padded with =)", field)
    if kind == "extra_forbidden" and not path:
        # A key that is not a plain name (U+202E, spaces, ...): name it as sent, escaped.
        key = [part for part in first.get("loc", ()) if part not in tags][-1:]
        if key and isinstance(key[0], str):
            field, path = key[0], ascii(key[0])
    if kind == "model_type" or kind == "model_attributes_type" or not path:
        return ApiError(422, "invalid_value", "The body must be a JSON object of named fields")
    code = _PYDANTIC_CODES.get(kind, "invalid_value")
    if kind == "missing":
        message = f"{path} is required"
    elif kind == "extra_forbidden":
        message = f"{path} is not a field of this endpoint"
        loc = first.get("loc", ())
        names = list(
            allowed_fields.get(loc[0], ()) if isinstance(allowed_fields, Mapping) and loc
            else allowed_fields
        )
        close = _closest(str(field), names)
        if close:
            message += f"; did you mean {close!r}?"
        elif names:
            message += f"; it takes {', '.join(names)}"
        for other in errors:  # stride and filter sent together: both suggestions at once
            key = other.get("loc", ())[-1:]
            if (other is not first and other.get("type") == "extra_forbidden" and key
                    and isinstance(key[0], str) and _closest(key[0], names)):
                message += f" ({key[0]}: did you mean {_closest(key[0], names)!r}?)"
    else:
        message = f"{path}: {first.get('msg', 'invalid value')}"
        if field in FIELD_HINTS:
            message += f" (expected {FIELD_HINTS[field]})"
    fields = {_location(error.get("loc", ()), tags)[0] for error in errors}
    if len(fields) > 1:
        others = len(fields) - 1
        message += f" (and problems in {others} more field{'s' if others > 1 else ''})"
    return ApiError(422, code, message, field)


# ------------------------------------------------------------------- handlers

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(from_validation_errors(list(error.errors())))


async def _http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    detail = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code == 404:
        detail = f"There is no route {request.url.path}; see /docs for the API"
    elif error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}; see /docs"
    response = error_response(ApiError(error.status_code, code, detail))
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, MemoryError):
        return error_response(ApiError(
            413, "too_many_elements", "The configuration needs more memory than the server has; "
            "use smaller arrays",
        ))
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ApiError(
        500, "internal_error", "The server failed on this request; please report it",
    ))


async def _client_gone(request: Request, error: Exception) -> Response:
    """The client left mid-request (``read_body`` logged it): nobody to answer, no error."""
    return Response(status_code=400)


def register_error_handlers(application: FastAPI) -> None:
    """Every refusal of ``application`` answers in the envelope."""
    application.add_exception_handler(ClientDisconnect, _client_gone)
    application.add_exception_handler(ApiError, _api_error)
    application.add_exception_handler(RequestValidationError, _request_validation)
    application.add_exception_handler(StarletteHTTPException, _http_exception)
    application.add_exception_handler(Exception, _unexpected)
