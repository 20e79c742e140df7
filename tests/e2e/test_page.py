"""The visualiser page in real Chromium against a real uvicorn.

Tests read the page as a person or a screen reader would: the step counter, the
arithmetic panel and the Numbers tab (text tables of the maps). Waits are for
text and elements, never for time.
"""

from __future__ import annotations

import json
import re
import struct
import zlib

import httpx
import pytest

from tests.e2e.conftest import TIMEOUT_MS, Demo

pytestmark = pytest.mark.e2e

SEED = (
    "op=depthwise&source=ramp&height=4&width=4&channels=2&kh=3&kw=3&kernels=0,2,1,3"
    "&multiplier=2&padding=VALID&sh=1&sw=1&dh=1&dw=1"
)
OPERATIONS = {
    "standard": "op=standard&source=ramp&height=5&width=5&channels=2&kh=3&kw=3&out=3"
    "&kernels=edge_x,edge_y,ones&padding=VALID",
    "depthwise": SEED,
    "pointwise": "op=pointwise&source=ramp&height=4&width=4&channels=3&out=2&pointwise=random",
    "separable": "op=separable&source=ramp&height=5&width=5&channels=3&kh=3&kw=3&multiplier=1"
    "&out=4&kernels=identity,edge_x,laplacian&pointwise=random&padding=SAME",
    "grouped": "op=grouped&source=checker&height=6&width=6&channels=4&kh=3&kw=3&out=4&groups=2"
    "&kernels=identity,edge_x,edge_y,laplacian&padding=SAME",
}


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def data_values(demo: Demo, selector: str) -> list[float]:
    return [float(v) for v in demo.page.eval_on_selector_all(
        selector, "cells => cells.map(cell => cell.dataset.value)"
    )]


def map_table(demo: Demo, role: str, channel: int) -> list[list[str]]:
    """A Numbers-tab table as rows of cell texts ('·' for cells not written yet)."""
    return demo.page.eval_on_selector(
        f"#numbers table[data-role='{role}'][data-channel='{channel}']",
        "table => Array.from(table.tBodies[0].rows, row => Array.from(row.cells).slice(1)"
        ".map(cell => cell.dataset.value ?? cell.textContent.trim()))",
    )


