"""JSON bodies read within ``max_body_bytes`` and parsed off the event loop.

FastAPI would parse and validate a body model on the event loop; a 16 MB body
of nested lists then stalls every stream for a noticeable time. Here the loop
only collects bytes (refusing more than ``max_body_bytes`` with a 413), and the
endpoint parses them in the worker thread where it does the rest of its work
(``JsonBody.parse``). The body's schema still reaches the OpenAPI document
through ``body_docs``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect

from app.api.errors import ApiError, from_validation_errors
from app.settings import Settings

T = TypeVar("T")
logger = logging.getLogger("convlens.api")

# Schemas the OpenAPI document must list under components/schemas (bodies parsed
# here, and the trace's event schema), by component name.
COMPONENTS: dict[str, TypeAdapter[Any]] = {}


async def get_settings(request: Request) -> Settings:
    """The application's settings (``create_app(settings)``); async so that FastAPI
    does not send this look-up to a worker thread."""
    settings: Settings = request.app.state.settings
    return settings


def _field_names(body_type: Any, by_tag: dict[str, type[BaseModel]] | None
                 ) -> tuple[str, ...] | dict[str, tuple[str, ...]]:
    if by_tag is not None:
        return {tag: tuple(model.model_fields) for tag, model in by_tag.items()}
    if isinstance(body_type, type) and issubclass(body_type, BaseModel):
        return tuple(body_type.model_fields)
    return ()


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with a 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    received: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            received.append(chunk)
    except ClientDisconnect:
        logger.info("client left while sending its body: %s %s (%d bytes received)",
                    request.method, request.url.path, size)
        raise
    return b"".join(received)


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413, "body_too_large",
        f"The request body has {size:,} bytes or more; the limit is {limit:,} bytes "
        "(max_body_bytes). Send large arrays as {dtype, shape, data} base64, or smaller arrays",
    )


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return document


# A boolean right inside an array, somewhere in the raw text (or inside a string,
# which the exact check that follows rules out).
_BOOLEAN_IN_ARRAY = re.compile(rb"[\[,]\s*(?:true|false)\s*[,\]]")


def _boolean_among_numbers(value: Any) -> bool:
    """True when a nested list under ``value`` mixes booleans with numbers anywhere in it
    (``[true, 2]``, and ``[[true], [2]]``, which NumPy would read as ``[[1], [2]]``)."""
    if isinstance(value, dict):
        return any(_boolean_among_numbers(item) for item in value.values())
    if not isinstance(value, list):
        return False
    kinds: set[type] = set()
    lists = [value]
    while lists:  # every leaf of the nested list, without recursion
        for item in lists.pop():
            if isinstance(item, list):
                lists.append(item)
            elif isinstance(item, dict):
                if _boolean_among_numbers(item):
                    return True
            else:
                kinds.add(type(item))
    return bool in kinds and bool(kinds & {int, float})


def parse_document(raw: bytes) -> Any:
    """The JSON value of ``raw``: UTF-8, no duplicate keys, no booleans among numbers.

    Parsed once into Python objects, then validated with ``validate_python``:
    pydantic's own JSON path copies the whole body into every error it reports
    (a 16 MB body with five missing fields took 550 MB).
    """
    if not raw.strip():
        raise ApiError(400, "malformed_json", "The body is empty; send a JSON object")
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as error:
        raise ApiError(400, "malformed_json",
                       f"The body is not valid UTF-8 (byte {error.start})") from None
    except _DuplicateKey as error:
        raise ApiError(400, "malformed_json",
                       f"The body has the key {error.key!r} more than once in one object; "
                       "send each field once") from None
    except json.JSONDecodeError as error:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:  # 10**5000, or nesting too deep
        detail = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {detail}") from None
    if isinstance(document, dict) and _BOOLEAN_IN_ARRAY.search(raw):
        for name, value in document.items():
            if _boolean_among_numbers(value):
                raise ApiError(
                    422, "invalid_array",
                    f"{name} holds true or false among its numbers; arrays hold numbers "
                    "only (write 1 and 0)", name,
                )
    return document


def parse_body(adapter: TypeAdapter[T], raw: bytes,
               fields: tuple[str, ...] | dict[str, tuple[str, ...]] = ()) -> T:
    """Validate ``raw`` JSON against ``adapter``; errors become one envelope."""
    document = parse_document(raw)
    try:
        return adapter.validate_python(document)
    except ValidationError as error:
        raise from_validation_errors(error.errors(include_url=False), fields) from None


class JsonBody:
    """A request body read within the limit and not yet parsed.

    ``parse()`` validates it; call it from the worker thread that does the rest of
    the request's work, so a request crosses to a thread once.
    """

    __slots__ = ("adapter", "raw", "fields")

    def __init__(self, adapter: TypeAdapter[Any], raw: bytes,
                 fields: tuple[str, ...] | dict[str, tuple[str, ...]]) -> None:
        self.adapter = adapter
        self.raw = raw
        self.fields = fields

    def parse(self) -> Any:
        return parse_body(self.adapter, self.raw, self.fields)


def json_body(name: str, body_type: Any, by_tag: dict[str, type[BaseModel]] | None = None
              ) -> Callable[[Request], Awaitable[JsonBody]]:
    """A dependency returning the body as a ``JsonBody``; ``name`` is its OpenAPI component.

    by_tag : for a union discriminated by ``op``, the model of each ``op``.
    """
    adapter: TypeAdapter[Any] = TypeAdapter(body_type)
    COMPONENTS[name] = adapter
    fields = _field_names(body_type, by_tag)

    async def dependency(request: Request) -> JsonBody:
        settings: Settings = request.app.state.settings
        raw = await read_body(request, settings.max_body_bytes)
        return JsonBody(adapter, raw, fields)

    return dependency


def body_docs(name: str, examples: dict[str, dict[str, Any]], description: str = ""
              ) -> dict[str, Any]:
    """``openapi_extra`` documenting a ``json_body`` and its examples."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{name}"},
                    "examples": {
                        key: {"summary": key.replace("_", " "), "value": value}
                        for key, value in examples.items()
                    },
                }
            },
        }
    }


def register_component(name: str, schema_type: Any) -> None:
    """List ``schema_type`` under ``name`` in the OpenAPI components."""
    COMPONENTS[name] = TypeAdapter(schema_type)


def body_components() -> dict[str, Any]:
    """OpenAPI component schemas of every registered body and the models it uses."""
    components: dict[str, Any] = {}
    for name, adapter in COMPONENTS.items():
        schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    return components
