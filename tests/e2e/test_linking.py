"""Output ↔ input linking (issue 9), with the mouse: hover an output cell to see its window
and kernel, click it to jump the player there; hover an input cell to see every output it
feeds. Expected cells come from the API's own trace of the page's configuration."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import Demo

pytestmark = pytest.mark.e2e

DEPTHWISE = ("op=depthwise&source=ramp&height=6&width=6&channels=2&kh=3&kw=3&kernels=1,2,1,3"
             "&multiplier=2&padding=SAME&sh=2&sw=2")
GROUPED = ("op=grouped&source=checker&height=6&width=6&channels=4&kh=3&kw=3&out=4&groups=2"
           "&kernels=identity,edge_x,edge_y,laplacian&padding=SAME&dh=2&dw=2")


def _open_recording(demo: Demo, query: str) -> dict:
    """Open the page and return the trace body it sent, asked again as full JSON."""
    bodies: list[dict] = []
    demo.page.on("request", lambda request: (
        request.method == "POST" and request.url.endswith("/api/v1/trace")
        and bodies.append(json.loads(request.post_data or "{}"))))
    demo.open(query)
    demo.wait_stream_done()
    body = {**bodies[-1], "encoding": "json", "precision": 17, "detail": "full"}
    response = httpx.post(f"{demo.base_url}/api/v1/trace", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return _steps([json.loads(line) for line in response.text.splitlines() if line.strip()])


def _steps(events: list[dict]) -> dict:
    header = events[0]
    steps = []
    for event in events:
        if event.get("event") != "chunk" or event["stage"] == "pointwise":
            continue
        fields = event["fields"]
        for n in range(event["count"]):
            steps.append({
                "step": event["global_start"] + n,
                "map": fields["out_channel"][n], "i": fields["i"][n], "j": fields["j"][n],
                "channel": fields["q"][n] if "q" in fields else None,
                "group": fields["group"][n] if "group" in fields else None,
                "rows": fields["rows"][n], "cols": fields["cols"][n],
            })
    return {"header": header, "steps": steps}


def _padded(trace: dict) -> tuple[int, int]:
    """The input grid's size on the stage: the input and its padding."""
    pad = trace["header"]["padding"]
    height, width = trace["header"]["input_hw"]
    return (height + pad["pad_top"] + pad["pad_bottom"],
            width + pad["pad_left"] + pad["pad_right"])


def _hover_cell(demo: Demo, grid: object, rows: int, cols: int, i: int, j: int,
                click: bool = False) -> None:
    box = grid.bounding_box()
    x = box["x"] + (j + 0.5) * box["width"] / cols
    y = box["y"] + (i + 0.5) * box["height"] / rows
    demo.page.mouse.move(x, y)
    if click:
        demo.page.mouse.click(x, y)


def _marks(root: object, selector: str) -> set[tuple[int, ...]]:
    """(map or -1, i, j) of the link boxes matching ``selector`` under ``root``."""
    return {tuple(cell) for cell in root.locator(selector).evaluate_all(
        "boxes => boxes.map(b => [b.dataset.map ?? -1, b.dataset.i, b.dataset.j].map(Number))")}


def _hover_output(demo: Demo, trace: dict, grid: object, cell: tuple[int, int, int]
                  ) -> tuple[dict, set[tuple[int, ...]]]:
    """Hover output cell ``cell`` = (map, i, j) on ``grid``, wait for its link: the trace's
    step that wrote it, and its window's taps as (-1, row, col) on the stage's padded input."""
    pad = trace["header"]["padding"]
    out_h, out_w = trace["header"]["stages"][0]["output_hw"]
    target = next(s for s in trace["steps"] if (s["map"], s["i"], s["j"]) == cell)
    _hover_cell(demo, grid, out_h, out_w, cell[1], cell[2])
    demo.page.wait_for_selector("#stage-view[data-link-step]")
    taps = {(-1, r + pad["pad_top"], c + pad["pad_left"]) for r in target["rows"]
            for c in target["cols"]}
    return target, taps


def _hover_input(demo: Demo, trace: dict, lane: int, row: int, col: int) -> list[dict]:
    """Hover input cell (row, col) of lane ``lane``, wait for its links: the trace's steps
    whose window holds that cell (of any channel: the caller picks its own)."""
    pad = trace["header"]["padding"]
    rows, cols = _padded(trace)
    grid = demo.page.locator(".lane").nth(lane).locator(".heatmap.input canvas")
    _hover_cell(demo, grid, rows, cols, row + pad["pad_top"], col + pad["pad_left"])
    demo.page.wait_for_selector("#stage-view[data-link-fed]")
    return [s for s in trace["steps"] if row in s["rows"] and col in s["cols"]]


def test_depthwise_output_shows_its_window_and_kernel_and_jumps_the_player(demo: Demo) -> None:
    trace = _open_recording(demo, DEPTHWISE)
    page = demo.page
    # Output map 1 (channel 0, r = 1), cell (1, 2): the step that wrote it, in the server's trace.
    output = page.locator(".lane").nth(0).locator(".heatmap.output canvas").nth(1)
    target, taps = _hover_output(demo, trace, output, (1, 1, 2))
    assert page.get_attribute("#stage-view", "data-link-step") == str(target["step"])
    assert _marks(page.locator(".lane").nth(0), ".heatmap.input .link-tap") == taps
    assert page.locator(".link-tap").count() == 9  # one lane's window only
    kernels = page.locator(".heatmap.kernel.link-kernel figcaption").all_inner_texts()
    assert kernels == ["w[:, :, 0, 1]"], kernels
    demo.screenshot("h9c-link-output")
    _hover_cell(demo, output, *trace["header"]["stages"][0]["output_hw"], 1, 2, click=True)
    demo.wait_counter(target["step"] + 1)
    assert page.inner_text("#arithmetic").count("out[1, 2, 1]") == 1
    # An input cell of channel 1: every output cell whose window (from the trace) holds it.
    fed = {(s["map"], s["i"], s["j"]) for s in _hover_input(demo, trace, 1, 3, 4)
           if s["channel"] == 1}
    assert fed and _marks(page, ".link-cell") == fed
    demo.screenshot("h9c-link-input")
    page.mouse.move(2, 2)
    page.wait_for_selector("#stage-view:not([data-link-fed])", state="attached")
    assert page.locator(".link-cell, .link-tap").count() == 0
    demo.assert_clean()


def test_grouped_dilated_input_feeds_only_its_groups_outputs(demo: Demo) -> None:
    trace = _open_recording(demo, GROUPED)
    page = demo.page
    # Input channel 3 is in group 1 (channels 2, 3): it feeds outputs 2 and 3 only.
    fed = {(s["map"], s["i"], s["j"]) for s in _hover_input(demo, trace, 3, 2, 2)
           if s["group"] == 1}
    assert {m for m, _, _ in fed} == {2, 3}
    assert _marks(page, ".link-cell") == fed
    # Its output 3 at (4, 4): the dilated window (taps two apart) on both inputs of group 1.
    output = page.locator(".heatmap.output canvas").nth(3)
    target, taps = _hover_output(demo, trace, output, (3, 4, 4))
    assert target["rows"][1] - target["rows"][0] == 2
    for lane in (2, 3):
        assert _marks(page.locator(".lane").nth(lane), ".heatmap.input .link-tap") == taps
    assert page.locator(".link-tap").count() == 2 * 9
    demo.assert_clean()
