"""``multipart/form-data`` bodies for the upload routes (the models API), read within a limit.

The body is collected by ``read_body`` (refused with a 413 past ``limit`` bytes, as
JSON bodies are) and split in the worker thread. No temporary files: an upload is
bounded by ``max_model_bytes``, and held in memory once. Only the fields a route
names are accepted; a repeated field, an unknown one or a missing one is a 422
naming it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Request

from app.api.body import read_body
from app.api.errors import ApiError

# Part headers, boundaries and the small text fields around an uploaded file.
FORM_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    data: bytes

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(422, "invalid_value", f"{self.name} must be UTF-8 text",
                           self.name) from None


@dataclass(frozen=True)
class RawForm:
    """A multipart body read but not yet split (``parse`` runs in the worker thread)."""

    boundary: bytes
    body: bytes

    def parse(self, fields: Iterable[str], required: Iterable[str]) -> dict[str, FormPart]:
        allowed = tuple(fields)
        parts = _split(self.boundary, self.body)
        found: dict[str, FormPart] = {}
        for part in parts:
            if part.name not in allowed:
                close = difflib.get_close_matches(part.name, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ApiError(422, "unknown_field",
                               f"{part.name!r} is not a field of this endpoint (it takes "
                               f"{', '.join(allowed)}){hint}", part.name)
            if part.name in found:
                raise ApiError(422, "invalid_value", f"{part.name} is sent twice; send it once",
                               part.name)
            found[part.name] = part
        for name in required:
            if name not in found:
                raise ApiError(422, "missing_field", f"{name} is required (a multipart "
                               "form field)", name)
        return found


def _content_type_boundary(header: str) -> bytes | None:
    media, _, parameters = header.partition(";")
    if media.strip().lower() != "multipart/form-data":
        return None
    for parameter in parameters.split(";"):
        key, _, value = parameter.strip().partition("=")
        if key.lower() == "boundary" and value:
            value = value.strip('"')
            if 1 <= len(value) <= 70:
                return value.encode("latin-1")
    return b""


async def read_form(request: Request, limit: int, route: str) -> RawForm:
    """The body of a ``multipart/form-data`` request; 415 for any other content type."""
    boundary = _content_type_boundary(request.headers.get("content-type", ""))
    if boundary is None:
        raise ApiError(415, "unsupported_media_type",
                       f"{route} takes multipart/form-data (an HTML form upload, e.g. curl -F "
                       "model=@net.onnx), not "
                       f"{request.headers.get('content-type') or 'a body without a type'}")
    if not boundary:
        raise ApiError(400, "malformed_form", "the multipart Content-Type has no boundary")
    return RawForm(boundary, await read_body(request, limit))


def _disposition(headers: bytes) -> tuple[str | None, str | None]:
    name = filename = None
    for line in headers.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() != b"content-disposition":
            continue
        for item in value.decode("utf-8", "replace").split(";"):
            key_text, _, item_value = item.strip().partition("=")
            item_value = item_value.strip().strip('"')
            if key_text.lower() == "name":
                name = item_value
            elif key_text.lower() == "filename":
                filename = item_value
    return name, filename


def _split(boundary: bytes, body: bytes) -> list[FormPart]:
    delimiter = b"--" + boundary
    if not body.startswith(delimiter) and (b"\r\n" + delimiter) not in body:
        raise ApiError(400, "malformed_form",
                       "the multipart body does not contain its boundary; send it as a form")
    chunks = (b"\r\n" + body).split(b"\r\n" + delimiter)
    parts: list[FormPart] = []
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        if not chunk.startswith(b"\r\n"):
            raise ApiError(400, "malformed_form", "a multipart boundary is not followed by a "
                           "line break")
        headers, separator, data = chunk[2:].partition(b"\r\n\r\n")
        if not separator:
            raise ApiError(400, "malformed_form", "a multipart part has no blank line after "
                           "its headers")
        name, filename = _disposition(headers)
        if name is None:  # name="" is a field name, an unknown one (a 422 in ``parse``)
            raise ApiError(400, "malformed_form", "a multipart part has no Content-Disposition "
                           "name")
        parts.append(FormPart(name, filename, data))
    if not closed:
        raise ApiError(400, "malformed_form", "the multipart body is truncated (no closing "
                       "boundary); send the whole form")
    return parts
