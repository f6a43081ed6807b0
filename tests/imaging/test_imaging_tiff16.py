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

from backend.errors import InvalidImage, TruncatedImage
from backend.imaging import decode_image, encode_image, probe_size

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


@pytest.mark.parametrize("planar", [False, True], ids=["contiguous", "planar"])
@pytest.mark.parametrize("make_pixels", [rgb16, rgba16], ids=["RGB16", "RGBA16"])
def test_16_bit_tiff_to_png_is_16_bit_and_exact(make_pixels, planar: bool) -> None:
    pixels = make_pixels()
    extra = (UNASSOCIATED,) if pixels.shape[-1] == 4 else ()
    decoded = decode(tiff16(pixels, compression=LZW, extra_samples=extra, planar=planar))
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


def planes_of(pixels: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


# One plane per channel (PlanarConfiguration 2): Pillow alone reads these at 8 bits (and, without
# libtiff, uncompressed 16-bit planes as noise); each plane is read as a 16-bit gray image instead.
PLANAR_FILES: dict[str, Callable[[np.ndarray], bytes]] = {
    "uncompressed": lambda p: tiff16(p, planar=True),
    "uncompressed-big-endian": lambda p: tiff16(p, byteorder=">", planar=True),
    "lzw": lambda p: tiff16(p, compression=LZW, planar=True),
    "lzw-big-endian": lambda p: tiff16(p, byteorder=">", compression=LZW, planar=True),
    "deflate": lambda p: tiff16(p, compression=DEFLATE, planar=True),
    "old-style-deflate": lambda p: tiff16(p, compression=OLD_DEFLATE, planar=True),
    "packbits-big-endian": lambda p: tiff16(p, byteorder=">", compression=PACKBITS, planar=True),
    "deflate-predictor-big-endian": lambda p: with_tifffile(
        planes_of(p), photometric="rgb", planarconfig="separate", compression="zlib", predictor=True, byteorder=">"
    ),
    "lzma-many-strips": lambda p: with_tifffile(
        planes_of(p), photometric="rgb", planarconfig="separate", compression="lzma", rowsperstrip=5
    ),
    "tiled-deflate-predictor": lambda p: with_tifffile(
        planes_of(p), photometric="rgb", planarconfig="separate", tile=(16, 32), compression="zlib", predictor=True
    ),
    "bigtiff": lambda p: with_tifffile(planes_of(p), photometric="rgb", planarconfig="separate", bigtiff=True),
}


@pytest.mark.parametrize("name", list(PLANAR_FILES))
def test_planar_16_bit_rgb_tiff_keeps_16_bits(name: str) -> None:
    pixels = rgb16()
    data = PLANAR_FILES[name](pixels)
    decoded = decode(data)
    assert (decoded.bit_depth, decoded.pixels.dtype, decoded.has_alpha, decoded.is_gray) == (
        16,
        np.uint16,
        False,
        False,
    )
    np.testing.assert_array_equal(decoded.pixels, pixels)
    if name.startswith("uncompressed") or name == "bigtiff":
        return  # Pillow's own reader unpacks uncompressed 16-bit planes as 8-bit samples (noise)
    np.testing.assert_array_equal(pillow_8_bit(data), (pixels >> 8).astype(np.uint8))  # the same file to Pillow


@pytest.mark.parametrize("compression", [NONE, LZW, PACKBITS], ids=["uncompressed", "lzw", "packbits"])
def test_planar_16_bit_rgba_tiff_keeps_16_bits_and_alpha(compression: int) -> None:
    pixels = rgba16()
    decoded = decode(tiff16(pixels, compression=compression, extra_samples=(UNASSOCIATED,), planar=True))
    assert decoded.has_alpha and decoded.bit_depth == 16 and not decoded.is_gray
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_planar_unspecified_fourth_plane_is_dropped() -> None:
    pixels = rgba16()
    decoded = decode(tiff16(pixels, compression=DEFLATE, extra_samples=(UNSPECIFIED,), planar=True))
    assert not decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, pixels[..., :3])


