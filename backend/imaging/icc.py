"""Keep an ICC profile only where it fits the pixels being written."""

from __future__ import annotations

# The data colour space signature sits at bytes 16..20 of every ICC profile header.
_COLOR_SPACE_SLICE = slice(16, 20)
_EXPECTED_SPACE = {True: b"GRAY", False: b"RGB "}


def profile_for_output(icc_profile: bytes | None, *, gray: bool) -> bytes | None:
    """Return the profile if its colour space matches the output (gray or RGB), else None.

    A gray profile on an RGB file (or the reverse) makes viewers misrender it or refuse it, so a
    mismatched profile is dropped; the output is then read as sRGB.
    """
    if not icc_profile or len(icc_profile) < 128:
        return None
    return icc_profile if icc_profile[_COLOR_SPACE_SLICE] == _EXPECTED_SPACE[gray] else None
