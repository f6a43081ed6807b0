"""16-bit colour TIFF: decoded at full precision (Pillow alone narrows 16-bit RGB/RGBA TIFFs to 8 bits),
in every compression, byte order and layout that Pillow reads, and written back as 16-bit PNG."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
import tifffile
from imaging_samples import MAX_PIXELS, alpha_ramp, photo, widen
from PIL import Image, ImageCms, ImageOps
from tiff_samples import DEFLATE, LZW, NONE, OLD_DEFLATE, PACKBITS, tiff16

from backend.errors import TruncatedImage
from backend.imaging import decode_image, encode_image

ASSOCIATED, UNASSOCIATED, UNSPECIFIED = 1, 2, 0


def rgb16() -> np.ndarray:
    return widen(photo("astronaut"))


def rgba16() -> np.ndarray:
    rgb = widen(photo("chelsea"))
    return np.dstack([rgb, alpha_ramp(*rgb.shape[:2], dtype=np.uint16)])


def with_tifffile(pixels: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, **options)
    return buffer.getvalue()


def decode(data: bytes):
    return decode_image(data, max_pixels=MAX_PIXELS)


def pillow_8_bit(data: bytes) -> np.ndarray:
    """What Pillow on its own makes of the file: the high byte of every sample, upright."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image))


# The TIFFs users send: Photoshop, GIMP, Lightroom, scanners and tifffile write these.
RGB_FILES: dict[str, Callable[[np.ndarray], bytes]] = {
    "uncompressed": lambda p: tiff16(p),
    "uncompressed-big-endian": lambda p: tiff16(p, byteorder=">"),
    "lzw": lambda p: tiff16(p, compression=LZW),
    "lzw-big-endian": lambda p: tiff16(p, byteorder=">", compression=LZW),
    "deflate": lambda p: tiff16(p, compression=DEFLATE),
    "old-style-deflate-big-endian": lambda p: tiff16(p, byteorder=">", compression=OLD_DEFLATE),
    "packbits": lambda p: tiff16(p, compression=PACKBITS),
    "deflate-predictor-big-endian": lambda p: with_tifffile(
        p, photometric="rgb", compression="zlib", predictor=True, byteorder=">"
    ),
    "lzma": lambda p: with_tifffile(p, photometric="rgb", compression="lzma"),
    "tiled": lambda p: with_tifffile(p, photometric="rgb", tile=(16, 16)),
    "tiled-deflate-big-endian": lambda p: with_tifffile(
        p, photometric="rgb", tile=(16, 16), compression="zlib", byteorder=">"
    ),
    "many-strips": lambda p: with_tifffile(p, photometric="rgb", rowsperstrip=5),
    "bigtiff": lambda p: with_tifffile(p, photometric="rgb", bigtiff=True),
}


@pytest.mark.parametrize("name", list(RGB_FILES))
def test_rgb_16_bit_tiff_keeps_16_bits(name: str) -> None:
    pixels = rgb16()
    data = RGB_FILES[name](pixels)
    decoded = decode(data)
    assert (decoded.format, decoded.bit_depth, decoded.pixels.dtype) == ("TIFF", 16, np.uint16)
    assert not decoded.is_gray and not decoded.has_alpha
    np.testing.assert_array_equal(decoded.pixels, pixels)
    # Pillow's own 8-bit reading of the same file sees the same high bytes.
    np.testing.assert_array_equal(pillow_8_bit(data), (pixels >> 8).astype(np.uint8))


@pytest.mark.parametrize("compression", [NONE, LZW, DEFLATE], ids=["uncompressed", "lzw", "deflate"])
@pytest.mark.parametrize("byteorder", ["<", ">"], ids=["little-endian", "big-endian"])
def test_unassociated_alpha_16_bit_tiff_is_exact(compression: int, byteorder: str) -> None:
    pixels = rgba16()
    data = tiff16(pixels, byteorder=byteorder, compression=compression, extra_samples=(UNASSOCIATED,))
    decoded = decode(data)
    assert decoded.has_alpha and decoded.bit_depth == 16 and not decoded.is_gray
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_four_samples_without_extra_samples_tag_read_as_alpha() -> None:
    pixels = rgba16()
    decoded = decode(tiff16(pixels, compression=LZW))  # as Pillow reads such files: 4th sample = alpha
    assert decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_associated_alpha_is_divided_out_at_16_bits() -> None:
    straight = rgba16()
    alpha = straight[..., 3].astype(np.float64)
    stored = straight.copy()  # what a premultiplying writer (e.g. for compositing) puts in the file
    stored[..., :3] = np.rint(straight[..., :3] * (alpha[..., None] / 65535)).astype(np.uint16)
    decoded = decode(tiff16(stored, compression=DEFLATE, extra_samples=(ASSOCIATED,)))
    assert decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels[..., 3], straight[..., 3])
    expected = np.where(
        alpha[..., None] > 0,
        np.minimum(np.rint(stored[..., :3] * 65535.0 / np.maximum(alpha[..., None], 1)), 65535),
        0,
    )
    np.testing.assert_array_equal(decoded.pixels[..., :3], expected)
    opaque = straight[..., 3] == 65535
    np.testing.assert_array_equal(decoded.pixels[opaque], straight[opaque])  # nothing lost where opaque
    # Half-transparent pixels keep about 15 bits: far closer than 8-bit unpremultiplying could get.
    half = straight[..., 3] >= 32768
    assert np.abs(decoded.pixels[half][:, :3].astype(int) - straight[half][:, :3]).max() <= 2


