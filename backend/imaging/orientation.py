"""EXIF orientation, applied to numpy pixels so 8-bit and 16-bit images share one code path.

The result matches `PIL.ImageOps.exif_transpose` (the tests check all eight orientations).
"""

from __future__ import annotations

import numpy as np
from PIL import ExifTags, Image

_ORIENTATION_TAG = ExifTags.Base.Orientation


def read_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1..8) of a loaded image; 1 when missing or unreadable."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block must not make the whole image unreadable
        return 1
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn (H, W, ...) pixels stored with EXIF `orientation` into upright pixels."""
    if orientation == 2:
        pixels = pixels[:, ::-1]
    elif orientation == 3:
        pixels = pixels[::-1, ::-1]
    elif orientation == 4:
        pixels = pixels[::-1]
    elif orientation == 5:
        pixels = pixels.swapaxes(0, 1)
    elif orientation == 6:
        pixels = np.rot90(pixels, k=-1)
    elif orientation == 7:
        pixels = pixels[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        pixels = np.rot90(pixels, k=1)
    else:
        return pixels
    return np.ascontiguousarray(pixels)
