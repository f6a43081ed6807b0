"""Small numpy helpers shared by decode and encode: bit depth, gray, alpha."""

from __future__ import annotations

import numpy as np

# ITU-R 601-2 luma, the weights Pillow's convert("L") uses.
_LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Narrow uint16 to uint8 with rounding (65535 -> 255); uint8 passes through."""
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def gray_to_rgb(gray: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """(H, W) gray (+ optional (H, W) alpha) -> (H, W, 3|4), same dtype."""
    planes = [gray, gray, gray] if alpha is None else [gray, gray, gray, alpha]
    return np.stack(planes, axis=-1)


def luma(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W) gray of the same dtype, rounded."""
    red, green, blue = _LUMA_WEIGHTS
    gray = rgb[..., 0] * np.float32(red)
    gray += rgb[..., 1] * np.float32(green)
    gray += rgb[..., 2] * np.float32(blue)
    limit = np.iinfo(rgb.dtype).max
    return np.clip(np.rint(gray), 0, limit).astype(rgb.dtype)


def composite_on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten (H, W, C) color with (H, W) alpha onto white, same dtype (for formats without alpha)."""
    limit = np.float32(np.iinfo(color.dtype).max)
    weight = alpha[..., None].astype(np.float32) / limit
    flat = color.astype(np.float32) * weight + limit * (1.0 - weight)
    return np.clip(np.rint(flat), 0, limit).astype(color.dtype)


def alpha_from_color_key(pixels: np.ndarray, key: int | tuple[int, ...], opaque: int) -> np.ndarray:
    """PNG tRNS for gray/RGB images: pixels equal to `key` are transparent. `pixels` is (H, W, C)."""
    key_array = np.asarray(key if isinstance(key, tuple) else (key,), dtype=pixels.dtype)
    transparent = np.all(pixels == key_array, axis=-1)
    return np.where(transparent, 0, opaque).astype(pixels.dtype)


def unpremultiply(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Associated (premultiplied) colour -> straight colour, same dtype, rounded; black where alpha is 0."""
    limit = np.iinfo(color.dtype).max
    weight = alpha[..., None].astype(np.uint64)
    straight = (color.astype(np.uint64) * limit + weight // 2) // np.maximum(weight, 1)
    return np.where(weight > 0, np.minimum(straight, limit), 0).astype(color.dtype)
