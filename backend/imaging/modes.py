"""Turn a loaded Pillow image of any supported mode into RGB(A) uint8/uint16 pixels."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

from backend.errors import InvalidImage
from backend.imaging.pixels import alpha_from_color_key, gray_to_rgb

_GRAY_MODES = {"1", "L", "LA", "La"}
_GRAY16_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_UINT16_MAX = 65535
# (largest value, the value that is white; None = the data's own maximum) for wide gray data, first
# match wins; see _wide_gray. The 0.5 absorbs rounding; above 2**31 - 1 only uint32 data can reach.
_FLOAT_WHITES = ((1.5, 1.0), (255.5, 255.0), (65535.5, 65535.0))
_INT_WHITES = ((65535.0, 65535.0), (2.0**31 - 1, None), (2.0**32 - 1, 2.0**32 - 1))
_TIFF_SAMPLE_FORMAT = 339
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


def with_alpha(data: PixelData, alpha: np.ndarray) -> PixelData:
    """8-bit RGB pixel data with an (H, W) uint8 alpha plane added (read beside Pillow, e.g. BMP's)."""
    return dataclasses.replace(data, pixels=np.dstack([data.pixels, alpha]), has_alpha=True)


def wide_png_pixels(channels: np.ndarray, transparency: object, icc_profile: bytes | None) -> PixelData:
    """Pixels from `png16.read_wide_png` or tiff16: (H, W, 1|2|3|4) uint16 gray, gray+alpha, RGB or RGBA.

    `transparency` is a PNG tRNS colour key (None for TIFF)."""
    if channels.shape[-1] == 1:
        return _gray16_pixels(channels[..., 0], None, icc_profile)
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
    """16-bit, 32-bit integer and float gray images -> (H, W) uint16.

    Wide data carries no "white" of its own, so the largest value picks the convention it follows
    (the smallest one that holds it): floats up to 1.5 are 0..1 (HDR overshoot clipped), up to 255
    8-bit counts, up to 65535 16-bit counts; integers up to 65535 are 16-bit counts, and uint32 data
    that uses the upper half of its range is full-range 32-bit. Anything else is scaled by its own
    maximum. Zero is always black and negative values are clipped.
    """
    array = np.asarray(image)
    if image.mode in _GRAY16_MODES:
        return array.astype(np.uint16)
    if image.mode == "F" and not np.isfinite(array).all():
        raise InvalidImage("The image holds non-finite floating-point values (NaN or infinity).")
    if image.mode == "I" and _is_unsigned_tiff(image):
        array = array.view(np.uint32)  # Pillow reads uint32 TIFFs as int32: values >= 2**31 wrap negative
    peak = float(array.max()) if array.size else 0.0
    white = _white_level(peak, _FLOAT_WHITES if image.mode == "F" else _INT_WHITES)
    if white == _UINT16_MAX and image.mode != "F":
        return np.clip(array, 0, _UINT16_MAX).astype(np.uint16)  # already counts: no rounding needed
    scaled = array.astype(np.float32) * np.float32(_UINT16_MAX / white)
    return np.clip(np.rint(scaled), 0, _UINT16_MAX).astype(np.uint16)


def _white_level(peak: float, whites: tuple[tuple[float, float | None], ...]) -> float:
    """The white of the first (largest value, white) convention that holds `peak`; else `peak` itself."""
    for largest, white in whites:
        if peak <= largest:
            return peak if white is None else white
    return peak


def _is_unsigned_tiff(image: Image.Image) -> bool:
    tags = getattr(image, "tag_v2", None)
    if tags is None:
        return False
    sample_format = tags.get(_TIFF_SAMPLE_FORMAT, 1)  # the TIFF default is unsigned integer
    first = sample_format[0] if isinstance(sample_format, tuple) else sample_format
    return first == 1


def _cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Colour-manage CMYK through its embedded profile when it has one; else Pillow's naive formula."""
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or non-CMYK profile: fall back rather than refuse the image
    return image.convert("RGB")
