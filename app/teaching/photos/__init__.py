"""Built-in photos, made in code: a house, fruit on a table, mountains over a lake.

Pure NumPy, no web imports. Each photo is an RGB image ``(H, W, 3)`` with values in
``[0, 1]``, drawn from shapes, shading and a seeded grain so that it reads as a photo
when the page shrinks it to a teaching size (8..64 px): the house has long straight
vertical and horizontal edges (Sobel x and y pull them apart), the fruit are round
and shaded (blur and sharpen show their rims), the mountains have diagonal ridges and
a mirrored lake (emboss gives them relief). Made here rather than shipped, so their
licence is the project's.

``photo_png(name)`` encodes one as a PNG (``app.teaching.photos.png``), the form the page
reads an uploaded photo in.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from app.teaching.photos.png import encode_png

SIZE = 96  # the originals: larger than any input the page asks for (64), so it downsamples


@dataclass(frozen=True)
class Photo:
    name: str
    description: str
    draw: object  # () -> ndarray (SIZE, SIZE, 3) in [0, 1]


def _grid(size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1): rows y (size, 1), columns x (1, size)."""
    centres = (np.arange(size) + 0.5) / size
    return centres[:, None], centres[None, :]


def _paint(image: np.ndarray, mask: np.ndarray, colour: np.ndarray | tuple) -> None:
    """Blend ``colour`` ((3,) or (H, W, 3)) into ``image`` where ``mask`` (H, W) in [0, 1] says."""
    alpha = np.clip(mask, 0.0, 1.0)[..., None]  # (H, W, 1)
    image[...] = image * (1 - alpha) + np.asarray(colour, dtype=np.float64) * alpha


def _soft(distance: np.ndarray, width: float = 1.0 / SIZE) -> np.ndarray:
    """1 inside (distance < 0), 0 outside, with an antialiased rim about a pixel wide."""
    return np.clip(0.5 - distance / width, 0.0, 1.0)


def _box(y: np.ndarray, x: np.ndarray, top: float, left: float, bottom: float, right: float
         ) -> np.ndarray:
    return _soft(np.maximum(np.maximum(top - y, y - bottom), np.maximum(left - x, x - right)))


def _grain(seed: int, amount: float, size: int = SIZE) -> np.ndarray:
    """Seeded sensor noise, the same on every machine: (size, size, 1)."""
    return np.random.default_rng(seed).normal(0.0, amount, (size, size, 1))


def house() -> np.ndarray:
    """A red-walled house with a brown roof, a door and a window, under a sun: (96, 96, 3)."""
    y, x = _grid()
    image = np.empty((SIZE, SIZE, 3))
    sky_top, sky_low = np.array([0.35, 0.58, 0.90]), np.array([0.78, 0.88, 0.97])
    image[...] = sky_top + (sky_low - sky_top) * (y / 0.7)[..., None]
    _paint(image, _soft(np.hypot(y - 0.16, x - 0.80) - 0.09, 2.5 / SIZE), (1.0, 0.86, 0.25))
    grass = np.array([0.28, 0.58, 0.22]) * (1.0 + 0.15 * np.sin(x * 90.0) * np.sin(y * 70.0))[
        ..., None]
    _paint(image, _soft(0.70 - y) * np.ones_like(x), grass)
    wall = np.array([0.74, 0.30, 0.22]) * (0.85 + 0.25 * x)[..., None]  # lit from the right
    _paint(image, _box(y, x, 0.46, 0.18, 0.80, 0.72), wall)
    # The roof: a triangle from its ridge (0.45, 0.22) down to the eaves at y = 0.47.
    roof = _soft(np.maximum((np.abs(x - 0.45) - (y - 0.22) * 1.4) / 1.7, y - 0.47))
    _paint(image, roof, (0.36, 0.22, 0.14))
    _paint(image, _box(y, x, 0.60, 0.26, 0.80, 0.38), (0.30, 0.17, 0.10))  # door
    _paint(image, _box(y, x, 0.55, 0.50, 0.70, 0.64), (0.95, 0.95, 0.92))  # window frame
    _paint(image, _box(y, x, 0.57, 0.52, 0.68, 0.62), (0.45, 0.65, 0.85))  # glass
    _paint(image, _box(y, x, 0.57, 0.565, 0.68, 0.575), (0.95, 0.95, 0.92))  # mullion
    _paint(image, _box(y, x, 0.62, 0.52, 0.63, 0.62), (0.95, 0.95, 0.92))  # transom
    return np.clip(image + _grain(1, 0.015), 0.0, 1.0)


