"""16-bit colour PNG, which Pillow cannot hold: it decodes RGB/RGBA/LA 16-bit PNGs to 8 bits.

Reading: Pillow's PNG decoder is still used (zlib, unfiltering, Adam7 interlacing, all in C). Its
unfiltering works on whole pixels of the *raw* layout, so we keep that layout and only swap the
unpacker that turns each raw pixel into 8-bit channels:
- RGB/RGBA 16-bit: decode twice, once keeping the high byte of each sample ("RGB;16B") and once the
  low byte ("RGB;16L" applied to big-endian data picks the other byte), then join them;
- LA 16-bit: its raw pixel is 4 bytes, so the plain "RGBA" unpacker hands back all 4 bytes in one pass.
Writing: a small PNG writer in numpy + zlib (Paeth filter, done in row bands to bound memory).
No extra dependency is needed.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow's raw mode for 16-bit PNGs that it narrows to 8 bits -> channels in the file.
_WIDE_RAWMODES = {"RGB;16B": 3, "RGBA;16B": 4, "LA;16B": 2}
# PNG colour type by channel count: gray, gray+alpha, RGB, RGBA.
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}
_IDAT_CHUNK_BYTES = 8 << 20
_FILTER_BAND_BYTES = 4 << 20


def _tile_rawmode(image: Image.Image) -> str | None:
    if image.format != "PNG" or len(image.tile) != 1:
        return None
    args = image.tile[0][3]
    return args if isinstance(args, str) else None


def is_wide_png(image: Image.Image) -> bool:
    """True for a 16-bit RGB, RGBA or LA PNG that Pillow would narrow to 8 bits."""
    return _tile_rawmode(image) in _WIDE_RAWMODES


def _load_with_rawmode(image: Image.Image, rawmode: str) -> np.ndarray:
    codec, extents, offset, _ = image.tile[0]
    image.tile = [(codec, extents, offset, rawmode)]
    image.load()
    return np.asarray(image)


def read_wide_png(image: Image.Image, data: bytes) -> np.ndarray:
    """Decode a PNG for which `is_wide_png(image)` holds into (H, W, C) uint16, C = 2 (LA), 3 or 4.

    `image` is the not-yet-loaded Pillow image opened from `data`; it ends up loaded (so its chunks
    after IDAT, such as eXIf, are read). Pillow's errors on truncated data propagate.
    """
    rawmode = _tile_rawmode(image)
    channels = _WIDE_RAWMODES[rawmode]
    if channels == 2:
        raw = _load_with_rawmode(image, "RGBA")  # bytes: L high, L low, A high, A low
        high, low = raw[..., 0::2], raw[..., 1::2]
    else:
        base = rawmode.split(";")[0]
        with Image.open(io.BytesIO(data), formats=["PNG"]) as high_pass:
            high = _load_with_rawmode(high_pass, f"{base};16B")
        low = _load_with_rawmode(image, f"{base};16L")
    return (high.astype(np.uint16) << 8) | low


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _paeth_filter(rows: np.ndarray, previous: np.ndarray, bytes_per_pixel: int) -> np.ndarray:
    """PNG filter type 4 for a band of rows (uint8, (n, stride)); `previous` is the row above the band."""
    current = rows.astype(np.int16)
    above = np.vstack([previous[None, :], rows[:-1]]).astype(np.int16)
    left = np.zeros_like(current)
    left[:, bytes_per_pixel:] = current[:, :-bytes_per_pixel]
    upper_left = np.zeros_like(current)
    upper_left[:, bytes_per_pixel:] = above[:, :-bytes_per_pixel]
    dist_left = np.abs(above - upper_left)
    dist_above = np.abs(left - upper_left)
    dist_upper_left = np.abs(left + above - 2 * upper_left)
    predictor = np.where(
        (dist_left <= dist_above) & (dist_left <= dist_upper_left),
        left,
        np.where(dist_above <= dist_upper_left, above, upper_left),
    )
    filtered = ((current - predictor) & 0xFF).astype(np.uint8)
    filter_bytes = np.full((rows.shape[0], 1), 4, dtype=np.uint8)
    return np.hstack([filter_bytes, filtered])


def encode_png16(pixels: np.ndarray, icc_profile: bytes | None = None, compress_level: int = 6) -> bytes:
    """Write (H, W) or (H, W, C) uint16 pixels, C in 1..4 (gray, gray+alpha, RGB, RGBA), as a 16-bit PNG."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    bytes_per_pixel = 2 * channels
    stride = width * bytes_per_pixel
    header = struct.pack(">IIBBBBB", width, height, 16, _COLOR_TYPES[channels], 0, 0, 0)
    parts = [_PNG_SIGNATURE, _chunk(b"IHDR", header)]
    if icc_profile:
        parts.append(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))

    compressor = zlib.compressobj(compress_level)
    compressed: list[bytes] = []
    band_rows = max(1, _FILTER_BAND_BYTES // max(stride, 1))
    previous = np.zeros(stride, dtype=np.uint8)
    for top in range(0, height, band_rows):
        band = np.ascontiguousarray(pixels[top : top + band_rows], dtype=">u2").view(np.uint8)
        rows = band.reshape(band.shape[0], stride)
        compressed.append(compressor.compress(_paeth_filter(rows, previous, bytes_per_pixel).tobytes()))
        previous = rows[-1]
    compressed.append(compressor.flush())
    stream = b"".join(compressed)
    for start in range(0, len(stream), _IDAT_CHUNK_BYTES):
        parts.append(_chunk(b"IDAT", stream[start : start + _IDAT_CHUNK_BYTES]))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)
