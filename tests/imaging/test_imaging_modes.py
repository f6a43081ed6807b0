"""Every supported input mode decodes to the right pixels and round-trips through encode -> decode."""

from __future__ import annotations

import numpy as np
import pytest
from imaging_samples import MAX_PIXELS, alpha_ramp, photo, to_bytes
from PIL import Image

from backend.imaging import decode_image, encode_image


def roundtrip(pixels: np.ndarray, **options: object):
    return decode_image(encode_image(pixels, **options), max_pixels=MAX_PIXELS)


def test_rgb_png_roundtrip_is_exact() -> None:
    rgb = photo("astronaut")
    decoded = decode_image(to_bytes(Image.fromarray(rgb), "PNG"), max_pixels=MAX_PIXELS)
    assert (decoded.width, decoded.height) == (48, 64)
    assert (decoded.format, decoded.mode, decoded.bit_depth) == ("PNG", "RGB", 8)
    assert not decoded.is_gray and not decoded.has_alpha
    assert decoded.pixels.dtype == np.uint8 and decoded.pixels.shape == (64, 48, 3)
    np.testing.assert_array_equal(decoded.pixels, rgb)
    np.testing.assert_array_equal(roundtrip(decoded.pixels).pixels, rgb)


def test_rgba_keeps_every_alpha_value() -> None:
    rgb = photo("chelsea")
    rgba = np.dstack([rgb, alpha_ramp(*rgb.shape[:2])])
    decoded = decode_image(to_bytes(Image.fromarray(rgba), "PNG"), max_pixels=MAX_PIXELS)
    assert decoded.has_alpha and decoded.mode == "RGBA" and decoded.pixels.shape == (64, 48, 4)
    np.testing.assert_array_equal(decoded.pixels, rgba)
    again = roundtrip(decoded.pixels)
    assert again.mode == "RGBA"
    np.testing.assert_array_equal(again.pixels, rgba)


@pytest.mark.parametrize("with_alpha", [False, True])
def test_gray_decodes_as_rgb_and_encodes_back_to_gray(with_alpha: bool) -> None:
    gray = np.asarray(Image.fromarray(photo("coffee")).convert("L"))
    source = Image.fromarray(np.dstack([gray, alpha_ramp(*gray.shape)])) if with_alpha else Image.fromarray(gray)
    decoded = decode_image(to_bytes(source, "PNG"), max_pixels=MAX_PIXELS)
    assert decoded.is_gray and decoded.has_alpha == with_alpha and decoded.bit_depth == 8
    assert decoded.mode == ("LA" if with_alpha else "L")
    assert decoded.pixels.shape == (32, 48, 4 if with_alpha else 3)
    for channel in range(3):
        np.testing.assert_array_equal(decoded.pixels[..., channel], gray)
    again = roundtrip(decoded.pixels, gray=True)
    assert again.mode == ("LA" if with_alpha else "L") and again.is_gray
    np.testing.assert_array_equal(again.pixels, decoded.pixels)


def test_palette_without_transparency_becomes_rgb() -> None:
    palette_image = Image.fromarray(photo("astronaut")).quantize(colors=64)
    decoded = decode_image(to_bytes(palette_image, "PNG"), max_pixels=MAX_PIXELS)
    assert decoded.mode == "P" and not decoded.has_alpha and decoded.pixels.shape[-1] == 3
    np.testing.assert_array_equal(decoded.pixels, np.asarray(palette_image.convert("RGB")))
    np.testing.assert_array_equal(roundtrip(decoded.pixels).pixels, decoded.pixels)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency_becomes_rgba(fmt: str) -> None:
    palette_image = Image.fromarray(photo("chelsea")).quantize(colors=32)
    transparent_index = int(np.asarray(palette_image)[0, 0])
    decoded = decode_image(to_bytes(palette_image, fmt, transparency=transparent_index), max_pixels=MAX_PIXELS)
    assert decoded.mode == "P" and decoded.has_alpha and decoded.pixels.shape[-1] == 4
    is_transparent = np.asarray(palette_image) == transparent_index
    np.testing.assert_array_equal(decoded.pixels[..., 3], np.where(is_transparent, 0, 255))
    np.testing.assert_array_equal(decoded.pixels[..., :3], np.asarray(palette_image.convert("RGB")))
    np.testing.assert_array_equal(roundtrip(decoded.pixels).pixels, decoded.pixels)


def test_rgb_with_color_key_transparency_gets_alpha() -> None:
    rgb = photo("coffee")
    key = tuple(int(v) for v in rgb[0, 0])
    decoded = decode_image(to_bytes(Image.fromarray(rgb), "PNG", transparency=key), max_pixels=MAX_PIXELS)
    assert decoded.has_alpha
    np.testing.assert_array_equal(decoded.pixels[..., 3], np.where(np.all(rgb == key, axis=-1), 0, 255))


