"""Readers for the images the page exports (no imaging library): PNG (every filter
type, 8-bit RGB/RGBA) and GIF (every frame, its delay and pixels), and WebM timestamps."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def read_png(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    out = np.zeros((height, stride), np.int32)
    previous = np.zeros(stride, np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + previous) & 255
        else:
            row = np.zeros(stride, np.int32)
            for x in range(stride):
                left = row[x - channels] if x >= channels else 0
                up = previous[x]
                corner = previous[x - channels] if x >= channels else 0
                if kind == 1:
                    predicted = left
                elif kind == 3:
                    predicted = (left + up) >> 1
                else:  # Paeth
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    predicted = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[x] = (line[x] + predicted) & 255
        out[y] = row
        previous = row
    return out.reshape(height, width, channels)[:, :, :3].astype(np.uint8)


def _lzw_decode(data: bytes, min_code_size: int, pixel_count: int) -> list[int]:
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    size = min_code_size + 1
    table: list[list[int]] = [[n] for n in range(clear)] + [[], []]
    out: list[int] = []
    previous: list[int] | None = None
    bits, count, position = 0, 0, 0
    while True:
        while count < size:
            if position >= len(data):
                return out
            bits |= data[position] << count
            position += 1
            count += 8
        code = bits & ((1 << size) - 1)
        bits >>= size
        count -= size
        if code == clear:
            size = min_code_size + 1
            table = table[: clear + 2]
            previous = None
            continue
        if code == end:
            return out
        if previous is None:
            entry = table[code]
        elif code < len(table):
            entry = table[code]
            table.append(previous + [entry[0]])
        else:
            entry = previous + [previous[0]]
            table.append(entry)
        out.extend(entry)
        previous = entry
        if len(table) == (1 << size) and size < 12:
            size += 1


def read_gif(data: bytes) -> tuple[int, int, list[tuple[int, np.ndarray]]]:
    """(width, height, [(delay in centiseconds, (H, W, 3) uint8 pixels)]) of a GIF whose
    frames each cover the whole image (what the page writes)."""
    assert data[:6] == b"GIF89a"
    width, height, flags = struct.unpack("<HHB", data[6:11])
    offset = 13
    palette = None
    if flags & 0x80:
        size = 3 << ((flags & 7) + 1)
        palette = np.frombuffer(data, np.uint8, size, offset).reshape(-1, 3)
        offset += size
    frames, delay = [], 0
    while True:
        block = data[offset]
        if block == 0x3B:
            return width, height, frames
        if block == 0x21:
            label = data[offset + 1]
            offset += 2
            if label == 0xF9:
                delay = struct.unpack("<H", data[offset + 2:offset + 4])[0]
            while data[offset]:
                offset += data[offset] + 1
            offset += 1
            continue
        assert block == 0x2C, hex(block)
        _, _, w, h, flags = struct.unpack("<HHHHB", data[offset + 1:offset + 10])
        assert (w, h) == (width, height)
        offset += 10
        local = palette
        if flags & 0x80:
            size = 3 << ((flags & 7) + 1)
            local = np.frombuffer(data, np.uint8, size, offset).reshape(-1, 3)
            offset += size
        min_code_size = data[offset]
        offset += 1
        chunks = []
        while data[offset]:
            chunks.append(data[offset + 1:offset + 1 + data[offset]])
            offset += data[offset] + 1
        offset += 1
        indices = _lzw_decode(b"".join(chunks), min_code_size, w * h)
        assert len(indices) == w * h, (len(indices), w * h)
        frames.append((delay, local[np.array(indices)].reshape(h, w, 3)))


def webm_block_times(data: bytes) -> list[float]:
    """Every video block's timestamp in ms (cluster timecode + block offset), in order,
    for the Matroska/WebM files MediaRecorder writes (TimecodeScale 1 ms)."""
    assert data[:4] == b"\x1a\x45\xdf\xa3"

    def vint(position: int, keep_marker: bool = False) -> tuple[int, int]:
        first = data[position]
        length = 1
        while length <= 8 and not first & (0x80 >> (length - 1)):
            length += 1
        value = first if keep_marker else first & (0xFF >> length)
        for n in range(1, length):
            value = (value << 8) | data[position + n]
        return value, length

    times: list[float] = []
    scale_ns = 1_000_000
    cluster_time = 0
    containers = {0x18538067, 0x1F43B675, 0xA0}  # Segment, Cluster, BlockGroup
    position = 0
    while position < len(data):
        element, id_length = vint(position, keep_marker=True)
        size, size_length = vint(position + id_length)
        body = position + id_length + size_length
        unknown = size == (1 << (7 * size_length)) - 1
        if element in containers:
            position = body
            continue
        if element == 0x2AD7B1:  # TimecodeScale
            scale_ns = int.from_bytes(data[body:body + size], "big")
        elif element == 0xE7:  # Cluster Timecode
            cluster_time = int.from_bytes(data[body:body + size], "big")
        elif element in (0xA3, 0xA1):  # SimpleBlock, Block
            _, track_length = vint(body)
            (relative,) = struct.unpack(">h", data[body + track_length:body + track_length + 2])
            times.append((cluster_time + relative) * scale_ns / 1e6)
        if unknown:
            break
        position = body + size
    return times
