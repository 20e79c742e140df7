"""Built-in photos (app.teaching.photos): made in code, in [0, 1], photo-like, served as PNG."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.teaching.photos import PHOTOS, SIZE, photo_array, photo_png
from app.teaching.photos.png import encode_png


def decode_png(data: bytes) -> np.ndarray:
    """A reference reader for what encode_png writes (8-bit, filter 0): (H, W[, 3]) uint8."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, {}
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = chunks.get(kind, b"") + body
        offset += 12 + length
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (0, 2)
    channels = 3 if colour == 2 else 1
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (raw[:, 0] == 0).all()  # filter type 0 on every row
    pixels = raw[:, 1:].reshape(height, width, channels)
    return pixels if channels == 3 else pixels[..., 0]


@pytest.mark.parametrize("shape", [(3, 5, 3), (4, 2)])
def test_encode_png_round_trips(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(encode_png(pixels)), pixels)


def test_encode_png_refuses_other_layouts() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2, 3)))


@pytest.mark.parametrize("name", list(PHOTOS))
def test_each_photo_looks_like_a_photo(name: str) -> None:
    image = PHOTOS[name].draw()
    assert image.shape == (SIZE, SIZE, 3) and image.min() >= 0.0 and image.max() <= 1.0
    # Colour: the channels differ (not a grey image) and the picture has contrast.
    assert np.abs(image[..., 0] - image[..., 2]).mean() > 0.05
    assert image.std() > 0.12
    # Edges to find: a 3x3 Sobel response is large somewhere, and small in flat regions.
    grey = image.mean(axis=2)
    sobel_x = (grey[1:-1, 2:] - grey[1:-1, :-2]) * 2 + (grey[:-2, 2:] - grey[:-2, :-2]) + (
        grey[2:, 2:] - grey[2:, :-2])
    assert np.abs(sobel_x).max() > 1.0 and np.median(np.abs(sobel_x)) < 0.2
    # Drawn the same every time (seeded grain).
    np.testing.assert_array_equal(photo_array(name), np.round(PHOTOS[name].draw() * 255))


def test_photos_are_served_as_png_and_listed_with_the_presets() -> None:
    client = TestClient(create_app(Settings()))
    listed = client.get("/api/v1/presets").json()["photos"]
    assert set(listed) == set(PHOTOS) == {"house", "fruit", "mountains"}
    for name, entry in listed.items():
        answer = client.get(entry["url"])
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.content == photo_png(name)
        np.testing.assert_array_equal(decode_png(answer.content), photo_array(name))
        assert entry["shape"] == [SIZE, SIZE, 3]
    missing = client.get("/api/v1/presets/photos/cat.png")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "not_found", "field": "name", "status": 404,
        "message": "There is no built-in photo 'cat'; try house, fruit, mountains"}
