"""TIFF compressions: the ones we read decode, one we do not read is a 415 that names it, and damaged
data in one we do read stays a 422 ("corrupt").

WebP-compressed TIFF (what GDAL and some scanners write) used to come back as "truncated or corrupt":
libtiff without the WebP codec fails at decode time just as it does on broken data.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from imaging_samples import MAX_PIXELS
from PIL import Image
from tiff_samples import rgb8_tiff_strip

from backend.errors import InvalidImage, TruncatedImage
from backend.imaging import decode_image

PIXELS = np.random.default_rng(7).integers(0, 256, (16, 16, 3), dtype=np.uint8)
WEBP, JPEG2000, LERC, JPEG_XL, PIXARLOG, OLD_JPEG = 50001, 34712, 34887, 50002, 32909, 6


def _webp_strip() -> bytes:
    out = io.BytesIO()
    Image.fromarray(PIXELS).save(out, "WEBP", lossless=True)
    return out.getvalue()


@pytest.mark.parametrize(
    "compression",
    ["raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits", "lzma", "zstd", "jpeg"],
)
def test_the_compressions_we_read_decode(compression: str) -> None:
    out = io.BytesIO()
    Image.fromarray(PIXELS).save(out, "TIFF", compression=compression)
    decoded = decode_image(out.getvalue(), max_pixels=MAX_PIXELS)
    assert decoded.pixels.shape == PIXELS.shape
    if compression != "jpeg":  # lossy
        assert np.array_equal(decoded.pixels, PIXELS)


@pytest.mark.parametrize("compression", ["tiff_ccitt", "group3", "group4"])
def test_fax_compressions_decode(compression: str) -> None:
    bilevel = Image.fromarray(PIXELS[..., 0]).convert("1")
    out = io.BytesIO()
    bilevel.save(out, "TIFF", compression=compression)
    decoded = decode_image(out.getvalue(), max_pixels=MAX_PIXELS)
    assert np.array_equal(decoded.pixels[..., 0] > 127, np.asarray(bilevel))


def test_a_webp_compressed_tiff_is_unsupported_not_corrupt() -> None:
    data = rgb8_tiff_strip(16, 16, WEBP, _webp_strip())
    try:
        decoded = decode_image(data, max_pixels=MAX_PIXELS)
    except InvalidImage as exc:  # libtiff built without WebP, as Pillow's wheels are
        assert exc.status == 415
        assert "WebP" in exc.message and "compression" in exc.message
    else:  # a libtiff with WebP reads it, and then it must be right
        assert np.array_equal(decoded.pixels, PIXELS)


@pytest.mark.parametrize(
    ("compression", "name"),
    [
        (JPEG2000, "JPEG 2000"),
        (LERC, "LERC"),
        (JPEG_XL, "JPEG XL"),
        (PIXARLOG, "PixarLog"),
        (OLD_JPEG, "old-style JPEG"),
    ],
)
def test_a_compression_we_do_not_read_is_named(compression: int, name: str) -> None:
    with pytest.raises(InvalidImage) as raised:
        decode_image(rgb8_tiff_strip(16, 16, compression, PIXELS.tobytes()), max_pixels=MAX_PIXELS)
    assert f"{name} compression" in raised.value.message
    assert "LZW" in raised.value.message  # what to save it with instead


@pytest.mark.parametrize("compression", ["tiff_lzw", "tiff_adobe_deflate", "zstd", "lzma", "jpeg"])
def test_damaged_data_in_a_compression_we_read_stays_corrupt(compression: str) -> None:
    out = io.BytesIO()
    Image.fromarray(PIXELS).save(out, "TIFF", compression=compression)
    with Image.open(out) as image:
        offset, length = image.tag_v2[273][0], image.tag_v2[279][0]
    data = bytearray(out.getvalue())
    data[offset : offset + length] = b"\xa5" * length  # the strip overwritten: header and tags intact
    with pytest.raises(TruncatedImage):
        decode_image(bytes(data), max_pixels=MAX_PIXELS)
