"""Keep an ICC profile only where it fits the pixels being written."""

from __future__ import annotations

# Every ICC profile starts with a 128-byte header: its size at bytes 0..4, the data colour space
# at 16..20 and the signature "acsp" at 36..40.
_HEADER_SIZE = 128
_COLOR_SPACE_SLICE = slice(16, 20)
_SIGNATURE_SLICE = slice(36, 40)
_EXPECTED_SPACE = {True: b"GRAY", False: b"RGB "}


def profile_for_output(icc_profile: bytes | None, *, gray: bool) -> bytes | None:
    """Return the profile if it is whole and its colour space matches the output (gray or RGB), else None.

    A gray profile on an RGB file (or the reverse) makes viewers misrender it or refuse it, and a
    profile cut short (its header claims more bytes than it has) is garbage to them; either is
    dropped, and the output is then read as sRGB.
    """
    if not icc_profile or len(icc_profile) < _HEADER_SIZE or icc_profile[_SIGNATURE_SLICE] != b"acsp":
        return None
    if int.from_bytes(icc_profile[:4], "big") > len(icc_profile):
        return None
    return icc_profile if icc_profile[_COLOR_SPACE_SLICE] == _EXPECTED_SPACE[gray] else None
