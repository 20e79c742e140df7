"""Sample inputs and named kernels, made in code: teaching content, not convolution.

Pure NumPy, no web imports. Inputs are NHWC ``[1, H, W, C]`` with values in
``[0, 1]`` that print short (multiples of 1/16, exact in binary; the seed
example keeps its own 1..4); kernels are
2-D ``[kh, kw]``, the slice a depthwise filter holds for one channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A 5x7 bitmap font for the digits: each string is one row, "#" is ink.
DIGIT_FONT: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}

DIGIT_SIZE = 16  # digits are drawn 2x (10x14) centred on a 16x16 canvas
PATTERN_SIZE = 16
RGB_SIZE = 32
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    array: np.ndarray  # inputs (1, H, W, C); kernels (kh, kw)


def digit(character: str) -> np.ndarray:
    """A handwritten-looking digit: (1, 16, 16, 1), ink 1.0 with a soft 0.5 edge."""
    rows = DIGIT_FONT[character]
    bitmap = np.array([[cell == "#" for cell in row] for row in rows], dtype=np.float64)  # (7, 5)
    glyph = np.kron(bitmap, np.ones((2, 2)))  # (14, 10)
    canvas = np.zeros((DIGIT_SIZE, DIGIT_SIZE))
    top, left = (DIGIT_SIZE - 14) // 2, (DIGIT_SIZE - 10) // 2
    canvas[top : top + 14, left : left + 10] = glyph
    # A half-ink rim below and right of every stroke, like a pen's bleed.
    rim = np.zeros_like(canvas)
    rim[1:, :] = np.maximum(rim[1:, :], canvas[:-1, :])
    rim[:, 1:] = np.maximum(rim[:, 1:], canvas[:, :-1])
    canvas = np.maximum(canvas, 0.5 * rim)
    return canvas[None, :, :, None]  # (1, 16, 16, 1)


def gradient(direction: str, size: int = PATTERN_SIZE) -> np.ndarray:
    """A ramp from 0 to 15/16 in steps of 1/16: (1, size, size, 1)."""
    ramp = (np.arange(size) % 16) / 16.0  # (size,)
    if direction == "horizontal":
        image = np.tile(ramp, (size, 1))
    elif direction == "vertical":
        image = np.tile(ramp[:, None], (1, size))
    elif direction == "diagonal":
        image = ((np.arange(size)[:, None] + np.arange(size)[None, :]) % 16) / 16.0
    else:
        raise ValueError(f"direction must be horizontal, vertical or diagonal, got {direction!r}")
    return image[None, :, :, None]


def checkerboard(size: int = PATTERN_SIZE, square: int = 2) -> np.ndarray:
    """Alternating 0/1 squares of ``square`` pixels: (1, size, size, 1)."""
    index = np.arange(size) // square
    return ((index[:, None] + index[None, :]) % 2).astype(np.float64)[None, :, :, None]


def rgb_test_pattern(size: int = RGB_SIZE) -> np.ndarray:
    """Colour bars on top, a grey ramp below, a white square bottom-right: (1, size, size, 3).

    Each channel differs, so a depthwise filter visibly treats R, G and B apart.
    """
    bars = np.array([
        [1, 1, 1], [1, 1, 0], [0, 1, 1], [0, 1, 0],
        [1, 0, 1], [1, 0, 0], [0, 0, 1], [0, 0, 0],
    ], dtype=np.float64)  # (8, 3): white, yellow, cyan, green, magenta, red, blue, black
    image = np.zeros((size, size, 3))
    half = size // 2
    bar_index = np.arange(size) * len(bars) // size  # (size,)
    image[:half] = bars[bar_index][None, :, :]
    ramp = (np.arange(size) * 16 // size) / 16.0  # (size,)
    image[half:] = ramp[None, :, None]
    quarter = size // 4
    image[size - quarter :, size - quarter :] = 1.0
    return image[None]  # (1, size, size, 3)


def seed_example() -> tuple[np.ndarray, np.ndarray]:
    """DESIGN.md's seed example: input (1, 4, 4, 2) and depthwise filter (3, 3, 2, 2)."""
    x = np.ones((1, 4, 4, 2))
    x[0, :, :, 0] = np.arange(1, 5)[None, :]  # channel 0 rows [1, 2, 3, 4]
    w = np.zeros((3, 3, 2, 2))
    for (q, r), value in {(0, 0): 0, (1, 0): 1, (0, 1): 2, (1, 1): 3}.items():
        w[:, :, q, r] = value
    return x, w


def sample_inputs() -> list[Preset]:
    x, _ = seed_example()
    presets = [Preset("seed", "The seed example's input: channel 0 rows 1..4, channel 1 ones", x)]
    presets += [
        Preset(f"digit_{d}", f"The digit {d}, 16x16, one channel", digit(d)) for d in DIGIT_FONT
    ]
    presets += [
        Preset(f"gradient_{direction}", f"A {direction} ramp 0..15/16, 16x16", gradient(direction))
        for direction in ("horizontal", "vertical", "diagonal")
    ]
    presets.append(Preset("checkerboard", "2x2 black and white squares, 16x16", checkerboard()))
    presets.append(Preset(
        "rgb_test_pattern", "Colour bars over a grey ramp, 32x32x3 (the classroom size)",
        rgb_test_pattern(),
    ))
    return presets


def random_kernel(seed: int = DEFAULT_SEED, size: int = 3) -> np.ndarray:
    """Uniform in [-1, 1], rounded to multiples of 1/8 so every product prints short."""
    generator = np.random.default_rng(seed)
    return np.round(generator.uniform(-1.0, 1.0, (size, size)) * 8) / 8


def named_kernels(seed: int = DEFAULT_SEED) -> list[Preset]:
    """The classic 3x3 image kernels (and a seeded random one)."""
    return [
        Preset("identity", "Copies the centre pixel",
               np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64)),
        Preset("box_blur", "The mean of the 3x3 window", np.full((3, 3), 1 / 9)),
        Preset("gaussian", "A 3x3 binomial blur, weights 1-2-1 over 16",
               np.outer([1, 2, 1], [1, 2, 1]) / 16.0),
        Preset("sobel_x", "Horizontal gradient: vertical edges",
               np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)),
        Preset("sobel_y", "Vertical gradient: horizontal edges",
               np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64)),
        Preset("laplacian", "Second derivative: edges in every direction",
               np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)),
        Preset("sharpen", "Identity plus a negative Laplacian",
               np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)),
        Preset("emboss", "A diagonal relief",
               np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)),
        Preset("random", f"Uniform in [-1, 1] in steps of 1/8, seed {seed}", random_kernel(seed)),
    ]
