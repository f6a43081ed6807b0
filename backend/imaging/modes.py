"""Turn a loaded Pillow image of any supported mode into RGB(A) uint8/uint16 pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

from backend.errors import InvalidImage
from backend.imaging.pixels import alpha_from_color_key, gray_to_rgb

_GRAY_MODES = {"1", "L", "LA", "La"}
_GRAY16_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_UINT16_MAX = 65535
# (is_gray, has_alpha) -> the Pillow mode to read 8-bit pixels in.
_TARGET_MODES = {(True, False): "L", (True, True): "LA", (False, False): "RGB", (False, True): "RGBA"}


@dataclass(frozen=True)
class PixelData:
    pixels: np.ndarray  # (H, W, 3|4) uint8 or uint16, not yet oriented
    is_gray: bool
    has_alpha: bool
    bit_depth: int
    icc_profile: bytes | None


def image_to_pixels(image: Image.Image) -> PixelData:
    """Convert a fully loaded Pillow image. Raises InvalidImage for modes we cannot represent."""
    mode = image.mode
    icc_profile = image.info.get("icc_profile") or None
    if mode == "CMYK":
        return PixelData(np.asarray(_cmyk_to_srgb(image, icc_profile)), False, False, 8, None)
    if mode in _GRAY16_MODES or mode in ("I", "F"):
        return _gray16_pixels(_wide_gray(image), image.info.get("transparency"), icc_profile)

    is_gray = mode in _GRAY_MODES
    has_alpha = image.has_transparency_data
    target = _TARGET_MODES[(is_gray, has_alpha)]
    try:
        converted = image if image.mode == target else image.convert(target)
    except (ValueError, OSError) as exc:
        raise InvalidImage(f"Images in mode {mode!r} are not supported.") from exc
    array = np.asarray(converted)
    if is_gray:
        array = gray_to_rgb(array[..., 0], array[..., 1]) if has_alpha else gray_to_rgb(array)
    return PixelData(array, is_gray, has_alpha, 8, icc_profile)


def wide_png_pixels(channels: np.ndarray, transparency: object, icc_profile: bytes | None) -> PixelData:
    """Pixels from `png16.read_wide_png`: (H, W, 2|3|4) uint16 gray+alpha, RGB or RGBA."""
    if channels.shape[-1] == 2:
        return PixelData(gray_to_rgb(channels[..., 0], channels[..., 1]), True, True, 16, icc_profile)
    if channels.shape[-1] == 3 and isinstance(transparency, tuple):
        alpha = alpha_from_color_key(channels, transparency, _UINT16_MAX)
        return PixelData(np.dstack([channels, alpha]), False, True, 16, icc_profile)
    return PixelData(channels, False, channels.shape[-1] == 4, 16, icc_profile)


def _gray16_pixels(gray: np.ndarray, transparency: object, icc_profile: bytes | None) -> PixelData:
    if isinstance(transparency, int):
        alpha = alpha_from_color_key(gray[..., None], transparency, _UINT16_MAX)
        return PixelData(gray_to_rgb(gray, alpha), True, True, 16, icc_profile)
    return PixelData(gray_to_rgb(gray), True, False, 16, icc_profile)


def _wide_gray(image: Image.Image) -> np.ndarray:
    """16-bit, 32-bit integer and float gray images -> (H, W) uint16."""
    array = np.asarray(image)
    if image.mode != "F":
        return np.clip(array, 0, _UINT16_MAX).astype(np.uint16)
    if not np.isfinite(array).all():
        raise InvalidImage("The image holds non-finite floating-point values (NaN or infinity).")
    # Float images are usually normalised to [0, 1]; anything brighter is taken as 16-bit counts.
    scale = _UINT16_MAX if array.size == 0 or float(array.max()) <= 1.0 else 1.0
    return np.clip(np.rint(array * scale), 0, _UINT16_MAX).astype(np.uint16)


def _cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Colour-manage CMYK through its embedded profile when it has one; else Pillow's naive formula."""
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or non-CMYK profile: fall back rather than refuse the image
    return image.convert("RGB")
