"""Odd real-world files the odd-image audit (tests/api/test_odd_images.py) found mishandled."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from imaging_samples import MAX_PIXELS, alpha_ramp, insert_chunk_after_ihdr, photo, png_chunk, to_bytes
from odd_corpus import camera_raw, rgb_profile
from PIL import Image

from backend.errors import InvalidImage, TruncatedImage
from backend.imaging import decode_image, encode_image, probe_size


def rgba_photo() -> np.ndarray:
    rgb = photo("chelsea")
    return np.dstack([rgb, alpha_ramp(*rgb.shape[:2])])


def bmp32(rgba: np.ndarray, *, top_down: bool = False) -> bytes:
    """A 32-bit BI_RGB BMP with a BITMAPINFOHEADER, as Windows tools (and Pillow) write RGBA."""
    height, width = rgba.shape[:2]
    rows = rgba[..., [2, 1, 0, 3]]  # BGRA
    pixels = (rows if top_down else rows[::-1]).tobytes()
    info = struct.pack("<IiiHHIIiiII", 40, width, -height if top_down else height, 1, 32, 0, len(pixels), 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + info + pixels


@pytest.mark.parametrize("top_down", [False, True], ids=["bottom-up", "top-down"])
def test_32_bit_bmp_keeps_its_alpha(top_down: bool) -> None:
    # Before: Pillow reads 32-bit BI_RGB as RGB ("BGRX"), so the alpha of such a BMP was dropped.
    rgba = rgba_photo()
    decoded = decode_image(bmp32(rgba, top_down=top_down), max_pixels=MAX_PIXELS)
    assert decoded.has_alpha and decoded.pixels.shape == (*rgba.shape[:2], 4)
    np.testing.assert_array_equal(decoded.pixels, rgba)


def test_pillows_own_rgba_bmp_keeps_its_alpha() -> None:
    rgba = rgba_photo()
    decoded = decode_image(to_bytes(Image.fromarray(rgba), "BMP"), max_pixels=MAX_PIXELS)
    assert decoded.has_alpha
    np.testing.assert_array_equal(decoded.pixels, rgba)


@pytest.mark.parametrize("filler", [0, 255], ids=["zero", "opaque"])
def test_32_bit_bmp_with_a_constant_fourth_byte_stays_opaque_rgb(filler: int) -> None:
    # Most 32-bit BMPs without alpha leave the fourth byte 0 (or 255): that is no transparency.
    rgb = photo("coffee")
    data = bmp32(np.dstack([rgb, np.full(rgb.shape[:2], filler, np.uint8)]))
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    assert not decoded.has_alpha and decoded.pixels.shape == (*rgb.shape[:2], 3)
    np.testing.assert_array_equal(decoded.pixels, rgb)


def big_text_chunk(kind: bytes) -> bytes:
    """8 MB of text in a few KB: more than Pillow's 1 MB limit per text chunk."""
    text = zlib.compress(b"a long comment " * 600_000, 9)
    payload = b"Comment\0\0" + text if kind == b"zTXt" else b"Comment\0\1\0\0\0" + text
    return png_chunk(kind, payload)


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
@pytest.mark.parametrize("where", ["before-pixels", "after-pixels"])
def test_png_with_a_giant_compressed_text_chunk_decodes(kind: bytes, where: str) -> None:
    # Before: 422 "truncated or corrupt" for a whole image whose metadata is merely large.
    rgb = photo("astronaut")
    plain = to_bytes(Image.fromarray(rgb), "PNG")
    chunk = big_text_chunk(kind)
    if where == "before-pixels":
        data = insert_chunk_after_ihdr(plain, chunk[4:8], chunk[8:-4])
    else:
        data = plain[:-12] + chunk + plain[-12:]  # just before IEND
    assert probe_size(data) == (rgb.shape[1], rgb.shape[0])
    np.testing.assert_array_equal(decode_image(data, max_pixels=MAX_PIXELS).pixels, rgb)


