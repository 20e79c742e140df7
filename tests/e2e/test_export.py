"""Exports in Chromium: PNG, animated GIF and WebM keep what they exist to show.

Every exported picture must be the stage bar and the stage as the page shows them: the
sliding window's taps, the current output cell, the formula and the legends. Each is
compared pixel by pixel with a screenshot of the same region at the same step. A run's
timing is the player's (the seed example's 16 steps at 4 steps/s last 4 s: GIF delays of
25 cs, WebM frames 250 ms apart), and its last frame is the last step, final output cell
included. The files are read here without any imaging library (tests/e2e/images.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import ARTIFACTS, TIMEOUT_MS, Demo, _demo
from tests.e2e.images import read_gif, read_png, webm_block_times

pytestmark = pytest.mark.e2e

SEED = ("op=depthwise&source=ramp&height=4&width=4&channels=2&kh=3&kw=3&kernels=0,2,1,3"
        "&multiplier=2&padding=VALID")
REGION = """() => {
  const a = document.querySelector('.stage-bar').getBoundingClientRect();
  const b = document.querySelector('#stage').getBoundingClientRect();
  const left = Math.floor(Math.min(a.left, b.left)), top = Math.floor(Math.min(a.top, b.top));
  return {x: left, y: top, width: Math.ceil(Math.max(a.right, b.right)) - left,
          height: Math.ceil(Math.max(a.bottom, b.bottom)) - top};
}"""
MARKS = """(region) => Array.from(document.querySelectorAll(
    '#stage-view .window-tap, #stage-view .cursor, #formula, #legends'))
  .filter(e => e.getClientRects().length && !e.closest('[hidden]'))
  .map(e => { const r = e.getBoundingClientRect();
    return {kind: e.className || e.id, x: r.left - region.x, y: r.top - region.y,
            w: r.width, h: r.height}; })"""


@pytest.fixture
def slide_demo(browser: object, page_server: str) -> Iterator[Demo]:
    """A 1280×720 laptop (a projector's common size), device pixel ratio 1."""
    yield from _demo(browser, page_server, 1280, 720)


def open_seed(demo: Demo, step: int, extra: str = "") -> None:
    demo.open(f"{SEED}&step={step}{extra}")
    demo.wait_stream_done()
    wait_step(demo, step)


def wait_step(demo: Demo, step: int) -> None:
    demo.wait_counter(step + 1)
    demo.page.wait_for_function(  # the stage has drawn it (a page without the mark: the counter)
        "step => [undefined, String(step)].includes("
        "document.querySelector('#stage-view').dataset.drawnStep)", arg=step, timeout=TIMEOUT_MS)
    demo.page.wait_for_timeout(150)


def page_picture(demo: Demo) -> tuple[np.ndarray, dict]:
    region = demo.page.evaluate(REGION)
    shot = demo.page.screenshot(clip=region, animations="disabled", caret="hide")
    return read_png(shot), region


def download(demo: Demo, button: str, tmp_path: Path, timeout: int = 60_000) -> bytes:
    with demo.page.expect_download(timeout=timeout) as event:
        demo.page.click(button)
    path = tmp_path / event.value.suggested_filename
    event.value.save_as(path)
    return path.read_bytes()


def agreement(a: np.ndarray, b: np.ndarray, tolerance: int = 48) -> float:
    """Share of pixels whose channels all differ by at most `tolerance` (a fractional CSS
    size rounds to a pixel more or less in a screenshot than on a canvas)."""
    assert abs(a.shape[0] - b.shape[0]) <= 1 and abs(a.shape[1] - b.shape[1]) <= 1, (
        a.shape, b.shape)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = a[:h, :w], b[:h, :w]
    return float((np.abs(a.astype(int) - b.astype(int)).max(axis=2) <= tolerance).mean())


def assert_marks_match(exported: np.ndarray, page: np.ndarray, marks: list[dict],
                       tolerance: int = 60, share: float = 0.85) -> None:
    """The window's taps, the current cell, the formula and the legends: the same pixels
    (each mark's box, its border included) in the export as on the page."""
    kinds = {mark["kind"].split()[0] for mark in marks}
    assert {"window-tap", "cursor", "formula", "legends"} <= kinds, kinds
    for mark in marks:
        x0, y0 = max(0, int(mark["x"])), max(0, int(mark["y"]))
        x1, y1 = int(mark["x"] + mark["w"]) + 1, int(mark["y"] + mark["h"]) + 1
        a, b = exported[y0:y1, x0:x1], page[y0:y1, x0:x1]
        assert a.size, mark
        assert agreement(a, b, tolerance) >= share, (mark, agreement(a, b, tolerance))
    # The marks are there to be seen: the window's taps are outlined (dark pixels).
    tap = next(mark for mark in marks if mark["kind"].startswith("window-tap"))
    edge = exported[int(tap["y"]) + 1, int(tap["x"]) + 2:int(tap["x"] + tap["w"]) - 2]
    assert (edge.max(axis=1) < 140).mean() > 0.8, (tap, edge)


PENDING = np.array([241, 243, 247])  # the colour of an output cell not computed yet


def final_output_cell(demo: Demo, region: dict) -> tuple[int, int]:
    """A pixel inside the last output map's last cell (the run's final output), in the region,
    between the cursor's border and the cell's number."""
    box = demo.page.evaluate(
        """(region) => { const maps = document.querySelectorAll('#stage-view figure.output canvas');
          const r = maps[maps.length - 1].getBoundingClientRect();
          return {x: r.right - region.x - 7, y: r.bottom - region.y - 7}; }""", region)
    return int(box["y"]), int(box["x"])


PLAY = """async ([video64, type, at]) => {
  const bytes = Uint8Array.from(atob(video64), (c) => c.charCodeAt(0));
  const video = document.createElement('video');
  video.muted = true;
  video.src = URL.createObjectURL(new Blob([bytes], {type}));
  const loaded = await new Promise((ok) => { video.onloadeddata = () => ok(true);
    video.onerror = () => ok(false); });
  if (!loaded) return null;
  video.currentTime = at;
  await new Promise((ok) => { video.onseeked = ok; });
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  return {time: video.currentTime, png: canvas.toDataURL('image/png')};
}"""


def play_recording(demo: Demo, data: bytes, media_type: str, at: float) -> dict | None:
    """The recording played by Chromium in a blank page (the app's CSP, rightly, plays no
    blob: media), seeked to ``at`` seconds: the time it reached and that frame as a PNG data
    URL, or None where Chromium cannot decode it."""
    blank = demo.page.context.new_page()
    try:
        return blank.evaluate(PLAY, [base64.b64encode(data).decode(), media_type, at])
    finally:
        blank.close()


def save(name: str, pixels: np.ndarray) -> None:
    from app.teaching.photos.png import encode_png

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(encode_png(np.ascontiguousarray(pixels)))


def test_png_export_is_the_stage_with_its_window_formula_and_legend(
        slide_demo: Demo, tmp_path: Path) -> None:
    demo = slide_demo
    open_seed(demo, 5)
    page, region = page_picture(demo)
    marks = demo.page.evaluate(MARKS, region)
    data = download(demo, "#export-png", tmp_path)
    exported = read_png(data)
    save("export-png-1280", exported)
    # The stage bar and the stage, as on screen (to the pixel a fractional size rounds to).
    assert np.abs(np.array(exported.shape) - page.shape).max() <= 1, (exported.shape, page.shape)
    assert agreement(exported, page) > 0.95  # text antialiasing differs a little
    assert_marks_match(exported, page, marks)
    demo.screenshot("export-page-1280")
    demo.assert_clean()


def test_gif_export_plays_at_the_players_speed_with_every_overlay(
        slide_demo: Demo, tmp_path: Path) -> None:
    demo = slide_demo
    open_seed(demo, 5)  # 4 steps/s, the default speed
    page_at_6, region = page_picture(demo)
    marks = demo.page.evaluate(MARKS, region)
    data = download(demo, "#export-gif", tmp_path, timeout=120_000)
    width, height, frames = read_gif(data)
    assert abs(height - page_at_6.shape[0]) <= 1 and abs(width - page_at_6.shape[1]) <= 1
    # 16 steps at 4 steps/s: 16 frames of 25 cs, 4 s in all.
    assert [delay for delay, _ in frames] == [25] * 16
    assert sum(delay for delay, _ in frames) == 400
    sixth = frames[5][1]
    assert agreement(sixth, page_at_6) > 0.93
    assert_marks_match(sixth, page_at_6, marks, tolerance=64, share=0.8)
    # The last frame is the finished run: compare it with the page at step 16.
    demo.page.click("#player [data-action='last']")
    wait_step(demo, 15)
    page_at_16, _ = page_picture(demo)
    last = frames[-1][1]
    assert agreement(last, page_at_16) > 0.93
    y, x = final_output_cell(demo, region)
    assert np.abs(last[y, x].astype(int) - page_at_16[y, x].astype(int)).max() <= 48
    assert np.abs(last[y, x].astype(int) - PENDING).max() > 12, last[y, x]
    save("export-gif-frame-6", sixth)
    save("export-gif-last-frame", last)
    demo.assert_clean()


def test_webm_export_lasts_as_long_as_the_run_and_ends_complete(
        slide_demo: Demo, tmp_path: Path) -> None:
    demo = slide_demo
    open_seed(demo, 0)
    if not demo.page.evaluate("() => typeof MediaRecorder !== 'undefined'"
                              " && MediaRecorder.isTypeSupported('video/webm')"):
        pytest.skip("this Chromium cannot record WebM")
    data = download(demo, "#export-webm", tmp_path, timeout=60_000)
    times = webm_block_times(data)
    # 16 steps at 4 steps/s: the run lasts 4 s (the last frame is sent at its end).
    assert len(times) >= 12, times  # real time: a step drawn late on a loaded machine is skipped
    # (Frames are timed by the wall clock: a loaded machine delays some by a frame or so.)
    assert abs(times[-1] - times[0] - 4000) <= 300, times
    assert float(np.diff(times).max()) <= 600, times  # a steady stream of frames
    # The last frame, decoded by Chromium, is the page at step 16.
    demo.page.click("#player [data-action='last']")
    wait_step(demo, 15)
    page_at_16, region = page_picture(demo)
    seen = play_recording(demo, data, "video/webm", (times[-1] - times[0]) / 1000)
    assert seen, "Chromium could not decode the WebM it recorded"
    last = read_png(base64.b64decode(seen["png"].split(",", 1)[1]))
    assert agreement(last, page_at_16, tolerance=64) > 0.85
    # The final output cell (out 3 at (1, 1)) is drawn, and the cursor is on it.
    y, x = final_output_cell(demo, region)
    assert np.abs(last[y, x].astype(int) - page_at_16[y, x].astype(int)).max() <= 64
    assert np.abs(last[y, x].astype(int) - PENDING).max() > 12, last[y, x]
    save("export-webm-last-frame", last)
    demo.assert_clean()


def test_mp4_export_where_the_browser_records_mp4(slide_demo: Demo, tmp_path: Path) -> None:
    demo = slide_demo
    open_seed(demo, 0, "&speed=8")
    if not demo.page.is_visible("#export-mp4"):
        pytest.skip("this Chromium's MediaRecorder does not record MP4 (the button is hidden)")
    data = download(demo, "#export-mp4", tmp_path, timeout=60_000)
    assert data[4:8] == b"ftyp"  # an ISO media file
    # Chromium plays it: 16 steps at 8 steps/s last 2 s, and the end shows the finished run.
    # A recording may not know its duration until the end: seek far past it.
    seen = play_recording(demo, data, "video/mp4", 1e6)
    assert seen is not None, "Chromium could not play the MP4 it recorded"
    assert abs(seen["time"] - 2.0) <= 0.3, seen["time"]
    demo.assert_clean()