def test_planar_associated_alpha_is_divided_out_as_for_contiguous() -> None:
    stored = rgba16()
    contiguous = decode(tiff16(stored, compression=LZW, extra_samples=(ASSOCIATED,)))
    planar = decode(tiff16(stored, compression=LZW, extra_samples=(ASSOCIATED,), planar=True))
    assert planar.bit_depth == 16 and planar.has_alpha
    np.testing.assert_array_equal(planar.pixels, contiguous.pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_of_planar_16_bit_tiff_is_applied_once(orientation: int) -> None:
    pixels = rgb16()
    data = tiff16(pixels, compression=DEFLATE, orientation=orientation, planar=True)
    decoded = decode(data)
    assert decoded.bit_depth == 16
    # The same pixels, upright, as from the contiguous file (whose orientation Pillow applies).
    contiguous = decode(tiff16(pixels, compression=DEFLATE, orientation=orientation))
    np.testing.assert_array_equal(decoded.pixels, contiguous.pixels)
    np.testing.assert_array_equal((decoded.pixels >> 8).astype(np.uint8), pillow_8_bit(data))


def test_icc_profile_of_planar_16_bit_tiff_is_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pixels = rgb16()
    data = with_tifffile(planes_of(pixels), photometric="rgb", planarconfig="separate", iccprofile=profile)
    decoded = decode(data)
    assert decoded.icc_profile == profile and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_multi_page_planar_tiff_gives_its_first_page_at_16_bits() -> None:
    first, second = rgb16(), widen(photo("chelsea"))
    data = with_tifffile(np.stack([planes_of(first), planes_of(second)]), photometric="rgb", planarconfig="separate")
    decoded = decode(data)
    assert decoded.frame_count == 2 and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, first)


def la16() -> np.ndarray:
    """16-bit gray (a channel of a real photo) and a full-range alpha ramp, (H, W, 2)."""
    gray = widen(photo("chelsea"))[..., 1]
    return np.dstack([gray, alpha_ramp(*gray.shape, dtype=np.uint16)])


def with_alpha_tag(pixels: np.ndarray, **options: object) -> bytes:
    return with_tifffile(pixels, photometric="minisblack", extrasamples=["unassalpha"], **options)


# 16-bit gray+alpha: Pillow cannot open these at all (it knows 8-bit LA TIFF only).
GRAY_ALPHA_FILES: dict[str, Callable[[np.ndarray], bytes]] = {
    "uncompressed": lambda p: tiff16(p, extra_samples=(UNASSOCIATED,)),
    "uncompressed-big-endian": lambda p: tiff16(p, byteorder=">", extra_samples=(UNASSOCIATED,)),
    "lzw": lambda p: tiff16(p, compression=LZW, extra_samples=(UNASSOCIATED,)),
    "deflate-big-endian": lambda p: tiff16(p, byteorder=">", compression=DEFLATE, extra_samples=(UNASSOCIATED,)),
    "packbits": lambda p: tiff16(p, compression=PACKBITS, extra_samples=(UNASSOCIATED,)),
    "deflate-predictor": lambda p: with_alpha_tag(p, compression="zlib", predictor=True),
    "deflate-predictor-big-endian-strips": lambda p: with_alpha_tag(
        p, compression="zlib", predictor=True, byteorder=">", rowsperstrip=7
    ),
    "tiled-deflate-predictor": lambda p: with_alpha_tag(p, compression="zlib", predictor=True, tile=(16, 32)),
    "lzma": lambda p: with_alpha_tag(p, compression="lzma"),
    "planar-lzw": lambda p: tiff16(p, compression=LZW, extra_samples=(UNASSOCIATED,), planar=True),
    "planar-deflate-predictor": lambda p: with_alpha_tag(
        planes_of(p), planarconfig="separate", compression="zlib", predictor=True
    ),
    "bigtiff": lambda p: with_alpha_tag(p, bigtiff=True),
}


@pytest.mark.parametrize("name", list(GRAY_ALPHA_FILES))
def test_16_bit_gray_alpha_tiff_keeps_16_bits_and_alpha(name: str) -> None:
    pixels = la16()
    decoded = decode(GRAY_ALPHA_FILES[name](pixels))
    assert (decoded.format, decoded.mode, decoded.bit_depth, decoded.is_gray, decoded.has_alpha) == (
        "TIFF",
        "LA",
        16,
        True,
        True,
    )
    gray, alpha = pixels[..., 0], pixels[..., 1]
    np.testing.assert_array_equal(decoded.pixels, np.dstack([gray, gray, gray, alpha]))


def test_16_bit_gray_alpha_tiff_decodes_like_16_bit_la_png() -> None:
    pixels = la16()
    tiff = decode(tiff16(pixels, compression=LZW, extra_samples=(UNASSOCIATED,)))
    png = decode(encode_image(tiff.pixels, fmt="png", gray=True))
    assert (png.format, png.bit_depth, png.is_gray, png.has_alpha) == ("PNG", 16, True, True)
    np.testing.assert_array_equal(png.pixels, tiff.pixels)
    assert (tiff.is_gray, tiff.has_alpha, tiff.bit_depth) == (png.is_gray, png.has_alpha, png.bit_depth)


