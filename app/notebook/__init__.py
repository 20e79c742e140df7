"""ConvLens in a notebook: a widget (anywidget) that steps through one convolution.

``show(op, input, filter, ...)`` takes the Python API's arguments, computes the trace
in the kernel with the engine (the same ``build_trace`` and frame encoding the JSON
API streams) and draws it with the page's own view modules. No server is involved.
Install with ``pip install 'convlens[notebook]'``.
"""

from app.notebook.widget import ConvLensWidget, show, trace_payload

__all__ = ["ConvLensWidget", "show", "trace_payload"]
