"""16-bit colour PNG: decoded at full precision (Pillow alone narrows it to 8 bits) and written back as 16-bit."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from imaging_samples import (
    MAX_PIXELS,
    alpha_ramp,
    insert_chunk_after_ihdr,
    interlaced_png16,
    photo,
    widen,
)
from PIL import Image

from backend.imaging import decode_image, encode_image
from backend.imaging.png_writer import write_png


def rgb16() -> np.ndarray:
    return widen(photo("astronaut"))


def rgba16() -> np.ndarray:
    rgb = widen(photo("chelsea"))
    return np.dstack([rgb, alpha_ramp(*rgb.shape[:2], dtype=np.uint16)])


@pytest.mark.parametrize("make_pixels", [rgb16, rgba16], ids=["RGB16", "RGBA16"])
def test_color_16_bit_roundtrip_is_exact(make_pixels) -> None:
    pixels = make_pixels()
    data = encode_image(pixels, fmt="png")
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert decoded.bit_depth == 16 and decoded.pixels.dtype == np.uint16
    assert decoded.has_alpha == (pixels.shape[-1] == 4) and not decoded.is_gray
    assert (decoded.width, decoded.height) == (48, 64)
    np.testing.assert_array_equal(decoded.pixels, pixels)
    # Pillow's own (8-bit) reading of our file agrees on the high bytes: the file is standard PNG.
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), (pixels >> 8).astype(np.uint8))


def test_gray_alpha_16_bit_roundtrip_is_exact() -> None:
    gray = widen(np.asarray(Image.fromarray(photo("coffee")).convert("L")))
    alpha = alpha_ramp(*gray.shape, dtype=np.uint16)
    decoded = decode_image(write_png(np.dstack([gray, alpha])), max_pixels=MAX_PIXELS)
    assert decoded.is_gray and decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, np.dstack([gray, gray, gray, alpha]))
    again = decode_image(encode_image(decoded.pixels, gray=True), max_pixels=MAX_PIXELS)
    assert again.is_gray and again.has_alpha
    np.testing.assert_array_equal(again.pixels, decoded.pixels)


def test_paeth_filter_matches_pillows_native_16_bit_gray_decoder() -> None:
    # Pillow decodes 16-bit *gray* PNG at full precision on its own: an independent check of our writer.
    gray = widen(photo("chelsea")[..., 1])
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(write_png(gray)))), gray)


@pytest.mark.parametrize("make_pixels", [rgb16, rgba16], ids=["RGB16", "RGBA16"])
def test_interlaced_16_bit_png_from_another_writer(make_pixels) -> None:
    pixels = make_pixels()
    decoded = decode_image(interlaced_png16(pixels), max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_16_bit_color_key_transparency_becomes_alpha() -> None:
    pixels = rgb16()
    key = tuple(int(v) for v in pixels[5, 7])
    data = insert_chunk_after_ihdr(write_png(pixels), b"tRNS", struct.pack(">HHH", *key))
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert decoded.has_alpha and decoded.pixels.shape[-1] == 4
    expected_alpha = np.where(np.all(pixels == key, axis=-1), 0, 65535)
    np.testing.assert_array_equal(decoded.pixels[..., 3], expected_alpha)
    np.testing.assert_array_equal(decoded.pixels[..., :3], pixels)


def test_icc_profile_survives_16_bit_png() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = decode_image(encode_image(rgb16(), icc_profile=profile), max_pixels=MAX_PIXELS)
    assert decoded.icc_profile == profile


def test_truncated_16_bit_png_is_reported() -> None:
    from backend.errors import TruncatedImage

    data = encode_image(rgb16())
    with pytest.raises(TruncatedImage):
        decode_image(data[: len(data) // 2], max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_16_bit_to_8_bit_formats_is_narrowed_with_rounding(fmt: str) -> None:
    pixels = rgb16()
    decoded = decode_image(encode_image(pixels, fmt=fmt, quality=100), max_pixels=MAX_PIXELS)
    assert decoded.bit_depth == 8
    expected = np.rint(pixels / 257.0)
    error = np.abs(decoded.pixels.astype(float) - expected)
    if fmt == "webp":  # quality 100 is lossless
        assert error.max() == 0
    else:
        assert error.mean() < 2