def test_16_bit_gray_alpha_tiff_associated_alpha_is_divided_out() -> None:
    straight = la16()
    alpha = straight[..., 1].astype(np.float64)
    stored = straight.copy()
    stored[..., 0] = np.rint(straight[..., 0] * (alpha / 65535)).astype(np.uint16)
    decoded = decode(tiff16(stored, compression=DEFLATE, extra_samples=(ASSOCIATED,)))
    assert decoded.has_alpha and decoded.is_gray and decoded.bit_depth == 16
    expected = np.where(alpha > 0, np.minimum(np.rint(stored[..., 0] * 65535.0 / np.maximum(alpha, 1)), 65535), 0)
    np.testing.assert_array_equal(decoded.pixels[..., 0], expected)
    np.testing.assert_array_equal(decoded.pixels[..., 3], straight[..., 1])


def test_16_bit_gray_tiff_with_unspecified_extra_sample_is_gray() -> None:
    pixels = la16()
    decoded = decode(tiff16(pixels, compression=LZW, extra_samples=(UNSPECIFIED,)))
    assert decoded.is_gray and not decoded.has_alpha and decoded.bit_depth == 16
    np.testing.assert_array_equal(decoded.pixels, np.dstack([pixels[..., 0]] * 3))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_of_16_bit_gray_alpha_tiff_is_applied_once(orientation: int) -> None:
    pixels = la16()
    decoded = decode(tiff16(pixels, compression=LZW, extra_samples=(UNASSOCIATED,), orientation=orientation))
    rgba = np.dstack([pixels[..., 0]] * 3 + [pixels[..., 1]])
    upright = decode(tiff16(rgba, compression=LZW, extra_samples=(UNASSOCIATED,), orientation=orientation))
    np.testing.assert_array_equal(decoded.pixels, upright.pixels)


def test_16_bit_gray_alpha_tiff_keeps_icc_and_page_count_and_size_probe() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    first, second = la16(), rgb16()
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        writer.write(
            first, photometric="minisblack", extrasamples=["unassalpha"], compression="zlib", iccprofile=profile
        )
        writer.write(
            second, photometric="rgb"
        )  # pages are counted through Pillow: a later 16-bit LA page ends the count
    data = buffer.getvalue()
    decoded = decode(data)
    assert decoded.icc_profile == profile and decoded.frame_count == 2
    np.testing.assert_array_equal(decoded.pixels[..., 3], first[..., 1])
    assert probe_size(data) == (first.shape[1], first.shape[0])


@pytest.mark.parametrize("compression", [NONE, LZW, PACKBITS], ids=["uncompressed", "lzw", "packbits"])
@pytest.mark.parametrize(
    "make_file",
    [
        lambda c: tiff16(la16(), compression=c, extra_samples=(UNASSOCIATED,)),
        lambda c: tiff16(la16(), compression=c, extra_samples=(UNASSOCIATED,), planar=True),
        lambda c: tiff16(rgb16(), compression=c, planar=True),
    ],
    ids=["gray-alpha", "gray-alpha-planar", "rgb-planar"],
)
@pytest.mark.parametrize("cut", [lambda n: n * 2 // 3, lambda n: n - 3], ids=["a-third", "3-bytes"])
def test_truncated_rewritten_16_bit_tiff_is_reported(compression: int, make_file, cut) -> None:
    # The samples are read through directories appended to the file: a strip cut short must not
    # run on into them.
    data = make_file(compression)
    with pytest.raises(TruncatedImage):
        decode(data[: cut(len(data))])


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        (rgb16().astype(np.float32), "3 channels of 32-bit floating-point"),
        (rgb16().astype(np.int16), "3 channels of 16-bit signed integer"),
        (la16().astype(np.float32), "2 channels of 32-bit floating-point"),
    ],
    ids=["float32-rgb", "int16-rgb", "float32-gray-alpha"],
)
def test_float_or_signed_tiff_is_refused_with_what_is_wrong(pixels: np.ndarray, message: str) -> None:
    options = {"photometric": "rgb"} if pixels.shape[-1] == 3 else {"photometric": "minisblack", "extrasamples": [2]}
    with pytest.raises(InvalidImage, match=f"{message}.*not supported; use 8- or 16-bit integer") as caught:
        decode(with_tifffile(pixels, **options))
    assert caught.value.status == 415


@pytest.mark.parametrize("compression", [NONE, LZW, DEFLATE], ids=["uncompressed", "lzw", "deflate"])
def test_truncated_16_bit_tiff_is_reported(compression: int) -> None:
    data = tiff16(rgb16(), compression=compression)  # the strip comes last: cutting the file cuts pixels
    with pytest.raises(TruncatedImage):
        decode(data[: len(data) * 2 // 3])