def _fruit(image: np.ndarray, y: np.ndarray, x: np.ndarray, cy: float, cx: float, r: float,
           colour: tuple[float, float, float]) -> None:
    """A shaded sphere lit from the upper left, with a highlight and a soft shadow below."""
    d = np.hypot(y - cy, x - cx)
    _paint(image, 0.45 * _soft(np.hypot((y - cy - r * 0.85) * 2.2, x - cx - 0.03) - r, 6 / SIZE),
           (0.18, 0.12, 0.07))
    nz = np.sqrt(np.clip(1 - (d / r) ** 2, 0, 1))  # the sphere's normal, z component
    light = np.clip(0.25 + 0.75 * (nz * 0.7 - (y - cy) / r * 0.35 - (x - cx) / r * 0.35), 0.15, 1)
    body = np.array(colour) * light[..., None]
    _paint(image, _soft(d - r), body)
    _paint(image, 0.8 * _soft(np.hypot(y - cy + r * 0.4, x - cx + r * 0.35) - r * 0.16, 3 / SIZE),
           (1.0, 1.0, 0.95))


def fruit() -> np.ndarray:
    """An orange, an apple and a lime on a wooden table against a plain wall: (96, 96, 3)."""
    y, x = _grid()
    image = np.empty((SIZE, SIZE, 3))
    image[...] = np.array([0.86, 0.82, 0.72]) * (1.05 - 0.25 * y)[..., None]
    wood = np.array([0.55, 0.36, 0.20]) * (0.85 + 0.12 * np.sin(y * 160 + 4 * np.sin(x * 9)))[
        ..., None]
    _paint(image, _soft(0.58 - y), wood)
    _fruit(image, y, x, 0.60, 0.27, 0.17, (1.0, 0.55, 0.08))
    _fruit(image, y, x, 0.64, 0.63, 0.15, (0.80, 0.10, 0.12))
    _fruit(image, y, x, 0.76, 0.44, 0.10, (0.45, 0.75, 0.15))
    _paint(image, _box(y, x, 0.40, 0.625, 0.50, 0.64), (0.30, 0.20, 0.10))  # the apple's stalk
    return np.clip(image + _grain(2, 0.012), 0.0, 1.0)


def mountains() -> np.ndarray:
    """Snow-capped ridges at sunset over a lake that mirrors them, pines on the shore."""
    y, x = _grid()
    image = np.empty((SIZE, SIZE, 3))
    top, horizon = np.array([0.30, 0.22, 0.50]), np.array([0.98, 0.62, 0.30])
    image[...] = top + (horizon - top) * (y / 0.55)[..., None]

    def ridge(height: float, peaks: tuple[tuple[float, float], ...]) -> np.ndarray:
        line = np.full_like(x, height)
        for px, py in peaks:
            line = np.minimum(line, py + 1.1 * np.abs(x - px))
        return line  # the ridge's y for every column (1, SIZE)

    far = ridge(0.55, ((0.25, 0.18), (0.70, 0.26)))
    near = ridge(0.58, ((0.50, 0.30), (0.95, 0.36), (0.05, 0.40)))
    for line, colour, snowline in ((far, (0.42, 0.42, 0.58), 0.30),
                                   (near, (0.24, 0.28, 0.38), 0.42)):
        mask = _soft(line - y) * _soft(y - 0.55)
        _paint(image, mask, colour)
        _paint(image, mask * _soft(y - snowline), (0.95, 0.93, 0.96))  # snow above the snowline
    sky_and_ridges = image.copy()
    lake = y > 0.55
    mirrored = sky_and_ridges[np.clip((1.10 - y) * SIZE, 0, SIZE - 1).astype(int)[:, 0]]
    ripple = 1.0 + 0.08 * np.sin(y * 240.0 + x * 6.0)
    image[lake[:, 0]] = (mirrored * 0.65 * ripple[..., None] + np.array([0.02, 0.06, 0.12]))[
        lake[:, 0]]
    for cx in (0.08, 0.16, 0.86, 0.93):
        tree = _soft(np.maximum(np.abs(x - cx) - (y - 0.40) * 0.25, np.maximum(0.40 - y, y - 0.60)))
        _paint(image, tree, (0.08, 0.22, 0.12))
    return np.clip(image + _grain(3, 0.012), 0.0, 1.0)


PHOTOS: dict[str, Photo] = {
    photo.name: photo
    for photo in (
        Photo("house", "A house under a sun: long vertical and horizontal edges", house),
        Photo("fruit", "An orange, an apple and a lime on a table: round shaded shapes", fruit),
        Photo("mountains", "Ridges at sunset over a lake that mirrors them: diagonals", mountains),
    )
}


@functools.cache
def photo_array(name: str) -> np.ndarray:
    """Photo ``name`` as uint8 RGB (SIZE, SIZE, 3); KeyError for an unknown name."""
    image = PHOTOS[name].draw()  # (SIZE, SIZE, 3) in [0, 1]
    return np.round(image * 255.0).astype(np.uint8)


@functools.cache
def photo_png(name: str) -> bytes:
    """Photo ``name`` as PNG bytes; KeyError for an unknown name."""
    return encode_png(photo_array(name))
