"""A page that mounts the widget's ES module with a stand-in for anywidget's model, so the
front end is tested in Chromium without Jupyter (tests/notebook/test_jupyterlab.py runs it
in a real JupyterLab)."""

from __future__ import annotations

import base64
import json
from typing import Any

from app.notebook.widget import ConvLensWidget

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>__CSS__</style></head>
<body style="margin:0;padding:16px;font-size:14px"><div id="out" style="width:__WIDTH__px"></div>
<script type="module">
const state = __STATE__;
state._trace = (() => {
  const binary = atob(__TRACE__);
  const bytes = new Uint8Array(binary.length);
  for (let n = 0; n < binary.length; n++) bytes[n] = binary.charCodeAt(n);
  return new DataView(bytes.buffer);
})();
const listeners = {};
const model = {
  get: (name) => state[name],
  set(name, value) {
    if (name === "step") value = Math.min(Math.max(0, value), Math.max(0, state.total_steps - 1));
    const changed = state[name] !== value;
    state[name] = value;
    if (changed) for (const f of listeners["change:" + name] || []) f();
  },
  save_changes() { window.saved = (window.saved || 0) + 1; },
  on(event, f) { (listeners[event] ||= []).push(f); },
  off(event, f) { listeners[event] = (listeners[event] || []).filter((g) => g !== f); },
};
window.widgetModel = model;
const url = URL.createObjectURL(new Blob([__ESM__], { type: "text/javascript" }));
const widget = (await import(url)).default;
await widget.render({ model, el: document.getElementById("out") });
window.mounted = true;
</script></body></html>"""


def harness_html(widget: Any, width: int = 1100) -> str:
    """The page for ``widget`` (a ConvLensWidget), its traits as anywidget would sync them."""
    assert isinstance(widget, ConvLensWidget)
    state = {name: getattr(widget, name) for name in
             ("op", "language", "step", "speed", "total_steps", "height", "_strings")}
    return (
        _PAGE.replace("__CSS__", widget._css)
        .replace("__WIDTH__", str(width))
        .replace("__STATE__", json.dumps(state))
        .replace("__TRACE__", json.dumps(base64.b64encode(widget._trace).decode()))
        .replace("__ESM__", json.dumps(widget._esm).replace("</", "<\\/"))
    )
