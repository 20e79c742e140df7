"""The notebook widget: its traits, its trace payload and its front-end bundle.

The trace is the API's: ``engine.build_trace`` encoded by ``app.api.frames`` with the
page's stream options, so the widget's bytes equal ``POST /api/v1/trace``'s for the same
configuration. The front end is ``static/js/notebook/widget.js`` and the modules it
imports, sent to the notebook as one ES module (see ``bundle``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np

from app import engine
from app.api import limits
from app.api.errors import ApiError
from app.api.frames import MAX_CHUNK_VALUES, FrameEncoder, step_widths
from app.notebook.arrays import to_numpy
from app.notebook.bundle import widget_css, widget_esm
from app.notebook.strings import catalogue
from app.settings import Settings

# The page's stream options (STREAM_OPTIONS in static/js/core/api.js; a test keeps them equal).
ENCODING, PRECISION, DETAIL, CHUNK_SIZE = "binary", 17, "compact", 1024
OPS = ("conv2d", "depthwise_conv2d", "separable_conv2d", "torch_conv2d")
# The filter argument each op's limits name in their messages.
_FILTER_NAME = {"conv2d": "filters", "depthwise_conv2d": "filter",
                "separable_conv2d": "depthwise_filter", "torch_conv2d": "weight"}


def _bind(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The op's keyword arguments from ``show``'s positional and keyword ones."""
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}; got {op!r}")
    function = getattr(engine, op)
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except TypeError as error:
        raise ValueError(f"{op}: {error}") from None
    return {name: to_numpy(value) for name, value in bound.arguments.items()}


def _check_limits(op: str, plan: engine.ConvPlan, arrays: dict[str, Any],
                  settings: Settings) -> None:
    """The API's limits, with its messages, raised as ValueError."""
    try:
        for name, value in arrays.items():
            size = int(np.size(value)) if isinstance(value, np.ndarray) else 0
            limits.check_elements(name, size, settings, f"{name} (shape {list(np.shape(value))})")
        limits.check_plan(plan, _FILTER_NAME[op], settings)
        limits.check_frames(engine.trace_step_count(plan), settings)
    except ApiError as error:
        raise ValueError(error.message) from None


def _lines(trace: engine.Trace, encoder: FrameEncoder, chunk_size: int) -> Iterator[bytes]:
    header = encoder.header(trace, chunk_size)
    yield header
    sent, chunks = len(header), 0
    with np.errstate(all="ignore"):  # finite inputs were checked; see the engine's ops
        for item in trace.chunks(chunk_size):
            line = encoder.item(item)
            sent += len(line)
            chunks += isinstance(item, engine.TraceChunk)
            yield line
    yield encoder.end(trace.total_steps, chunks, sent)


def trace_payload(op: str, arguments: dict[str, Any], settings: Settings | None = None,
                  batch_index: int = 0) -> bytes:
    """The NDJSON trace of ``op`` on ``arguments`` (the op's keyword arguments), encoded
    as the page asks the API for it. Raises ValueError with the API's messages."""
    settings = settings or Settings()
    plan = engine.plan_trace(op, arguments)
    _check_limits(op, plan, arguments, settings)
    trace = engine.build_trace(op, arguments, batch_index)
    has_bias = op == "torch_conv2d" and arguments.get("bias") is not None
    encoder = FrameEncoder(ENCODING, PRECISION, DETAIL, has_bias)
    widths = step_widths(plan, tuple(stage.name for stage in trace.stages), encoder)
    chunk_size = max(1, min(CHUNK_SIZE, MAX_CHUNK_VALUES // max(widths.values())))
    payload = b"".join(_lines(trace, encoder, chunk_size))
    if len(payload) > settings.max_stream_bytes:
        raise ValueError(
            f"The trace would be {len(payload):,} bytes; the limit is "
            f"{settings.max_stream_bytes:,} (max_stream_bytes). Trace a smaller configuration"
        )
    return payload


def _widget_class() -> type:
    try:
        import anywidget
        import traitlets
    except ImportError:  # pragma: no cover - exercised where the extra is missing
        raise ImportError(
            "The notebook widget needs anywidget: pip install 'convlens[notebook]'"
        ) from None

    class ConvLensWidget(anywidget.AnyWidget):
        """One convolution, stepped through in a notebook. ``step`` and ``speed`` are
        traits: set them from Python (``w.step = 12``) and read them back."""

        _esm = widget_esm()
        _css = widget_css()
        op = traitlets.Unicode("").tag(sync=True)
        language = traitlets.Unicode("en").tag(sync=True)
        step = traitlets.Int(0).tag(sync=True)
        speed = traitlets.Float(2.0).tag(sync=True)
        total_steps = traitlets.Int(0).tag(sync=True)
        height = traitlets.Int(420).tag(sync=True)
        _trace = traitlets.Bytes(b"").tag(sync=True)
        _strings = traitlets.Dict({}).tag(sync=True)

        @traitlets.validate("step")
        def _valid_step(self, proposal: Any) -> int:
            last = max(0, self.total_steps - 1)
            return min(max(0, int(proposal["value"])), last)

        @traitlets.validate("speed")
        def _valid_speed(self, proposal: Any) -> float:
            speed = float(proposal["value"])
            if not 0 < speed <= 240:
                raise traitlets.TraitError("speed must be in (0, 240] steps per second")
            return speed

        @traitlets.validate("language")
        def _valid_language(self, proposal: Any) -> str:
            try:
                catalogue(proposal["value"])
            except ValueError as error:
                raise traitlets.TraitError(str(error)) from None
            return str(proposal["value"])

    return ConvLensWidget


class _LazyWidget:
    """``ConvLensWidget`` resolves anywidget only when first used, so importing
    ``app.notebook`` works (and says what to install) without the extra."""

    _class: type | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def resolve(self) -> type:
        if self._class is None:
            type(self)._class = _widget_class()
        return self._class  # type: ignore[return-value]

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self.resolve())


ConvLensWidget = _LazyWidget()


def show(op: str, *args: Any, language: str = "en", step: int = 0, speed: float = 2.0,
         batch_index: int = 0, settings: Settings | None = None, **kwargs: Any) -> Any:
    """A widget stepping through ``op`` (``"conv2d"``, ``"depthwise_conv2d"``,
    ``"separable_conv2d"`` or ``"torch_conv2d"``) on the Python API's arguments, e.g.
    ``show("depthwise_conv2d", x, w, strides=1, padding="VALID")``. Arrays may be NumPy
    arrays, nested lists, PyTorch tensors or TensorFlow tensors. Raises ValueError with
    the API's messages (limits included) before anything is drawn."""
    catalogue(language)  # an unknown language is refused before any work
    arguments = _bind(op, args, kwargs)
    payload = trace_payload(op, arguments, settings, batch_index)
    total = engine.trace_step_count(engine.plan_trace(op, arguments))
    widget = ConvLensWidget(op=op, language=language, total_steps=total,
                            _trace=payload, _strings=catalogue(language), speed=speed)
    widget.step = step
    return widget
