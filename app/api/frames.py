"""The trace stream's frames: one JSON object per line (NDJSON), compact.

Events, in order: ``header``, then per stage its ``chunk`` events and one
``stage_end``, then ``end``; or an ``error`` event, after which nothing follows.
The README documents every field. In short:

- ``encoding: "binary"``: arrays are ``{"dtype", "shape", "data"}``, base64 of
  little-endian bytes: floats float32 when ``precision <= 7``, else float64;
  integers (``detail: "full"`` only) int32; booleans one byte each, dtype ``"bool"``.
- ``encoding: "json"``: nested lists, floats rounded to ``precision`` significant
  digits.
- ``detail: "compact"`` sends only the values the page cannot look up:
  depthwise ``products (n, kh, kw)``, ``sum (n,)``; standard ``products (n, Cg, kh, kw)``,
  ``sum (n,)`` and, with a bias, ``output (n,)``; pointwise ``products (n, C*M, O)``,
  ``outputs (n, O)``. Indices follow from the step number and the stage's ``order``;
  the window is ``padded_input`` at the step's position, the weights are the
  header's ``kernels`` row, the pointwise vector is the depthwise ``stage_end`` map
  at ``(i, j)``. ``detail: "full"`` sends every field of ``app.engine`` trace chunks.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import pydantic_core

from app.engine import ConvPlan, StageResult, Trace, TraceChunk

FORMAT_VERSION = 1
MEDIA_TYPE = "application/x-ndjson"

# The fields a compact chunk carries, per stage (``output`` only when there is a bias).
COMPACT_FIELDS: dict[str, tuple[str, ...]] = {
    "depthwise": ("products", "sum"),
    "standard": ("products", "sum", "output"),
    "pointwise": ("products", "outputs"),
}
# Values per step and field of a stage, for chunk sizing and the stream size estimate.
_STEP_SHAPES = {
    "depthwise": {"products": "k", "sum": "1", "window": "k", "weights": "k", "padding_mask": "k",
                  "rows": "h", "cols": "w", "q": "1", "r": "1", "out_channel": "1", "i": "1",
                  "j": "1"},
    "standard": {"products": "gk", "sum": "1", "output": "1", "window": "gk", "weights": "gk",
                 "padding_mask": "k", "rows": "h", "cols": "w", "bias": "1", "out_channel": "1",
                 "group": "1", "i": "1", "j": "1"},
    "pointwise": {"products": "co", "outputs": "o", "vector": "c", "i": "1", "j": "1"},
}
# ".0" closing a number (after a digit, before "," or "]"); strings never end so here.
_INTEGRAL_FLOAT = re.compile(rb"(?<=\d)\.0(?=[,\]])")
# Where line() spliced a binary array: "\u0000<index>\u0000" as JSON writes it.
_PLACEHOLDER = re.compile(rb'"\\u0000(\d+)\\u0000"')
# From this many significant digits on, floats are sent exactly (shortest repr).
EXACT_DIGITS = 16
# Values per chunk line at most; wider steps get smaller chunks.
MAX_CHUNK_VALUES = 1 << 17


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits, as float64 (unchanged from
    ``EXACT_DIGITS`` on: the scaled integer would no longer be exact).

    Dividing (or multiplying) an integer by an exact power of ten gives the double
    nearest the short decimal, so ``repr`` prints at most ``digits`` digits.
    """
    values = values.astype(np.float64, copy=False)
    if digits >= EXACT_DIGITS:
        return values  # repr is already the shortest exact decimal
    with np.errstate(all="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
        exponent = digits - 1 - magnitude
        exponent = np.where(np.isfinite(exponent), exponent, 0.0)
        scale = 10.0 ** np.abs(exponent)
        return np.where(
            exponent >= 0, np.round(values * scale) / scale, np.round(values / scale) * scale
        )


class _RawJson:
    """Bytes that are already JSON (a binary array), spliced into a line as they are."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class FrameEncoder:
    """Encodes trace events as NDJSON lines per the request's stream options."""

    def __init__(self, encoding: str, precision: int, detail: str, has_bias: bool = False
                 ) -> None:
        self.encoding = encoding
        self.precision = precision
        self.detail = detail
        self.has_bias = has_bias
        self.binary_dtype = np.dtype("<f4") if precision <= 7 else np.dtype("<f8")
        self._dtype_name = self.binary_dtype.name.encode()

    @property
    def value_bytes(self) -> float:
        """Approximate bytes per float on the wire, for the size estimate."""
        if self.encoding == "binary":
            return self.binary_dtype.itemsize * 4 / 3
        return self.precision + 4  # digits, sign, point, comma, part of an exponent

    def array(self, values: np.ndarray | None) -> Any:
        if values is None:
            return None
        if self.encoding == "json":
            if values.dtype.kind in "biu":
                return values.tolist()
            return round_significant(values, self.precision).tolist()
        if values.dtype.kind == "b":
            dtype, name = np.dtype("u1"), b"bool"
        elif values.dtype.kind in "iu":
            dtype, name = np.dtype("<i4"), b"int32"  # indices: far below 2**31
        else:
            dtype, name = self.binary_dtype, self._dtype_name
        raw = np.ascontiguousarray(values, dtype=dtype).tobytes()
        shape = ",".join(str(size) for size in values.shape).encode()
        return _RawJson(
            b'{"dtype":"' + name + b'","shape":[' + shape + b'],"data":"'
            + base64.b64encode(raw) + b'"}'
        )

    def line(self, event: dict[str, Any]) -> bytes:
        """One NDJSON line; binary arrays are spliced in as bytes, never re-escaped."""
        raws: list[bytes] = []

        def placeholder(value: Any) -> str:
            if not isinstance(value, _RawJson):
                raise TypeError(f"cannot encode {type(value).__name__}")
            raws.append(value.data)
            return f"\0{len(raws) - 1}\0"

        text = pydantic_core.to_json(event, fallback=placeholder)
        if self.encoding == "json":
            text = _INTEGRAL_FLOAT.sub(b"", text)  # 36.0 -> 36: the same JSON number
        if raws:
            # One pass: the text between placeholders, each placeholder's bytes.
            parts = _PLACEHOLDER.split(text)
            parts[1::2] = [raws[int(index)] for index in parts[1::2]]
            text = b"".join(parts)
        return text + b"\n"

    def step_fields(self, stage: str) -> tuple[str, ...]:
        """The chunk fields sent for ``stage``."""
        if self.detail == "full":
            return tuple(_STEP_SHAPES[stage])
        fields = COMPACT_FIELDS[stage]
        return fields if self.has_bias or stage != "standard" else fields[:2]

    def header(self, trace: Trace, chunk_size: int) -> bytes:
        header = trace.header()
        kernels = {name: self.array(array) for name, array in header.pop("kernels").items()}
        event = {
            "event": "header",
            "format": FORMAT_VERSION,
            "encoding": self.encoding,
            "dtype": self.binary_dtype.name if self.encoding == "binary" else None,
            "precision": self.precision,
            "detail": self.detail,
            "chunk_size": chunk_size,
            **{key: value for key, value in header.items()
               if key not in ("input", "padded_input")},
            "fields": {
                stage.name: list(self.step_fields(stage.name))
                for stage in trace.stages
            },
            "input": self.array(header["input"]),
            "padded_input": self.array(header["padded_input"]),
            "kernels": kernels,
        }
        return self.line(event)

    def item(self, item: TraceChunk | StageResult) -> bytes:
        if isinstance(item, StageResult):
            return self.line({
                "event": "stage_end", "stage": item.stage, "output": self.array(item.output),
            })
        names = self.step_fields(item.stage)
        return self.line({
            "event": "chunk",
            "stage": item.stage,
            "start": item.start,
            "global_start": item.global_start,
            "count": item.size,
            "fields": {name: self.array(item.fields[name]) for name in names},
        })

    def end(self, total_steps: int, chunks: int, sent_bytes: int) -> bytes:
        return self.line({
            "event": "end", "total_steps": total_steps, "chunks": chunks, "bytes": sent_bytes,
        })

    def error(self, envelope_body: dict[str, Any]) -> bytes:
        return self.line({"event": "error", "error": envelope_body})


def step_widths(plan: ConvPlan, stages: tuple[str, ...], encoder: FrameEncoder
                ) -> dict[str, int]:
    """Values per step that ``encoder`` sends for each stage."""
    kh, kw = plan.kernel_hw
    sizes = {
        "k": kh * kw,
        "gk": plan.group_in_channels * kh * kw,
        "h": kh,
        "w": kw,
        "c": plan.spatial_out_channels,
        "o": plan.out_channels,
        "co": plan.spatial_out_channels * plan.out_channels,
        "1": 1,
    }
    return {
        stage: sum(sizes[_STEP_SHAPES[stage][name]] for name in encoder.step_fields(stage))
        for stage in stages
    }
