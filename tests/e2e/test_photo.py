"""A real photo, end to end, in Chromium: the visible upload (file chooser, as a user clicks
it), a drop on the stage, the built-in photos; the original kept and resampled at every
size; the photo drawn in its own colours; image kernels chosen with it; the URL reopening it.

The photo-like test image (made here): the top half red on the left and blue on the right,
the bottom half a 4-px black-and-white checkerboard, all with seeded sensor noise. At 16×16
the checkerboard averages to grey; at 48×48 (2 px a cell) it shows again, which only a
resampling from the original can give (blowing up the 16×16 pixels cannot).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest

from app.teaching.photos.png import encode_png
from tests.e2e.conftest import TIMEOUT_MS, Demo

pytestmark = pytest.mark.e2e

SIZE = 96
RED, BLUE = (220, 30, 30), (30, 40, 220)


def photo_pixels() -> np.ndarray:
    """The test photo: uint8 (96, 96, 3)."""
    image = np.zeros((SIZE, SIZE, 3))
    image[: SIZE // 2, : SIZE // 2] = RED
    image[: SIZE // 2, SIZE // 2:] = BLUE
    rows, cols = np.indices((SIZE // 2, SIZE))
    checker = ((rows // 4 + cols // 4) % 2).astype(bool)
    image[SIZE // 2:] = np.where(checker[..., None], 235.0, 20.0)
    noise = np.random.default_rng(9).normal(0, 4, image.shape)
    return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)


def area_average(pixels: np.ndarray, size: int) -> np.ndarray:
    """What the page must compute at size × size: each cell's mean, (3, size, size)."""
    k = SIZE // size
    blocks = pixels.reshape(size, k, size, k, 3).astype(np.float64).mean(axis=(1, 3))
    return np.floor(blocks + 0.5).astype(np.uint8).transpose(2, 0, 1)


def image_param(demo: Demo) -> tuple[tuple[int, int, int], np.ndarray]:
    """The state's image (what the server is sent): (H, W, C) and bytes (C, H, W)."""
    demo.page.evaluate("() => document.body.dataset.ready")
    text = demo.page.evaluate("location.hash")
    match = re.search(r"image=(\d+)x(\d+)x(\d+):([A-Za-z0-9_-]+)", text)
    assert match, text
    h, w, c = (int(match.group(n)) for n in (1, 2, 3))
    data = match.group(4) + "=" * (-len(match.group(4)) % 4)
    raw = np.frombuffer(base64.urlsafe_b64decode(data), np.uint8)
    return (h, w, c), raw.reshape(c, h, w)


