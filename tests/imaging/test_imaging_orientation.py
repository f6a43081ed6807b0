"""EXIF orientation is applied, and agrees with Pillow's ImageOps.exif_transpose."""

from __future__ import annotations

import io

import numpy as np
import pytest
from imaging_samples import MAX_PIXELS, insert_chunk_after_ihdr, photo, to_bytes, widen
from PIL import Image, ImageOps

from backend.imaging import decode_image, encode_image, probe_size


def with_orientation(image: Image.Image, fmt: str, orientation: int, **options: object) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return to_bytes(image, fmt, exif=exif.tobytes(), **options)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_exif_transpose(orientation: int) -> None:
    data = with_orientation(Image.fromarray(photo("astronaut")), "PNG", orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(decoded.pixels, expected)
    assert (decoded.width, decoded.height) == ((64, 48) if orientation >= 5 else (48, 64))


def test_jpeg_rotated_by_exif_swaps_width_and_height() -> None:
    data = with_orientation(Image.fromarray(photo("chelsea")), "JPEG", 6, quality=95)
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert probe_size(data) == (48, 64)  # the header size, before orientation
    assert (decoded.width, decoded.height) == (64, 48)
    reference = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    np.testing.assert_array_equal(decoded.pixels, reference)


def test_orientation_applies_to_16_bit_pixels_and_is_not_written_back() -> None:
    pixels = widen(photo("coffee"))
    exif = Image.Exif()
    exif[0x0112] = 8
    data = insert_chunk_after_ihdr(encode_image(pixels), b"eXIf", exif.tobytes()[6:])  # drop the "Exif\0\0" prefix
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(decoded.pixels, np.rot90(pixels))
    again = decode_image(encode_image(decoded.pixels), max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(again.pixels, decoded.pixels)
