"""encode_image: RGB(A)/gray uint8 or uint16 pixels -> PNG, JPEG or WebP bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from backend.errors import UnsupportedOption
from backend.imaging.formats import normalize_output_format
from backend.imaging.icc import profile_for_output
from backend.imaging.icc_gray import rgb_profile_from_gray
from backend.imaging.pixels import composite_on_white, gray_to_rgb, luma, to_uint8
from backend.imaging.png_color import PngColor
from backend.imaging.png_writer import write_png

# Hard size limits of the formats (libjpeg and libwebp refuse anything larger).
_MAX_SIDE = {"jpeg": 65_500, "webp": 16_383}
# Chroma subsampling blurs the colour detail the upscaler just added; keep full chroma at high quality.
_FULL_CHROMA_FROM_QUALITY = 90


def encode_image(
    pixels: np.ndarray,
    *,
    fmt: str = "png",
    quality: int = 95,
    icc_profile: bytes | None = None,
    gray: bool = False,
    png_compression: int = 1,
    png_color: PngColor | None = None,
) -> bytes:
    """Encode (H, W, 3|4) uint8 or uint16 pixels (also (H, W) or (H, W, 1|2) gray).

    - png: uint16 stays 16-bit; `gray=True` writes L/LA (or 16-bit gray) from the luma of RGB input.
      `png_compression` is the zlib level, 0-9: the same pixels at any level; 0 stores, 1 is the
      fastest that compresses, 9 the smallest.
    - jpeg: 8-bit; alpha is flattened onto white (JPEG has no alpha).
    - webp: 8-bit, alpha kept; quality 100 means lossless. Gray is written as RGB, and a gray ICC
      profile as the equivalent RGB one (icc_gray).
    uint16 input to jpeg/webp is narrowed to 8 bits. The ICC profile is written when it matches the
    output colour space. `png_color` (a PNG source's gAMA/cHRM/sRGB, see png_color) gives the same chunks
    in a PNG and, without an ICC profile, an equivalent profile in JPEG/WebP. Raises UnsupportedOption for an unknown
    format, a bad quality or a size the format cannot hold.
    """
    name = normalize_output_format(fmt)
    quality = _check_quality(quality)
    color, alpha = _split_channels(pixels)
    if color.shape[-1] == 3 and gray:
        color = luma(color)[..., None]
    check_output_size(name, color.shape[1], color.shape[0])

    if name == "png":
        chunks = png_color.chunks() if png_color is not None else []
        return _encode_png(color, alpha, icc_profile, _check_level(png_compression), chunks)
    if png_color is not None and icc_profile is None:  # JPEG and WebP have no such chunks: a profile says it
        icc_profile = png_color.profile(gray=name == "jpeg" and color.shape[-1] == 1)  # WebP is never gray
    color, alpha = to_uint8(color), None if alpha is None else to_uint8(alpha)
    if name == "jpeg":
        return _encode_jpeg(color, alpha, quality, icc_profile)
    return _encode_webp(color, alpha, quality, icc_profile)


def _check_quality(quality: int) -> int:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise UnsupportedOption(f"Quality must be an integer from 1 to 100, not {quality!r}.")
    return int(quality)


def _split_channels(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """-> (color (H, W, 1|3), alpha (H, W) or None). Wrong shapes or dtypes are programming errors."""
    if not isinstance(pixels, np.ndarray) or pixels.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"pixels must be a uint8 or uint16 numpy array, got {getattr(pixels, 'dtype', type(pixels))}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[-1] not in (1, 2, 3, 4) or 0 in pixels.shape:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, 1..4), got {pixels.shape}")
    if pixels.shape[-1] in (2, 4):
        return pixels[..., :-1], pixels[..., -1]
    return pixels, None


def check_output_size(fmt: str, width: int, height: int) -> None:
    """Raise UnsupportedOption when `fmt` cannot hold a width x height image (JPEG and WebP cap a side).

    Cheap and needs only the size, so callers can check before the upscale instead of after it.
    """
    name = normalize_output_format(fmt)
    limit = _MAX_SIDE.get(name)
    if limit is not None and max(width, height) > limit:
        raise UnsupportedOption(
            f"{name.upper()} cannot hold a {width}x{height} image (at most {limit} px a side); use png instead."
        )


def _to_pillow(color: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    planes = color if alpha is None else np.dstack([color, alpha])
    return Image.fromarray(planes[..., 0] if planes.shape[-1] == 1 else np.ascontiguousarray(planes))


def _check_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level <= 9:
        raise UnsupportedOption(f"PNG compression must be an integer from 0 to 9, not {level!r}.")
    return int(level)


def _encode_png(
    color: np.ndarray,
    alpha: np.ndarray | None,
    icc_profile: bytes | None,
    level: int,
    chunks: list[tuple[bytes, bytes]] | None = None,
) -> bytes:
    profile = profile_for_output(icc_profile, gray=color.shape[-1] == 1)
    planes = color if alpha is None else np.dstack([color, alpha])
    return write_png(planes, profile, compress_level=level, chunks=chunks or ())


def _encode_jpeg(color: np.ndarray, alpha: np.ndarray | None, quality: int, icc_profile: bytes | None) -> bytes:
    if alpha is not None:
        color = composite_on_white(color, alpha)
    buffer = io.BytesIO()
    options = {"subsampling": 0} if quality >= _FULL_CHROMA_FROM_QUALITY else {}
    profile = profile_for_output(icc_profile, gray=color.shape[-1] == 1)
    _to_pillow(color, None).save(buffer, format="JPEG", quality=quality, icc_profile=profile, **options)
    return buffer.getvalue()


def _encode_webp(color: np.ndarray, alpha: np.ndarray | None, quality: int, icc_profile: bytes | None) -> bytes:
    profile = profile_for_output(icc_profile, gray=False)
    if color.shape[-1] == 1:
        color = gray_to_rgb(color[..., 0])  # WebP has no gray mode
        gray_profile = profile_for_output(icc_profile, gray=True)
        if gray_profile is not None:  # the same tones, said in RGB terms (dropped, it would read as sRGB)
            profile = rgb_profile_from_gray(gray_profile)
    buffer = io.BytesIO()
    lossless = quality == 100
    _to_pillow(color, alpha).save(buffer, format="WEBP", quality=quality, lossless=lossless, icc_profile=profile)
    return buffer.getvalue()
