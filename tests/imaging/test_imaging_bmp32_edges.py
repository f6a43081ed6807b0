"""32-bit BMP alpha (backend/imaging/bmp32.py): the Pillow versions we allow, and BMPs that say "no alpha"."""

from __future__ import annotations

import io
import struct

import numpy as np
from imaging_samples import MAX_PIXELS, alpha_ramp, photo
from PIL import Image

from backend.imaging import decode_image
from backend.imaging.bmp32 import raw_bmp_alpha

_BI_BITFIELDS = 3


def bmp32(rgba: np.ndarray) -> bytes:
    """A bottom-up 32-bit BI_RGB BMP with a BITMAPINFOHEADER: the fourth byte is alpha."""
    height, width = rgba.shape[:2]
    pixels = rgba[::-1][..., [2, 1, 0, 3]].tobytes()
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 0, len(pixels), 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) + info + pixels


def bmp32_bitfields_without_alpha(rgbx: np.ndarray) -> bytes:
    """A top-down 32-bit BI_BITFIELDS BMP with a BITMAPV5HEADER whose alpha mask is 0: the file
    says outright that its fourth byte is no alpha (browsers and libraries show it opaque)."""
    height, width = rgbx.shape[:2]
    pixels = rgbx[..., [2, 1, 0, 3]].tobytes()
    offset = 14 + 124
    info = struct.pack("<IiiHHIIiiII", 124, width, -height, 1, 32, _BI_BITFIELDS, len(pixels), 2835, 2835, 0, 0)
    info += struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0)  # red, green, blue, alpha (none) masks
    info += b"BGRs" + b"\0" * 36 + struct.pack("<III", 0, 0, 0) + struct.pack("<IIII", 4, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + pixels


def test_bmp_alpha_reads_pillow_10_tiles() -> None:
    # Pillow < 11 (requirements allow pillow>=10) keeps a tile as a plain 4-tuple, without the
    # field names of Pillow 11's ImageFile._Tile: `tile.codec_name` raised AttributeError, a 500
    # for every RGB BMP upload there.
    rgba = np.dstack([photo("chelsea"), alpha_ramp(*photo("chelsea").shape[:2])])
    data = bmp32(rgba)
    with Image.open(io.BytesIO(data)) as image:
        image.tile = [tuple(tile) for tile in image.tile]  # as Pillow 10 holds it
        alpha = raw_bmp_alpha(image, data)
    assert alpha is not None
    np.testing.assert_array_equal(alpha, rgba[..., 3])


def test_bitfields_bmp_whose_alpha_mask_is_zero_stays_opaque() -> None:
    # Only BI_RGB leaves the fourth byte's meaning open. With BI_BITFIELDS the masks say where
    # alpha is, and an alpha mask of 0 means none: the padding bytes must not become transparency.
    rgb = photo("coffee")
    padding = (np.arange(rgb.shape[0] * rgb.shape[1]) % 251).astype(np.uint8).reshape(rgb.shape[:2])
    decoded = decode_image(bmp32_bitfields_without_alpha(np.dstack([rgb, padding])), max_pixels=MAX_PIXELS)
    assert not decoded.has_alpha and decoded.pixels.shape == (*rgb.shape[:2], 3)
    np.testing.assert_array_equal(decoded.pixels, rgb)
