"""PNG output for 8- and 16-bit pixels, deflated in parallel bands (as pigz does).

An upscaled image is large (a 512² upload comes back as 2048²), and on a GPU server encoding
it took longer than upscaling it: Pillow filters and deflates in one thread (a 2048² RGB result
at zlib level 1: ~0.25 s, at 6: ~1.1 s, against ~0.06 s on an H100). Here (2 cores, same
levels): ~0.06 s and ~0.33 s, for sizes within −2 % to +9 % of Pillow's. How:
- every row uses PNG's "Up" filter (the byte-wise difference from the row above): one numpy
  subtraction; on photos its output deflates to within ~5 % of Pillow's per-row adaptive
  choice, at every level;
- the filtered rows are cut into bands, each deflated on its own thread (zlib releases the
  GIL) with the end of the band before it as a preset dictionary, so little is lost at the
  seams. Every band but the last ends with a sync flush on a byte boundary, so the bands join
  into one valid deflate stream; the zlib checksum is combined from the bands' own.
The result is an ordinary PNG that any decoder reads.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # by channel count: gray, gray+alpha, RGB, RGBA
_FILTER_UP = 2
_BAND_BYTES = 256 << 10  # filtered bytes per band: a 512² RGB result makes 3 bands
_WINDOW = 32 << 10  # deflate's window: the most of the previous band a dictionary can use
_ADLER_BASE = 65521
# One pool for every encode in the process: concurrent jobs share the cores instead of each
# starting its own threads.
_POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="png")


def write_png(
    pixels: np.ndarray,
    icc_profile: bytes | None = None,
    compress_level: int = 1,
    chunks: Sequence[tuple[bytes, bytes]] = (),
) -> bytes:
    """(H, W) or (H, W, C) uint8/uint16 pixels, C in 1..4 (gray, gray+alpha, RGB, RGBA) -> PNG bytes.

    `chunks`: extra (type, payload) chunks, written after IHDR: colour chunks must precede IDAT.
    """
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)  # samples; bytes per band
    out = io.BytesIO()
    out.write(_PNG_SIGNATURE)
    _write_chunk(out, b"IHDR", struct.pack(">IIBBBBB", width, height, depth, _COLOR_TYPES[channels], 0, 0, 0))
    if icc_profile:
        _write_chunk(out, b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile))
    for kind, payload in chunks:
        _write_chunk(out, kind, payload)
    for piece in _zlib_pieces(rows, compress_level):  # one IDAT per band: no copy of the whole stream
        _write_chunk(out, b"IDAT", piece)
    _write_chunk(out, b"IEND", b"")
    return out.getvalue()


def _write_chunk(out: io.BytesIO, kind: bytes, payload: bytes) -> None:
    out.write(struct.pack(">I", len(payload)))
    out.write(kind)
    out.write(payload)
    out.write(struct.pack(">I", zlib.crc32(payload, zlib.crc32(kind))))


def _filtered(rows: np.ndarray, top: int, bottom: int) -> bytes:
    """Rows [top, bottom) with the Up filter: a filter-type byte, then row minus the row above,
    byte by byte (16-bit samples big-endian, converted one band at a time)."""
    start = max(top - 1, 0)
    raw = np.ascontiguousarray(rows[start:bottom], dtype=">u2" if rows.itemsize == 2 else np.uint8)
    raw = raw.view(np.uint8).reshape(bottom - start, -1)
    band = np.empty((bottom - top, raw.shape[1] + 1), dtype=np.uint8)
    band[:, 0] = _FILTER_UP
    if top == 0:
        band[0, 1:] = raw[0]  # the row above the first is zeros
    np.subtract(raw[1:], raw[:-1], out=band[1 if top == 0 else 0 :, 1:])
    return band.tobytes()


def _zlib_pieces(rows: np.ndarray, level: int) -> Iterator[bytes]:
    """The zlib stream of the filtered rows, one piece per band, in order."""
    height, stride = rows.shape[0], rows.shape[1] * rows.itemsize
    band_rows = max(1, _BAND_BYTES // (stride + 1))
    bounds = [(top, min(top + band_rows, height)) for top in range(0, height, band_rows)]
    context_rows = -(-_WINDOW // (stride + 1))  # rows of the previous band that fill the window

    def deflate(index: int) -> tuple[bytes, int, int]:
        top, bottom = bounds[index]
        data = _filtered(rows, top, bottom)
        if index == 0:
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        else:  # the previous band's tail, filtered again here so that bands need not wait for each other
            before = _filtered(rows, max(0, top - context_rows), top)[-_WINDOW:]
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=before)
        last = index == len(bounds) - 1
        body = compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        return body, zlib.adler32(data), len(data)

    bands = _POOL.map(deflate, range(len(bounds))) if len(bounds) > 1 else iter([deflate(0)])
    checksum = 1  # adler32 of nothing
    for index, (body, band_checksum, length) in enumerate(bands):
        checksum = adler32_combine(checksum, band_checksum, length)
        if index == 0:
            body = _zlib_header(level) + body
        if index == len(bounds) - 1:
            body += struct.pack(">I", checksum)
        yield body


def _zlib_header(level: int) -> bytes:
    """CMF (deflate, 32 KB window) and FLG with the level hint and the check bits."""
    cmf = 0x78
    hint = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    flg = hint << 6
    flg += 31 - (cmf * 256 + flg) % 31
    return bytes([cmf, flg])


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """adler32 of A + B from adler32(A), adler32(B) and len(B) (zlib's adler32_combine)."""
    remainder = second_length % _ADLER_BASE
    low = first & 0xFFFF
    high = remainder * low % _ADLER_BASE
    low += (second & 0xFFFF) + _ADLER_BASE - 1
    high += (first >> 16) + (second >> 16) + _ADLER_BASE - remainder
    return (low % _ADLER_BASE) | (high % _ADLER_BASE) << 16
