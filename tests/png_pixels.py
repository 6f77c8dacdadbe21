"""Just enough of PNG to look at a screenshot with the standard library: decode 8-bit RGB or
RGBA, non-interlaced images (what Chromium writes) into rows of pixels, and crop one back out."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}   # colour type -> bytes per pixel (RGB, RGBA) at bit depth 8


def _chunks(data: bytes):
    at = len(SIGNATURE)
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        yield kind, data[at + 8:at + 8 + length]
        at += 12 + length


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def decode(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows): each row the image's RGB(A) bytes, filters undone."""
    data = Path(path).read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    header, compressed = b"", b""
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
    size = CHANNELS[colour]
    raw = zlib.decompress(compressed)
    stride = width * size
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up = previous[i]
            corner = previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def colour_counts(width: int, rows: list[bytes], step: int = 4) -> Counter:
    """How often each RGB colour of a decoded image occurs, sampling every `step`-th pixel of
    every `step`-th row."""
    size = len(rows[0]) // width
    return Counter(tuple(row[x * size:x * size + 3]) for row in rows[::step] for x in range(0, width, step))


def crop(path: Path, out: Path, top: int, height: int) -> None:
    """Rows top..top+height of a screenshot, as a new RGB(A) PNG (to look at part of a page)."""
    width, _, rows = decode(path)
    size = len(rows[0]) // width
    chosen = rows[top:top + height]
    body = zlib.compress(b"".join(b"\x00" + row for row in chosen))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, len(chosen), 8, {3: 2, 4: 6}[size], 0, 0, 0)
    Path(out).write_bytes(SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
