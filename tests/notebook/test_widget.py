"""The notebook widget's model: traits, the trace payload (equal to the API's bytes for the
same configuration), array conversion at the edge, and errors with the API's messages."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import httpx
import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the notebook extra (anywidget) is not installed")

from app.notebook import ConvLensWidget, show, trace_payload  # noqa: E402
from app.notebook.arrays import to_numpy  # noqa: E402
from app.notebook.bundle import module_sources, widget_css, widget_esm  # noqa: E402
from app.settings import Settings  # noqa: E402


def seed_example() -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((1, 4, 4, 2))
    x[0, :, :, 0] = [1, 2, 3, 4]
    x[0, :, :, 1] = 1
    w = np.zeros((3, 3, 2, 2))
    w[:, :, 0, 0], w[:, :, 1, 0], w[:, :, 0, 1], w[:, :, 1, 1] = 0, 1, 2, 3
    return x, w


def lines(payload: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in payload.decode().splitlines()]


def page_stream_options() -> dict[str, Any]:
    """STREAM_OPTIONS of static/js/core/api.js: what the page asks the API for."""
    from app.settings import STATIC_DIR

    source = (STATIC_DIR / "js" / "core" / "api.js").read_text("utf-8")
    literal = re.search(r"export const STREAM_OPTIONS = (\{[^}]*\});", source)
    assert literal, "STREAM_OPTIONS not found in api.js"
    return json.loads(re.sub(r"(\w+):", r'"\1":', literal.group(1)))


def test_the_widget_asks_for_the_pages_encoding() -> None:
    from app.notebook import widget

    assert page_stream_options() == {"encoding": widget.ENCODING, "precision": widget.PRECISION,
                                     "detail": widget.DETAIL, "chunk_size": widget.CHUNK_SIZE}


def api_trace(url: str, body: dict[str, Any]) -> bytes:
    response = httpx.post(f"{url}/api/v1/trace", json={**body, **page_stream_options()},
                          timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def test_seed_example_traits() -> None:
    x, w = seed_example()
    widget = show("depthwise_conv2d", x, w, strides=1, padding="VALID")
    assert isinstance(widget, ConvLensWidget)
    assert widget.op == "depthwise_conv2d"
    assert widget.total_steps == 16  # 2 channels x 2 multipliers x 2x2 outputs
    assert widget.step == 0 and widget.speed == 2.0 and widget.language == "en"
    events = lines(widget._trace)
    assert [e["event"] for e in events][0] == "header" and events[-1]["event"] == "end"
    assert widget._strings["player.play"] == "Play"


def test_step_is_clamped_and_speed_checked() -> None:
    x, w = seed_example()
    widget = show("depthwise_conv2d", x, w, strides=1, padding="VALID", step=5)
    assert widget.step == 5
    widget.step = 99
    assert widget.step == 15
    widget.step = -3
    assert widget.step == 0
    import traitlets

    with pytest.raises(traitlets.TraitError, match="speed"):
        widget.speed = 0
    with pytest.raises(traitlets.TraitError, match="language"):
        widget.language = "fr"


@pytest.mark.parametrize("case", ["depthwise", "separable", "torch_groups", "conv2d_grouped"])
def test_payload_equals_the_api_trace(case: str, live_server: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 5, 6, 4)).round(3)
    if case == "depthwise":
        kwargs = {"filter": rng.standard_normal((3, 3, 4, 2)).round(3), "strides": [1, 2, 1, 1],
                  "padding": "SAME"}
        op = "depthwise_conv2d"
    elif case == "separable":
        kwargs = {"depthwise_filter": rng.standard_normal((3, 3, 4, 2)).round(3),
                  "pointwise_filter": rng.standard_normal((1, 1, 8, 3)).round(3),
                  "strides": 1, "padding": "VALID"}
        op = "separable_conv2d"
    elif case == "torch_groups":
        x = np.transpose(x, (0, 3, 1, 2)).copy()
        kwargs = {"weight": rng.standard_normal((6, 2, 2, 2)).round(3), "groups": 2,
                  "padding": 1, "bias": rng.standard_normal(6).round(3)}
        op = "torch_conv2d"
    else:
        kwargs = {"filters": rng.standard_normal((2, 2, 2, 6)).round(3), "strides": 1,
                  "padding": "VALID"}
        op = "conv2d"
    payload = trace_payload(op, {"input": x, **kwargs})
    body = {"op": op, "input": x.tolist(),
            **{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}}
    assert payload == api_trace(live_server, body)


def test_positional_arguments_bind_like_the_python_api() -> None:
    x, w = seed_example()
    a = show("depthwise_conv2d", x, w, [1, 1, 1, 1], "VALID")
    b = show("depthwise_conv2d", input=x, filter=w, strides=1, padding="VALID")
    assert a._trace == b._trace


def test_lists_and_tensors_are_converted_at_the_edge() -> None:
    x, w = seed_example()
    reference = trace_payload("depthwise_conv2d", {"input": x, "filter": w, "strides": 1,
                                                   "padding": "VALID"})
    assert show("depthwise_conv2d", x.tolist(), w.tolist(), strides=1,
                padding="VALID")._trace == reference
    assert to_numpy([1, 1]) == [1, 1] and to_numpy("SAME") == "SAME"


def test_numpy_input_does_not_import_torch_or_tensorflow() -> None:
    import subprocess

    code = (
        "import sys, numpy as np\n"
        "from app.notebook import show\n"
        "show('depthwise_conv2d', np.ones((1,4,4,1)), np.ones((3,3,1,1)), strides=1, "
        "padding='VALID')\n"
        "print('torch' in sys.modules, 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False False"


@pytest.mark.torch
def test_torch_tensors() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 5, 5))
    w = rng.standard_normal((8, 1, 3, 3))
    widget = show("torch_conv2d", torch.from_numpy(x), torch.from_numpy(w), groups=4)
    assert widget._trace == trace_payload("torch_conv2d", {"input": x, "weight": w, "groups": 4})


@pytest.mark.tf
def test_tensorflow_tensors() -> None:
    tf = pytest.importorskip("tensorflow", reason="TensorFlow is not installed")
    x, w = seed_example()
    widget = show("depthwise_conv2d", tf.constant(x), tf.constant(w), strides=1,
                  padding="VALID")
    assert widget._trace == trace_payload("depthwise_conv2d", {"input": x, "filter": w,
                                                               "strides": 1, "padding": "VALID"})


@pytest.mark.parametrize(("call", "message"), [
    (lambda: show("depthwise", np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1))),
     "op must be one of"),
    (lambda: show("depthwise_conv2d", np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 1)),
                  strides=1, padding="VALID"),
     "in_channels"),
    (lambda: show("depthwise_conv2d", np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)),
                  strides=1, padding="VALID", stride=2),
     "stride"),
    (lambda: show("depthwise_conv2d", np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)),
                  strides=1, padding="VALID", language="fr"),
     "language must be one of"),
])
def test_errors_are_clear(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_limits_are_the_apis() -> None:
    small = Settings(max_elements=100, max_frames=50)
    with pytest.raises(ValueError, match="max_elements"):
        show("depthwise_conv2d", np.ones((1, 12, 12, 1)), np.ones((3, 3, 1, 1)), strides=1,
             padding="VALID", settings=small)
    with pytest.raises(ValueError, match="max_frames"):
        show("depthwise_conv2d", np.ones((1, 9, 9, 1)), np.ones((3, 3, 1, 1)), strides=1,
             padding="SAME", settings=Settings(max_frames=50))


def test_bundle_reuses_the_pages_modules() -> None:
    sources = module_sources()
    for page_module in ("core/trace.js", "views/stage.js", "views/depthwise.js",
                        "views/pointwise.js", "views/arithmetic.js", "views/numbers.js",
                        "core/player.js"):
        assert page_module in sources
    assert list(sources)[-1] == "notebook/widget.js"  # dependencies first
    esm = widget_esm()
    assert "export default" in esm and "cdn" not in esm.lower()
    css = widget_css()
    assert css.startswith(".convlens-widget {") and "html, body" not in css


def test_the_repository_notebook_has_its_outputs_cleared() -> None:
    from pathlib import Path

    notebook = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / "convlens.ipynb")
                          .read_text("utf-8"))
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert cells and all(not cell["outputs"] and cell["execution_count"] is None
                         for cell in cells)
    sources = "".join("".join(cell["source"]) for cell in cells)
    for op in ("depthwise_conv2d", "separable_conv2d", "torch_conv2d", "groups="):
        assert op in sources