def test_one_bit_image_is_gray() -> None:
    gray = np.asarray(Image.fromarray(photo("astronaut")).convert("L"))
    bilevel = Image.fromarray(gray).convert("1")
    decoded = decode_image(to_bytes(bilevel, "PNG"), max_pixels=MAX_PIXELS)
    assert decoded.mode == "1" and decoded.is_gray and not decoded.has_alpha
    assert set(np.unique(decoded.pixels)) <= {0, 255}
    np.testing.assert_array_equal(decoded.pixels[..., 0], np.asarray(bilevel.convert("L")))
    assert roundtrip(decoded.pixels, gray=True).mode == "L"


def test_cmyk_tiff_becomes_rgb() -> None:
    cmyk = Image.fromarray(photo("chelsea")).convert("CMYK")
    decoded = decode_image(to_bytes(cmyk, "TIFF"), max_pixels=MAX_PIXELS)
    assert (decoded.format, decoded.mode) == ("TIFF", "CMYK")
    assert decoded.pixels.shape == (64, 48, 3) and decoded.icc_profile is None
    np.testing.assert_array_equal(decoded.pixels, np.asarray(cmyk.convert("RGB")))


def test_cmyk_jpeg_with_unusable_profile_falls_back_to_plain_conversion() -> None:
    from PIL import ImageCms

    srgb_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # wrong space for CMYK
    cmyk = Image.fromarray(photo("astronaut")).convert("CMYK")
    decoded = decode_image(to_bytes(cmyk, "JPEG", quality=98, icc_profile=srgb_profile), max_pixels=MAX_PIXELS)
    assert decoded.mode == "CMYK" and decoded.pixels.shape == (64, 48, 3) and decoded.icc_profile is None
    expected = np.asarray(cmyk.convert("RGB")).astype(int)
    assert np.abs(decoded.pixels.astype(int) - expected).mean() < 4


def test_gray16_png_stays_16_bit() -> None:
    gray16 = (np.asarray(Image.fromarray(photo("chelsea")).convert("L")).astype(np.uint16) * 257) ^ 0x5A
    decoded = decode_image(to_bytes(Image.fromarray(gray16), "PNG"), max_pixels=MAX_PIXELS)
    assert decoded.mode == "I;16" and decoded.bit_depth == 16 and decoded.is_gray
    assert decoded.pixels.dtype == np.uint16 and decoded.pixels.shape == (64, 48, 3)
    np.testing.assert_array_equal(decoded.pixels[..., 1], gray16)
    again = roundtrip(decoded.pixels, gray=True)
    assert again.mode == "I;16" and again.bit_depth == 16
    np.testing.assert_array_equal(again.pixels, decoded.pixels)


def test_int32_and_float_gray_become_16_bit() -> None:
    gray = np.asarray(Image.fromarray(photo("coffee")).convert("L"))
    int_image = Image.fromarray(gray.astype(np.int32) * 200)  # mode "I", values up to 51000
    decoded = decode_image(to_bytes(int_image, "TIFF"), max_pixels=MAX_PIXELS)
    assert decoded.mode == "I" and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels[..., 0], gray.astype(np.uint16) * 200)

    float_image = Image.fromarray(gray.astype(np.float32) / 255)  # mode "F", normalised to [0, 1]
    decoded = decode_image(to_bytes(float_image, "TIFF"), max_pixels=MAX_PIXELS)
    assert decoded.mode == "F" and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels[..., 0], gray.astype(np.uint16) * 257)


def test_float_image_with_nan_is_invalid() -> None:
    from backend.errors import InvalidImage

    values = np.ones((8, 8), dtype=np.float32)
    values[3, 3] = np.nan
    with pytest.raises(InvalidImage, match="non-finite"):
        decode_image(to_bytes(Image.fromarray(values), "TIFF"), max_pixels=MAX_PIXELS)


def _frames() -> list[Image.Image]:
    return [Image.fromarray(photo(name)[:32]) for name in ("astronaut", "chelsea", "coffee")]


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animation_gives_its_first_frame(fmt: str) -> None:
    frames = _frames()
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = to_bytes(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **options)
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert decoded.frame_count == 3 and decoded.pixels.shape[:2] == (32, 48)
    expected = np.asarray(Image.open(__import__("io").BytesIO(data)).convert("RGB"))  # Pillow's frame 0
    np.testing.assert_array_equal(decoded.pixels[..., :3], expected)
    if fmt != "GIF":  # GIF quantises; the others are lossless here
        np.testing.assert_array_equal(decoded.pixels[..., :3], np.asarray(frames[0]))
