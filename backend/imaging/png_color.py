"""A source PNG's colour chunks (gAMA, cHRM, sRGB), carried over to the result.

Browsers colour-manage a PNG without iCCP by these chunks, so a result that lost them (one saved
with gAMA 1/1.8 by old Mac software, or 1.0 for linear data) looks different from its source.
Decode reads them (`from_png_info`) into DecodedImage.png_color, and encode writes them:
- PNG results get the chunks again, byte for byte, before IDAT;
- JPEG and WebP results (no such chunks there) get an ICC profile built from them: gamma as the
  tone curves, cHRM's primaries adapted to D50, gray for a gray JPEG. An sRGB chunk gives none:
  untagged files are read as sRGB anyway.
A source with iCCP keeps its profile alone (the chunks are fallbacks for viewers without ICC
support, and the PNG spec says sRGB should not sit beside iCCP). Pixels are never changed: the model was
trained on encoded values, and the result's tags say how to show them.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from backend.imaging.icc_build import (
    gamma_curve,
    gray_profile,
    rgb_profile,
    rgb_to_xyz_d50,
    srgb_matrix,
    table_curve,
)

_UNIT = 100_000  # gAMA and cHRM store values x 100000
_PREFIX = "PNG colour chunks: "
# Real colorants are within about 0..1 (XYZ, D50); near-collinear primaries give huge ones that an ICC
# s15Fixed16 field (below 32768) cannot hold, and that describe no display anyway.
_MAX_COLORANT = 16.0
_GAMMA_RANGE = (1 / 256, 255.0)  # what a one-entry curv (u8Fixed8) can hold


@dataclass(frozen=True)
class PngColor:
    gamma: int | None  # gAMA: file gamma x 100000 (45455 = 1/2.2); the tone curve is its inverse
    chromaticity: tuple[int, ...] | None  # cHRM: white, red, green, blue (x, y each), x 100000
    srgb: int | None  # sRGB: the rendering intent byte

    def chunks(self) -> list[tuple[bytes, bytes]]:
        """(type, payload) pairs for the PNG writer: gAMA, cHRM, sRGB (any order is valid before IDAT)."""
        out: list[tuple[bytes, bytes]] = []
        if self.gamma is not None:
            out.append((b"gAMA", struct.pack(">I", self.gamma)))
        if self.chromaticity is not None:
            out.append((b"cHRM", struct.pack(">8I", *self.chromaticity)))
        if self.srgb is not None:
            out.append((b"sRGB", bytes([self.srgb])))
        return out

    def profile(self, *, gray: bool) -> bytes | None:
        """The ICC profile a JPEG/WebP result should carry: None for sRGB, or when no value is usable
        (a gamma of 0, impossible chromaticities: viewers ignore those chunks too)."""
        if self.srgb is not None:
            return None
        curve, matrix = self._curve(), self._matrix()
        if curve is None and matrix is None:
            return None
        curve = curve or _srgb_curve()
        if gray:
            return gray_profile(self._description(), curve)
        return rgb_profile(self._description(), srgb_matrix() if matrix is None else matrix, curve)

    def _curve(self) -> bytes | None:
        if not self.gamma:
            return None
        exponent = _UNIT / self.gamma  # decoding gamma: linear = encoded ** (1 / file gamma)
        return gamma_curve(exponent) if _GAMMA_RANGE[0] <= exponent <= _GAMMA_RANGE[1] else None

    def _matrix(self) -> np.ndarray | None:
        if self.chromaticity is None:
            return None
        values = [value / _UNIT for value in self.chromaticity]
        with np.errstate(all="ignore"):  # a white point of zero luminance divides by zero: caught below
            try:
                matrix = rgb_to_xyz_d50(tuple(values[2:]), (values[0], values[1]))
            except ValueError:
                return None
        usable = np.isfinite(matrix).all() and np.abs(matrix).max() <= _MAX_COLORANT
        return matrix if usable and abs(np.linalg.det(matrix)) > 1e-6 else None

    def _description(self) -> str:
        parts = []
        if self.gamma is not None:
            parts.append(f"gAMA={self.gamma}")
        if self.chromaticity is not None:
            parts.append("cHRM=" + ",".join(map(str, self.chromaticity)))
        if self.srgb is not None:
            parts.append(f"sRGB={self.srgb}")
        return _PREFIX + "; ".join(parts)


def from_png_info(info: Mapping[str, object]) -> PngColor | None:
    """The colour chunks Pillow read from a PNG (its info's 'gamma', 'chromaticity', 'srgb'), or None."""
    gamma = _units(info.get("gamma"), 1)
    chromaticity = _units(info.get("chromaticity"), 8)
    srgb = info.get("srgb")
    srgb = srgb if isinstance(srgb, int) and 0 <= srgb <= 255 else None
    if gamma is None and chromaticity is None and srgb is None:
        return None
    return PngColor(gamma[0] if gamma else None, chromaticity, srgb)


def _units(value: object, count: int) -> tuple[int, ...] | None:
    """Pillow's floats (the chunk's integers / 100000) back to the integers; None unless `count` of them."""
    values = value if isinstance(value, tuple) else (value,)
    if len(values) != count or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    integers = tuple(round(v * _UNIT) for v in values)
    return integers if all(0 <= v < 2**32 for v in integers) else None


def _srgb_curve() -> bytes:
    encoded = np.linspace(0.0, 1.0, 1024)
    linear = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
    return table_curve(linear)
