"""Unusual but valid inputs: float and 32-bit gray TIFFs keep their brightness, odd TIFF variants are named."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from imaging_samples import MAX_PIXELS, photo, to_bytes
from PIL import Image

from backend.imaging import decode_image


def gray_photo() -> np.ndarray:
    """(H, W) uint8 gray crop of a real photo, with real shadows and highlights."""
    return np.asarray(Image.fromarray(photo("coffee")).convert("L"))


def tiff_bytes(array: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def decoded_gray(data: bytes) -> np.ndarray:
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert decoded.is_gray and decoded.bit_depth == 16
    return decoded.pixels[..., 0]


def assert_looks_like(result: np.ndarray, gray: np.ndarray, tolerance: int = 1) -> None:
    """The 16-bit result shows the same photo as the 8-bit gray source (not black, not white)."""
    assert np.abs(result.astype(int) // 257 - gray.astype(int)).max() <= tolerance


def test_float_in_unit_range_with_a_slight_overshoot_keeps_its_brightness() -> None:
    # One pixel at 1.0001 (a resampling overshoot) used to flip the whole image to black.
    gray = gray_photo()
    values = gray.astype(np.float32) / 255
    values[0, 0] = 1.0001
    result = decoded_gray(to_bytes(Image.fromarray(values), "TIFF"))
    assert result[0, 0] == 65535
    assert_looks_like(result[1:], gray[1:])


def test_float_hdr_highlights_are_clipped_and_the_rest_is_kept() -> None:
    gray = gray_photo()
    values = gray.astype(np.float32) / 255
    values[:4] = 1.4  # highlights above white
    result = decoded_gray(to_bytes(Image.fromarray(values), "TIFF"))
    assert (result[:4] == 65535).all()
    assert_looks_like(result[4:], gray[4:])


@pytest.mark.parametrize("white", [255.0, 65535.0], ids=["8-bit-scale", "16-bit-scale"])
def test_float_in_integer_scales_is_read_on_that_scale(white: float) -> None:
    gray = gray_photo()
    values = gray.astype(np.float32) * np.float32(white / 255)
    assert_looks_like(decoded_gray(to_bytes(Image.fromarray(values), "TIFF")), gray)


def test_float_beyond_16_bit_is_scaled_by_its_own_maximum() -> None:
    gray = gray_photo()
    values = gray.astype(np.float32) * 1000.0  # e.g. photon counts
    result = decoded_gray(to_bytes(Image.fromarray(values), "TIFF"))
    expected = np.rint(gray.astype(np.float64) / gray.max() * 65535)
    assert np.abs(result.astype(int) - expected).max() <= 1


def test_full_range_uint32_gray_is_not_clipped_white() -> None:
    gray = gray_photo()
    values = gray.astype(np.uint32) * np.uint32(0x01010101)  # 8-bit 255 -> 2**32 - 1
    assert values.max() > 2**31  # the photo uses the upper half of the unsigned range
    result = decoded_gray(tiff_bytes(values, photometric="minisblack"))
    assert_looks_like(result, gray)


def test_int32_beyond_16_bit_is_scaled_by_its_own_maximum() -> None:
    gray = gray_photo()
    values = gray.astype(np.int32) * 100_000
    result = decoded_gray(tiff_bytes(values, photometric="minisblack"))
    expected = np.rint(gray.astype(np.float64) / gray.max() * 65535)
    assert np.abs(result.astype(int) - expected).max() <= 1


def test_16_bit_counts_in_int32_stay_exact() -> None:
    gray16 = gray_photo().astype(np.int32) * 257
    np.testing.assert_array_equal(decoded_gray(tiff_bytes(gray16, photometric="minisblack")), gray16)
