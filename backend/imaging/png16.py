"""16-bit colour PNG, which Pillow cannot hold: it decodes RGB/RGBA/LA 16-bit PNGs to 8 bits.

Reading: Pillow's PNG decoder is still used (zlib, unfiltering, Adam7 interlacing, all in C). Its
unfiltering works on whole pixels of the *raw* layout, so we keep that layout and only swap the
unpacker that turns each raw pixel into 8-bit channels:
- RGB/RGBA 16-bit: decode twice, once keeping the high byte of each sample ("RGB;16B") and once the
  low byte ("RGB;16L" applied to big-endian data picks the other byte), then join them;
- LA 16-bit: its raw pixel is 4 bytes, so the plain "RGBA" unpacker hands back all 4 bytes in one pass.
Writing 16-bit PNGs is `png_writer.write_png`, which writes every PNG result.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# Pillow's raw mode for 16-bit PNGs that it narrows to 8 bits -> channels in the file.
_WIDE_RAWMODES = {"RGB;16B": 3, "RGBA;16B": 4, "LA;16B": 2}


def _tile_rawmode(image: Image.Image) -> str | None:
    if image.format != "PNG" or len(image.tile) != 1:
        return None
    args = image.tile[0][3]
    return args if isinstance(args, str) else None


def is_wide_png(image: Image.Image) -> bool:
    """True for a 16-bit RGB, RGBA or LA PNG that Pillow would narrow to 8 bits."""
    return _tile_rawmode(image) in _WIDE_RAWMODES


def _load_with_rawmode(image: Image.Image, rawmode: str) -> np.ndarray:
    codec, extents, offset, _ = image.tile[0]
    image.tile = [(codec, extents, offset, rawmode)]
    image.load()
    return np.asarray(image)


def read_wide_png(image: Image.Image, data: bytes) -> np.ndarray:
    """Decode a PNG for which `is_wide_png(image)` holds into (H, W, C) uint16, C = 2 (LA), 3 or 4.

    `image` is the not-yet-loaded Pillow image opened from `data`; it ends up loaded (so its chunks
    after IDAT, such as eXIf, are read). Pillow's errors on truncated data propagate.
    """
    rawmode = _tile_rawmode(image)
    channels = _WIDE_RAWMODES[rawmode]
    if channels == 2:
        raw = _load_with_rawmode(image, "RGBA")  # bytes: L high, L low, A high, A low
        high, low = raw[..., 0::2], raw[..., 1::2]
    else:
        base = rawmode.split(";")[0]
        with Image.open(io.BytesIO(data), formats=["PNG"]) as high_pass:
            high = _load_with_rawmode(high_pass, f"{base};16B")
        low = _load_with_rawmode(image, f"{base};16L")
    return (high.astype(np.uint16) << 8) | low