def seed_trace(base_url: str) -> list[dict]:
    """The API's own trace of the seed example, every field, exact."""
    x = [[[[j + 1, 1] for j in range(4)] for _ in range(4)]]
    w = [[[[0, 2], [1, 3]] for _ in range(3)] for _ in range(3)]
    body = {
        "op": "depthwise_conv2d", "input": x, "filter": w, "strides": [1, 1, 1, 1],
        "padding": "VALID", "encoding": "json", "precision": 17, "detail": "full",
    }
    response = httpx.post(f"{base_url}/api/v1/trace", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def flat(nested: object) -> list[float]:
    if isinstance(nested, list):
        return [value for item in nested for value in flat(item)]
    return [float(nested)]


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, written by hand (no imaging library needed)."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


# ------------------------------------------------------------------ loading


def test_page_loads_with_no_console_error_and_no_request_leaving_the_app(demo: Demo) -> None:
    requests: list[str] = []
    demo.page.on("request", lambda request: requests.append(request.url))
    demo.open()
    demo.wait_stream_done()
    assert demo.counter() == (1, 16)
    assert demo.page.inner_text("#stage-tabs") == "1. Depthwise"
    # plotly.js is not needed for the first paint: it loads only with the Cost tab.
    assert not any("plotly" in url for url in requests)
    assert all(url.startswith(demo.base_url) for url in requests)
    demo.screenshot("page-first-load")
    demo.assert_clean()


def test_every_control_has_an_accessible_name(demo: Demo) -> None:
    demo.open(SEED)
    unnamed = demo.page.evaluate("""() => Array.from(document.querySelectorAll(
        'input, select, button, [role=tab]')).filter(element => {
          if (element.closest('[hidden]') || element.type === 'hidden') return false;
          const labelled = (element.labels && element.labels.length)
            || element.getAttribute('aria-label') || element.getAttribute('aria-labelledby');
          const text = element.textContent.trim();
          const named = element.tagName === 'BUTTON' || element.getAttribute('role') === 'tab';
          return !labelled && !(named && text);
        }).map(element => element.outerHTML.slice(0, 120))""")
    assert unnamed == []
    # The canvases are images with a text alternative; the numbers are in the Numbers tab.
    labels = demo.page.eval_on_selector_all(
        "#stage-view canvas", "canvases => canvases.map(c => c.getAttribute('aria-label'))")
    assert labels and all(labels)
    demo.assert_clean()


# ------------------------------------------------------------------ the seed example


def test_stepping_through_the_seed_example_fills_the_outputs(demo: Demo) -> None:
    demo.open(SEED)
    demo.wait_stream_done()
    demo.tab("numbers")
    demo.page.evaluate("document.activeElement.blur()")
    for step in range(2, 17):
        demo.page.keyboard.press("ArrowRight")
        demo.wait_counter(step, 16)
        if step == 6:
            # Map 0 is done, map 1 has its first two cells: 36 and 54.
            demo.page.wait_for_selector("#numbers table[data-channel='1'] td[data-value='54']")
            assert map_table(demo, "output-map", 0) == [["0", "0"], ["0", "0"]]
            assert map_table(demo, "output-map", 1) == [["36", "54"], ["·", "·"]]
    demo.page.wait_for_selector("#numbers pre[data-role='output-tensor']")
    tensor = demo.page.inner_text("#numbers pre[data-role='output-tensor']")
    assert compact(tensor) == "[[[[0,36,9,27],[0,54,9,27]],[[0,36,9,27],[0,54,9,27]]]]"
    assert [map_table(demo, "output-map", m)[0] for m in range(4)] == [
        ["0", "0"], ["36", "54"], ["9", "9"], ["27", "27"]
    ]
    demo.assert_clean()


@pytest.mark.parametrize("step", [0, 5, 13])
def test_the_arithmetic_panel_shows_the_apis_numbers_for_that_step(demo: Demo, step: int) -> None:
    demo.open(f"{SEED}&step={step}")
    demo.wait_counter(step + 1, 16)
    events = seed_trace(demo.base_url)
    chunk = next(e for e in events if e["event"] == "chunk"
                 and e["global_start"] <= step < e["global_start"] + e["count"])
    row = step - chunk["global_start"]
    fields = chunk["fields"]
    panel = "#arithmetic"
    assert data_values(demo, f"{panel} [data-role=window] td") == flat(fields["window"][row])
    assert data_values(demo, f"{panel} [data-role=weights] td") == flat(fields["weights"][row])
    assert data_values(demo, f"{panel} [data-role=products] td") == flat(fields["products"][row])
    assert data_values(demo, f"{panel} output[data-role=sum]") == [float(fields["sum"][row])]
    formula = demo.page.inner_text("#formula")
    i, j, o = fields["i"][row], fields["j"][row], fields["out_channel"][row]
    assert formula.startswith(f"out[{i}, {j}, {fields['q'][row]}·2+{fields['r'][row]} = {o}]")
    demo.assert_clean()


# ------------------------------------------------------------------ every operation


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_runs_to_the_end(demo: Demo, operation: str) -> None:
    demo.open(OPERATIONS[operation])
    demo.wait_stream_done()
    _, total = demo.counter()
    stages = demo.page.eval_on_selector_all(".stage-tab", "tabs => tabs.map(t => t.dataset.stage)")
    assert stages == {"separable": ["depthwise", "pointwise"], "depthwise": ["depthwise"]}.get(
        operation, ["standard"])
    # A screenshot of each stage, mid-way, for the record (test-artifacts/).
    for index, stage in enumerate(stages):
        demo.page.click(f".stage-tab[data-stage='{stage}']")
        demo.page.wait_for_selector(f".stage-tab[data-stage='{stage}'][aria-current='step']")
        demo.page.evaluate("document.activeElement.blur()")
        for _ in range(7):
            demo.page.keyboard.press("ArrowRight")
        demo.page.wait_for_selector("#arithmetic [data-role]")
        demo.screenshot(f"stage-{operation}-{index + 1}-{stage}")
    demo.page.keyboard.press("End")
    demo.wait_counter(total, total)
    demo.tab("numbers")
    demo.page.wait_for_selector("#numbers pre[data-role='output-tensor']")
    assert demo.page.locator("#numbers table[data-role='output-map'] td.pending").count() == 0
    demo.assert_clean()


# ------------------------------------------------------------------ state in the URL


def test_the_url_round_trips_the_whole_demo_step_included(demo: Demo) -> None:
    demo.open(SEED)
    demo.page.click("label.segment:has(input[value='separable'])")
    demo.page.fill("#param-kw", "2")
    demo.page.select_option("#param-padding", "SAME")
    demo.wait_hash("kw=2", "op=separable")
    demo.page.wait_for_selector(".stage-tab[data-stage='pointwise']")
    demo.wait_stream_done()
    demo.page.evaluate("document.activeElement.blur()")
    for step in range(2, 5):
        demo.page.keyboard.press("ArrowRight")
        demo.wait_counter(step)
    demo.wait_hash("step=3")
    url = demo.page.url
    formula = demo.page.inner_text("#formula")
    total = demo.counter()[1]

    demo.page.goto("about:blank")
    demo.page.goto(url)
    demo.wait_drawn()
    demo.wait_counter(4, total)
    assert demo.page.is_checked("input[name=op][value=separable]")
    assert demo.page.input_value("#param-kw") == "2"
    assert demo.page.input_value("#param-padding") == "SAME"
    assert demo.page.inner_text("#formula") == formula
    demo.assert_clean()


def test_an_example_replaces_the_whole_state(demo: Demo) -> None:
    demo.open("op=standard&height=9&width=9&channels=3&out=5")
    demo.page.select_option("#example", "seed")
    demo.wait_hash("kernels=0,2,1,3", "height=4")
    demo.wait_stream_done()
    demo.wait_counter(1, 16)
    assert demo.page.is_checked("input[name=op][value=depthwise]")
    demo.assert_clean()


# ------------------------------------------------------------------ keyboard and playback


def test_keyboard_controls_play_step_and_jump(demo: Demo) -> None:
    demo.open(SEED)
    demo.wait_stream_done()
    page = demo.page
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    demo.wait_counter(2, 16)
    page.keyboard.press("Shift+ArrowRight")
    demo.wait_counter(12, 16)
    page.keyboard.press("ArrowLeft")
    demo.wait_counter(11, 16)
    page.keyboard.press("End")
    demo.wait_counter(16, 16)
    page.keyboard.press("Home")
    demo.wait_counter(1, 16)
    page.keyboard.press("Space")
    page.wait_for_selector("#play[aria-pressed='true']")
    page.wait_for_function(
        "() => /Step ([3-9]|1\\d) \\//.test(document.querySelector('#step-counter').textContent)"
    )
    page.keyboard.press("Space")
    page.wait_for_selector("#play[aria-pressed='false']")
    paused_at = demo.counter()[0]
    page.keyboard.press("ArrowLeft")
    demo.wait_counter(paused_at - 1, 16)
    # The scrub bar is a labelled range input: arrows move it by one step.
    page.focus("#scrub")
    page.keyboard.press("ArrowRight")
    demo.wait_counter(paused_at, 16)
    demo.assert_clean()


def test_playback_runs_to_the_end_and_stops(demo: Demo) -> None:
    demo.open(f"{SEED}&speed=1024")
    demo.wait_stream_done()
    demo.page.click("#play")
    demo.wait_counter(16, 16)
    demo.page.wait_for_selector("#play[aria-pressed='false']")
    demo.assert_clean()


# ------------------------------------------------------------------ input


def test_uploading_a_small_png_changes_the_input(demo: Demo, tmp_path) -> None:
    demo.open(SEED)
    demo.wait_stream_done()
    image = tmp_path / "orange.png"
    image.write_bytes(png(6, 5, (255, 0, 51)))
    # The visible control (tests/e2e/test_photo.py covers photos end to end).
    demo.page.select_option("#param-source", "image")
    with demo.page.expect_file_chooser() as chooser:
        demo.page.click("#upload")
    chooser.value.set_files(str(image))
    demo.wait_hash("source=image", "image=16x16x3")  # a photo starts at 16 × 16
    demo.wait_stream_done()
    demo.tab("numbers")
    demo.page.wait_for_selector("#numbers table[data-role='input-map'][data-channel='2']")
    # RGB -> three channels of value/255 (rounded to 2 decimals): 1, 0 and 0.2 everywhere.
    for channel, value in enumerate(["1", "0", "0.2"]):
        assert map_table(demo, "input-map", channel) == [[value] * 16] * 16
    assert demo.page.input_value("#param-source") == "image"
    assert demo.page.input_value("#param-channels") == "3"
    demo.assert_clean()


def test_clicking_an_input_cell_and_setting_a_value_changes_the_input(demo: Demo) -> None:
    demo.open(SEED)
    demo.wait_stream_done()
    canvas = demo.page.locator(".lane").first.locator("figure.input canvas")
    box = canvas.bounding_box()
    # Cell (row 1, column 2) of channel 0 (no padding: VALID).
    demo.page.mouse.click(box["x"] + box["width"] * 2.5 / 4, box["y"] + box["height"] * 1.5 / 4)
    assert demo.page.input_value("#edit-slice") == "0"
    assert (demo.page.input_value("#edit-row"), demo.page.input_value("#edit-col")) == ("1", "2")
    assert demo.page.input_value("#edit-value") == "3"
    demo.page.fill("#edit-value", "-5")
    demo.page.click("#edit-apply")
    demo.wait_hash("input_edits=0.1.2:-5")
    demo.wait_stream_done()
    demo.tab("numbers")
    demo.page.wait_for_selector(
        "#numbers table[data-role='input-map'][data-channel='0'] td[data-value='-5']")
    assert map_table(demo, "input-map", 0)[1] == ["1", "2", "-5", "4"]
    demo.assert_clean()


def test_an_invalid_combination_is_explained_in_place_and_not_sent(demo: Demo) -> None:
    traces: list[str] = []
    demo.page.on("request", lambda request: (
        "/api/v1/trace" in request.url and traces.append(request.url)))
    demo.page.goto(f"{demo.base_url}/#op=grouped&channels=4&out=4&groups=3")
    demo.page.wait_for_selector("#problem-groups:has-text('must divide')", timeout=TIMEOUT_MS)
    assert "must divide" in demo.page.inner_text("#stage-status")
    assert demo.page.get_attribute("#param-groups", "aria-invalid") == "true"
    assert demo.page.input_value("#param-groups") == "3"  # explained, not clamped
    demo.page.fill("#param-height", "99")
    demo.page.wait_for_selector("#problem-height:has-text('from 3 to 64')")
    assert traces == []
    demo.assert_clean()


def test_a_configuration_the_server_refuses_is_explained(demo: Demo) -> None:
    demo.page.goto(f"{demo.base_url}/#op=depthwise&height=3&width=3&kh=5&kw=5&padding=VALID")
    demo.page.wait_for_selector("#stage-status[data-kind='problem']", timeout=TIMEOUT_MS)
    assert "refused" in demo.page.inner_text("#stage-status")
    # The browser logs the HTTP 422 of the refused request; nothing else.
    assert all("422" in error for error in demo.console_errors), demo.console_errors
    assert demo.outside_requests == []


# ------------------------------------------------------------------ costs and screenshots


def test_the_cost_tab_loads_plotly_from_the_app_and_quotes_the_counts(demo: Demo) -> None:
    demo.open(OPERATIONS["separable"])
    demo.tab("cost")
    demo.page.wait_for_selector("#cost-table tr[data-layer='separable']")
    rows = demo.page.eval_on_selector_all(
        "#cost-table tr[data-layer]",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.layer, r.cells[1].textContent]))",
    )
    assert rows == {"standard": "108", "depthwise": "27", "pointwise": "12", "separable": "39"}
    demo.page.wait_for_selector("#cost-chart .main-svg", timeout=TIMEOUT_MS)
    demo.screenshot("tab-cost")
    demo.assert_clean()


