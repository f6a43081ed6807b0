"""A grey ICC profile restated as an RGB one, for results in a format without a grey mode (WebP).

A grey profile maps a value v to XYZ = kTRC(v) x D50 (the connection space's white). An RGB
matrix/TRC profile with kTRC as each channel's curve and colorants that add up to D50 maps the
neutral pixel (v, v, v) to the same XYZ: the grey image, stored as RGB, shows the same tones.
The colorants are sRGB's (adapted to D50); only their sum matters for neutral pixels.
"""

from __future__ import annotations

import struct

from backend.imaging.icc_build import rgb_profile, srgb_matrix

_HEADER_SIZE = 128
_TAG_ENTRY = struct.Struct(">4sII")  # signature, offset, size
_CURVE_TYPES = (b"curv", b"para")  # what a kTRC may hold; both are valid channel curves too


def rgb_profile_from_gray(profile: bytes) -> bytes | None:
    """An RGB profile showing (v, v, v) as `profile` shows grey v; None when `profile` has no readable kTRC."""
    curve = _tag(profile, b"kTRC")
    if curve is None or curve[:4] not in _CURVE_TYPES:
        return None
    return rgb_profile("Grey profile as RGB", srgb_matrix(), curve)


def _tag(profile: bytes, signature: bytes) -> bytes | None:
    """The data of one tag, or None when it is missing or the tag table points outside the profile."""
    if len(profile) < _HEADER_SIZE + 4:
        return None
    (count,) = struct.unpack_from(">I", profile, _HEADER_SIZE)
    table_end = _HEADER_SIZE + 4 + count * _TAG_ENTRY.size
    if table_end > len(profile):
        return None
    for entry in range(count):
        name, offset, size = _TAG_ENTRY.unpack_from(profile, _HEADER_SIZE + 4 + entry * _TAG_ENTRY.size)
        if name == signature:
            return profile[offset : offset + size] if offset + size <= len(profile) else None
    return None
