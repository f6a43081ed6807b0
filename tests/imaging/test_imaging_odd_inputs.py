"""Unusual inputs: float and 32-bit gray TIFFs keep their brightness; valid files in variants we cannot
read are 415 "not supported", while files that are really cut short stay 422 "truncated"."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import tifffile
from imaging_samples import MAX_PIXELS, photo, to_bytes
from PIL import Image

from backend.errors import InvalidImage, TruncatedImage
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


def rgb_tiff_variants() -> dict[str, bytes]:
    """Whole, valid TIFFs (written by tifffile) in layouts Pillow cannot read."""
    rgb = photo("astronaut")
    return {
        "float32-rgb": tiff_bytes(rgb.astype(np.float32) / 255, photometric="rgb"),
        "float16-gray": tiff_bytes(rgb[..., 0].astype(np.float16), photometric="minisblack"),
        "float64-gray": tiff_bytes(rgb[..., 0].astype(np.float64) / 255, photometric="minisblack"),
        "5-channels": tiff_bytes(np.dstack([rgb, rgb[..., :2]]), photometric="minisblack", planarconfig="contig"),
    }


@pytest.mark.parametrize("name", list(rgb_tiff_variants()))
def test_valid_but_unsupported_tiff_is_unsupported_not_truncated(name: str) -> None:
    with pytest.raises(InvalidImage, match="TIFF variant .* is not supported") as caught:
        decode_image(rgb_tiff_variants()[name], max_pixels=MAX_PIXELS)
    assert caught.value.status == 415 and caught.value.code == "invalid_image"


def test_unsupported_tiff_message_names_the_layout() -> None:
    with pytest.raises(InvalidImage, match=r"3 channels of 32-bit floating-point"):
        decode_image(rgb_tiff_variants()["float32-rgb"], max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("length", [8, 20, 100])
def test_tiff_cut_inside_its_header_is_still_truncated(length: int) -> None:
    for data in (to_bytes(Image.fromarray(photo("coffee")), "TIFF"), rgb_tiff_variants()["float32-rgb"]):
        with pytest.raises(TruncatedImage, match="TIFF"):
            decode_image(data[:length], max_pixels=MAX_PIXELS)


def iso_file(major: bytes, compatible: bytes, body: bytes) -> bytes:
    ftyp = b"ftyp" + major + b"\0\0\0\0" + compatible
    return struct.pack(">I", len(ftyp) + 4) + ftyp + body


def test_heic_is_named_and_refused() -> None:
    mdat = b"mdat" + bytes(range(200))
    data = iso_file(b"heic", b"mif1heic", struct.pack(">I", len(mdat) + 4) + mdat)
    with pytest.raises(InvalidImage, match="HEIC image, which is not supported"):
        decode_image(data, max_pixels=MAX_PIXELS)


def test_avif_signature_followed_by_garbage_is_corrupt() -> None:
    data = iso_file(b"avif", b"mif1avif", bytes(range(7, 256)) * 3)
    with pytest.raises(TruncatedImage, match="AVIF"):
        decode_image(data, max_pixels=MAX_PIXELS)


def test_whole_avif_that_cannot_be_decoded_is_unsupported() -> None:
    meta = b"meta" + bytes(40)  # every box present and complete, but nothing Pillow can decode
    data = iso_file(b"avif", b"mif1avif", struct.pack(">I", len(meta) + 4) + meta)
    with pytest.raises(InvalidImage, match="AVIF"):
        decode_image(data, max_pixels=MAX_PIXELS)