def test_the_page_fits_a_laptop_screen(laptop_demo: Demo) -> None:
    laptop_demo.open(OPERATIONS["separable"] + "&step=12")
    laptop_demo.wait_stream_done()
    page = laptop_demo.page
    # Nothing spills out of the window: the page itself does not scroll.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    play = page.locator("#play").bounding_box()
    assert play["y"] + play["height"] <= 768
    laptop_demo.screenshot("laptop-separable-depthwise")
    laptop_demo.assert_clean()


# ------------------------------------------------------------------ frame = f(step)


def stage_pixels(demo: Demo) -> list[str]:
    """Every grid of the stage as pixels, and where the marks are."""
    return demo.page.evaluate("""() => [
      ...Array.from(document.querySelectorAll('#stage-view canvas'), c => c.toDataURL()),
      ...Array.from(document.querySelectorAll('#stage-view .heatmap-overlay > div'),
                    d => `${d.className}:${d.hidden}:${d.style.transform}`),
    ]""")


def test_a_step_draws_the_same_picture_however_it_is_reached(demo: Demo) -> None:
    query = OPERATIONS["separable"]
    demo.open(f"{query}&step=0")
    demo.wait_stream_done()
    demo.page.evaluate("document.activeElement.blur()")
    for step in range(2, 10):  # forward to step 9, one at a time (maps fill cell by cell)
        demo.page.keyboard.press("ArrowRight")
        demo.wait_counter(step)
    forward = stage_pixels(demo)
    demo.page.keyboard.press("End")  # to the pointwise stage and back (a fresh layout)
    demo.wait_counter(100, 100)
    demo.page.keyboard.press("Home")
    demo.wait_counter(1, 100)
    demo.page.keyboard.press("Shift+ArrowRight")
    demo.wait_counter(11, 100)
    demo.page.keyboard.press("ArrowLeft")  # backwards: maps are redrawn whole
    demo.wait_counter(10, 100)
    demo.page.keyboard.press("ArrowLeft")
    demo.wait_counter(9, 100)
    assert stage_pixels(demo) == forward
    demo.page.goto("about:blank")
    demo.page.goto(f"{demo.base_url}/#{query}&step=8")  # straight from the URL
    demo.wait_drawn()
    demo.wait_counter(9, 100)
    assert stage_pixels(demo) == forward
    demo.assert_clean()


def test_page_keys_jump_between_stages(demo: Demo) -> None:
    demo.open(OPERATIONS["separable"])
    demo.wait_stream_done()
    demo.page.evaluate("document.activeElement.blur()")
    demo.page.keyboard.press("PageDown")
    demo.wait_counter(76, 100)  # the pointwise stage starts after 3·5·5 depthwise steps
    demo.page.wait_for_selector(".stage-tab[data-stage='pointwise'][aria-current='step']")
    demo.page.wait_for_selector(".pw-mix")
    demo.page.keyboard.press("PageUp")
    demo.wait_counter(1, 100)
    demo.page.wait_for_selector(".stage-tab[data-stage='depthwise'][aria-current='step']")
    demo.assert_clean()
