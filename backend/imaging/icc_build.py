"""Minimal ICC v2 display profiles (matrix/TRC RGB, or gray TRC) written from PNG colour values.

JPEG and WebP have no gAMA or cHRM: the only way to tell a viewer that their pixels are encoded
with gamma 1.8, or in wider primaries, is an ICC profile. A v2 profile holds its colorants in the
D50 connection space, so the primaries are adapted from their own white point with Bradford (as
the ICC, lcms and Photoshop do), and the media white is D50 (relative colorimetric: white stays
white). Every viewer reads this shape: desc, cprt, wtpt, rXYZ/gXYZ/bXYZ and rTRC/gTRC/bTRC (kTRC).
"""

from __future__ import annotations

import struct

import numpy as np

D50 = np.array([0.9642, 1.0, 0.8249])  # the ICC connection space's white, XYZ
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
_HEADER_SIZE = 128
_DATE = (2026, 1, 1, 0, 0, 0)  # fixed: the same values give the same bytes
_VERSION = 0x02100000  # 2.1: what the widespread sRGB v2 profile uses
_SRGB_PRIMARIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06)
_SRGB_WHITE = (0.3127, 0.3290)  # D65


def xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def rgb_to_xyz_d50(primaries: tuple[float, ...], white: tuple[float, float]) -> np.ndarray:
    """3x3 matrix, linear RGB -> XYZ adapted to D50 (columns: the colorant tags). Raises ValueError
    when the chromaticities describe no RGB space (a y of 0, or primaries on one line)."""
    red, green, blue = primaries[0:2], primaries[2:4], primaries[4:6]
    if min(red[1], green[1], blue[1], white[1]) <= 0:
        raise ValueError("a chromaticity with y <= 0")
    columns = np.column_stack([xy_to_xyz(*red), xy_to_xyz(*green), xy_to_xyz(*blue)])
    white_xyz = xy_to_xyz(*white)
    scale = np.linalg.solve(columns, white_xyz)  # LinAlgError is a ValueError
    cone_ratio = (_BRADFORD @ D50) / (_BRADFORD @ white_xyz)
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cone_ratio) @ _BRADFORD
    return adapt @ columns @ np.diag(scale)


def srgb_matrix() -> np.ndarray:
    """sRGB's colorants adapted to D50, for rgb_profile."""
    return rgb_to_xyz_d50(_SRGB_PRIMARIES, _SRGB_WHITE)


def rgb_profile(description: str, matrix: np.ndarray, curve: bytes) -> bytes:
    """An RGB display profile: `matrix` from rgb_to_xyz_d50, `curve` from gamma_curve/table_curve."""
    tags = [
        (b"desc", _desc(description)),
        (b"cprt", _text("No copyright, use freely")),
        (b"wtpt", _xyz(D50)),
        (b"rXYZ", _xyz(matrix[:, 0])),
        (b"gXYZ", _xyz(matrix[:, 1])),
        (b"bXYZ", _xyz(matrix[:, 2])),
        (b"rTRC", curve),
        (b"gTRC", curve),  # the same bytes: one shared copy, as most profiles do
        (b"bTRC", curve),
    ]
    return _profile(b"RGB ", tags)


def gray_profile(description: str, curve: bytes) -> bytes:
    tags = [
        (b"desc", _desc(description)),
        (b"cprt", _text("No copyright, use freely")),
        (b"wtpt", _xyz(D50)),
        (b"kTRC", curve),
    ]
    return _profile(b"GRAY", tags)


def gamma_curve(gamma: float) -> bytes:
    """curv with one entry: value = encoded ** gamma, gamma as u8Fixed8 (steps of 1/256)."""
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def table_curve(values: np.ndarray) -> bytes:
    """curv sampled at len(values) evenly spaced points; values in 0..1."""
    samples = np.rint(np.clip(values, 0.0, 1.0) * 65535).astype(">u2").tobytes()
    return b"curv" + bytes(4) + struct.pack(">I", len(values)) + samples


def _profile(color_space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_size = 4 + 12 * len(tags)
    offset = _HEADER_SIZE + table_size
    entries, data, placed = [], b"", {}
    for signature, body in tags:
        if body not in placed:  # identical tag data is stored once and pointed to by each tag
            placed[body] = offset + len(data)
            data += _padded(body)
        entries.append(struct.pack(">4sII", signature, placed[body], len(body)))
    size = offset + len(data)
    header = struct.pack(
        ">I4sI4s4s4s6H4sI",
        size,
        b"\0\0\0\0",  # no preferred CMM
        _VERSION,
        b"mntr",
        color_space,
        b"XYZ ",
        *_DATE,
        b"acsp",
        0,  # platform
    )
    header += bytes(20)  # flags, manufacturer, model, attributes
    header += struct.pack(">I", 0) + _s15(D50)  # perceptual intent; the D50 illuminant
    header = header.ljust(_HEADER_SIZE, b"\0")  # creator and reserved bytes
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + data


def _s15(values: np.ndarray) -> bytes:
    return struct.pack(">3i", *(round(float(value) * 65536) for value in values))


def _xyz(values: np.ndarray) -> bytes:
    return b"XYZ " + bytes(4) + _s15(values)


def _text(text: str) -> bytes:
    return b"text" + bytes(4) + text.encode("ascii") + b"\0"


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    # ASCII, then empty Unicode (language, count) and ScriptCode (code, count, 67 bytes) parts.
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_text)) + ascii_text + bytes(8) + bytes(2 + 1 + 67)


def _padded(body: bytes) -> bytes:
    return body + bytes(-len(body) % 4)  # tag data starts on a 4-byte boundary
