"""encode_image: formats, quality, alpha handling, ICC profiles and option errors."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from imaging_samples import MAX_PIXELS, alpha_ramp, photo, widen
from PIL import Image, ImageCms

from backend.errors import UnsupportedOption
from backend.imaging import MEDIA_TYPES, decode_image, encode_image
from backend.imaging.icc import profile_for_output
from backend.imaging.icc_build import gamma_curve, gray_profile, table_curve
from backend.imaging.pixels import gray_to_rgb, to_uint8

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def rgba_photo() -> np.ndarray:
    rgb = photo("chelsea")
    return np.dstack([rgb, alpha_ramp(*rgb.shape[:2])])


def mean_error(pixels: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(pixels.astype(int) - reference.astype(int)).mean())


def test_media_types() -> None:
    assert MEDIA_TYPES == {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@pytest.mark.parametrize(("fmt", "pillow_name"), [("png", "PNG"), ("JPEG", "JPEG"), ("jpg", "JPEG"), ("webp", "WEBP")])
def test_format_names(fmt: str, pillow_name: str) -> None:
    assert Image.open(io.BytesIO(encode_image(photo(), fmt=fmt))).format == pillow_name


@pytest.mark.parametrize("fmt", ["bmp", "gif", "tiff", "", "png2"])
def test_unknown_format_is_unsupported_option(fmt: str) -> None:
    with pytest.raises(UnsupportedOption, match="png, jpeg, webp"):
        encode_image(photo(), fmt=fmt)


@pytest.mark.parametrize("quality", [0, 101, -5, 50.5, True])
def test_bad_quality_is_unsupported_option(quality: object) -> None:
    with pytest.raises(UnsupportedOption, match="Quality"):
        encode_image(photo(), fmt="jpeg", quality=quality)


def test_jpeg_quality_changes_size_and_error() -> None:
    rgb = photo("astronaut")
    low, high = (encode_image(rgb, fmt="jpeg", quality=q) for q in (20, 95))
    assert len(low) < len(high)
    low_error, high_error = (mean_error(decode_image(d, max_pixels=MAX_PIXELS).pixels, rgb) for d in (low, high))
    assert high_error < low_error and high_error < 3


def test_jpeg_flattens_alpha_onto_white() -> None:
    rgba = rgba_photo()
    decoded = decode_image(encode_image(rgba, fmt="jpeg", quality=100), max_pixels=MAX_PIXELS)
    assert not decoded.has_alpha and decoded.pixels.shape == (64, 48, 3)
    alpha = rgba[..., 3:4] / 255.0
    expected = rgba[..., :3] * alpha + 255 * (1 - alpha)
    assert np.abs(decoded.pixels - expected).mean() < 2
    assert decoded.pixels[-1, 0].min() >= 250  # a fully transparent pixel came out white


def test_jpeg_gray_is_single_channel() -> None:
    gray_rgb = np.repeat(np.asarray(Image.fromarray(photo()).convert("L"))[..., None], 3, axis=2)
    decoded = decode_image(encode_image(gray_rgb, fmt="jpeg", gray=True), max_pixels=MAX_PIXELS)
    assert decoded.mode == "L" and decoded.is_gray


def test_webp_quality_100_is_lossless_with_alpha() -> None:
    rgba = rgba_photo()
    decoded = decode_image(encode_image(rgba, fmt="webp", quality=100), max_pixels=MAX_PIXELS)
    assert decoded.format == "WEBP" and decoded.has_alpha
    visible = rgba[..., 3] > 0  # lossless WebP may rewrite the colour of fully transparent pixels
    np.testing.assert_array_equal(decoded.pixels[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(decoded.pixels[visible], rgba[visible])


def test_webp_lossy_keeps_alpha() -> None:
    rgba = rgba_photo()
    data = encode_image(rgba, fmt="webp", quality=80)
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert decoded.has_alpha
    assert np.abs(decoded.pixels[..., 3].astype(int) - rgba[..., 3]).mean() < 2
    assert len(data) < len(encode_image(rgba, fmt="webp", quality=100))


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_icc_profile_is_kept(fmt: str) -> None:
    decoded = decode_image(encode_image(photo(), fmt=fmt, icc_profile=SRGB_PROFILE), max_pixels=MAX_PIXELS)
    assert decoded.icc_profile == SRGB_PROFILE
    encoded_again = encode_image(decoded.pixels, fmt=fmt, icc_profile=decoded.icc_profile)
    assert decode_image(encoded_again, max_pixels=MAX_PIXELS).icc_profile == SRGB_PROFILE


def test_icc_profile_of_the_wrong_colour_space_is_dropped() -> None:
    gray_profile = SRGB_PROFILE[:16] + b"GRAY" + SRGB_PROFILE[20:]
    assert profile_for_output(SRGB_PROFILE, gray=False) == SRGB_PROFILE
    assert profile_for_output(SRGB_PROFILE, gray=True) is None
    assert profile_for_output(gray_profile, gray=True) == gray_profile
    assert profile_for_output(b"short", gray=False) is None
    decoded = decode_image(encode_image(photo(), icc_profile=gray_profile), max_pixels=MAX_PIXELS)
    assert decoded.icc_profile is None


GREY_PROFILES = {
    "linear": gray_profile("Linear grey", gamma_curve(1.0)),
    # a print workflow's grey (Photoshop's "Dot Gain 20%" is of this shape): darker mid-tones
    "dot-gain": gray_profile("Dot gain grey", table_curve(np.linspace(0.0, 1.0, 256) ** 2.6)),
}


def shown_in_srgb(profile: bytes, pixels: np.ndarray) -> np.ndarray:
    """What a colour-managed viewer shows: the pixels through their profile, into sRGB (lcms)."""
    mode = "L" if pixels.ndim == 2 else "RGB"
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    intent, flags = ImageCms.Intent.RELATIVE_COLORIMETRIC, ImageCms.Flags.NOOPTIMIZE  # no coarse 8-bit shortcut
    transform = ImageCms.buildTransform(source, srgb, mode, "RGB", intent, flags=flags)
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform)).astype(int)


@pytest.mark.parametrize("alpha", [False, True], ids=["grey", "grey-alpha"])
@pytest.mark.parametrize("name", list(GREY_PROFILES))
def test_grey_profile_reaches_a_webp_result_as_an_equivalent_rgb_one(name: str, alpha: bool) -> None:
    """WebP has no grey mode, so a grey image becomes RGB there; its grey profile must become an RGB
    profile that shows the same tones, not be dropped (the result would be read as sRGB)."""
    grey = np.asarray(Image.fromarray(photo("astronaut")).convert("L"))
    profile = GREY_PROFILES[name]
    pixels = gray_to_rgb(grey, alpha_ramp(*grey.shape) if alpha else None)
    result = Image.open(io.BytesIO(encode_image(pixels, fmt="webp", quality=100, icc_profile=profile, gray=True)))
    assert (result.mode == "RGBA") == alpha
    carried = result.info.get("icc_profile")
    assert carried is not None, "the grey profile was dropped"
    shown = shown_in_srgb(carried, np.asarray(result.convert("RGB")))
    visible = pixels[..., -1] > 0 if alpha else np.ones(grey.shape, bool)  # WebP may change hidden colour
    assert np.abs(shown - shown_in_srgb(profile, grey))[visible].max() <= 1


def test_grey_profile_with_a_broken_tag_table_is_dropped_from_a_webp_result() -> None:
    profile = bytearray(GREY_PROFILES["linear"])
    struct.pack_into(">I", profile, 128 + 4 + 12 * 3 + 4, len(profile))  # kTRC (4th tag) points past the end
    grey = gray_to_rgb(np.asarray(Image.fromarray(photo()).convert("L")))
    result = Image.open(io.BytesIO(encode_image(grey, fmt="webp", icc_profile=bytes(profile), gray=True)))
    assert result.info.get("icc_profile") is None


def test_webp_size_limit_is_unsupported_option() -> None:
    wide = np.zeros((1, 16_384, 3), dtype=np.uint8)
    with pytest.raises(UnsupportedOption, match="16383"):
        encode_image(wide, fmt="webp")
    assert Image.open(io.BytesIO(encode_image(wide, fmt="png"))).size == (16_384, 1)


def test_to_uint8_rounds() -> None:
    values = np.array([0, 128, 129, 257, 32767, 65535], dtype=np.uint16)
    np.testing.assert_array_equal(to_uint8(values), np.rint(values / 257).astype(np.uint8))


def test_bad_arrays_are_programming_errors() -> None:
    with pytest.raises(TypeError):
        encode_image(photo().astype(np.float32))
    with pytest.raises(ValueError):
        encode_image(np.zeros((4, 4, 5), dtype=np.uint8))


@pytest.mark.parametrize("pixels", [photo(), rgba_photo(), widen(photo())], ids=["rgb8", "rgba8", "rgb16"])
def test_png_compression_changes_the_bytes_not_the_pixels(pixels: np.ndarray) -> None:
    """PNG_COMPRESSION: every level gives back the same pixels; higher levels give fewer bytes."""
    sizes = {}
    for level in (0, 1, 6, 9):
        data = encode_image(pixels, png_compression=level)
        sizes[level] = len(data)
        decoded = decode_image(data, max_pixels=MAX_PIXELS)
        assert np.array_equal(decoded.pixels, pixels)
    assert sizes[0] > sizes[1] > sizes[6]
    assert sizes[9] < sizes[1]  # 9 is not always below 6 (by a few bytes)


@pytest.mark.parametrize("level", [-1, 10, 1.5, True, "6"])
def test_png_compression_out_of_range_is_unsupported_option(level: object) -> None:
    with pytest.raises(UnsupportedOption, match="0 to 9"):
        encode_image(photo(), png_compression=level)