def test_unspecified_fourth_sample_is_dropped() -> None:
    pixels = rgba16()
    decoded = decode(tiff16(pixels, byteorder=">", compression=LZW, extra_samples=(UNSPECIFIED,)))
    assert not decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, pixels[..., :3])


def test_multi_page_tiff_gives_its_first_page_at_16_bits() -> None:
    first, second = rgb16(), widen(photo("chelsea"))
    data = with_tifffile(np.stack([first, second]), photometric="rgb", compression="zlib")
    decoded = decode(data)
    assert decoded.frame_count == 2 and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, first)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_of_16_bit_tiff_is_applied_once(orientation: int) -> None:
    pixels = rgb16()
    data = tiff16(pixels, compression=LZW, orientation=orientation)
    decoded = decode(data)
    assert decoded.bit_depth == 16
    upright = pillow_8_bit(data)  # Pillow's exif_transpose, at 8 bits: the reference for the geometry
    assert decoded.pixels.shape == upright.shape
    np.testing.assert_array_equal((decoded.pixels >> 8).astype(np.uint8), upright)
    assert len(np.unique(decoded.pixels[..., 0])) > 256


def test_icc_profile_of_16_bit_tiff_is_kept_and_written_to_png() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = with_tifffile(rgb16(), photometric="rgb", compression="zlib", iccprofile=profile)
    decoded = decode(data)
    assert decoded.icc_profile == profile and decoded.bit_depth == 16
    assert decode(encode_image(decoded.pixels, icc_profile=decoded.icc_profile)).icc_profile == profile


@pytest.mark.parametrize("make_pixels", [rgb16, rgba16], ids=["RGB16", "RGBA16"])
def test_16_bit_tiff_to_png_is_16_bit_and_exact(make_pixels) -> None:
    pixels = make_pixels()
    extra = (UNASSOCIATED,) if pixels.shape[-1] == 4 else ()
    decoded = decode(tiff16(pixels, compression=LZW, extra_samples=extra))
    png = decode(encode_image(decoded.pixels, fmt="png"))
    assert png.bit_depth == 16
    np.testing.assert_array_equal(png.pixels, pixels)


@pytest.mark.parametrize("compression", [NONE, LZW, DEFLATE], ids=["uncompressed", "lzw", "deflate"])
@pytest.mark.parametrize("byteorder", ["<", ">"], ids=["little-endian", "big-endian"])
def test_16_bit_gray_tiff_stays_16_bit_and_gray(compression: int, byteorder: str) -> None:
    gray = rgb16()[..., 1]
    decoded = decode(tiff16(gray, byteorder=byteorder, compression=compression))
    assert decoded.is_gray and not decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, np.dstack([gray, gray, gray]))


@pytest.mark.parametrize("compression", [None, "zlib"], ids=["uncompressed", "deflate"])
def test_planar_16_bit_tiff_is_read_right_at_8_bits(compression: str | None) -> None:
    # One plane per channel: Pillow's own reader unpacked uncompressed 16-bit planes as 8-bit samples
    # (noise). Read through libtiff they are right, if only 8-bit (see backend/imaging/tiff16.py).
    pixels = rgb16()
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    data = with_tifffile(planes, photometric="rgb", planarconfig="separate", compression=compression)
    decoded = decode(data)
    assert decoded.bit_depth == 8 and not decoded.has_alpha
    np.testing.assert_array_equal(decoded.pixels, (pixels >> 8).astype(np.uint8))


@pytest.mark.parametrize("compression", [NONE, LZW, DEFLATE], ids=["uncompressed", "lzw", "deflate"])
def test_truncated_16_bit_tiff_is_reported(compression: int) -> None:
    data = tiff16(rgb16(), compression=compression)  # the strip comes last: cutting the file cuts pixels
    with pytest.raises(TruncatedImage):
        decode(data[: len(data) * 2 // 3])
