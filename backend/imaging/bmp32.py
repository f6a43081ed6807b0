"""The alpha of 32-bit BMPs, which Pillow drops.

Pillow reads an uncompressed (BI_RGB) 32-bit BMP as RGB and skips the fourth byte of each pixel
("BGRX"). Windows tools, and Pillow itself, store alpha there; files without alpha leave it 0 or
255. Like the browsers, we take the fourth byte as alpha unless it is the same 0 or 255 everywhere.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_CONSTANT_FILLERS = (0, 255)
_BI_RGB = 0  # BI_BITFIELDS files say by their alpha mask whether the fourth byte is alpha: Pillow heeds it


def raw_bmp_alpha(image: Image.Image, data: bytes) -> np.ndarray | None:
    """(H, W) uint8 alpha from the fourth byte of a 32-bit BI_RGB BMP, or None when it holds none.

    Call before `image.load()`, which clears the tile this reads the pixel layout from.
    """
    if image.format != "BMP" or image.mode != "RGB" or len(image.tile) != 1:
        return None
    if image.info.get("compression") != _BI_RGB:
        return None
    # By index: Pillow < 11 keeps a tile as a plain tuple, without ImageFile._Tile's field names.
    codec_name, _, offset, raw_args = image.tile[0]
    args = tuple(raw_args or ())
    if codec_name != "raw" or len(args) != 3 or args[0] != "BGRX":
        return None
    width, height = image.size
    _, stride, orientation = args
    stride = stride or width * 4
    end = offset + stride * height
    if stride < width * 4 or end > len(data):
        return None  # cut short: the full load reports it
    rows = np.frombuffer(data, np.uint8, stride * height, offset).reshape(height, stride)
    alpha = rows[:, 3 : width * 4 : 4]
    if orientation < 0:
        alpha = alpha[::-1]  # stored bottom-up
    first = int(alpha.flat[0]) if alpha.size else 0
    if first in _CONSTANT_FILLERS and (alpha == first).all():
        return None
    return np.ascontiguousarray(alpha)
