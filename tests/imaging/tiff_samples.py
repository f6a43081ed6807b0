"""A small TIFF writer, independent of backend.imaging and of Pillow, for 16-bit test files.

tifffile (the other writer the tests use) needs the `imagecodecs` package for LZW and PackBits,
the compressions that Photoshop, GIMP and scanners write most; these are written here instead.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

NONE, LZW, DEFLATE, PACKBITS, OLD_DEFLATE = 1, 5, 8, 32773, 32946
_SHORT, _LONG = 3, 4


def lzw(data: bytes) -> bytes:
    """TIFF LZW (MSB-first codes, 'early change' code widths, a Clear code when the table fills)."""
    out = bytearray()
    buffer = bits = 0

    def put(code: int, width: int) -> None:
        nonlocal buffer, bits
        buffer = (buffer << width) | code
        bits += width
        while bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)
        buffer &= (1 << bits) - 1

    def reset() -> tuple[dict[bytes, int], int, int]:
        return {bytes([i]): i for i in range(256)}, 258, 9

    table, next_code, width = reset()
    put(256, width)
    word = b""
    for value in data:
        extended = word + bytes([value])
        if extended in table:
            word = extended
            continue
        put(table[word], width)
        table[extended] = next_code
        next_code += 1
        if next_code == 4094:  # the table is full: start over
            put(256, width)
            table, next_code, width = reset()
        elif next_code > (1 << width) - 1:
            width += 1
        word = bytes([value])
    if word:
        put(table[word], width)
        next_code += 1
        if next_code > (1 << width) - 1 and width < 12:
            width += 1
    put(257, width)
    if bits:
        put(0, 8 - bits)
    return bytes(out)


def packbits(data: bytes) -> bytes:
    """PackBits with literal runs only (valid, if not small)."""
    return b"".join(bytes([len(data[i : i + 128]) - 1]) + data[i : i + 128] for i in range(0, len(data), 128))


_COMPRESSORS = {NONE: bytes, LZW: lzw, DEFLATE: zlib.compress, OLD_DEFLATE: zlib.compress, PACKBITS: packbits}


def tiff16(
    pixels: np.ndarray,
    *,
    byteorder: str = "<",
    compression: int = NONE,
    extra_samples: tuple[int, ...] = (),
    orientation: int | None = None,
    photometric: int | None = None,
    planar: bool = False,
) -> bytes:
    """One-strip TIFF of (H, W) or (H, W, C) uint16 pixels: contiguous, or planar (one strip per
    channel). extra_samples: 0 unspecified, 1 associated alpha, 2 unassociated alpha (TIFF's
    ExtraSamples values)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    planes = [pixels[..., channel] for channel in range(channels)] if planar else [pixels]
    compress = _COMPRESSORS[compression]
    strips = [compress(np.ascontiguousarray(plane, dtype=f"{byteorder}u2").tobytes()) for plane in planes]
    photometric = (2 if channels >= 3 else 1) if photometric is None else photometric
    entries = [
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [16] * channels),
        (259, _SHORT, [compression]),
        (262, _SHORT, [photometric]),
        (273, _LONG, [0] * len(strips)),  # the strips' offsets, filled in below
        (277, _SHORT, [channels]),
        (278, _LONG, [height]),
        (279, _LONG, [len(strip) for strip in strips]),
        (284, _SHORT, [2 if planar else 1]),
    ]
    if orientation is not None:
        entries.append((274, _SHORT, [orientation]))
    if extra_samples:
        entries.append((338, _SHORT, list(extra_samples)))
    entries.sort()
    # Header, then the IFD, then the values too long for it, then the strips: a file cut short loses pixels.
    extra_offset = 8 + 2 + 12 * len(entries) + 4
    extra_length = sum(len(_pack(byteorder, kind, values)) for _, kind, values in entries if _too_long(kind, values))
    strip_offsets = [extra_offset + extra_length + sum(map(len, strips[:i])) for i in range(len(strips))]
    entries = [(tag, kind, strip_offsets if tag == 273 else values) for tag, kind, values in entries]
    extra = b"".join(_pack(byteorder, kind, values) for _, kind, values in entries if _too_long(kind, values))
    ifd = b""
    for tag, kind, values in entries:
        if _too_long(kind, values):
            field = struct.pack(f"{byteorder}I", extra_offset)
            extra_offset += len(_pack(byteorder, kind, values))
        else:
            field = _pack(byteorder, kind, values).ljust(4, b"\0")
        ifd += struct.pack(f"{byteorder}HHI", tag, kind, len(values)) + field
    header = (b"II" if byteorder == "<" else b"MM") + struct.pack(f"{byteorder}HI", 42, 8)
    directory = struct.pack(f"{byteorder}H", len(entries)) + ifd + struct.pack(f"{byteorder}I", 0)
    return header + directory + extra + b"".join(strips)


def _pack(byteorder: str, kind: int, values: list[int]) -> bytes:
    return struct.pack(f"{byteorder}{len(values)}{'H' if kind == _SHORT else 'I'}", *values)


def _too_long(kind: int, values: list[int]) -> bool:
    return len(values) * (2 if kind == _SHORT else 4) > 4


def rgb8_tiff_strip(width: int, height: int, compression: int, strip: bytes) -> bytes:
    """A little-endian 8-bit RGB TIFF of one strip that `compression` already encoded: for compressions
    neither this module nor tifffile (without imagecodecs) can write, such as WebP (50001)."""
    entries = [
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [8, 8, 8]),
        (259, _SHORT, [compression]),
        (262, _SHORT, [2]),
        (273, _LONG, [0]),  # the strip's offset, filled in below
        (277, _SHORT, [3]),
        (278, _LONG, [height]),
        (279, _LONG, [len(strip)]),
    ]
    bits_offset = 8 + 2 + 12 * len(entries) + 4
    strip_offset = bits_offset + 6
    ifd = b""
    for tag, kind, values in entries:
        if tag == 258:
            field = struct.pack("<I", bits_offset)
        else:
            field = _pack("<", kind, [strip_offset] if tag == 273 else values).ljust(4, b"\0")
        ifd += struct.pack("<HHI", tag, kind, len(values)) + field
    header = b"II" + struct.pack("<HI", 42, 8)
    directory = struct.pack("<H", len(entries)) + ifd + struct.pack("<I", 0)
    return header + directory + _pack("<", _SHORT, [8, 8, 8]) + strip