def test_png_text_within_limits_is_still_read() -> None:
    # Legacy EXIF in a "Raw profile type exif" zTXt (ImageMagick) keeps orienting the image.
    rgb = photo("astronaut")
    exif = Image.Exif()
    exif[0x0112] = 6
    raw = exif.tobytes()
    hex_text = f"\nexif\n{len(raw):8d}\n{raw.hex()}\n".encode()
    data = insert_chunk_after_ihdr(
        to_bytes(Image.fromarray(rgb), "PNG"), b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(hex_text)
    )
    decoded = decode_image(data, max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(decoded.pixels, np.rot90(rgb, k=-1))


def result_profile(data: bytes) -> bytes | None:
    with Image.open(io.BytesIO(data)) as image:
        return image.info.get("icc_profile")


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_a_truncated_icc_profile_is_not_written_into_the_result(fmt: str) -> None:
    # Before: a profile cut short (its header claims more bytes than it has) was copied into the result.
    whole = rgb_profile("adobe-rgb")
    source = to_bytes(Image.fromarray(photo("coffee")), "JPEG", quality=95, icc_profile=whole[:200])
    decoded = decode_image(source, max_pixels=MAX_PIXELS)
    assert result_profile(encode_image(decoded.pixels, fmt=fmt, icc_profile=decoded.icc_profile)) is None
    assert result_profile(encode_image(decoded.pixels, fmt=fmt, icc_profile=whole)) == whole


def with_bad_crc(chunk: bytes) -> bytes:
    return chunk[:-4] + bytes(byte ^ 0xFF for byte in chunk[-4:])


def test_png_with_a_bad_checksum_on_a_metadata_chunk_decodes() -> None:
    # Before: 422. A tool edited the text and forgot the CRC; libpng and the browsers drop the chunk.
    rgb = photo("astronaut")
    plain = to_bytes(Image.fromarray(rgb), "PNG")
    chunk = with_bad_crc(png_chunk(b"tEXt", b"Software\0an old editor"))
    data = plain[:33] + chunk + plain[33:]  # right after IHDR, where Pillow checks CRCs
    assert probe_size(data) == (rgb.shape[1], rgb.shape[0])
    np.testing.assert_array_equal(decode_image(data, max_pixels=MAX_PIXELS).pixels, rgb)


def test_png_with_a_bad_checksum_on_its_palette_is_still_corrupt() -> None:
    # Only metadata may go: a palette (a critical chunk) with a wrong CRC is a broken file.
    plain = to_bytes(Image.fromarray(photo("astronaut")).quantize(colors=16), "PNG")
    start = plain.index(b"PLTE") - 4
    end = start + 12 + int.from_bytes(plain[start : start + 4], "big")
    data = plain[:start] + with_bad_crc(plain[start:end]) + plain[end:]
    with pytest.raises(TruncatedImage):
        decode_image(data, max_pixels=MAX_PIXELS)


def jpeg_photo(**options: object) -> bytes:
    return to_bytes(Image.fromarray(photo("astronaut")), "JPEG", quality=95, **options)


@pytest.mark.parametrize(
    "options",
    [{"subsampling": "4:4:4"}, {"subsampling": "4:2:0"}, {"subsampling": "4:2:0", "restart_marker_blocks": 1}],
    ids=["444", "420", "420-restarts"],
)
def test_jpeg_without_its_end_marker_decodes_as_viewers_show_it(options: dict) -> None:
    # Before: 422 "image file is truncated (N bytes not processed)": libjpeg waits for the marker to
    # finish the last blocks. Browsers, djpeg and Photoshop show the whole photo.
    whole = jpeg_photo(**options)
    assert whole.endswith(b"\xff\xd9")
    expected = decode_image(whole, max_pixels=MAX_PIXELS)
    decoded = decode_image(whole[:-2], max_pixels=MAX_PIXELS)
    np.testing.assert_array_equal(decoded.pixels, expected.pixels)
    assert decoded.icc_profile == expected.icc_profile and decoded.format == "JPEG"


@pytest.mark.parametrize(
    "options",
    [{"subsampling": "4:2:0"}, {"subsampling": "4:4:4", "restart_marker_blocks": 1}, {"progressive": True}],
    ids=["baseline", "restarts", "progressive"],
)
def test_jpeg_cut_inside_its_pixel_data_is_truncated_or_exactly_whole(options: dict) -> None:
    """Cut anywhere in its last 160 bytes (across restart markers too), a JPEG is refused as truncated
    or, when only the end marker and bit padding were cut, gives exactly the whole file's pixels."""
    data = jpeg_photo(**options)
    whole = decode_image(data, max_pixels=MAX_PIXELS).pixels
    refused = 0
    for cut in range(3, 160):
        try:
            pixels = decode_image(data[:-cut], max_pixels=MAX_PIXELS).pixels
        except TruncatedImage:
            refused += 1
        else:
            np.testing.assert_array_equal(pixels, whole, err_msg=f"cut {cut} bytes")
    assert refused >= 155  # only the last byte or two can be mere padding


def test_jpeg_cut_between_scans_is_still_truncated() -> None:
    """A progressive JPEG cut after a whole scan: no bytes of a scan are missing, but later scans are."""
    data = jpeg_photo(progressive=True)
    last_scan = data.rindex(b"\xff\xda")
    with pytest.raises(TruncatedImage):
        decode_image(data[:last_scan], max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("dng", [True, False], ids=["dng", "other-raw"])
def test_camera_raw_is_refused_instead_of_upscaling_its_preview(dng: bool) -> None:
    # Before: the 12x16 preview on page one was decoded and upscaled as if it were the photo.
    data = camera_raw(dng=dng)
    with pytest.raises(InvalidImage, match="preview") as caught:
        decode_image(data, max_pixels=MAX_PIXELS)
    assert ("DNG" in str(caught.value)) == dng


def test_tiff_whose_later_pages_are_previews_still_gives_its_first_page() -> None:
    pages = [photo("astronaut"), photo("astronaut")[::2, ::2].copy()]
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tiff:
        tiff.write(pages[0], photometric="rgb")
        tiff.write(pages[1], photometric="rgb", subfiletype=1)
    np.testing.assert_array_equal(decode_image(buffer.getvalue(), max_pixels=MAX_PIXELS).pixels, pages[0])
