"""Bad uploads raise the right error from backend.errors, and bombs are caught from the header alone."""

from __future__ import annotations

import struct
import warnings

import pytest
from imaging_samples import MAX_PIXELS, photo, png_header_only, to_bytes
from PIL import Image, ImageFile

from backend.errors import DecompressionBomb, EmptyUpload, InvalidImage, TruncatedImage, UserError
from backend.imaging import decode_image, probe_size


def photo_bytes(fmt: str) -> bytes:
    return to_bytes(Image.fromarray(photo("astronaut")), fmt)


def test_empty_upload() -> None:
    with pytest.raises(EmptyUpload, match="empty"):
        decode_image(b"", max_pixels=MAX_PIXELS)
    with pytest.raises(EmptyUpload):
        probe_size(b"")


@pytest.mark.parametrize(
    "data",
    [b"hello, this is plain text", b"%PDF-1.7\n" + bytes(200), bytes(range(256))],
    ids=["text", "pdf", "noise"],
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(InvalidImage, match="not an image"):
        decode_image(data, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("fmt", ["ICO", "PPM", "TGA"])
def test_image_formats_outside_the_allow_list_are_refused(fmt: str) -> None:
    with pytest.raises(InvalidImage):
        decode_image(photo_bytes(fmt), max_pixels=MAX_PIXELS)


def test_format_comes_from_content_not_name() -> None:
    # There is no file name to trust: the same bytes decode the same way under any name.
    for fmt, expected in [("PNG", "PNG"), ("JPEG", "JPEG"), ("WEBP", "WEBP"), ("BMP", "BMP"), ("TIFF", "TIFF")]:
        assert decode_image(photo_bytes(fmt), max_pixels=MAX_PIXELS).format == expected


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "TIFF"])
def test_truncated_pixel_data(fmt: str) -> None:
    data = photo_bytes(fmt)
    with pytest.raises(TruncatedImage) as caught:
        decode_image(data[: len(data) * 2 // 3], max_pixels=MAX_PIXELS)
    assert isinstance(caught.value, UserError) and caught.value.status == 422


def test_truncated_header_is_truncated_not_invalid() -> None:
    with pytest.raises(TruncatedImage, match="PNG"):
        decode_image(photo_bytes("PNG")[:20], max_pixels=MAX_PIXELS)


def test_corrupt_compressed_data() -> None:
    data = bytearray(photo_bytes("PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20 : idat + 60] = bytes(40)
    with pytest.raises(TruncatedImage):
        decode_image(bytes(data), max_pixels=MAX_PIXELS)


def test_pixel_limit_is_enforced_on_real_images() -> None:
    data = photo_bytes("JPEG")  # 48 x 64 = 3072 pixels
    assert decode_image(data, max_pixels=3072).width == 48
    with pytest.raises(DecompressionBomb, match="48x64"):
        decode_image(data, max_pixels=3071)


def test_bomb_is_caught_from_the_header_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded before the limit check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    bomb = png_header_only(9000, 9000)  # 81 MP, 243 MB of RGB if it were decoded; the file is ~100 bytes
    assert len(bomb) < 200
    assert probe_size(bomb) == (9000, 9000)
    with pytest.raises(DecompressionBomb, match="9000x9000"):
        decode_image(bomb, max_pixels=MAX_PIXELS)


def test_pillows_own_bomb_guard_is_mapped() -> None:
    huge = png_header_only(50_000, 50_000)  # above 2 * Image.MAX_IMAGE_PIXELS: Pillow refuses to open it
    with pytest.raises(DecompressionBomb):
        probe_size(huge)
    with pytest.raises(DecompressionBomb):
        decode_image(huge, max_pixels=10**10)


def test_pillows_bomb_warning_turned_error_is_mapped() -> None:
    big = png_header_only(10_000, 10_000)  # between MAX_IMAGE_PIXELS and twice that: Pillow warns
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(DecompressionBomb):
            decode_image(big, max_pixels=10**10)


def test_header_without_pixel_data_is_truncated() -> None:
    with pytest.raises(TruncatedImage):
        decode_image(png_header_only(300, 200), max_pixels=MAX_PIXELS)


def test_errors_carry_codes_for_the_api() -> None:
    codes = set()
    for data in [b"", b"text", photo_bytes("PNG")[:100]]:
        with pytest.raises(UserError) as caught:
            decode_image(data, max_pixels=MAX_PIXELS)
        codes.add(caught.value.code)
    assert codes == {"empty_upload", "invalid_image", "truncated_image"}


@pytest.mark.parametrize("error", [OverflowError("Python int too large to convert to C long"), struct.error("bad")])
def test_a_decoder_overflow_is_a_corrupt_image_not_a_crash(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Pillow's tile decoder raised OverflowError on a TileWidth of 2**31 (now refused earlier, in
    limits.open_header); whatever absurd size slips through next must still be a 422."""

    def overflowing_load(self: Image.Image) -> None:
        raise error

    monkeypatch.setattr(ImageFile.ImageFile, "load", overflowing_load)
    with pytest.raises(TruncatedImage):
        decode_image(to_bytes(Image.fromarray(photo()), "PNG"), max_pixels=MAX_PIXELS)