def write_png(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(encode_png(photo_pixels()))
    return path


def write_jpeg(demo: Demo, tmp_path: Path) -> Path:
    """The same photo as a JPEG, encoded by Chromium's own encoder (no imaging library here)."""
    png = base64.b64encode(encode_png(photo_pixels())).decode()
    url = demo.page.evaluate(
        """async (png) => {
          const image = new Image();
          image.src = "data:image/png;base64," + png;
          await image.decode();
          const canvas = document.createElement("canvas");
          canvas.width = image.width; canvas.height = image.height;
          canvas.getContext("2d").drawImage(image, 0, 0);
          return canvas.toDataURL("image/jpeg", 0.95);
        }""", png)
    path = tmp_path / "photo.jpg"
    path.write_bytes(base64.b64decode(url.split(",", 1)[1]))
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"  # a real JPEG
    return path


def upload_through_the_control(demo: Demo, path: Path) -> None:
    """As a teacher does it: choose "Uploaded image", click the visible control, pick the file."""
    page = demo.page
    page.get_by_label("Values", exact=True).select_option("image")
    control = page.get_by_label("Upload an image")
    assert control.is_visible()
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        control.click()
    chooser.value.set_files(str(path))


def cell_color(demo: Demo, channel: int, i: int, j: int, pad: int = 1) -> tuple[int, int, int]:
    """The colour drawn in input channel `channel`'s grid at input cell (i, j), away from
    its number and grid lines (a quarter of a cell in from its top-left corner)."""
    return tuple(demo.page.evaluate(
        """([channel, i, j, pad]) => {
          const canvas = document.querySelectorAll("#stage-view figure.input canvas")[channel];
          const cell = canvas.width / Number(canvas.dataset.cols);
          const x = Math.floor((j + pad + 0.25) * cell), y = Math.floor((i + pad + 0.25) * cell);
          return Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3));
        }""", [channel, i, j, pad]))


def wait_photo(demo: Demo, size: int, channels: int = 3) -> None:
    demo.wait_hash(f"image={size}x{size}x{channels}:")
    demo.page.wait_for_function(
        f"() => {{ const c = document.querySelector('#stage-view figure.input canvas');"
        f" return c && Number(c.dataset.cols) === {size + 2}; }}", timeout=TIMEOUT_MS)
    demo.wait_drawn()


def assert_drawn_in_its_own_colours(demo: Demo) -> None:
    # Channel R: the red top-left is bright red, the blue top-right dark; channel B the other
    # way round. On the feature-map scale (blue-white-orange, ±max) a photo's 0..1 would be
    # near white everywhere.
    r, g, b = cell_color(demo, 0, 2, 2)
    assert r > 170 and g < 40 and b < 40, (r, g, b)
    assert max(cell_color(demo, 0, 2, 13)) < 60
    r, g, b = cell_color(demo, 2, 2, 13)
    assert b > 170 and r < 40, (r, g, b)
    assert max(cell_color(demo, 2, 2, 2)) < 60
    # The legend names the input's own scale, apart from the feature maps'.
    assert demo.page.locator("[data-role='legend-input']").is_visible()
    assert demo.page.locator("[data-role='legend-maps']").is_visible()


def test_a_png_photo_uploaded_through_the_visible_control(demo: Demo, tmp_path: Path) -> None:
    demo.open()
    upload_through_the_control(demo, write_png(tmp_path))
    wait_photo(demo, 16)
    state = demo.hash()
    # Paired with image kernels: Sobel x and y on every channel, SAME padding, stride 1.
    assert "kernels=edge_x,edge_y" in state and "padding=SAME" in state and "multiplier=2" in state
    assert re.search(r"photo=u[0-9a-f]+", state)
    (h, w, c), pixels = image_param(demo)
    assert (h, w, c) == (16, 16, 3)
    np.testing.assert_array_equal(pixels, area_average(photo_pixels(), 16))
    assert_drawn_in_its_own_colours(demo)
    # The colour preview next to the control is the input itself, in full colour.
    preview = demo.page.locator("#photo-preview")
    assert preview.is_visible()
    top_left = demo.page.evaluate(
        "() => Array.from(document.querySelector('#photo-preview').getContext('2d')"
        ".getImageData(2, 2, 1, 1).data.slice(0, 3))")
    assert np.abs(np.array(top_left) - np.array(RED)).max() <= 12
    demo.screenshot("photo-upload-png-1920")

    # Resizing resamples from the original: at 48×48 the checkerboard is back.
    demo.page.get_by_label("Height", exact=True).fill("48")
    demo.page.get_by_label("Width", exact=True).fill("48")
    wait_photo(demo, 48)
    (h, w, c), pixels = image_param(demo)
    np.testing.assert_array_equal(pixels, area_average(photo_pixels(), 48))
    row = [cell_color(demo, 0, 30, j)[0] for j in range(0, 8)]
    assert min(row) < 60 and max(row) > 190, row  # black and white squares, 2 cells each
    assert "kept in this browser" in demo.page.inner_text("#photo-note")
    demo.screenshot("photo-resampled-48")

    # The URL reopens it: in this browser with the original (a new size still resamples it) ...
    url = demo.page.evaluate("location.href")
    demo.page.goto("about:blank")
    demo.page.goto(url)
    wait_photo(demo, 48)
    np.testing.assert_array_equal(image_param(demo)[1], area_average(photo_pixels(), 48))
    demo.page.get_by_label("Height", exact=True).fill("32")
    demo.page.get_by_label("Width", exact=True).fill("32")
    wait_photo(demo, 32)
    np.testing.assert_array_equal(image_param(demo)[1], area_average(photo_pixels(), 32))
    assert demo.page.get_attribute("#photo-note", "data-kind") == "original"
    demo.assert_clean()


def test_the_url_reopens_the_photo_on_another_computer(browser, page_server, demo: Demo,
                                                       tmp_path: Path) -> None:
    demo.open()
    upload_through_the_control(demo, write_png(tmp_path))
    wait_photo(demo, 16)
    url = demo.page.evaluate("location.href")
    # A fresh browser profile: no stored original; the URL's pixels are the exact demo.
    from tests.e2e.conftest import _demo

    other = _demo(browser, page_server, 1280, 720)
    elsewhere = next(other)
    try:
        elsewhere.page.goto(url)
        wait_photo(elsewhere, 16)
        np.testing.assert_array_equal(image_param(elsewhere)[1], area_average(photo_pixels(), 16))
        assert_drawn_in_its_own_colours(elsewhere)
        assert elsewhere.page.get_attribute("#photo-note", "data-kind") == "pixels"
        elsewhere.screenshot("photo-reopened-elsewhere-1280")
        elsewhere.assert_clean()
    finally:
        next(other, None)
    demo.assert_clean()


def test_a_jpeg_photo_uploaded_through_the_visible_control(demo: Demo, tmp_path: Path) -> None:
    demo.open()
    jpeg = write_jpeg(demo, tmp_path)
    demo.open()
    upload_through_the_control(demo, jpeg)
    wait_photo(demo, 16)
    _, pixels = image_param(demo)
    expected = area_average(photo_pixels(), 16).astype(int)
    assert np.abs(pixels.astype(int) - expected).mean() < 4  # JPEG is lossy, a little
    assert_drawn_in_its_own_colours(demo)
    demo.assert_clean()


def test_a_photo_dropped_on_the_stage(demo: Demo) -> None:
    demo.open()
    png = base64.b64encode(encode_png(photo_pixels())).decode()
    transfer = demo.page.evaluate_handle(
        """(png) => {
          const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
          return transfer;
        }""", png)
    stage = demo.page.locator("#stage")
    stage.dispatch_event("dragover", {"dataTransfer": transfer})
    assert "drop-target" in (stage.get_attribute("class") or "")
    stage.dispatch_event("drop", {"dataTransfer": transfer})
    wait_photo(demo, 16)
    assert demo.page.input_value("#param-source") == "image"
    np.testing.assert_array_equal(image_param(demo)[1], area_average(photo_pixels(), 16))
    assert "drop-target" not in (stage.get_attribute("class") or "")
    demo.assert_clean()


@pytest.mark.parametrize("op", ["depthwise", "standard"])
def test_a_built_in_photo_comes_with_image_kernels(demo: Demo, op: str) -> None:
    demo.open(f"op={op}")
    demo.page.get_by_label("Values", exact=True).select_option("house")
    wait_photo(demo, 16)
    state = demo.hash()
    if op == "standard":
        assert "kernels=edge_x,edge_y,blur,sharpen,emboss" in state and "out=5" in state
    else:
        assert "kernels=edge_x,edge_y" in state
    assert demo.page.is_visible("#photo-preview")
    # The house's wall is red and its sky blue: channel R bright on the wall, B in the sky.
    wall = cell_color(demo, 0, 8, 4)
    sky = cell_color(demo, 2, 1, 2)
    assert wall[0] > 110 and wall[1] < 30, wall
    assert sky[2] > 150 and sky[0] < 30, sky
    # The focus view (when the grids are too small for numbers) shows the window in them too.
    focus = demo.page.locator(".focus-window canvas").first
    if focus.count() and focus.is_visible():
        r, g, b = demo.page.evaluate(
            """() => { const c = document.querySelector('.focus-window canvas');
              const cell = c.width / Number(c.dataset.cols);
              return Array.from(c.getContext('2d').getImageData(
                Math.floor(2.25 * cell), Math.floor(2.25 * cell), 1, 1).data.slice(0, 3)); }""")
        assert r > 60 and g < 40 and b < 40, (r, g, b)  # channel R of the sky, in reds
    demo.screenshot(f"photo-house-{op}-1920")
    demo.assert_clean()
