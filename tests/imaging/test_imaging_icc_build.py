"""icc_build: the profiles written for PNG colour chunks, checked by lcms (Pillow's ImageCms).

Each profile is used to convert pixels to sRGB, and the result is compared with the values worked
out here by the textbook formulas: the gamma applied, then the primaries' matrix, then sRGB's.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from imaging_samples import photo
from PIL import Image, ImageCms

from backend.imaging.icc_build import rgb_to_xyz_d50
from backend.imaging.png_color import PngColor

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
SRGB_CHRM = (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)
ADOBE_CHRM = (31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000)  # Adobe RGB (1998), D65


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055) * 255


def to_srgb(profile: bytes, pixels: np.ndarray) -> np.ndarray:
    mode = "L" if pixels.ndim == 2 else "RGB"
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    # NOOPTIMIZE: lcms's 8-bit shortcut for gray input samples the curve coarsely (off by up to 9 in
    # the shadows of a linear gray); this checks the profile, not the shortcut.
    intent, flags = ImageCms.Intent.RELATIVE_COLORIMETRIC, ImageCms.Flags.NOOPTIMIZE
    transform = ImageCms.buildTransform(source, SRGB, mode, "RGB", intent, flags=flags)
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform)).astype(np.float64)


def xyz_matrix(chrm: tuple[int, ...]) -> np.ndarray:
    """Linear RGB -> XYZ for primaries with a D65 white: no adaptation needed to reach sRGB."""
    values = np.array(chrm) / 100000
    white = np.array([values[0] / values[1], 1.0, (1 - values[0] - values[1]) / values[1]])
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in values[2:].reshape(3, 2)]).T
    return xyz * np.linalg.solve(xyz, white)


def test_srgb_primaries_give_the_colorants_of_lcms_own_srgb() -> None:
    matrix = rgb_to_xyz_d50(tuple(np.array(SRGB_CHRM[2:]) / 100000), (0.3127, 0.3290))
    lcms = SRGB.profile
    for column, colorant in enumerate((lcms.red_colorant, lcms.green_colorant, lcms.blue_colorant)):
        np.testing.assert_allclose(matrix[:, column], colorant[0], atol=2e-4)


@pytest.mark.parametrize("gamma", [55556, 100000, 45455])
def test_gamma_profile_converts_like_the_gamma(gamma: int) -> None:
    ramp = np.arange(256, dtype=np.uint8).repeat(4).reshape(32, 32)
    expected = srgb_encode((ramp / 255.0) ** (100000 / gamma))
    for pixels, gray in ((np.dstack([ramp] * 3), False), (ramp, True)):
        profile = PngColor(gamma, None, None).profile(gray=gray)
        assert profile is not None
        shown = to_srgb(profile, pixels)
        assert np.abs(shown - expected[..., None]).max() <= 1.5, f"gray={gray}"


def test_wide_primaries_convert_like_their_matrix() -> None:
    pixels = photo("coffee")
    profile = PngColor(100000, ADOBE_CHRM, None).profile(gray=False)  # linear Adobe RGB
    assert profile is not None
    linear = (pixels / 255.0) @ (np.linalg.inv(xyz_matrix(SRGB_CHRM)) @ xyz_matrix(ADOBE_CHRM)).T
    inside = ((linear >= 0) & (linear <= 1)).all(axis=-1)  # out-of-gamut colours clip differently
    assert inside.mean() > 0.5
    error = np.abs(to_srgb(profile, pixels) - srgb_encode(linear))[inside]
    assert error.max() <= 2.5 and error.mean() < 0.6
    assert np.abs(to_srgb(profile, pixels) - pixels).max() > 20  # the profile does change colours


def test_another_white_point_stays_white() -> None:
    d50_white = (34570, 35850, *SRGB_CHRM[2:])
    profile = PngColor(45455, d50_white, None).profile(gray=False)
    assert profile is not None
    corners = np.array([[[255, 255, 255], [128, 128, 128], [255, 0, 0]]], dtype=np.uint8)
    shown = to_srgb(profile, corners)
    assert np.abs(shown[0, 0] - 255).max() <= 1  # relative colorimetric: white maps to white
    assert np.ptp(shown[0, 1]) <= 1  # and gray to gray


def test_description_names_the_chunk_values() -> None:
    """What a colour-managed viewer shows as the profile's name says where it came from."""
    profile = PngColor(55556, ADOBE_CHRM, None).profile(gray=False)
    description = ImageCms.ImageCmsProfile(io.BytesIO(profile)).profile.profile_description
    assert description == "PNG colour chunks: gAMA=55556; cHRM=" + ",".join(map(str, ADOBE_CHRM))
