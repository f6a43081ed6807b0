"""Small real photographs and byte-level helpers shared by the imaging tests."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import numpy as np
from PIL import Image
from skimage import data as skdata

MAX_PIXELS = 1_000_000


@cache
def _photos() -> dict[str, np.ndarray]:
    # Non-square crops, so a swapped width/height shows up at once.
    return {
        "astronaut": skdata.astronaut()[100:164:1, 180:228],
        "coffee": skdata.coffee()[150:214:2, 200:296:2],
        "chelsea": skdata.chelsea()[60:124, 150:198],
    }


def photo(name: str = "astronaut") -> np.ndarray:
    """(H, W, 3) uint8 crop of a real photograph (read-only, copy before editing)."""
    return _photos()[name].copy()


def alpha_ramp(height: int, width: int, dtype: type = np.uint8) -> np.ndarray:
    """An alpha plane with every kind of value: fully transparent, partial, opaque."""
    limit = np.iinfo(dtype).max
    ramp = np.linspace(0, limit, width, dtype=np.float64)[None, :].repeat(height, axis=0)
    alpha = np.rint(ramp).astype(dtype)
    alpha[: height // 4] = limit
    alpha[-2:, :3] = 0
    return alpha


def widen(pixels: np.ndarray) -> np.ndarray:
    """uint8 -> uint16 with low bits that 8-bit decoding would lose."""
    return pixels.astype(np.uint16) * 257 + (np.arange(pixels.size, dtype=np.uint16).reshape(pixels.shape) % 7)


def to_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks in file order as (type, payload), every CRC checked: read byte by byte."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, payload = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        chunks.append((kind, payload))
        offset += 12 + length
    return chunks


def insert_chunk_after_ihdr(png: bytes, kind: bytes, payload: bytes) -> bytes:
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + png_chunk(kind, payload) + png[ihdr_end:]


def png_header_only(width: int, height: int, bit_depth: int = 8, color_type: int = 2) -> bytes:
    """A PNG whose header claims a size but holds almost no pixel data (a decompression bomb shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return (
        signature + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")
    )


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def interlaced_png16(pixels: np.ndarray) -> bytes:
    """An Adam7-interlaced 16-bit PNG (filter 'none'), written independently of backend.imaging."""
    height, width, channels = pixels.shape
    color_type = {2: 4, 3: 2, 4: 6}[channels]
    raw = b""
    for x0, y0, dx, dy in _ADAM7:
        sub = pixels[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        rows = np.ascontiguousarray(sub, dtype=">u2").view(np.uint8).reshape(sub.shape[0], -1)
        raw += b"".join(b"\0" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 1)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks
